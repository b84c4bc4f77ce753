import Foundation
import GateConfig
import GateHTTP
import GateSources
import GateStore
import Hummingbird
import Logging
import ServiceLifecycle

/// What `upgrade-gate serve` may override from the config file.
public struct ServeOptions: Sendable {
    /// `--listen`.
    public var listen: ListenAddress?
    /// `--state`.
    public var state: String?

    /// Creates options.
    public init(listen: ListenAddress? = nil, state: String? = nil) {
        self.listen = listen
        self.state = state
    }
}

/// Why the daemon could not start: says what to fix.
public struct StartupError: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String
}

/// The composition root shared by `main` and tests: store, Prometheus client, engine, routes and
/// the evaluation service, wired once.
public func buildApplication(config: GateConfig, options: ServeOptions = .init(), logger: Logger) async throws -> some ApplicationProtocol {
    var config = config
    if let listen = options.listen { config.listen = listen }
    if let state = options.state { config.state = state }

    let authenticator = TokenAuthenticator(tokenFile: config.auth?.tokenFile)
    do {
        try authenticator.load()
    } catch {
        throw StartupError(description: "\(error)")
    }
    if !authenticator.isEnabled {
        logger.warning("no auth section: state-changing API calls are accepted without a token")
    }
    let store: GateStore
    do {
        store = try GateStore(path: config.state)
    } catch {
        throw StartupError(description: "the state store could not be opened: \(error)")
    }
    let http = HTTPClient(configuration: httpConfiguration(for: config.prometheus))
    let source = PrometheusClient(url: config.prometheus.url, http: http, timeout: .milliseconds(Int64(config.prometheus.timeout * 1000)))
    let board = GateBoard()
    let metrics = GateMetrics()
    metrics.setBuildInfo(version: upgradeGateVersion)
    let now: @Sendable () -> Double = { Date().timeIntervalSince1970 }
    // Alertmanager gets a client of its own: Prometheus's credentials are not for it.
    let alertmanagerHTTP = HTTPClient()
    let alertSource: any FiringAlertsSource =
        if let url = config.alertmanager?.url {
            AlertmanagerAPIClient(url: url, http: alertmanagerHTTP, timeout: .milliseconds(Int64(config.prometheus.timeout * 1000)))
        } else {
            PrometheusAlertsSource(source: source)
        }
    let kubernetes: KubernetesClient?
    if config.velero != nil {
        do {
            let connection = try KubernetesConnection.resolve(
                apiServer: config.kubernetes?.apiServer, tokenFile: config.kubernetes?.tokenFile, caFile: config.kubernetes?.caFile)
            kubernetes = KubernetesClient(connection: connection)
        } catch {
            throw StartupError(description: "the velero section needs the Kubernetes API: \(error)")
        }
    } else {
        kubernetes = nil
    }
    let velero: (any VeleroPort)? = kubernetes.map { VeleroClient(kubernetes: $0, namespace: config.velero?.namespace ?? "velero") }
    let engine = GateEngine(
        config: config, store: store, source: source, alertSource: alertSource, velero: velero, board: board, metrics: metrics,
        logger: logger, now: now)
    do {
        try await engine.resume()
    } catch {
        throw StartupError(description: "the state store could not be read: \(error)")
    }

    let router = Router(context: BasicRequestContext.self)
    addRoutes(to: router, api: APIContext(config: config, engine: engine, board: board, metrics: metrics, authenticator: authenticator, now: now))
    let listen = config.listen
    let statePath = config.state
    var app = Application(
        router: router,
        configuration: .init(address: .hostname(listen.host, port: listen.port), serverName: "upgrade-gate"),
        onServerRunning: { channel in
            logger.notice(
                "upgrade-gate \(upgradeGateVersion) ready on \(channel.localAddress?.description ?? listen.description)",
                metadata: ["gate.listen": .string(listen.description), "gate.state": .string(statePath)])
        },
        logger: logger
    )
    // Services shut down in reverse order: the loop stops before the client it queries with.
    app.addServices(
        ShutdownHook {
            await http.shutdown()
            await alertmanagerHTTP.shutdown()
            await kubernetes?.shutdown()
        })
    app.addServices(EvaluationService(engine: engine, interval: .milliseconds(Int64(config.evaluation.interval * 1000))))
    return app
}

/// Runs a closure when the service group shuts down (releases clients after the loop stopped).
struct ShutdownHook: Service {
    let action: @Sendable () async -> Void

    func run() async throws {
        try? await gracefulShutdown()
        await action()
    }
}

/// The version this binary reports.
public let upgradeGateVersion = "0.1.0"
