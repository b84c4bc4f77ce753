import GateConfig
import GateCore
import GateSources
import Logging

/// The escape plan: the pre-upgrade Velero Backup taken at open, and exactly one Restore
/// from it when the window fails — intent persisted before the request, deterministic names so a
/// retry after a crash or a 5xx gets 409 and creates nothing new.
extension GateEngine {
    // MARK: At open

    /// What opening a window adds when Velero is configured: the workloads' images and the Backup.
    /// - Important: without its escape plan a window is not opened (503): better no upgrade than
    ///   an upgrade that cannot be rolled back.
    func prepareEscape(for request: WindowRequest, id: String, at: Double) async throws(APIError) -> (BackupState?, [RecordedImage]) {
        guard let veleroConfig = config.velero, let velero else { return (nil, []) }
        let wantsBackup: Bool
        var existing: String?
        switch request.backup {
        case .create(let create)?: wantsBackup = create
        case .existing(let name)?:
            wantsBackup = true
            existing = name
        case nil: wantsBackup = veleroConfig.backup.onOpen
        }
        guard wantsBackup else { return (nil, []) }
        let images: [RecordedImage]
        do {
            images = try await velero.workloadImages(namespaces: request.namespaces).map {
                RecordedImage(kind: $0.kind, namespace: $0.namespace, name: $0.name, container: $0.container, image: $0.image)
            }
        } catch {
            throw .unavailable("the workloads' images could not be recorded, so a restore could not be verified: \(error)")
        }
        if let existing {
            do {
                let status = try await velero.backupStatus(name: existing)
                return (BackupState(name: existing, phase: status.phase.rawValue, created: false, requestedAt: at), images)
            } catch {
                if error.isNotFound {
                    throw .badRequest("backup.name: no Velero Backup \"\(existing)\" in namespace \(veleroConfig.namespace)", field: "backup.name")
                }
                throw .unavailable("the Velero Backup \(existing) could not be read: \(error)")
            }
        }
        let name = veleroObjectName(window: request.name, id: id, suffix: "pre")
        let spec = BackupSpec(
            name: name,
            namespace: veleroConfig.namespace,
            includedNamespaces: request.namespaces,
            ttl: veleroConfig.backup.ttl,
            storageLocation: veleroConfig.backup.storageLocation,
            labels: ["app.kubernetes.io/managed-by": "upgrade-gate", "upgrade-gate.io/window": request.name, "upgrade-gate.io/window-id": id]
        )
        do {
            try await velero.createBackup(spec)
        } catch {
            throw .unavailable("the pre-upgrade Velero Backup \(name) could not be created, so the window was not opened: \(error)")
        }
        metrics.countRestoreStep(step: "backup_created")
        logger.notice(
            "window \(request.name): pre-upgrade backup \(name) requested (namespaces \(request.namespaces.joined(separator: ", ")))",
            metadata: ["gate.window": .string(request.name), "velero.backup": .string(name)]
        )
        return (BackupState(name: name, phase: VeleroPhase.new.rawValue, created: true, requestedAt: at), images)
    }

    // MARK: Every evaluation

    /// Reads the Backup's phase while it is not terminal and records changes.
    func refreshBackup(_ name: String, at: Double) async {
        guard let window = live[name], let backup = window.record.backup, !backup.isUsable, !backup.hasFailed, let velero else { return }
        let status: VeleroStatus
        do {
            status = try await velero.backupStatus(name: backup.name)
        } catch {
            logger.warning("window \(name): backup \(backup.name) could not be read: \(error)", metadata: ["gate.window": .string(name)])
            return
        }
        guard var current = live[name], current.record.id == window.record.id, status.phase.rawValue != backup.phase else { return }
        current.record.backup?.phase = status.phase.rawValue
        if status.phase.isTerminal { current.record.backup?.finishedAt = at }
        live[name] = current
        let message =
            "pre-upgrade backup \(backup.name): \(backup.phase.isEmpty ? "New" : backup.phase) → \(status.phase.rawValue)"
            + (status.failureReason.map { " (\($0))" } ?? "")
        let event = WindowEvent(at: at, kind: "backup", message: message, details: ["backup": backup.name, "phase": status.phase.rawValue])
        try? await store.updateWindow(current.record, events: [event])
        metrics.countRestoreStep(step: "backup_\(status.phase.isSuccess ? "completed" : status.phase.isTerminal ? "failed" : "progress")")
        let metadata: Logger.Metadata = [
            "gate.window": .string(name), "velero.backup": .string(backup.name), "velero.phase": .string(status.phase.rawValue),
        ]
        if status.phase.isTerminal, !status.phase.isSuccess {
            logger.error("window \(name): \(message)", metadata: metadata)
        } else {
            logger.notice("window \(name): \(message)", metadata: metadata)
        }
        publish(live[name] ?? current)
    }

