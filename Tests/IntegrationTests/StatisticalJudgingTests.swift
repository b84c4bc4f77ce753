import Foundation
import GateCore
import GateTestKit
import Synchronization
import Testing

/// Statistical judging end to end: a real Prometheus scrapes an exporter serving seeded noise every 250 ms; the
/// daemon pins a baseline, one series then shifts by +30 % while another stays pure noise with the same spread.
@Suite struct StatisticalJudgingTests {
    static let shifted = "demo_latency_seconds{case=\"shift\"}"
    static let steady = "demo_latency_seconds{case=\"steady\"}"

    /// The same query judged two ways: the Mann-Whitney comparison (critical) and a 10 % threshold (warning only,
    /// so its flapping is visible without failing the window).
    static let checks = """
          - name: latency-compare
            query: demo_latency_seconds{job="noise", case="{{case}}"}
            compare:
              test: mannWhitney
              window: 8s
              step: 250ms
              confidence: 0.98
              allowedIncrease: 10%
              allowedDecrease: none
              minSamples: 25
          - name: latency-threshold
            query: demo_latency_seconds{job="noise", case="{{case}}"}
            maxIncrease: 10%
            critical: false
        """

    struct Stack {
        let exporter: Exporter
        let prometheus: PrometheusServer
        let gate: GateDaemon

        static func run(_ body: (Stack) async throws -> Void) async throws {
            let exporter = try await Exporter.start()
            // 100 ms ± 20 ms, uniform: noisy enough that a 10 % threshold on single values flaps.
            exporter.setNoise(StatisticalJudgingTests.shifted, center: 0.1, spread: 0.02, seed: 1)
            exporter.setNoise(StatisticalJudgingTests.steady, center: 0.1, spread: 0.02, seed: 2)
            // A second job scraping every 250 ms gives many samples in a few seconds of test time.
            let prometheus = try await PrometheusServer.start(
                targets: [exporter.target],
                extraScrapeConfigs: """
                      - job_name: noise
                        scrape_interval: 250ms
                        scrape_timeout: 240ms
                        static_configs:
                          - targets: ['\(exporter.target)']

                    """
            )
            // The baseline range (15s at 250ms) must be full of samples before a window opens.
            try await prometheus.waitFor("count_over_time(demo_latency_seconds{job=\"noise\"}[15s]) >= 55", timeout: .seconds(60)) {
                $0.count == 2
            }
            let config = """
                prometheus:
                  url: \(prometheus.url)
                  timeout: 2s
                evaluation:
                  interval: 1s
                  warmup: 0s
                  failAfter: 2
                baseline:
                  lookback: 15s
                windows:
                  soak: 10s
                  duration: 1h
                checks:
                \(StatisticalJudgingTests.checks)
                """
            let gate: GateDaemon
            do {
                gate = try await GateDaemon.start(config: config)
            } catch {
                await prometheus.stop()
                await exporter.stop()
                throw error
            }
            let stack = Stack(exporter: exporter, prometheus: prometheus, gate: gate)
            try await withTeardown({ try await body(stack) }, teardown: { await stack.stop() })
        }

        func stop() async {
            await gate.stop()
            await prometheus.stop()
            await exporter.stop()
        }

        func open(_ name: String, case label: String) async throws -> GateDaemon.Answer {
            try await gate.call("POST", "/api/v1/windows", body: #"{"name":"\#(name)","labels":{"case":"\#(label)"}}"#)
        }
    }

    /// One check of a gate body, by name.
    static func check(_ gate: [String: Any], _ name: String) -> [String: Any]? {
        (gate["checks"] as? [[String: Any]])?.first { $0["name"] as? String == name }
    }

