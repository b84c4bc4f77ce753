/// Order statistics of the pairwise differences `first[i] − second[j]` of two sorted samples, found without
/// materialising the `n1 · n2` differences.
///
/// The differences form a matrix sorted along both axes (rows by `first`, columns by `second` reversed), so
/// the number of differences below a pivot is counted in O(n1 + n2) by walking a staircase. Selection picks
/// a pivot among the differences still in play, counts, and discards every row segment on the wrong side,
/// as in Monahan's algorithm for the Hodges-Lehmann estimator: expected O((n1 + n2) · log(n1 · n2)) time
/// and O(n1 + n2) memory, where sorting all differences would take O(n1 · n2 · log(n1 · n2)) and 8 bytes each.
struct PairwiseDifferences {
    private let rows: [Double]  // first, ascending
    private let columns: [Double]  // −second, ascending (second reversed and negated)
    /// How many differences there are.
    let count: Int

    /// Prepares the differences of two ascending, non-empty samples.
    init(sortedFirst: [Double], sortedSecond: [Double]) {
        rows = sortedFirst
        columns = sortedSecond.reversed().map { -$0 }
        count = rows.count * columns.count
    }

    /// The `k`-th smallest difference, 1-based (`1 ≤ k ≤ count`).
    ///
    /// The result is exactly one of the differences `first[i] − second[j]` as floating-point arithmetic
    /// computes it (negation is exact, so `first[i] + (−second[j])` is that same number).
    func smallest(_ k: Int) -> Double {
        precondition(k >= 1 && k <= count, "rank out of range")
        let n1 = rows.count
        let n2 = columns.count
        // Row i's candidates are columns low[i] ..< high[i]; everything left of them is below the answer and
        // everything right of them above it.
        var low = [Int](repeating: 0, count: n1)
        var high = [Int](repeating: n2, count: n1)
        var active = count
        var generator = SplitMix64(seed: 0x9E37_79B9_7F4A_7C15 &+ UInt64(k))
        var below = [Int](repeating: 0, count: n1)
        var atOrBelow = [Int](repeating: 0, count: n1)
        // Few enough candidates left: sorting them beats another counting pass.
        let cutoff = max(64, n1 + n2)
        while active > cutoff {
            var pick = Int(generator.next() % UInt64(active))
            var row = 0
            while pick >= high[row] - low[row] {
                pick -= high[row] - low[row]
                row += 1
            }
            let pivot = rows[row] + columns[low[row] + pick]
            let (less, lessOrEqual) = countAround(pivot, below: &below, atOrBelow: &atOrBelow)
            if k > less && k <= lessOrEqual { return pivot }
            active = 0
            if k <= less {
                for i in 0..<n1 {
                    high[i] = min(high[i], below[i])
                    if low[i] > high[i] { low[i] = high[i] }
                    active += high[i] - low[i]
                }
            } else {
                for i in 0..<n1 {
                    low[i] = max(low[i], atOrBelow[i])
                    if high[i] < low[i] { high[i] = low[i] }
                    active += high[i] - low[i]
                }
            }
        }
        var candidates: [Double] = []
        candidates.reserveCapacity(active)
        var left = 0
        for i in 0..<n1 {
            left += low[i]
            for j in low[i]..<high[i] { candidates.append(rows[i] + columns[j]) }
        }
        candidates.sort()
        return candidates[k - left - 1]
    }

    /// Counts the differences below `pivot` and at or below it, row by row (each row's count is the column
    /// where the row crosses the pivot), walking the staircase once for each.
    private func countAround(_ pivot: Double, below: inout [Int], atOrBelow: inout [Int]) -> (Int, Int) {
        let n2 = columns.count
        var less = 0
        var lessOrEqual = 0
        var strict = n2
        var loose = n2
        for i in 0..<rows.count {
            let value = rows[i]
            // Rows grow downwards, so the crossing column can only move left.
            while strict > 0, value + columns[strict - 1] >= pivot { strict -= 1 }
            while loose > 0, value + columns[loose - 1] > pivot { loose -= 1 }
            below[i] = strict
            atOrBelow[i] = loose
            less += strict
            lessOrEqual += loose
        }
        return (less, lessOrEqual)
    }
}

/// A small, fast, deterministic pseudo-random generator (SplitMix64) for pivot choices: the result of a
/// selection never depends on it, only how quickly it is found.
struct SplitMix64 {
    private var state: UInt64

    /// Creates a generator from a seed.
    init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
