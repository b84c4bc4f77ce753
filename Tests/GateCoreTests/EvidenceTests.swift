import Testing

@testable import GateCore

private let podA = labels(["instance": "a", "job": "b"])
private let podB = labels(["instance": "b", "job": "b"])
private let podC = labels(["instance": "c", "job": "b"])

private func upCheck(missing: MissingSeriesPolicy = .fail, noData: NoDataPolicy = .inconclusive, counter: Bool = false) -> CheckSpec {
    CheckSpec(name: "critical-targets-up", query: "up", min: 1, counter: counter, missingSeries: missing, noData: noData)
}

@Suite struct MissingAndNewSeries {
    @Test func failsWhenSeriesVanishesFromBaseline() {
        let outcome = judge(upCheck(missing: .fail), evidence: one(podA, 1), baseline: [baseline(podA, 1), baseline(podB, 1)])
        #expect(outcome.result == .broken)
        #expect(
            outcome.series == [
                SeriesOutcome(
                    labels: podB,
                    value: nil,
                    baseline: 1,
                    rule: "missingSeries fail",
                    reason: #"check "critical-targets-up": series {instance="b", job="b"} was in the baseline (value 1) and is missing now "#
                        + "(missingSeries: fail)",
                    result: .broken
                ),
                SeriesOutcome(labels: podA, value: 1, baseline: 1, result: .pass),
            ]
        )
        #expect(outcome.reasons == [outcome.series[0].reason!])
    }

    @Test func ignoresVanishedSeriesUnderMissingSeriesIgnore() {
        let outcome = judge(upCheck(missing: .ignore), evidence: one(podA, 1), baseline: [baseline(podA, 1), baseline(podB, 1)])
        #expect(outcome.result == .pass)
        #expect(outcome.series.map(\.labels) == [podA])
        #expect(outcome.reasons.isEmpty)
    }

    @Test(arguments: MissingSeriesPolicy.allCases)
    func judgesNewSeriesWithoutBaseline(_ policy: MissingSeriesPolicy) {
        let evidence = Evidence.series([InstantSeries(labels: podA, value: 1), InstantSeries(labels: podC, value: 0)])
        let outcome = judge(upCheck(missing: policy), evidence: evidence, baseline: [baseline(podA, 1)])
        #expect(outcome.result == .broken)
        #expect(outcome.series.map(\.labels) == [podC, podA])
        #expect(outcome.series[0].baseline == nil)
        #expect(outcome.series[0].rule == "min 1")
        #expect(outcome.series[0].reason?.contains("(new series, no baseline)") == true)
    }

    @Test func everySeriesIsListedBrokenFirstThenInconclusiveThenPass() {
        let spec = CheckSpec(name: "c", query: "q", max: 1, missingSeries: .fail, noData: .inconclusive)
        let evidence = Evidence.series([
            InstantSeries(labels: labels(["i": "e"]), value: 0),
            InstantSeries(labels: labels(["i": "d"]), value: .nan),
            InstantSeries(labels: labels(["i": "c"]), value: 5),
            InstantSeries(labels: labels(["i": "a"]), value: 0),
        ])
        let outcome = judge(spec, evidence: evidence, baseline: [baseline(labels(["i": "b"]), 0)])
        #expect(outcome.series.map { $0.labels["i"] } == ["b", "c", "d", "a", "e"])
        #expect(outcome.series.map(\.result) == [.broken, .broken, .inconclusive, .pass, .pass])
        #expect(outcome.reasons.count == 3)
        #expect(outcome.reasons == outcome.series.prefix(3).compactMap(\.reason))
        #expect(outcome.result == .broken)
    }

    @Test func duplicateBaselineSeriesDoNotCrashAndTheFirstWins() {
        let paired = judge(
            CheckSpec(name: "c", query: "q", maxDecrease: .absolute(1)),
            evidence: one(podA, 5),
            baseline: [baseline(podA, 5), baseline(podA, 100)]
        )
        #expect(paired.series == [SeriesOutcome(labels: podA, value: 5, baseline: 5, result: .pass)])
    }
}

/// One row: a `noData` policy and what a query with no series at all yields under it.
struct NoDataCase: Sendable, CustomTestStringConvertible {
    var policy: NoDataPolicy
    var result: CheckResult
    var series: [SeriesOutcome]
    var testDescription: String { "noData: \(policy.rawValue)" }
}

@Suite struct NoDataAndNaN {
    static let noDataCases: [NoDataCase] = [
        .init(
            policy: .fail,
            result: .broken,
            series: [
                SeriesOutcome(
                    labels: Labels(),
                    value: nil,
                    baseline: nil,
                    rule: "noData fail",
                    reason: #"check "critical-targets-up": query returned no series (the baseline had 2 series; noData: fail)"#,
                    result: .broken
                )
            ]
        ),
        .init(
            policy: .inconclusive,
            result: .inconclusive,
            series: [
                SeriesOutcome(
                    labels: Labels(),
                    value: nil,
                    baseline: nil,
                    rule: "noData inconclusive",
                    reason: #"check "critical-targets-up": query returned no series (the baseline had 2 series; noData: inconclusive)"#,
                    result: .inconclusive
                )
            ]
        ),
        .init(policy: .pass, result: .pass, series: []),
        // Zero: one series `{}` with value 0, new (the baseline has no `{}` series), so min applies.
        .init(
            policy: .zero,
            result: .broken,
            series: [
                SeriesOutcome(
                    labels: Labels(),
                    value: 0,
                    baseline: nil,
                    rule: "min 1",
                    reason: #"check "critical-targets-up": series {} value 0 is below min 1 (new series, no baseline)"#,
                    result: .broken
                )
            ]
        ),
    ]

