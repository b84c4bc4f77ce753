@testable import GateCore

// Small builders shared by the tables, so each row reads as the situation it describes.

/// A label set from `name=value` pairs.
func labels(_ pairs: KeyValuePairs<String, String> = [:]) -> Labels {
    Labels(Dictionary(uniqueKeysWithValues: pairs.map { ($0.key, $0.value) }))
}

/// A baseline series whose spread is its value (enough for judging, which only reads `value`).
func baseline(_ labels: Labels = Labels(), _ value: Double) -> BaselineSeries {
    BaselineSeries(labels: labels, value: value, min: value, max: value, samples: 1)
}

/// Evidence of one series.
func one(_ labels: Labels = Labels(), _ value: Double) -> Evidence {
    .series([InstantSeries(labels: labels, value: value)])
}

/// A check outcome with one series, as `judge` would produce it, for gate tables.
func outcome(_ check: String, _ result: CheckResult, critical: Bool = true) -> CheckOutcome {
    let reason = result == .pass ? nil : "check \"\(check)\": series {} \(result.rawValue)"
    let series = SeriesOutcome(labels: Labels(), value: 1, baseline: 1, rule: reason == nil ? nil : "max 0", reason: reason, result: result)
    return CheckOutcome(check: check, critical: critical, result: result, series: [series], reasons: reason.map { [$0] } ?? [])
}
