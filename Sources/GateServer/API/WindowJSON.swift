import Foundation
import GateConfig
import GateCore
import GateSources
import GateStore

/// `GET /api/v1/windows/{name}`: the window, its pinned baseline, its gate answer and last
/// evaluation in full.
struct WindowDetailBody: Codable {
    var name: String
    var id: String
    var component: String?
    var fromVersion: String?
    var toVersion: String?
    var namespaces: [String]
    var labels: [String: String]
    var matchers: [String]
    var checks: [String]
    var state: String
    var verdict: String
    /// Consecutive broken evaluations per critical check (what `failAfter` counts).
    var streaks: [String: Int]
    var openedAt: String
    var closesAt: String
    var closedAt: String?
    var closeReason: String?
    var soak: String
    var duration: String
    var gate: GateBody
    var baseline: BaselineBody
    var lastEvaluation: EvaluationBody?

    struct BaselineBody: Codable {
        var capturedAt: String
        var range: Range
        var checks: [String: [Series]]
        var alerts: [Alert]

        struct Alert: Codable {
            var labels: [String: String]
            var startsAt: String
        }

        struct Range: Codable {
            var start: String
            var end: String
        }

        struct Series: Codable {
            var labels: [String: String]
            var value: JSONNumber
            var min: JSONNumber
            var max: JSONNumber
            var samples: Int
        }
    }

    struct EvaluationBody: Codable {
        var at: String
        var durationSeconds: Double
        var verdict: String
        var reasons: [String]
        var checks: [Check]

        struct Check: Codable {
            var name: String
            var critical: Bool
            var status: String
            var result: String
            var series: [GateBody.Series]
        }
    }

    init(_ window: LiveWindow, alerts: [AlertFinding], velero: VeleroConfig?, now: Double) {
        let record = window.record
        name = record.name
        id = record.id
        component = record.request.component
        fromVersion = record.request.fromVersion
        toVersion = record.request.toVersion
        namespaces = record.request.namespaces
        labels = record.request.labels
        matchers = record.request.matchers
        checks = record.checks.map(\.name)
        state = record.isOpen ? "open" : "closed"
        verdict = record.memory.verdict.rawValue
        streaks = record.memory.streaks
        openedAt = formatTimestamp(record.openedAt)
        closesAt = formatTimestamp(record.closesAt)
        closedAt = record.closedAt.map(formatTimestamp)
        closeReason = record.closeReason
        soak = formatPrometheusDuration(record.soak)
        duration = formatPrometheusDuration(record.duration)
        gate = GateBody(window: window, alerts: alerts, velero: velero, now: now)
        baseline = BaselineBody(
            capturedAt: formatTimestamp(window.baseline.capturedAt),
            range: .init(start: formatTimestamp(window.baseline.start), end: formatTimestamp(window.baseline.end)),
            checks: window.baseline.checks.mapValues { series in
                series.map { .init(labels: $0.labels.dictionary, value: $0.value.json, min: $0.min.json, max: $0.max.json, samples: $0.samples) }
            },
            alerts: window.baseline.alerts.map { .init(labels: $0.labels.dictionary, startsAt: formatTimestamp($0.startsAt)) }
        )
        lastEvaluation = window.lastEvaluation.map { evaluation in
            EvaluationBody(
                at: formatTimestamp(evaluation.at),
                durationSeconds: evaluation.duration,
                verdict: evaluation.verdict.rawValue,
                reasons: evaluation.reasons,
                checks: evaluation.outcomes.map { outcome in
                    .init(
                        name: outcome.check,
                        critical: outcome.critical,
                        status: (evaluation.statuses[outcome.check] ?? .inconclusive).rawValue,
                        result: outcome.result.rawValue,
                        series: outcome.series.map {
                            GateBody.Series(
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
        }
    }
}

/// One row of `GET /api/v1/windows`.
struct WindowSummaryBody: Codable {
    var name: String
    var id: String
    var component: String?
    var fromVersion: String?
    var toVersion: String?
    var state: String
    var verdict: String
    var openedAt: String
    var closedAt: String?
    var soakRemaining: String
    var failing: [String]

    /// A summary from the store's window row, without its baseline or evaluations.
    init(_ summary: WindowSummary, now: Double) {
        let record = summary.record
        name = record.name
        id = record.id
        component = record.request.component
        fromVersion = record.request.fromVersion
        toVersion = record.request.toVersion
        state = record.isOpen ? "open" : "closed"
        verdict = record.memory.verdict.rawValue
        openedAt = formatTimestamp(record.openedAt)
        closedAt = record.closedAt.map(formatTimestamp)
        soakRemaining = formatPrometheusDuration(record.isOpen ? max(0, record.soak - (now - record.openedAt)).rounded(.up) : 0)
        failing = summary.failing
    }
}

/// `GET /api/v1/windows`: summaries, newest first.
struct WindowListBody: Codable {
    var windows: [WindowSummaryBody]
}

/// One entry of `GET /api/v1/windows/{name}/events`: `{at, kind, message, …details}`.
struct EventBody: Codable {
    var event: WindowEvent

    init(_ event: WindowEvent) {
        self.event = event
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        var details: [String: String] = [:]
        for key in container.allKeys where !["at", "kind", "message"].contains(key.stringValue) {
            details[key.stringValue] = try container.decode(String.self, forKey: key)
        }
        let at = try container.decode(String.self, forKey: Key(stringValue: "at"))
        guard let seconds = parseRFC3339(at) else {
            throw DecodingError.dataCorruptedError(forKey: Key(stringValue: "at"), in: container, debugDescription: "not an RFC 3339 time")
        }
        event = WindowEvent(
            at: seconds,
            kind: try container.decode(EventKind.self, forKey: Key(stringValue: "kind")),
            message: try container.decode(String.self, forKey: Key(stringValue: "message")),
            details: details
        )
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for (key, value) in event.details where !["at", "kind", "message"].contains(key) {
            try container.encode(value, forKey: Key(stringValue: key))
        }
        try container.encode(formatTimestamp(event.at), forKey: Key(stringValue: "at"))
        try container.encode(event.kind.rawValue, forKey: Key(stringValue: "kind"))
        try container.encode(event.message, forKey: Key(stringValue: "message"))
    }
}

/// Encodes an API answer: sorted keys, unescaped slashes.
func encodeJSON(_ value: some Encodable) -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return Array((try? encoder.encode(value)) ?? Data("{}".utf8))
}
