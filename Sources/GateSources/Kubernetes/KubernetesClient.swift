import Foundation
import GateHTTP

/// A small client for the Kubernetes API: create, get and list of any namespaced resource, over ``GateHTTP``.
///
/// - The bearer token is read from ``KubernetesConnection/tokenFile`` and re-read at least every minute and at
///   once after a 401 (the request is then retried once), so rotated service-account tokens are picked up.
/// - 5xx, 429, timeouts and connection failures are retried with capped exponential backoff (honouring
///   `Retry-After`) until ``Options/deadline``; other 4xx answers are final.
/// - Creates are retried too, which is safe only for objects with fixed names (this client has no
///   `generateName`): a retry of a create the server had already applied answers 409 `AlreadyExists`, reported
///   as ``KubernetesError/alreadyExists``, which callers treat as success.
/// - Creates send `fieldValidation=Strict`, so a real API server rejects unknown fields instead of dropping them.
///
/// Call ``shutdown()`` when done.
public final class KubernetesClient: Sendable {
    /// Timeouts and retry policy.
    public struct Options: Sendable {
        /// The hard limit of one request. Default 10 s.
        public var requestTimeout: Duration
        /// The first retry delay; doubled after each failure. Default 100 ms.
        public var initialBackoff: Duration
        /// The largest retry delay (a server's `Retry-After` may ask for longer). Default 2 s.
        public var maxBackoff: Duration
        /// The limit for one call including all its retries. Default 30 s.
        public var deadline: Duration
        /// How long a token read from the file is reused; capped at 60 s. Default 60 s.
        public var credentialRefresh: Duration
        /// Objects per page of a list (`limit`); later pages are fetched with `continue`. Default 500.
        public var listPageSize: Int

        /// Creates options; the defaults suit a gate talking to a healthy API server.
        public init(
            requestTimeout: Duration = .seconds(10),
            initialBackoff: Duration = .milliseconds(100),
            maxBackoff: Duration = .seconds(2),
            deadline: Duration = .seconds(30),
            credentialRefresh: Duration = .seconds(60),
            listPageSize: Int = 500
        ) {
            self.requestTimeout = requestTimeout
            self.initialBackoff = initialBackoff
            self.maxBackoff = maxBackoff
            self.deadline = deadline
            self.credentialRefresh = credentialRefresh
            self.listPageSize = max(listPageSize, 1)
        }
    }

    /// Where requests go.
    public let connection: KubernetesConnection
    /// Timeouts and retry policy.
    public let options: Options
    let http: HTTPClient

    /// Creates a client; it starts its own HTTP thread pool, released by ``shutdown()``.
    public init(connection: KubernetesConnection, options: Options = Options()) {
        self.connection = connection
        self.options = options
        let refresh = min(options.credentialRefresh, .seconds(60))
        self.http = HTTPClient(
            configuration: HTTPClientConfiguration(
                tls: TLSOptions(caFile: connection.caFile),
                credentials: connection.tokenFile.map { .bearerTokenFile($0) } ?? .none,
                credentialRefresh: refresh
            )
        )
    }

    /// Aborts requests in flight and releases connections and threads; idempotent.
    public func shutdown() async {
        await http.shutdown()
    }

    /// Creates `object` in `namespace` and returns the object as stored (with `uid`, `resourceVersion`, …).
    ///
    /// - Throws: ``KubernetesError/alreadyExists`` when an object of that name exists, also when an earlier
    ///   attempt of this same call created it before its answer was lost.
    public func create(
        group: String,
        version: String,
        namespace: String,
        plural: String,
        object: JSONValue
    ) async throws(KubernetesError) -> KubernetesObject {
        let call = KubernetesCall(
            verb: "create",
            group: group,
            version: version,
            namespace: namespace,
            plural: plural,
            name: object["metadata"]?["name"]?.stringValue
        )
        let url = baseURL(group: group, version: version, namespace: namespace, plural: plural) + "?fieldValidation=Strict"
        let json = try await send(call, method: "POST", url: url, body: object.encoded())
        return KubernetesObject(json)
    }

    /// Reads one object.
    ///
    /// - Throws: ``KubernetesError/notFound`` when it does not exist.
    public func get(group: String, version: String, namespace: String, plural: String, name: String) async throws(KubernetesError) -> KubernetesObject
    {
        let call = KubernetesCall(verb: "get", group: group, version: version, namespace: namespace, plural: plural, name: name)
        let url = baseURL(group: group, version: version, namespace: namespace, plural: plural) + "/" + pathSegment(name)
        return KubernetesObject(try await send(call, method: "GET", url: url, body: nil))
    }

