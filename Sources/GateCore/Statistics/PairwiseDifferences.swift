/// Order statistics of the pairwise differences `first[i] − second[j]` of two sorted samples, found without
/// materialising the `n1 · n2` differences.
///
/// The differences form a matrix sorted along both axes (rows by `first`, columns by `second` reversed), so
/// the number of differences below a pivot is counted in O(n1 + n2) by walking a staircase. Selection picks
/// a pivot among the differences still in play, counts, and discards every row segment on the wrong side,
/// as in Monahan's algorithm for the Hodges-Lehmann estimator, with pivots drawn Floyd-Rivest style from a
/// sample around the wanted rank, so a few counting passes suffice: expected O((n1 + n2) · log(n1 · n2)) time
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
        var search = Search(self)
        return search.select(k)
    }

    /// Several order statistics at once, 1-based ranks in any order: the search first narrows the candidates
    /// to the band holding all of them, once, then selects each rank inside that band.
    func smallest(_ ranks: [Int]) -> [Double] {
        guard let lowest = ranks.min(), let highest = ranks.max() else { return [] }
        var band = Search(self)
        band.bracket(lowest, highest)
        var found: [Int: Double] = [:]
        for rank in ranks.sorted() where found[rank] == nil {
            var search = band
            if let previous = found[rank - 1] {
                // Adjacent ranks (the middle pair of an even count): one counting pass instead of a selection.
                found[rank] = search.next(after: previous, rank: rank - 1)
            } else {
                found[rank] = search.select(rank)
            }
        }
        return ranks.map { found[$0] ?? .nan }
    }

    /// The state of one selection: per row, the columns still in play, and the values bounding them.
    private struct Search {
        let rows: [Double]
        let columns: [Double]
        /// Row i's candidates are columns low[i] ..< high[i]: everything left of them is at most `floor`, everything
        /// right of them at least `ceiling`, and every candidate lies strictly between the two.
        var low: [Int]
        var high: [Int]
        var floor = -Double.infinity
        var ceiling = Double.infinity
        /// Σ low: how many differences are known to be below every candidate.
        var left = 0
        /// How many candidates there are.
        var active: Int
        private var below: [Int]
        private var atOrBelow: [Int]
        private var offsets: [Int]
        private var generator = SplitMix64(seed: 0x9E37_79B9_7F4A_7C15)
        /// Few enough candidates left: sorting them beats another counting pass.
        private static let cutoff = 256

        init(_ differences: PairwiseDifferences) {
            rows = differences.rows
            columns = differences.columns
            low = [Int](repeating: 0, count: rows.count)
            high = [Int](repeating: columns.count, count: rows.count)
            below = low
            atOrBelow = low
            offsets = [Int](repeating: 0, count: rows.count + 1)
            active = differences.count
        }

        /// Narrows the candidates to a band holding ranks `lowest … highest`, with one sample and two counts:
        /// Floyd-Rivest style, the pivots are the sample values a little outside where those ranks should fall.
        mutating func bracket(_ lowest: Int, _ highest: Int) {
            guard active > Self.cutoff else { return }
            var sample: [Double] = []
            drawSample(128, into: &sample)
            let size = sample.count
            func position(_ rank: Int, _ side: Int) -> Int {
                let fraction = Double(rank - left) / Double(active)
                let margin = Int((Double(size) * fraction * (1 - fraction)).squareRoot() * 2.5) + 1
                return min(size - 1, max(0, Int(fraction * Double(size)) + side * margin))
            }
            let lowerPivot = sample[position(lowest, -1)]
            let upperPivot = sample[position(highest, 1)]
            // A pivot is only applied when it keeps every wanted rank among the candidates.
            let (_, atMostLower) = count(lowerPivot)
            if atMostLower < lowest { discardAtOrBelow(lowerPivot) }
            // Counting needs a pivot strictly inside the bounds; an upper pivot equal to the lower one adds nothing.
            guard upperPivot > floor else { return }
            let (lessUpper, _) = count(upperPivot)
            if lessUpper >= highest { discardFrom(upperPivot) }
        }

        /// The `k`-th smallest difference. Each round draws a small sample of candidates, takes the two sample
        /// values just around where rank `k` should fall (Floyd-Rivest), counts at both and keeps what lies between
        /// them; a few rounds leave few candidates, which are sorted.
        mutating func select(_ k: Int) -> Double {
            var sample: [Double] = []
            sample.reserveCapacity(64)
            while active > Self.cutoff {
                let size = min(64, active / 4)
                drawSample(size, into: &sample)
                let fraction = Double(k - left) / Double(active)
                let margin = Int((Double(size) * fraction * (1 - fraction)).squareRoot() * 2) + 1
                let position = Int(fraction * Double(size))
                let lowerPivot = sample[max(0, position - margin)]
                let upperPivot = sample[min(size - 1, position + margin)]

                let (lessLower, atMostLower) = count(lowerPivot)
                if k > lessLower && k <= atMostLower { return lowerPivot }
                if k <= lessLower {
                    discardFrom(lowerPivot)
                    continue
                }
                discardAtOrBelow(lowerPivot)
                guard upperPivot > floor, active > Self.cutoff else { continue }
                let (lessUpper, atMostUpper) = count(upperPivot)
                if k > lessUpper && k <= atMostUpper { return upperPivot }
                if k <= lessUpper { discardFrom(upperPivot) } else { discardAtOrBelow(upperPivot) }
            }
            var candidates: [Double] = []
            candidates.reserveCapacity(active)
            for i in 0..<rows.count where low[i] < high[i] {
                for j in low[i]..<high[i] { candidates.append(rows[i] + columns[j]) }
            }
            candidates.sort()
            return candidates[k - left - 1]
        }

        /// The smallest difference above `value`, which must be a difference (the next one in sorted order, when
        /// the count of those at or below `value` shows no tie reaching rank `k + 1`).
        mutating func next(after value: Double, rank k: Int) -> Double {
            floor = -.infinity
            ceiling = .infinity
            for i in 0..<rows.count {
                low[i] = 0
                high[i] = columns.count
            }
            let (_, atMost) = count(value)
            if atMost > k { return value }
            var next = Double.infinity
            for i in 0..<rows.count where atOrBelow[i] < columns.count {
                next = min(next, rows[i] + columns[atOrBelow[i]])
            }
            return next
        }

        /// `size` candidates drawn uniformly, sorted: a binary search over the rows' running candidate counts each.
        private mutating func drawSample(_ size: Int, into sample: inout [Double]) {
            offsets[0] = 0
            for i in 0..<rows.count { offsets[i + 1] = offsets[i] + (high[i] - low[i]) }
            sample.removeAll(keepingCapacity: true)
            for _ in 0..<size {
                let pick = Int(generator.next() % UInt64(active))
                var lower = 0
                var upper = rows.count  // offsets[lower] ≤ pick < offsets[upper]
                while upper - lower > 1 {
                    let middle = (lower + upper) / 2
                    if offsets[middle] <= pick { lower = middle } else { upper = middle }
                }
                sample.append(rows[lower] + columns[low[lower] + pick - offsets[lower]])
            }
            sample.sort()
        }

        /// Counts the differences below `pivot` and at or below it, row by row, into `below` / `atOrBelow`.
        ///
        /// Rows grow downwards, so each row crosses the pivot at or left of the row above (a staircase walked once).
        /// The pivot lies strictly between `floor` and `ceiling`, so each row's crossing is within its candidates
        /// and the walk starts at their right end.
        private mutating func count(_ pivot: Double) -> (Int, Int) {
            var less = 0
            var lessOrEqual = 0
            let n1 = rows.count
            let n2 = columns.count
            // The hottest loop of judging: buffer pointers spare a bounds check per step.
            rows.withUnsafeBufferPointer { rows in
                columns.withUnsafeBufferPointer { columns in
                    low.withUnsafeBufferPointer { low in
                        high.withUnsafeBufferPointer { high in
                            below.withUnsafeMutableBufferPointer { below in
                                atOrBelow.withUnsafeMutableBufferPointer { atOrBelow in
                                    var strict = n2
                                    var loose = n2
                                    for i in 0..<n1 {
                                        let value = rows[i]
                                        let start = high[i]
                                        if strict > start { strict = start }
                                        if loose > start { loose = start }
                                        let stop = low[i]
                                        while strict > stop, value + columns[strict - 1] >= pivot { strict -= 1 }
                                        // Everything below the pivot is also at or below it.
                                        if loose < strict { loose = strict }
                                        while loose > stop, value + columns[loose - 1] > pivot { loose -= 1 }
                                        below[i] = strict
                                        atOrBelow[i] = loose
                                        less += strict
                                        lessOrEqual += loose
                                    }
                                }
                            }
                        }
                    }
                }
            }
            return (less, lessOrEqual)
        }

        /// Discards every candidate at or below the last counted pivot (the answer lies above it).
        private mutating func discardAtOrBelow(_ pivot: Double) {
            floor = pivot
            for i in 0..<rows.count { low[i] = atOrBelow[i] }
            recount()
        }

        /// Discards every candidate at or above the last counted pivot (the answer lies below it).
        private mutating func discardFrom(_ pivot: Double) {
            ceiling = pivot
            for i in 0..<rows.count { high[i] = below[i] }
            recount()
        }

        private mutating func recount() {
            active = 0
            left = 0
            for i in 0..<rows.count {
                if high[i] < low[i] { high[i] = low[i] }
                active += high[i] - low[i]
                left += low[i]
            }
        }
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
