/// What the engine must do after the ``WindowMachine`` took an event: the machine decides, the engine only
/// carries these out, in order.
public enum WindowAction: Sendable, Equatable {
    /// Write to the state store. Each write is one transaction: all of it lands, or none of it.
    case persist(WindowWrite)
    /// Re-render the window's gate body and hand it to pollers.
    case publish
    /// Write a gate log line.
    case log(GateLogLine)
    /// Count something in the gate's own metrics.
    case count(WindowCount)
    /// Create the pre-upgrade Velero Backup (only while opening: a failure means the window is not opened).
    case createBackup(BackupOrder)
    /// Read the Backup's phase and answer with ``WindowMachine/Event/backupObserved(_:failureReason:at:)``.
    case pollBackup(name: String)
    /// Create the Restore and answer with `restoreCreated` or `restoreCreateFailed`.
    case createRestore(RestoreOrder)
    /// Read the Restore's phase and answer with `restoreObserved` (or `restoreGone`).
    case pollRestore(name: String)
    /// Read the window's workloads' images and answer with `verified` or `verifyFailed`.
    case verifyImages(namespaces: [String])
    /// Kubernetes work is waiting: wake the escape loop now rather than at its next tick.
    case wakeEscape
    /// The window left the open set: stop evaluating it and drop its per-window metrics.
    case closed
    /// The event was refused; nothing changed. The engine answers the caller with it.
    case reject(WindowRefusal)
}

/// One transaction against the state store.
public enum WindowWrite: Sendable, Equatable {
    /// A new window, its pinned baseline and its first event.
    case insert(WindowRecord, WindowBaseline, WindowEvent)
    /// The whole record (verdict, memory, backup, restore intent, close) and events, together.
    case update(WindowRecord, [WindowEvent])
    /// An evaluation, the whole record it led to (a fail and its restore intent included) and events, together.
    case evaluation(WindowRecord, EvaluationRecord, [WindowEvent])
    /// Events only.
    case events([WindowEvent])

    /// The record this write carries, if it carries one.
    public var record: WindowRecord? {
        switch self {
        case .insert(let record, _, _), .update(let record, _), .evaluation(let record, _, _): record
        case .events: nil
        }
    }
}

/// The Backup to create when a window opens.
public struct BackupOrder: Sendable, Equatable {
    /// `metadata.name`.
    public var name: String
    /// The namespaces it covers.
    public var namespaces: [String]
    /// The window's name and id, for labels.
    public var window: String
    /// The window's id.
    public var windowID: String

    /// Creates an order.
    public init(name: String, namespaces: [String], window: String, windowID: String) {
        self.name = name
        self.namespaces = namespaces
        self.window = window
        self.windowID = windowID
    }
}

/// The one Restore a failed window gets.
public struct RestoreOrder: Sendable, Equatable {
    /// `metadata.name`: deterministic, so a retry meets 409 and creates nothing new.
    public var name: String
    /// `spec.backupName`.
    public var backupName: String
    /// `spec.includedNamespaces`.
    public var namespaces: [String]
    /// The window's name.
    public var window: String
    /// The window's id.
    public var windowID: String

    /// Creates an order.
    public init(name: String, backupName: String, namespaces: [String], window: String, windowID: String) {
        self.name = name
        self.backupName = backupName
        self.namespaces = namespaces
        self.window = window
        self.windowID = windowID
    }
}

/// A counter the engine increments; every label is from a closed set.
public enum WindowCount: Sendable, Equatable {
    /// The verdict changed to this one.
    case verdictChange(Verdict)
    /// A step of the escape plan.
    case escapeStep(EscapeStep)
}

/// The steps of the escape plan, as metric labels.
public enum EscapeStep: String, Sendable, Equatable, CaseIterable {
    /// The pre-upgrade Backup was created.
    case backupCreated = "backup_created"
    /// The Backup completed.
    case backupCompleted = "backup_completed"
    /// The Backup failed.
    case backupFailed = "backup_failed"
    /// The Backup moved to another running phase.
    case backupProgress = "backup_progress"
    /// A restore intent was recorded.
    case intent
    /// A dry-run restore was recorded.
    case dryRun = "dry_run"
    /// The Restore was created.
    case requested
    /// Creating the Restore failed (it is retried).
    case requestFailed = "request_failed"
    /// The Restore completed.
    case completed
    /// The Restore failed, was deleted or disappeared.
    case failed
}

