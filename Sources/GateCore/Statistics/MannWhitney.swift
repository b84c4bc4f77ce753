/// How the p-value of a Mann-Whitney test was computed.
public enum MannWhitneyMethod: String, Sendable, Equatable, Codable {
    /// The exact permutation distribution of the rank sum (at most `exactSampleLimit` samples per side).
    case exact
    /// The normal approximation with tie correction and continuity correction.
    case asymptotic
}

/// Samples per side up to which the exact distribution is used; above it, the normal approximation.
public let exactSampleLimit = 20

/// The Mann-Whitney U statistic of one comparison and its two-sided p-value.
public struct MannWhitneyTest: Sendable, Equatable {
    /// U of the first sample (`recent`): the number of pairs where it is larger, ties counting one half.
    public var u: Double
    /// The two-sided p-value.
    public var pValue: Double
    /// How `pValue` was computed.
    public var method: MannWhitneyMethod
}

/// The ranks of two sorted samples pooled together: the rank sum of the first, and the tie groups.
struct PooledRanks {
    /// Sum of the (average) ranks of the first sample.
    var rankSumFirst: Double
    /// Σ (t³ − t) over groups of t tied values (the tie correction of the variance).
    var tieTerm: Double
    /// Every group of equal values in rank order: its size, twice its average rank (an integer), and how
    /// many of its members belong to the first sample.
    var groups: [(size: Int, doubledRank: Int, first: Int)]
    /// Whether any two pooled values are equal.
    var hasTies: Bool
}

/// Pools two ascending samples and assigns average ranks to ties, in one merge (O(n)).
func poolRanks(_ first: [Double], _ second: [Double], keepGroups: Bool) -> PooledRanks {
    var pooled = PooledRanks(rankSumFirst: 0, tieTerm: 0, groups: [], hasTies: false)
    var i = 0
    var j = 0
    var position = 0  // values already ranked
    while i < first.count || j < second.count {
        let value: Double
        if j == second.count || (i < first.count && first[i] <= second[j]) {
            value = first[i]
        } else {
            value = second[j]
        }
        var inFirst = 0
        while i < first.count, first[i] == value {
            inFirst += 1
            i += 1
        }
        var inSecond = 0
        while j < second.count, second[j] == value {
            inSecond += 1
            j += 1
        }
        let size = inFirst + inSecond
        // Ranks position+1 … position+size share their average; twice it is always an integer.
        let doubledRank = 2 * position + size + 1
        pooled.rankSumFirst += Double(inFirst) * Double(doubledRank) / 2
        if size > 1 {
            pooled.hasTies = true
            let t = Double(size)
            pooled.tieTerm += t * t * t - t
        }
        if keepGroups { pooled.groups.append((size, doubledRank, inFirst)) }
        position += size
    }
    return pooled
}

/// The two-sided Mann-Whitney U test of `first` against `second`, both sorted ascending and non-empty.
///
/// - With at most `exactSampleLimit` samples per side the p-value is exact: the permutation distribution of
///   the rank sum given the observed ranks, ties included (so it equals a full permutation test of U), and
///   `2 × min(P(U ≤ u), P(U ≥ u))`, capped at 1. Without ties this is the classic exact null distribution.
/// - Above, the normal approximation with the tie-corrected variance and a continuity correction of ½.
/// - Returns `nil` when every pooled value is equal: ranks then carry no information at all.
func mannWhitneyTest(sortedFirst first: [Double], sortedSecond second: [Double]) -> MannWhitneyTest? {
    let n1 = first.count
    let n2 = second.count
    guard n1 > 0, n2 > 0 else { return nil }
    let exact = n1 <= exactSampleLimit && n2 <= exactSampleLimit
    let ranks = poolRanks(first, second, keepGroups: exact)
    let u1 = ranks.rankSumFirst - Double(n1 * (n1 + 1)) / 2
    let n = n1 + n2
    if ranks.tieTerm == Double(n * n * n - n) { return nil }  // one single group: all values tie

    if exact {
        let distribution = rankSumCounts(groups: ranks.groups.map { ($0.size, $0.doubledRank) }, choose: n1)
        let observed = ranks.groups.reduce(0) { $0 + $1.first * $1.doubledRank }
        var atMost = 0.0
        var atLeast = 0.0
        var total = 0.0
        for (sum, count) in distribution.counts.enumerated() where count > 0 {
            total += count
            if sum + distribution.offset <= observed { atMost += count }
            if sum + distribution.offset >= observed { atLeast += count }
        }
        let p = min(1, 2 * min(atMost, atLeast) / total)
        return MannWhitneyTest(u: u1, pValue: p, method: .exact)
    }

    // The same arithmetic, in the same order, as SciPy's asymptotic method: z of max(U1, U2), minus ½.
    let u2 = Double(n1 * n2) - u1
    let mu = Double(n1 * n2) / 2
    let s = (Double(n1 * n2) / 12 * (Double(n + 1) - ranks.tieTerm / Double(n * (n - 1)))).squareRoot()
    let z = (max(u1, u2) - mu - 0.5) / s
    let p = min(1, max(0, 2 * normalCDF(-z)))
    return MannWhitneyTest(u: u1, pValue: p, method: .asymptotic)
}

