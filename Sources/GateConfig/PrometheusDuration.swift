/// The units of a Prometheus duration, largest first, with their length in milliseconds.
private let durationUnits: [(unit: String, milliseconds: Int64)] = [
    ("y", 365 * 24 * 3_600_000),
    ("w", 7 * 24 * 3_600_000),
    ("d", 24 * 3_600_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
]

/// Parses a Prometheus duration (`30s`, `5m`, `1h30m`, `500ms`, `2w`) into seconds.
///
/// The syntax is Prometheus's own: one or more `<digits><unit>` parts with units `y w d h m s ms` in decreasing
/// order, each at most once; no fractions, no signs, no spaces. `"0"` alone is accepted, as Prometheus does.
/// A year is 365 days and a week 7 days. Returns `nil` for anything else, including durations over ~292 years.
public func parsePrometheusDuration(_ text: String) -> Double? {
    if text == "0" { return 0 }
    let bytes = Array(text.utf8)
    guard !bytes.isEmpty else { return nil }
    // Prometheus keeps durations as int64 nanoseconds; refuse what it would refuse.
    let limit = Int64.max / 1_000_000
    var index = 0
    var nextUnit = 0
    var total: Int64 = 0
    while index < bytes.count {
        var number: Int64 = 0
        let digitsStart = index
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            let (times10, overflow1) = number.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int64(bytes[index] - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            number = sum
            index += 1
        }
        guard index > digitsStart, index < bytes.count else { return nil }
        var unit = String(UnicodeScalar(bytes[index]))
        index += 1
        if unit == "m", index < bytes.count, bytes[index] == UInt8(ascii: "s") {
            unit = "ms"
            index += 1
        }
        guard let position = durationUnits[nextUnit...].firstIndex(where: { $0.unit == unit }) else { return nil }
        nextUnit = position + 1
        let (part, overflow1) = number.multipliedReportingOverflow(by: durationUnits[position].milliseconds)
        let (sum, overflow2) = total.addingReportingOverflow(part)
        guard !overflow1, !overflow2, sum <= limit else { return nil }
        total = sum
    }
    return Double(total) / 1000
}

/// Formats seconds as Prometheus does: `1h30m`, `500ms`, `2w`, `90d`, and `0s` for zero.
///
/// The value is rounded to milliseconds. Years and weeks are used only when they divide the value exactly (`90d`
/// reads better than `12w6d`), like Prometheus's `model.Duration.String()`. Negative values get a leading `-`, which
/// is not valid Prometheus syntax but reads right in messages; NaN and infinities are spelled out.
public func formatPrometheusDuration(_ seconds: Double) -> String {
    guard seconds.isFinite else { return seconds.isNaN ? "NaN" : (seconds > 0 ? "+Inf" : "-Inf") }
    let rounded = (abs(seconds) * 1000).rounded()
    guard rounded < Double(Int64.max) else { return seconds > 0 ? "+Inf" : "-Inf" }
    var remaining = Int64(rounded)
    if remaining == 0 { return "0s" }
    var text = seconds < 0 ? "-" : ""
    for (unit, milliseconds) in durationUnits {
        let exactOnly = unit == "y" || unit == "w"
        if exactOnly && remaining % milliseconds != 0 { continue }
        let count = remaining / milliseconds
        if count > 0 {
            text += "\(count)\(unit)"
            remaining -= count * milliseconds
        }
    }
    return text
}
