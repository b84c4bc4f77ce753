import FakeKubernetes
import Foundation
import GateHTTP
import GateTestKit
import Testing

/// Three daemons with an `ha` section against one fake API server and a real Prometheus: windows are UpgradeWindow
/// objects, a Lease elects the leader, and killing the leader loses nothing.
@Suite(.serialized) struct HighAvailabilityTests {
    static let podinfo = FakeWorkload.Key(kind: .deployment, namespace: "prod", name: "podinfo")

    /// The replicas, their fake API server and the exporters Prometheus scrapes.
    final class Cluster: Sendable {
        let fake: FakeKubernetesServer
        let account: FakeServiceAccount
        let api: Exporter
        let worker: Exporter
        let prometheus: PrometheusServer
        let replicas: [GateDaemon]

        init(
            fake: FakeKubernetesServer,
            account: FakeServiceAccount,
            api: Exporter,
            worker: Exporter,
            prometheus: PrometheusServer,
            replicas: [GateDaemon]
        ) {
            self.fake = fake
            self.account = account
            self.api = api
            self.worker = worker
            self.prometheus = prometheus
            self.replicas = replicas
        }

        /// Lease timings of the tests: 3 s / 2 s / 0.5 s (the defaults are 15 s / 10 s / 2 s).
        static let lease = "{name: upgrade-gate, duration: 3s, renewDeadline: 2s, retryPeriod: 500ms}"

        static func run(count: Int = 3, _ body: (Cluster) async throws -> Void) async throws {
            let account = try FakeServiceAccount(token: "sa-token-ha")
            let fake = try await FakeKubernetesServer.start(token: "sa-token-ha")
            fake.seed(deployment: "podinfo", namespace: "prod", containers: ["app": "ghcr.io/stefanprodan/podinfo:6.5.0"])
            let api = try await Exporter.start(["demo_error_ratio": 0.1, "demo_restarts_total": 3])
            let worker = try await Exporter.start(["demo_queue_depth": 1])
            let prometheus = try await PrometheusServer.start(targets: [api.target, worker.target])
            var replicas: [GateDaemon] = []
            do {
                try await prometheus.waitFor("count_over_time(up{job=\"demo\"}[10s]) >= 3") { $0.count == 2 }
                let config = """
                    prometheus:
                      url: \(prometheus.url)
                      timeout: 2s
                    evaluation:
                      interval: 1s
                      warmup: 0s
                      failAfter: 1
                    baseline:
                      lookback: 3s
                    windows:
                      soak: 1h
                      duration: 2h
                    checks:
                      - name: targets-up
                        query: up{job="{{job}}"}
                        min: 1
                    kubernetes:
                      apiServer: \(fake.url)
                      tokenFile: \(account.tokenFile)
                    velero:
                      namespace: velero
                      backup: {waitTimeout: 30s, required: true}
                      restore: {mode: auto, existingResourcePolicy: update, verify: true}
                    ha:
                      namespace: upgrade-gate
                      lease: \(lease)
                    """
                for index in 0..<count {
                    replicas.append(try await GateDaemon.start(config: config, environment: ["POD_NAME": "gate-\(index)"]))
                }
            } catch {
                for replica in replicas { await replica.stop() }
                await prometheus.stop()
                await api.stop()
                await worker.stop()
                await fake.stop()
                account.remove()
                throw error
            }
            let cluster = Cluster(fake: fake, account: account, api: api, worker: worker, prometheus: prometheus, replicas: replicas)
            try await withTeardown({ try await body(cluster) }, teardown: { await cluster.stop() })
        }

        func stop() async {
            for replica in replicas { await replica.stop() }
            await prometheus.stop()
            await api.stop()
            await worker.stop()
            await fake.stop()
            account.remove()
        }

        /// The Lease's holder, as `gate-N`, or nil.
        var holder: String? {
            let lease = fake.objects.object(.leases, namespace: "upgrade-gate", name: "upgrade-gate")
            guard let identity = lease?["spec"]?["holderIdentity"]?.stringValue, !identity.isEmpty else { return nil }
            return identity.split(separator: "_").first.map(String.init)
        }

