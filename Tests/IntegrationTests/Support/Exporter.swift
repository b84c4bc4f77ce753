import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// A controllable Prometheus exporter served in-process on a free loopback port.
///
/// Tests set metric values (or make the target fail its scrapes) and Prometheus, scraping every
/// second, sees exactly what they set.
final class Exporter: Sendable {
    private struct State {
        var metrics: [String: Double] = [:]
        var healthy = true
    }

    private let state = Mutex(State())
    private let task: Task<Void, any Error>
    private let group: ServiceGroup
    /// The port the exporter listens on (127.0.0.1).
    let port: Int

    /// Starts an exporter with the given initial series (`name{labels}` → value).
    static func start(_ metrics: [String: Double] = [:]) async throws -> Exporter {
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let box = Mutex<Exporter?>(nil)
        let router = Router()
        router.get("/metrics") { _, _ -> Response in
            guard let exporter = box.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
            return exporter.render()
        }
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: Logger(label: "exporter", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        // Stopped by a graceful shutdown, never by cancelling the serving task: a scrape accepted just then would
        // otherwise be dropped unserved, and NIO traps on it ("Deinited NIOAsyncWriter without calling finish()").
        let group = ServiceGroup(services: [app], logger: Logger(label: "exporter", factory: { _ in SwiftLogNoOpLogHandler() }))
        let task = Task { try await group.run() }
        var port = 0
        for await bound in portStream { port = bound }
        let exporter = Exporter(task: task, group: group, port: port, metrics: metrics)
        box.withLock { $0 = exporter }
        return exporter
    }

    private init(task: Task<Void, any Error>, group: ServiceGroup, port: Int, metrics: [String: Double]) {
        self.task = task
        self.group = group
        self.port = port
        state.withLock { $0.metrics = metrics }
    }

    /// `host:port` as a scrape target.
    var target: String { "127.0.0.1:\(port)" }

    /// Sets one series' value.
    func set(_ series: String, _ value: Double) { state.withLock { $0.metrics[series] = value } }
    /// Removes one series: Prometheus marks it stale at the next scrape.
    func remove(_ series: String) { _ = state.withLock { $0.metrics.removeValue(forKey: series) } }
    /// A healthy exporter answers scrapes; an unhealthy one answers 500, so `up` becomes 0.
    func setHealthy(_ healthy: Bool) { state.withLock { $0.healthy = healthy } }

    private func render() -> Response {
        let (healthy, metrics) = state.withLock { ($0.healthy, $0.metrics) }
        guard healthy else { return Response(status: .internalServerError) }
        let text = metrics.sorted { $0.key < $1.key }.map { "\($0.key) \(formatValue($0.value))\n" }.joined()
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// Stops serving.
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

private func formatValue(_ value: Double) -> String {
    if value.isNaN { return "NaN" }
    if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
    return "\(value)"
}
