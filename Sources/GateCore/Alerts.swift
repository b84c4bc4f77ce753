/// One alert as an Alertmanager webhook or its v2 API reports it.
///
/// Its identity is its label set, as in Alertmanager: two reports with equal labels are the same alert.
public struct Alert: Sendable, Equatable, Codable {
    /// The alert's labels, `alertname` among them.
    public var labels: Labels
    /// The alert's annotations (summary, description, runbook, …).
    public var annotations: [String: String]
    /// When the alert started firing, Unix seconds.
    public var startsAt: Double
    /// When the alert ends or ended, Unix seconds; `nil` when unknown.
    ///
    /// Alertmanager writes Go's zero time (`0001-01-01T00:00:00Z`) for "unknown"; any value at or before the Unix
    /// epoch is read as unknown too, so an adapter that passes that time through does no harm.
    public var endsAt: Double?
    /// `true` for status `firing`, `false` for `resolved`.
    public var firing: Bool
    /// The link back to the expression in Prometheus.
    public var generatorURL: String?
    /// Alertmanager's fingerprint of the label set, when reported.
    public var fingerprint: String?

    /// Creates an alert; an `endsAt` at or before the Unix epoch is stored as unknown (`nil`).
    public init(
        labels: Labels,
        annotations: [String: String] = [:],
        startsAt: Double,
        endsAt: Double? = nil,
        firing: Bool = true,
        generatorURL: String? = nil,
        fingerprint: String? = nil
    ) {
        self.labels = labels
        self.annotations = annotations
        self.startsAt = startsAt
        self.endsAt = endsAt.flatMap { $0 > 0 ? $0 : nil }
        self.firing = firing
        self.generatorURL = generatorURL
        self.fingerprint = fingerprint
    }

    /// The `alertname` label, or the empty string when the alert has none.
    public var name: String { labels["alertname"] ?? "" }

    /// Whether the alert fires at `now`: status firing, and `endsAt` unknown or later than `now`.
    public func isFiring(at now: Double) -> Bool {
        guard firing else { return false }
        guard let endsAt, endsAt > 0 else { return true }
        return endsAt > now
    }
}

/// One Alertmanager webhook notification: the whole current state of one alert group.
public struct AlertNotification: Sendable, Equatable {
    /// The group's key; it identifies the group across notifications and across HA Alertmanager peers.
    public var groupKey: String
    /// The receiver the notification was sent to.
    public var receiver: String
    /// The group's alerts, firing and resolved.
    public var alerts: [Alert]
    /// How many alerts Alertmanager left out because of the receiver's `max_alerts` (the payload's `truncatedAlerts`).
    ///
    /// - Important: When it is above zero the notification is not the group's whole state, so alerts missing from
    ///   it are not taken as resolved.
    public var truncatedAlerts: Int

    /// Creates a notification.
    public init(groupKey: String, receiver: String, alerts: [Alert], truncatedAlerts: Int = 0) {
        self.groupKey = groupKey
        self.receiver = receiver
        self.alerts = alerts
        self.truncatedAlerts = truncatedAlerts
    }
}

/// What one notification (or the passing of time) changed in an `AlertBook`.
public struct AlertBookChange: Sendable, Equatable {
    /// Alerts the book did not hold as firing before and holds now, ordered by labels.
    public var started: [Alert]
    /// Alerts the book held as firing before and no longer holds, ordered by labels; each has `firing == false`.
    public var resolved: [Alert]

    /// Creates a change.
    public init(started: [Alert] = [], resolved: [Alert] = []) {
        self.started = started
        self.resolved = resolved
    }

    /// Whether nothing changed.
    public var isEmpty: Bool { started.isEmpty && resolved.isEmpty }
}

/// The alerts firing right now, as Alertmanager's notifications (and reads of its API) tell them.
///
/// Rules, each one a property of Alertmanager's protocol:
/// - Identity is the label set. A firing report upserts the alert; a resolved one, or one whose `endsAt` has
///   passed, removes it.
/// - A notification carries its group's whole state, so an alert that group reported last time and that is absent
///   now has silently dropped out (e.g. `send_resolved: false`, or a resolved alert flushed from the group): it is
///   resolved. Only the group that reported an alert last can drop it; an alert that two groups share (two routes
///   with `continue: true`) stays while the group that reported it last still does. A truncated notification
///   (`truncatedAlerts > 0`) drops nothing.
/// - Duplicate deliveries (HA peers, retries) are idempotent, and late ones do not undo newer news: a report never
///   moves an alert's `startsAt` backwards, and for `staleReportHorizon` seconds after an alert resolved, a firing
///   report of that same episode (same or older `startsAt`) is taken as a stale copy and ignored. A re-fire has a
///   newer `startsAt` and is taken at once.
public struct AlertBook: Sendable, Equatable, Codable {
    /// Seconds a resolution is remembered to reject late firing copies of the same episode.
    ///
    /// Long enough for an HA peer's or a retry's late copy (Alertmanager retries within its `group_interval`,
    /// 5m by default), short enough that an alert that truly fires on (Prometheus restored its `startsAt` after a
    /// restart) comes back within minutes.
    public static let staleReportHorizon: Double = 600

