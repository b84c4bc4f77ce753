import Foundation
import GateCore
import Testing

/// `upgrade-gate check` against a real Prometheus scraping two controllable exporters every second:
/// a baseline pinned while everything is healthy, then a change, then the verdict the CLI reaches.
@Suite struct CheckCommandTests {
    /// Two targets (`api`, `worker`) and the series the checks below look at.
    struct Stack {
        let api: Exporter
        let worker: Exporter
        let prometheus: PrometheusServer
        let directory: TemporaryDirectory
        /// When the baseline ends: a moment when everything was healthy.
        let baselineAt: Double

        static func start(api metrics: [String: Double] = Stack.healthyAPI) async throws -> Stack {
            let api = try await Exporter.start(metrics)
            let worker = try await Exporter.start(["demo_queue_depth{queue=\"w\"}": 1])
            let prometheus = try await PrometheusServer.start(targets: [api.target, worker.target])
            // A baseline needs history: wait until both targets are up and have a few seconds of samples.
            try await prometheus.waitFor("count_over_time(up{job=\"demo\"}[10s]) >= 3") { $0.count == 2 }
            let baselineAt = Date().timeIntervalSince1970
            return Stack(api: api, worker: worker, prometheus: prometheus, directory: try TemporaryDirectory(), baselineAt: baselineAt)
        }

        static let healthyAPI: [String: Double] = [
            "demo_error_ratio": 0.1,
            "demo_quiet_error_ratio": 0,
            "demo_restarts_total": 3,
            "demo_queue_depth{queue=\"a\"}": 5,
            "demo_queue_depth{queue=\"b\"}": 7,
        ]

        /// Writes a config whose checks are `checks` (YAML list items) and returns its path.
        func config(_ checks: String, prometheusURL: String? = nil) throws -> String {
            try directory.write(
                "gate.yaml",
                """
                # A one-shot check serves nothing; auth is required in every config, so it is off on loopback.
                listen: 127.0.0.1:0
                auth: {disabled: true}
                prometheus:
                  url: \(prometheusURL ?? prometheus.url)
                  timeout: 3s
                evaluation:
                  interval: 1s
                baseline:
                  lookback: 3s
                  aggregate: mean
                checks:
                \(checks)
                """
            )
        }

        func check(_ checks: String, output: String = "table", extra: [String] = []) async throws -> GateRun {
            try await runGate(
                ["check", "--config", try config(checks), "--baseline-at", String(Int(baselineAt)), "--output", output, "--label", "job=demo"]
                    + extra
            )
        }

        /// Starts a stack, runs `body`, and stops every process whatever `body` did.
        static func run(_ body: (Stack) async throws -> Void) async throws {
            let stack = try await start()
            try await withTeardown({ try await body(stack) }, teardown: { await stack.stop() })
        }

        func stop() async {
            await prometheus.stop()
            await api.stop()
            await worker.stop()
        }
    }

    static let targetsUp = """
          - name: critical-targets-up
            query: up{job="{{job}}"}
            min: 1
            missingSeries: fail
        """

    @Test func passesWhenNothingChanged() async throws {
        try await Stack.run { stack in
            let run = try await stack.check(Self.targetsUp)
            #expect(run.exitCode == 0, "\(run)")
            #expect(run.stdout.contains("PASS"), "\(run)")
            #expect(run.stdout.contains("critical-targets-up"), "\(run)")
        }
    }

    @Test func failsWhenATargetGoesDown() async throws {
        try await Stack.run { stack in
            stack.worker.setHealthy(false)
            try await stack.prometheus.waitFor("up{instance=\"\(stack.worker.target)\"} == 0") { $0.count == 1 }
            let run = try await stack.check(Self.targetsUp)
            #expect(run.exitCode == 1, "\(run)")
            #expect(run.stdout.contains("FAIL"), "\(run)")
            #expect(run.stdout.contains(stack.worker.target), "the failure names the series: \(run)")
            #expect(run.stdout.contains("below min 1"), "\(run)")
        }
    }

    @Test func failsWhenASeriesVanishesFromTheBaseline() async throws {
        try await Stack.run { stack in
            stack.api.remove("demo_queue_depth{queue=\"b\"}")
            try await stack.prometheus.waitFor("demo_queue_depth") { $0.count == 2 }
            let run = try await stack.check(
                """
                  - name: queues
                    query: demo_queue_depth
                    max: 100
                    missingSeries: fail
                """,
                output: "json"
            )
            #expect(run.exitCode == 1, "\(run)")
            let report = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
            #expect(report?["verdict"] as? String == "fail")
            let checks = report?["checks"] as? [[String: Any]]
            let series = checks?.first?["series"] as? [[String: Any]]
            let broken = series?.first { ($0["labels"] as? [String: String])?["queue"] == "b" }
            #expect(broken?["rule"] as? String == "missingSeries fail", "\(run)")
            #expect((broken?["reason"] as? String)?.contains("missing") == true, "\(run)")
            #expect(broken?["baseline"] as? Double == 7)
        }
    }

