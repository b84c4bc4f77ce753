import GateConfig
import GateCore
import GateSources
import GateStore
import Logging

extension GateEngine {
    /// The one admission path: a window opened by the API, the CLI or a Flagger hook goes through here.
    ///
    /// Order: validate (the same rules and errors for every caller), capture the baseline and the alerts already
    /// firing, record the workloads' images, and only then create the Velero Backup and persist — so a failed open
    /// (Prometheus unreachable: 503) leaves nothing behind, no orphan Backup included.
    func open(_ request: WindowRequest, by actor: WindowActor) async throws(APIError) -> LiveWindow {
        do {
            try validateWindowRequest(request, config: config)
        } catch {
            metrics.countDenial(.invalidRequest)
            throw error
        }
        let name = request.name
        if live[name] != nil || opening.contains(name) {
            metrics.countDenial(.nameTaken)
            throw .conflict("a window named \"\(name)\" is already open; close it first or pick another name", field: "name")
        }
        guard live.count + opening.count < config.limits.maxOpenWindows else {
            metrics.countDenial(.tooManyWindows)
            throw .tooManyWindows(limit: config.limits.maxOpenWindows)
        }
        let specs = try resolveChecks(for: request)
        let soak = request.soak ?? config.windows.soak(for: bump(request))
        // A window must stay open long enough to pass: without an explicit duration, a long policy soak extends it.
        let duration = request.duration ?? max(config.windows.duration, soak)
        guard soak <= duration else {
            throw .badRequest(
                "soak (\(formatPrometheusDuration(soak))) is longer than duration (\(formatPrometheusDuration(duration))): the window would close before it could pass",
                field: "duration"
            )
        }

        opening.insert(name)
        defer { opening.remove(name) }
        let openedAt = now()
        let id = makeWindowID()

        // 1. The evidence: baseline and the alerts already firing. Nothing exists outside the gate yet.
        let lookback = config.baseline.lookback
        let captures = await evaluator.captureBaselines(
            specs,
            end: openedAt,
            lookback: lookback,
            step: baselineStep(lookback: lookback, interval: config.evaluation.interval),
            aggregate: config.baseline.aggregate
        )
        if let failed = specs.compactMap({ captures[$0.name]?.error }).first {
            logger.warning(
                "window \(name) not opened: baseline capture failed",
                metadata: ["gate.window": .string(name), "gate.error": .string(failed)]
            )
            throw .unavailable("the baseline could not be captured, so the window was not opened: \(failed)")
        }
        let alreadyFiring: [Alert]
        do {
            alreadyFiring = try await alertSource.firingAlerts(at: openedAt)
        } catch {
            logger.warning(
                "window \(name) not opened: firing alerts could not be read",
                metadata: ["gate.window": .string(name), "gate.error": .string(error.description)]
            )
            throw .unavailable("the alerts already firing could not be read, so new alerts could not be told from old ones: \(error)")
        }
        // What webhooks already reported counts as firing at open too.
        var baselineAlerts = Dictionary(alreadyFiring.map { ($0.labels, $0) }, uniquingKeysWith: { first, _ in first })
        for alert in book.firing(at: openedAt) where baselineAlerts[alert.labels] == nil { baselineAlerts[alert.labels] = alert }
        let baseline = WindowBaseline(
            capturedAt: now(),
            start: openedAt - lookback,
            end: openedAt,
            checks: Dictionary(uniqueKeysWithValues: specs.map { ($0.name, captures[$0.name]?.series ?? []) }),
            alerts: baselineAlerts.values.sorted { $0.labels < $1.labels }
        )

        // A baseline the shared store could not hold is refused before anything is created outside the gate.
        if let problem = KubernetesWindowStore.baselineProblem(baseline), store is KubernetesWindowStore {
            metrics.countDenial(.invalidRequest)
            throw .badRequest(problem, field: "checks")
        }

        // 2. The escape plan's inputs (read-only calls).
        let (backup, images) = try await prepareEscape(for: request, id: id, at: openedAt)

        // 3. The machine decides what opening takes: the Backup, then one write.
        let record = WindowRecord(
            id: id,
            request: request,
            checks: specs,
            openedAt: openedAt,
            soak: soak,
            duration: duration,
            backup: backup,
            imagesAtOpen: images,
            owner: actor.owner
        )
        let message =
            "window \(name) opened" + versionText(request)
            + "; soak \(formatPrometheusDuration(soak)), closes after \(formatPrometheusDuration(duration))"
        let (machine, actions) = WindowMachine.open(
            record,
            baseline: baseline,
            settings: settings,
            restoreName: veleroObjectName(window: name, id: id, suffix: "rollback"),
            by: actor,
            message: message,
            // With several replicas only the leader creates anything in Velero; any replica admits windows.
            backupByLeader: leadership != nil
        )
        // Held until the window is in memory: once its status is written, the watch can show it to this replica, and
        // what it then does (take it, close it on a deletion) must come after this open, not be overwritten by it.
        await acquireWindow(id)
        var held = true
        defer { if held { releaseWindow(id) } }
        var rest: [WindowAction] = []
        for action in actions {
            switch action {
            case .createBackup(let order):
                guard let velero, let spec = backupSpec(order) else { continue }
                do {
                    try await withDeadline(escapeTimeout) { try await velero.createBackup(spec) }
                } catch {
                    logger.warning(
                        "window \(name) not opened: the pre-upgrade Velero Backup \(order.name) could not be created: \(error)",
                        metadata: ["gate.window": .string(name), "velero.backup": .string(order.name)]
                    )
                    throw .unavailable("the pre-upgrade Velero Backup \(order.name) could not be created, so the window was not opened: \(error)")
                }
            case .persist(let write):
                do {
                    try await store.apply(write, windowID: id)
                } catch {
                    metrics.countFailedWrite(operation: write.label)
                    if error.isNameTaken { throw .conflict("a window named \"\(name)\" is already open", field: "name") }
                    if error.isTooLarge { throw .badRequest(error.description, field: "checks") }
                    logger.error(
                        "window \(name) could not be persisted: \(error)",
                        metadata: ["gate.window": .string(name), "gate.error": .string(error.label)]
                    )
                    throw .storage("the window could not be persisted, so it was not opened: \(error)")
                }
            default:
                rest.append(action)
            }
        }
        let window = LiveWindow(machine: machine, baseline: baseline, config: config)
        live[name] = window
        metrics.setOpenWindows(live.count)
        _ = await execute(rest, windowID: id)
        held = false
        releaseWindow(id)
        if case .canary(let namespace, let canary) = actor {
            await supersede(owner: .canary(namespace: namespace, name: canary), keeping: id)
        }
        return live[name] ?? window
    }

