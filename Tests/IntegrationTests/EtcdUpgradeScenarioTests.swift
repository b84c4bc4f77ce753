import Foundation
import GateTestKit
import Testing

/// The whole stack on loopback: a 3-member etcd cluster, Prometheus scraping it every second and
/// loading alert-rules/, Alertmanager routing to the gate's webhook, and the gate daemon.
@Suite(.serialized) struct EtcdUpgradeScenarioTests {
    struct Stack {
        let etcd: EtcdCluster
        let prometheus: PrometheusServer
        let alertmanager: AlertmanagerServer
        let gate: GateDaemon

        static func run(repeatInterval: String = "1h", _ body: (Stack) async throws -> Void) async throws {
            let etcd = try await EtcdCluster.start()
            let rules = try ruleFiles()
            let alertmanagerPort = try freeLoopbackPort()
            let prometheus = try await PrometheusServer.start(
                targets: [],
                extraScrapeConfigs: """
                      - job_name: etcd
                        static_configs:
                          - targets: [\(etcd.members.map { "'\($0.target)'" }.joined(separator: ", "))]

                    """,
                ruleFiles: rules,
                alertmanagers: ["127.0.0.1:\(alertmanagerPort)"]
            )
            try await prometheus.waitFor("count_over_time(etcd_server_has_leader[10s]) >= 3") { $0.count == 3 }
            let gatePort = try freeLoopbackPort()
            let gate = try await GateDaemon.start(
                config: """
                    prometheus:
                      url: \(prometheus.url)
                      timeout: 2s
                    alertmanager:
                      url: http://127.0.0.1:\(alertmanagerPort)
                      matchers: ['severity=~"critical|warning"']
                    evaluation:
                      interval: 1s
                      warmup: 0s
                      failAfter: 1
                    baseline:
                      lookback: 5s
                    windows:
                      soak: 3s
                      duration: 1h
                    checks:
                      - name: etcd-leader-changes
                        query: etcd_server_leader_changes_seen_total{job="etcd"}
                        counter: true
                        maxIncrease: 0
                        missingSeries: ignore
                      - name: prometheus-up
                        query: up{job="prometheus-self"}
                        min: 1
                        noData: pass
                    """,
                port: gatePort
            )
            let alertmanager: AlertmanagerServer
            do {
                alertmanager = try await AlertmanagerServer.start(
                    port: alertmanagerPort,
                    webhook: gate.url + "/api/v1/alertmanager",
                    tokenFile: gate.tokenPath,
                    repeatInterval: repeatInterval
                )
            } catch {
                await gate.stop()
                await prometheus.stop()
                await etcd.stop()
                throw error
            }
            let stack = Stack(etcd: etcd, prometheus: prometheus, alertmanager: alertmanager, gate: gate)
            try await withTeardown({ try await body(stack) }, teardown: { await stack.stop() })
        }

        func stop() async {
            await gate.stop()
            await alertmanager.stop()
            await prometheus.stop()
            await etcd.stop()
        }