    /// Blockers and failures the backup adds to a decision.
    func backupConditions(_ window: LiveWindow, at: Double) -> (blockers: [String], failures: [String]) {
        guard let backup = window.record.backup, let veleroConfig = config.velero else { return ([], []) }
        if backup.isUsable { return ([], []) }
        let required = veleroConfig.backup.required
        if backup.hasFailed {
            let reason = "pre-upgrade backup failed: Velero Backup \(backup.name) is \(backup.phase)"
            return required ? ([], [reason]) : ([], [])
        }
        if at - backup.requestedAt > veleroConfig.backup.waitTimeout {
            let reason =
                "pre-upgrade backup failed: Velero Backup \(backup.name) did not complete within \(formatPrometheusDuration(veleroConfig.backup.waitTimeout)) (phase \(backup.phase.isEmpty ? "New" : backup.phase))"
            return required ? ([], [reason]) : ([], [])
        }
        return (["waiting for pre-upgrade backup \(backup.name) (phase \(backup.phase.isEmpty ? "New" : backup.phase))"], [])
    }

    // MARK: The restore

    /// Called on the transition to fail (never on inconclusive): with `restore.mode: auto` the
    /// restore starts now; `dry-run` records what it would create; `manual` waits for the API.
    func onBecameFail(_ name: String, reasons: [String], at: Double) async {
        guard let veleroConfig = config.velero, live[name] != nil else { return }
        switch veleroConfig.restore.mode {
        case .auto: await startRestore(name, mode: "auto", reason: reasons.first ?? "the window failed", at: at)
        case .dryRun: await startRestore(name, mode: "dry-run", reason: reasons.first ?? "the window failed", at: at)
        case .manual:
            logger.critical(
                "window \(name) failed; restore.mode is manual: POST /api/v1/windows/\(name)/restore to roll back",
                metadata: ["gate.window": .string(name), "gate.action": .string("waiting for a manual restore")]
            )
        }
    }

    /// An operator's `POST /api/v1/windows/{name}/restore`.
    func requestManualRestore(_ name: String, by actor: String) async throws(APIError) -> RestoreState {
        guard let veleroConfig = config.velero else { throw .conflict("no velero section: this gate only judges, it cannot restore") }
        guard veleroConfig.restore.mode != .dryRun else { throw .conflict("restore.mode is dry-run: restores are only recorded, never created") }
        guard let window = live[name] ?? restoring.values.first(where: { $0.record.name == name }) else {
            if try await storedWindowExists(name) { throw .conflict("window \(name) is closed", field: "name") }
            throw .windowNotFound(name)
        }
        if let restore = window.record.restore {
            throw .conflict("window \(name) already has restore \(restore.name) (\(restore.phase)); a window is restored once")
        }
        guard window.record.backup?.isUsable == true else {
            throw .conflict(
                "window \(name) has no usable pre-upgrade backup (\(window.record.backup.map { "\($0.name) is \($0.phase)" } ?? "none was taken"))"
            )
        }
        await startRestore(name, mode: "manual", reason: "requested by \(actor)", at: now())
        guard let restore = live[name]?.record.restore else { throw .storage("the restore intent could not be recorded") }
        return restore
    }

