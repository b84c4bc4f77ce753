import Foundation
import GateHTTP
import GateTestKit
import Synchronization

/// The real `upgrade-gate serve` binary on a free loopback port, with its state file and JSON gate
/// log in a temporary directory, so tests can kill -9 it and start it again on the same state.
final class GateDaemon: Sendable {
    let port: Int
    let directory: TemporaryDirectory
    let configPath: String
    /// A token with every scope (named `admin`); what calls carry unless a test says otherwise.
    let token: String
    /// One token per scope, named `pipelines` (windows), `alertmanager` (alerts) and `flagger` (flagger).
    let scopedTokens: [String: String]
    /// Extra environment for the daemon (the real environment is inherited).
    let environment: [String: String]
    let http = HTTPClient()
    private let process: ServiceProcessBox

    var url: String { "http://127.0.0.1:\(port)" }
    var statePath: String { directory.file("state.sqlite") }
    var logPath: String { directory.file("gate.log") }
    var tokenPath: String { directory.file("token") }

    /// Writes `config` (YAML without `state`/`listen`, which the harness owns, and usually without `auth`: then the
    /// harness adds scoped tokens, see ``token`` and ``scopedTokens``) and starts the daemon.
    /// With `waitUntilReady: false` it returns as soon as `/healthz` answers (a replica that is still loading).
    static func start(config: String, port: Int? = nil, environment: [String: String] = [:], waitUntilReady: Bool = true) async throws -> GateDaemon {
        let directory = try TemporaryDirectory(prefix: "gate")
        let token = "test-token-\(UUID().uuidString)"
        let tokenPath = try directory.write("token", token + "\n")
        var scoped: [String: String] = [:]
        var auth = "\nauth:\n  tokens:\n    - {name: admin, file: \(tokenPath), scopes: [windows, alerts, flagger]}\n"
        for (scope, name) in [("windows", "pipelines"), ("alerts", "alertmanager"), ("flagger", "flagger")] {
            scoped[scope] = "\(scope)-token-\(UUID().uuidString)"
            let path = try directory.write("token-\(scope)", scoped[scope]! + "\n")
            auth += "    - {name: \(name), file: \(path), scopes: [\(scope)]}\n"
        }
        let hasAuth = config.hasPrefix("auth:") || config.contains("\nauth:")
        let configPath = try directory.write("gate.yaml", config + (hasAuth ? "" : auth))
        let daemon = GateDaemon(
            port: try port ?? freeLoopbackPort(),
            directory: directory,
            configPath: configPath,
            token: token,
            scopedTokens: scoped,
            environment: environment
        )
        try await daemon.launch(waitUntilReady: waitUntilReady)
        return daemon
    }

    private init(
        port: Int,
        directory: TemporaryDirectory,
        configPath: String,
        token: String,
        scopedTokens: [String: String],
        environment: [String: String]
    ) {
        self.port = port
        self.directory = directory
        self.configPath = configPath
        self.token = token
        self.scopedTokens = scopedTokens
        self.environment = environment
        self.process = ServiceProcessBox()
    }

    /// Starts (or restarts) the binary and waits until /readyz answers 200 (or only /healthz, when not
    /// `waitUntilReady`).
    func launch(environment extra: [String: String] = [:], waitUntilReady: Bool = true) async throws {
        let generation = self.process.generation
        // The child inherits this process's environment as it is unless the test sets variables: handing Foundation a
        // copied environment crashed `Process.run()` (a memcpy in building the child's environment) in full-suite runs.
        let overrides = self.environment.merging(extra) { $1 }
        let environment = overrides.isEmpty ? nil : ProcessInfo.processInfo.environment.merging(overrides) { $1 }
        let started = try ServiceProcess(
            name: "upgrade-gate",
            executable: try gateBinaryPath(),
            arguments: [
                "serve", "--config", configPath, "--listen", "127.0.0.1:\(port)", "--state", statePath, "--log-format", "json",
                "--log-level", "debug",
            ],
            logPath: logPath + ".\(generation)",
            environment: environment
        )
        process.generation = generation + 1
        process.current = started
        do {
            let probe = waitUntilReady ? "/readyz" : "/healthz"
            try await eventually(timeout: .seconds(90), "upgrade-gate to answer \(probe)") {
                try await self.http.execute(HTTPRequest(url: self.url + probe, timeout: .seconds(1))).status == 200
            }
        } catch {
            throw HarnessError(description: "\(error)\nlog:\n\(log)")
        }
    }

