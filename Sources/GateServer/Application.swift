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

    /// Creates an error.
    public init(description: String) {
        self.description = description
    }
}

/// Everything the gate talks to, built once: the seam between the composition root and the outside world.
///
/// `live(_:)` builds the real clients; tests pass fakes (a scripted metrics source, a fake Velero, a manual clock, a
/// temporary store) and drive the loops themselves.
public struct Dependencies: Sendable {
    /// Prometheus (or a fake).
    public var metrics: any MetricsSource
    /// Where the alerts already firing at open are read.
    public var alerts: any FiringAlertsSource
    /// Velero, when the config has a `velero` section.
    public var velero: (any VeleroPort)?
    /// Durable state.
    public var store: any WindowStore
    /// The wall clock, Unix seconds.
    public var now: @Sendable () -> Double
    /// How long one Kubernetes call of the escape plan may take.
    public var escapeTimeout: Duration
    /// Run the evaluation and escape loops as services (tests drive them by hand instead).
    public var runLoops: Bool
    /// Releases clients after the loops stopped.
    public var shutdown: @Sendable () async -> Void
    /// With an `ha` section: the shared store in the Kubernetes API and the leader election.
    var replicas: Replicas?

    /// Creates dependencies.
    public init(
        metrics: any MetricsSource,
        alerts: any FiringAlertsSource,
        velero: (any VeleroPort)?,
        store: any WindowStore,
        now: @escaping @Sendable () -> Double,
        escapeTimeout: Duration = .seconds(30),
        runLoops: Bool = true,
        shutdown: @escaping @Sendable () async -> Void = {}
    ) {
        self.metrics = metrics
        self.alerts = alerts
        self.velero = velero
        self.store = store
        self.now = now
        self.escapeTimeout = escapeTimeout
        self.runLoops = runLoops
        self.shutdown = shutdown
    }

    /// The real clients for `config`: libcurl to Prometheus and Alertmanager, the Kubernetes API for Velero, the
    /// SQLite state file, the system clock.
    public static func live(_ config: GateConfig) throws(StartupError) -> Dependencies {
        if let ha = config.ha { return try replicated(config, ha: ha) }
        // One writer: a second daemon on the same state exits here, before it reads or writes anything.
        let stateLock: StateLock
        do {
            stateLock = try StateLock(statePath: config.state)
        } catch {
            throw StartupError(description: "\(error)")
        }
        let store: GateStore
        do {
            store = try GateStore(path: config.state, options: storeOptions(config))
        } catch {
            throw StartupError(description: "the state store could not be opened: \(error)")
        }
        let http = HTTPClient(configuration: httpConfiguration(for: config.prometheus))
        let source = PrometheusClient(url: config.prometheus.url, http: http, timeout: .milliseconds(Int64(config.prometheus.timeout * 1000)))
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
        return Dependencies(
            metrics: source,
            alerts: alertSource,
            velero: velero,
            store: store,
            now: { Date().timeIntervalSince1970 },
            shutdown: {
                await http.shutdown()
                await alertmanagerHTTP.shutdown()
                await kubernetes?.shutdown()
                // Released last: the lock outlives every writer.
                withExtendedLifetime(stateLock) {}
            }
        )
    }
}

/// The parts the composition root wires: the engine and what the routes need.
struct GateParts: Sendable {
    let engine: GateEngine
    let api: APIContext
    let services: [any Service]
    /// Loads the state into the engine and marks the daemon ready. With one replica `buildParts` has done it before
    /// returning; a replica does it in its ``ReplicaService`` once it listens, and tests that drive a replica by hand
    /// call it themselves.
    let load: @Sendable () async throws(StartupError) -> Void
}

/// Builds the engine, resumes it from the store (one replica), and prepares the routes' context and the loops.
func buildParts(config: GateConfig, dependencies: Dependencies, logger: Logger) async throws -> GateParts {
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
    let replicas = dependencies.replicas
    let readiness =
        replicas == nil ? Readiness() : Readiness(loadingReason: "the UpgradeWindow objects and alert groups are still being listed")
    let board = GateBoard()
    let metrics = GateMetrics()
    metrics.setBuildInfo(version: upgradeGateVersion)
    let leadership = replicas?.isLeader
    let engine = GateEngine(
        config: config,
        store: dependencies.store,
        source: dependencies.metrics,
        alertSource: dependencies.alerts,
        velero: dependencies.velero,
        board: board,
        metrics: metrics,
        logger: logger,
        now: dependencies.now,
        escapeTimeout: dependencies.escapeTimeout,
        leadership: leadership
    )
    let load: @Sendable () async throws(StartupError) -> Void = { () async throws(StartupError) in
        // A replica's reads are served from the caches: nothing is loaded before they have listed once.
        if let replicas {
            try await replicas.startCaches(logger: logger)
            // Shut down while listing: nothing to load.
            if Task.isCancelled { return }
        }
        do {
            try await engine.resume()
        } catch {
            throw StartupError(description: "the state store could not be read: \(error)")
        }
        readiness.markResumed()
    }
    if replicas == nil { try await load() }
    let interval = Duration.milliseconds(Int64(config.evaluation.interval * 1000))
    var services: [any Service] = [ShutdownHook(action: dependencies.shutdown)]
    if let replicas { services.append(ReplicaService(replicas: replicas, engine: engine, load: load, logger: logger)) }
    if dependencies.runLoops {
        services.append(EvaluationService(engine: engine, interval: interval, readiness: readiness))
        services.append(EscapeService(engine: engine, interval: interval, readiness: readiness))
        services.append(TokenRefreshService(authenticator: authenticator))
        services.append(
            StoreMaintenanceService(
                store: dependencies.store,
                retention: config.retention,
                readiness: readiness,
                logger: logger,
                headroomBytes: max(config.limits.maxBodyBytes, config.limits.maxHookBodyBytes)
            )
        )
    }
    return GateParts(
        engine: engine,
        api: APIContext(
            config: config,
            engine: engine,
            board: board,
            metrics: metrics,
            authenticator: authenticator,
            now: dependencies.now,
            store: dependencies.store,
            readiness: readiness,
            logger: logger
        ),
        services: services,
        load: load
    )
}

/// The composition root shared by `main` and tests: dependencies (live unless given), engine, routes and the
/// evaluation and escape loops, wired once.
public func buildApplication(
    config: GateConfig,
    options: ServeOptions = .init(),
    dependencies: Dependencies? = nil,
    logger: Logger
) async throws -> some ApplicationProtocol {
    var config = config
    if let listen = options.listen { config.listen = listen }
    if let state = options.state { config.state = state }
    let parts = try await buildParts(config: config, dependencies: try dependencies ?? Dependencies.live(config), logger: logger)
    return buildApplication(config: config, parts: parts, logger: logger)
}

/// The Hummingbird application around already built parts.
func buildApplication(config: GateConfig, parts: GateParts, logger: Logger) -> some ApplicationProtocol {
    let router = Router(context: BasicRequestContext.self)
    addRoutes(to: router, api: parts.api)
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
                "upgrade-gate \(upgradeGateVersion) listening on \(channel.localAddress?.description ?? listen.description)",
                metadata: ["gate.listen": .string(listen.description), "gate.state": .string(statePath)]
            )
        },
        logger: logger
    )
    // Services shut down in reverse order: the loops stop before the clients they use.
    app.addServices(parts.services)
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
