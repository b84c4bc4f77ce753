/// One HTTP request: method, absolute `http`/`https` URL, headers, optional body and a hard timeout.
///
/// libcurl's defaults apply to headers the caller does not set: `Accept: */*`, and for a body without a
/// `Content-Type` header, `application/x-www-form-urlencoded`. `Expect: 100-continue` is never sent.
public struct HTTPRequest: Sendable {
    /// The request method, e.g. `GET` or `POST`; must be an HTTP token (letters, digits, `!#$%&'*+-.^_|~`).
    public var method: String
    /// The absolute URL; only `http` and `https` are accepted, and redirects are never followed.
    public var url: String
    /// Request headers in the order they are sent; names and values must not contain CR or LF.
    public var headers: [(name: String, value: String)]
    /// The request body, sent with a `Content-Length`; `nil` sends none (an empty one for `POST`).
    public var body: [UInt8]?
    /// The hard limit for the whole transfer (connect, send, wait and receive), enforced by libcurl.
    public var timeout: Duration

    /// Creates a request; only `url` is required.
    public init(
        method: String = "GET",
        url: String,
        headers: [(name: String, value: String)] = [],
        body: [UInt8]? = nil,
        timeout: Duration = .seconds(10)
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// A complete HTTP response of any status: a non-2xx status is a response, not an error.
public struct HTTPResponse: Sendable {
    /// The status code of the final response (interim `1xx` responses are skipped).
    public var status: Int
    /// Response headers with lowercased names; when a name repeats, the last value wins.
    public var headers: [String: String]
    /// The response body, already decoded when the server used a content encoding libcurl supports.
    public var body: [UInt8]

    /// The body decoded as UTF-8, with invalid sequences replaced by U+FFFD.
    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// Creates a response value, e.g. for a test double of a port built on ``HTTPClient``.
    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}
