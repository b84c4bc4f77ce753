import Testing

@testable import GateCore

/// One row: a check's rules, one current value and its paired baseline (nil: a new series), and the verdict on it.
struct RuleCase: Sendable, CustomTestStringConvertible {
    var name: String
    var spec: CheckSpec
    var current: Double
    var baseline: Double?
    var result: CheckResult
    /// The rule reported as written in config; nil when the series passes.
    var rule: String? = nil
    /// The judged value (the increase for counters); defaults to `current`.
    var value: Double? = nil
    var testDescription: String { name }

    func run() {
        let base = baseline.map { [BaselineSeries(labels: labels(["pod": "p"]), value: $0, min: $0, max: $0, samples: 1)] } ?? []
        let outcome = judge(spec, evidence: one(labels(["pod": "p"]), current), baseline: base)
        #expect(outcome.result == result)
        #expect(outcome.series.count == 1)
        let series = outcome.series[0]
        #expect(series.result == result)
        #expect(series.rule == rule)
        #expect(series.value == (value ?? current))
        #expect(series.baseline == baseline)
        #expect((series.reason != nil) == (result != .pass))
        #expect(outcome.reasons == (series.reason.map { [$0] } ?? []))
    }
}

private func check(
    min: Double? = nil,
    max: Double? = nil,
    maxIncrease: Delta? = nil,
    maxDecrease: Delta? = nil,
    floor: Double? = nil,
    counter: Bool = false
) -> CheckSpec {
    CheckSpec(name: "c", query: "q", min: min, max: max, maxIncrease: maxIncrease, maxDecrease: maxDecrease, floor: floor, counter: counter)
}

@Suite struct RulesPerSeries {
    static let absoluteCases: [RuleCase] = [
        .init(name: "value below min breaks", spec: check(min: 1), current: 0, baseline: 1, result: .broken, rule: "min 1"),
        .init(name: "value equal to min passes", spec: check(min: 1), current: 1, baseline: 1, result: .pass),
        .init(name: "value above max breaks", spec: check(max: 0.05), current: 0.09, baseline: 0.01, result: .broken, rule: "max 0.05"),
        .init(name: "value equal to max passes", spec: check(max: 0.05), current: 0.05, baseline: 0.01, result: .pass),
        .init(name: "+Inf is above any max", spec: check(max: 1), current: .infinity, baseline: 0.5, result: .broken, rule: "max 1"),
        .init(name: "min is reported before max", spec: check(min: 5, max: 1), current: 3, baseline: 3, result: .broken, rule: "min 5"),
        .init(
            name: "max applies even when the baseline was already above it",
            spec: check(max: 1),
            current: 2,
            baseline: 2,
            result: .broken,
            rule: "max 1"
        ),
        .init(
            name: "absolute bounds are reported before relative rules",
            spec: check(max: 0.05, maxIncrease: .percent(50)),
            current: 0.09,
            baseline: 0.01,
            result: .broken,
            rule: "max 0.05"
        ),
    ]

    @Test(arguments: absoluteCases)
    func absoluteBoundsApplyToTheJudgedValue(_ row: RuleCase) { row.run() }

