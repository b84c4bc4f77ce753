import Foundation
import GateConfig
import GateCore
import GateSources
import GateStore
import GateTestKit
import Hummingbird
import Logging
import NIOEmbedded

@testable import GateServer

/// The whole gate in-process: the real engine, routes and SQLite store, with a scripted Prometheus, a fake Velero
/// and a manual clock. The loops do not run: a test drives `evaluate()` and `reconcile()` itself, so nothing
/// depends on timing and every test runs in milliseconds.
struct InProcessGate {
    static let interval = 10.0

    let directory: TemporaryDirectory
    let clock: ManualClock
    let prometheus: ScriptedMetricsSource
    let velero: FakeVelero?
    let store: AbortableStore
    let config: GateConfig
    let parts: GateParts

    var engine: GateEngine { parts.engine }

    /// A gate with one critical check (`demo_error_ratio`, max 0.5), soak 30 s, and Velero unless `velero` is nil.
    static func start(
        restore mode: String? = "auto",
        backup: String = "{waitTimeout: 10m, required: true}",
        flagger: String = "{autoOpen: true, requireToken: false}",
        directory: TemporaryDirectory? = nil,
        prometheus: ScriptedMetricsSource = ScriptedMetricsSource(.value(0.1)),
        velero: FakeVelero? = nil,
        clock: ManualClock = ManualClock()
    ) async throws -> InProcessGate {
        let directory = try directory ?? TemporaryDirectory("engine-test")
        let veleroSection =
            mode.map {
                """
                velero:
                  namespace: velero
                  backup: \(backup)
                  restore: {mode: \($0), existingResourcePolicy: update, verify: true}
                """
            } ?? ""
        let yaml = """
            state: \(directory.file("state.sqlite"))
            listen: 127.0.0.1:0
            auth: {disabled: true}
            prometheus:
              url: http://127.0.0.1:9
            evaluation:
              interval: \(Int(interval))s
              warmup: 0s
              failAfter: 1
            baseline:
              lookback: 1m
            windows:
              soak: 30s
              duration: 1h
            flagger: \(flagger)
            checks:
              - name: error-ratio
                query: demo_error_ratio
                max: 0.5
                critical: true
            \(veleroSection)
            """
        let config = try GateConfigLoader.parse(yaml: yaml)
        let fake = mode == nil ? nil : (velero ?? FakeVelero())
        let store = AbortableStore(try GateStore(path: config.state))
        let dependencies = Dependencies(
            metrics: prometheus,
            alerts: NoFiringAlerts(),
            velero: fake,
            store: store,
            now: { clock.now() },
            escapeTimeout: .seconds(2),
            runLoops: false
        )
        let parts = try await buildParts(
            config: config,
            dependencies: dependencies,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        return InProcessGate(directory: directory, clock: clock, prometheus: prometheus, velero: fake, store: store, config: config, parts: parts)
    }

    /// The same gate started again on the same state file and the same fakes, as after `kill -9`.
    func restart() async throws -> InProcessGate {
        let mode = config.velero?.restore.mode.rawValue
        return try await InProcessGate.start(restore: mode, directory: directory, prometheus: prometheus, velero: velero, clock: clock)
    }

    /// One interval passes: an evaluation, then a round of the escape loop.
    func step(_ count: Int = 1) async {
        for _ in 0..<count {
            clock.advance(by: Self.interval)
            await engine.evaluateAll()
            await engine.reconcile()
        }
    }

    /// Rounds of the escape loop only (Kubernetes work), without evaluations.
    func reconcile(_ count: Int = 1) async {
        for _ in 0..<count { await engine.reconcile() }
    }

    /// Runs `body` against the routes, in-process: requests go straight to the router's responder, no socket.
    func routes(_ body: @escaping @Sendable (RouterClient) async throws -> Void) async throws {
        let router = Router(context: BasicRequestContext.self)
        addRoutes(to: router, api: parts.api)
        try await body(RouterClient(responder: router.buildResponder()))
    }

    /// Opens `name` through the engine, as a pipeline.
    @discardableResult
    func open(_ name: String = "podinfo-upgrade", namespaces: [String] = ["prod"]) async throws -> LiveWindow {
        try await engine.open(WindowRequest(name: name, namespaces: namespaces), by: .pipeline("test"))
    }

    /// The window as the engine holds it (open or closed with a restore in flight).
    func window(_ name: String = "podinfo-upgrade") async -> LiveWindow? {
        try? await engine.window(named: name)
    }

    /// The gate body pollers get.
    func gate(_ name: String = "podinfo-upgrade") throws -> [String: Any] {
        guard let entry = parts.api.board.entry(name) else { throw TestKitError("no gate body for \(name)") }
        return try JSONSerialization.jsonObject(with: Data(buffer: entry.body)) as? [String: Any] ?? [:]
    }

    func remove() { directory.remove() }
}

/// Sends requests to a router's responder in-process (what HummingbirdTesting's `.router` framework does, without
/// its TLS and HTTP client dependencies).
struct RouterClient: Sendable {
    let responder: RouterResponder<BasicRequestContext>

    /// A JSON or text call; the answer's status and body text.
    func call(_ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil) async throws -> (status: Int, body: String) {
        var headers = HTTPFields()
        if let body { headers[.contentLength] = String(body.utf8.count) }
        let request = Request(
            head: .init(method: method, scheme: "http", authority: "localhost", path: uri, headerFields: headers),
            body: RequestBody(buffer: ByteBuffer(string: body ?? ""))
        )
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let context = BasicRequestContext(source: ApplicationRequestContextSource(channel: EmbeddedChannel(), logger: logger))
        let response = try await responder.respond(to: request, context: context)
        let collected = Collected()
        try await response.body.write(CollectingWriter(into: collected))
        return (Int(response.status.code), String(buffer: collected.buffer))
    }
}

/// A response body, as written.
private final class Collected {
    var buffer = ByteBuffer()
}

/// Collects a response body into `Collected` (the writer itself is consumed by the body).
private struct CollectingWriter: ResponseBodyWriter {
    let into: Collected

    mutating func write(_ buffer: ByteBuffer) async throws {
        var buffer = buffer
        into.buffer.writeBuffer(&buffer)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
