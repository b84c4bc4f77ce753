import Testing

@testable import GateCore

/// Deterministic noise for tests: a sample of `count` values around `center` with the given spread.
func noisy(_ count: Int, center: Double, spread: Double, seed: UInt64) -> [Double] {
    var generator = SplitMix64(seed: seed)
    return (0..<count).map { _ in
        // The mean of four uniforms: bell-shaped, bounded, reproducible.
        let sum = (0..<4).reduce(0.0) { total, _ in total + Double(generator.next() >> 11) / Double(1 << 53) }
        return center + spread * (sum / 4 - 0.5) * 2
    }
}

@Suite("Mann-Whitney U and the Hodges-Lehmann interval")
struct MannWhitneyTests {
    /// Hand-computed cases: U, the exact two-sided p-value, the shift.
    struct Known: Sendable, CustomTestStringConvertible {
        var name: String
        var recent: [Double]
        var baseline: [Double]
        var u: Double
        var p: Double
        var shift: Double
        var testDescription: String { name }
    }

    static let known: [Known] = [
        // Complete separation of 3 and 3: P(U = 9) = 1/20, two-sided 0.1.
        Known(name: "complete separation upwards", recent: [4, 5, 6], baseline: [1, 2, 3], u: 9, p: 0.1, shift: 3),
        Known(name: "complete separation downwards", recent: [1, 2, 3], baseline: [4, 5, 6], u: 0, p: 0.1, shift: -3),
        // Interleaved: U at its mean, the p-value capped at 1.
        Known(name: "interleaved", recent: [1, 4, 5, 8], baseline: [2, 3, 6, 7], u: 8, p: 1, shift: 0),
        // One tie across the samples counts one half; of the 6 ways to split ranks {1, 2.5, 2.5, 4}, 2 reach 6.5.
        Known(name: "a tie counts one half", recent: [2, 3], baseline: [1, 2], u: 3.5, p: 2.0 / 3, shift: 1),
    ]

    @Test(arguments: known)
    func exactSmallSamples(_ row: Known) throws {
        let result = try #require(compareSamples(recent: row.recent, baseline: row.baseline, confidence: 0.9))
        #expect(result.test.method == .exact)
        #expect(result.test.u == row.u)
        #expect(abs(result.test.pValue - row.p) < 1e-12)
        #expect(result.shift == row.shift)
        #expect(result.lower <= result.shift && result.shift <= result.upper)
    }

    @Test func allTiesIsNoComparison() {
        #expect(compareSamples(recent: [5, 5, 5], baseline: [5, 5, 5, 5], confidence: 0.95) == nil)
        #expect(compareSamples(recent: Array(repeating: 0, count: 100), baseline: Array(repeating: 0, count: 100), confidence: 0.95) == nil)
    }

    @Test func nonFiniteSamplesAreLeftOut() throws {
        let result = try #require(compareSamples(recent: [4, .nan, 5, 6, .infinity], baseline: [1, 2, -.infinity, 3], confidence: 0.9))
        #expect(result.recentSamples == 3)
        #expect(result.baselineSamples == 3)
        #expect(result.test.u == 9)
    }

