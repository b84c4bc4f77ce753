/// A set of Prometheus labels, kept sorted by name so that equal sets compare and hash equal.
///
/// Series are paired with their baseline by this value (as Kayenta does): two series are "the same
/// series" exactly when their label sets are equal.
public struct Labels: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// The label pairs, sorted by name.
    public let pairs: [(name: String, value: String)]

    /// Creates a label set from a dictionary; `__name__` is kept like any other label.
    public init(_ dictionary: [String: String] = [:]) {
        self.pairs = dictionary.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) }
    }

    /// The labels as a dictionary.
    public var dictionary: [String: String] {
        Dictionary(uniqueKeysWithValues: pairs.map { ($0.name, $0.value) })
    }

    /// The value of one label, if present.
    public subscript(name: String) -> String? { pairs.first { $0.name == name }?.value }

    /// PromQL selector form, e.g. `{instance="10.0.0.1:9100", job="node"}`; `{}` for the empty set.
    public var description: String {
        "{" + pairs.map { "\($0.name)=\(PromQLString.quote($0.value))" }.joined(separator: ", ") + "}"
    }

    /// Two label sets are equal when they hold the same names with the same values.
    public static func == (lhs: Labels, rhs: Labels) -> Bool {
        lhs.pairs.count == rhs.pairs.count && zip(lhs.pairs, rhs.pairs).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    /// Hashes every name and value, consistently with `==`.
    public func hash(into hasher: inout Hasher) {
        for pair in pairs {
            hasher.combine(pair.name)
            hasher.combine(pair.value)
        }
    }

    /// Orders label sets by their selector form, the order series are listed in.
    public static func < (lhs: Labels, rhs: Labels) -> Bool {
        // Pair by pair, without building strings: alert books and outcomes sort label sets often.
        for (left, right) in zip(lhs.pairs, rhs.pairs) {
            if left.name != right.name { return left.name < right.name }
            if left.value != right.value { return left.value < right.value }
        }
        return lhs.pairs.count < rhs.pairs.count
    }

    /// Decodes a label set from a JSON object of names to values.
    public init(from decoder: any Decoder) throws {
        self.init(try [String: String](from: decoder))
    }

    /// Encodes the label set as a JSON object of names to values.
    public func encode(to encoder: any Encoder) throws {
        try dictionary.encode(to: encoder)
    }
}

/// One sample: a Unix timestamp in seconds and a value (which may be NaN or ±Inf).
public struct Sample: Sendable, Equatable, Codable {
    /// Unix time in seconds.
    public var time: Double
    /// The sample value.
    public var value: Double

    /// Creates a sample.
    public init(time: Double, value: Double) {
        self.time = time
        self.value = value
    }
}

/// One series of an instant query: its labels and its value at the evaluation time.
public struct InstantSeries: Sendable, Equatable {
    /// The series' labels.
    public var labels: Labels
    /// The value at the evaluation time; NaN when the query computed no number (e.g. 0/0).
    public var value: Double

    /// Creates an instant series.
    public init(labels: Labels, value: Double) {
        self.labels = labels
        self.value = value
    }
}

/// One series of a range query: its labels and its samples, oldest first.
public struct RangeSeries: Sendable, Equatable {
    /// The series' labels.
    public var labels: Labels
    /// The samples, oldest first.
    public var samples: [Sample]

    /// Creates a range series.
    public init(labels: Labels, samples: [Sample]) {
        self.labels = labels
        self.samples = samples
    }
}

/// A threshold for a relative rule: a percentage of the baseline, or an absolute delta.
public enum Delta: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    /// `"50%"`: the value may move by this percentage of the baseline.
    case percent(Double)
    /// `"0.002"`: the value may move by this absolute amount.
    case absolute(Double)

    /// The threshold as written in configuration: `50%` or `0.002`.
    public var description: String {
        switch self {
        case .percent(let p): return "\(formatNumber(p))%"
        case .absolute(let a): return formatNumber(a)
        }
    }
}

/// What to do with a series that was in the baseline but is gone now.
public enum MissingSeriesPolicy: String, Sendable, Equatable, Codable, CaseIterable {
    /// A vanished series breaks the check (a crashed target).
    case fail
    /// A vanished series is not a problem (pods replaced by an upgrade get new labels).
    case ignore
}

/// What to do when a check's query returns no series at all.
public enum NoDataPolicy: String, Sendable, Equatable, Codable, CaseIterable {
    /// No data breaks the check.
    case fail
    /// No data is missing evidence: never pass, never restore.
    case inconclusive
    /// No data is fine (the check passes).
    case pass
    /// No data is judged as a single series with value 0.
    case zero
}

/// How a baseline series is summarised over the lookback range.
public enum BaselineAggregate: String, Sendable, Equatable, Codable, CaseIterable {
    /// The arithmetic mean of the samples.
    case mean
    /// The middle sample (the mean of the middle two for an even count).
    case median
    /// The 90th percentile, interpolated linearly as PromQL's `quantile_over_time(0.9, …)` does.
    case p90
    /// The largest sample.
    case max
}

/// A named PromQL query and the rules its series are judged by.
public struct CheckSpec: Sendable, Equatable, Codable {
    /// The check's name, unique in a configuration.
    public var name: String
    /// The PromQL query, with `{{label}}` templates already filled in.
    public var query: String
    /// Absolute lower bound, per series.
    public var min: Double?
    /// Absolute upper bound, per series.
    public var max: Double?
    /// Largest allowed increase over the baseline series.
    public var maxIncrease: Delta?
    /// Largest allowed decrease below the baseline series.
    public var maxDecrease: Delta?
    /// Relative rules never fail a value at or below this (quiet zero baselines).
    public var floor: Double?
    /// Judge `current − value at open` (with reset handling) instead of the value itself.
    public var counter: Bool
    /// Policy for a baseline series that is gone now.
    public var missingSeries: MissingSeriesPolicy
    /// Policy for a query with no series at all.
    public var noData: NoDataPolicy
    /// A critical check fails the gate; a non-critical one only warns.
    public var critical: Bool
    /// Statistical judging of recent samples against the baseline range's samples, if configured.
    public var compare: CompareSpec?

    /// Creates a check; rules left `nil` do not apply.
    public init(
        name: String,
        query: String,
        min: Double? = nil,
        max: Double? = nil,
        maxIncrease: Delta? = nil,
        maxDecrease: Delta? = nil,
        floor: Double? = nil,
        counter: Bool = false,
        missingSeries: MissingSeriesPolicy = .fail,
        noData: NoDataPolicy = .inconclusive,
        critical: Bool = true,
        compare: CompareSpec? = nil
    ) {
        self.name = name
        self.query = query
        self.min = min
        self.max = max
        self.maxIncrease = maxIncrease
        self.maxDecrease = maxDecrease
        self.floor = floor
        self.counter = counter
        self.missingSeries = missingSeries
        self.noData = noData
        self.critical = critical
        self.compare = compare
    }
}

/// Formats a number the way an on-call engineer wants to read it: no trailing `.0`, Prometheus
/// spellings for the special values.
public func formatNumber(_ value: Double) -> String {
    if value.isNaN { return "NaN" }
    if value == .infinity { return "+Inf" }
    if value == -.infinity { return "-Inf" }
    if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
    return "\(value)"
}