    @Test func aThirtyPercentShiftFailsWhileNoiseWithTheSameSpreadPassesAndTheThresholdFlaps() async throws {
        try await Stack.run { stack in
            let openedShifted = try await stack.open("shifted", case: "shift")
            #expect(openedShifted.status == 201, "\(openedShifted)")
            let openedSteady = try await stack.open("steady", case: "steady")
            #expect(openedSteady.status == 201, "\(openedSteady)")
            let openedAt = Date().timeIntervalSince1970
            // The upgrade: one series' latency rises 30 %, with the same spread; the other stays as it was.
            stack.exporter.shiftNoise(Self.shifted, center: 0.13)

            // The shifted window fails on the comparison, and its series entry carries the numbers.
            try await stack.gate.waitForVerdict("shifted", "fail", timeout: .seconds(60))
            let failed = try await stack.gate.gate("shifted")
            let compare = try #require(Self.check(failed, "latency-compare"), "\(failed)")
            #expect(compare["status"] as? String == "fail", "\(failed)")
            let series = try #require((compare["series"] as? [[String: Any]])?.first, "\(failed)")
            #expect(series["rule"] as? String == "compare allowedIncrease 10%", "\(series)")
            let reason = try #require(series["reason"] as? String)
            #expect(reason.contains("rose") && reason.contains("98% CI [") && reason.contains("allowed +10%"), "\(reason)")
            let numbers = try #require(series["comparison"] as? [String: Any], "\(series)")
            let lower = try #require(numbers["lower"] as? Double)
            let effect = try #require(numbers["effect"] as? Double)
            #expect(lower > 0, "\(numbers)")
            #expect(effect > 10, "\(numbers)")
            #expect(numbers["allowance"] as? String == "+10%")
            #expect(numbers["recentMedian"] is Double && numbers["baselineMedian"] is Double && numbers["shift"] is Double)
            print("statistical judging e2e, +30% shift: \(reason)")

            // The gate log's verdict line names the failing series with the comparison's numbers.
            let line = stack.gate.logLines.first { ($0["gate.window"] as? String) == "shifted" && ($0["gate.verdict"] as? String) == "fail" }
            let logged = "\(line ?? [:])"
            #expect(logged.contains("compare allowedIncrease 10%") && logged.contains("lower"), "\(logged.prefix(2000))")

            // Pure noise: the threshold on single values flaps (broken at some evaluations), the comparison never
            // fails, and the window passes once its soak is over.
            let evaluations = Mutex<(seen: Set<String>, warned: Int, comparisonFailed: Int)>(([], 0, 0))
            try await eventually(timeout: .seconds(90), "the steady window to pass after the threshold flapped") {
                let gate = try await stack.gate.gate("steady")
                let at = gate["evaluatedAt"] as? String ?? ""
                let threshold = Self.check(gate, "latency-threshold")?["status"] as? String
                let comparison = Self.check(gate, "latency-compare")?["status"] as? String
                let (warned, observed, verdict) = evaluations.withLock { state -> (Int, Int, String?) in
                    if state.seen.insert(at).inserted {
                        if threshold == "warn" { state.warned += 1 }
                        if comparison == "failing" || comparison == "fail" { state.comparisonFailed += 1 }
                    }
                    return (state.warned, state.seen.count, gate["verdict"] as? String)
                }
                #expect(verdict != "fail", "noise must never fail the comparison: \(gate)")
                try await Task.sleep(for: .milliseconds(300))
                // At least 15 evaluations, so both judges are seen on the same stretch of noise.
                return warned > 0 && observed >= 15 && verdict == "pass"
            }
            let seen = evaluations.withLock { $0 }
            #expect(seen.comparisonFailed == 0)
            let steady = try await stack.gate.gate("steady")
            #expect(Self.check(steady, "latency-compare")?["status"] as? String == "pass", "\(steady)")
            print(
                "statistical judging e2e, pure noise: verdict pass; the maxIncrease 10% threshold on the same series broke at "
                    + "\(seen.warned) of \(seen.seen.count) evaluations observed, the comparison at \(seen.comparisonFailed)"
            )

            // The one-shot CLI compares the same way with --window.
            let configPath = try stack.gate.directory.write(
                "check.yaml",
                """
                listen: 127.0.0.1:0
                auth: {disabled: true}
                prometheus:
                  url: \(stack.prometheus.url)
                evaluation:
                  interval: 1s
                baseline:
                  lookback: 15s
                checks:
                \(Self.checks)
                """
            )
            // On a loaded machine a missed scrape can leave no current sample for a moment (inconclusive, exit 2):
            // wait for the verdict the data supports rather than for a lucky instant.
            let last = LastSeen()
            do {
                try await eventually(timeout: .seconds(60), "upgrade-gate check to fail the shifted series") {
                    let run = try await runGate([
                        "check", "--config", configPath, "--baseline-at", String(Int(openedAt)), "--window", "8s", "--label", "case=shift",
                        "--output", "json",
                    ])
                    last.set("\(run)")
                    return run.exitCode == 1 && run.stdout.contains("compare allowedIncrease 10%")
                }
            } catch {
                Issue.record("\(error); last run: \(last.get())")
            }
            #expect(last.get().contains("\"comparison\""), "\(last.get())")
        }
    }
}
