import Testing

@testable import GateCore

/// One row: a situation, the exact sentence an on-call engineer reads, and the parts it must name.
struct ReasonCase: Sendable, CustomTestStringConvertible {
    var name: String
    var spec: CheckSpec
    var evidence: Evidence
    var baseline: [BaselineSeries]
    var sentence: String
    /// Labels, value, baseline and rule as they must appear in the sentence.
    var mustName: [String]
    var testDescription: String { name }
}

private let errorRatio = CheckSpec(name: "apiserver-error-ratio", query: "q", max: 0.05, maxIncrease: .percent(50), floor: 0.001)
private let leaderChanges = CheckSpec(name: "etcd-leader-changes", query: "q", maxIncrease: .absolute(1), counter: true)
private let etcd = labels(["instance": "127.0.0.1:2379"])

@Suite struct ReasonSentences {
    static let cases: [ReasonCase] = [
        .init(
            name: "above max",
            spec: errorRatio,
            evidence: one(Labels(), 0.09),
            baseline: [baseline(Labels(), 0.01)],
            sentence: #"check "apiserver-error-ratio": series {} value 0.09 is above max 0.05 (baseline 0.01)"#,
            mustName: ["{}", "0.09", "baseline 0.01", "max 0.05"]
        ),
        .init(
            name: "percent increase",
            spec: errorRatio,
            evidence: one(Labels(), 0.02),
            baseline: [baseline(Labels(), 0.01)],
            sentence: #"check "apiserver-error-ratio": series {} value 0.02 rose 100% over baseline 0.01 (maxIncrease 50%)"#,
            mustName: ["{}", "0.02", "baseline 0.01", "maxIncrease 50%"]
        ),
        .init(
            name: "percent increase over a zero baseline",
            spec: errorRatio,
            evidence: one(Labels(), 0.002),
            baseline: [baseline(Labels(), 0)],
            sentence: #"check "apiserver-error-ratio": series {} value 0.002 rose from baseline 0, an unbounded increase (maxIncrease 50%)"#,
            mustName: ["{}", "0.002", "baseline 0", "maxIncrease 50%"]
        ),
        .init(
            name: "absolute increase shows the delta without float noise",
            spec: CheckSpec(name: "latency", query: "q", maxIncrease: .absolute(0.05)),
            evidence: one(labels(["route": "/"]), 0.3),
            baseline: [baseline(labels(["route": "/"]), 0.2)],
            sentence: #"check "latency": series {route="/"} value 0.3 rose by 0.1 over baseline 0.2 (maxIncrease 0.05)"#,
            mustName: [#"{route="/"}"#, "0.3", "baseline 0.2", "maxIncrease 0.05"]
        ),
        .init(
            name: "percent decrease",
            spec: CheckSpec(name: "ready-replicas", query: "q", maxDecrease: .percent(20)),
            evidence: one(labels(["deployment": "web"]), 2),
            baseline: [baseline(labels(["deployment": "web"]), 3)],
            sentence: #"check "ready-replicas": series {deployment="web"} value 2 fell 33.3333% below baseline 3 (maxDecrease 20%)"#,
            mustName: [#"{deployment="web"}"#, "value 2", "baseline 3", "maxDecrease 20%"]
        ),
        .init(
            name: "absolute decrease",
            spec: CheckSpec(name: "ready-replicas", query: "q", maxDecrease: .absolute(1)),
            evidence: one(Labels(), 1),
            baseline: [baseline(Labels(), 3)],
            sentence: #"check "ready-replicas": series {} value 1 fell by 2 below baseline 3 (maxDecrease 1)"#,
            mustName: ["{}", "value 1", "baseline 3", "maxDecrease 1"]
        ),
        .init(
            name: "below min of a new series",
            spec: CheckSpec(name: "critical-targets-up", query: "up", min: 1),
            evidence: one(labels(["instance": "a", "job": "b"]), 0),
            baseline: [],
            sentence: #"check "critical-targets-up": series {instance="a", job="b"} value 0 is below min 1 (new series, no baseline)"#,
            mustName: [#"{instance="a", job="b"}"#, "value 0", "no baseline", "min 1"]
        ),
        .init(
            name: "counter increase",
            spec: leaderChanges,
            evidence: one(etcd, 5),
            baseline: [baseline(etcd, 2)],
            sentence: #"check "etcd-leader-changes": series {instance="127.0.0.1:2379"} increased by 3 since the window opened "#
                + "(2 at open, 5 now; maxIncrease 1)",
            mustName: [#"{instance="127.0.0.1:2379"}"#, "increased by 3", "2 at open", "5 now", "maxIncrease 1"]
        ),
        .init(
            name: "counter increase after a reset",
            spec: leaderChanges,
            evidence: one(etcd, 3),
            baseline: [baseline(etcd, 7)],
            sentence: #"check "etcd-leader-changes": series {instance="127.0.0.1:2379"} increased by 3 since the window opened "#
                + "(7 at open, 3 now after a counter reset; maxIncrease 1)",
            mustName: ["increased by 3", "7 at open", "3 now", "counter reset", "maxIncrease 1"]
        ),
        .init(
            name: "counter percent increase",
            spec: CheckSpec(name: "restarts", query: "q", maxIncrease: .percent(50), counter: true),
            evidence: one(Labels(), 16),
            baseline: [baseline(Labels(), 10)],
            sentence: #"check "restarts": series {} increased by 6 (60% of its value at open) since the window opened "#
                + "(10 at open, 16 now; maxIncrease 50%)",
            mustName: ["{}", "increased by 6", "10 at open", "16 now", "maxIncrease 50%"]
        ),
        .init(
            name: "counter below min",
            spec: CheckSpec(name: "heartbeats", query: "q", min: 1, counter: true),
            evidence: one(Labels(), 5),
            baseline: [baseline(Labels(), 5)],
            sentence: #"check "heartbeats": series {} increased by 0 since the window opened (5 at open, 5 now; below min 1)"#,
            mustName: ["{}", "increased by 0", "5 at open", "5 now", "min 1"]
        ),
        .init(
            name: "new counter series above max",
            spec: CheckSpec(name: "oom-kills", query: "q", max: 2, counter: true),
            evidence: one(labels(["pod": "p"]), 3),
            baseline: [],
            sentence: #"check "oom-kills": series {pod="p"} increased by 3 since the window opened (new series, 3 now; above max 2)"#,
            mustName: [#"{pod="p"}"#, "increased by 3", "new series", "max 2"]
        ),
        .init(
            name: "missing series",
            spec: CheckSpec(name: "critical-targets-up", query: "up", min: 1),
            evidence: one(labels(["instance": "b", "job": "b"]), 1),
            baseline: [baseline(labels(["instance": "a", "job": "b"]), 1), baseline(labels(["instance": "b", "job": "b"]), 1)],
            sentence: #"check "critical-targets-up": series {instance="a", job="b"} was in the baseline (value 1) and is missing now "#
                + "(missingSeries: fail)",
            mustName: [#"{instance="a", job="b"}"#, "value 1", "baseline", "missingSeries: fail"]
        ),
        .init(
            name: "NaN value",
            spec: CheckSpec(name: "apiserver-error-ratio", query: "q", max: 0.05, noData: .inconclusive),
            evidence: one(Labels(), .nan),
            baseline: [baseline(Labels(), 0.01)],
            sentence: #"check "apiserver-error-ratio": series {} value is NaN (e.g. 0/0 with no traffic), judged as no data "#
                + "(baseline 0.01; noData: inconclusive)",
            mustName: ["{}", "NaN", "baseline 0.01", "noData: inconclusive"]
        ),
        .init(
            name: "no data",
            spec: CheckSpec(name: "critical-targets-up", query: "up", min: 1, noData: .fail),
            evidence: .series([]),
            baseline: [],
            sentence: #"check "critical-targets-up": query returned no series (the baseline had no series either; noData: fail)"#,
            mustName: ["no series", "baseline", "noData: fail"]
        ),
    ]

    @Test(arguments: cases)
    func reasonNamesCheckSeriesValueBaselineAndRule(_ row: ReasonCase) {
        let outcome = judge(row.spec, evidence: row.evidence, baseline: row.baseline)
        let reason = outcome.reasons.first ?? ""
        #expect(outcome.reasons.count == 1)
        #expect(reason == row.sentence)
        #expect(reason.hasPrefix("check \"\(row.spec.name)\": "))
        for part in row.mustName {
            #expect(reason.contains(part), "missing \(part)")
        }
        #expect(outcome.series.first?.reason == reason)
    }

    static let significantDigitCases: [(Double, String)] = [
        (100.00000000000001, "100"), (33.333333333333336, "33.3333"), (0.30000000000000004, "0.3"), (1234567.8, "1234570"),
        (-0.000123456789, "-0.000123457"), (0, "0"), (.infinity, "+Inf"),
    ]

    @Test(arguments: significantDigitCases)
    func derivedNumbersAreRoundedToSixSignificantDigits(_ value: Double, _ text: String) {
        #expect(displayNumber(value) == text)
    }
}