    private var entries: [Labels: Entry] = [:]
    /// Index of `entries` by `Entry.group`, so a notification only visits its own group's alerts.
    private var members: [String: Set<Labels>] = [:]
    private var tombstones: [Labels: Tombstone] = [:]

    /// An empty book.
    public init() {}

    /// How many alerts the book holds (some may have passed their `endsAt` since the last notification).
    public var count: Int { entries.count }

    /// Applies one webhook notification: it carries its group's whole state (Alertmanager re-sends the group), so
    /// firing alerts are upserted, resolved ones removed, and alerts this group reported last time that are absent
    /// now are resolved. Alerts anywhere in the book whose `endsAt` passed by `now` are removed too.
    ///
    /// Duplicate deliveries are idempotent: applying the same notification again changes nothing.
    ///
    /// - Returns: The alerts that started and the ones that resolved.
    public mutating func receive(_ notification: AlertNotification, at now: Double) -> AlertBookChange {
        var tracker = ChangeTracker()
        expire(at: now, tracker: &tracker)
        let group = notification.groupKey
        var present = Set<Labels>()
        for alert in notification.alerts {
            present.insert(alert.labels)
            if alert.isFiring(at: now) {
                upsert(alert, group: group, at: now, tracker: &tracker)
            } else {
                resolve(alert, at: now, tracker: &tracker)
            }
        }
        if notification.truncatedAlerts <= 0 {
            for labels in members[group] ?? [] where !present.contains(labels) {
                guard let entry = entries[labels] else { continue }
                tracker.touch(labels, before: entry.alert)
                remove(labels)
                bury(labels, startsAt: entry.alert.startsAt, group: group, at: now)
                tracker.resolvedAs[labels] = resolvedCopy(entry.alert, at: now)
            }
        }
        return tracker.change(after: entries)
    }

    /// Replaces the book from a full read of currently firing alerts (Alertmanager API v2, or Prometheus `ALERTS` at
    /// open). Alerts in the read not firing at `now` are left out.
    ///
    /// The read is authoritative: it lifts the stale-report guard for the alerts it lists. An alert that stays keeps
    /// the group that reported it last, so that group's later drop-out still resolves it.
    public mutating func replaceAll(with alerts: [Alert], at now: Double) {
        pruneTombstones(at: now)
        var replacement: [Labels: Entry] = [:]
        for alert in alerts where alert.isFiring(at: now) {
            if let seen = replacement[alert.labels], seen.alert.startsAt > alert.startsAt { continue }
            replacement[alert.labels] = Entry(alert: alert, group: entries[alert.labels]?.group)
            tombstones[alert.labels] = nil
        }
        entries = replacement
        members = Self.index(entries)
    }

    /// The alerts firing at `now` (status firing, and `endsAt` unknown or in the future), ordered by labels.
    public func firing(at now: Double) -> [Alert] {
        entries.values.map(\.alert).filter { $0.isFiring(at: now) }.sorted { $0.labels < $1.labels }
    }

    // MARK: - Rules

    private mutating func upsert(_ alert: Alert, group: String, at now: Double, tracker: inout ChangeTracker) {
        let labels = alert.labels
        if let grave = tombstones[labels], grave.group == nil || grave.group == group, alert.startsAt <= grave.startsAt {
            return  // A late copy of an episode that already resolved.
        }
        let existing = entries[labels]
        if let existing, existing.alert.startsAt > alert.startsAt {
            return  // A late copy of an older episode than the one held.
        }
        tracker.touch(labels, before: existing?.alert)
        if let old = existing?.group, old != group { unindex(labels, from: old) }
        entries[labels] = Entry(alert: alert, group: group)
        members[group, default: []].insert(labels)
        tombstones[labels] = nil
    }

    private mutating func resolve(_ alert: Alert, at now: Double, tracker: inout ChangeTracker) {
        let labels = alert.labels
        if let existing = entries[labels] {
            // A resolution of an older episode does not end the newer one.
            guard existing.alert.startsAt <= alert.startsAt else { return }
            tracker.touch(labels, before: existing.alert)
            remove(labels)
        }
        // A resolution is about the alert, not the group: Alertmanager keeps one state per alert.
        bury(labels, startsAt: alert.startsAt, group: nil, at: now)
        tracker.resolvedAs[labels] = resolvedCopy(alert, at: now)
    }

