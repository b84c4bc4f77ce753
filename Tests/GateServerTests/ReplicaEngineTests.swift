import FakeKubernetes
import Foundation
import GateConfig
import GateCore
import GateSources
import GateStore
import GateTestKit
import Logging
import Testing

@testable import GateServer

/// Two replicas' engines in-process against one fake API server: what happens when they write the same window.
/// The loops do not run, and neither does following the watch: each test decides when a replica takes what is stored.
@Suite struct ReplicaEngineTests {
    struct Replica {
        let parts: GateParts
        let store: KubernetesWindowStore
        let client: KubernetesClient
        let replicas: Replicas
        var engine: GateEngine { parts.engine }
    }

    static func replica(
        _ fake: FakeKubernetesServer,
        _ account: FakeServiceAccount,
        clock: ManualClock,
        prometheus: ScriptedMetricsSource,
        leads: Bool,
        velero: Bool = false
    ) async throws -> Replica {
        var yaml = """
            listen: 127.0.0.1:0
            auth: {disabled: true}
            prometheus:
              url: http://127.0.0.1:9
            evaluation:
              interval: 10s
              warmup: 0s
              failAfter: 1
            baseline:
              lookback: 1m
            windows:
              soak: 30s
              duration: 1h
            checks:
              - name: error-ratio
                query: demo_error_ratio
                max: 0.5
                critical: true
            kubernetes:
              apiServer: \(fake.url)
              tokenFile: \(account.tokenFile)
            ha:
              namespace: upgrade-gate
            """
        if velero { yaml += "\nvelero:\n  namespace: velero\n  backup: {waitTimeout: 10m, required: true}\n" }
        let config = try GateConfigLoader.parse(yaml: yaml)
        let client = KubernetesClient(connection: KubernetesConnection(apiServer: fake.url, tokenFile: account.tokenFile))
        let store = KubernetesWindowStore(
            client: client,
            namespace: "upgrade-gate",
            leaseName: "upgrade-gate",
            eventsPerWindow: 1000,
            maxEventMessageBytes: 4096,
            staleAfter: 3 * config.evaluation.interval,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            now: { clock.now() },
            isLeader: { leads }
        )
        let elector = try LeaseElector(
            config: LeaseElectionConfig(namespace: "upgrade-gate", name: "upgrade-gate", identity: "test_\(leads)"),
            store: KubernetesLeaseStore(client: client)
        )
        var dependencies = Dependencies(
            metrics: prometheus,
            alerts: NoFiringAlerts(),
            velero: velero ? VeleroClient(kubernetes: client, namespace: "velero") : nil,
            store: store,
            now: { clock.now() },
            escapeTimeout: .seconds(2),
            runLoops: false
        )
        let replicas = Replicas(client: client, store: store, elector: elector, isLeader: { leads })
        dependencies.replicas = replicas
        let parts = try await buildParts(
            config: config,
            dependencies: dependencies,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        // A replica loads once it listens; here nothing listens, so the test loads it.
        try await parts.load()
        return Replica(parts: parts, store: store, client: client, replicas: replicas)
    }

    @Test func aCloseDecidedOnAStaleStateIsAConflictAndIsDecidedAgainOnWhatAnotherReplicaWrote() async throws {
        try await Self.withSetup { setup in
            let fake = setup.fake
            let clock = setup.clock
            // The metric is over the check's maximum: the leader's first evaluation fails the window.
            let prometheus = ScriptedMetricsSource(.value(0.9))
            let leader = try await setup.replica(prometheus: prometheus, leads: true)
            let follower = try await setup.replica(prometheus: prometheus, leads: false)
            _ = try await leader.engine.open(WindowRequest(name: "w"), by: .pipeline("test"))
            try await eventually("the follower's cache to hold the window") { follower.store.windows.entry("w")?.value != nil }
            await follower.engine.adopt("w", from: follower.store)
            #expect(try await follower.engine.window(named: "w")?.record.memory.verdict == .pending)

            // The leader evaluates and writes fail; the follower's engine has not taken it (its cache may have).
            clock.advance(by: 10)
            await follower.engine.evaluateAll()  // a follower does not evaluate
            await leader.engine.evaluateAll()
            #expect(try await leader.engine.window(named: "w")?.record.memory.verdict == .fail)
            try await eventually("the follower's cache to see the fail") {
                follower.store.windows.entry("w")?.value?.record.memory.verdict == .fail
            }
            #expect(try await follower.engine.window(named: "w")?.record.memory.verdict == .pending, "the follower's engine still holds pending")

            // The follower closes on the state it holds: the write carries that state's version, so it is a 409; the
            // follower reads the window again and closes what is stored, keeping the leader's fail as the final verdict.
            fake.resetRequests()
            let closed = try await follower.engine.close("w", reason: "done", by: .pipeline("test"))
            #expect(closed.record.memory.verdict == .fail, "the close was decided again on the stored fail")
            let statusWrites = fake.requests.filter { $0.method == "PUT" && $0.path.hasSuffix("/upgradewindows/w/status") }
            #expect(statusWrites.map(\.status) == [409, 200], "\(statusWrites)")
            let resource = try #require(fake.objects.upgradeWindows)
            let object = try #require(fake.objects.object(resource, namespace: "upgrade-gate", name: "w"))
            #expect(object["status"]?["phase"]?.stringValue == "Closed")
            #expect(object["status"]?["verdict"]?.stringValue == "fail")
            let stored = try #require(try await follower.store.refresh(name: "w"))
            #expect(stored.record.memory.verdict == .fail)
            #expect(stored.lastEvaluation?.verdict == .fail, "the leader's evaluation is kept")
        }
    }

    @Test func aVerdictNoEvaluationConfirmedIsStaleInTheObjectAsPollersAreTold() async throws {
        try await Self.withSetup { setup in
            let fake = setup.fake
            let clock = setup.clock
            let leader = try await setup.replica(prometheus: ScriptedMetricsSource(.value(0.1)), leads: true)
            _ = try await leader.engine.open(WindowRequest(name: "w"), by: .pipeline("test"))
            let resource = try #require(fake.objects.upgradeWindows)
            func status() -> FakeJSON? { fake.objects.object(resource, namespace: "upgrade-gate", name: "w")?["status"] }
            func ready() -> FakeJSON? { status()?["conditions"]?.arrayValue?.first { $0["type"]?.stringValue == "Ready" } }
            // Past the soak, a clean evaluation: pass, Ready.
            clock.advance(by: 31)
            await leader.engine.evaluateAll()
            #expect(status()?["verdict"]?.stringValue == "pass")
            #expect(status()?["stale"]?.boolValue == false)
            #expect(ready()?["status"]?.stringValue == "True")

            // No evaluation finishes for more than three intervals (Prometheus hangs): the leader's tick writes what
            // pollers are told, so a health check waiting on Ready does not go on trusting the old pass.
            clock.advance(by: 31)
            await leader.engine.reconcile()
            #expect(status()?["stale"]?.boolValue == true, "\(String(describing: status()))")
            #expect(status()?["verdict"]?.stringValue == "inconclusive")
            #expect(ready()?["status"]?.stringValue == "False")
            #expect(ready()?["reason"]?.stringValue == "Stale")
            let trail = status()?["events"]?.arrayValue ?? []
            #expect(trail.last?["message"]?.stringValue?.contains("stale") == true, "\(trail)")
            #expect(leader.parts.api.board.entry("w")?.verdict == .inconclusive, "the gate answer says the same")

            // The next evaluation is fresh again.
            await leader.engine.evaluateAll()
            #expect(status()?["stale"]?.boolValue == false)
            #expect(status()?["verdict"]?.stringValue == "pass")
        }
    }

    @Test func aWindowAdmittedByAFollowerGetsItsBackupFromTheLeader() async throws {
        try await Self.withSetup { setup in
            let fake = setup.fake
            let prometheus = ScriptedMetricsSource(.value(0.1))
            let leader = try await setup.replica(prometheus: prometheus, leads: true, velero: true)
            let follower = try await setup.replica(prometheus: prometheus, leads: false, velero: true)
            let opened = try await follower.engine.open(WindowRequest(name: "w", namespaces: ["prod"]), by: .pipeline("test"))
            let backupName = try #require(opened.record.backup?.name)
            #expect(opened.record.backup?.awaitingCreation == true)
            // The follower created nothing in Velero, and its cycles create nothing either.
            await follower.engine.reconcile()
            #expect(fake.backups.isEmpty, "\(fake.backups)")

            // The leader takes the window from the watch and creates the Backup under the recorded name.
            try await eventually("the leader's cache to hold the window") { leader.store.windows.entry("w")?.value != nil }
            await leader.engine.adopt("w", from: leader.store)
            await leader.engine.reconcile()
            let backup = try #require(fake.backups.first)
            #expect(fake.backups.count == 1)
            #expect(backup["metadata"]?["name"]?.stringValue == backupName)
            #expect(backup["metadata"]?["labels"]?["upgrade-gate.io/window-id"]?.stringValue == opened.record.id)
            let stored = try #require(try await leader.store.refresh(name: "w"))
            #expect(stored.record.backup?.awaitingCreation == nil, "written down as created")
            // Done once: the next cycles follow the Backup, they do not create it again.
            await leader.engine.reconcile()
            #expect(fake.requestCount(method: "POST", path: "/apis/velero.io/v1/namespaces/velero/backups") == 1)
        }
    }

    @Test func aFollowerNeitherEvaluatesNorTicks() async throws {
        try await Self.withSetup { setup in
            let fake = setup.fake
            let clock = setup.clock
            let follower = try await setup.replica(prometheus: ScriptedMetricsSource(.value(0.9)), leads: false)
            // Any replica admits a window (the API and hooks are served everywhere)…
            _ = try await follower.engine.open(WindowRequest(name: "w", duration: 60), by: .pipeline("test"))
            fake.resetRequests()
            // …but only the leader judges it or ends it: a follower's cycles write nothing.
            for _ in 0..<3 {
                clock.advance(by: 40)
                await follower.engine.evaluateAll()
                await follower.engine.reconcile()
            }
            // (The open's own audit entry is mirrored as a core/v1 Event in the background and may land late.)
            let writes = fake.requests.filter { $0.method != "GET" && !($0.method == "POST" && $0.path.hasSuffix("/events")) }
            #expect(writes.isEmpty, "\(fake.requests)")
            #expect(try await follower.engine.window(named: "w")?.record.isOpen == true)
            // Yet it does not go on answering a verdict nobody confirms: with no leader evaluating, it turns
            // inconclusive (stale) in this replica's gate answer too.
            #expect(follower.parts.api.board.entry("w")?.verdict == .inconclusive)
        }
    }

    @Test func anObjectDeletedBeforeItWasOpenedIsLetGoAndNeverOpened() async throws {
        try await Self.withSetup { setup in
            let fake = setup.fake
            let leader = try await setup.replica(prometheus: ScriptedMetricsSource(.value(0.1)), leads: true)
            // As a replica that died between creating the object and writing its status leaves it, then deleted.
            let body: JSONValue = .object([
                "apiVersion": .string("upgradegate.dev/v1alpha1"), "kind": .string("UpgradeWindow"),
                "metadata": .object([
                    "name": .string("orphan"), "namespace": .string("upgrade-gate"),
                    "finalizers": .array([.string(KubernetesWindowStore.finalizer)]),
                ]),
                "spec": .object(["component": .string("podinfo")]),
            ])
            _ = try await leader.client.create(
                group: "upgradegate.dev",
                version: "v1alpha1",
                namespace: "upgrade-gate",
                plural: "upgradewindows",
                object: body
            )
            try await leader.client.delete(
                group: "upgradegate.dev",
                version: "v1alpha1",
                namespace: "upgrade-gate",
                plural: "upgradewindows",
                name: "orphan"
            )
            let resource = try #require(fake.objects.upgradeWindows)
            #expect(fake.objects.object(resource, namespace: "upgrade-gate", name: "orphan")?["metadata"]?["deletionTimestamp"] != nil)
            try await eventually("the leader's cache to see the deletion") {
                leader.store.windows.entry("orphan")?.object.json["metadata"]?["deletionTimestamp"] != nil
            }
            await leader.engine.reconcileObjects()
            #expect(fake.objects.object(resource, namespace: "upgrade-gate", name: "orphan") == nil, "the finalizer was removed, the object went")
            #expect(try await leader.engine.window(named: "orphan") == nil, "never opened")
        }
    }

    /// One fake API server, its service account and a manual clock for a test; every replica made through it is
    /// stopped with it, however the test ends.
    final class Setup {
        let fake: FakeKubernetesServer
        let account: FakeServiceAccount
        let clock = ManualClock()
        private var made: [Replica] = []

        init(fake: FakeKubernetesServer, account: FakeServiceAccount) {
            self.fake = fake
            self.account = account
        }

        func replica(prometheus: ScriptedMetricsSource, leads: Bool, velero: Bool = false) async throws -> Replica {
            let replica = try await ReplicaEngineTests.replica(fake, account, clock: clock, prometheus: prometheus, leads: leads, velero: velero)
            made.append(replica)
            return replica
        }

        func stop() async {
            for replica in made {
                replica.replicas.stopCaches()
                await replica.client.shutdown()
            }
            await fake.stop()
            account.remove()
        }
    }

    static func withSetup(_ body: (Setup) async throws -> Void) async throws {
        let account = try FakeServiceAccount(token: "t0k")
        let fake: FakeKubernetesServer
        do {
            fake = try await FakeKubernetesServer.start(token: "t0k")
        } catch {
            account.remove()
            throw error
        }
        let setup = Setup(fake: fake, account: account)
        do {
            try await body(setup)
        } catch {
            await setup.stop()
            throw error
        }
        await setup.stop()
    }
}