    @Test(arguments: noDataCases)
    func emptyQueryIsJudgedByNoDataPolicyAlone(_ row: NoDataCase) {
        // Both baseline series are absent, but noData governs: they are not reported as missing.
        let outcome = judge(upCheck(missing: .fail, noData: row.policy), evidence: .series([]), baseline: [baseline(podA, 1), baseline(podB, 1)])
        #expect(outcome.result == row.result)
        #expect(outcome.series == row.series)
        #expect(outcome.reasons == row.series.compactMap(\.reason))
    }

    @Test func noDataZeroPairsWithAnEmptyLabelBaseline() {
        let spec = CheckSpec(name: "requests", query: "sum(rate(x[1m]))", maxDecrease: .percent(50), noData: .zero)
        let outcome = judge(spec, evidence: .series([]), baseline: [baseline(Labels(), 5)])
        #expect(outcome.result == .broken)
        #expect(outcome.series.map(\.rule) == ["maxDecrease 50%"])
        #expect(outcome.series.map(\.baseline) == [5])
        #expect(outcome.series.map(\.value) == [0])
    }

    /// One row: a NaN current value (e.g. 0/0) under a `noData` policy.
    static let nanCases: [(NoDataPolicy, CheckResult, Double?, String?)] = [
        (.fail, .broken, nil, "noData fail"),
        (.inconclusive, .inconclusive, nil, "noData inconclusive"),
        (.pass, .pass, nil, nil),
        (.zero, .pass, 0, nil),  // 0 is within max 0.05 and is no increase over 0.01
    ]

    @Test(arguments: nanCases)
    func notANumberIsJudgedLikeNoDataPerSeries(_ policy: NoDataPolicy, _ result: CheckResult, _ value: Double?, _ rule: String?) {
        let spec = CheckSpec(name: "apiserver-error-ratio", query: "q", max: 0.05, maxIncrease: .percent(50), noData: policy)
        let evidence = Evidence.series([InstantSeries(labels: podA, value: .nan), InstantSeries(labels: podB, value: 0.01)])
        let outcome = judge(spec, evidence: evidence, baseline: [baseline(podA, 0.01), baseline(podB, 0.01)])
        #expect(outcome.result == result)
        let nan = outcome.series.first { $0.labels == podA }
        #expect(nan?.result == result)
        #expect(nan?.value == value)
        #expect(nan?.baseline == 0.01)
        #expect(nan?.rule == rule)
        if rule != nil {
            #expect(nan?.reason?.contains("value is NaN") == true)
            #expect(nan?.reason?.contains("baseline 0.01") == true)
            #expect(nan?.reason?.contains("noData: \(policy.rawValue)") == true)
        }
        #expect(outcome.series.first { $0.labels == podB }?.result == .pass)
    }

    @Test func notANumberUnderZeroCanStillBreakMin() {
        let outcome = judge(upCheck(noData: .zero), evidence: one(podA, .nan), baseline: [baseline(podA, 1)])
        #expect(
            outcome.series == [
                SeriesOutcome(
                    labels: podA,
                    value: 0,
                    baseline: 1,
                    rule: "min 1",
                    reason: #"check "critical-targets-up": series {instance="a", job="b"} value 0 is below min 1 (baseline 1)"#,
                    result: .broken
                )
            ]
        )
    }

    @Test func unavailableEvidenceIsInconclusiveWithTheCause() {
        let outcome = judge(
            upCheck(noData: .pass),
            evidence: .unavailable("Prometheus unreachable: connection refused"),
            baseline: [baseline(podA, 1)]
        )
        #expect(
            outcome
                == CheckOutcome(
                    check: "critical-targets-up",
                    critical: true,
                    result: .inconclusive,
                    series: [],
                    reasons: [#"check "critical-targets-up": no evidence: Prometheus unreachable: connection refused"#]
                )
        )
    }

    /// One row: series results and the check result they add up to.
    static let resultCases: [([CheckResult], CheckResult)] = [
        ([.pass, .pass], .pass),
        ([.pass, .inconclusive], .inconclusive),
        ([.inconclusive, .broken, .pass], .broken),
        ([], .pass),
    ]

    @Test(arguments: resultCases)
    func checkIsBrokenIfAnySeriesIsElseInconclusiveIfAnyIs(_ results: [CheckResult], _ expected: CheckResult) {
        // min 1 with noData inconclusive: 1 passes, 0 breaks, NaN is inconclusive.
        let values: [CheckResult: Double] = [.pass: 1, .broken: 0, .inconclusive: .nan]
        let evidence = results.enumerated().map { InstantSeries(labels: labels(["i": "\($0.offset)"]), value: values[$0.element]!) }
        let outcome = judge(upCheck(noData: results.isEmpty ? .pass : .inconclusive), evidence: .series(evidence), baseline: [])
        #expect(outcome.result == expected)
    }
}
