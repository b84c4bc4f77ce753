import Foundation
import GateHTTP

/// The client side of `upgrade-gate window open|close|reset`: the HTTP API for pipelines that
/// would rather not hand-write curl.
public enum WindowClient {
    /// What to open.
    public struct OpenRequest: Sendable {
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

        var json: [String: Any] {
            var body: [String: Any] = ["name": name]
            if let component { body["component"] = component }
            if let fromVersion { body["fromVersion"] = fromVersion }
            if let toVersion { body["toVersion"] = toVersion }
            if !namespaces.isEmpty { body["namespaces"] = namespaces }
            if !labels.isEmpty { body["labels"] = labels }
            if !checks.isEmpty { body["checks"] = checks }
            if let soak { body["soak"] = soak }
            if let duration { body["duration"] = duration }
            return body
        }
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
        let body: [String: Any]
        switch action {
        case .open(let request):
            path = "/api/v1/windows"
            body = request.json
        case .close(let name, let reason):
            path = "/api/v1/windows/\(percentEncodePathSegment(name))/close"
            body = reason.map { ["reason": $0] } ?? [:]
        case .reset(let name, let reason):
            path = "/api/v1/windows/\(percentEncodePathSegment(name))/reset"
            body = reason.map { ["reason": $0] } ?? [:]
        }
        let http = HTTPClient(configuration: .init(credentials: tokenFile.map { .bearerTokenFile($0) } ?? .none))
        let payload = (try? JSONSerialization.data(withJSONObject: body)) ?? Data("{}".utf8)
        let result: Result<HTTPResponse, HTTPClientError>
        do {
            result = .success(
                try await http.execute(
                    HTTPRequest(
                        method: "POST",
                        url: base + path,
                        headers: [(name: "Content-Type", value: "application/json"), (name: "User-Agent", value: "upgrade-gate-cli")],
                        body: Array(payload),
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
        let json = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
        guard (200..<300).contains(response.status) else {
            let error = json["error"] as? [String: Any]
            let field = (error?["field"] as? String).map { " (field \($0))" } ?? ""
            throw StatusError(description: "HTTP \(response.status): \(error?["message"] as? String ?? response.bodyText)\(field)")
        }
        let name = json["name"] as? String ?? "?"
        let verdict = json["verdict"] as? String ?? "?"
        switch action {
        case .open: return "window \(name) opened (id \(json["id"] as? String ?? "?")); verdict \(verdict), soak \(json["soak"] as? String ?? "?")"
        case .close: return "window \(name) closed; final verdict \(verdict)"
        case .reset: return "window \(name) reset; verdict \(verdict)"
        }
    }
}

/// The parts of the gate body (`GET /api/v1/gate/{name}`) the CLI reads, decoded with the same field names the
/// daemon serves.
public struct GateBodyDTO: Decodable, Sendable, Equatable {
    /// The pre-upgrade backup: `{"mode":"disabled"}`, `{"mode":"none"}`, or its name and phase.
    public struct Backup: Decodable, Sendable, Equatable {
        /// `disabled` (no velero section) or `none` (no backup for this window).
        public var mode: String?
        /// The Backup's name.
        public var name: String?
        /// Velero's phase.
        public var phase: String?
    }

    /// The window's name.
    public var window: String
    /// The verdict pollers get.
    public var verdict: String
    /// Why.
    public var reasons: [String]
    /// The pre-upgrade backup.
    public var backup: Backup
    /// The verdict is stale.
    public var stale: Bool?
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
    public static func waitForBackup(name: String, url: String, timeout: Duration, poll: Duration = .seconds(2)) async throws(StatusError) -> BackupWait {
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

    private static func pollBackup(name: String, base: String, http: HTTPClient, timeout: Duration, poll: Duration) async throws(StatusError)
        -> BackupWait
    {
        let deadline = ContinuousClock.now + timeout
        while true {
            let response: HTTPResponse
            do {
                response = try await http.execute(
                    HTTPRequest(method: "GET", url: base + "/api/v1/gate/\(percentEncodePathSegment(name))", headers: [], body: [], timeout: .seconds(30)))
            } catch {
                throw StatusError(description: "upgrade-gate at \(base) did not answer: \(error.description)")
            }
            guard response.status == 200, let body = try? JSONDecoder().decode(GateBodyDTO.self, from: Data(response.body)) else {
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