    static let relativeCases: [RuleCase] = [
        .init(
            name: "rise beyond maxIncrease percent breaks",
            spec: check(maxIncrease: .percent(50)),
            current: 15.5,
            baseline: 10,
            result: .broken,
            rule: "maxIncrease 50%"
        ),
        .init(
            name: "rise to exactly maxIncrease percent passes",
            spec: check(maxIncrease: .percent(50)),
            current: 15,
            baseline: 10,
            result: .pass
        ),
        .init(
            name: "doubling an error ratio breaks maxIncrease 50%",
            spec: check(maxIncrease: .percent(50)),
            current: 0.02,
            baseline: 0.01,
            result: .broken,
            rule: "maxIncrease 50%"
        ),
        .init(
            name: "percent is of the baseline's magnitude for negative baselines",
            spec: check(maxIncrease: .percent(50)),
            current: -4,
            baseline: -10,
            result: .broken,
            rule: "maxIncrease 50%"
        ),
        .init(
            name: "negative baseline within maxIncrease passes",
            spec: check(maxIncrease: .percent(50)),
            current: -6,
            baseline: -10,
            result: .pass
        ),
        .init(
            name: "rise beyond maxIncrease absolute breaks",
            spec: check(maxIncrease: .absolute(2)),
            current: 12.5,
            baseline: 10,
            result: .broken,
            rule: "maxIncrease 2"
        ),
        .init(
            name: "rise of exactly maxIncrease absolute passes",
            spec: check(maxIncrease: .absolute(2)),
            current: 12,
            baseline: 10,
            result: .pass
        ),
        .init(name: "a fall never breaks maxIncrease", spec: check(maxIncrease: .absolute(2)), current: 0, baseline: 10, result: .pass),
        .init(
            name: "fall beyond maxDecrease percent breaks",
            spec: check(maxDecrease: .percent(20)),
            current: 7.9,
            baseline: 10,
            result: .broken,
            rule: "maxDecrease 20%"
        ),
        .init(
            name: "fall to exactly maxDecrease percent passes",
            spec: check(maxDecrease: .percent(20)),
            current: 8,
            baseline: 10,
            result: .pass
        ),
        .init(
            name: "fall beyond maxDecrease absolute breaks",
            spec: check(maxDecrease: .absolute(3)),
            current: 6,
            baseline: 10,
            result: .broken,
            rule: "maxDecrease 3"
        ),
        .init(
            name: "fall of exactly maxDecrease absolute passes",
            spec: check(maxDecrease: .absolute(3)),
            current: 7,
            baseline: 10,
            result: .pass
        ),
        .init(name: "a rise never breaks maxDecrease", spec: check(maxDecrease: .absolute(3)), current: 100, baseline: 10, result: .pass),
        .init(
            name: "maxIncrease is reported before maxDecrease",
            spec: check(maxIncrease: .absolute(0), maxDecrease: .absolute(0)),
            current: 11,
            baseline: 10,
            result: .broken,
            rule: "maxIncrease 0"
        ),
    ]

    @Test(arguments: relativeCases)
    func relativeRulesCompareWithThePairedBaseline(_ row: RuleCase) { row.run() }

    static let floorCases: [RuleCase] = [
        .init(
            name: "any rise over a zero baseline is an infinite increase",
            spec: check(maxIncrease: .percent(50)),
            current: 0.0005,
            baseline: 0,
            result: .broken,
            rule: "maxIncrease 50%"
        ),
        .init(name: "zero over a zero baseline passes", spec: check(maxIncrease: .percent(50)), current: 0, baseline: 0, result: .pass),
        .init(
            name: "value below floor is exempt from maxIncrease",
            spec: check(maxIncrease: .percent(50), floor: 0.001),
            current: 0.0005,
            baseline: 0,
            result: .pass
        ),
        .init(
            name: "value equal to floor is exempt from maxIncrease",
            spec: check(maxIncrease: .percent(50), floor: 0.001),
            current: 0.001,
            baseline: 0,
            result: .pass
        ),
        .init(
            name: "value above floor breaks maxIncrease",
            spec: check(maxIncrease: .percent(50), floor: 0.001),
            current: 0.002,
            baseline: 0,
            result: .broken,
            rule: "maxIncrease 50%"
        ),
        .init(
            name: "floor does not exempt from max",
            spec: check(max: 0.0001, floor: 0.001),
            current: 0.0005,
            baseline: 0,
            result: .broken,
            rule: "max 0.0001"
        ),
        .init(name: "floor does not exempt from min", spec: check(min: 1, floor: 5), current: 0, baseline: 0, result: .broken, rule: "min 1"),
        .init(
            name: "baseline at or below floor is exempt from maxDecrease",
            spec: check(maxDecrease: .percent(50), floor: 0.001),
            current: 0,
            baseline: 0.0008,
            result: .pass
        ),
        .init(
            name: "small baseline without floor breaks maxDecrease",
            spec: check(maxDecrease: .percent(50)),
            current: 0,
            baseline: 0.0008,
            result: .broken,
            rule: "maxDecrease 50%"
        ),
        .init(
            name: "baseline above floor still breaks maxDecrease",
            spec: check(maxDecrease: .percent(50), floor: 1),
            current: 0,
            baseline: 10,
            result: .broken,
            rule: "maxDecrease 50%"
        ),
        .init(
            name: "a low current value does not exempt from maxDecrease",
            spec: check(maxDecrease: .absolute(1), floor: 5),
            current: 2,
            baseline: 10,
            result: .broken,
            rule: "maxDecrease 1"
        ),
    ]

    @Test(arguments: floorCases)
    func zeroBaselineKeptQuietByFloor(_ row: RuleCase) { row.run() }

