import Foundation
import GateConfig
import GateCore
import Hummingbird
import Synchronization

/// The latest gate answer of every window, pre-encoded, behind one lock.
///
/// Pollers (Flagger, Argo Rollouts, people) read it synchronously and never cause a query or a
/// database read (Hummingbird's `DateCache` pattern): Prometheus load is independent of pollers.
public final class GateBoard: Sendable {
    /// One published answer.
    public struct Entry: Sendable {
        /// The gate body, JSON.
        public var body: ByteBuffer
        /// The verdict in it.
        public var verdict: Verdict
        /// Whether the window is still open.
        public var isOpen: Bool
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let closedOrder = Mutex<[String]>([])
    private let maxClosed: Int

    /// A board that remembers the final answers of at most `maxClosed` closed windows.
    public init(maxClosed: Int = 200) {
        self.maxClosed = maxClosed
    }

    /// Publishes a window's answer.
    public func publish(_ name: String, body: [UInt8], verdict: Verdict, isOpen: Bool) {
        let entry = Entry(body: ByteBuffer(bytes: body), verdict: verdict, isOpen: isOpen)
        let evicted: [String] = closedOrder.withLock { order in
            order.removeAll { $0 == name }
            guard !isOpen else { return [] }
            order.append(name)
            let excess = max(0, order.count - maxClosed)
            let dropped = Array(order.prefix(excess))
            order.removeFirst(excess)
            return dropped
        }
        entries.withLock { entries in
            entries[name] = entry
            for name in evicted where entries[name]?.isOpen == false { entries.removeValue(forKey: name) }
        }
    }

    /// Forgets a window's answer (its object was deleted).
    public func remove(_ name: String) {
        closedOrder.withLock { $0.removeAll { $0 == name } }
        _ = entries.withLock { $0.removeValue(forKey: name) }
    }

    /// The latest answer for `name`, if any.
    public func entry(_ name: String) -> Entry? {
        entries.withLock { $0[name] }
    }
}

/// The gate body: what pollers read (docs/http-api.md lists its fields).
struct GateBody: Codable {
    var window: String
    var state: String
    var verdict: String
    var healthy: Bool
    var pass: Bool
    var reasons: [String]
    var checks: [Check]
    var alerts: [AlertBody]
    var backup: BackupBody
    var restore: Nullable<RestoreBody>
    var evaluatedAt: String?
    /// Prometheus duration syntax (`25m`, `0s`), as Argo Rollouts' examples read it.
    var soakRemaining: String
    /// The last evaluation is older than three intervals: the verdict says inconclusive (a sticky fail stays).
    var stale: Bool

    struct Check: Codable {
        var name: String
        var critical: Bool
        var status: String
        var series: [Series]
        var seriesTotal: Int
    }

    /// The pre-upgrade backup: `{"mode":"disabled"}` without Velero, else its name and phase.
    struct BackupBody: Codable {
        var mode: String?
        var name: String?
        var phase: String?
    }

    /// The rollback: `{"mode":"disabled"}` without Velero, null until one is intended, then its
    /// name, phase and what verification found.
    struct RestoreBody: Codable {
        var mode: String
        var name: String?
        var phase: String?
        var reason: String?
        var lastError: String?
        var rolledBack: [String]?
        var notRolledBack: [String]?
    }

    /// A new matching alert: failing the gate, or still in its grace.
    struct AlertBody: Codable {
        var alertname: String
        var labels: [String: String]
        var since: String
        var state: String
        var reason: String

        init(_ finding: AlertFinding) {
            alertname = finding.alert.labels["alertname"] ?? ""
            labels = finding.alert.labels.dictionary
            since = formatTimestamp(finding.alert.startsAt)
            state = finding.inGrace ? "in-grace" : "failing"
            reason = finding.reason
        }
    }

    struct Series: Codable {
        var labels: [String: String]
        var value: JSONNumber?
        var baseline: JSONNumber?
        var rule: String?
        var reason: String?
        /// The statistical comparison's numbers (medians, shift, interval, effect, allowance), for compare checks.
        var comparison: SeriesComparison? = nil
    }

    /// At most this many series per check are listed: the ones that are not fine first, then fine ones.
    static let maxSeriesPerCheck = 20

    init(window: LiveWindow, alerts: [AlertFinding], velero: VeleroConfig?, now: Double) {
        let record = window.record
        let verdict = window.machine.verdict(at: now)
        self.stale = window.machine.isStale(at: now)
        self.window = record.name
        self.state = record.isOpen ? "open" : "closed"
        self.verdict = verdict.rawValue
        self.healthy = verdict == .pass || verdict == .pending
        self.pass = verdict == .pass
        self.alerts = alerts.map(AlertBody.init)
        if velero != nil {
            let backup = record.backup
            self.backup = BackupBody(mode: backup == nil ? "none" : nil, name: backup?.name, phase: backup.map { $0.phase.display })
            self.restore = Nullable(
                record.restore.map {
                    RestoreBody(
                        mode: $0.mode.rawValue,
                        name: $0.name,
                        phase: $0.phase.rawValue,
                        reason: $0.reason,
                        // Pollers carry no token: the Kubernetes error text stays in the log and the window API.
                        lastError: $0.lastError == nil ? nil : "the Restore could not be created yet; retrying (details in the gate's log)",
                        rolledBack: $0.rolledBack?.map(\.description),
                        notRolledBack: $0.notRolledBack?.map(\.description)
                    )
                }
            )
        } else {
            self.backup = BackupBody(mode: "disabled")
            self.restore = Nullable(RestoreBody(mode: "disabled"))
        }
        if stale, verdict != .fail {
            reasons = ["the verdict is stale: no evaluation finished in the last \(formatDuration(3 * window.machine.settings.interval))"]
            evaluatedAt = window.lastEvaluation.map { formatTimestamp($0.at) }
            checks = []
        } else if let evaluation = window.lastEvaluation {
            reasons = verdict == .fail && !record.memory.failReasons.isEmpty ? record.memory.failReasons : evaluation.reasons
            evaluatedAt = formatTimestamp(evaluation.at)
            checks = evaluation.outcomes.map { outcome in
                // judge() sorts broken and inconclusive series before passing ones.
                let listed = outcome.series.prefix(Self.maxSeriesPerCheck)
                return Check(
                    name: outcome.check,
                    critical: outcome.critical,
                    status: (evaluation.statuses[outcome.check] ?? .inconclusive).rawValue,
                    series: listed.map {
                        Series(
                            labels: $0.labels.dictionary,
                            value: $0.value.json,
                            baseline: $0.baseline.json,
                            rule: $0.rule,
                            reason: $0.reason,
                            comparison: $0.comparison
                        )
                    },
                    seriesTotal: outcome.series.count
                )
            }
        } else {
            reasons = verdict == .fail ? record.memory.failReasons : ["waiting for the first evaluation"]
            evaluatedAt = nil
            checks = []
        }
        let remaining = record.isOpen ? max(0, record.soak - (now - record.openedAt)) : 0
        soakRemaining = formatPrometheusDuration(remaining.rounded(.up))
    }

    func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(self)) ?? Data("{}".utf8))
    }
}

/// An optional that encodes as JSON `null` instead of leaving the key out (the gate body always
/// has its `restore` key, as Argo's examples show).
struct Nullable<Wrapped: Codable>: Codable {
    var value: Wrapped?

    init(_ value: Wrapped?) { self.value = value }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        value = container.decodeNil() ? nil : try container.decode(Wrapped.self)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let value { try container.encode(value) } else { try container.encodeNil() }
    }
}
