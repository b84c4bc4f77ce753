import Foundation
import GateHTTP

/// The client side of `upgrade-gate window open|close|reset`: the HTTP API for pipelines that
/// would rather not hand-write curl.
public enum WindowClient {
    /// What to open.
    public struct OpenRequest: Sendable, Encodable {
        /// The window's name (a DNS-1123 label).
        public var name: String
        /// The component being upgraded.
        public var component: String?
        /// The version before the upgrade.
        public var fromVersion: String?
        /// The version after the upgrade.
        public var toVersion: String?
        /// The component's namespaces (backup, restore and image scope).
        public var namespaces: [String]
        /// Template labels that fill `{{label}}` in queries.
        public var labels: [String: String]
        /// The checks to run; empty means all of them.
        public var checks: [String]
        /// A soak override in Prometheus duration syntax.
        public var soak: String?
        /// A duration override in Prometheus duration syntax.
        public var duration: String?

        /// Creates a request.
        public init(
            name: String,
            component: String? = nil,
            fromVersion: String? = nil,
            toVersion: String? = nil,
            namespaces: [String] = [],
            labels: [String: String] = [:],
            checks: [String] = [],
            soak: String? = nil,
            duration: String? = nil
        ) {
            self.name = name
            self.component = component
            self.fromVersion = fromVersion
            self.toVersion = toVersion
            self.namespaces = namespaces
            self.labels = labels
            self.checks = checks
            self.soak = soak
            self.duration = duration
        }

        private enum CodingKeys: String, CodingKey {
            case name, component, fromVersion, toVersion, namespaces, labels, checks, soak, duration
        }

        /// The body of `POST /api/v1/windows`: empty lists and maps are left out (the daemon's defaults apply).
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encodeIfPresent(component, forKey: .component)
            try container.encodeIfPresent(fromVersion, forKey: .fromVersion)
            try container.encodeIfPresent(toVersion, forKey: .toVersion)
            if !namespaces.isEmpty { try container.encode(namespaces, forKey: .namespaces) }
            if !labels.isEmpty { try container.encode(labels, forKey: .labels) }
            if !checks.isEmpty { try container.encode(checks, forKey: .checks) }
            try container.encodeIfPresent(soak, forKey: .soak)
            try container.encodeIfPresent(duration, forKey: .duration)
        }
    }

    /// `{"reason": …}` of close and reset.
    private struct ReasonBody: Encodable {
        var reason: String?
    }

    /// The error envelope every API error answers with.
    struct ErrorEnvelope: Decodable {
        struct Body: Decodable {
            var code: APIErrorCode
            var message: String
            var field: String?
        }
        var error: Body
    }

    /// An API call: which action on which window.
    public enum Action: Sendable {
        case open(OpenRequest)
        case close(name: String, reason: String?)
        case reset(name: String, reason: String?)
    }

    /// Performs `action` against the daemon at `url` with the token in `tokenFile` and returns a
    /// one-line summary; the error carries the API's own message and field.
    public static func perform(_ action: Action, url: String, tokenFile: String?) async throws(StatusError) -> String {
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        let path: String
        let payload: [UInt8]
        switch action {
        case .open(let request):
            path = "/api/v1/windows"
            payload = encodeJSON(request)
        case .close(let name, let reason):
            path = "/api/v1/windows/\(percentEncodePathSegment(name))/close"
            payload = encodeJSON(ReasonBody(reason: reason))
        case .reset(let name, let reason):
            path = "/api/v1/windows/\(percentEncodePathSegment(name))/reset"
            payload = encodeJSON(ReasonBody(reason: reason))
        }
        let http = HTTPClient(configuration: .init(credentials: tokenFile.map { .bearerTokenFile($0) } ?? .none))
        let result: Result<HTTPResponse, HTTPClientError>
        do {
            result = .success(
                try await http.execute(
                    HTTPRequest(
                        method: "POST",
                        url: base + path,
                        headers: [(name: "Content-Type", value: "application/json"), (name: "User-Agent", value: "upgrade-gate-cli")],
                        body: payload,
                        timeout: .seconds(120)
                    )
                )
            )
        } catch {
            result = .failure(error)
        }
        await http.shutdown()
        let response: HTTPResponse
        switch result {
        case .success(let value): response = value
        case .failure(let error): throw StatusError(description: "upgrade-gate at \(base) did not answer: \(error.description) (pass --url)")
        }
        let decoder = JSONDecoder()
        guard (200..<300).contains(response.status) else {
            guard let envelope = try? decoder.decode(ErrorEnvelope.self, from: Data(response.body)) else {
                throw StatusError(description: "HTTP \(response.status): \(response.bodyText)")
            }
            let field = envelope.error.field.map { " (field \($0))" } ?? ""
            throw StatusError(description: "HTTP \(response.status): \(envelope.error.message)\(field)")
        }
        let window: WindowDetailBody
        do {
            window = try decoder.decode(WindowDetailBody.self, from: Data(response.body))
        } catch {
            throw StatusError(description: "upgrade-gate at \(base) answered HTTP \(response.status) with a body this version cannot read: \(error)")
        }
        switch action {
        case .open: return "window \(window.name) opened (id \(window.id)); verdict \(window.verdict), soak \(window.soak)"
        case .close: return "window \(window.name) closed; final verdict \(window.verdict)"
        case .reset: return "window \(window.name) reset; verdict \(window.verdict)"
        }
    }
}