/// How many ways there are to choose `choose` of the pooled values, by twice their rank sum.
///
/// `counts[s]` is the number of subsets whose doubled rank sum is `s + offset`. Counts are whole numbers below
/// C(40, 20) ≈ 1.4 × 10¹¹ for the sizes this is used with, so doubles hold them exactly.
func rankSumCounts(groups: [(size: Int, doubledRank: Int)], choose: Int) -> (counts: [Double], offset: Int) {
    // The smallest possible doubled sum is taken as offset, so the table spans only reachable sums.
    var remaining = choose
    var offset = 0
    for group in groups where remaining > 0 {
        let taken = min(group.size, remaining)
        offset += taken * group.doubledRank
        remaining -= taken
    }
    remaining = choose
    var largest = 0
    for group in groups.reversed() where remaining > 0 {
        let taken = min(group.size, remaining)
        largest += taken * group.doubledRank
        remaining -= taken
    }
    // table[k * (largest + 1) + s]: ways to pick k of the values seen so far with doubled rank sum s.
    var table = [Double](repeating: 0, count: (choose + 1) * (largest + 1))
    table[0] = 1
    var picked = 0  // values seen so far (bounds k)
    for group in groups {
        let maxK = min(choose, picked + group.size)
        // Walk k downwards so each group is used once; take j members of it in C(size, j) ways.
        for k in stride(from: maxK, through: 1, by: -1) {
            var binomial = 1.0
            for j in 1...min(group.size, k) {
                binomial = binomial * Double(group.size - j + 1) / Double(j)
                let shift = j * group.doubledRank
                let from = (k - j) * (largest + 1)
                let to = k * (largest + 1)
                guard shift <= largest else { break }
                for sum in 0...(largest - shift) where table[from + sum] != 0 {
                    table[to + sum + shift] += table[from + sum] * binomial
                }
            }
        }
        picked += group.size
    }
    let row = choose * (largest + 1)
    return (Array(table[(row + offset)...(row + largest)]), offset)
}

/// The rank `k` (1-based) of the pairwise difference that bounds a two-sided `confidence` interval for the
/// shift from below; the upper bound is difference `n1·n2 + 1 − k`.
///
/// `k` is the largest integer with P(U ≤ k − 1) ≤ (1 − confidence)/2 under the null distribution of U
/// without ties (exact up to `exactSampleLimit` per side, else the continuity-corrected normal
/// approximation), so the interval covers the true shift with at least that confidence. Returns 0 when the
/// samples are too small to reach the confidence at all.
func shiftIntervalRank(_ n1: Int, _ n2: Int, confidence: Double) -> Int {
    let tail = (1 - confidence) / 2
    if n1 <= exactSampleLimit && n2 <= exactSampleLimit {
        let groups = (1...(n1 + n2)).map { (size: 1, doubledRank: 2 * $0) }
        let distribution = rankSumCounts(groups: groups, choose: n1)
        let total = distribution.counts.reduce(0, +)
        // Doubled rank sums of distinct ranks step by 2; U = sum/2 − n1(n1+1)/2 starts at 0 at the offset.
        var cumulative = 0.0
        var k = 0
        for index in stride(from: 0, to: distribution.counts.count, by: 2) {
            // cumulative / total = P(U ≤ u) with u = index / 2; rank u + 1 is admissible while that is ≤ tail.
            cumulative += distribution.counts[index]
            guard cumulative / total <= tail else { break }
            k = index / 2 + 1
        }
        return min(k, (n1 * n2 + 1) / 2)
    }
    // P(U ≤ c) ≈ Φ((c + ½ − μ)/σ), written as SciPy writes its one-sided p-value, then searched by bisection.
    let mu = Double(n1 * n2) / 2
    let n = n1 + n2
    let s = (Double(n1 * n2) / 12 * Double(n + 1)).squareRoot()
    func atMost(_ c: Int) -> Double {
        let z = (Double(n1 * n2 - c) - mu - 0.5) / s
        return normalCDF(-z)
    }
    var low = 0  // admissible: P(U ≤ −1) = 0
    var high = (n1 * n2 + 1) / 2 + 1  // inadmissible or beyond the median
    while high - low > 1 {
        let middle = (low + high) / 2
        if atMost(middle - 1) <= tail { low = middle } else { high = middle }
    }
    return min(low, (n1 * n2 + 1) / 2)
}
