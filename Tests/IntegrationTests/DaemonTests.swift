import Foundation
import GateTestKit
import Testing

/// The real daemon over HTTP on loopback, judging a real Prometheus that scrapes controllable
/// exporters every second.
@Suite struct DaemonTests {
    struct Stack {
        let api: Exporter
        let worker: Exporter
        let prometheus: PrometheusServer
        let gate: GateDaemon

        static func run(
            failAfter: Int = 1,
            soak: String = "4s",
            interval: String = "1s",
            extra: String = "",
            checks: String? = nil,
            _ body: (Stack) async throws -> Void
        ) async throws {
            let api = try await Exporter.start(["demo_error_ratio": 0.1, "demo_restarts_total": 3])
            let worker = try await Exporter.start(["demo_queue_depth": 1])
            let prometheus = try await PrometheusServer.start(targets: [api.target, worker.target])
            try await prometheus.waitFor("count_over_time(up{job=\"demo\"}[10s]) >= 3") { $0.count == 2 }
            let config = """
                prometheus:
                  url: \(prometheus.url)
                  timeout: 2s
                evaluation:
                  interval: \(interval)
                  warmup: 0s
                  failAfter: \(failAfter)
                baseline:
                  lookback: 3s
                windows:
                  soak: \(soak)
                  duration: 1h
                checks:
                \(checks ?? Self.defaultChecks)
                \(extra)
                """
            let gate: GateDaemon
            do {
                gate = try await GateDaemon.start(config: config)
            } catch {
                await prometheus.stop()
                throw error
            }
            let stack = Stack(api: api, worker: worker, prometheus: prometheus, gate: gate)
            try await withTeardown({ try await body(stack) }, teardown: { await stack.stop() })
        }

        static let defaultChecks = """
              - name: targets-up
                query: up{job="{{job}}"}
                min: 1
              - name: restarts
                query: demo_restarts_total{job="{{job}}"}
                counter: true
                maxIncrease: 1
              - name: error-ratio
                query: demo_error_ratio{job="{{job}}"}
                maxIncrease: 50%
                critical: false
            """

        func stop() async {
            await gate.stop()
            await prometheus.stop()
            await api.stop()
            await worker.stop()
        }

        /// Opens a window watching job `demo`.
        func open(_ name: String, extra: String = "") async throws -> GateDaemon.Answer {
            try await gate.call(
                "POST",
                "/api/v1/windows",
                body:
                    #"{"name":"\#(name)","component":"cert-manager","fromVersion":"v1.12.3","toVersion":"v1.12.4","labels":{"job":"demo"}\#(extra)}"#
            )
        }
    }

    @Test func opensPendingWithPinnedBaselineThenPassesAfterSoak() async throws {
        try await Stack.run { stack in
            let opened = try await stack.open("cert-manager")
            #expect(opened.status == 201, "\(opened)")
            let baseline = opened.json["baseline"] as? [String: Any]
            let checks = baseline?["checks"] as? [String: [[String: Any]]]
            #expect(checks?["targets-up"]?.count == 2, "the baseline has both targets: \(opened)")
            #expect((checks?["restarts"]?.first?["value"] as? Double) == 3, "a counter's baseline is its value at open")
            #expect(opened.json["soak"] as? String == "4s")
            // The open answer itself carries the first gate body: a later poll could already be past the 4 s soak on a
            // loaded machine.
            let first = opened.json["gate"] as? [String: Any] ?? [:]
            #expect(opened.json["verdict"] as? String == "pending", "\(opened)")
            #expect(first["verdict"] as? String == "pending", "\(first)")
            #expect(first["healthy"] as? Bool == true)
            try await stack.gate.waitForVerdict("cert-manager", "pass")
            let passed = try await stack.gate.gate("cert-manager")
            #expect(passed["pass"] as? Bool == true)
            #expect(passed["soakRemaining"] as? String == "0s")
        }
    }

