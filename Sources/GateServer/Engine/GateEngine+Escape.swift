import GateConfig
import GateCore
import GateSources
import Logging

/// The escape plan's Kubernetes side: the machines decide what to create, read and verify; this runs the calls,
/// each bounded by its own timeout, beside the evaluation cycle (which never waits on them), and feeds the answers
/// back as events.
extension GateEngine {
    /// One round of the escape loop: ticks every machine (Kubernetes work, duration, staleness), runs the calls it
    /// asks for concurrently, and feeds the answers back, until no machine asks for more.
    func reconcile() async {
        guard acting else {
            // A follower acts on nothing, but its gate answers must not go on saying what nobody confirms any more
            // (the leader is gone, or cannot evaluate): a stale verdict turns inconclusive here too.
            let at = now()
            for id in live.values.map(\.record.id).sorted() { _ = await send(.followerTick(at: at), windowID: id) }
            return
        }
        defer { Task { await self.reconcileObjects() } }
        let at = now()
        var work: [(id: String, action: WindowAction)] = []
        for id in (live.values.map(\.record.id) + restoring.keys).sorted() {
            if case .done(let asked) = await send(.tick(at: at), windowID: id) { work += asked.map { (id, $0) } }
        }
        // Answers may ask for more (a finished Restore asks for verification); a few rounds at most.
        for _ in 0..<4 where !work.isEmpty {
            let calls = work
            let answers = await boundedMap(calls, limit: 4) { [self] call in (call.id, await self.run(call.action)) }
            work = []
            for (id, event) in answers {
                guard let event else { continue }
                if case .done(let asked) = await send(event, windowID: id) { work += asked.map { (id, $0) } }
            }
        }
    }

    /// With several replicas, after the windows' own work: objects created by GitOps that could not be opened yet
    /// (Prometheus down, say) are tried again, no more than every 30 s each; finished windows' finalizers go.
    func reconcileObjects() async {
        guard acting, !reconcilingObjects, let shared = store as? KubernetesWindowStore else { return }
        reconcilingObjects = true
        defer { reconcilingObjects = false }
        let at = now()
        for entry in shared.windows.entries where entry.value == nil {
            if UpgradeWindowCoding.hasGateState(entry.object) {
                // Unreadable: left alone, except that its deletion is let through.
                if entry.object.json["metadata"]?["deletionTimestamp"] != nil { await shared.releaseUnopened(entry.object) }
                continue
            }
            await openObject(entry.object, from: shared)
        }
        openAttempts = openAttempts.filter { at - $0.value < 60 }
        // Finalizers of closed windows go once nothing is left to do for them (no restore or verification to follow).
        await shared.releaseFinished(keeping: Set(restoring.keys))
    }

    /// Runs one Kubernetes call and turns its answer into the machine's event.
    nonisolated func run(_ action: WindowAction) async -> WindowMachine.Event? {
        guard let velero else { return nil }
        let limit = escapeTimeout
        switch action {
        case .pollBackup(let name):
            do {
                let status = try await withDeadline(limit) { try await velero.backupStatus(name: name) }
                return .backupObserved(BackupPhase(velero: status.phase.rawValue), failureReason: status.failureReason, at: now())
            } catch {
                if (error as? KubernetesError)?.isNotFound == true {
                    return .backupObserved(.gone, failureReason: "the Backup was deleted", at: now())
                }
                return .backupUnreadable(error: "\(error)", at: now())
            }
        case .createBackup(let order):
            // Only the leader creates Backups (windows admitted by any replica record theirs as awaited).
            if let leadership, !leadership() { return .backupCreateFailed(error: "this replica no longer leads", at: now()) }
            guard let spec = backupSpec(order) else { return nil }
            do {
                try await withDeadline(limit) { try await velero.createBackup(spec) }
                return .backupCreated(at: now())
            } catch {
                return .backupCreateFailed(error: "\(error)", at: now())
            }
        case .createRestore(let order):
            // Fencing: only a leader whose last renewal is younger than renewDeadline creates a Restore. The intent is
            // already in the store (written at the version read); the name is fixed, so a second try is AlreadyExists.
            if let leadership, !leadership() { return nil }
            let spec = restoreSpec(order)
            do {
                try await withDeadline(limit) { try await velero.createRestore(spec) }
                return .restoreCreated(at: now())
            } catch {
                return .restoreCreateFailed(error: "\(error)", at: now())
            }
        case .pollRestore(let name):
            do {
                let status = try await withDeadline(limit) { try await velero.restoreStatus(name: name) }
                return .restoreObserved(
                    RestorePhase(velero: status.phase.rawValue),
                    failureReason: status.failureReason,
                    errors: status.errors,
                    warnings: status.warnings,
                    at: now()
                )
            } catch {
                if (error as? KubernetesError)?.isNotFound == true { return .restoreGone(at: now()) }
                return .restoreUnreadable(error: "\(error)", at: now())
            }
        case .verifyImages(let namespaces):
            do {
                let images = try await withDeadline(limit) { try await velero.workloadImages(namespaces: namespaces) }
                return .imagesRead(
                    images.map { RecordedImage(kind: $0.kind, namespace: $0.namespace, name: $0.name, container: $0.container, image: $0.image) },
                    at: now()
                )
            } catch {
                return .verifyFailed(error: "\(error)", at: now())
            }
        default:
            return nil
        }
    }

    nonisolated private func restoreSpec(_ order: RestoreOrder) -> RestoreSpec {
        let velero = settings.velero ?? .init()
        return RestoreSpec(
            name: order.name,
            namespace: velero.namespace,
            backupName: order.backupName,
            includedNamespaces: order.namespaces,
            existingResourcePolicy: velero.existingResourcePolicy,
            restorePVs: velero.restorePVs,
            labels: [
                "app.kubernetes.io/managed-by": "upgrade-gate", "upgrade-gate.io/window": order.window, "upgrade-gate.io/window-id": order.windowID,
            ]
        )
    }

    /// Runs the escape loop now (leadership was just acquired).
    func wakeEscape() { escapeWake.yield() }

    /// An operator's restore request: the intent is persisted before the 202; the escape loop creates the Restore.
    func requestManualRestore(_ name: String, by actor: WindowActor) async throws(APIError) -> RestoreState {
        guard let window = live[name] ?? restoring.values.first(where: { $0.record.name == name }) else {
            if let stored = try await storedWindow(named: name) {
                if config.velero == nil { throw APIError(WindowRefusal.noVelero) }
                if let restore = stored.record.restore {
                    throw APIError(WindowRefusal.alreadyRestored(window: name, restore: restore.name, phase: restore.phase))
                }
                throw APIError(WindowRefusal.closed(window: name))
            }
            throw .windowNotFound(name)
        }
        let id = window.record.id
        try answer(await send(.restoreRequested(by: actor, at: now()), windowID: id, acknowledged: true), what: "the restore intent")
        guard let restore = self.window(id: id)?.record.restore else { throw .storage("the restore intent could not be recorded") }
        return restore
    }
}
