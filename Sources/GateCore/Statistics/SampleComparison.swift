/// Recent samples of one series set against its baseline samples: the Mann-Whitney test, the
/// Hodges-Lehmann shift with its confidence interval, and the summaries a person reads.
public struct SampleComparison: Sendable, Equatable {
    /// How many recent samples were compared (non-finite samples are left out).
    public var recentSamples: Int
    /// How many baseline samples were compared.
    public var baselineSamples: Int
    /// The median of the recent samples.
    public var recentMedian: Double
    /// The median of the baseline samples.
    public var baselineMedian: Double
    /// The mean of the recent samples.
    public var recentMean: Double
    /// The mean of the baseline samples.
    public var baselineMean: Double
    /// The Mann-Whitney test of recent against baseline.
    public var test: MannWhitneyTest
    /// The Hodges-Lehmann estimate of the shift: the median of every difference `recent − baseline`.
    public var shift: Double
    /// The lower bound of the confidence interval on the shift (`-Inf` when the samples are too small for it).
    public var lower: Double
    /// The upper bound of the confidence interval on the shift (`+Inf` when the samples are too small for it).
    public var upper: Double
    /// The two-sided confidence of `lower … upper`.
    public var confidence: Double
}

/// Compares `recent` with `baseline` (in any order; NaN and infinite samples are left out).
///
/// - The shift is the median of the `n1 · n2` differences `recent[i] − baseline[j]` (the mean of the middle
///   two when their number is even); the interval is `[D(k), D(n1·n2 + 1 − k)]` over the sorted differences,
///   with `k` from the null distribution of U (see `shiftIntervalRank`). Differences are selected, never
///   all materialised: 600 samples per side cost a fraction of a millisecond, not seconds.
/// - Returns `nil` when either side has no finite sample, or when every sample of both sides is equal (ranks
///   then say nothing).
public func compareSamples(recent: [Double], baseline: [Double], confidence: Double) -> SampleComparison? {
    let first = recent.filter(\.isFinite).sorted()
    let second = baseline.filter(\.isFinite).sorted()
    guard !first.isEmpty, !second.isEmpty, let test = mannWhitneyTest(sortedFirst: first, sortedSecond: second) else {
        return nil
    }
    let differences = PairwiseDifferences(sortedFirst: first, sortedSecond: second)
    let total = differences.count
    let k = shiftIntervalRank(first.count, second.count, confidence: confidence)
    // The median's one or two ranks and the interval's two, found together: they lie in one narrow band.
    var ranks = total % 2 == 1 ? [(total + 1) / 2] : [total / 2, total / 2 + 1]
    if k >= 1 { ranks += [k, total + 1 - k] }
    let values = differences.smallest(ranks)
    let shift = total % 2 == 1 ? values[0] : (values[0] + values[1]) / 2
    let lower = k >= 1 ? values[values.count - 2] : -.infinity
    let upper = k >= 1 ? values[values.count - 1] : .infinity
    return SampleComparison(
        recentSamples: first.count,
        baselineSamples: second.count,
        recentMedian: sortedMedian(first),
        baselineMedian: sortedMedian(second),
        recentMean: mean(first),
        baselineMean: mean(second),
        test: test,
        shift: shift,
        lower: lower,
        upper: upper,
        confidence: confidence
    )
}

/// The median of a sorted, non-empty list (the mean of the middle two for an even count).
private func sortedMedian(_ sorted: [Double]) -> Double {
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}