        /// The replica holding the Lease (waits for one).
        func leader() async throws -> (index: Int, gate: GateDaemon) {
            try await eventually(timeout: .seconds(30), "a leader to be elected") { holder != nil }
            let name = try #require(holder)
            let index = try #require(Int(name.dropFirst("gate-".count)))
            return (index, replicas[index])
        }

        func open(_ name: String, via gate: GateDaemon) async throws -> GateDaemon.Answer {
            try await gate.call("POST", "/api/v1/windows", body: #"{"name":"\#(name)","namespaces":["prod"],"labels":{"job":"demo"}}"#)
        }

        /// A request to the fake API server as a person with kubectl would send it (the gate's own token).
        func kubectl(_ method: String, _ path: String, _ body: String, contentType: String = "application/json") async throws -> HTTPResponse {
            let http = HTTPClient()
            defer { Task { await http.shutdown() } }
            return try await http.execute(
                HTTPRequest(
                    method: method,
                    url: fake.url + path,
                    headers: [(name: "Authorization", value: "Bearer sa-token-ha"), (name: "Content-Type", value: contentType)],
                    body: Array(body.utf8)
                )
            )
        }

        /// The UpgradeWindow object named `name`.
        func object(_ name: String) -> FakeJSON? {
            guard let resource = fake.objects.upgradeWindows else { return nil }
            return fake.objects.object(resource, namespace: "upgrade-gate", name: name)
        }

        func restores(of window: String) -> [FakeJSON] {
            fake.restores.filter { $0["metadata"]?["labels"]?["upgrade-gate.io/window"]?.stringValue == window }
        }

        func breakTarget() async throws {
            worker.setHealthy(false)
            try await prometheus.waitFor("up{instance=\"\(worker.target)\"} == 0") { $0.count == 1 }
        }

        /// Each replica's gate verdict for `window` (nil where it has none).
        func verdicts(_ window: String) async -> [String?] {
            var verdicts: [String?] = []
            for replica in replicas {
                verdicts.append((try? await replica.gate(window))?["verdict"] as? String)
            }
            return verdicts
        }
    }

    @Test func threeReplicasShareWindowsOnlyTheLeaderActsAndAFailIsRestoredOnce() async throws {
        try await Cluster.run { cluster in
            let leader = try await cluster.leader()
            let follower = cluster.replicas[(leader.index + 1) % 3]
            // A follower accepts the open: the window is an object every replica serves.
            let opened = try await cluster.open("podinfo-upgrade", via: follower)
            #expect(opened.status == 201, "\(opened)")
            let object = try #require(cluster.object("podinfo-upgrade"))
            #expect(object["status"]?["id"]?.stringValue == opened.json["id"] as? String)
            #expect(object["status"]?["gate"]?["baseline"]?.stringValue?.isEmpty == false)
            try await eventually(timeout: .seconds(30), "every replica to serve the window") {
                await cluster.verdicts("podinfo-upgrade").allSatisfy { $0 != nil }
            }
            // Only the leader evaluates; every replica answers what it wrote.
            try await eventually(timeout: .seconds(30), "the leader's first evaluation to reach the object") {
                cluster.object("podinfo-upgrade")?["status"]?["evaluatedAt"]?.stringValue != nil
            }

            _ = cluster.fake.setImage("ghcr.io/stefanprodan/podinfo:6.6.0", container: "app", of: HighAvailabilityTests.podinfo)
            try await cluster.breakTarget()
            try await eventually(timeout: .seconds(60), "every replica to answer fail") {
                await cluster.verdicts("podinfo-upgrade").allSatisfy { $0 == "fail" }
            }
            try await eventually(timeout: .seconds(60), "the Restore to be created") { cluster.restores(of: "podinfo-upgrade").count == 1 }
            // Kstatus: a sticky fail is Stalled, never Ready.
            let conditions = cluster.object("podinfo-upgrade")?["status"]?["conditions"]?.arrayValue ?? []
            #expect(conditions.contains { $0["type"]?.stringValue == "Stalled" && $0["status"]?.stringValue == "True" })
            #expect(conditions.contains { $0["type"]?.stringValue == "Ready" && $0["status"]?.stringValue == "False" })
            // The audit trail is mirrored as Events about the object (by uid), for `kubectl describe uw`.
            let uid = cluster.object("podinfo-upgrade")?["metadata"]?["uid"]?.stringValue
            try await eventually(timeout: .seconds(30), "a Warning Event about the object") {
                cluster.fake.objects.objects(.events).contains {
                    $0["involvedObject"]?["uid"]?.stringValue == uid && $0["type"]?.stringValue == "Warning"
                }
            }
            try await Task.sleep(for: .seconds(3))
            #expect(cluster.restores(of: "podinfo-upgrade").count == 1, "one Restore, whatever the number of replicas")
            // The follower admitted the window; the leader created its Backup, as it created the Restore.
            let backups = cluster.fake.backups.filter { $0["metadata"]?["labels"]?["upgrade-gate.io/window"]?.stringValue == "podinfo-upgrade" }
            #expect(backups.count == 1)
            let backup = backups.first?["metadata"]?["name"]?.stringValue ?? "?"
            #expect(leader.gate.log.contains("pre-upgrade backup \(backup) requested"))
            #expect(follower.log.contains("the leader creates pre-upgrade backup \(backup)"))
            #expect(!follower.log.contains("pre-upgrade backup \(backup) requested"))
        }
    }