        static func ruleFiles() throws -> [String] {
            let root = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent()
            let directory = root.appendingPathComponent("alert-rules")
            let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".rules.yml") }.sorted()
            guard !files.isEmpty else { throw HarnessError(description: "no rule files in \(directory.path)") }
            return files.map { directory.appendingPathComponent($0).path }
        }

        /// Kills the etcd leader with SIGKILL and returns when it happened.
        func killLeader() async throws -> ContinuousClock.Instant {
            let leader = try #require(try await etcd.leader())
            let killedAt = ContinuousClock.now
            leader.process.kill9()
            return killedAt
        }
    }

    @Test func killingTheEtcdLeaderFailsTheGateThroughMetricsAndThroughAlerts() async throws {
        try await Stack.run { stack in
            // Two windows so each path is observed on its own: one judges only the leader-change
            // metric (its matcher selects no alert), the other only alerts.
            let metrics = try await stack.gate.call(
                "POST",
                "/api/v1/windows",
                body:
                    #"{"name":"etcd-metrics","component":"etcd","fromVersion":"3.4.23","toVersion":"3.4.24","checks":["etcd-leader-changes"],"matchers":["alertname=\"NoSuchAlert\""]}"#
            )
            #expect(metrics.status == 201, "\(metrics)")
            let alerts = try await stack.gate.call(
                "POST",
                "/api/v1/windows",
                body: #"{"name":"etcd-alerts","component":"etcd","checks":["prometheus-up"]}"#
            )
            #expect(alerts.status == 201, "\(alerts)")
            try await stack.gate.waitForVerdict("etcd-metrics", "pass")
            try await stack.gate.waitForVerdict("etcd-alerts", "pass")

            let killedAt = try await stack.killLeader()
            var metricFailAt: ContinuousClock.Instant?
            var alertFailAt: ContinuousClock.Instant?
            let deadline = killedAt + .seconds(90)
            while (metricFailAt == nil || alertFailAt == nil) && ContinuousClock.now < deadline {
                if metricFailAt == nil, try await stack.gate.gate("etcd-metrics")["verdict"] as? String == "fail" { metricFailAt = .now }
                if alertFailAt == nil, try await stack.gate.gate("etcd-alerts")["verdict"] as? String == "fail" { alertFailAt = .now }
                try await Task.sleep(for: .milliseconds(50))
            }
            let metricFail = try #require(metricFailAt, "the metric path never failed the gate:\n\(stack.gate.log.suffix(3000))")
            let alertFail = try #require(alertFailAt, "the alert path never failed the gate:\n\(stack.gate.log.suffix(3000))")
            print("etcd leader killed → gate fail: metric path \(killedAt.duration(to: metricFail)), alert path \(killedAt.duration(to: alertFail))")

            // The gate says so in plain words.
            let metricGate = try await stack.gate.gate("etcd-metrics")
            let metricReasons = (metricGate["reasons"] as? [String] ?? []).joined(separator: "\n")
            #expect(metricReasons.contains("etcd-leader-changes") && metricReasons.contains("increased by"), "\(metricGate)")
            let alertGate = try await stack.gate.gate("etcd-alerts")
            let firing = try #require((alertGate["alerts"] as? [[String: Any]])?.first, "\(alertGate)")
            #expect(firing["alertname"] as? String == "UpgradeEtcdLeaderChanged", "\(alertGate)")
            #expect(firing["state"] as? String == "failing")
            let logLine = try #require(
                stack.gate.logLines.first { $0["gate.window"] as? String == "etcd-alerts" && $0["gate.verdict"] as? String == "fail" },
                "\(stack.gate.log.suffix(3000))"
            )
            #expect((logLine["msg"] as? String)?.contains("UpgradeEtcdLeaderChanged") == true, "\(logLine)")
            #expect((logLine["msg"] as? String)?.contains("not firing when the window opened") == true, "\(logLine)")
        }
    }

    @Test func anAlertAlreadyFiringWhenTheWindowOpensDoesNotFailIt() async throws {
        // Alertmanager re-sends the firing alert every 2s during the window.
        try await Stack.run(repeatInterval: "2s") { stack in
            _ = try await stack.killLeader()
            // Wait until Alertmanager holds the leader-change alert (and has told the gate).
            try await eventually(timeout: .seconds(90), "UpgradeEtcdLeaderChanged to fire in Alertmanager") {
                let response = try await stack.gate.http.execute(.init(url: stack.alertmanager.url + "/api/v2/alerts?active=true"))
                return response.bodyText.contains("UpgradeEtcdLeaderChanged")
            }
            let opened = try await stack.gate.call(
                "POST",
                "/api/v1/windows",
                body: #"{"name":"cert-manager","component":"cert-manager","checks":["prometheus-up"]}"#
            )
            #expect(opened.status == 201, "\(opened)")
            let baselineAlerts = (opened.json["baseline"] as? [String: Any])?["alerts"] as? [[String: Any]] ?? []
            #expect(
                baselineAlerts.contains { ($0["labels"] as? [String: String])?["alertname"] == "UpgradeEtcdLeaderChanged" },
                "the firing alert is part of the pinned baseline: \(opened)"
            )
            let notificationsAtOpen = try await acceptedNotifications(stack)
            try await stack.gate.waitForVerdict("cert-manager", "pass")
            // Keep watching while Alertmanager re-sends the old alert: it is baseline, not news.
            try await eventually(timeout: .seconds(30), "Alertmanager to re-send the alert during the window") {
                try await acceptedNotifications(stack) > notificationsAtOpen
            }
            for _ in 0..<6 {
                let gate = try await stack.gate.gate("cert-manager")
                #expect(gate["verdict"] as? String == "pass", "\(gate)")
                #expect((gate["alerts"] as? [Any])?.isEmpty == true, "\(gate)")
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    private func acceptedNotifications(_ stack: Stack) async throws -> Double {
        let metrics = try await stack.gate.call("GET", "/metrics").body
        let line = metrics.split(separator: "\n").first {
            $0.hasPrefix("upgrade_gate_alertmanager_notifications_total") && $0.contains("outcome=\"accepted\"")
        }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
    }
}