/// One gate log line, decided by the machine and written by the engine.
public struct GateLogLine: Sendable, Equatable {
    /// How loud.
    public enum Level: String, Sendable, Equatable {
        /// Routine.
        case info
        /// A verdict or window change.
        case notice
        /// A source failed.
        case warning
        /// Something did not work and needs a look.
        case error
        /// A fail or a restore.
        case critical
    }

    /// How loud.
    public var level: Level
    /// The sentence.
    public var message: String
    /// Dotted metadata keys (`gate.window`, `velero.restore`, …).
    public var metadata: [String: LogValue]

    /// Creates a line.
    public init(_ level: Level, _ message: String, _ metadata: [String: LogValue] = [:]) {
        self.level = level
        self.message = message
        self.metadata = metadata
    }
}

/// A log metadata value: a string, a list or a map.
public indirect enum LogValue: Sendable, Equatable, ExpressibleByStringLiteral {
    /// Text.
    case string(String)
    /// A list.
    case array([LogValue])
    /// A map.
    case dictionary([String: LogValue])

    /// Text, written as a string literal.
    public init(stringLiteral value: String) { self = .string(value) }
}

/// Why the machine refused an event; nothing changed.
public enum WindowRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// The caller is a Flagger canary or an object that did not open this window.
    case notOwner(window: String, owner: WindowOwner)
    /// The window is closed.
    case closed(window: String)
    /// The gate has no velero section.
    case noVelero
    /// `restore.mode: dry-run` never creates a Restore.
    case dryRunMode
    /// The window already has its one restore.
    case alreadyRestored(window: String, restore: String, phase: RestorePhase)
    /// There is nothing safe to restore from yet (or ever).
    case noUsableBackup(window: String, why: String)

    /// A bounded label (metrics, API error codes).
    public var label: String {
        switch self {
        case .notOwner: "not_owner"
        case .closed: "closed"
        case .noVelero: "no_velero"
        case .dryRunMode: "dry_run"
        case .alreadyRestored: "already_restored"
        case .noUsableBackup: "no_usable_backup"
        }
    }

    /// The text people read in logs and answers.
    public var description: String {
        switch self {
        case .notOwner(let window, let owner): "window \(window) belongs to \(owner); only its owner or the windows scope may change it"
        case .closed(let window): "window \(window) is closed"
        case .noVelero: "no velero section: this gate only judges, it cannot restore"
        case .dryRunMode: "restore.mode is dry-run: restores are only recorded, never created"
        case .alreadyRestored(let window, let restore, let phase):
            "window \(window) already has restore \(restore) (\(phase.rawValue.isEmpty ? "requested" : phase.rawValue)); a window is restored once"
        case .noUsableBackup(let window, let why): "window \(window) has no usable pre-upgrade backup (\(why))"
        }
    }
}

extension SeriesComparison {
    /// The comparison's numbers for a gate log line: medians, shift, interval, effect and allowance, as text
    /// (numbers as the reason prints them, so log and reason agree).
    public var logValue: LogValue {
        var entry: [String: LogValue] = [
            "recent_samples": .string(String(recentSamples)), "baseline_samples": .string(String(baselineSamples)),
            "confidence": .string(formatNumber(confidence)), "allowance": .string(allowance), "effect_unit": .string(effectUnit),
        ]
        let numbers: [(String, Double?)] = [
            ("recent_median", recentMedian), ("baseline_median", baselineMedian), ("shift", shift), ("lower", lower), ("upper", upper),
            ("effect", effect), ("p_value", pValue),
        ]
        for (key, value) in numbers {
            if let value { entry[key] = .string(formatNumber(value)) }
        }
        return .dictionary(entry)
    }
}