    /// Removes every alert whose `endsAt` passed; no tombstone, since a report with a later `endsAt` is real news.
    private mutating func expire(at now: Double, tracker: inout ChangeTracker) {
        pruneTombstones(at: now)
        for (labels, entry) in entries where !entry.alert.isFiring(at: now) {
            tracker.touch(labels, before: entry.alert)
            remove(labels)
            tracker.resolvedAs[labels] = resolvedCopy(entry.alert, at: now)
        }
    }

    private mutating func remove(_ labels: Labels) {
        guard let entry = entries.removeValue(forKey: labels) else { return }
        if let group = entry.group { unindex(labels, from: group) }
    }

    private mutating func unindex(_ labels: Labels, from group: String) {
        members[group]?.remove(labels)
        if members[group]?.isEmpty == true { members[group] = nil }
    }

    /// Remembers a resolution; an existing, broader or newer one wins.
    private mutating func bury(_ labels: Labels, startsAt: Double, group: String?, at now: Double) {
        let grave = Tombstone(labels: labels, startsAt: startsAt, group: group, until: now + Self.staleReportHorizon)
        if let old = tombstones[labels], old.startsAt > startsAt || (old.startsAt == startsAt && old.group == nil && group != nil) {
            tombstones[labels]?.until = max(old.until, grave.until)
            return
        }
        tombstones[labels] = grave
    }

    private mutating func pruneTombstones(at now: Double) {
        guard tombstones.values.contains(where: { $0.until <= now }) else { return }
        tombstones = tombstones.filter { $0.value.until > now }
    }

    private static func index(_ entries: [Labels: Entry]) -> [String: Set<Labels>] {
        var members: [String: Set<Labels>] = [:]
        for (labels, entry) in entries {
            if let group = entry.group { members[group, default: []].insert(labels) }
        }
        return members
    }

    // MARK: - Codable

    private enum CodingKeys: String, CodingKey {
        case alerts, resolved
    }

    /// Decodes a book written by `encode(to:)`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        for entry in try container.decode([Entry].self, forKey: .alerts) {
            entries[entry.alert.labels] = entry
        }
        for grave in try container.decodeIfPresent([Tombstone].self, forKey: .resolved) ?? [] {
            tombstones[grave.labels] = grave
        }
        members = Self.index(entries)
    }

    /// Encodes the book as `{"alerts": [{alert, group}], "resolved": [{labels, startsAt, group, until}]}`, ordered by labels.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(entries.values.sorted { $0.alert.labels < $1.alert.labels }, forKey: .alerts)
        try container.encode(tombstones.values.sorted { $0.labels < $1.labels }, forKey: .resolved)
    }
}

/// One alert the book holds, and the group whose notification reported it last (`nil`: only a full read did).
private struct Entry: Sendable, Equatable, Codable {
    var alert: Alert
    var group: String?
}

/// A resolution remembered until `until`: firing reports of `labels` with `startsAt` at or before this one, from
/// `group` (any group when `nil`), are late copies.
private struct Tombstone: Sendable, Equatable, Codable {
    var labels: Labels
    var startsAt: Double
    var group: String?
    var until: Double

    init(labels: Labels, startsAt: Double, group: String?, until: Double) {
        self.labels = labels
        self.startsAt = startsAt
        self.group = group
        self.until = until
    }
}

/// Records the book's state before a receive for every alert it touched, to report what changed.
private struct ChangeTracker {
    /// For each touched label set: the alert held before (`nil` when it was not held).
    private var before: [Labels: Alert?] = [:]
    /// How each resolved alert is reported: the resolved report itself, or the held alert marked resolved.
    var resolvedAs: [Labels: Alert] = [:]

    mutating func touch(_ labels: Labels, before alert: Alert?) {
        if before.index(forKey: labels) == nil { before[labels] = .some(alert) }
    }

    func change(after entries: [Labels: Entry]) -> AlertBookChange {
        var change = AlertBookChange()
        for (labels, old) in before {
            switch (old, entries[labels]) {
            case (nil, let new?): change.started.append(new.alert)
            case (let old?, nil): change.resolved.append(resolvedAs[labels] ?? resolvedCopy(old, at: old.endsAt ?? old.startsAt))
            default: break
            }
        }
        change.started.sort { $0.labels < $1.labels }
        change.resolved.sort { $0.labels < $1.labels }
        return change
    }
}

/// The alert as resolved: status resolved, `endsAt` the time it ended if known and past, else `now`.
private func resolvedCopy(_ alert: Alert, at now: Double) -> Alert {
    var copy = alert
    copy.firing = false
    if copy.endsAt.map({ $0 > now }) ?? true { copy.endsAt = now }
    return copy
}