    /// Everything every run of the daemon logged, in order.
    var log: String {
        (0..<process.generation).map { (try? String(contentsOfFile: logPath + ".\($0)", encoding: .utf8)) ?? "" }.joined()
    }

    /// The gate log as parsed JSON lines.
    var logLines: [[String: Any]] {
        log.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// The running daemon's pid.
    var pid: Int32? { process.current?.pid }

    /// kill -9: no graceful anything.
    func kill9() { process.current?.kill9() }

    /// SIGTERM and wait; returns the exit status.
    func terminate() async -> Int32 {
        guard let current = process.current else { return 0 }
        kill(current.pid, SIGTERM)
        return await current.waitForExit()
    }

    /// SIGTERM, then start again on the same state with `environment` added.
    func terminateAndRelaunch(environment: [String: String] = [:]) async throws {
        _ = await terminate()
        try await launch(environment: environment)
    }

    func stop() async {
        await process.current?.stop()
        await http.shutdown()
    }

    // MARK: API

    struct Answer: CustomStringConvertible {
        var status: Int
        var body: String
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]) ?? [:] }
        var description: String { "HTTP \(status) \(body)" }
    }

    /// Sends a request; state-changing calls carry the token unless `token` is overridden (`.some(nil)`: none).
    ///
    /// Flagger hooks carry it as Flagger does, in the body's `metadata.token` (left alone when the body already
    /// has one), never in a header.
    func call(
        _ method: String,
        _ path: String,
        body: String? = nil,
        token: String?? = .none,
        headers: [(name: String, value: String)] = []
    ) async throws -> Answer {
        var allHeaders = headers
        var body = body
        let bearer: String? = token ?? (method == "GET" ? nil : self.token)
        if path.hasPrefix("/api/v1/flagger/") {
            if let bearer, let text = body { body = Self.injectingMetadataToken(bearer, into: text) }
        } else if let bearer {
            allHeaders.append((name: "Authorization", value: "Bearer \(bearer)"))
        }
        if body != nil { allHeaders.append((name: "Content-Type", value: "application/json")) }
        let response = try await http.execute(
            HTTPRequest(method: method, url: url + path, headers: allHeaders, body: body.map { Array($0.utf8) }, timeout: .seconds(30))
        )
        return Answer(status: response.status, body: response.bodyText)
    }

    /// `body` with `metadata.token` set, unless it is not a JSON object or already has one.
    static func injectingMetadataToken(_ token: String, into body: String) -> String {
        guard var object = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] else { return body }
        var metadata = object["metadata"] as? [String: Any] ?? [:]
        guard metadata["token"] == nil, object["metadata"] == nil || object["metadata"] is [String: Any] else { return body }
        metadata["token"] = token
        object["metadata"] = metadata
        guard let data = try? JSONSerialization.data(withJSONObject: object) else { return body }
        return String(decoding: data, as: UTF8.self)
    }

    /// The gate body for `window`.
    func gate(_ window: String) async throws -> [String: Any] {
        try await call("GET", "/api/v1/gate/\(window)").json
    }

    /// Waits until the gate's verdict for `window` is `verdict`.
    func waitForVerdict(_ window: String, _ verdict: String, timeout: Duration = .seconds(60)) async throws {
        let last = LastSeen()
        do {
            try await eventually(timeout: timeout, "window \(window) to reach verdict \(verdict)") {
                let gate = try await self.gate(window)
                last.set("\(gate)")
                return gate["verdict"] as? String == verdict
            }
        } catch {
            throw HarnessError(description: "\(error); last gate body: \(last.get())\nlog tail:\n\(log.suffix(3000))")
        }
    }
}

/// The daemon's current process across restarts.
final class ServiceProcessBox: Sendable {
    private let state = Mutex<(current: ServiceProcess?, generation: Int)>((nil, 0))
    var current: ServiceProcess? {
        get { state.withLock { $0.current } }
        set { state.withLock { $0.current = newValue } }
    }
    var generation: Int {
        get { state.withLock { $0.generation } }
        set { state.withLock { $0.generation = newValue } }
    }
}

/// The last value a polling loop saw, for failure messages.
final class LastSeen: Sendable {
    private let value = Mutex("nothing")
    func set(_ value: String) { self.value.withLock { $0 = value } }
    func get() -> String { value.withLock { $0 } }
}