    @Test func largeSamplesUseTheNormalApproximation() throws {
        let result = try #require(
            compareSamples(
                recent: noisy(21, center: 10, spread: 2, seed: 1),
                baseline: noisy(30, center: 10, spread: 2, seed: 2),
                confidence: 0.95
            )
        )
        #expect(result.test.method == .asymptotic)
    }

    /// The selection finds exactly what sorting every difference finds, ties and duplicates included.
    @Test(arguments: [(1, 1), (1, 7), (7, 1), (13, 29), (64, 80), (200, 150)])
    func selectionMatchesSortingEveryDifference(_ sizes: (Int, Int)) {
        let first = noisy(sizes.0, center: 3, spread: 2, seed: UInt64(sizes.0)).map { ($0 * 4).rounded() / 4 }.sorted()
        let second = noisy(sizes.1, center: 3, spread: 2, seed: UInt64(sizes.1) + 99).map { ($0 * 4).rounded() / 4 }.sorted()
        let all = first.flatMap { a in second.map { b in a - b } }.sorted()
        let differences = PairwiseDifferences(sortedFirst: first, sortedSecond: second)
        for k in Set([1, all.count, (all.count + 1) / 2, max(1, all.count / 3), max(1, all.count * 9 / 10)]) {
            #expect(differences.smallest(k) == all[k - 1], "k = \(k)")
        }
    }

    /// For 10 and 10 at 95 % the tabulated critical value of U is 23, so the interval is [D(24), D(77)].
    @Test func intervalRankMatchesTheTables() {
        #expect(shiftIntervalRank(10, 10, confidence: 0.95) == 24)
        #expect(shiftIntervalRank(8, 8, confidence: 0.95) == 14)
        #expect(shiftIntervalRank(3, 3, confidence: 0.95) == 0)  // 1/20 > 2.5 %: no interval at 95 %
    }
}

@Suite("The tightened decision rule")
struct ComparisonRuleTests {
    static let series = Labels(["verb": "LIST"])

    struct Row: Sendable, CustomTestStringConvertible {
        var name: String
        var spec: CompareSpec
        var recent: [Double]
        var baseline: [Double]
        var result: CheckResult
        var rule: String?
        var testDescription: String { name }
    }

    static let baseline = noisy(120, center: 0.041, spread: 0.01, seed: 11)
    static let tenPercent = CompareSpec(window: 600, step: 15, confidence: 0.98, allowedIncrease: .percent(10), minSamples: 20)

    static let rows: [Row] = [
        Row(
            name: "a 30% rise fails high",
            spec: tenPercent,
            recent: noisy(40, center: 0.041 * 1.3, spread: 0.01, seed: 12),
            baseline: baseline,
            result: .broken,
            rule: "compare allowedIncrease 10%"
        ),
        Row(
            name: "noise with the same spread passes",
            spec: tenPercent,
            recent: noisy(40, center: 0.041, spread: 0.01, seed: 13),
            baseline: baseline,
            result: .pass
        ),
        Row(
            name: "a significant 5% rise is within the 10% allowance",
            spec: tenPercent,
            recent: noisy(400, center: 0.041 * 1.05, spread: 0.002, seed: 14),
            baseline: noisy(400, center: 0.041, spread: 0.002, seed: 15),
            result: .pass
        ),
        Row(
            name: "a fall never fails with allowedDecrease none",
            spec: tenPercent,
            recent: noisy(40, center: 0.02, spread: 0.01, seed: 16),
            baseline: baseline,
            result: .pass
        ),
        Row(
            name: "a fall fails low with allowedDecrease",
            spec: CompareSpec(window: 600, step: 15, confidence: 0.98, allowedIncrease: .percent(10), allowedDecrease: .percent(20)),
            recent: noisy(40, center: 0.02, spread: 0.01, seed: 16),
            baseline: baseline,
            result: .broken,
            rule: "compare allowedDecrease 20%"
        ),
        Row(
            name: "an absolute allowance compares the change of the mean",
            spec: CompareSpec(window: 600, step: 15, confidence: 0.98, allowedIncrease: .absolute(0.02)),
            recent: noisy(40, center: 0.041 * 1.3, spread: 0.01, seed: 12),
            baseline: baseline,
            result: .pass
        ),
        // A few outliers raise the mean far beyond the allowance, but the interval does not clear zero.
        Row(
            name: "outliers alone cannot fail by averaging",
            spec: tenPercent,
            recent: noisy(37, center: 0.041, spread: 0.01, seed: 17) + [5, 5, 5],
            baseline: baseline,
            result: .pass
        ),
        Row(
            name: "too few recent samples is inconclusive",
            spec: tenPercent,
            recent: noisy(19, center: 1, spread: 0.01, seed: 18),
            baseline: baseline,
            result: .inconclusive,
            rule: "compare minSamples 20"
        ),
        Row(
            name: "too few baseline samples is inconclusive",
            spec: tenPercent,
            recent: noisy(40, center: 1, spread: 0.01, seed: 18),
            baseline: Array(baseline.prefix(10)),
            result: .inconclusive,
            rule: "compare minSamples 20"
        ),
        Row(
            name: "all ties is inconclusive, never pass",
            spec: tenPercent,
            recent: Array(repeating: 0, count: 40),
            baseline: Array(repeating: 0, count: 40),
            result: .inconclusive,
            rule: "compare mannWhitney"
        ),
        Row(
            name: "NaN samples do not count towards minSamples",
            spec: tenPercent,
            recent: Array(repeating: .nan, count: 30) + noisy(10, center: 1, spread: 0.1, seed: 19),
            baseline: baseline,
            result: .inconclusive,
            rule: "compare minSamples 20"
        ),
        Row(
            name: "samples too few for the confidence are inconclusive",
            spec: CompareSpec(window: 60, step: 15, confidence: 0.999, allowedIncrease: .percent(10), minSamples: 3),
            recent: [10, 11, 12],
            baseline: [1, 2, 3],
            result: .inconclusive,
            rule: "compare confidence 0.999"
        ),
        // Shift from a zero baseline: percent effect is infinite, so a confirmed rise fails.
        Row(
            name: "a confirmed rise from a zero mean fails a percent allowance",
            spec: tenPercent,
            recent: noisy(40, center: 1, spread: 0.5, seed: 20),
            baseline: Array(repeating: 0, count: 30) + Array(repeating: 0, count: 10),
            result: .broken,
            rule: "compare allowedIncrease 10%"
        ),
    ]

