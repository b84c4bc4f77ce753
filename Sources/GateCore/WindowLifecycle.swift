/// The phase of a window's pre-upgrade Velero Backup, as the gate last read it.
///
/// Raw values are Velero's own spellings, so state files written with plain strings decode unchanged; a phase
/// this build does not know decodes as ``unknown`` (treated as "not finished yet").
public enum BackupPhase: String, Sendable, Equatable, Hashable, Codable, CaseIterable {
    /// Not read yet, or a phase this build does not know.
    case unknown = ""
    /// Created, not yet processed by Velero.
    case new = "New"
    /// Waiting for a slot.
    case queued = "Queued"
    /// Dequeued, about to start.
    case readyToStart = "ReadyToStart"
    /// Velero rejected the spec.
    case failedValidation = "FailedValidation"
    /// Running.
    case inProgress = "InProgress"
    /// Items done; plugin operations still running.
    case waitingForPluginOperations = "WaitingForPluginOperations"
    /// As above, and some item already failed.
    case waitingForPluginOperationsPartiallyFailed = "WaitingForPluginOperationsPartiallyFailed"
    /// Finishing up.
    case finalizing = "Finalizing"
    /// Finishing up, and some item failed.
    case finalizingPartiallyFailed = "FinalizingPartiallyFailed"
    /// Done without errors: a rollback point.
    case completed = "Completed"
    /// Done, with errors on some items: not a safe rollback point.
    case partiallyFailed = "PartiallyFailed"
    /// Failed as a whole.
    case failed = "Failed"
    /// Being deleted.
    case deleting = "Deleting"
    /// The Backup object no longer exists.
    case gone = "Gone"

    /// Parses Velero's spelling; anything unknown is ``unknown``.
    public init(velero phase: String) {
        self = BackupPhase(rawValue: phase) ?? .unknown
    }

    /// Decodes a stored phase; one this version does not know decodes as `unknown`.
    public init(from decoder: any Decoder) throws {
        self = BackupPhase(velero: try decoder.singleValueContainer().decode(String.self))
    }

    /// Velero finished it without errors: it can be restored from.
    public var isUsable: Bool { self == .completed }
    /// It will never become usable.
    public var hasFailed: Bool { [.failed, .partiallyFailed, .failedValidation, .deleting, .gone].contains(self) }
    /// Velero will not change it any more: no need to read it again.
    public var isTerminal: Bool { isUsable || hasFailed }
    /// The phase as people read it (`New` before the first read).
    public var display: String { self == .unknown ? "New" : rawValue }
}

/// The phase of a window's rollback: the gate's own steps before Velero, then Velero's phases.
public enum RestorePhase: String, Sendable, Equatable, Hashable, Codable, CaseIterable {
    /// The intent is recorded; the Restore has not been created yet.
    case intent
    /// `restore.mode: dry-run`: the Restore was only recorded, never created.
    case dryRun = "dry-run"
    /// Created; Velero has not reported a phase this build knows.
    case unknown = ""
    /// Created, not yet processed by Velero.
    case new = "New"
    /// Velero rejected the spec.
    case failedValidation = "FailedValidation"
    /// Running.
    case inProgress = "InProgress"
    /// Items done; plugin operations still running.
    case waitingForPluginOperations = "WaitingForPluginOperations"
    /// As above, and some item already failed.
    case waitingForPluginOperationsPartiallyFailed = "WaitingForPluginOperationsPartiallyFailed"
    /// Finishing up.
    case finalizing = "Finalizing"
    /// Finishing up, and some item failed.
    case finalizingPartiallyFailed = "FinalizingPartiallyFailed"
    /// Done without errors.
    case completed = "Completed"
    /// Done, with errors on some items.
    case partiallyFailed = "PartiallyFailed"
    /// Failed as a whole.
    case failed = "Failed"
    /// Someone is deleting the Restore: it will not finish, and is no longer followed.
    case deleting = "Deleting"
    /// The Restore object no longer exists: it is no longer followed.
    case gone = "Gone"

    /// Parses Velero's spelling of a Restore's phase; anything unknown is ``unknown``.
    public init(velero phase: String) {
        self = RestorePhase(rawValue: phase).flatMap { [.intent, .dryRun, .gone].contains($0) ? nil : $0 } ?? .unknown
    }

    /// Decodes a stored phase; one this version does not know decodes as `unknown`.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = RestorePhase(rawValue: text) ?? .unknown
    }

    /// Nothing more will happen to it: it is not polled any more.
    public var isTerminal: Bool { [.completed, .partiallyFailed, .failed, .failedValidation, .dryRun, .deleting, .gone].contains(self) }
    /// The Restore exists in Velero (or did): it was requested.
    public var wasRequested: Bool { self != .intent && self != .dryRun }
    /// Finished without errors.
    public var isSuccess: Bool { self == .completed }
}

/// How a failed window is rolled back.
public enum RestoreMode: String, Sendable, Equatable, Hashable, Codable, CaseIterable {
    /// Create the Restore on the transition to `fail`.
    case auto
    /// Wait for an operator's restore request.
    case manual
    /// Log and record the Restore that would be created, and create nothing.
    case dryRun = "dry-run"
}

