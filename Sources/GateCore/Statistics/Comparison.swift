/// The statistical test a `compare` block runs.
public enum ComparisonTest: String, Sendable, Equatable, Codable, CaseIterable {
    /// The two-sided Mann-Whitney U test with a Hodges-Lehmann shift interval.
    case mannWhitney
}

/// A check's `compare` block: judge the window's recent samples against the pinned baseline range's samples.
public struct CompareSpec: Sendable, Equatable, Codable {
    /// The test to run.
    public var test: ComparisonTest
    /// Seconds of recent samples, ending at the evaluation time.
    public var window: Double
    /// Seconds between samples, for the recent and the baseline range alike.
    public var step: Double
    /// The two-sided confidence of the interval on the shift, in (0, 1).
    public var confidence: Double
    /// How large an upward effect may be before a significant rise fails; `nil` (`none`): rises never fail.
    public var allowedIncrease: Delta?
    /// How large a downward effect may be before a significant fall fails; `nil` (`none`): falls never fail.
    public var allowedDecrease: Delta?
    /// Fewer finite samples than this on either side make the series inconclusive.
    public var minSamples: Int

    /// Creates a compare block.
    public init(
        test: ComparisonTest = .mannWhitney,
        window: Double,
        step: Double,
        confidence: Double = 0.95,
        allowedIncrease: Delta? = nil,
        allowedDecrease: Delta? = nil,
        minSamples: Int = 20
    ) {
        self.test = test
        self.window = window
        self.step = step
        self.confidence = confidence
        self.allowedIncrease = allowedIncrease
        self.allowedDecrease = allowedDecrease
        self.minSamples = minSamples
    }
}

/// The numbers behind one series' comparison, as the gate body and logs carry them.
public struct SeriesComparison: Sendable, Equatable, Codable {
    /// Finite recent samples compared.
    public var recentSamples: Int
    /// Finite baseline samples compared.
    public var baselineSamples: Int
    /// Median of the recent samples (`nil` without samples).
    public var recentMedian: Double?
    /// Median of the baseline samples (`nil` without samples).
    public var baselineMedian: Double?
    /// The Hodges-Lehmann shift, recent − baseline.
    public var shift: Double?
    /// Lower bound of the interval on the shift.
    public var lower: Double?
    /// Upper bound of the interval on the shift.
    public var upper: Double?
    /// The interval's two-sided confidence.
    public var confidence: Double
    /// The effect size: percent change of the mean for a percent allowance, else the change of the mean.
    public var effect: Double?
    /// `percent` or `absolute`: how `effect` is expressed.
    public var effectUnit: String
    /// The allowance the effect was held against, as configured (`+10%`, `-0.5`, `none`).
    public var allowance: String
    /// The two-sided p-value of the Mann-Whitney test.
    public var pValue: Double?
    /// The U statistic of the recent samples.
    public var u: Double?

    private enum CodingKeys: String, CodingKey {
        case recentSamples, baselineSamples, recentMedian, baselineMedian, shift, lower, upper, confidence, effect, effectUnit,
            allowance, pValue, u
    }

    /// Creates the numbers of one comparison.
    public init(
        recentSamples: Int,
        baselineSamples: Int,
        recentMedian: Double? = nil,
        baselineMedian: Double? = nil,
        shift: Double? = nil,
        lower: Double? = nil,
        upper: Double? = nil,
        confidence: Double,
        effect: Double? = nil,
        effectUnit: String,
        allowance: String,
        pValue: Double? = nil,
        u: Double? = nil
    ) {
        self.recentSamples = recentSamples
        self.baselineSamples = baselineSamples
        self.recentMedian = recentMedian
        self.baselineMedian = baselineMedian
        self.shift = shift
        self.lower = lower
        self.upper = upper
        self.confidence = confidence
        self.effect = effect
        self.effectUnit = effectUnit
        self.allowance = allowance
        self.pValue = pValue
        self.u = u
    }