    /// Persists the intent, then asks for the one Restore.
    func startRestore(_ name: String, mode: String, reason: String, at: Double) async {
        guard var window = live[name], let veleroConfig = config.velero else { return }
        // Once, never twice: a window that has any restore state never gets another.
        guard window.record.restore == nil else { return }
        guard let backup = window.record.backup, backup.isUsable else {
            let why = window.record.backup.map { "backup \($0.name) is \($0.phase.isEmpty ? "New" : $0.phase)" } ?? "no backup was taken"
            logger.critical(
                "window \(name) failed but cannot be restored: \(why)",
                metadata: ["gate.window": .string(name), "gate.action": .string("none: no usable backup")]
            )
            try? await store.appendEvents(windowID: window.record.id, [WindowEvent(at: at, kind: "restore", message: "no restore: \(why)")])
            return
        }
        let restoreName = veleroObjectName(window: name, id: window.record.id, suffix: "rollback")
        var restore = RestoreState(name: restoreName, mode: mode, intentAt: at, reason: reason)
        if mode == "dry-run" { restore.phase = "dry-run" }
        window.record.restore = restore
        live[name] = window
        let spec = restoreSpec(window, name: restoreName, config: veleroConfig)
        let intent = WindowEvent(
            at: at,
            kind: "restore",
            message: mode == "dry-run"
                ? "dry run: would create Restore \(restoreName) from backup \(backup.name): \(describe(spec))"
                : "restore intent: Restore \(restoreName) from backup \(backup.name) (\(reason))",
            details: ["restore": restoreName, "backup": backup.name, "mode": mode, "object": describe(spec)]
        )
        do {
            try await store.updateWindow(window.record, events: [intent])
        } catch {
            // Without a persisted intent no request is sent; the reconciler retries both.
            logger.error("window \(name): the restore intent could not be persisted: \(error)", metadata: ["gate.window": .string(name)])
            return
        }
        metrics.countRestoreStep(step: mode == "dry-run" ? "dry_run" : "intent")
        logger.critical(
            "window \(name): \(intent.message)",
            metadata: [
                "gate.window": .string(name), "gate.verdict": .string(window.record.memory.verdict.rawValue), "velero.restore": .string(restoreName),
                "velero.backup": .string(backup.name), "gate.action": .string(mode == "dry-run" ? "restore (dry run)" : "restore"),
            ]
        )
        publish(live[name] ?? window)
        if mode != "dry-run" { await requestRestore(name) }
    }

    /// Sends the create for a persisted intent; AlreadyExists means an earlier attempt got through.
    func requestRestore(_ name: String) async {
        guard let window = live[name] ?? restoringWindow(named: name), var restore = window.record.restore, restore.requestedAt == nil,
            restore.phase == "intent", let veleroConfig = config.velero, let velero
        else { return }
        let spec = restoreSpec(window, name: restore.name, config: veleroConfig)
        let at = now()
        var events: [WindowEvent] = []
        do {
            try await velero.createRestore(spec)
            restore.requestedAt = at
            restore.phase = VeleroPhase.new.rawValue
            restore.lastError = nil
            events.append(WindowEvent(at: at, kind: "restore", message: "Restore \(restore.name) created", details: ["restore": restore.name]))
            metrics.countRestoreStep(step: "requested")
            logger.critical(
                "window \(name): Restore \(restore.name) created in namespace \(veleroConfig.namespace)",
                metadata: ["gate.window": .string(name), "velero.restore": .string(restore.name), "gate.action": .string("restore requested")]
            )
        } catch {
            restore.attempts += 1
            restore.lastError = error.description
            metrics.countRestoreStep(step: "request_failed")
            logger.error(
                "window \(name): Restore \(restore.name) could not be created (attempt \(restore.attempts)); retrying: \(error)",
                metadata: ["gate.window": .string(name), "velero.restore": .string(restore.name), "gate.error": .string(error.label)]
            )
        }
        await record(restore, of: window.record.id, name: name, events: events)
    }

    /// Writes a restore's new state into the window as it is NOW (evaluations may have changed its
    /// memory while the Kubernetes API answered), then persists it.
    private func record(_ restore: RestoreState, of id: String, name: String, events: [WindowEvent]) async {
        guard var current = live[name] ?? restoringWindow(named: name), current.record.id == id else { return }
        current.record.restore = restore
        update(current)
        try? await store.updateWindow(current.record, events: events)
        publish(live[name] ?? current)
    }

    /// One reconciler step for every window with a restore in flight: create what was intended,
    /// poll what was created, verify what finished.
    func reconcileRestores() async {
        let names = Set(live.values.filter { $0.record.restore.map { !$0.isTerminal } ?? false }.map(\.record.name))
            .union(restoring.values.map(\.record.name))
        for name in names.sorted() {
            guard let window = live[name] ?? restoringWindow(named: name), let restore = window.record.restore else { continue }
            if restore.phase == "intent" {
                await requestRestore(name)
            } else if !restore.isTerminal {
                await pollRestore(name)
            }
        }
    }