    @Test func failsAfterABreakAndTheGateLogSaysWhy() async throws {
        try await Stack.run { stack in
            #expect(try await stack.open("ingress").status == 201)
            try await stack.gate.waitForVerdict("ingress", "pass")
            stack.worker.setHealthy(false)
            try await stack.prometheus.waitFor("up{instance=\"\(stack.worker.target)\"} == 0") { $0.count == 1 }
            let visible = ContinuousClock.now
            try await stack.gate.waitForVerdict("ingress", "fail")
            // Benchmark target: break visible in Prometheus → fail within one interval + 250 ms (reported, not asserted).
            print("break visible in Prometheus → gate fail: \(visible.duration(to: .now)) (interval 1s, failAfter 1)")
            let gate = try await stack.gate.gate("ingress")
            #expect(gate["healthy"] as? Bool == false)
            let check = (gate["checks"] as? [[String: Any]])?.first { $0["name"] as? String == "targets-up" }
            #expect(check?["status"] as? String == "fail", "\(gate)")
            let series = (check?["series"] as? [[String: Any]])?.first
            #expect((series?["labels"] as? [String: String])?["instance"] == stack.worker.target)
            #expect(series?["value"] as? Double == 0)
            #expect(series?["baseline"] as? Double == 1)
            #expect(series?["rule"] as? String == "min 1")
            // The gate log: one line for the verdict change naming check, series, value, baseline, rule, reason.
            let line = try #require(stack.gate.logLines.first { ($0["msg"] as? String)?.contains("→ fail") == true }, "\(stack.gate.log)")
            #expect(line["gate.window"] as? String == "ingress")
            #expect(line["gate.verdict"] as? String == "fail")
            let failing = try #require(line["gate.checks"] as? [[String: Any]])
            let entry = try #require(failing.first { $0["check"] as? String == "targets-up" })
            #expect((entry["series"] as? String)?.contains(stack.worker.target) == true)
            #expect(entry["value"] as? String == "0")
            #expect(entry["baseline"] as? String == "1")
            #expect(entry["rule"] as? String == "min 1")
            #expect((entry["reason"] as? String)?.contains("below min 1") == true)
        }
    }

    @Test func failIsStickyUntilAnOperatorResetsIt() async throws {
        try await Stack.run { stack in
            #expect(try await stack.open("istio").status == 201)
            stack.api.set("demo_restarts_total", 9)
            try await stack.gate.waitForVerdict("istio", "fail")
            // The restarts stop and the counter is judged... still 6 above the value at open.
            // Make every check clean again instead: the worker is fine, and we reset the baseline's view
            // by bringing the counter back down (a reset counts the current value: 1 ≤ maxIncrease 1).
            stack.api.set("demo_restarts_total", 1)
            try await stack.prometheus.waitFor("demo_restarts_total == 1") { $0.count == 1 }
            try await Task.sleep(for: .seconds(3))
            let still = try await stack.gate.gate("istio")
            #expect(still["verdict"] as? String == "fail", "fail never flips back on its own: \(still)")
            let unauthorized = try await stack.gate.call("POST", "/api/v1/windows/istio/reset", token: .some(nil))
            #expect(unauthorized.status == 401)
            let reset = try await stack.gate.call("POST", "/api/v1/windows/istio/reset", body: #"{"reason":"restarts were the planned rollout"}"#)
            #expect(reset.status == 200, "\(reset)")
            try await stack.gate.waitForVerdict("istio", "pass")
            let events = try await stack.gate.call("GET", "/api/v1/windows/istio/events").json["events"] as? [[String: Any]] ?? []
            let resetEvent = try #require(events.first { $0["kind"] as? String == "reset" })
            #expect(resetEvent["from"] as? String == "fail")
            #expect((resetEvent["message"] as? String)?.contains("planned rollout") == true)
            #expect(events.first?["kind"] as? String != "opened", "events come newest first")
        }
    }

    @Test func prometheusOutageIsInconclusiveNeverPass() async throws {
        try await Stack.run(soak: "1s") { stack in
            #expect(try await stack.open("argo-cd").status == 201)
            try await stack.gate.waitForVerdict("argo-cd", "pass")
            await stack.prometheus.process.stop()
            try await stack.gate.waitForVerdict("argo-cd", "inconclusive")
            for _ in 0..<5 {
                let gate = try await stack.gate.gate("argo-cd")
                #expect(gate["verdict"] as? String == "inconclusive")
                #expect(gate["pass"] as? Bool == false)
                try await Task.sleep(for: .milliseconds(500))
            }
            let gate = try await stack.gate.gate("argo-cd")
            #expect((gate["reasons"] as? [String])?.first?.contains("unreachable") == true, "\(gate)")
            #expect(stack.gate.logLines.contains { $0["level"] as? String == "warning" && ($0["msg"] as? String)?.contains("no evidence") == true })
        }
    }

    @Test func killNineAndRestartKeepsBaselineStreaksAndVerdict() async throws {
        try await Stack.run(failAfter: 1000) { stack in
            #expect(try await stack.open("prometheus").status == 201)
            stack.worker.setHealthy(false)
            try await stack.prometheus.waitFor("up{instance=\"\(stack.worker.target)\"} == 0") { $0.count == 1 }
            try await eventually("a failing streak of at least 2") {
                (try await stack.gate.call("GET", "/api/v1/windows/prometheus").json["streaks"] as? [String: Int])?["targets-up"] ?? 0 >= 2
            }
            let before = try await stack.gate.call("GET", "/api/v1/windows/prometheus").json
            let streakBefore = (before["streaks"] as? [String: Int])?["targets-up"] ?? 0
            stack.gate.kill9()
            try await stack.gate.launch()
            let after = try await stack.gate.call("GET", "/api/v1/windows/prometheus").json
            #expect(after["id"] as? String == before["id"] as? String)
            #expect(
                NSDictionary(dictionary: after["baseline"] as? [String: Any] ?? [:]).isEqual(to: before["baseline"] as? [String: Any] ?? ["": 0]),
                "the pinned baseline survives kill -9"
            )
            #expect(((after["streaks"] as? [String: Int])?["targets-up"] ?? 0) >= streakBefore, "the streak survives kill -9")
            try await eventually("the streak to keep counting from where it was") {
                (try await stack.gate.call("GET", "/api/v1/windows/prometheus").json["streaks"] as? [String: Int])?["targets-up"] ?? 0 > streakBefore
            }
        }
    }

