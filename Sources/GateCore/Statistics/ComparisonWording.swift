// The sentences of statistical judging, kept together so they read alike in gate bodies, logs and the CLI.

/// One series under comparison: what every comparison sentence starts with.
struct ComparisonSubject {
    /// The check's name.
    var check: String
    /// The series' labels.
    var labels: Labels
    /// The compare block the series is judged by.
    var spec: CompareSpec

    private var head: String { "check \"\(check)\": series \(labels)" }

    /// A significant shift beyond the allowance: both medians, the shift, its interval, the effect, the allowance.
    func shifted(_ comparison: SampleComparison, effect: Double, limit: Delta, rising: Bool) -> String {
        let verb = rising ? "rose" : "fell"
        let size: String
        if limit.isPercentage {
            size = effect.isFinite ? "\(verb) \(short(abs(effect)))%" : "\(verb) from a zero baseline mean"
        } else {
            size = "\(verb) by \(short(abs(effect)))"
        }
        let sign = rising ? "+" : "-"
        return "\(head) \(size) (median \(short(comparison.baselineMedian)) → \(short(comparison.recentMedian)), "
            + "shift \(signed(comparison.shift)), \(percent(spec.confidence)) CI [\(short(comparison.lower)), \(short(comparison.upper))]; "
            + "allowed \(sign)\(limit); \(comparison.recentSamples) recent vs \(comparison.baselineSamples) baseline samples)"
    }

    /// Too few samples on a side to judge at all.
    func tooFewSamples(recent: Int, baseline: Int) -> String {
        "\(head) has \(recent) recent and \(baseline) baseline samples, fewer than minSamples \(spec.minSamples): "
            + "no comparison (inconclusive)"
    }

    /// Every sample of both sides is equal.
    func allTies(_ recent: [Double]) -> String {
        let value = recent.first(where: \.isFinite).map(short) ?? "?"
        return "\(head) has the same value \(value) in every recent and baseline sample: ranks cannot tell them apart (inconclusive)"
    }

    /// The samples are too few for an interval of the configured confidence.
    func tooFewForConfidence(_ comparison: SampleComparison) -> String {
        "\(head) has too few samples (\(comparison.recentSamples) recent, \(comparison.baselineSamples) baseline) for a "
            + "\(percent(spec.confidence)) interval on the shift (inconclusive)"
    }
}

/// A measured number for people: 4 significant digits are plenty to compare two medians.
private func short(_ value: Double) -> String {
    formatNumber(roundedToSignificantDigits(value, 4))
}

private func signed(_ value: Double) -> String {
    value > 0 ? "+" + short(value) : short(value)
}

private func percent(_ confidence: Double) -> String {
    formatNumber(roundedToSignificantDigits(confidence * 100, 4)) + "%"
}
