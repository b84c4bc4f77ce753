import Testing

@testable import GateConfig
@testable import GateCore

/// `compare` fixtures that must be refused, one problem each (part of `InvalidConfigs.fixtures`).
let compareBadFixtures: [BadFixture] = [
    BadFixture(
        file: "config-compare-without-window.yaml",
        path: "checks[0].compare.window",
        line: 7,
        column: 5,
        kind: .missingKey,
        message: "missing required key: how much recent data to compare, e.g. 10m"
    ),
    BadFixture(
        file: "config-compare-bad-confidence.yaml",
        path: "checks[0].compare.confidence",
        line: 9,
        column: 19,
        kind: .invalidValue,
        message: "must be between 0 and 1 (e.g. 0.95), got 98"
    ),
    BadFixture(
        file: "config-compare-too-many-points.yaml",
        path: "checks[0].compare.step",
        line: 9,
        column: 13,
        kind: .invalidValue,
        message: "window 4h at step 1s is 14401 points per series, above Prometheus's limit of 11000; use a longer step or a shorter window"
    ),
    BadFixture(
        file: "config-compare-both-none.yaml",
        path: "checks[0].compare",
        line: 7,
        column: 5,
        kind: .conflict,
        message: "allowedIncrease and allowedDecrease are both none, so the comparison could never fail; allow a finite change in one direction"
    ),
    BadFixture(
        file: "config-compare-without-allowance.yaml",
        path: "checks[0].compare",
        line: 7,
        column: 5,
        kind: .missingKey,
        message: "compare needs allowedIncrease or allowedDecrease (e.g. allowedIncrease: 10%), else it could never fail"
    ),
    BadFixture(
        file: "config-compare-on-counter.yaml",
        path: "checks[0].compare",
        line: 8,
        column: 5,
        kind: .conflict,
        message: "compare judges the samples themselves, and a counter's samples only grow; compare a rate() query instead of counter: true"
    ),
    BadFixture(
        file: "config-compare-unknown-test.yaml",
        path: "checks[0].compare.test",
        line: 8,
        column: 13,
        kind: .invalidValue,
        message: "expected one of mannWhitney; got \"tTest\""
    ),
    BadFixture(
        file: "config-compare-window-below-min-samples.yaml",
        path: "checks[0].compare.window",
        line: 8,
        column: 15,
        kind: .conflict,
        message: "window 1m at step 15s gives at most 5 samples, fewer than minSamples 20: every comparison would be inconclusive"
    ),
]

@Suite struct CompareConfigTests {
    @Test func specExampleParsesWithEveryKey() throws {
        let yaml = """
            prometheus: {url: http://prometheus:9090}
            checks:
              - name: apiserver-latency-p99
                query: histogram_quantile(0.99, sum by (le, verb) (rate(apiserver_request_duration_seconds_bucket[1m])))
                compare:
                  test: mannWhitney
                  window: 10m
                  step: 15s
                  confidence: 0.98
                  allowedIncrease: 10%
                  allowedDecrease: none
                  minSamples: 20
                critical: true
            """
        let check = try GateConfigLoader.parse(yaml: withAuth(yaml)).checks[0]
        #expect(
            check.compare
                == CompareSpec(
                    test: .mannWhitney,
                    window: 600,
                    step: 15,
                    confidence: 0.98,
                    allowedIncrease: .percent(10),
                    allowedDecrease: nil,
                    minSamples: 20
                )
        )
        // The compare block reaches the check a window judges.
        #expect(try check.spec(labels: [:]).compare == check.compare)
    }

    @Test func stepDefaultsToTheEvaluationIntervalAndTheRestToDocumentedValues() throws {
        let yaml = """
            prometheus: {url: http://prometheus:9090}
            evaluation: {interval: 30s}
            checks:
              - name: queue
                query: demo_queue_depth
                compare: {window: 20m, allowedDecrease: "0.5"}
            """
        let compare = try #require(try GateConfigLoader.parse(yaml: withAuth(yaml)).checks[0].compare)
        #expect(compare.step == 30)
        #expect(compare.confidence == 0.95)
        #expect(compare.minSamples == 20)
        #expect(compare.allowedIncrease == nil)
        #expect(compare.allowedDecrease == .absolute(0.5))
    }

    @Test func aLongBaselineAtAShortStepIsTooManyPoints() {
        let yaml = """
            prometheus: {url: http://prometheus:9090}
            baseline: {lookback: 4h}
            checks:
              - name: queue
                query: demo_queue_depth
                compare: {window: 10m, step: 1s, allowedIncrease: 10%}
            """
        let errors = parseErrors(yaml)
        #expect(errors.map(\.path) == ["checks[0].compare.step"])
        #expect(errors.first?.message.contains("baseline.lookback 4h at step 1s is 14401 points") == true, "\(errors)")
    }

    @Test func compareAloneIsARule() throws {
        let yaml = "prometheus: {url: http://p:9090}\nchecks:\n  - {name: c, query: q, compare: {window: 10m, allowedIncrease: 5%}}\n"
        #expect(try GateConfigLoader.parse(yaml: withAuth(yaml)).checks.count == 1)
    }
}
