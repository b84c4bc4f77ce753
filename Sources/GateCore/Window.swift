/// What an operator, a pipeline or Flagger asked for when opening an upgrade window.
public struct WindowRequest: Sendable, Equatable, Codable {
    /// The window's name, a DNS-1123 label.
    public var name: String
    /// The component being upgraded (e.g. `cert-manager`).
    public var component: String?
    /// The version before the upgrade.
    public var fromVersion: String?
    /// The version after the upgrade.
    public var toVersion: String?
    /// Namespaces that scope the Velero backup/restore and the recorded workloads.
    public var namespaces: [String]
    /// Values for `{{label}}` placeholders in check queries.
    public var labels: [String: String]
    /// Extra Alertmanager matchers for this window only.
    public var matchers: [String]
    /// The subset of configured checks to run; nil runs all of them.
    public var checks: [String]?
    /// Soak override in seconds.
    public var soak: Double?
    /// Duration override in seconds.
    public var duration: Double?
    /// `{create: false}` skips the pre-upgrade backup; `{name}` uses an existing Backup instead.
    public var backup: BackupRequest?

    /// Creates a request.
    public init(
        name: String,
        component: String? = nil,
        fromVersion: String? = nil,
        toVersion: String? = nil,
        namespaces: [String] = [],
        labels: [String: String] = [:],
        matchers: [String] = [],
        checks: [String]? = nil,
        soak: Double? = nil,
        duration: Double? = nil,
        backup: BackupRequest? = nil
    ) {
        self.name = name
        self.component = component
        self.fromVersion = fromVersion
        self.toVersion = toVersion
        self.namespaces = namespaces
        self.labels = labels
        self.matchers = matchers
        self.checks = checks
        self.soak = soak
        self.duration = duration
        self.backup = backup
    }

    /// The labels queries are filled with: the request's labels, plus `namespace` when exactly one
    /// namespace is given and no `namespace` label is, so `{{namespace}}` works without repeating it.
    public var templateLabels: [String: String] {
        var result = labels
        if result["namespace"] == nil, namespaces.count == 1 { result["namespace"] = namespaces[0] }
        return result
    }
}

/// What a window asks of the pre-upgrade backup.
public enum BackupRequest: Sendable, Equatable, Codable {
    /// Create one (`true`) or explicitly not (`false`).
    case create(Bool)
    /// Use this existing Velero Backup.
    case existing(String)
}

/// One upgrade window as the daemon keeps it: the request, what was resolved at open, and the
/// gate's memory (verdict, streaks, sticky fail) that must survive restarts.
public struct WindowRecord: Sendable, Equatable, Codable {
    /// A short id fixed when the window opens, so a reused window name never collides.
    public var id: String
    /// What was asked for.
    public var request: WindowRequest
    /// The checks resolved at open (templates filled), in config order.
    public var checks: [CheckSpec]
    /// When the window opened (Unix seconds).
    public var openedAt: Double
    /// The soak resolved at open (seconds).
    public var soak: Double
    /// The duration resolved at open (seconds); the window closes itself after it.
    public var duration: Double
    /// When it closed, if it did.
    public var closedAt: Double?
    /// Why it closed ("closed by API", "duration ended", …).
    public var closeReason: String?
    /// The gate's memory.
    public var memory: GateMemory
    /// The pre-upgrade backup, when Velero is configured.
    public var backup: BackupState?
    /// The rollback, once one was intended.
    public var restore: RestoreState?
    /// The window's workloads' container images when it opened (for restore verification).
    public var imagesAtOpen: [RecordedImage]
    /// Who opened it, and so who may change it.
    public var owner: WindowOwner
    /// The `restore.mode` in force when the window opened; nil in records written before it was kept (and
    /// without Velero).
    public var restoreMode: RestoreMode?
    /// When an operator last reset the verdict: the verdict is known fresh from then until the next evaluation.
    public var resetAt: Double? = nil