extension WindowClient {
    /// What `window open --wait` ends with.
    public enum BackupWait: Sendable, Equatable {
        /// The backup is Completed (or the window takes none): the upgrade may start.
        case ready(String)
        /// The backup failed or the window failed: do not upgrade.
        case failed(String)
    }

    /// Polls the window's gate body until its pre-upgrade backup is `Completed` (ready) or failed, or `timeout` passes.
    public static func waitForBackup(
        name: String,
        url: String,
        timeout: Duration,
        poll: Duration = .seconds(2)
    ) async throws(StatusError) -> BackupWait {
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        let http = HTTPClient()
        let outcome: Result<BackupWait, StatusError>
        do {
            outcome = .success(try await pollBackup(name: name, base: base, http: http, timeout: timeout, poll: poll))
        } catch {
            outcome = .failure(error)
        }
        await http.shutdown()
        return try outcome.get()
    }

    private static func pollBackup(
        name: String,
        base: String,
        http: HTTPClient,
        timeout: Duration,
        poll: Duration
    ) async throws(StatusError)
        -> BackupWait
    {
        let deadline = ContinuousClock.now + timeout
        while true {
            let response: HTTPResponse
            do {
                response = try await http.execute(
                    HTTPRequest(
                        method: "GET",
                        url: base + "/api/v1/gate/\(percentEncodePathSegment(name))",
                        headers: [],
                        body: [],
                        timeout: .seconds(30)
                    )
                )
            } catch {
                throw StatusError(description: "upgrade-gate at \(base) did not answer: \(error.description)")
            }
            guard response.status == 200, let body = try? JSONDecoder().decode(GateBody.self, from: Data(response.body)) else {
                throw StatusError(description: "HTTP \(response.status) reading the gate of window \(name): \(response.bodyText)")
            }
            if let mode = body.backup.mode { return .ready("window \(name) takes no pre-upgrade backup (\(mode))") }
            let phase = body.backup.phase ?? "New"
            if phase == "Completed" { return .ready("pre-upgrade backup \(body.backup.name ?? "") is Completed: the upgrade may start") }
            if ["Failed", "PartiallyFailed", "FailedValidation", "Deleting", "Gone"].contains(phase) {
                return .failed("pre-upgrade backup \(body.backup.name ?? "") is \(phase): do not upgrade")
            }
            if body.verdict == "fail" { return .failed("window \(name) failed while waiting for its backup: \(body.reasons.first ?? "")") }
            guard ContinuousClock.now < deadline else {
                return .failed("pre-upgrade backup \(body.backup.name ?? "") is still \(phase) after \(timeout.components.seconds)s")
            }
            try? await Task.sleep(for: poll)
        }
    }
}
