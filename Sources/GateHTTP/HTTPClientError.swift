/// Why a request produced no response: a closed set with a bounded ``label`` and a redacted ``description``.
///
/// Compare with the static values (`error == .timeout`): equality looks at the kind only, not at the details.
/// The description names the method and the redacted URL (no user info, no query values), libcurl's reason and a
/// fix; it never contains a token, a password or a header value.
public struct HTTPClientError: Error, Sendable, CustomStringConvertible, Equatable {
    private enum Kind: String, Sendable {
        case timeout
        case connectFailed = "connect_failed"
        case tlsFailed = "tls"
        case responseTooLarge = "response_too_large"
        case cancelled
        case credentialsUnreadable = "credentials_unreadable"
        case invalidURL = "invalid_url"
        case invalidRequest = "invalid_request"
        case shutdown
        case transport
    }

    private let kind: Kind
    // Each string below is built from redacted inputs only; see `HTTPClient` and `URLRedaction`.
    private let target: String?
    private let reason: String?
    private let fix: String?

    private init(_ kind: Kind, target: String? = nil, reason: String? = nil, fix: String? = nil) {
        self.kind = kind
        self.target = target
        self.reason = reason
        self.fix = fix
    }

    /// The transfer did not finish within the request timeout or the connect timeout.
    public static let timeout = HTTPClientError(.timeout)
    /// No connection could be made: refused, unreachable, or the host name did not resolve.
    public static let connectFailed = HTTPClientError(.connectFailed)
    /// The TLS handshake failed: untrusted or mismatched server certificate, or a rejected client certificate.
    public static let tlsFailed = HTTPClientError(.tlsFailed)
    /// The response was larger than ``HTTPClientConfiguration/maxResponseBytes``.
    public static let responseTooLarge = HTTPClientError(.responseTooLarge)
    /// The calling task was cancelled; the transfer was aborted.
    public static let cancelled = HTTPClientError(.cancelled)
    /// A token or password file could not be read, or its content is not usable as a credential.
    public static let credentialsUnreadable = HTTPClientError(.credentialsUnreadable)
    /// The URL is not an absolute `http` or `https` URL.
    public static let invalidURL = HTTPClientError(.invalidURL)
    /// The method or a header cannot be sent (e.g. a header containing a line break).
    public static let invalidRequest = HTTPClientError(.invalidRequest)
    /// The client was shut down, or the thread pool it runs transfers on is not running.
    public static let shutdown = HTTPClientError(.shutdown)
    /// Any other failure while sending or receiving (connection reset, empty reply, protocol error).
    public static let transport = HTTPClientError(.transport)

    /// A short, bounded name of the kind, safe as a metric label (e.g. `timeout`, `connect_failed`, `tls`).
    public var label: String { kind.rawValue }

    /// What happened, to which request (redacted), why, and how to fix it; never contains secrets.
    public var description: String {
        var text = "\(label): "
        text += target.map { "\(summary) (\($0))" } ?? summary
        if let reason { text += ": \(reason)" }
        text += "."
        if let fix { text += " To fix: \(fix)." }
        return text
    }

    /// Whether both errors are of the same kind; the details (URL, reason) are not compared.
    public static func == (lhs: HTTPClientError, rhs: HTTPClientError) -> Bool { lhs.kind == rhs.kind }

    private var summary: String {
        switch kind {
        case .timeout: "the request timed out"
        case .connectFailed: "could not connect to the server"
        case .tlsFailed: "the TLS handshake failed"
        case .responseTooLarge: "the response is larger than allowed"
        case .cancelled: "the request was cancelled"
        case .credentialsUnreadable: "could not read the credentials"
        case .invalidURL: "the URL is not a valid http or https URL"
        case .invalidRequest: "the request cannot be sent"
        case .shutdown: "the HTTP client is not running"
        case .transport: "the request failed"
        }
    }
}

extension HTTPClientError {
    /// Builds an error from already-redacted parts: `target` is "METHOD redacted-url".
    static func make(_ base: HTTPClientError, target: String?, reason: String?, fix: String?) -> HTTPClientError {
        HTTPClientError(base.kind, target: target, reason: reason, fix: fix)
    }
}
