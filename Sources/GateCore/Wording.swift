// Every sentence the core writes for people lives in this file, so the wording stays consistent and an
// on-call engineer sees the same phrasing in gate bodies, logs, events and the status CLI.

/// One series as it was judged: what the reason sentences describe.
struct Reading: Sendable, Equatable {
    /// The check's name.
    var check: String
    /// The series' labels.
    var labels: Labels
    /// The judged value: the current value, or the increase since open for a counter.
    var value: Double
    /// The paired baseline value (the value at open for a counter), `nil` for a new series.
    var baseline: Double?
    /// The current raw counter value for a counter check, `nil` otherwise.
    var counterNow: Double?

    /// Whether the counter was reset since the window opened (its value now is below its value at open).
    var counterWasReset: Bool {
        guard let counterNow, let baseline else { return false }
        return counterNow < baseline
    }
}

/// Why a series (or a whole check) is broken or inconclusive: the closed set of findings the core reports.
enum Finding: Sendable, Equatable {
    /// The judged value is below the check's `min`.
    case belowMin(Reading, min: Double)
    /// The judged value is above the check's `max`.
    case aboveMax(Reading, max: Double)
    /// The judged value rose more than `maxIncrease` over its baseline.
    case increase(Reading, limit: Delta)
    /// The judged value fell more than `maxDecrease` below its baseline.
    case decrease(Reading, limit: Delta)
    /// The current value is NaN and is judged as no data under the check's `noData` policy.
    case notANumber(check: String, labels: Labels, baseline: Double?, policy: NoDataPolicy)
    /// A baseline series is gone now.
    case missing(check: String, labels: Labels, baseline: Double, policy: MissingSeriesPolicy)
    /// The query returned no series at all.
    case noSeries(check: String, baselineSeries: Int, policy: NoDataPolicy)
    /// The query could not be run (Prometheus unreachable or erroring).
    case noEvidence(check: String, why: String)

    /// A bounded identifier, usable as a metric label.
    var label: String {
        switch self {
        case .belowMin: return "min"
        case .aboveMax: return "max"
        case .increase: return "max_increase"
        case .decrease: return "max_decrease"
        case .notANumber: return "not_a_number"
        case .missing: return "missing_series"
        case .noSeries: return "no_data"
        case .noEvidence: return "no_evidence"
        }
    }

    /// The rule as written in the configuration, e.g. `min 1`, `maxIncrease 50%`, `noData inconclusive`.
    var rule: String? {
        switch self {
        case .belowMin(_, let min): return "min \(formatNumber(min))"
        case .aboveMax(_, let max): return "max \(formatNumber(max))"
        case .increase(_, let limit): return "maxIncrease \(limit)"
        case .decrease(_, let limit): return "maxDecrease \(limit)"
        case .notANumber(_, _, _, let policy), .noSeries(_, _, let policy): return "noData \(policy.rawValue)"
        case .missing(_, _, _, let policy): return "missingSeries \(policy.rawValue)"
        case .noEvidence: return nil
        }
    }

    /// The full sentence: names the check, the series, its value, its baseline and the rule.
    var description: String {
        switch self {
        case .belowMin(let reading, let min):
            return reading.counterNow != nil
                ? counterSentence(reading, rule: "below min \(formatNumber(min))")
                : "\(subject(reading)) is below min \(formatNumber(min)) \(baselineNote(reading.baseline))"
        case .aboveMax(let reading, let max):
            return reading.counterNow != nil
                ? counterSentence(reading, rule: "above max \(formatNumber(max))")
                : "\(subject(reading)) is above max \(formatNumber(max)) \(baselineNote(reading.baseline))"
        case .increase(let reading, let limit):
            return reading.counterNow != nil
                ? counterSentence(reading, rule: "maxIncrease \(limit)", showPercent: limit.isPercent)
                : relativeSentence(reading, rule: "maxIncrease \(limit)", rising: true, percent: limit.isPercent)
        case .decrease(let reading, let limit):
            return reading.counterNow != nil
                ? counterSentence(reading, rule: "maxDecrease \(limit)", showPercent: limit.isPercent)
                : relativeSentence(reading, rule: "maxDecrease \(limit)", rising: false, percent: limit.isPercent)
        case .notANumber(let check, let labels, let baseline, let policy):
            let base = baseline.map { "baseline \(formatNumber($0))" } ?? "new series, no baseline"
            return "check \(quoted(check)): series \(labels) value is NaN (e.g. 0/0 with no traffic), judged as no data "
                + "(\(base); noData: \(policy.rawValue))"
        case .missing(let check, let labels, let baseline, let policy):
            return "check \(quoted(check)): series \(labels) was in the baseline (value \(formatNumber(baseline))) "
                + "and is missing now (missingSeries: \(policy.rawValue))"
        case .noSeries(let check, let count, let policy):
            let base = count == 0 ? "the baseline had no series either" : "the baseline had \(count) series"
            return "check \(quoted(check)): query returned no series (\(base); noData: \(policy.rawValue))"
        case .noEvidence(let check, let why):
            return "check \(quoted(check)): no evidence: \(why)"
        }
    }
}

// MARK: - Sentence parts

private func quoted(_ name: String) -> String { "\"\(name)\"" }

private func subject(_ reading: Reading) -> String {
    "check \(quoted(reading.check)): series \(reading.labels) value \(formatNumber(reading.value))"
}

private func baselineNote(_ baseline: Double?) -> String {
    baseline.map { "(baseline \(formatNumber($0)))" } ?? "(new series, no baseline)"
}