    /// Lists every object of a resource in `namespace` (all namespaces when `nil`), following `continue` pages.
    public func list(group: String, version: String, namespace: String?, plural: String) async throws(KubernetesError) -> [KubernetesObject] {
        let call = KubernetesCall(verb: "list", group: group, version: version, namespace: namespace, plural: plural, name: nil)
        let base = baseURL(group: group, version: version, namespace: namespace, plural: plural) + "?limit=\(options.listPageSize)"
        var objects: [KubernetesObject] = []
        var next: String? = nil
        repeat {
            let url = base + (next.map { "&continue=" + queryComponent($0) } ?? "")
            let page = try await send(call, method: "GET", url: url, body: nil)
            guard let items = page["items"]?.arrayValue else {
                throw .undecodable(call, httpStatus: 200, why: "the list has no items array", attempts: 1)
            }
            objects += items.map(KubernetesObject.init)
            next = page["metadata"]?["continue"]?.stringValue
        } while next?.isEmpty == false
        return objects
    }

    /// Reads one cluster-scoped object, such as a CustomResourceDefinition.
    ///
    /// - Throws: ``KubernetesError/notFound`` when it does not exist.
    public func getClusterScoped(group: String, version: String, plural: String, name: String) async throws(KubernetesError) -> KubernetesObject {
        let call = KubernetesCall(verb: "get", group: group, version: version, namespace: nil, plural: plural, name: name)
        let url = baseURL(group: group, version: version, namespace: nil, plural: plural) + "/" + pathSegment(name)
        return KubernetesObject(try await send(call, method: "GET", url: url, body: nil))
    }

    /// How many objects of a resource exist across all namespaces, from one list page of one item: the page's item
    /// plus `metadata.remainingItemCount`. Nil when the server does not report the remainder (then only a full list
    /// could tell).
    public func count(group: String, version: String, plural: String) async throws(KubernetesError) -> Int? {
        let call = KubernetesCall(verb: "list", group: group, version: version, namespace: nil, plural: plural, name: nil)
        let page = try await send(
            call,
            method: "GET",
            url: baseURL(group: group, version: version, namespace: nil, plural: plural) + "?limit=1",
            body: nil
        )
        guard let items = page["items"]?.arrayValue else {
            throw .undecodable(call, httpStatus: 200, why: "the list has no items array", attempts: 1)
        }
        let hasMore = page["metadata"]?["continue"]?.stringValue.map { !$0.isEmpty } ?? false
        guard hasMore else { return items.count }
        guard let remaining = page["metadata"]?["remainingItemCount"]?.intValue, remaining >= 0 else { return nil }
        return items.count + remaining
    }

    /// The API server's `/version`: `gitVersion` (`v1.32.4`), or `major.minor` when that is absent.
    public func serverVersion() async throws(KubernetesError) -> String {
        let call = KubernetesCall(verb: "get", group: "", version: "", namespace: nil, plural: "version", name: nil)
        let json = try await send(call, method: "GET", url: connection.apiServer + "/version", body: nil)
        if let git = json["gitVersion"]?.stringValue, !git.isEmpty { return git }
        guard let major = json["major"]?.stringValue, let minor = json["minor"]?.stringValue else {
            throw .undecodable(call, httpStatus: 200, why: "the answer has neither gitVersion nor major and minor", attempts: 1)
        }
        // Some providers report the minor as "32+".
        return "\(major).\(minor.filter(\.isNumber))"
    }

    /// `/api/v1` for the core group, `/apis/GROUP/VERSION` for others, then the namespace and the plural.
    func baseURL(group: String, version: String, namespace: String?, plural: String) -> String {
        var url = connection.apiServer + (group.isEmpty ? "/api/\(pathSegment(version))" : "/apis/\(pathSegment(group))/\(pathSegment(version))")
        if let namespace { url += "/namespaces/" + pathSegment(namespace) }
        return url + "/" + pathSegment(plural)
    }