    @Test(arguments: rows)
    func decides(_ row: Row) {
        let judgement = judgeComparison(check: "p99", spec: row.spec, labels: Self.series, recent: row.recent, baseline: row.baseline)
        #expect(judgement.result == row.result)
        #expect(judgement.rule == row.rule)
        #expect((judgement.reason != nil) == (row.result != .pass))
    }

    @Test func reasonNamesMediansShiftIntervalEffectAndAllowance() throws {
        let recent = noisy(40, center: 0.05, spread: 0.01, seed: 21)
        let judgement = judgeComparison(check: "p99", spec: Self.tenPercent, labels: Self.series, recent: recent, baseline: Self.baseline)
        let reason = try #require(judgement.reason)
        let numbers = judgement.numbers
        let lower = try #require(numbers.lower)
        #expect(lower > 0)
        #expect(reason.hasPrefix("check \"p99\": series {verb=\"LIST\"} rose "))
        #expect(reason.contains("% (median "))
        #expect(reason.contains(" → "))
        #expect(reason.contains("shift +"))
        #expect(reason.contains("98% CI ["))
        #expect(reason.contains("allowed +10%; 40 recent vs 120 baseline samples)"))
        #expect(numbers.effectUnit == "percent")
        #expect(try #require(numbers.effect) > 10)
        #expect(numbers.allowance == "+10%")
    }