    static let counterCases: [RuleCase] = [
        .init(
            name: "increase within maxIncrease passes",
            spec: check(maxIncrease: .absolute(1), counter: true),
            current: 3,
            baseline: 2,
            result: .pass,
            value: 1
        ),
        .init(
            name: "increase beyond maxIncrease breaks",
            spec: check(maxIncrease: .absolute(1), counter: true),
            current: 5,
            baseline: 2,
            result: .broken,
            rule: "maxIncrease 1",
            value: 3
        ),
        .init(
            name: "unchanged counter has increase 0",
            spec: check(maxIncrease: .absolute(1), counter: true),
            current: 2,
            baseline: 2,
            result: .pass,
            value: 0
        ),
        .init(
            name: "increase within percent of value at open passes",
            spec: check(maxIncrease: .percent(50), counter: true),
            current: 14,
            baseline: 10,
            result: .pass,
            value: 4
        ),
        .init(
            name: "increase beyond percent of value at open breaks",
            spec: check(maxIncrease: .percent(50), counter: true),
            current: 16,
            baseline: 10,
            result: .broken,
            rule: "maxIncrease 50%",
            value: 6
        ),
        .init(
            name: "percent of a counter that was 0 at open breaks on any increase",
            spec: check(maxIncrease: .percent(50), counter: true),
            current: 1,
            baseline: 0,
            result: .broken,
            rule: "maxIncrease 50%",
            value: 1
        ),
        .init(
            name: "floor keeps a small increase of a zero counter quiet",
            spec: check(maxIncrease: .percent(50), floor: 1, counter: true),
            current: 1,
            baseline: 0,
            result: .pass,
            value: 1
        ),
        .init(
            name: "min applies to the increase (a heartbeat that stopped)",
            spec: check(min: 1, counter: true),
            current: 5,
            baseline: 5,
            result: .broken,
            rule: "min 1",
            value: 0
        ),
        .init(
            name: "max applies to the increase, not the raw counter",
            spec: check(max: 10, counter: true),
            current: 1000,
            baseline: 995,
            result: .pass,
            value: 5
        ),
        .init(
            name: "max breaks on a large increase",
            spec: check(max: 10, counter: true),
            current: 11,
            baseline: 0,
            result: .broken,
            rule: "max 10",
            value: 11
        ),
        .init(
            name: "maxDecrease cannot break on a counter",
            spec: check(maxDecrease: .absolute(1), counter: true),
            current: 0,
            baseline: 10,
            result: .pass,
            value: 0
        ),
    ]

    @Test(arguments: counterCases)
    func counterJudgesTheIncreaseSinceTheWindowOpened(_ row: RuleCase) { row.run() }

    static let resetCases: [RuleCase] = [
        .init(
            name: "reset then 3 more counts as an increase of 3",
            spec: check(maxIncrease: .absolute(1), counter: true),
            current: 3,
            baseline: 7,
            result: .broken,
            rule: "maxIncrease 1",
            value: 3
        ),
        .init(
            name: "reset then 1 more is an increase of 1",
            spec: check(maxIncrease: .absolute(1), counter: true),
            current: 1,
            baseline: 7,
            result: .pass,
            value: 1
        ),
        .init(
            name: "reset to zero is an increase of 0, never a decrease",
            spec: check(maxIncrease: .absolute(1), counter: true),
            current: 0,
            baseline: 7,
            result: .pass,
            value: 0
        ),
    ]

    @Test(arguments: resetCases)
    func counterResetCountsCurrentValueAsIncrease(_ row: RuleCase) { row.run() }

    static let newSeriesCases: [RuleCase] = [
        .init(name: "new series below min breaks", spec: check(min: 1), current: 0, baseline: nil, result: .broken, rule: "min 1"),
        .init(name: "new series above max breaks", spec: check(max: 1), current: 2, baseline: nil, result: .broken, rule: "max 1"),
        .init(name: "new series ignores maxIncrease", spec: check(maxIncrease: .percent(1)), current: 1e9, baseline: nil, result: .pass),
        .init(name: "new series ignores maxDecrease", spec: check(maxDecrease: .absolute(0)), current: -1e9, baseline: nil, result: .pass),
        .init(
            name: "new counter series' increase is its value",
            spec: check(max: 2, counter: true),
            current: 3,
            baseline: nil,
            result: .broken,
            rule: "max 2",
            value: 3
        ),
        .init(
            name: "new counter series ignores maxIncrease",
            spec: check(maxIncrease: .absolute(1), counter: true),
            current: 3,
            baseline: nil,
            result: .pass,
            value: 3
        ),
    ]

    @Test(arguments: newSeriesCases)
    func newSeriesJudgedByAbsoluteRulesOnly(_ row: RuleCase) { row.run() }
}