    /// Sends one call with retries and returns the decoded 2xx body.
    func send(
        _ call: KubernetesCall,
        method: String,
        url: String,
        body: [UInt8]?,
        contentType: String = "application/json"
    ) async throws(KubernetesError) -> JSONValue {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: options.deadline)
        var backoff = options.initialBackoff
        var attempts = 0
        var refreshedAfter401 = false
        // The last failure that was the server's own answer, kept for when the deadline cuts the next attempt short.
        var lastAnswer: KubernetesError?
        while true {
            attempts += 1
            let timeout = max(min(options.requestTimeout, clock.now.duration(to: deadline)), .milliseconds(50))
            let failure: KubernetesError
            var retryAfter: Duration? = nil
            switch await attempt(call, method: method, url: url, body: body, contentType: contentType, timeout: timeout, attempts: attempts) {
            case .success(let json):
                return json
            case .unauthorized where !refreshedAfter401:
                // The token may have rotated since it was cached: read the file again and retry once, at once.
                refreshedAfter401 = true
                http.refreshCredentials()
                continue
            case .unauthorized(let error):
                throw error
            case .failure(let error, let wait):
                // An attempt the deadline cut short (on a slow or loaded machine) that then timed out says nothing
                // new about the server: report its last clear answer (a 503 stays a 503) instead of a bare timeout.
                if error == .timeout, timeout < options.requestTimeout, let lastAnswer { throw lastAnswer.after(attempts: attempts) }
                failure = error
                retryAfter = wait
                if error != .timeout, error != .unreachable { lastAnswer = error }
            }

            guard failure.isRetryable else { throw failure }
            var delay = min(backoff, options.maxBackoff)
            if let retryAfter { delay = max(delay, retryAfter) }
            backoff = min(backoff * 2, options.maxBackoff)
            // Give up, reporting what the server said, when the wait would leave too little time for a real attempt: a
            // request cut short by the deadline would only turn a clear answer (503, 429) into a bare timeout.
            let minimumAttempt = min(options.requestTimeout, .milliseconds(250))
            guard clock.now.advanced(by: delay + minimumAttempt) <= deadline else { throw failure.after(attempts: attempts) }
            do {
                try await Task.sleep(for: delay)
            } catch {
                throw .cancelled(call, attempts: attempts)
            }
            guard clock.now.advanced(by: minimumAttempt / 2) <= deadline else { throw failure.after(attempts: attempts) }
        }
    }

    private enum Outcome {
        case success(JSONValue)
        case unauthorized(KubernetesError)
        case failure(KubernetesError, retryAfter: Duration?)
    }

    /// One request and the classification of its answer.
    private func attempt(
        _ call: KubernetesCall,
        method: String,
        url: String,
        body: [UInt8]?,
        contentType: String,
        timeout: Duration,
        attempts: Int
    ) async -> Outcome {
        var headers: [(name: String, value: String)] = [(name: "Accept", value: "application/json"), (name: "User-Agent", value: "upgrade-gate")]
        if body != nil { headers.append((name: "Content-Type", value: contentType)) }
        let response: HTTPResponse
        do {
            response = try await http.execute(HTTPRequest(method: method, url: url, headers: headers, body: body, timeout: timeout))
        } catch {
            let failure = KubernetesError.transport(call, error: error, attempts: attempts, apiServer: connection.apiServer)
            return .failure(failure, retryAfter: nil)
        }
        if (200..<300).contains(response.status) {
            do {
                return .success(try JSONValue.parse(response.body))
            } catch {
                return .failure(
                    .undecodable(call, httpStatus: response.status, why: "the body is not JSON: \(error.reason)", attempts: attempts),
                    retryAfter: nil
                )
            }
        }
        let status = KubernetesStatus.decode(response.body)
        let failure = KubernetesError.answer(
            call,
            httpStatus: response.status,
            status: status,
            bodyText: bodySnippet(response),
            attempts: attempts,
            tokenFile: connection.tokenFile
        )
        if response.status == 401 { return .unauthorized(failure) }
        return .failure(failure, retryAfter: Self.retryAfter(header: response.headers["retry-after"], status: status))
    }

    /// The delay a 429 or 503 asks for: the `Retry-After` header (seconds), else `details.retryAfterSeconds`.
    static func retryAfter(header: String?, status: KubernetesStatus?) -> Duration? {
        if let header, let seconds = Int(header.trimmingCharacters(in: .whitespaces)), seconds >= 0 { return .seconds(seconds) }
        if let seconds = status?.retryAfterSeconds, seconds >= 0 { return .seconds(seconds) }
        return nil
    }
}

/// A Kubernetes object as the API server returned it, with its metadata at hand.
public struct KubernetesObject: Sendable, Equatable {
    /// The whole object.
    public var json: JSONValue

    /// Wraps an object.
    public init(_ json: JSONValue) {
        self.json = json
    }

    /// `metadata.name`.
    public var name: String? { json["metadata"]?["name"]?.stringValue }
    /// `metadata.namespace`.
    public var namespace: String? { json["metadata"]?["namespace"]?.stringValue }
    /// `metadata.uid`, set by the API server.
    public var uid: String? { json["metadata"]?["uid"]?.stringValue }
    /// `metadata.resourceVersion`, set by the API server.
    public var resourceVersion: String? { json["metadata"]?["resourceVersion"]?.stringValue }
    /// `metadata.labels`; empty when absent.
    public var labels: [String: String] { json["metadata"]?["labels"]?.stringMap ?? [:] }
    /// `spec`.
    public var spec: JSONValue? { json["spec"] }
    /// `status`; absent until a controller has written it.
    public var status: JSONValue? { json["status"] }
}

/// Up to 200 characters of a non-Status error body, on one line.
private func bodySnippet(_ response: HTTPResponse) -> String {
    let text = String(decoding: response.body.prefix(200), as: UTF8.self)
    return text.split(whereSeparator: \.isNewline).joined(separator: " ").trimmingCharacters(in: .whitespaces)
}

/// Percent-encodes a path segment (names are DNS-1123 and pass unchanged).
func pathSegment(_ text: String) -> String {
    percentEncode(text, keeping: "-._~")
}

/// Percent-encodes a query value (the opaque `continue` token).
func queryComponent(_ text: String) -> String {
    percentEncode(text, keeping: "-._~")
}

private func percentEncode(_ text: String, keeping unreserved: String) -> String {
    var out = ""
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            out.append(Character(Unicode.Scalar(byte)))
        case _ where unreserved.utf8.contains(byte):
            out.append(Character(Unicode.Scalar(byte)))
        default:
            let hex = Array("0123456789ABCDEF")
            out += "%\(hex[Int(byte >> 4)])\(hex[Int(byte & 0xF)])"
        }
    }
    return out
}
