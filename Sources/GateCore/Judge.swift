/// What one run of a check's query produced: its series, or why there is no evidence at all.
public enum Evidence: Sendable, Equatable {
    /// The query ran; its series at the evaluation time (an empty list means "no data").
    case series([InstantSeries])
    /// The query could not be run; the associated text says why, e.g. `Prometheus unreachable: …`.
    case unavailable(String)
}

/// The result of judging one series, or one check, once.
public enum CheckResult: String, Sendable, Equatable, Codable {
    /// Every rule holds.
    case pass
    /// A rule is broken.
    case broken
    /// Evidence is missing, so nothing can be said either way.
    case inconclusive
}

/// How one series was judged: its value, its baseline, and the rule it broke, if any.
public struct SeriesOutcome: Sendable, Equatable, Codable {
    /// The series' labels (`{}` for a query that returned no data).
    public var labels: Labels
    /// The judged value (the increase since open for a counter); `nil` when there is none (missing, NaN, no data).
    public var value: Double?
    /// The paired baseline value (the value at open for a counter); `nil` for a new series.
    public var baseline: Double?
    /// The rule that broke or made the series inconclusive, as written in the configuration (`min 1`,
    /// `maxIncrease 50%`, `missingSeries fail`, `noData inconclusive`); `nil` when the series is fine.
    public var rule: String?
    /// The full sentence for people, naming the check, series, value, baseline and rule; `nil` when fine.
    public var reason: String?
    /// The series' result.
    public var result: CheckResult
    /// The numbers of the statistical comparison, for a check with a `compare` block.
    public var comparison: SeriesComparison?

    /// Creates a series outcome.
    public init(
        labels: Labels,
        value: Double?,
        baseline: Double?,
        rule: String? = nil,
        reason: String? = nil,
        result: CheckResult,
        comparison: SeriesComparison? = nil
    ) {
        self.labels = labels
        self.value = value
        self.baseline = baseline
        self.rule = rule
        self.reason = reason
        self.result = result
        self.comparison = comparison
    }

    private enum CodingKeys: String, CodingKey {
        case labels, value, baseline, rule, reason, result, comparison
    }

    /// Decodes a series outcome; numbers may be JSON numbers or the strings `"NaN"`, `"+Inf"`, `"-Inf"`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.labels = try container.decode(Labels.self, forKey: .labels)
        self.value = try container.decodeNumberIfPresent(forKey: .value)
        self.baseline = try container.decodeNumberIfPresent(forKey: .baseline)
        self.rule = try container.decodeIfPresent(String.self, forKey: .rule)
        self.reason = try container.decodeIfPresent(String.self, forKey: .reason)
        self.result = try container.decode(CheckResult.self, forKey: .result)
        self.comparison = try container.decodeIfPresent(SeriesComparison.self, forKey: .comparison)
    }

    /// Encodes a series outcome, writing non-finite numbers (a `+Inf` latency, say) as Prometheus strings.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(labels, forKey: .labels)
        try container.encodeNumberIfPresent(value, forKey: .value)
        try container.encodeNumberIfPresent(baseline, forKey: .baseline)
        try container.encodeIfPresent(rule, forKey: .rule)
        try container.encodeIfPresent(reason, forKey: .reason)
        try container.encode(result, forKey: .result)
        try container.encodeIfPresent(comparison, forKey: .comparison)
    }

    init(finding: Finding, labels: Labels, value: Double?, baseline: Double?, result: CheckResult) {
        self.init(labels: labels, value: value, baseline: baseline, rule: finding.rule, reason: finding.description, result: result)
    }
}

/// How one check was judged once: its result, every series, and the reasons for people.
public struct CheckOutcome: Sendable, Equatable, Codable {
    /// The check's name.
    public var check: String
    /// Whether the check is critical (can fail the gate) or warning-only.
    public var critical: Bool
    /// `broken` if any series is broken, else `inconclusive` if any is (or there is no evidence), else `pass`.
    public var result: CheckResult
    /// Every judged series, fine ones too: broken first, then inconclusive, then pass; within each by labels.
    public var series: [SeriesOutcome]
    /// The reasons of the broken and inconclusive series, in `series` order, or why there is no evidence.
    public var reasons: [String]

    /// Creates a check outcome.
    public init(check: String, critical: Bool, result: CheckResult, series: [SeriesOutcome], reasons: [String]) {
        self.check = check
        self.critical = critical
        self.result = result
        self.series = series
        self.reasons = reasons
    }
}