    private func pollRestore(_ name: String) async {
        guard let window = live[name] ?? restoringWindow(named: name), var restore = window.record.restore, let velero else { return }
        let status: VeleroStatus
        do {
            status = try await velero.restoreStatus(name: restore.name)
        } catch {
            logger.warning("window \(name): Restore \(restore.name) could not be read: \(error)", metadata: ["gate.window": .string(name)])
            return
        }
        guard status.phase.rawValue != restore.phase else { return }
        let at = now()
        restore.phase = status.phase.rawValue
        var events = [
            WindowEvent(
                at: at,
                kind: "restore",
                message: "Restore \(restore.name) is \(status.phase.rawValue)"
                    + (status.failureReason.map { ": \($0)" } ?? "")
                    + (status.errors > 0 ? " (\(status.errors) errors, \(status.warnings) warnings)" : ""),
                details: ["restore": restore.name, "phase": status.phase.rawValue]
            )
        ]
        if status.phase.isTerminal {
            restore.finishedAt = at
            if config.velero?.restore.verify == true {
                do {
                    let now = try await velero.workloadImages(namespaces: window.record.request.namespaces).map {
                        RecordedImage(kind: $0.kind, namespace: $0.namespace, name: $0.name, container: $0.container, image: $0.image)
                    }
                    let (rolledBack, notRolledBack) = compareImages(atOpen: window.record.imagesAtOpen, now: now)
                    restore.rolledBack = rolledBack
                    restore.notRolledBack = notRolledBack
                    let summary =
                        notRolledBack.isEmpty
                        ? "all \(rolledBack.count) container images are back to the ones recorded at open"
                        : "\(notRolledBack.count) container image(s) NOT rolled back: " + notRolledBack.map(\.description).joined(separator: "; ")
                    events.append(
                        WindowEvent(at: at, kind: "verify", message: "after Restore \(restore.name): \(summary)", details: ["restore": restore.name])
                    )
                    logger.critical(
                        "window \(name): Restore \(restore.name) \(status.phase.rawValue); \(summary)",
                        metadata: [
                            "gate.window": .string(name), "velero.restore": .string(restore.name), "velero.phase": .string(status.phase.rawValue),
                            "restore.rolled_back": .array(rolledBack.map { .string($0.description) }),
                            "restore.not_rolled_back": .array(notRolledBack.map { .string($0.description) }),
                        ]
                    )
                } catch {
                    events.append(
                        WindowEvent(at: at, kind: "verify", message: "the images after Restore \(restore.name) could not be read: \(error)")
                    )
                }
            } else {
                logger.critical(
                    "window \(name): Restore \(restore.name) \(status.phase.rawValue)",
                    metadata: ["gate.window": .string(name), "velero.restore": .string(restore.name), "velero.phase": .string(status.phase.rawValue)]
                )
            }
            metrics.countRestoreStep(step: status.phase.isSuccess ? "completed" : "failed")
        }
        await record(restore, of: window.record.id, name: name, events: events)
    }

    private func restoreSpec(_ window: LiveWindow, name: String, config velero: VeleroConfig) -> RestoreSpec {
        RestoreSpec(
            name: name,
            namespace: velero.namespace,
            backupName: window.record.backup?.name ?? "",
            includedNamespaces: window.record.request.namespaces,
            existingResourcePolicy: velero.restore.existingResourcePolicy == .none ? nil : velero.restore.existingResourcePolicy.rawValue,
            restorePVs: velero.restore.restorePVs,
            labels: [
                "app.kubernetes.io/managed-by": "upgrade-gate", "upgrade-gate.io/window": window.record.name,
                "upgrade-gate.io/window-id": window.record.id,
            ]
        )
    }

    private func describe(_ spec: RestoreSpec) -> String {
        "velero.io/v1 Restore \(spec.namespace)/\(spec.name) {backupName: \(spec.backupName), includedNamespaces: [\(spec.includedNamespaces.joined(separator: ", "))], "
            + "existingResourcePolicy: \(spec.existingResourcePolicy ?? "none"), restorePVs: \(spec.restorePVs)}"
    }

    /// Writes a window back wherever it lives (open, or closed with a restore in flight).
    func update(_ window: LiveWindow) {
        if live[window.record.name]?.record.id == window.record.id {
            live[window.record.name] = window
        } else {
            restoring[window.record.id] = window.record.restore?.isTerminal == true ? nil : window
        }
    }

    func restoringWindow(named name: String) -> LiveWindow? {
        restoring.values.first { $0.record.name == name }
    }

    private func storedWindowExists(_ name: String) async throws(APIError) -> Bool {
        try await window(named: name) != nil
    }

    /// Why a window is not ready for a canary to start (Flagger's confirm-rollout waits on it).
    func readinessBlocker(_ window: LiveWindow) -> String? {
        backupConditions(window, at: now()).blockers.first
    }
}