    /// Decodes the numbers; non-finite ones may be the strings `"NaN"`, `"+Inf"`, `"-Inf"`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        recentSamples = try container.decode(Int.self, forKey: .recentSamples)
        baselineSamples = try container.decode(Int.self, forKey: .baselineSamples)
        recentMedian = try container.decodeNumberIfPresent(forKey: .recentMedian)
        baselineMedian = try container.decodeNumberIfPresent(forKey: .baselineMedian)
        shift = try container.decodeNumberIfPresent(forKey: .shift)
        lower = try container.decodeNumberIfPresent(forKey: .lower)
        upper = try container.decodeNumberIfPresent(forKey: .upper)
        confidence = try container.decodeNumber(forKey: .confidence)
        effect = try container.decodeNumberIfPresent(forKey: .effect)
        effectUnit = try container.decode(String.self, forKey: .effectUnit)
        allowance = try container.decode(String.self, forKey: .allowance)
        pValue = try container.decodeNumberIfPresent(forKey: .pValue)
        u = try container.decodeNumberIfPresent(forKey: .u)
    }

    /// Encodes the numbers, writing non-finite ones (an unbounded interval, say) as Prometheus strings.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(recentSamples, forKey: .recentSamples)
        try container.encode(baselineSamples, forKey: .baselineSamples)
        try container.encodeNumberIfPresent(recentMedian, forKey: .recentMedian)
        try container.encodeNumberIfPresent(baselineMedian, forKey: .baselineMedian)
        try container.encodeNumberIfPresent(shift, forKey: .shift)
        try container.encodeNumberIfPresent(lower, forKey: .lower)
        try container.encodeNumberIfPresent(upper, forKey: .upper)
        try container.encodeNumber(confidence, forKey: .confidence)
        try container.encodeNumberIfPresent(effect, forKey: .effect)
        try container.encode(effectUnit, forKey: .effectUnit)
        try container.encode(allowance, forKey: .allowance)
        try container.encodeNumberIfPresent(pValue, forKey: .pValue)
        try container.encodeNumberIfPresent(u, forKey: .u)
    }
}

/// Range samples for a comparison: the series, or why the range query gave none.
public enum RangeEvidence: Sendable, Equatable {
    /// The range query ran; its series (possibly none).
    case series([RangeSeries])
    /// The range query failed; the text says why.
    case unavailable(String)
}

/// The two sides of a comparison for one check at one evaluation.
public struct ComparisonEvidence: Sendable, Equatable {
    /// Samples over `compare.window` ending at the evaluation time.
    public var recent: RangeEvidence
    /// Samples over the pinned baseline range.
    public var baseline: RangeEvidence

    /// Creates the evidence of one comparison.
    public init(recent: RangeEvidence, baseline: RangeEvidence) {
        self.recent = recent
        self.baseline = baseline
    }
}

/// The verdict on one series' comparison: its result, the sentence for people, and its numbers.
public struct ComparisonJudgement: Sendable, Equatable {
    /// `broken` when the shift is significant and larger than allowed, `inconclusive` on too little evidence.
    public var result: CheckResult
    /// The rule as configured, e.g. `compare allowedIncrease 10%`; `nil` when the series passes.
    public var rule: String?
    /// The sentence for people; `nil` when the series passes.
    public var reason: String?
    /// The numbers, also for a passing series.
    public var numbers: SeriesComparison
}

