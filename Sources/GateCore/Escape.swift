/// The pre-upgrade Velero Backup of a window, as the gate last saw it.
public struct BackupState: Sendable, Equatable, Codable {
    /// The Backup's name (`<window>-<id>-pre`, or an existing one the request named).
    public var name: String
    /// Velero's phase as last read; ``BackupPhase/unknown`` until first read.
    public var phase: BackupPhase
    /// True when the gate created it (false: an existing backup named by the request).
    public var created: Bool
    /// When the gate asked for it / started waiting (Unix seconds).
    public var requestedAt: Double
    /// When it reached a terminal phase.
    public var finishedAt: Double?
    /// True while a Backup the gate creates is not created yet: with several replicas the window is admitted by any
    /// of them, and the leader creates its Backup (under this fixed name, so a second try finds it there).
    public var awaitingCreation: Bool? = nil

    /// Creates a backup state.
    public init(name: String, phase: BackupPhase = .unknown, created: Bool, requestedAt: Double, finishedAt: Double? = nil) {
        self.name = name
        self.phase = phase
        self.created = created
        self.requestedAt = requestedAt
        self.finishedAt = finishedAt
    }

    /// Velero finished it successfully: it can be restored from.
    public var isUsable: Bool { phase.isUsable }
    /// Velero gave up on it, or finished it only partly, or it is being deleted: not a safe rollback point.
    public var hasFailed: Bool { phase.hasFailed }
}

/// The rollback of a window: from intent to a verified result.
public struct RestoreState: Sendable, Equatable, Codable {
    /// The Restore's name (`<window>-<id>-rollback`).
    public var name: String
    /// ``RestorePhase/intent`` (persisted, not yet requested), ``RestorePhase/dryRun``, or Velero's phase once requested.
    public var phase: RestorePhase
    /// How it was triggered: automatically, by an operator, or only recorded (dry run).
    public var mode: RestoreMode
    /// When the intent was persisted (before any request).
    public var intentAt: Double
    /// When the API accepted the Restore (201, or 409 for a retry of the same name).
    public var requestedAt: Double?
    /// When it reached a terminal phase.
    public var finishedAt: Double?
    /// Why it was triggered.
    public var reason: String
    /// What verification found: workloads whose images are back to the ones recorded at open.
    public var rolledBack: [ImageChange]?
    /// Workloads whose images are still not the ones recorded at open.
    public var notRolledBack: [ImageChange]?
    /// Failed attempts to create the Restore (retried by the reconciler).
    public var attempts: Int
    /// The last error from the Kubernetes API, if any.
    public var lastError: String?

    /// Creates a restore intent.
    public init(name: String, phase: RestorePhase = .intent, mode: RestoreMode, intentAt: Double, reason: String) {
        self.name = name
        self.phase = phase
        self.mode = mode
        self.intentAt = intentAt
        self.reason = reason
        self.attempts = 0
    }

    /// Velero is done with it, one way or another (or it was only a dry run, or it was deleted).
    public var isTerminal: Bool { phase.isTerminal }
}

/// One container's image in one workload, recorded at open and compared after a restore.
public struct RecordedImage: Sendable, Equatable, Hashable, Codable {
    /// `Deployment`, `StatefulSet` or `DaemonSet`.
    public var kind: String
    /// The workload's namespace.
    public var namespace: String
    /// The workload's name.
    public var name: String
    /// The container's name.
    public var container: String
    /// The image reference.
    public var image: String

    /// Creates a record.
    public init(kind: String, namespace: String, name: String, container: String, image: String) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.container = container
        self.image = image
    }

    /// `Deployment prod/podinfo container app`.
    public var workload: String { "\(kind) \(namespace)/\(name) container \(container)" }
}

/// A container whose image at open differs, or differed, from its image now.
public struct ImageChange: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The workload and container.
    public var workload: String
    /// The image recorded when the window opened.
    public var atOpen: String
    /// The image found after the restore (nil: the workload or container is gone).
    public var now: String?

    /// Creates a change.
    public init(workload: String, atOpen: String, now: String?) {
        self.workload = workload
        self.atOpen = atOpen
        self.now = now
    }

    /// The workload, its image now and its image at open, as the verification report prints it.
    public var description: String { "\(workload): \(now ?? "missing") (was \(atOpen) at open)" }
}

/// Compares the images recorded at open with the images after a restore.
///
/// - Returns: `rolledBack`, the containers whose image is the one at open again (or never changed);
///   `notRolledBack`, those still running another image or gone (Velero's `update` policy is
///   best-effort, so this is reported, never assumed).
public func compareImages(atOpen: [RecordedImage], now: [RecordedImage]) -> (rolledBack: [ImageChange], notRolledBack: [ImageChange]) {
    func key(_ image: RecordedImage) -> String { "\(image.kind)/\(image.namespace)/\(image.name)/\(image.container)" }
    let current = Dictionary(now.map { (key($0), $0.image) }, uniquingKeysWith: { first, _ in first })
    var rolledBack: [ImageChange] = []
    var notRolledBack: [ImageChange] = []
    for image in atOpen.sorted(by: { key($0) < key($1) }) {
        let change = ImageChange(workload: image.workload, atOpen: image.image, now: current[key(image)])
        if current[key(image)] == image.image { rolledBack.append(change) } else { notRolledBack.append(change) }
    }
    return (rolledBack, notRolledBack)
}