    @Test func aReplicaThatCannotListYetListensAnswersNotReadyAndServesOnceItHasListed() async throws {
        let account = try FakeServiceAccount(token: "sa-token-ha")
        let fake = try await FakeKubernetesServer.start(token: "sa-token-ha")
        defer { account.remove() }
        // RBAC not applied yet: the replica cannot list its objects.
        fake.forbid(verb: "list", plural: "upgradewindows")
        let config = """
            prometheus:
              url: http://127.0.0.1:\(try freeLoopbackPort())
            kubernetes:
              apiServer: \(fake.url)
              tokenFile: \(account.tokenFile)
            ha:
              namespace: upgrade-gate
              lease: \(Cluster.lease)
            """
        let gate: GateDaemon
        do {
            gate = try await GateDaemon.start(config: config, environment: ["POD_NAME": "gate-0"], waitUntilReady: false)
        } catch {
            await fake.stop()
            throw error
        }
        try await withTeardown(
            {
                // It listens (liveness is answered) but is not ready, and says why.
                let ready = try await gate.call("GET", "/readyz")
                #expect(ready.status == 503, "\(ready)")
                #expect((ready.json["reason"] as? String)?.contains("still being listed") == true, "\(ready)")
                // Before its state is loaded it knows no window: it neither says "no such window" nor opens one.
                let poll = try await gate.call("GET", "/api/v1/gate/podinfo-upgrade")
                #expect(poll.status == 503, "\(poll)")
                #expect((poll.json["error"] as? [String: Any])?["code"] as? String == "unavailable", "\(poll)")
                let open = try await gate.call("POST", "/api/v1/windows", body: #"{"name":"podinfo-upgrade"}"#)
                #expect(open.status == 503, "\(open)")
                // The router ignores empty path segments: a doubled slash is the same route, and refused the same way.
                #expect(try await gate.call("GET", "//api/v1/gate/podinfo-upgrade").status == 503)
                #expect(try await gate.call("POST", "//api//v1/windows", body: #"{"name":"podinfo-upgrade"}"#).status == 503)
                #expect(fake.objects.upgradeWindows.map { fake.objects.objects($0).isEmpty } ?? true, "nothing was created")
                #expect(fake.objects.object(.leases, namespace: "upgrade-gate", name: "upgrade-gate") == nil, "no election before loading")

                // RBAC applied: the cache lists again, and the replica becomes ready and serves.
                fake.clearForbidden()
                try await eventually(timeout: .seconds(30), "the replica to become ready") {
                    try await gate.call("GET", "/readyz").status == 200
                }
                #expect(try await gate.call("GET", "/api/v1/gate/podinfo-upgrade").status == 404)
                try await eventually(timeout: .seconds(30), "the replica to lead") {
                    fake.objects.object(.leases, namespace: "upgrade-gate", name: "upgrade-gate") != nil
                }
            },
            teardown: {
                await gate.stop()
                await fake.stop()
            }
        )
    }

    @Test func anAlertAcceptedByAFollowerSurvivesThatFollowerAndFailsTheWindow() async throws {
        try await Cluster.run { cluster in
            let leader = try await cluster.leader()
            let follower = cluster.replicas[(leader.index + 2) % 3]
            #expect(try await cluster.open("alerting", via: leader.gate).status == 201)
            let payload = """
                {"version":"4","groupKey":"{}:{alertname=\\"KubePodCrashLooping\\"}","status":"firing","receiver":"upgrade-gate",
                 "groupLabels":{"alertname":"KubePodCrashLooping"},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am",
                 "alerts":[{"status":"firing","labels":{"alertname":"KubePodCrashLooping","severity":"critical","namespace":"prod"},
                 "annotations":{},"startsAt":"2026-12-04T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"0a1b2c3d4e5f6a7b"}]}
                """
            let answer = try await follower.call("POST", "/api/v1/alertmanager", body: payload)
            #expect(answer.status == 200, "\(answer)")
            // Persisted in the API before the 200: the follower may die now.
            follower.kill9()
            let groups = cluster.fake.objects.objects(.configMaps).first?["data"]?["groups.json"]?.stringValue ?? ""
            #expect(groups.contains("KubePodCrashLooping"))
            try await eventually(timeout: .seconds(30), "the leader to fail the window on the follower's alert") {
                (try? await leader.gate.gate("alerting"))?["verdict"] as? String == "fail"
            }
            // The object says which alert, as the gate answer does (for `kubectl get uw -o yaml` and health checks).
            try await eventually(timeout: .seconds(30), "the alert in the object's status") {
                (cluster.object("alerting")?["status"]?["alerts"]?.arrayValue ?? []).contains {
                    $0["alertname"]?.stringValue == "KubePodCrashLooping" && $0["failing"]?.boolValue == true
                        && $0["fingerprint"]?.stringValue == "0a1b2c3d4e5f6a7b"
                }
            }
        }
    }

    @Test func anUpgradeWindowCreatedByGitOpsIsOpenedAndSpecClosedClosesIt() async throws {
        try await Cluster.run(count: 2) { cluster in
            let leader = try await cluster.leader()
            let path = "/apis/upgradegate.dev/v1alpha1/namespaces/upgrade-gate/upgradewindows"
            let created = try await cluster.kubectl(
                "POST",
                path,
                #"{"apiVersion":"upgradegate.dev/v1alpha1","kind":"UpgradeWindow","metadata":{"name":"from-git","namespace":"upgrade-gate"},"spec":{"component":"podinfo","namespaces":["prod"],"labels":{"job":"demo"},"backup":{"create":false}}}"#
            )
            #expect(created.status == 201, "\(created.bodyText)")
            try await eventually(timeout: .seconds(30), "the leader to open the window the object asks for") {
                cluster.object("from-git")?["status"]?["id"]?.stringValue != nil
            }
            try await eventually(timeout: .seconds(30), "the leader to answer for the window") {
                (try? await leader.gate.gate("from-git"))?["state"] as? String == "open"
            }
            let patched = try await cluster.kubectl(
                "PATCH",
                path + "/from-git",
                #"{"spec":{"closed":true}}"#,
                contentType: "application/merge-patch+json"
            )
            #expect(patched.status == 200, "\(patched.bodyText)")
            try await eventually(timeout: .seconds(30), "spec.closed to close the window") {
                cluster.object("from-git")?["status"]?["phase"]?.stringValue == "Closed"
            }
            // A closed window's object no longer holds the finalizer (removed right after the close is written).
            try await eventually(timeout: .seconds(10), "the finalizer of the closed window to go") {
                (cluster.object("from-git")?["metadata"]?["finalizers"]?.arrayValue ?? []).isEmpty
            }

            // Deleting an open window's object closes it first: the finalizer holds the object until the final
            // verdict is recorded, then the object goes.
            let second = try await cluster.kubectl(
                "POST",
                path,
                #"{"apiVersion":"upgradegate.dev/v1alpha1","kind":"UpgradeWindow","metadata":{"name":"deleted-by-git","namespace":"upgrade-gate"},"spec":{"component":"podinfo","labels":{"job":"demo"},"backup":{"create":false}}}"#
            )
            #expect(second.status == 201, "\(second.bodyText)")
            try await eventually(timeout: .seconds(30), "the second window to open, holding the finalizer") {
                cluster.object("deleted-by-git")?["metadata"]?["finalizers"]?.arrayValue?.contains("upgradegate.dev/final-verdict") == true
                    && cluster.object("deleted-by-git")?["status"]?["phase"]?.stringValue == "Open"
            }
            let deleted = try await cluster.kubectl("DELETE", path + "/deleted-by-git", "")
            #expect(deleted.status == 200, "\(deleted.bodyText)")
            try await eventually(timeout: .seconds(30), "the object to go once the window is closed") { cluster.object("deleted-by-git") == nil }
            // The object goes as the close is written; the replica's answer follows a moment later.
            try await eventually(timeout: .seconds(10), "the leader to answer with the final verdict") {
                (try? await leader.gate.gate("deleted-by-git"))?["state"] as? String == "closed"
            }
        }
    }
}

/// The fault script of the high-availability mode: kill -9 the leader again and again — right after an alert was
/// accepted, while a Restore's creation is in flight (after the intent was written), or at a random moment — and
/// check that nothing is lost and nothing is done twice.
///
/// `UPGRADE_GATE_HA_KILLS` sets the number of kills (default 3, which CI runs; `Benchmarks/ha-fault.sh` runs 20).
@Suite(.serialized) struct HighAvailabilityFaultTests {
    @Test func killingTheLeaderRepeatedlyLosesNoWindowNoAlertAndRestoresEachFailureOnce() async throws {
        let kills = Int(ProcessInfo.processInfo.environment["UPGRADE_GATE_HA_KILLS"] ?? "") ?? 3
        try await HighAvailabilityTests.Cluster.run { cluster in
            var failovers: [Double] = []
            var lags: [Double] = []
            var accepted: [String] = []
            var windows: [String] = []
            let clock = ContinuousClock()

            // What the API server pays: status writes per evaluation cycle with one window open.
            _ = try await cluster.leader()
            #expect(try await cluster.open("calls", via: cluster.replicas[0]).status == 201)
            windows.append("calls")
            try await Task.sleep(for: .seconds(2))
            cluster.fake.resetRequests()
            try await Task.sleep(for: .seconds(10))
            let writes = cluster.fake.requests.filter { $0.method == "PUT" && $0.path.hasSuffix("/status") && $0.path.contains("upgradewindows") }
                .count
            let reads = cluster.fake.requests.filter { $0.method == "GET" && $0.path.contains("upgradewindows") }.count
            let leaseCalls = cluster.fake.requests.filter { $0.path.contains("/leases") }.count
            print("HA-REPORT calls in 10 s (10 cycles, 1 window): status writes \(writes), window reads \(reads), lease calls \(leaseCalls)")

            for round in 0..<kills {
                let leader = try await cluster.leader()
                let others = cluster.replicas.indices.filter { $0 != leader.index }
                let name = "round-\(round)"
                let via = cluster.replicas[others[round % others.count]]
                var opened = try await cluster.open(name, via: via)
                if opened.status == 503 {
                    try await Task.sleep(for: .seconds(1))
                    opened = try await cluster.open(name, via: via)
                }
                #expect(opened.status == 201, "round \(round): \(opened)")
                windows.append(name)
                try await eventually(timeout: .seconds(30), "round \(round): the first evaluation and a Completed backup") {
                    cluster.object(name)?["status"]?["evaluatedAt"]?.stringValue != nil
                        && cluster.object(name)?["status"]?["backup"]?["phase"]?.stringValue == "Completed"
                }
                // Half the rounds stall the Restore's creation, so the kill lands between the intent and the request.
                let between = round % 2 == 1
                if between {
                    cluster.fake.stall(
                        for: .seconds(2),
                        requests: 1,
                        afterHandling: round % 4 == 1,
                        path: "/apis/velero.io/v1/namespaces/velero/restores"
                    )
                }
                let alert = HighAvailabilityFaultTests.alert("Round\(round)Broken")
                let answer = try await cluster.replicas[others[(round + 1) % others.count]].call("POST", "/api/v1/alertmanager", body: alert)
                #expect(answer.status == 200, "round \(round): \(answer)")
                if answer.status == 200 { accepted.append("Round\(round)Broken") }
                if between {
                    try await eventually(timeout: .seconds(30), "round \(round): the restore intent to be written") {
                        cluster.object(name)?["status"]?["restore"]?["intentAt"]?.stringValue != nil
                    }
                } else {
                    try await Task.sleep(for: .milliseconds(Int.random(in: 0...1500)))
                }
                let killedAt = clock.now
                leader.gate.kill9()
                try await eventually(timeout: .seconds(30), "round \(round): another replica to take the lease") {
                    cluster.holder != nil && cluster.holder != "gate-\(leader.index)"
                }
                failovers.append(
                    Double(killedAt.duration(to: clock.now).components.attoseconds) / 1e18
                        + Double(killedAt.duration(to: clock.now).components.seconds)
                )
                try await leader.gate.launch()

                // The window fails on its alert and is restored once, whoever leads.
                try await eventually(timeout: .seconds(60), "round \(round): the window to fail") {
                    cluster.object(name)?["status"]?["verdict"]?.stringValue == "fail"
                }
                let failedAt = clock.now
                try await eventually(timeout: .seconds(30), "round \(round): every replica to answer fail") {
                    await cluster.verdicts(name).allSatisfy { $0 == "fail" }
                }
                lags.append(
                    Double(failedAt.duration(to: clock.now).components.attoseconds) / 1e18
                        + Double(failedAt.duration(to: clock.now).components.seconds)
                )
                try await eventually(timeout: .seconds(60), "round \(round): the Restore") { cluster.restores(of: name).count >= 1 }
            }
            try await Task.sleep(for: .seconds(3))
            // Every window fails (the first one on the first round's alert too) and is restored exactly once.
            for name in windows {
                #expect(cluster.restores(of: name).count == 1, "\(name): \(cluster.restores(of: name).count) Restores")
                #expect(cluster.object(name)?["status"]?["verdict"]?.stringValue == "fail", "\(name) lost its fail")
            }
            for name in windows { #expect(cluster.object(name) != nil, "window \(name) lost") }
            let groups = cluster.fake.objects.objects(.configMaps).first?["data"]?["groups.json"]?.stringValue ?? ""
            for alert in accepted { #expect(groups.contains(alert), "alert \(alert) was accepted but is not persisted") }
            let restores = cluster.fake.restores.count
            #expect(restores == windows.count, "\(restores) Restores for \(windows.count) failed windows")
            func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
            print(
                "HA-REPORT kills \(kills): failover median \(median(failovers)) s max \(failovers.max() ?? 0) s; "
                    + "follower lag median \(median(lags)) s max \(lags.max() ?? 0) s; restores \(restores)"
            )
        }
    }

    static func alert(_ name: String) -> String {
        """
        {"version":"4","groupKey":"{}:{alertname=\\"\(name)\\"}","status":"firing","receiver":"upgrade-gate",
         "groupLabels":{"alertname":"\(name)"},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am",
         "alerts":[{"status":"firing","labels":{"alertname":"\(name)","severity":"critical","namespace":"prod"},
         "annotations":{},"startsAt":"2026-12-04T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"\(name.utf8.count)a1b2c3d4e5f6"}]}
        """
    }
}
