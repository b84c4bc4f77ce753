/// The deterministic name of a window's Velero object: `<window>-<id>-<suffix>`, e.g. `cert-manager-7f3a9c-pre`.
///
/// The result is a DNS-1123 label of at most 63 characters (Velero copies Backup names into label values, which
/// are limited to 63): the window part is truncated to fit and never left ending in `-`; `id` and `suffix` are
/// kept whole (lower-cased, other characters than `a-z`, `0-9` and `-` turned into `-`). Because `id` is fixed
/// when the window opens, a reused window name never collides with an earlier window's objects, and a retried
/// create of the same object meets 409 AlreadyExists instead of making a second one.
public func veleroObjectName(window: String, id: String, suffix: String) -> String {
    let tail = [dnsLabelPart(id), dnsLabelPart(suffix)].filter { !$0.isEmpty }.joined(separator: "-")
    var head = dnsLabelPart(window)
    let room = maxDNSLabelLength - tail.count - 1
    if head.count > room { head = String(head.prefix(max(room, 0))) }
    while head.hasSuffix("-") { head.removeLast() }
    var name = head.isEmpty ? tail : tail.isEmpty ? head : "\(head)-\(tail)"
    if name.count > maxDNSLabelLength { name = String(name.prefix(maxDNSLabelLength)) }
    while name.hasSuffix("-") { name.removeLast() }
    return name
}

/// The longest DNS-1123 label.
let maxDNSLabelLength = 63

/// Lower-cased, with characters a label cannot hold replaced by `-`, and no `-` at either end.
private func dnsLabelPart(_ text: String) -> String {
    var out = ""
    for scalar in text.lowercased().unicodeScalars {
        switch scalar {
        case "a"..."z", "0"..."9", "-": out.unicodeScalars.append(scalar)
        default: out.append("-")
        }
    }
    while out.hasPrefix("-") { out.removeFirst() }
    while out.hasSuffix("-") { out.removeLast() }
    return out
}

/// Formats seconds as Go's `time.Duration.String()` does (`72h0m0s`, `1m30s`, `1.5s`, `250ms`), as Velero expects.
func goDuration(seconds: Double) -> String {
    guard seconds.isFinite else { return "0s" }
    let nanos = Int64((seconds * 1e9).rounded())
    if nanos == 0 { return "0s" }
    let sign = nanos < 0 ? "-" : ""
    let magnitude = nanos.magnitude
    if magnitude < 1_000 { return "\(sign)\(magnitude)ns" }
    if magnitude < 1_000_000 { return sign + decimal(magnitude, fractionDigits: 3) + "µs" }
    if magnitude < 1_000_000_000 { return sign + decimal(magnitude, fractionDigits: 6) + "ms" }
    let hours = magnitude / 3_600_000_000_000
    let minutes = magnitude / 60_000_000_000 % 60
    let secondNanos = magnitude % 60_000_000_000
    var text = sign
    if hours > 0 { text += "\(hours)h" }
    if hours > 0 || minutes > 0 { text += "\(minutes)m" }
    return text + decimal(secondNanos, fractionDigits: 9) + "s"
}

/// `value / 10^fractionDigits` with trailing zeros of the fraction dropped: `1500, 3` → `1.5`.
private func decimal(_ value: UInt64, fractionDigits: Int) -> String {
    var scale: UInt64 = 1
    for _ in 0..<fractionDigits { scale *= 10 }
    let whole = value / scale
    var fraction = String(value % scale)
    guard fraction != "0" else { return "\(whole)" }
    fraction = String(repeating: "0", count: fractionDigits - fraction.count) + fraction
    while fraction.hasSuffix("0") { fraction.removeLast() }
    return "\(whole).\(fraction)"
}
