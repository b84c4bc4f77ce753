/// Which alerts count for one window: the config's `alertmanager.matchers` and `ignore`, and the window's own `matchers`.
public struct AlertPolicy: Sendable, Equatable {
    /// The global `alertmanager.matchers`: all must match; empty selects every alert.
    public var matchers: [LabelMatcher]
    /// The window's own extra matchers: all must match too.
    public var windowMatchers: [LabelMatcher]
    /// The `alertmanager.ignore` entries: an alert matching every matcher of any entry is ignored.
    ///
    /// - Important: An empty entry ignores nothing (it would otherwise match, and hide, every alert).
    public var ignore: [[LabelMatcher]]
    /// Seconds an alert must have fired (`now − startsAt`) before it fails the gate.
    public var grace: Double

    /// Creates a policy; the defaults select every alert and fail at once.
    public init(matchers: [LabelMatcher] = [], windowMatchers: [LabelMatcher] = [], ignore: [[LabelMatcher]] = [], grace: Double = 0) {
        self.matchers = matchers
        self.windowMatchers = windowMatchers
        self.ignore = ignore
        self.grace = grace
    }

    /// Whether an alert with these labels counts: it matches `matchers` and `windowMatchers` and no `ignore` entry.
    public func selects(_ labels: Labels) -> Bool {
        matchers.matches(labels) && windowMatchers.matches(labels) && !ignore.contains { !$0.isEmpty && $0.matches(labels) }
    }
}

/// A new firing alert that matters for a window.
public struct AlertFinding: Sendable, Equatable, Codable {
    /// The alert as the book holds it.
    public var alert: Alert
    /// `true` while the alert has fired for less than the policy's `grace`: it keeps the verdict pending, it does
    /// not fail it yet.
    public var inGrace: Bool
    /// The sentence for people, e.g. `alert KubeAPIErrorsHigh {severity="critical"} firing since
    /// 2026-08-20T10:20:01Z (not firing when the window opened)`.
    public var reason: String

    /// Creates a finding.
    public init(alert: Alert, inGrace: Bool, reason: String) {
        self.alert = alert
        self.inGrace = inGrace
        self.reason = reason
    }
}

/// The new firing alerts that matter for a window: firing at `now`, selected by the policy, and not in the window's
/// baseline (the label sets firing when it opened). Oldest first.
///
/// Findings that have fired for less than `policy.grace` have `inGrace == true`: pass their reasons to `decide` as
/// `blockers`. The others fail the gate: pass their reasons as `failures`, or to `failNow` on a notification.
///
/// - Important: The baseline is by label set, pinned at open: an alert that was firing at open, resolves, and
///   fires again during the window stays baseline.
public func judgeAlerts(_ book: AlertBook, baseline: Set<Labels>, policy: AlertPolicy, now: Double) -> [AlertFinding] {
    book.firing(at: now)
        .filter { !baseline.contains($0.labels) && policy.selects($0.labels) }
        .sorted { ($0.startsAt, $0.labels) < ($1.startsAt, $1.labels) }
        .map { alert in
            let firedFor = now - alert.startsAt
            let inGrace = firedFor < policy.grace
            return AlertFinding(
                alert: alert,
                inGrace: inGrace,
                reason: newAlertReason(alert, graceRemaining: inGrace ? policy.grace - firedFor : nil)
            )
        }
}
