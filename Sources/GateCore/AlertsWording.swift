// The sentences the core writes about alerts, in the spirit of Wording.swift: one phrasing everywhere an on-call
// engineer reads them (gate bodies, logs, events, the status CLI).

/// Why a new alert fails the gate, or will once its grace is over.
func newAlertReason(_ alert: Alert, graceRemaining: Double?) -> String {
    let since = "firing since \(formatRFC3339(alert.startsAt))"
    guard let graceRemaining else {
        return "alert \(alertIdentity(alert.labels)) \(since) (not firing when the window opened)"
    }
    return "alert \(alertIdentity(alert.labels)) \(since) (not firing when the window opened; in grace for another "
        + "\(formatDuration(graceRemaining)))"
}

/// An alert as people name it: `KubeAPIErrorsHigh {severity="critical", …}`, i.e. `alertname` and then the other
/// labels; the full label set when there is no `alertname`.
public func alertIdentity(_ labels: Labels) -> String {
    guard let name = labels["alertname"] else { return labels.description }
    var others = labels.dictionary
    others["alertname"] = nil
    return others.isEmpty ? name : "\(name) \(Labels(others))"
}

/// Formats Unix seconds as an RFC 3339 UTC timestamp with whole seconds, e.g. `2026-08-20T10:20:01Z`, or with
/// milliseconds (`2026-08-20T10:20:01.123Z`).
///
/// Fractions of a second are dropped (rounded toward the past), so a time never reads later than it was. Written
/// without Foundation: the date is the proleptic Gregorian calendar's, computed from the day number.
public func formatRFC3339(_ unixSeconds: Double, milliseconds: Bool = false) -> String {
    // Beyond year ±10^9 nothing is a real alert time; also keeps the Int conversion from trapping.
    guard unixSeconds.isFinite, abs(unixSeconds) < 3e16 else { return "\(formatNumber(unixSeconds))s since the epoch" }
    let millis = Int64((unixSeconds * 1000).rounded(.down))
    let seconds = floorDivide(millis, 1000)
    let days = floorDivide(seconds, 86_400)
    let secondOfDay = seconds - days * 86_400
    let date = civilDate(fromDays: days)
    let year = date.year < 0 ? "-" + pad(-date.year, 4) : pad(date.year, 4)
    let fraction = milliseconds ? "." + pad(millis - seconds * 1000, 3) : ""
    return "\(year)-\(pad(date.month, 2))-\(pad(date.day, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay % 3600 / 60, 2))"
        + ":\(pad(secondOfDay % 60, 2))\(fraction)Z"
}

/// The proleptic Gregorian date of a day number (days since 1970-01-01, negative before).
///
/// Howard Hinnant's `civil_from_days`: shift to eras of 400 years starting on March 1st, so the leap day is the
/// last day of the shifted year.
func civilDate(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
    let shifted = days + 719_468  // days from 0000-03-01 to 1970-01-01
    let era = floorDivide(shifted, 146_097)
    let dayOfEra = shifted - era * 146_097  // [0, 146096]
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365  // [0, 399]
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)  // [0, 365], from March 1st
    let shiftedMonth = (5 * dayOfYear + 2) / 153  // [0, 11], March = 0
    let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
    let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
    let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    return (year, month, day)
}

private func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
    let quotient = value / divisor
    return value % divisor < 0 ? quotient - 1 : quotient
}

private func pad(_ value: Int64, _ width: Int) -> String {
    let digits = String(value)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}