/// Judges one series' recent samples against its baseline samples under a `compare` block.
///
/// - Important: too few finite samples on either side (`minSamples`), every sample equal, or samples too
///   few for the configured confidence are `inconclusive`, never a pass.
///
/// The series fails high when the interval's lower bound is above zero **and** the effect (the change of the
/// mean, as a percentage of the baseline mean for a percent allowance, else absolute) exceeds
/// `allowedIncrease`; it fails low when the upper bound is below zero and the fall exceeds `allowedDecrease`.
/// A significant shift within the allowance, or a large effect the interval does not confirm, passes.
public func judgeComparison(check: String, spec: CompareSpec, labels: Labels, recent: [Double], baseline: [Double]) -> ComparisonJudgement {
    let unit = (spec.allowedIncrease ?? spec.allowedDecrease).map { $0.isPercentage ? "percent" : "absolute" } ?? "percent"
    let allowance = allowanceText(spec)
    let recentCount = recent.count(where: \.isFinite)
    let baselineCount = baseline.count(where: \.isFinite)
    var numbers = SeriesComparison(
        recentSamples: recentCount,
        baselineSamples: baselineCount,
        confidence: spec.confidence,
        effectUnit: unit,
        allowance: allowance
    )
    let subject = ComparisonSubject(check: check, labels: labels, spec: spec)

    if recentCount < spec.minSamples || baselineCount < spec.minSamples {
        return ComparisonJudgement(
            result: .inconclusive,
            rule: "compare minSamples \(spec.minSamples)",
            reason: subject.tooFewSamples(recent: recentCount, baseline: baselineCount),
            numbers: numbers
        )
    }
    guard let comparison = compareSamples(recent: recent, baseline: baseline, confidence: spec.confidence) else {
        return ComparisonJudgement(result: .inconclusive, rule: "compare \(spec.test.rawValue)", reason: subject.allTies(recent), numbers: numbers)
    }
    numbers.recentMedian = comparison.recentMedian
    numbers.baselineMedian = comparison.baselineMedian
    numbers.shift = comparison.shift
    numbers.pValue = comparison.test.pValue
    numbers.u = comparison.test.u
    if comparison.lower.isFinite { numbers.lower = comparison.lower }
    if comparison.upper.isFinite { numbers.upper = comparison.upper }
    guard comparison.lower.isFinite, comparison.upper.isFinite else {
        return ComparisonJudgement(
            result: .inconclusive,
            rule: "compare confidence \(formatNumber(spec.confidence))",
            reason: subject.tooFewForConfidence(comparison),
            numbers: numbers
        )
    }

    let rise = effect(of: comparison, as: spec.allowedIncrease ?? spec.allowedDecrease)
    numbers.effect = rise
    if comparison.lower > 0, let limit = spec.allowedIncrease {
        let up = effect(of: comparison, as: limit)
        numbers.effect = up
        numbers.effectUnit = limit.isPercentage ? "percent" : "absolute"
        if up > limit.magnitude {
            return ComparisonJudgement(
                result: .broken,
                rule: "compare allowedIncrease \(limit)",
                reason: subject.shifted(comparison, effect: up, limit: limit, rising: true),
                numbers: numbers
            )
        }
    }
    if comparison.upper < 0, let limit = spec.allowedDecrease {
        let down = effect(of: comparison, as: limit)
        numbers.effect = down
        numbers.effectUnit = limit.isPercentage ? "percent" : "absolute"
        if -down > limit.magnitude {
            return ComparisonJudgement(
                result: .broken,
                rule: "compare allowedDecrease \(limit)",
                reason: subject.shifted(comparison, effect: down, limit: limit, rising: false),
                numbers: numbers
            )
        }
    }
    return ComparisonJudgement(result: .pass, rule: nil, reason: nil, numbers: numbers)
}

/// The effect size: the change of the mean as a percentage of the baseline mean (infinite from a zero
/// baseline), or the absolute change of the mean.
private func effect(of comparison: SampleComparison, as limit: Delta?) -> Double {
    let change = comparison.recentMean - comparison.baselineMean
    guard let limit, limit.isPercentage else { return change }
    if comparison.baselineMean == 0 { return change == 0 ? 0 : change > 0 ? .infinity : -.infinity }
    return change / abs(comparison.baselineMean) * 100
}

private func allowanceText(_ spec: CompareSpec) -> String {
    let up = spec.allowedIncrease.map { "+\($0)" }
    let down = spec.allowedDecrease.map { "-\($0)" }
    switch (up, down) {
    case (let up?, let down?): return "\(up) / \(down)"
    case (let up?, nil): return up
    case (nil, let down?): return down
    case (nil, nil): return "none"
    }
}

extension Delta {
    /// Whether the delta is a percentage of the baseline.
    var isPercentage: Bool {
        if case .percent = self { return true }
        return false
    }

    /// The size of the delta, without its unit.
    var magnitude: Double {
        switch self {
        case .percent(let value), .absolute(let value): return abs(value)
        }
    }
}
