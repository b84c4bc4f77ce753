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
        var noise: [String: Noise] = [:]
        var healthy = true
    }

    /// A seeded noise source: every scrape draws the next value, uniform in `center ± spread`.
    private struct Noise {
        var center: Double
        var spread: Double
        var state: UInt64

        mutating func next() -> Double {
            // SplitMix64: the same seed gives the same sequence of values, scrape after scrape.
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            let unit = Double(z >> 11) / Double(1 << 53)
            return center + spread * (2 * unit - 1)
        }
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
        let logger = Logger(label: "exporter", factory: { _ in SwiftLogNoOpLogHandler() })
        // Stopped by graceful shutdown, never by cancelling the serving task: cancelling while
        // Prometheus's next scrape connection is being accepted traps in NIO ("Deinited
        // NIOAsyncWriter without calling finish()").
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
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
    /// Serves `series` as seeded noise: each scrape draws a new value, uniform in `center ± spread`.
    func setNoise(_ series: String, center: Double, spread: Double, seed: UInt64) {
        state.withLock { $0.noise[series] = Noise(center: center, spread: spread, state: seed) }
    }
    /// Moves a noise series' center, keeping its spread and its sequence (a shift, not new noise).
    func shiftNoise(_ series: String, center: Double) { state.withLock { $0.noise[series]?.center = center } }
    /// A healthy exporter answers scrapes; an unhealthy one answers 500, so `up` becomes 0.
    func setHealthy(_ healthy: Bool) { state.withLock { $0.healthy = healthy } }

    private func render() -> Response {
        let (healthy, metrics) = state.withLock { state in
            var metrics = state.metrics
            for name in state.noise.keys.sorted() { metrics[name] = state.noise[name]?.next() }
            return (state.healthy, metrics)
        }
        guard healthy else { return Response(status: .internalServerError) }
        let text = metrics.sorted { $0.key < $1.key }.map { "\($0.key) \(formatValue($0.value))\n" }.joined()
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4"],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
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
