import GateSources
import Synchronization

/// An in-memory Velero: Backups and Restores advance one phase per read (New → InProgress → the scripted final
/// phase), creates are idempotent by name like the real API (409 counts as created), and failures can be scripted.
public final class FakeVelero: VeleroPort {
    struct State {
        var backups: [String: [VeleroPhase]] = [:]
        var restores: [String: (spec: RestoreSpec, phases: [VeleroPhase])] = [:]
        var backupCreates = 0
        var restoreCreates = 0
        var failRestoreCreates = 0
        var hangRestoreCreates = 0
        var backupPhases: [VeleroPhase] = [.inProgress, .completed]
        var restorePhases: [VeleroPhase] = [.inProgress, .completed]
        var images: [WorkloadImage] = []
        var deletedRestores: Set<String> = []
    }

    private let state = Mutex(State())

    /// An empty Velero.
    public init() {}

    /// The phases a new Backup goes through after `New`.
    public func scriptBackups(_ phases: [VeleroPhase]) { state.withLock { $0.backupPhases = phases } }
    /// The phases a new Restore goes through after `New`.
    public func scriptRestores(_ phases: [VeleroPhase]) { state.withLock { $0.restorePhases = phases } }
    /// The next `count` Restore creates fail with a 500.
    public func failRestoreCreates(_ count: Int) { state.withLock { $0.failRestoreCreates = count } }
    /// The next `count` Restore creates never answer (the object is not stored).
    public func hangRestoreCreates(_ count: Int) { state.withLock { $0.hangRestoreCreates = count } }
    /// Deletes a Restore: it reads 404 from now on.
    public func deleteRestore(_ name: String) { state.withLock { $0.deletedRestores.insert(name) } }
    /// The workloads' images.
    public func setImages(_ images: [WorkloadImage]) { state.withLock { $0.images = images } }

    /// The names of the Backups that exist.
    public var backupNames: [String] { state.withLock { $0.backups.keys.sorted() } }
    /// The Restores that exist (each name once, however often it was created).
    public var restores: [RestoreSpec] { state.withLock { $0.restores.values.map(\.spec).sorted { $0.name < $1.name } } }
    /// How many create calls reached the API for Restores (retries and 409s included).
    public var restoreCreateCalls: Int { state.withLock { $0.restoreCreates } }

    /// Records the Backup (409 when it exists) and starts it on its scripted course.
    public func createBackup(_ spec: BackupSpec) async throws(KubernetesError) {
        state.withLock { state in
            state.backupCreates += 1
            if state.backups[spec.name] == nil { state.backups[spec.name] = [.new] + state.backupPhases }
        }
    }

    /// The Backup's scripted phase.
    public func backupStatus(name: String) async throws(KubernetesError) -> VeleroStatus {
        let phase = state.withLock { state -> VeleroPhase? in
            guard var phases = state.backups[name] else { return nil }
            let phase = phases[0]
            if phases.count > 1 { phases.removeFirst() }
            state.backups[name] = phases
            return phase
        }
        guard let phase else { throw Self.error("get", "backups", name, 404) }
        return VeleroStatus(phase: phase)
    }

    /// Records the Restore (409 when it exists), or fails as scripted.
    public func createRestore(_ spec: RestoreSpec) async throws(KubernetesError) {
        enum Outcome { case created, failed, hang }
        let outcome = state.withLock { state -> Outcome in
            state.restoreCreates += 1
            if state.failRestoreCreates > 0 {
                state.failRestoreCreates -= 1
                return .failed
            }
            if state.hangRestoreCreates > 0 {
                state.hangRestoreCreates -= 1
                return .hang
            }
            if state.restores[spec.name] == nil { state.restores[spec.name] = (spec, [.new] + state.restorePhases) }
            return .created
        }
        switch outcome {
        case .created: return
        case .failed: throw Self.error("create", "restores", spec.name, 500)
        case .hang:
            try? await Task.sleep(for: .seconds(3600))
            throw Self.error("create", "restores", spec.name, 504)
        }
    }

    /// The Restore's scripted phase (not found once deleted).
    public func restoreStatus(name: String) async throws(KubernetesError) -> VeleroStatus {
        let phase = state.withLock { state -> VeleroPhase? in
            guard !state.deletedRestores.contains(name), var entry = state.restores[name] else { return nil }
            let phase = entry.phases[0]
            if entry.phases.count > 1 { entry.phases.removeFirst() }
            state.restores[name] = entry
            return phase
        }
        guard let phase else { throw Self.error("get", "restores", name, 404) }
        return VeleroStatus(phase: phase)
    }

    /// The scripted images of the namespaces' workloads.
    public func workloadImages(namespaces: [String]) async throws(KubernetesError) -> [WorkloadImage] {
        state.withLock { state in state.images.filter { namespaces.isEmpty || namespaces.contains($0.namespace) } }
    }

    private static func error(_ verb: String, _ plural: String, _ name: String, _ status: Int) -> KubernetesError {
        .apiAnswer(
            verb: verb,
            group: "velero.io",
            version: "v1",
            namespace: "velero",
            plural: plural,
            name: name,
            httpStatus: status,
            message: "scripted"
        )
    }
}