    /// Creates a record.
    public init(
        id: String,
        request: WindowRequest,
        checks: [CheckSpec],
        openedAt: Double,
        soak: Double,
        duration: Double,
        closedAt: Double? = nil,
        closeReason: String? = nil,
        memory: GateMemory = GateMemory(),
        backup: BackupState? = nil,
        restore: RestoreState? = nil,
        imagesAtOpen: [RecordedImage] = [],
        owner: WindowOwner = .pipeline,
        restoreMode: RestoreMode? = nil
    ) {
        self.owner = owner
        self.restoreMode = restoreMode
        self.id = id
        self.request = request
        self.checks = checks
        self.openedAt = openedAt
        self.soak = soak
        self.duration = duration
        self.closedAt = closedAt
        self.closeReason = closeReason
        self.memory = memory
        self.backup = backup
        self.restore = restore
        self.imagesAtOpen = imagesAtOpen
    }

    private enum CodingKeys: String, CodingKey {
        case id, request, checks, openedAt, soak, duration, closedAt, closeReason, memory, backup, restore, imagesAtOpen, owner, restoreMode
    }

    /// Decodes a stored window; fields added after it was stored take their defaults.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        request = try container.decode(WindowRequest.self, forKey: .request)
        checks = try container.decode([CheckSpec].self, forKey: .checks)
        openedAt = try container.decode(Double.self, forKey: .openedAt)
        soak = try container.decode(Double.self, forKey: .soak)
        duration = try container.decode(Double.self, forKey: .duration)
        closedAt = try container.decodeIfPresent(Double.self, forKey: .closedAt)
        closeReason = try container.decodeIfPresent(String.self, forKey: .closeReason)
        memory = try container.decode(GateMemory.self, forKey: .memory)
        // Records written before the escape plan existed have none of it.
        backup = try container.decodeIfPresent(BackupState.self, forKey: .backup)
        restore = try container.decodeIfPresent(RestoreState.self, forKey: .restore)
        imagesAtOpen = try container.decodeIfPresent([RecordedImage].self, forKey: .imagesAtOpen) ?? []
        // Records written before windows had owners were opened by pipelines or Flagger alike; the pipeline rule
        // (any windows-scoped caller may change them) keeps them manageable.
        owner = try container.decodeIfPresent(WindowOwner.self, forKey: .owner) ?? .pipeline
        restoreMode = try container.decodeIfPresent(RestoreMode.self, forKey: .restoreMode)
    }

    /// The window's name.
    public var name: String { request.name }
    /// True until the window is closed.
    public var isOpen: Bool { closedAt == nil }
    /// When the window closes itself.
    public var closesAt: Double { openedAt + duration }
}

/// The pinned snapshot taken when a window opens; it never moves during the window.
public struct WindowBaseline: Sendable, Equatable, Codable {
    /// When it was captured.
    public var capturedAt: Double
    /// Start of the range the aggregates cover.
    public var start: Double
    /// End of the range (the open time), so it can be re-queried with PromQL's `@` modifier.
    public var end: Double
    /// Per check, the summarised series.
    public var checks: [String: [BaselineSeries]]
    /// The alerts already firing when the window opened: baseline, not news.
    public var alerts: [Alert]

    /// Creates a baseline.
    public init(capturedAt: Double, start: Double, end: Double, checks: [String: [BaselineSeries]], alerts: [Alert] = []) {
        self.capturedAt = capturedAt
        self.start = start
        self.end = end
        self.checks = checks
        self.alerts = alerts
    }

    private enum CodingKeys: String, CodingKey { case capturedAt, start, end, checks, alerts }

    /// Decodes a stored baseline; a baseline stored without alerts has none.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        capturedAt = try container.decode(Double.self, forKey: .capturedAt)
        start = try container.decode(Double.self, forKey: .start)
        end = try container.decode(Double.self, forKey: .end)
        checks = try container.decode([String: [BaselineSeries]].self, forKey: .checks)
        // State files written before alerts were part of the baseline have none.
        alerts = try container.decodeIfPresent([Alert].self, forKey: .alerts) ?? []
    }
}

