import Foundation
import GateConfig
import GateHTTP
import GateSources
import GateStore
import Logging
import ServiceLifecycle
import Synchronization

/// What several replicas share: the windows in the Kubernetes API and the Lease that elects the one leader.
final class Replicas: Sendable {
    let client: KubernetesClient
    let store: KubernetesWindowStore
    let elector: LeaseElector
    /// Whether this replica leads now (the elector's answer; tests may decide it themselves).
    let isLeader: @Sendable () -> Bool
    /// The caches' list+watch task, started before the engine resumes.
    private let cacheTask = Mutex<Task<Void, Never>?>(nil)

    init(client: KubernetesClient, store: KubernetesWindowStore, elector: LeaseElector, isLeader: (@Sendable () -> Bool)? = nil) {
        self.client = client
        self.store = store
        self.elector = elector
        self.isLeader = isLeader ?? { elector.isLeader }
    }

    /// Starts the list+watch caches and waits (at most a minute) until both have listed; returns early, with the
    /// caches stopped, when the task is cancelled (a shutdown while listing).
    func startCaches(logger: Logger) async throws(StartupError) {
        let store = self.store
        cacheTask.withLock { $0 = Task { await store.run() } }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(60))
        while !store.isSynced {
            if Task.isCancelled {
                stopCaches()
                return
            }
            guard clock.now < deadline else {
                stopCaches()
                throw StartupError(
                    description: "the UpgradeWindow objects could not be listed within a minute: \(store.windows.lastError ?? "no answer")"
                        + " (check ha.namespace, the CRD in deploy/crds and the RBAC in deploy/ha)"
                )
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        logger.info("listed \(store.windows.entries.count) UpgradeWindow object(s) in namespace \(store.namespace)")
    }

    func stopCaches() { cacheTask.withLock { $0?.cancel() } }
}

/// Runs the leader election and follows the shared store; exits the process when leadership is lost, as client-go's
/// controllers do: the restarted pod joins again as a follower with nothing in flight.
///
/// It starts by loading: the replica already listens (its liveness probe is answered, its API calls are 503 and
/// `/readyz` says why) while the caches list the objects and the engine resumes from them. Only then does it follow
/// the store and stand for election. A load that fails ends the daemon with the reason.
struct ReplicaService: Service {
    let replicas: Replicas
    let engine: GateEngine
    let load: @Sendable () async throws(StartupError) -> Void
    let logger: Logger

    func run() async throws {
        try await cancelWhenGracefulShutdown { try await load() }
        // Shut down while loading: neither follow nor stand for election.
        if Task.isCancelled || Task.isShuttingDownGracefully { return }
        let elector = replicas.elector
        let lost = await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Bool.self) { group in
                group.addTask {
                    await engine.follow(replicas.store)
                    return false
                }
                group.addTask {
                    for await event in elector.events() {
                        switch event {
                        case .started:
                            logger.notice("leading: this replica (\(elector.identity)) now evaluates and acts on windows")
                            await engine.wakeEscape()
                        case .stopped: logger.warning("no longer leading")
                        case .observedLeader(let holder): logger.info("the leader is \(holder.isEmpty ? "(none)" : holder)")
                        }
                    }
                    // The stream ends when the election does: only the election's own result says whether it was lost.
                    while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
                    return false
                }
                group.addTask {
                    guard await elector.run() == .lost else { return false }
                    // At once, not after the other tasks wind down: nothing this replica started as leader goes on.
                    logger.critical("leadership lost: exiting so that nothing this replica started as leader goes on")
                    exit(1)
                }
                let lost = await group.next() ?? false
                group.cancelAll()
                return lost
            }
        }
        replicas.stopCaches()
        if lost == true {
            logger.critical("leadership lost: exiting so that nothing this replica started as leader goes on")
            exit(1)
        }
    }
}

extension Dependencies {
    /// The dependencies of a replica: the same clients as one replica has, the windows in the Kubernetes API
    /// instead of the SQLite file, and a Lease.
    static func replicated(_ config: GateConfig, ha: HAConfig) throws(StartupError) -> Dependencies {
        let connection: KubernetesConnection
        do {
            connection = try KubernetesConnection.resolve(
                apiServer: config.kubernetes?.apiServer,
                tokenFile: config.kubernetes?.tokenFile,
                caFile: config.kubernetes?.caFile
            )
        } catch {
            throw StartupError(description: "the ha section needs the Kubernetes API: \(error)")
        }
        let kubernetes = KubernetesClient(connection: connection)
        let elector: LeaseElector
        do {
            elector = try LeaseElector(
                config: LeaseElectionConfig(
                    namespace: ha.namespace,
                    name: ha.lease.name,
                    identity: LeaseElectionConfig.defaultIdentity(),
                    leaseDuration: .milliseconds(Int64(ha.lease.duration * 1000)),
                    renewDeadline: .milliseconds(Int64(ha.lease.renewDeadline * 1000)),
                    retryPeriod: .milliseconds(Int64(ha.lease.retryPeriod * 1000))
                ),
                store: KubernetesLeaseStore(client: kubernetes)
            )
        } catch {
            throw StartupError(description: "ha.lease: \(error)")
        }
        let store = KubernetesWindowStore(
            client: kubernetes,
            namespace: ha.namespace,
            leaseName: ha.lease.name,
            eventsPerWindow: config.retention.eventsPerWindow,
            maxEventMessageBytes: config.limits.maxEventMessageBytes,
            staleAfter: 3 * config.evaluation.interval,
            logger: Logger(label: "upgrade-gate.ha"),
            isLeader: { elector.isLeader }
        )
        let http = HTTPClient(configuration: httpConfiguration(for: config.prometheus))
        let source = PrometheusClient(url: config.prometheus.url, http: http, timeout: .milliseconds(Int64(config.prometheus.timeout * 1000)))
        let alertmanagerHTTP = HTTPClient()
        let alertSource: any FiringAlertsSource =
            if let url = config.alertmanager?.url {
                AlertmanagerAPIClient(url: url, http: alertmanagerHTTP, timeout: .milliseconds(Int64(config.prometheus.timeout * 1000)))
            } else {
                PrometheusAlertsSource(source: source)
            }
        let velero: (any VeleroPort)? = config.velero.map { VeleroClient(kubernetes: kubernetes, namespace: $0.namespace) }
        var dependencies = Dependencies(
            metrics: source,
            alerts: alertSource,
            velero: velero,
            store: store,
            now: { Date().timeIntervalSince1970 },
            // A Kubernetes call of the escape plan (a Restore's creation) never outlasts the leadership it started
            // under: renewDeadline bounds it.
            escapeTimeout: .milliseconds(Int64(min(30, ha.lease.renewDeadline) * 1000)),
            shutdown: {
                await http.shutdown()
                await alertmanagerHTTP.shutdown()
                await kubernetes.shutdown()
            }
        )
        dependencies.replicas = Replicas(client: kubernetes, store: store, elector: elector)
        return dependencies
    }
}
