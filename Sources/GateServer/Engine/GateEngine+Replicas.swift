import GateConfig
import GateCore
import GateSources
import GateStore
import Logging

/// Several replicas sharing windows through the Kubernetes API: every replica holds every window (followed from the
/// list+watch cache) and answers reads and writes; only the leader evaluates, ticks and talks to Velero.
extension GateEngine {
    /// Whether this replica may act on windows by itself: evaluate, tick (duration, staleness), create Backups and
    /// Restores. Always with one replica; with several, only while it leads with a renewal younger than renewDeadline.
    var acting: Bool { leadership?() ?? true }

    /// Follows the shared store: every window another replica wrote, every Alertmanager group any replica accepted.
    /// Runs until cancelled.
    func follow(_ shared: KubernetesWindowStore) async {
        let windowChanges = shared.windows.changes()
        let groupChanges = shared.alertGroupsCache.changes()
        // What the caches held before these streams started.
        for entry in shared.windows.entries { if let name = entry.object.name { await adopt(name, from: shared) } }
        await ingestAlertGroups(shared.alertGroupsCache.entry(shared.alertGroupsName)?.value ?? [])
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await name in windowChanges { await self.adopt(name, from: shared) }
            }
            group.addTask {
                for await name in groupChanges where name == shared.alertGroupsName {
                    await self.ingestAlertGroups(shared.alertGroupsCache.entry(name)?.value ?? [])
                }
            }
            group.addTask {
                // A change notification can be dropped (the stream keeps the newest 4096): every 10 s each window is
                // compared with the cache again (cheap: nothing happens where they agree).
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(10))
                    for entry in shared.windows.entries { if let name = entry.object.name { await self.adopt(name, from: shared) } }
                    await self.ingestAlertGroups(shared.alertGroupsCache.entry(shared.alertGroupsName)?.value ?? [])
                }
            }
        }
    }

    /// Takes the stored state of window `name` when it differs from what this replica holds.
    func adopt(_ name: String, from shared: KubernetesWindowStore) async {
        guard let peek = shared.windows.entry(name) else {
            // Deleted: a window whose object is gone is no longer served (its restore, if any, is not followed).
            if let window = live.removeValue(forKey: name) {
                metrics.removeWindow(name, checks: window.record.checks.map(\.name))
                metrics.setOpenWindows(live.count)
                board.remove(name)
                logger.notice("window \(name): its UpgradeWindow object was deleted", metadata: ["gate.window": .string(name)])
            }
            return
        }
        guard let id = peek.value?.record.id else {
            if UpgradeWindowCoding.hasGateState(peek.object) {
                // Written, but not readable as this object's window (edited by hand, or by another version): never
                // opened again over it, and not followed.
                logger.error(
                    "UpgradeWindow \(name): status.gate cannot be read as its window; it is left alone (fix or delete the object)",
                    metadata: ["gate.window": .string(name)]
                )
                return
            }
            // Created by someone else (GitOps) with no status yet: the leader opens it.
            if acting { await openObject(peek.object, from: shared) }
            return
        }
        // Taken while no event of this window is being carried out, so the version it records is the one the state
        // this replica then holds came from.
        await acquireWindow(id)
        defer { releaseWindow(id) }
        guard let entry = shared.take(name), let stored = entry.value, stored.record.id == id else { return }
        take(stored)
        let deleted = entry.object.json["metadata"]?["deletionTimestamp"] != nil
        if acting, stored.record.isOpen, deleted || entry.object.spec?["closed"]?.boolValue == true {
            let actor: WindowActor =
                if case .object(let namespace, let object) = stored.record.owner { .object(namespace: namespace, name: object) } else {
                    .pipeline(deleted ? "UpgradeWindow deletion" : "UpgradeWindow spec.closed")
                }
            let reason = deleted ? "the UpgradeWindow was deleted" : "spec.closed was set on the UpgradeWindow"
            Task { _ = try? await self.close(name, reason: reason, by: actor) }
        }
    }

    /// Replaces what this replica holds of a window with its stored state (nothing when they agree).
    func take(_ stored: StoredWindow) {
        let name = stored.record.name
        let id = stored.record.id
        let held = window(id: id)
        if let held, held.record == stored.record, held.lastEvaluation == stored.lastEvaluation { return }
        // Closing is final: a watch event older than the close (the watch lags) never reopens a window.
        if stored.record.isOpen, finished.contains(id) { return }
        var fresh = LiveWindow(machine: machine(for: stored.record, lastEvaluation: stored.lastEvaluation), baseline: stored.baseline, config: config)
        fresh.publishedAlerts = held?.publishedAlerts ?? []
        // Evaluations started on the state held until now are older than this one.
        if let held { fresh.machine.advanceGeneration(past: held.machine.generation) }
        if !stored.record.isOpen { noteClosed(id) }
        if let other = live[name], other.record.id != id, stored.record.isOpen || stored.record.openedAt > other.record.openedAt {
            metrics.removeWindow(name, checks: other.record.checks.map(\.name))
            live.removeValue(forKey: name)
        }
        if stored.record.isOpen {
            live[name] = fresh
            restoring.removeValue(forKey: id)
        } else {
            if live[name]?.record.id == id {
                live.removeValue(forKey: name)
                metrics.removeWindow(name, checks: stored.record.checks.map(\.name))
            }
            if fresh.machine.hasEscapeWork { restoring[id] = fresh } else { restoring.removeValue(forKey: id) }
            // A newer window of the same name keeps its own answer.
            if let newer = live[name], newer.record.openedAt > stored.record.openedAt { return }
        }
        metrics.setOpenWindows(live.count)
        publish(fresh)
        if fresh.machine.hasEscapeWork, acting { escapeWake.yield() }
    }

    /// Remembers that window `id` closed (the newest 4096 ids), so that no late event reopens it.
    func noteClosed(_ id: String) {
        guard finished.insert(id).inserted else { return }
        finishedOrder.append(id)
        if finishedOrder.count > 4096 { finished.remove(finishedOrder.removeFirst()) }
    }

    /// Opens a window an `UpgradeWindow` object asked for (created by GitOps, no status yet), as the leader.
    func openObject(_ object: KubernetesObject, from shared: KubernetesWindowStore) async {
        guard let name = object.name, !opening.contains(name), live[name] == nil else { return }
        let at = now()
        if object.json["metadata"]?["deletionTimestamp"] != nil {
            // Deleted before it was opened (or after its status could not be written): nothing to close.
            await shared.releaseUnopened(object)
            return
        }
        // Objects the gate itself creates are opened by the replica that created them, which writes their status
        // right after: only one left without status for a minute is opened here.
        let created = object.json["metadata"]?["creationTimestamp"]?.stringValue.flatMap(parseRFC3339) ?? 0
        if object.labels[KubernetesWindowStore.managedBy.0] == KubernetesWindowStore.managedBy.1, at - created < 60 { return }
        // A failed open is tried again after 30 s, whatever asks (the watch, the resync, the escape loop).
        guard at - (openAttempts[name] ?? -.infinity) >= 30 else { return }
        openAttempts[name] = at
        let spec = object.spec
        let namespace = shared.namespace
        switch UpgradeWindowCoding.request(name: name, spec: spec) {
        case .failure(let error):
            logger.warning(
                "UpgradeWindow \(name) cannot be opened: \(error.message)",
                metadata: ["gate.window": .string(name), "gate.field": .string(error.field ?? "")]
            )
        case .success(let request):
            do {
                _ = try await open(request, by: .object(namespace: namespace, name: name))
            } catch {
                logger.warning("UpgradeWindow \(name) could not be opened yet: \(error.message)", metadata: ["gate.window": .string(name)])
            }
        }
    }

    /// Applies Alertmanager groups persisted by any replica that this one has not applied yet.
    func ingestAlertGroups(_ groups: [StoredAlertGroup]) async {
        for group in groups.sorted(by: { $0.receivedAt < $1.receivedAt }) {
            guard (appliedGroups[group.groupKey] ?? -.infinity) < group.receivedAt else { continue }
            guard let notification = try? AlertmanagerWebhook.decode(group.payload) else { continue }
            await applyAlerts(notification, at: group.receivedAt)
        }
    }

    /// Re-reads window `id` from the API server after a conflict and takes what it holds.
    func reloadAfterConflict(_ id: String, name: String) async {
        guard let shared = store as? KubernetesWindowStore else { return }
        do {
            if let stored = try await shared.refresh(name: name), stored.record.id == id {
                take(stored)
            } else {
                // The window was replaced or deleted meanwhile.
                if let window = window(id: id) {
                    restoring.removeValue(forKey: id)
                    if live[window.record.name]?.record.id == id { live.removeValue(forKey: window.record.name) }
                }
            }
        } catch {
            logger.warning("window \(name): re-reading it after a conflict failed: \(error)", metadata: ["gate.window": .string(name)])
        }
    }
}
