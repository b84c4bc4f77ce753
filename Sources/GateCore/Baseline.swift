/// One baseline series: the summary of a check's series over the lookback range that ends at the open time.
///
/// The baseline is pinned when a window opens and never moves during the window. For a counter check
/// `value` is the counter's value at open (the last sample), not an aggregate.
public struct BaselineSeries: Sendable, Equatable, Codable {
    /// The series' label set; current series are paired with this by equality.
    public var labels: Labels
    /// The aggregate over the range (mean, median, p90 or max), or the value at open for a counter.
    public var value: Double
    /// The smallest sample in the range.
    public var min: Double
    /// The largest sample in the range.
    public var max: Double
    /// How many samples (NaN samples excluded) the summary is built from.
    public var samples: Int

    /// Creates a baseline series from its summary values.
    public init(labels: Labels, value: Double, min: Double, max: Double, samples: Int) {
        self.labels = labels
        self.value = value
        self.min = min
        self.max = max
        self.samples = samples
    }

    private enum CodingKeys: String, CodingKey {
        case labels, value, min, max, samples
    }

    /// Decodes a baseline series; numbers may be JSON numbers or the strings `"NaN"`, `"+Inf"`, `"-Inf"`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.labels = try container.decode(Labels.self, forKey: .labels)
        self.value = try container.decodeNumber(forKey: .value)
        self.min = try container.decodeNumber(forKey: .min)
        self.max = try container.decodeNumber(forKey: .max)
        self.samples = try container.decode(Int.self, forKey: .samples)
    }

    /// Encodes a baseline series, writing non-finite numbers as `"NaN"`, `"+Inf"` or `"-Inf"`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(labels, forKey: .labels)
        try container.encodeNumber(value, forKey: .value)
        try container.encodeNumber(min, forKey: .min)
        try container.encodeNumber(max, forKey: .max)
        try container.encode(samples, forKey: .samples)
    }
}

/// Summarises the series of a range query into baseline series, sorted by labels.
///
/// - `value` is the `aggregate` over the range; `p90` and `median` use linear interpolation between the
///   two nearest ranks, exactly like PromQL's `quantile_over_time`, so a baseline can be reproduced with
///   the `@` modifier. For `counter: true`, `value` is the last sample (the counter's value at open).
/// - `min`/`max` are the spread over the range.
/// - NaN samples are skipped; a series left with no samples is dropped (it carries no evidence).
public func summarizeBaseline(_ series: [RangeSeries], aggregate: BaselineAggregate, counter: Bool) -> [BaselineSeries] {
    var summaries: [BaselineSeries] = []
    for rangeSeries in series {
        let samples = rangeSeries.samples.filter { !$0.value.isNaN }
        guard var lowest = samples.first?.value else { continue }
        var highest = lowest
        var latest = samples[0]
        for sample in samples {
            lowest = Swift.min(lowest, sample.value)
            highest = Swift.max(highest, sample.value)
            // `>=`: on equal timestamps the later sample in the response wins.
            if sample.time >= latest.time { latest = sample }
        }
        let values = samples.map(\.value)
        let value = counter ? latest.value : summarize(values, aggregate)
        summaries.append(BaselineSeries(labels: rangeSeries.labels, value: value, min: lowest, max: highest, samples: values.count))
    }
    return summaries.sorted { $0.labels < $1.labels }
}

/// The aggregate of a non-empty list of non-NaN values.
func summarize(_ values: [Double], _ aggregate: BaselineAggregate) -> Double {
    switch aggregate {
    case .mean: return mean(values)
    case .median: return quantile(0.5, of: values)
    case .p90: return quantile(0.9, of: values)
    case .max: return values.max() ?? .nan
    }
}

/// The arithmetic mean, summed with Neumaier compensation so long flat ranges do not drift.
func mean(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return .nan }
    // Compensation of infinities yields NaN; a plain sum gives the right infinite (or NaN for +Inf + -Inf).
    if values.contains(where: { $0.isInfinite }) {
        return values.reduce(0, +) / Double(values.count)
    }
    var sum = 0.0
    var compensation = 0.0
    for value in values {
        let total = sum + value
        if abs(sum) >= abs(value) {
            compensation += (sum - total) + value
        } else {
            compensation += (value - total) + sum
        }
        sum = total
    }
    return (sum + compensation) / Double(values.count)
}

/// The `q` quantile with linear interpolation between closest ranks (PromQL's `quantile_over_time`).
func quantile(_ q: Double, of values: [Double]) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    let rank = q * Double(sorted.count - 1)
    let lowerIndex = Swift.max(0, Int(rank.rounded(.down)))
    let upperIndex = Swift.min(sorted.count - 1, lowerIndex + 1)
    let weight = rank - rank.rounded(.down)
    // Without this, an infinite neighbour multiplied by a zero weight would give NaN.
    if weight == 0 { return sorted[lowerIndex] }
    return sorted[lowerIndex] * (1 - weight) + sorted[upperIndex] * weight
}

// MARK: - Non-finite numbers in JSON

// JSONEncoder refuses NaN and ±Inf by default; Prometheus spells them "NaN", "+Inf", "-Inf" in JSON strings,
// so core values use the same spelling and read either form back.

/// Parses a number written as a JSON string: Prometheus spellings (`NaN`, `+Inf`, `-Inf`) or a decimal.
func parseNumber(_ text: String) -> Double? {
    switch text {
    case "NaN": return .nan
    case "+Inf", "Inf": return .infinity
    case "-Inf": return -.infinity
    default: return Double(text)
    }
}

extension KeyedEncodingContainer {
    /// Encodes a finite number as a JSON number and a non-finite one as its Prometheus string spelling.
    mutating func encodeNumber(_ value: Double, forKey key: Key) throws {
        if value.isFinite {
            try encode(value, forKey: key)
        } else {
            try encode(formatNumber(value), forKey: key)
        }
    }

    /// Like `encodeNumber(_:forKey:)`, omitting the key for `nil` (as synthesized `Codable` does).
    mutating func encodeNumberIfPresent(_ value: Double?, forKey key: Key) throws {
        if let value { try encodeNumber(value, forKey: key) }
    }
}

extension KeyedDecodingContainer {
    /// Decodes a number written either as a JSON number or as a string (`"NaN"`, `"+Inf"`, `"-Inf"`, `"0.5"`).
    func decodeNumber(forKey key: Key) throws -> Double {
        if let number = try? decode(Double.self, forKey: key) { return number }
        let text = try decode(String.self, forKey: key)
        guard let number = parseNumber(text) else {
            throw DecodingError.dataCorruptedError(
                forKey: key,
                in: self,
                debugDescription: "expected a number or \"NaN\", \"+Inf\", \"-Inf\", got \"\(text)\""
            )
        }
        return number
    }

    /// Like `decodeNumber(forKey:)`, returning `nil` for an absent key or `null`.
    func decodeNumberIfPresent(forKey key: Key) throws -> Double? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try decodeNumber(forKey: key)
    }
}
