import Foundation
import GateCore
import GateSources

extension CheckReport {
    /// A table for people: one row per check, with the failing series underneath.
    public func renderTable() -> String {
        var out = "verdict: \(verdict.rawValue.uppercased())\n"
        out += "baseline: \(formatTimestamp(baselineStart)) .. \(formatTimestamp(baselineEnd))   evaluated at: \(formatTimestamp(evaluatedAt))\n\n"
        var table = TextTable("CHECK", "CRITICAL", "STATUS", "SERIES", "DETAIL")
        for outcome in outcomes {
            let status = Self.status(of: outcome)
            let detail = outcome.reasons.isEmpty ? "ok" : outcome.reasons.map(Self.stripCheckName).joined(separator: "\n")
            table.add(outcome.check, outcome.critical ? "yes" : "no", status.uppercased(), String(outcome.series.count), detail)
        }
        out += table.render()
        if verdict != .pass {
            out += "\n" + reasons.map { "- \($0)" }.joined(separator: "\n") + "\n"
        }
        return out
    }

    /// The report as JSON (stable field names, the gate body's vocabulary).
    public func renderJSON() -> String {
        let body = Body(
            verdict: verdict.rawValue,
            pass: verdict == .pass,
            reasons: reasons,
            evaluatedAt: formatTimestamp(evaluatedAt),
            baseline: .init(start: formatTimestamp(baselineStart), end: formatTimestamp(baselineEnd)),
            checks: outcomes.map { outcome in
                .init(
                    name: outcome.check,
                    critical: outcome.critical,
                    status: Self.status(of: outcome),
                    series: outcome.series.map {
                        .init(
                            labels: $0.labels.dictionary,
                            value: $0.value.json,
                            baseline: $0.baseline.json,
                            rule: $0.rule,
                            reason: $0.reason,
                            comparison: $0.comparison
                        )
                    }
                )
            }
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(body)) ?? Data("{}".utf8), as: UTF8.self) + "\n"
    }

    /// One-shot statuses: there is no streak, so a broken critical check is simply `fail`.
    static func status(of outcome: CheckOutcome) -> String {
        switch outcome.result {
        case .pass: return CheckStatus.pass.rawValue
        case .inconclusive: return CheckStatus.inconclusive.rawValue
        case .broken: return outcome.critical ? CheckStatus.fail.rawValue : CheckStatus.warn.rawValue
        }
    }

    /// In the table the check is already named in its row.
    private static func stripCheckName(_ reason: String) -> String {
        guard reason.hasPrefix("check \""), let end = reason.range(of: "\": ") else { return reason }
        return String(reason[end.upperBound...])
    }

    private struct Body: Encodable {
        var verdict: String
        var pass: Bool
        var reasons: [String]
        var evaluatedAt: String
        var baseline: Range
        var checks: [Check]

        struct Range: Encodable {
            var start: String
            var end: String
        }

        struct Check: Encodable {
            var name: String
            var critical: Bool
            var status: String
            var series: [Series]
        }

        struct Series: Encodable {
            var labels: [String: String]
            var value: JSONNumber?
            var baseline: JSONNumber?
            var rule: String?
            var reason: String?
            /// The statistical comparison's numbers, for checks with a `compare` block.
            var comparison: SeriesComparison?
        }
    }
}

/// RFC 3339 in UTC with milliseconds, as every timestamp the gate shows (no Foundation formatter:
/// it is on the hot path of every published gate body).
func formatTimestamp(_ time: Double) -> String {
    formatRFC3339(time, milliseconds: true)
}

/// Parses an RFC 3339 timestamp or Unix seconds (with the project's one RFC 3339 parser).
public func parseTimestamp(_ text: String) -> Double? {
    if let seconds = Double(text) { return seconds }
    return parseRFC3339(text)
}
