import GateCore

/// The narrow port to a Prometheus-compatible query API.
///
/// Every call names its own evaluation time, so one evaluation cycle can pin all of its queries to
/// one instant, so every check of an evaluation sees the same moment.
public protocol MetricsSource: Sendable {
    /// Evaluates `query` at `time` (Unix seconds).
    func instant(_ query: String, at time: Double) async throws(PrometheusError) -> QueryResponse
    /// Evaluates `query` over `[start, end]` every `step` seconds.
    func range(_ query: String, start: Double, end: Double, step: Double) async throws(PrometheusError) -> QueryResponse
}

/// A successful query answer: the result plus the warnings Prometheus attached to it.
public struct QueryResponse: Sendable, Equatable {
    /// The typed result.
    public var result: QueryResult
    /// Warnings Prometheus returned alongside the data (the data is still valid).
    public var warnings: [String]
    /// Informational annotations (newer Prometheus versions); accepted and kept, never acted on.
    public var infos: [String]

    /// Creates a response.
    public init(result: QueryResult, warnings: [String] = [], infos: [String] = []) {
        self.result = result
        self.warnings = warnings
        self.infos = infos
    }
}

/// One of Prometheus's four result types.
public enum QueryResult: Sendable, Equatable {
    /// An instant vector: float series and native-histogram series.
    case vector([InstantSeries], histograms: [HistogramSeries])
    /// A range vector: float series and native-histogram series.
    case matrix([RangeSeries], histograms: [HistogramSeries])
    /// A scalar at a time.
    case scalar(Sample)
    /// A string at a time.
    case string(time: Double, value: String)

    /// The result as float series a check can judge: a scalar becomes one series with no labels;
    /// native-histogram series are left out (judge them through `histogram_quantile()` and friends).
    public var instantSeries: [InstantSeries]? {
        switch self {
        case .vector(let series, _): return series
        case .scalar(let sample): return [InstantSeries(labels: Labels(), value: sample.value)]
        case .matrix, .string: return nil
        }
    }

    /// The result as range series, for baselines; a scalar becomes one series with one sample.
    public var rangeSeries: [RangeSeries]? {
        switch self {
        case .matrix(let series, _): return series
        case .scalar(let sample): return [RangeSeries(labels: Labels(), samples: [sample])]
        case .vector, .string: return nil
        }
    }

    /// The result type's name as Prometheus spells it.
    public var typeName: String {
        switch self {
        case .vector: return "vector"
        case .matrix: return "matrix"
        case .scalar: return "scalar"
        case .string: return "string"
        }
    }
}

/// A native-histogram series: its labels and its histogram samples, oldest first.
public struct HistogramSeries: Sendable, Equatable {
    /// The series labels.
    public var labels: Labels
    /// `(time, histogram)` pairs.
    public var samples: [(time: Double, histogram: NativeHistogram)]

    /// Creates a histogram series.
    public init(labels: Labels, samples: [(time: Double, histogram: NativeHistogram)]) {
        self.labels = labels
        self.samples = samples
    }

    /// Equal when the labels and every sample's time and histogram are equal.
    public static func == (lhs: HistogramSeries, rhs: HistogramSeries) -> Bool {
        lhs.labels == rhs.labels && lhs.samples.count == rhs.samples.count
            && zip(lhs.samples, rhs.samples).allSatisfy { $0.time == $1.time && $0.histogram == $1.histogram }
    }
}

/// A native-histogram sample as the HTTP API encodes it.
public struct NativeHistogram: Sendable, Equatable {
    /// Total observation count.
    public var count: Double
    /// Sum of observations.
    public var sum: Double
    /// Buckets: boundary rule (0–3 as in the API), lower and upper bound, count.
    public var buckets: [Bucket]

    /// One bucket of a native histogram.
    public struct Bucket: Sendable, Equatable {
        /// 0: open left, 1: open right, 2: open both, 3: closed both (Prometheus's encoding).
        public var boundaryRule: Int
        /// Lower bound.
        public var lower: Double
        /// Upper bound.
        public var upper: Double
        /// Count in the bucket.
        public var count: Double
    }
}
