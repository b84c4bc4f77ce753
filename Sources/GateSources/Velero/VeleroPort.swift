/// The narrow port to Velero: the pre-upgrade Backup, the rollback Restore, and the workload images a
/// restore is judged by: the backup taken at open, the restore on fail, the images compared afterwards.
///
/// - Important: Both creates are idempotent for deterministic names (``veleroObjectName(window:id:suffix:)``): an
///   object that already exists counts as created, so a retry after a crash or a lost answer never makes a second
///   Backup or Restore.
public protocol VeleroPort: Sendable {
    /// Creates the Backup; an existing Backup of that name counts as success.
    func createBackup(_ spec: BackupSpec) async throws(KubernetesError)
    /// The Backup's phase and counts; ``VeleroPhase/unknown`` until Velero has picked it up.
    func backupStatus(name: String) async throws(KubernetesError) -> VeleroStatus
    /// Creates the Restore; an existing Restore of that name counts as success when it restores the same backup.
    func createRestore(_ spec: RestoreSpec) async throws(KubernetesError)
    /// The Restore's phase, warning and error counts, and failure reason.
    func restoreStatus(name: String) async throws(KubernetesError) -> VeleroStatus
    /// The container images of the Deployments, StatefulSets and DaemonSets in `namespaces` (all namespaces when
    /// empty), sorted by kind, namespace, name and container.
    func workloadImages(namespaces: [String]) async throws(KubernetesError) -> [WorkloadImage]
}

/// A `velero.io/v1` Backup to create.
public struct BackupSpec: Sendable, Equatable {
    /// `metadata.name`: DNS-1123, at most 63 characters (Velero puts it in label values).
    public var name: String
    /// Velero's namespace (where its custom resources live), e.g. `velero`.
    public var namespace: String
    /// `spec.includedNamespaces`; empty backs up every namespace (the field is then omitted).
    public var includedNamespaces: [String]
    /// `spec.ttl` in seconds, sent as a Go duration such as `72h0m0s`.
    public var ttl: Double
    /// `spec.storageLocation`: the BackupStorageLocation name, e.g. `default`.
    public var storageLocation: String
    /// `metadata.labels`, e.g. the window name, for `kubectl get backups -l`.
    public var labels: [String: String]

    /// Creates a Backup description.
    public init(name: String, namespace: String, includedNamespaces: [String], ttl: Double, storageLocation: String, labels: [String: String] = [:]) {
        self.name = name
        self.namespace = namespace
        self.includedNamespaces = includedNamespaces
        self.ttl = ttl
        self.storageLocation = storageLocation
        self.labels = labels
    }
}

/// A `velero.io/v1` Restore to create.
public struct RestoreSpec: Sendable, Equatable {
    /// `metadata.name`: DNS-1123, at most 63 characters.
    public var name: String
    /// Velero's namespace.
    public var namespace: String
    /// `spec.backupName`: the Backup taken when the window opened.
    public var backupName: String
    /// `spec.includedNamespaces`; empty restores everything in the backup (the field is then omitted).
    public var includedNamespaces: [String]
    /// `spec.existingResourcePolicy`: `update` to overwrite objects that exist, `none` or `nil` (omitted) to skip them.
    ///
    /// - Important: Without `update` Velero skips every object that still exists, so nothing upgraded is rolled back.
    public var existingResourcePolicy: String?
    /// `spec.restorePVs`: restore persistent volumes from their snapshots.
    public var restorePVs: Bool
    /// `metadata.labels`.
    public var labels: [String: String]

    /// Creates a Restore description.
    public init(
        name: String,
        namespace: String,
        backupName: String,
        includedNamespaces: [String],
        existingResourcePolicy: String?,
        restorePVs: Bool,
        labels: [String: String] = [:]
    ) {
        self.name = name
        self.namespace = namespace
        self.backupName = backupName
        self.includedNamespaces = includedNamespaces
        self.existingResourcePolicy = existingResourcePolicy
        self.restorePVs = restorePVs
        self.labels = labels
    }
}

/// The `status.phase` of a Backup or Restore, as the Velero CRDs enumerate it.
public enum VeleroPhase: String, Sendable, Equatable, CaseIterable {
    /// Created, not yet processed by Velero.
    case new = "New"
    /// Waiting for a slot (Velero's concurrent backups; Backups only).
    case queued = "Queued"
    /// Dequeued, about to start (Backups only).
    case readyToStart = "ReadyToStart"
    /// Velero rejected the spec; nothing was done.
    case failedValidation = "FailedValidation"
    /// Running.
    case inProgress = "InProgress"
    /// Items done; asynchronous plugin operations (snapshots, data movement) still running.
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
    /// Being deleted (Backups only).
    case deleting = "Deleting"
    /// No phase yet (Velero has not seen the object), or one this build does not know: treated as pending.
    case unknown = ""

    /// Parses a phase; an absent or unrecognised one is ``unknown``.
    public init(phase: String?) {
        self = phase.flatMap(VeleroPhase.init(rawValue:)) ?? .unknown
    }

    /// Whether Velero is done with the object: it will not change phase again (except by deletion).
    public var isTerminal: Bool {
        switch self {
        case .completed, .partiallyFailed, .failed, .failedValidation, .deleting: true
        case .new, .queued, .readyToStart, .inProgress, .waitingForPluginOperations, .waitingForPluginOperationsPartiallyFailed, .finalizing,
            .finalizingPartiallyFailed, .unknown:
            false
        }
    }

    /// Whether it finished with no errors (`Completed` only; `PartiallyFailed` is terminal but not a success).
    public var isSuccess: Bool { self == .completed }
}

/// What a Backup's or Restore's `status` says.
public struct VeleroStatus: Sendable, Equatable {
    /// `status.phase`.
    public var phase: VeleroPhase
    /// `status.warnings`: warnings Velero logged for this object.
    public var warnings: Int
    /// `status.errors`: errors Velero logged (items not backed up or restored).
    public var errors: Int
    /// `status.failureReason`: why the whole object failed, when Velero says.
    public var failureReason: String?
    /// `status.validationErrors`: why the spec was rejected (phase `FailedValidation`).
    public var validationErrors: [String]

    /// Creates a status.
    public init(phase: VeleroPhase, warnings: Int = 0, errors: Int = 0, failureReason: String? = nil, validationErrors: [String] = []) {
        self.phase = phase
        self.warnings = warnings
        self.errors = errors
        self.failureReason = failureReason
        self.validationErrors = validationErrors
    }
}

/// The status of a Restore (same shape as a Backup's).
public typealias RestoreStatus = VeleroStatus

/// One container image of one workload.
public struct WorkloadImage: Sendable, Hashable {
    /// `Deployment`, `StatefulSet` or `DaemonSet`.
    public var kind: String
    /// The workload's namespace.
    public var namespace: String
    /// The workload's name.
    public var name: String
    /// The container's name.
    public var container: String
    /// The image reference as written in the pod template.
    public var image: String
    /// Whether the container is an init container.
    public var isInitContainer: Bool

    /// Creates a workload image.
    public init(kind: String, namespace: String, name: String, container: String, image: String, isInitContainer: Bool = false) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.container = container
        self.image = image
        self.isInitContainer = isInitContainer
    }
}