/// Who opened a window, and so who may change it.
public enum WindowOwner: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    /// A pipeline or a person, through the API or the CLI.
    case pipeline
    /// A Flagger canary, by namespace and name (every revision of the canary is the same owner).
    case canary(namespace: String, name: String)
    /// An `UpgradeWindow` object, by namespace and name.
    case object(namespace: String, name: String)

    /// The text people read in logs and answers.
    public var description: String {
        switch self {
        case .pipeline: "a pipeline (API)"
        case .canary(let namespace, let name): "Flagger canary \(namespace)/\(name)"
        case .object(let namespace, let name): "UpgradeWindow \(namespace)/\(name)"
        }
    }
}

/// Who asks for a change to a window.
public enum WindowActor: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// A caller with the `windows` scope (API, CLI), by the name it is audited under: may change any window.
    case pipeline(String)
    /// A Flagger hook for this canary: may change only windows the canary opened.
    case canary(namespace: String, name: String)
    /// An `UpgradeWindow` object: may change only the window it opened.
    case object(namespace: String, name: String)
    /// The gate itself (duration ended, a restart).
    case gate

    /// The text people read in logs and answers.
    public var description: String {
        switch self {
        case .pipeline(let name): name
        case .canary(let namespace, let name): "flagger \(namespace)/\(name)"
        case .object(let namespace, let name): "UpgradeWindow \(namespace)/\(name)"
        case .gate: "upgrade-gate"
        }
    }

    /// The owner a window opened by this actor gets.
    public var owner: WindowOwner {
        switch self {
        case .pipeline, .gate: .pipeline
        case .canary(let namespace, let name): .canary(namespace: namespace, name: name)
        case .object(let namespace, let name): .object(namespace: namespace, name: name)
        }
    }

    /// Whether this actor may close, reset or record events on a window with `owner`.
    ///
    /// - Important: Flagger hooks and objects act only on what they opened; the `windows` scope and the gate
    ///   itself may change any window.
    public func mayChange(_ owner: WindowOwner) -> Bool {
        switch self {
        case .pipeline, .gate: true
        case .canary, .object: self.owner == owner
        }
    }
}

/// The settings a window's lifecycle is decided by, resolved once from the configuration.
public struct WindowSettings: Sendable, Equatable {
    /// Consecutive broken evaluations of a critical check before it fails the gate.
    public var failAfter: Int
    /// Seconds after open during which broken checks are reported, not acted on.
    public var warmup: Double
    /// Seconds between evaluations; an evaluation older than three of them is stale.
    public var interval: Double
    /// The escape plan; nil when the gate only judges.
    public var velero: VeleroSettings?

    /// What the escape plan does.
    public struct VeleroSettings: Sendable, Equatable {
        /// What happens on the transition to fail.
        public var restoreMode: RestoreMode
        /// A failed backup fails the window.
        public var backupRequired: Bool
        /// How long to wait for the backup to complete (seconds).
        public var backupWaitTimeout: Double
        /// After a finished Restore, compare the workloads' images with those at open.
        public var verify: Bool
        /// Velero's namespace.
        public var namespace: String
        /// The Restore's `existingResourcePolicy` (nil: omitted).
        public var existingResourcePolicy: String?
        /// The Restore's `restorePVs`.
        public var restorePVs: Bool

        /// Creates escape-plan settings.
        public init(
            restoreMode: RestoreMode = .auto,
            backupRequired: Bool = true,
            backupWaitTimeout: Double = 900,
            verify: Bool = true,
            namespace: String = "velero",
            existingResourcePolicy: String? = "update",
            restorePVs: Bool = false
        ) {
            self.namespace = namespace
            self.existingResourcePolicy = existingResourcePolicy
            self.restorePVs = restorePVs
            self.restoreMode = restoreMode
            self.backupRequired = backupRequired
            self.backupWaitTimeout = backupWaitTimeout
            self.verify = verify
        }
    }

    /// Creates settings; the defaults are the configuration's.
    public init(failAfter: Int = 2, warmup: Double = 60, interval: Double = 15, velero: VeleroSettings? = nil) {
        self.failAfter = failAfter
        self.warmup = warmup
        self.interval = interval
        self.velero = velero
    }

    /// How old the last evaluation may be before the verdict is stale.
    public var staleAfter: Double { 3 * interval }
}

/// The open windows a new window of `owner` supersedes: the earlier windows of the same owner (a canary's new
/// revision replaces its old one), never a window of another owner, whatever its name.
///
/// - Important: Identity, not names: `podinfo`'s canary never supersedes `podinfo-prod-upgrade` opened by a pipeline.
public func windowsSuperseded(by owner: WindowOwner, opening id: String, among open: [WindowRecord]) -> [WindowRecord] {
    guard owner != .pipeline else { return [] }
    return open.filter { $0.isOpen && $0.owner == owner && $0.id != id }.sorted { $0.openedAt < $1.openedAt }
}