    @Test func compareCombinesWithThresholdRules() {
        let labels = Self.series
        var check = CheckSpec(name: "p99", query: "q", max: 0.5, compare: Self.tenPercent)
        let base = [BaselineSeries(labels: labels, value: 0.041, min: 0.03, max: 0.05, samples: 120)]
        let risen = noisy(40, center: 0.06, spread: 0.01, seed: 22)
        let evidence = ComparisonEvidence(
            recent: .series([RangeSeries(labels: labels, samples: risen.enumerated().map { Sample(time: Double($0.offset), value: $0.element) })]),
            baseline: .series([RangeSeries(labels: labels, samples: Self.baseline.map { Sample(time: 0, value: $0) })])
        )
        // The compare rule breaks the series though `max` holds.
        let outcome = judge(check, evidence: .series([InstantSeries(labels: labels, value: 0.06)]), baseline: base, comparison: evidence)
        #expect(outcome.result == .broken)
        #expect(outcome.series.first?.rule == "compare allowedIncrease 10%")
        #expect(outcome.series.first?.comparison?.shift != nil)
        // `max` breaks first and is reported first; the comparison numbers still ride along.
        check.max = 0.05
        let both = judge(check, evidence: .series([InstantSeries(labels: labels, value: 0.06)]), baseline: base, comparison: evidence)
        #expect(both.series.first?.rule == "max 0.05")
        #expect(both.series.first?.comparison != nil)
        // A failed range query leaves the check inconclusive, never pass.
        let failed = judge(
            check,
            evidence: .series([InstantSeries(labels: labels, value: 0.01)]),
            baseline: base,
            comparison: ComparisonEvidence(recent: .unavailable("Prometheus unreachable"), baseline: evidence.baseline)
        )
        #expect(failed.result == .inconclusive)
        #expect(failed.reasons.contains { $0.contains("compare: Prometheus unreachable") })
        // A new series (not in the baseline range) is judged by absolute rules only.
        let newSeries = Labels(["verb": "WATCH"])
        let fresh = judge(check, evidence: .series([InstantSeries(labels: newSeries, value: 0.01)]), baseline: [], comparison: evidence)
        #expect(fresh.result == .pass)
        #expect(fresh.series.first?.comparison == nil)
        // A pinned series whose baseline samples Prometheus no longer returns (retention) is missing evidence.
        let expired = judge(
            CheckSpec(name: "p99", query: "q", compare: Self.tenPercent),
            evidence: .series([InstantSeries(labels: labels, value: 0.041)]),
            baseline: base,
            comparison: ComparisonEvidence(recent: evidence.recent, baseline: .series([]))
        )
        #expect(expired.result == .inconclusive, "nothing to compare with is never a pass")
        #expect(expired.reasons.contains { $0.contains("no baseline samples") })
    }
}

@Suite("Selecting pairwise differences")
struct PairwiseSelectionTests {
    /// Every rank of small matrices, heavy ties included, against sorting every difference.
    @Test(arguments: [(5, 40), (40, 5), (33, 33), (60, 17)])
    func everyRankMatchesSorting(_ sizes: (Int, Int)) {
        let first = noisy(sizes.0, center: 3, spread: 2, seed: 5).map { $0.rounded() }.sorted()
        let second = noisy(sizes.1, center: 3, spread: 2, seed: 6).map { $0.rounded() }.sorted()
        let all = first.flatMap { a in second.map { b in a - b } }.sorted()
        let differences = PairwiseDifferences(sortedFirst: first, sortedSecond: second)
        for k in 1...all.count {
            #expect(differences.smallest(k) == all[k - 1], "k = \(k)")
        }
        for k in 1..<all.count {
            let pair = (differences.smallest([k, k + 1])[0], differences.smallest([k, k + 1])[1])
            #expect(pair.0 == all[k - 1] && pair.1 == all[k], "k = \(k)")
        }
    }

    /// The sizes the daemon sees: 600 a side, untied, at the ranks the interval and the median use.
    @Test func largeSamplesMatchSortingAtTheRanksUsed() {
        let first = noisy(600, center: 0.05, spread: 0.01, seed: 7).sorted()
        let second = noisy(600, center: 0.045, spread: 0.01, seed: 8).sorted()
        let all = first.flatMap { a in second.map { b in a - b } }.sorted()
        let differences = PairwiseDifferences(sortedFirst: first, sortedSecond: second)
        let k = shiftIntervalRank(600, 600, confidence: 0.98)
        for rank in [1, k, all.count / 2, all.count / 2 + 1, all.count + 1 - k, all.count] {
            #expect(differences.smallest(rank) == all[rank - 1], "rank \(rank)")
        }
    }
}