    @Test func failsWhenACounterIncreasesPastItsRule() async throws {
        try await Stack.run { stack in
            stack.api.set("demo_restarts_total", 6)
            try await stack.prometheus.waitFor("demo_restarts_total == 6") { $0.count == 1 }
            let run = try await stack.check(
                """
                  - name: restarts
                    query: demo_restarts_total{job="{{job}}"}
                    counter: true
                    maxIncrease: 1
                """
            )
            #expect(run.exitCode == 1, "\(run)")
            #expect(run.stdout.contains("increased by 3"), "\(run)")
        }
    }

    @Test func counterResetIsJudgedAsItsCurrentValue() async throws {
        try await Stack.run { stack in
            // The process restarted: the counter went from 3 back to 1. One restart, within the rule.
            stack.api.set("demo_restarts_total", 1)
            try await stack.prometheus.waitFor("demo_restarts_total == 1") { $0.count == 1 }
            let run = try await stack.check(
                """
                  - name: restarts
                    query: demo_restarts_total{job="{{job}}"}
                    counter: true
                    maxIncrease: 1
                """
            )
            #expect(run.exitCode == 0, "\(run)")
        }
    }

    @Test func failsWhenTheErrorRatioRisesPastItsRelativeRule() async throws {
        try await Stack.run { stack in
            stack.api.set("demo_error_ratio", 0.2)
            try await stack.prometheus.waitFor("demo_error_ratio == 0.2") { $0.count == 1 }
            let run = try await stack.check(
                """
                  - name: error-ratio
                    query: demo_error_ratio{job="{{job}}"}
                    maxIncrease: 50%
                    floor: 0.001
                """
            )
            #expect(run.exitCode == 1, "\(run)")
            #expect(run.stdout.contains("maxIncrease 50%"), "\(run)")
            #expect(run.stdout.contains("0.1"), "the baseline is shown: \(run)")
        }
    }

    @Test func zeroBaselineIsKeptQuietByFloor() async throws {
        try await Stack.run { stack in
            stack.api.set("demo_quiet_error_ratio", 0.0005)
            try await stack.prometheus.waitFor("demo_quiet_error_ratio > 0") { $0.count == 1 }
            let quiet = try await stack.check(
                """
                  - name: quiet-error-ratio
                    query: demo_quiet_error_ratio{job="{{job}}"}
                    maxIncrease: 50%
                    floor: 0.001
                """
            )
            #expect(quiet.exitCode == 0, "below the floor a zero baseline stays quiet: \(quiet)")
            // Without the floor, any rise over a zero baseline is an infinite increase.
            let loud = try await stack.check(
                """
                  - name: quiet-error-ratio
                    query: demo_quiet_error_ratio{job="{{job}}"}
                    maxIncrease: 50%
                """
            )
            #expect(loud.exitCode == 1, "\(loud)")
        }
    }

    @Test func nonCriticalBreakWarnsButDoesNotFail() async throws {
        try await Stack.run { stack in
            stack.api.set("demo_error_ratio", 0.9)
            try await stack.prometheus.waitFor("demo_error_ratio == 0.9") { $0.count == 1 }
            let run = try await stack.check(
                """
                  - name: error-ratio
                    query: demo_error_ratio{job="{{job}}"}
                    max: 0.5
                    critical: false
                """
            )
            #expect(run.exitCode == 0, "\(run)")
            #expect(run.stdout.contains("WARN"), "\(run)")
        }
    }

    @Test func stoppedPrometheusIsInconclusiveNeverPass() async throws {
        try await Stack.run { stack in
            await stack.prometheus.process.stop()
            let run = try await stack.check(Self.targetsUp, output: "json")
            #expect(run.exitCode == 2, "\(run)")
            let report = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
            #expect(report?["verdict"] as? String == "inconclusive")
            #expect((report?["reasons"] as? [String])?.first?.contains("unreachable") == true, "\(run)")
        }
    }

    @Test func queryWithNoDataIsInconclusiveByDefault() async throws {
        try await Stack.run { stack in
            let run = try await stack.check(
                """
                  - name: nothing
                    query: metric_that_does_not_exist
                    max: 1
                """
            )
            #expect(run.exitCode == 2, "\(run)")
        }
    }
}