/// What an audit-trail event records: a closed set, so readers and dashboards can switch on it.
public enum EventKind: String, Sendable, Codable, CaseIterable {
    /// The window was opened (by whom, with which id).
    case opened
    /// The verdict changed (from, to, reasons; `cause: alert` when an alert decided it).
    case verdict
    /// The pre-upgrade Backup was requested or changed phase.
    case backup
    /// A restore was intended, requested, observed, refused or lost.
    case restore
    /// The images after a restore were compared with the ones recorded at open.
    case verify
    /// Flagger reported an event for the canary that owns the window.
    case flagger
    /// The window was closed (by whom, why, with which verdict).
    case closed
    /// An operator cleared a sticky fail.
    case reset
    /// No evaluation finished for three intervals (pollers get inconclusive), or one finished again.
    case stale
}

/// One entry of a window's audit trail.
public struct WindowEvent: Sendable, Equatable, Codable {
    /// When it happened.
    public var at: Double
    /// What happened, from a closed set.
    public var kind: EventKind
    /// The sentence an on-call engineer reads.
    public var message: String
    /// Extra details (who, from which verdict, …).
    public var details: [String: String]

    /// Creates an event.
    public init(at: Double, kind: EventKind, message: String, details: [String: String] = [:]) {
        self.at = at
        self.kind = kind
        self.message = message
        self.details = details
    }
}

/// One persisted evaluation of one window: every check's outcome and the decision reached.
public struct EvaluationRecord: Sendable, Equatable, Codable {
    /// The pinned evaluation time.
    public var at: Double
    /// How long the evaluation took (seconds).
    public var duration: Double
    /// The verdict after this evaluation.
    public var verdict: Verdict
    /// Per check status after this evaluation.
    public var statuses: [String: CheckStatus]
    /// The reasons for the verdict.
    public var reasons: [String]
    /// Soak left (seconds).
    public var soakRemaining: Double
    /// Every check's outcome.
    public var outcomes: [CheckOutcome]

    /// Creates a record.
    public init(
        at: Double,
        duration: Double,
        verdict: Verdict,
        statuses: [String: CheckStatus],
        reasons: [String],
        soakRemaining: Double,
        outcomes: [CheckOutcome]
    ) {
        self.at = at
        self.duration = duration
        self.verdict = verdict
        self.statuses = statuses
        self.reasons = reasons
        self.soakRemaining = soakRemaining
        self.outcomes = outcomes
    }
}

/// True when `name` is a DNS-1123 label: 1–63 lowercase letters, digits and '-', starting and
/// ending with a letter or digit.
public func isDNS1123Label(_ name: String) -> Bool {
    let bytes = Array(name.utf8)
    guard (1...63).contains(bytes.count) else { return false }
    func alphanumeric(_ byte: UInt8) -> Bool { (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) }
    guard alphanumeric(bytes.first!), alphanumeric(bytes.last!) else { return false }
    return bytes.allSatisfy { alphanumeric($0) || $0 == 0x2D }
}

/// The kind of semantic-version change between two versions, or nil when either is not semver.
///
/// Accepts an optional leading `v` and ignores pre-release and build suffixes (`v1.13.1-rc.1`).
public func semverBump(from: String, to: String) -> SemverBump? {
    func parts(_ version: String) -> [Int]? {
        var text = Substring(version)
        if text.hasPrefix("v") || text.hasPrefix("V") { text = text.dropFirst() }
        let core = text.prefix { $0 != "-" && $0 != "+" }
        let numbers = core.split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
        guard (1...3).contains(numbers.count), numbers.allSatisfy({ $0 != nil }) else { return nil }
        return numbers.map { $0! } + [Int](repeating: 0, count: 3 - numbers.count)
    }
    guard let old = parts(from), let new = parts(to) else { return nil }
    if old[0] != new[0] { return .major }
    if old[1] != new[1] { return .minor }
    return .patch
}

/// A semantic-version change: major, minor or patch.
public enum SemverBump: String, Sendable, Equatable, Codable, CaseIterable {
    case patch
    case minor
    case major
}