/// Judges one check once: pairs the current series with the baseline by labels and applies the check's rules
/// to every series: absolute bounds on the value, relative rules against the baseline series.
///
/// - Important: Missing evidence is never a pass: an unavailable query is `inconclusive`, and no data or a NaN
///   value is judged by the check's `noData` policy (`inconclusive` by default).
///
/// - `min`/`max` bound the judged value; they apply to every series, new ones included.
/// - `maxIncrease`/`maxDecrease` compare with the paired baseline; a percentage of a zero baseline makes any
///   increase infinite (that is what `floor` is for). `maxIncrease` never breaks at or below `floor`;
///   `maxDecrease` never breaks when the baseline is at or below `floor`.
/// - For a counter the judged value is the increase since open (a reset counts the current value as the
///   increase); a new counter series started inside the window, so its increase is its current value.
/// - A baseline series gone now breaks the check under `missingSeries: fail`, but only when the query
///   returned at least one series: a query with no data at all is governed by `noData` alone.
/// - When a series breaks several rules, the first in the order `min`, `max`, `maxIncrease`, `maxDecrease` is
///   reported.
public func judge(_ check: CheckSpec, evidence: Evidence, baseline: [BaselineSeries]) -> CheckOutcome {
    let current: [InstantSeries]
    switch evidence {
    case .unavailable(let why):
        let reason = Finding.noEvidence(check: check.name, why: why).description
        return CheckOutcome(check: check.name, critical: check.critical, result: .inconclusive, series: [], reasons: [reason])
    case .series(let series):
        current = series
    }

    // Prometheus never returns two series with one label set; should a baseline do so, the first wins.
    var baselineByLabels: [Labels: BaselineSeries] = [:]
    var uniqueBaseline: [BaselineSeries] = []
    for series in baseline where baselineByLabels[series.labels] == nil {
        baselineByLabels[series.labels] = series
        uniqueBaseline.append(series)
    }

    var outcomes: [SeriesOutcome] = []
    if current.isEmpty {
        switch check.noData {
        case .zero:
            outcomes.append(judgeSeries(check, labels: Labels(), value: 0, baseline: baselineByLabels[Labels()]))
        case .pass:
            break
        case .fail, .inconclusive:
            let finding = Finding.noSeries(check: check.name, baselineSeries: uniqueBaseline.count, policy: check.noData)
            let result: CheckResult = check.noData == .fail ? .broken : .inconclusive
            outcomes.append(SeriesOutcome(finding: finding, labels: Labels(), value: nil, baseline: nil, result: result))
        }
    } else {
        for series in current {
            outcomes.append(judgeSeries(check, labels: series.labels, value: series.value, baseline: baselineByLabels[series.labels]))
        }
        if check.missingSeries == .fail {
            let present = Set(current.map(\.labels))
            for series in uniqueBaseline where !present.contains(series.labels) {
                let finding = Finding.missing(check: check.name, labels: series.labels, baseline: series.value, policy: .fail)
                outcomes.append(SeriesOutcome(finding: finding, labels: series.labels, value: nil, baseline: series.value, result: .broken))
            }
        }
    }

    return finishOutcome(check, outcomes)
}

/// Judges one check once with its `compare` block too: the rules of `judge(_:evidence:baseline:)` on the
/// instant evidence, and the statistical comparison of every present, paired series. Any broken rule breaks
/// the series; the first broken rule's sentence is reported (threshold rules before the comparison).
///
/// - Important: a comparison that cannot run (a range query failed) makes the check inconclusive unless a
///   threshold rule already broke it; a series present now and in the baseline range but with too few
///   samples is inconclusive. New series (absent from the baseline range) are judged by absolute rules only.
public func judge(_ check: CheckSpec, evidence: Evidence, baseline: [BaselineSeries], comparison: ComparisonEvidence?) -> CheckOutcome {
    let base = judge(check, evidence: evidence, baseline: baseline)
    guard let spec = check.compare, let comparison, case .series(let current) = evidence else { return base }
    let recentSeries: [RangeSeries]
    let baselineSeries: [RangeSeries]
    switch (comparison.recent, comparison.baseline) {
    case (.unavailable(let why), _), (_, .unavailable(let why)):
        var outcome = base
        outcome.reasons.append(Finding.noEvidence(check: check.name, why: "compare: \(why)").description)
        if outcome.result == .pass { outcome.result = .inconclusive }
        return outcome
    case (.series(let recent), .series(let baseline)):
        recentSeries = recent
        baselineSeries = baseline
    }
    var recentByLabels: [Labels: [Double]] = [:]
    for series in recentSeries where recentByLabels[series.labels] == nil { recentByLabels[series.labels] = series.samples.map(\.value) }
    var baselineByLabels: [Labels: [Double]] = [:]
    for series in baselineSeries where baselineByLabels[series.labels] == nil {
        baselineByLabels[series.labels] = series.samples.map(\.value)
    }
    let present = Set(current.map(\.labels))
    let outcomes = base.series.map { outcome -> SeriesOutcome in
        guard present.contains(outcome.labels) else { return outcome }
        guard let before = baselineByLabels[outcome.labels], !before.isEmpty else {
            // A series pinned at open whose baseline samples Prometheus no longer returns (retention shorter than
            // the soak, a dropped block): nothing to compare with is missing evidence, never a pass.
            guard outcome.baseline != nil, outcome.result.severity > CheckResult.inconclusive.severity else { return outcome }
            var missing = outcome
            missing.result = .inconclusive
            missing.reason =
                Finding.noEvidence(
                    check: check.name,
                    why: "compare: no baseline samples for \(outcome.labels) in the pinned range any more (Prometheus retention?)"
                ).description
            return missing
        }
        let judgement = judgeComparison(
            check: check.name,
            spec: spec,
            labels: outcome.labels,
            recent: recentByLabels[outcome.labels] ?? [],
            baseline: before
        )
        var merged = outcome
        merged.comparison = judgement.numbers
        if judgement.result.severity < outcome.result.severity {
            merged.result = judgement.result
            merged.rule = judgement.rule
            merged.reason = judgement.reason
        }
        return merged
    }
    return finishOutcome(check, outcomes)
}