    /// A canary's new revision supersedes the windows that same canary opened before (by owner, never by name).
    func supersede(owner: WindowOwner, keeping id: String) async {
        for record in windowsSuperseded(by: owner, opening: id, among: live.values.map(\.record)) {
            let reason = "superseded by a new revision of \(owner)"
            _ = await send(.close(reason: reason, by: .gate, at: now()), windowID: record.id)
        }
    }

    /// The Velero Backup a window's order asks for, under the configured Velero settings (nil without them).
    nonisolated func backupSpec(_ order: BackupOrder) -> BackupSpec? {
        guard let veleroConfig = config.velero else { return nil }
        return BackupSpec(
            name: order.name,
            namespace: veleroConfig.namespace,
            includedNamespaces: order.namespaces,
            ttl: veleroConfig.backup.ttl,
            storageLocation: veleroConfig.backup.storageLocation,
            labels: [
                "app.kubernetes.io/managed-by": "upgrade-gate", "upgrade-gate.io/window": order.window, "upgrade-gate.io/window-id": order.windowID,
            ]
        )
    }

    /// What opening a window reads when Velero is configured: the workloads' images, and an existing Backup's phase.
    /// - Important: without its escape plan a window is not opened (503): better no upgrade than an upgrade that
    ///   cannot be rolled back.
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
            images = try await withDeadline(escapeTimeout) { try await velero.workloadImages(namespaces: request.namespaces) }.map {
                RecordedImage(kind: $0.kind, namespace: $0.namespace, name: $0.name, container: $0.container, image: $0.image)
            }
        } catch {
            throw .unavailable("the workloads' images could not be recorded, so a restore could not be verified: \(error)")
        }
        if let existing {
            do {
                let status = try await withDeadline(escapeTimeout) { try await velero.backupStatus(name: existing) }
                let phase = BackupPhase(velero: status.phase.rawValue)
                return (BackupState(name: existing, phase: phase, created: false, requestedAt: at, finishedAt: phase.isTerminal ? at : nil), images)
            } catch {
                if (error as? KubernetesError)?.isNotFound == true {
                    throw .badRequest("backup.name: no Velero Backup \"\(existing)\" in namespace \(veleroConfig.namespace)", field: "backup.name")
                }
                throw .unavailable("the Velero Backup \(existing) could not be read: \(error)")
            }
        }
        let name = veleroObjectName(window: request.name, id: id, suffix: "pre")
        return (BackupState(name: name, phase: .unknown, created: true, requestedAt: at), images)
    }

    private func resolveChecks(for request: WindowRequest) throws(APIError) -> [CheckSpec] {
        let selected = request.checks.map { names in config.checks.filter { names.contains($0.name) } } ?? config.checks
        var specs: [CheckSpec] = []
        var missing: [String: [String]] = [:]
        for check in selected {
            do {
                specs.append(try check.spec(labels: request.templateLabels))
            } catch {
                for label in error.missingLabels { missing[label, default: []].append(check.name) }
            }
        }
        if let label = missing.keys.sorted().first {
            throw .badRequest(
                "labels.\(label) is needed by check(s) \(missing[label]!.joined(separator: ", ")) ({{\(label)}} in the query) but the window does not set it",
                field: "labels.\(label)"
            )
        }
        return specs
    }

    private func bump(_ request: WindowRequest) -> SemverBump? {
        guard let from = request.fromVersion, let to = request.toVersion else { return nil }
        return semverBump(from: from, to: to)
    }

    // MARK: Close, reset

    /// Closes an open window and records its final verdict; closing a closed window again answers with it
    /// (pipelines retry).
    func close(_ name: String, reason: String, by actor: WindowActor) async throws(APIError) -> LiveWindow {
        guard let window = live[name] else {
            if let closed = try await window(named: name), !closed.record.isOpen { return closed }
            throw .windowNotFound(name)
        }
        let event = WindowMachine.Event.close(reason: reason, by: actor, at: now())
        try answer(await send(event, windowID: window.record.id, acknowledged: true), what: "the close")
        // With several replicas the close may have been decided again on what another replica wrote (a 409): the
        // stored window is the answer. With one, the machine is deterministic: the same event on the copy gives it.
        if store is KubernetesWindowStore, let stored = try await storedWindow(named: name), stored.record.id == window.record.id {
            return stored
        }
        var closed = window
        _ = closed.machine.receive(event)
        return closed
    }

    /// Clears a window's verdict (a sticky fail included): streaks restart, the reset is audited.
    func reset(_ name: String, by actor: WindowActor, note: String?) async throws(APIError) -> LiveWindow {
        guard let window = live[name] else {
            if let closed = try await storedWindow(named: name), !closed.record.isOpen {
                throw .conflict("window \"\(name)\" is closed; a closed window's final verdict cannot be reset", field: "name")
            }
            throw .windowNotFound(name)
        }
        try answer(await send(.reset(by: actor, note: note, at: now()), windowID: window.record.id, acknowledged: true), what: "the reset")
        return live[name] ?? window
    }

    /// Turns a send result into the API's answer.
    func answer(_ result: SendResult, what: String) throws(APIError) {
        switch result {
        case .done: return
        case .gone: throw .conflict("the window changed while \(what) was being made; retry")
        case .refused(let refusal): throw APIError(refusal)
        case .conflicted: throw .conflict("another replica changed the window while \(what) was being made; retry")
        case .writeFailed(let error): throw .storage("\(what) could not be persisted, so nothing was changed: \(error)")
        }
    }
}

extension APIError {
    /// The API's answer to a refusal of the window machine.
    init(_ refusal: WindowRefusal) {
        switch refusal {
        case .notOwner: self.init(.forbidden, code: .notOwner, message: refusal.description, field: "name")
        case .closed: self.init(.conflict, code: .conflict, message: refusal.description, field: "name")
        case .noVelero, .dryRunMode, .alreadyRestored, .noUsableBackup: self.init(.conflict, code: .conflict, message: refusal.description)
        }
    }
}

private func versionText(_ request: WindowRequest) -> String {
    var text = ""
    if let component = request.component { text += " for \(component)" }
    if let from = request.fromVersion, let to = request.toVersion { text += " \(from) → \(to)" }
    return text
}
