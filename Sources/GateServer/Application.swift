import Foundation
import GateConfig
import GateHTTP
import GateSources
import GateStore
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
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

    // `--listen` may move a loopback-only configuration onto the network: check again after the override.
    if config.auth.disabled, !config.listen.isLoopback {
        throw StartupError(
            description: "auth.disabled: true is only allowed on a loopback listen address, but the daemon would listen on \(config.listen)"
        )
    }
    let authenticator = TokenAuthenticator(config.auth, logger: logger)
    do {
        try authenticator.load()
    } catch {
        throw StartupError(description: "\(error)")
    }
    for warning in config.securityWarnings {
        logger.warning("\(warning)")
    }
    // One writer: a second daemon on the same state exits here, before it reads or writes anything.
    let stateLock: StateLock
    do {
        stateLock = try StateLock(statePath: config.state)
    } catch {
        throw StartupError(description: "\(error)")
    }
    let readiness = Readiness()
    let store: GateStore
    do {
        store = try GateStore(path: config.state, options: storeOptions(config))
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
                apiServer: config.kubernetes?.apiServer,
                tokenFile: config.kubernetes?.tokenFile,
                caFile: config.kubernetes?.caFile
            )
            kubernetes = KubernetesClient(connection: connection)
        } catch {
            throw StartupError(description: "the velero section needs the Kubernetes API: \(error)")
        }
    } else {
        kubernetes = nil
    }
    let velero: (any VeleroPort)? = kubernetes.map { VeleroClient(kubernetes: $0, namespace: config.velero?.namespace ?? "velero") }
    let engine = GateEngine(
        config: config,
        store: store,
        source: source,
        alertSource: alertSource,
        velero: velero,
        board: board,
        metrics: metrics,
        logger: logger,
        now: now
    )
    do {
        try await engine.resume()
    } catch {
        throw StartupError(description: "the state store could not be read: \(error)")
    }
    readiness.markResumed()

    let router = Router(context: BasicRequestContext.self)
    addRoutes(
        to: router,
        api: APIContext(
            config: config,
            engine: engine,
            board: board,
            metrics: metrics,
            authenticator: authenticator,
            now: now,
            store: store,
            readiness: readiness,
            logger: logger
        )
    )
    let listen = config.listen
    let statePath = config.state
    let idleTimeout = TimeAmount.milliseconds(Int64(config.limits.idleTimeout * 1000))
    var app = Application(
        router: router,
        server: .http1(
            configuration: .init(additionalChannelHandlers: [RequestDeadlineHandler(limit: idleTimeout)], idleTimeout: idleTimeout)
        ),
        configuration: .init(
            address: .hostname(listen.host, port: listen.port),
            serverName: "upgrade-gate",
            availableConnectionsDelegate: MaximumAvailableConnections(config.limits.maxConnections, logger: logger)
        ),
        onServerRunning: { channel in
            logger.notice(
                "upgrade-gate \(upgradeGateVersion) ready on \(channel.localAddress?.description ?? listen.description)",
                metadata: ["gate.listen": .string(listen.description), "gate.state": .string(statePath)]
            )
        },
        logger: logger
    )
    // Services shut down in reverse order: the loop stops before the client it queries with.
    app.addServices(
        ShutdownHook {
            await http.shutdown()
            await alertmanagerHTTP.shutdown()
            await kubernetes?.shutdown()
            // Released last: the lock outlives every writer.
            withExtendedLifetime(stateLock) {}
        }
    )
    app.addServices(EvaluationService(engine: engine, interval: .milliseconds(Int64(config.evaluation.interval * 1000))))
    app.addServices(TokenRefreshService(authenticator: authenticator))
    app.addServices(
        StoreMaintenanceService(
            store: store,
            retention: config.retention,
            readiness: readiness,
            logger: logger,
            headroomBytes: max(config.limits.maxBodyBytes, config.limits.maxHookBodyBytes)
        )
    )
    return app
}

/// The store's settings from the configuration.
///
/// `UPGRADE_GATE_STORE_MAX_PAGES` (tests only) caps the SQLite file's page count, which makes the store full
/// without filling a disk: the tests of a full store use it.
func storeOptions(_ config: GateConfig) -> GateStore.Options {
    GateStore.Options(
        maxEventMessageBytes: config.limits.maxEventMessageBytes,
        eventsPerWindow: config.retention.eventsPerWindow,
        maxPageCount: ProcessInfo.processInfo.environment["UPGRADE_GATE_STORE_MAX_PAGES"].flatMap { Int($0) }
    )
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