/// Orders series outcomes (broken, inconclusive, pass; then by labels) and derives the check's result and reasons.
private func finishOutcome(_ check: CheckSpec, _ outcomes: [SeriesOutcome]) -> CheckOutcome {
    let sorted = outcomes.enumerated().sorted { lhs, rhs in
        let (left, right) = (lhs.element, rhs.element)
        if left.result.severity != right.result.severity { return left.result.severity < right.result.severity }
        if left.labels != right.labels { return left.labels < right.labels }
        return lhs.offset < rhs.offset
    }.map(\.element)
    let result: CheckResult =
        sorted.contains { $0.result == .broken } ? .broken : sorted.contains { $0.result == .inconclusive } ? .inconclusive : .pass
    let reasons = sorted.filter { $0.result != .pass }.compactMap(\.reason)
    return CheckOutcome(check: check.name, critical: check.critical, result: result, series: sorted, reasons: reasons)
}

/// Judges one present series, NaN included.
private func judgeSeries(_ check: CheckSpec, labels: Labels, value: Double, baseline: BaselineSeries?) -> SeriesOutcome {
    guard value.isNaN else { return applyRules(check, labels: labels, current: value, baseline: baseline?.value) }
    // NaN (an error ratio with no traffic, say) carries no evidence: judge it like no data, per series.
    switch check.noData {
    case .zero:
        return applyRules(check, labels: labels, current: 0, baseline: baseline?.value)
    case .pass:
        return SeriesOutcome(labels: labels, value: nil, baseline: baseline?.value, result: .pass)
    case .fail, .inconclusive:
        let finding = Finding.notANumber(check: check.name, labels: labels, baseline: baseline?.value, policy: check.noData)
        let result: CheckResult = check.noData == .fail ? .broken : .inconclusive
        return SeriesOutcome(finding: finding, labels: labels, value: nil, baseline: baseline?.value, result: result)
    }
}

/// Applies `min`, `max`, `maxIncrease` and `maxDecrease` (in that order) to one series with a number value.
private func applyRules(_ check: CheckSpec, labels: Labels, current: Double, baseline: Double?) -> SeriesOutcome {
    let judged: Double
    if check.counter {
        // A counter below its value at open was reset: everything it counted since then is new.
        judged = baseline.map { current >= $0 ? current - $0 : current } ?? current
    } else {
        judged = current
    }
    let reading = Reading(
        check: check.name,
        labels: labels,
        value: judged,
        baseline: baseline,
        counterNow: check.counter ? current : nil
    )
    if let finding = firstBrokenRule(check, reading) {
        return SeriesOutcome(finding: finding, labels: labels, value: judged, baseline: baseline, result: .broken)
    }
    return SeriesOutcome(labels: labels, value: judged, baseline: baseline, result: .pass)
}

private func firstBrokenRule(_ check: CheckSpec, _ reading: Reading) -> Finding? {
    let value = reading.value
    if let min = check.min, value < min { return .belowMin(reading, min: min) }
    if let max = check.max, value > max { return .aboveMax(reading, max: max) }
    // New series have nothing to be relative to: absolute rules only.
    guard let baseline = reading.baseline else { return nil }
    let counter = reading.counterNow != nil

    if let limit = check.maxIncrease, !(check.floor.map { value <= $0 } ?? false) {
        let broken: Bool
        switch limit {
        case .percent(let percent):
            // For a counter `value` already is the increase; otherwise compare with the baseline.
            broken = counter ? value > abs(baseline) * percent / 100 : value > baseline + abs(baseline) * percent / 100
        case .absolute(let delta):
            broken = counter ? value > delta : value - baseline > delta
        }
        if broken { return .increase(reading, limit: limit) }
    }
    if let limit = check.maxDecrease, !(check.floor.map { baseline <= $0 } ?? false) {
        // A counter's increase is never negative, so on a counter this only fires for negative counters.
        let broken: Bool
        switch limit {
        case .percent(let percent):
            broken = counter ? -value > abs(baseline) * percent / 100 : value < baseline - abs(baseline) * percent / 100
        case .absolute(let delta):
            broken = counter ? -value > delta : baseline - value > delta
        }
        if broken { return .decrease(reading, limit: limit) }
    }
    return nil
}

extension CheckResult {
    /// Sort rank: broken first, then inconclusive, then pass.
    fileprivate var severity: Int {
        switch self {
        case .broken: return 0
        case .inconclusive: return 1
        case .pass: return 2
        }
    }
}