    @Test func stickyFailSurvivesKillNine() async throws {
        try await Stack.run { stack in
            #expect(try await stack.open("velero").status == 201)
            stack.worker.setHealthy(false)
            try await stack.gate.waitForVerdict("velero", "fail")
            stack.worker.setHealthy(true)
            stack.gate.kill9()
            try await stack.gate.launch()
            let gate = try await stack.gate.gate("velero")
            #expect(gate["verdict"] as? String == "fail", "\(gate)")
            try await Task.sleep(for: .seconds(2))
            #expect(try await stack.gate.gate("velero")["verdict"] as? String == "fail")
        }
    }

    @Test func sigtermShutsDownGracefullyAndKeepsState() async throws {
        try await Stack.run { stack in
            #expect(try await stack.open("flux").status == 201)
            let status = await stack.gate.terminate()
            #expect(status == 0, "clean exit on SIGTERM: \(stack.gate.log.suffix(2000))")
            try await stack.gate.launch()
            #expect(try await stack.gate.call("GET", "/api/v1/windows/flux").status == 200)
        }
    }

    @Test func closeRecordsFinalVerdictAndWindowNameCanBeReused() async throws {
        try await Stack.run(soak: "1s") { stack in
            #expect(try await stack.open("linkerd").status == 201)
            try await stack.gate.waitForVerdict("linkerd", "pass")
            let closed = try await stack.gate.call("POST", "/api/v1/windows/linkerd/close")
            #expect(closed.status == 200, "\(closed)")
            #expect(closed.json["state"] as? String == "closed")
            #expect(closed.json["verdict"] as? String == "pass")
            let gate = try await stack.gate.gate("linkerd")
            #expect(gate["state"] as? String == "closed")
            #expect(gate["verdict"] as? String == "pass", "pollers still read the final verdict")
            let again = try await stack.open("linkerd")
            #expect(again.status == 201, "a closed window's name can be reused: \(again)")
            #expect(again.json["id"] as? String != closed.json["id"] as? String)
        }
    }

    @Test func windowClosesItselfWhenItsDurationEnds() async throws {
        try await Stack.run(soak: "1s") { stack in
            #expect(try await stack.open("cilium", extra: #","duration":"3s""#).status == 201)
            try await eventually(timeout: .seconds(60), "the window to close itself") {
                try await stack.gate.gate("cilium")["state"] as? String == "closed"
            }
            let detail = try await stack.gate.call("GET", "/api/v1/windows/cilium").json
            #expect(detail["closeReason"] as? String == "duration ended")
            #expect(detail["verdict"] as? String == "pass")
        }
    }

    @Test func statusPrintsATableForPeople() async throws {
        try await Stack.run { stack in
            #expect(try await stack.open("kyverno").status == 201)
            stack.worker.setHealthy(false)
            try await stack.gate.waitForVerdict("kyverno", "fail")
            let list = try await runGate(["status", "--url", stack.gate.url])
            #expect(list.exitCode == 0, "\(list)")
            #expect(list.stdout.contains("kyverno") && list.stdout.contains("FAIL"), "\(list)")
            let detail = try await runGate(["status", "--url", stack.gate.url, "kyverno"])
            #expect(detail.stdout.contains("targets-up"), "\(detail)")
            #expect(detail.stdout.contains(stack.worker.target), "the failing series is named: \(detail)")
            #expect(detail.stdout.contains("min 1"), "\(detail)")
        }
    }
}