private func relativeSentence(_ reading: Reading, rule: String, rising: Bool, percent: Bool) -> String {
    // Relative rules only ever fire on paired series, so a baseline is present.
    let baseline = reading.baseline ?? 0
    let change = rising ? reading.value - baseline : baseline - reading.value
    let verb = rising ? "rose" : "fell"
    let direction = rising ? "over" : "below"
    if percent {
        if baseline == 0 {
            let kind = rising ? "an unbounded increase" : "an unbounded decrease"
            return "\(subject(reading)) \(verb) from baseline 0, \(kind) (\(rule))"
        }
        let share = displayNumber(change / abs(baseline) * 100)
        return "\(subject(reading)) \(verb) \(share)% \(direction) baseline \(formatNumber(baseline)) (\(rule))"
    }
    return "\(subject(reading)) \(verb) by \(displayNumber(change)) \(direction) baseline \(formatNumber(baseline)) (\(rule))"
}

private func counterSentence(_ reading: Reading, rule: String, showPercent: Bool = false) -> String {
    let now = formatNumber(reading.counterNow ?? reading.value)
    var increase = "increased by \(formatNumber(reading.value))"
    if showPercent, let baseline = reading.baseline, baseline != 0 {
        increase += " (\(displayNumber(reading.value / abs(baseline) * 100))% of its value at open)"
    }
    let context: String
    if let baseline = reading.baseline {
        let reset = reading.counterWasReset ? " after a counter reset" : ""
        context = "\(formatNumber(baseline)) at open, \(now) now\(reset)"
    } else {
        context = "new series, \(now) now"
    }
    return "check \(quoted(reading.check)): series \(reading.labels) \(increase) since the window opened (\(context); \(rule))"
}

extension Delta {
    fileprivate var isPercent: Bool {
        if case .percent = self { return true }
        return false
    }
}

/// A derived number (a delta or a percentage) rounded to 6 significant digits, so float noise such as
/// `100.00000000000001` never reaches a person.
func displayNumber(_ value: Double) -> String {
    formatNumber(roundedToSignificantDigits(value, 6))
}

// Powers of ten up to 1e22 are exact doubles, so scaling by them adds a single rounding step.
private let powers: [Double] = (0...22).reduce(into: []) { list, index in list.append(index == 0 ? 1 : list[index - 1] * 10) }

/// Rounds to `digits` significant decimal digits using only exact powers of ten; other values pass through.
func roundedToSignificantDigits(_ value: Double, _ digits: Int) -> Double {
    guard value.isFinite, value != 0 else { return value }
    let lowerBound = powers[digits - 1]
    let upperBound = powers[digits]
    var magnitude = abs(value)
    var scale = 0  // value × 10^scale lands in [10^(digits-1), 10^digits)
    while magnitude < lowerBound, scale < 22 {
        magnitude *= 10
        scale += 1
    }
    while magnitude >= upperBound, scale > -22 {
        magnitude /= 10
        scale -= 1
    }
    if scale > 0 {
        return (value * powers[scale]).rounded() / powers[scale]
    } else if scale < 0 {
        return (value / powers[-scale]).rounded() * powers[-scale]
    }
    return value.rounded()
}

// MARK: - Gate wording

/// Why a critical check is failing but has not failed the gate yet.
func failingCheckReason(_ check: String, streak: Int, failAfter: Int, inWarmup: Bool) -> String {
    if inWarmup {
        let times = streak == 1 ? "1 evaluation" : "\(streak) consecutive evaluations"
        return "check \(quoted(check)) failing (broken \(times); not acted on during warm-up)"
    }
    return "check \(quoted(check)) failing (\(streak) of \(failAfter) consecutive evaluations)"
}

/// The reason for a broken check whose outcome carries no sentence of its own.
func brokenCheckReason(_ check: String) -> String { "check \(quoted(check)) is broken" }

/// The reason for an inconclusive check whose outcome carries no sentence of its own.
func inconclusiveCheckReason(_ check: String) -> String { "check \(quoted(check)) is inconclusive: no evidence" }

/// How much warm-up is left.
func warmupReason(remaining: Double) -> String { "in warm-up for another \(formatDuration(remaining))" }

/// How much soak is left.
func soakReason(remaining: Double) -> String { "soaking: \(formatDuration(remaining)) remaining" }

/// The reason for a pass verdict; names the non-critical checks that warn or lack evidence, if any.
func passReason(checks: Int, nonCriticalProblems: [(check: String, status: CheckStatus)]) -> String {
    if nonCriticalProblems.isEmpty {
        return "all \(checks) checks pass; soak complete"
    }
    let passing = checks - nonCriticalProblems.count
    let problems = nonCriticalProblems.map { "\(quoted($0.check)) \($0.status.rawValue)" }.joined(separator: ", ")
    return "\(passing) of \(checks) checks pass, every critical one; soak complete (non-critical: \(problems))"
}

/// Formats a duration the way Prometheus configuration spells it: `1h30m`, `25m0s`, `40s`.
///
/// Fractions of a second round up, so a remaining time reads `0s` only when nothing is left; negative
/// durations read `0s`.
public func formatDuration(_ seconds: Double) -> String {
    guard !seconds.isNaN else { return "0s" }
    // Beyond this an Int conversion could trap; nobody soaks for 30 million years.
    guard seconds < 1e15 else { return "\(formatNumber(seconds))s" }
    let total = Int(Swift.max(0, seconds).rounded(.up))
    let hours = total / 3600
    let minutes = total % 3600 / 60
    let secs = total % 60
    if hours > 0 {
        return secs == 0 ? "\(hours)h\(minutes)m" : "\(hours)h\(minutes)m\(secs)s"
    }
    if minutes > 0 {
        return "\(minutes)m\(secs)s"
    }
    return "\(secs)s"
}
