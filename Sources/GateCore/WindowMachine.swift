/// One upgrade window's lifecycle as a value: backup → verdict → restore intent → request → poll → verify → close.
///
/// The machine does no I/O and reads no clock: every event carries its time, and every consequence comes back as a
/// ``WindowAction`` the engine carries out in order (persist, publish, log, count, call Kubernetes). Its safety
/// rules hold by construction and are tested as tables:
/// - `fail` is sticky; only a reset clears it.
/// - A window is restored at most once, never on `inconclusive`, never automatically from a backup that was not
///   `Completed` when the window failed.
/// - The transition to `fail` and its restore intent are one write; no Restore is requested before its intent is
///   durable.
/// - Only a window's owner (or the `windows` scope) changes it.
/// - An evaluation that started before a reset or a close is dropped.
public struct WindowMachine: Sendable, Equatable {
    /// The durable state.
    public private(set) var record: WindowRecord
    /// The newest evaluation, if any since the window opened or was reset.
    public private(set) var lastEvaluation: EvaluationRecord?
    /// The settings the window is decided by.
    public let settings: WindowSettings
    /// The deterministic name of the window's Restore.
    public let restoreName: String
    /// Bumped by every reset and close: an evaluation carries the generation it started in, and an older one is
    /// dropped.
    public private(set) var generation = 0

    /// Makes this machine's generation newer than `other` (a machine rebuilt from a state another replica wrote
    /// replaces one whose evaluations may still be in flight: those must count as older).
    public mutating func advanceGeneration(past other: Int) {
        generation = max(generation, other) + 1
    }
    /// The newest time the verdict was known fresh (open, reset, evaluation).
    private var freshSince: Double
    /// Whether the last published body said stale.
    private var publishedStale = false
    /// Whether this stale spell is in the audit trail (written once per spell, by the leader's tick).
    private var recordedStale = false
    /// A Backup read is under way.
    private var backupReadInFlight = false
    /// A Restore create, read or image verification is under way.
    private var restoreCallInFlight = false
    /// Image verification was tried for the finished Restore.
    private var verifyAttempted = false
    /// A write of the record failed: it is retried, and nothing is requested from Velero until it lands.
    private var unsaved = false

    /// Creates the machine of a window that exists (opened now, or loaded from the store).
    public init(record: WindowRecord, lastEvaluation: EvaluationRecord? = nil, settings: WindowSettings, restoreName: String) {
        self.record = record
        self.lastEvaluation = lastEvaluation
        self.settings = settings
        self.restoreName = restoreName
        self.freshSince = Self.freshSince(record: record, lastEvaluation: lastEvaluation)
        self.verifyAttempted = record.restore?.rolledBack != nil
    }

    /// The window's name.
    public var name: String { record.name }

    // MARK: - Events

    /// Everything that can happen to a window.
    public enum Event: Sendable, Equatable {
        /// An evaluation finished.
        case evaluated(Evaluation)
        /// Alertmanager changed what this window sees: `failing` are new matching alerts past their grace.
        case alertsChanged(failing: [String], at: Double)
        /// The Backup the leader was to create was created (201, or 409 for the same name).
        case backupCreated(at: Double)
        /// Creating that Backup failed; it is retried.
        case backupCreateFailed(error: String, at: Double)
        /// The Backup was read.
        case backupObserved(BackupPhase, failureReason: String?, at: Double)
        /// The Backup could not be read.
        case backupUnreadable(error: String, at: Double)
        /// The Restore was created (201, or 409 for the same object).
        case restoreCreated(at: Double)
        /// Creating the Restore failed; it is retried.
        case restoreCreateFailed(error: String, at: Double)
        /// The Restore was read.
        case restoreObserved(RestorePhase, failureReason: String?, errors: Int, warnings: Int, at: Double)
        /// The Restore no longer exists.
        case restoreGone(at: Double)
        /// The Restore could not be read.
        case restoreUnreadable(error: String, at: Double)
        /// The window's workloads' images were read after the restore (compared with those recorded at open).
        case imagesRead([RecordedImage], at: Double)
        /// The images after the restore could not be read.
        case verifyFailed(error: String, at: Double)
        /// Time passed: the escape loop's tick (Kubernetes work, duration, staleness).
        case tick(at: Double)
        /// Time passed on a replica that does not lead: only what pollers are told changes (a verdict nobody
        /// confirmed lately is stale); nothing is written, created or closed.
        case followerTick(at: Double)
        /// Someone closes the window.
        case close(reason: String, by: WindowActor, at: Double)
        /// Someone clears the verdict.
        case reset(by: WindowActor, note: String?, at: Double)
        /// An operator asks for the restore.
        case restoreRequested(by: WindowActor, at: Double)
        /// A hook reports something worth keeping in the audit trail.
        case hookEvent(message: String, details: [String: String], by: WindowActor, at: Double)
        /// A write of this window's record failed.
        case persistFailed(at: Double)
        /// The gate started again with this window in its state.
        case resumed(at: Double)
    }

    /// One finished evaluation.
    public struct Evaluation: Sendable, Equatable {
        /// The pinned evaluation time.
        public var at: Double
        /// How long the queries took.
        public var seconds: Double
        /// ``WindowMachine/generation`` when the evaluation started.
        public var generation: Int
        /// Every check's outcome.
        public var outcomes: [CheckOutcome]
        /// New matching alerts past their grace: they fail the window.
        public var alertFailures: [String]
        /// New matching alerts still in their grace: they keep it pending.
        public var alertsInGrace: [String]

        /// Creates an evaluation.
        public init(
            at: Double,
            seconds: Double = 0,
            generation: Int,
            outcomes: [CheckOutcome],
            alertFailures: [String] = [],
            alertsInGrace: [String] = []
        ) {
            self.at = at
            self.seconds = seconds
            self.generation = generation
            self.outcomes = outcomes
            self.alertFailures = alertFailures
            self.alertsInGrace = alertsInGrace
        }
    }

    // MARK: - Opening

    /// The machine of a window being opened, and what opening it takes: the Backup (when the window creates one),
    /// then one write of the record, its baseline and its first event.
    ///
    /// - Important: The engine captures the baseline BEFORE this, so a failed open leaves no orphan Backup; if
    ///   `createBackup` fails the engine stops and nothing is persisted.
    ///
    /// `backupByLeader`: with several replicas the Backup is not created here but recorded as awaited, and the
    /// leader's tick creates it (any replica admits windows; only the leader creates anything in Velero).
    public static func open(
        _ record: WindowRecord,
        baseline: WindowBaseline,
        settings: WindowSettings,
        restoreName: String,
        by actor: WindowActor,
        message: String,
        backupByLeader: Bool = false
    ) -> (WindowMachine, [WindowAction]) {
        var record = record
        // Kept so that a restart under another mode never restores a window that failed under manual or dry-run.
        record.restoreMode = settings.velero?.restoreMode
        var actions: [WindowAction] = []
        if backupByLeader, let backup = record.backup, backup.created {
            record.backup?.awaitingCreation = true
            actions.append(.wakeEscape)
            actions.append(
                .log(
                    GateLogLine(
                        .notice,
                        "window \(record.name): the leader creates pre-upgrade backup \(backup.name) (namespaces \(record.request.namespaces.joined(separator: ", ")))",
                        ["gate.window": .string(record.name), "velero.backup": .string(backup.name)]
                    )
                )
            )
        }
        let machine = WindowMachine(record: record, settings: settings, restoreName: restoreName)
        if !backupByLeader, let backup = record.backup, backup.created {
            actions.append(
                .createBackup(BackupOrder(name: backup.name, namespaces: record.request.namespaces, window: record.name, windowID: record.id))
            )
            actions.append(.count(.escapeStep(.backupCreated)))
            actions.append(
                .log(
                    GateLogLine(
                        .notice,
                        "window \(record.name): pre-upgrade backup \(backup.name) requested (namespaces \(record.request.namespaces.joined(separator: ", ")))",
                        ["gate.window": .string(record.name), "velero.backup": .string(backup.name)]
                    )
                )
            )
        }
        let event = WindowEvent(at: record.openedAt, kind: .opened, message: message, details: ["by": actor.description, "id": record.id])
        actions.append(.persist(.insert(record, baseline, event)))
        actions.append(.publish)
        actions.append(
            .log(
                GateLogLine(
                    .notice,
                    message,
                    [
                        "gate.window": .string(record.name), "gate.window_id": .string(record.id), "gate.verdict": .string(Verdict.pending.rawValue),
                        "gate.checks": .array(record.checks.map { .string($0.name) }), "gate.owner": .string(record.owner.description),
                        "gate.baseline_series": .string(String(baseline.checks.values.map(\.count).reduce(0, +))),
                    ]
                )
            )
        )
        return (machine, actions)
    }

    // MARK: - Reading

    /// Whether the verdict is stale at `now`: the window is open and nothing fresh happened for 3 × interval.
    public func isStale(at now: Double) -> Bool {
        record.isOpen && now - freshSince > settings.staleAfter
    }

    /// Since when the stored verdict of a window is known fresh: the end of its last evaluation (its time plus how
    /// long it took: "no evaluation finished lately" is what stale means), its last reset, or its opening. What a
    /// machine built from the store starts from, and what a store that shows staleness computes.
    public static func freshSince(record: WindowRecord, lastEvaluation: EvaluationRecord?) -> Double {
        max(record.openedAt, record.resetAt ?? record.openedAt, lastEvaluation.map { $0.at + max(0, $0.duration) } ?? record.openedAt)
    }

    /// The verdict pollers get at `now`: a stale verdict is `inconclusive`, except a sticky `fail`.
    public func verdict(at now: Double) -> Verdict {
        let verdict = record.memory.verdict
        return isStale(at: now) && verdict != .fail ? .inconclusive : verdict
    }

    /// Why the window is not ready for a canary to start (the backup is not done), if it is not.
    public func readinessBlocker(at now: Double) -> String? {
        // A required backup that failed blocks at once, not only from the next evaluation's fail on.
        let conditions = backupConditions(at: now)
        return conditions.failures.first ?? conditions.blockers.first
    }

    /// Whether the machine still has Kubernetes work: a Backup or a Restore to follow.
    public var hasEscapeWork: Bool {
        if record.isOpen, let backup = record.backup, !backup.phase.isTerminal { return true }
        guard let restore = record.restore else { return false }
        return !restore.isTerminal || needsVerification
    }

    private var needsVerification: Bool {
        guard settings.velero?.verify == true, !verifyAttempted, let restore = record.restore else { return false }
        return [.completed, .partiallyFailed, .failed].contains(restore.phase)
    }

    // MARK: - Receiving

    /// Takes one event and returns what the engine must do, in order.
    public mutating func receive(_ event: Event) -> [WindowAction] {
        switch event {
        case .evaluated(let evaluation): return evaluated(evaluation)
        case .alertsChanged(let failing, let at): return alertsChanged(failing: failing, at: at)
        case .backupObserved(let phase, let failureReason, let at): return backupObserved(phase, failureReason: failureReason, at: at)
        case .backupCreated(let at): return backupCreated(at: at)
        case .backupCreateFailed(let error, _):
            backupReadInFlight = false
            return [
                .log(
                    GateLogLine(
                        .warning,
                        "window \(name): the pre-upgrade Velero Backup \(record.backup?.name ?? "") could not be created (retrying): \(error)",
                        ["gate.window": .string(name), "velero.backup": .string(record.backup?.name ?? "")]
                    )
                )
            ]
        case .backupUnreadable(let error, _):
            backupReadInFlight = false
            return [
                .log(
                    GateLogLine(
                        .warning,
                        "window \(name): backup \(record.backup?.name ?? "") could not be read: \(error)",
                        ["gate.window": .string(name)]
                    )
                )
            ]
        case .restoreCreated(let at): return restoreCreated(at: at)
        case .restoreCreateFailed(let error, let at): return restoreCreateFailed(error: error, at: at)
        case .restoreObserved(let phase, let failureReason, let errors, let warnings, let at):
            return restoreObserved(phase, failureReason: failureReason, errors: errors, warnings: warnings, at: at)
        case .restoreGone(let at): return restoreGone(at: at)
        case .restoreUnreadable(let error, _):
            restoreCallInFlight = false
            return [.log(GateLogLine(.warning, "window \(name): Restore \(restoreName) could not be read: \(error)", ["gate.window": .string(name)]))]
        case .imagesRead(let images, let at):
            let (rolledBack, notRolledBack) = compareImages(atOpen: record.imagesAtOpen, now: images)
            return verified(rolledBack: rolledBack, notRolledBack: notRolledBack, at: at)
        case .verifyFailed(let error, let at):
            restoreCallInFlight = false
            verifyAttempted = true
            let event = WindowEvent(at: at, kind: .verify, message: "the images after Restore \(restoreName) could not be read: \(error)")
            return [.persist(.events([event])), .log(GateLogLine(.error, "window \(name): \(event.message)", ["gate.window": .string(name)]))]
        case .tick(let at): return tick(at: at)
        case .followerTick(let at):
            let stale = isStale(at: at)
            guard stale != publishedStale else { return [] }
            publishedStale = stale
            return [.publish]
        case .close(let reason, let actor, let at): return close(reason: reason, by: actor, at: at)
        case .reset(let actor, let note, let at): return reset(by: actor, note: note, at: at)
        case .restoreRequested(let actor, let at): return restoreRequested(by: actor, at: at)
        case .hookEvent(let message, let details, let actor, let at):
            guard actor.mayChange(record.owner) else { return [.reject(.notOwner(window: name, owner: record.owner))] }
            return [.persist(.events([WindowEvent(at: at, kind: .flagger, message: message, details: details)]))]
        case .persistFailed:
            unsaved = true
            return []
        case .resumed(let at): return resumed(at: at)
        }
    }

    // MARK: - Verdicts

    private mutating func evaluated(_ evaluation: Evaluation) -> [WindowAction] {
        // Closed, reset or reopened while the queries ran: these outcomes describe a window that is gone.
        guard record.isOpen, evaluation.generation == generation else { return [] }
        let at = evaluation.at
        let backup = backupConditions(at: at)
        let previous = record.memory.verdict
        let decision = decide(
            previous: record.memory,
            outcomes: evaluation.outcomes,
            openedAt: record.openedAt,
            now: at,
            policy: GatePolicy(failAfter: settings.failAfter, warmup: settings.warmup, soak: record.soak),
            blockers: backup.blockers + evaluation.alertsInGrace.map { "\($0) (in grace)" },
            failures: backup.failures + evaluation.alertFailures
        )
        record.memory = decision.memory
        var events: [WindowEvent] = []
        var follow: [WindowAction] = []
        if decision.verdict != previous {
            events.append(verdictEvent(from: previous, to: decision.verdict, reasons: decision.reasons, at: at, cause: nil))
            follow.append(.log(verdictLogLine(from: previous, decision: decision, outcomes: evaluation.outcomes)))
            follow.append(.count(.verdictChange(decision.verdict)))
        }
        if decision.becameFail { enterFail(at: at, events: &events, actions: &follow) }
        let reasons = record.memory.verdict == .fail ? record.memory.failReasons : decision.reasons
        let record = EvaluationRecord(
            at: at,
            duration: evaluation.seconds,
            verdict: decision.verdict,
            statuses: decision.statuses,
            reasons: reasons,
            soakRemaining: decision.soakRemaining,
            outcomes: evaluation.outcomes
        )
        lastEvaluation = record
        freshSince = max(freshSince, at + max(0, evaluation.seconds))
        publishedStale = false
        if recordedStale {
            // The stale spell that was written down ends here, in the same write.
            recordedStale = false
            events.append(
                WindowEvent(at: at, kind: .stale, message: "an evaluation finished again: the verdict is fresh", details: ["state": "fresh"])
            )
        }
        var actions: [WindowAction] = [.persist(.evaluation(self.record, record, events)), .publish]
        actions += follow
        if at >= self.record.closesAt { actions += close(reason: "duration ended", by: .gate, at: at) }
        return actions
    }

    private mutating func alertsChanged(failing: [String], at: Double) -> [WindowAction] {
        guard record.isOpen else { return [] }
        guard !failing.isEmpty else { return [.publish] }
        let previous = record.memory.verdict
        if previous == .fail {
            return [
                .publish,
                .log(
                    GateLogLine(
                        .notice,
                        "window \(name) (already failed): new alert \(failing.joined(separator: "; "))",
                        ["gate.window": .string(name), "gate.verdict": .string(Verdict.fail.rawValue)]
                    )
                ),
            ]
        }
        let (memory, becameFail) = failNow(record.memory, reasons: failing, at: at)
        record.memory = memory
        var events = [verdictEvent(from: previous, to: .fail, reasons: failing, at: at, cause: "alert")]
        var follow: [WindowAction] = [
            .log(
                GateLogLine(
                    .critical,
                    "window \(name): verdict \(previous.rawValue) → fail: \(failing[0])",
                    [
                        "gate.window": .string(name), "gate.verdict": .string(Verdict.fail.rawValue), "gate.previous": .string(previous.rawValue),
                        "gate.reasons": .array(failing.map { .string($0) }), "gate.action": .string(failAction),
                    ]
                )
            ),
            .count(.verdictChange(.fail)),
        ]
        if becameFail { enterFail(at: at, events: &events, actions: &follow) }
        return [.persist(.update(record, events)), .publish] + follow
    }

    /// The transition to fail: decides the escape, in the same write as the verdict.
    ///
    /// - Important: The restore intent goes into the record the caller persists together with the fail, so a
    ///   crash can never leave a failed window whose restore was decided but not recorded.
    private mutating func enterFail(at: Double, events: inout [WindowEvent], actions: inout [WindowAction]) {
        guard let velero = settings.velero, record.restore == nil else { return }
        func noRestore(_ why: String) {
            events.append(WindowEvent(at: at, kind: .restore, message: "no restore: \(why)"))
            actions.append(
                .log(
                    GateLogLine(
                        .critical,
                        "window \(name) failed but is not restored: \(why)",
                        ["gate.window": .string(name), "gate.action": .string("none: no usable backup")]
                    )
                )
            )
        }
        switch velero.restoreMode {
        case .manual:
            actions.append(
                .log(
                    GateLogLine(
                        .critical,
                        "window \(name) failed; restore.mode is manual: POST /api/v1/windows/\(name)/restore to roll back",
                        ["gate.window": .string(name), "gate.action": .string("waiting for a manual restore")]
                    )
                )
            )
        case .auto, .dryRun:
            guard let backup = record.backup else { return noRestore("no pre-upgrade backup was taken") }
            if backup.hasFailed { return noRestore("pre-upgrade backup \(backup.name) is \(backup.phase.display)") }
            guard backup.isUsable else {
                // The backup may have captured the upgrade already: restoring it could install the failure.
                let reason =
                    "no automatic restore: pre-upgrade backup \(backup.name) was not Completed when the window failed (phase \(backup.phase.display)) "
                    + "and may hold post-upgrade state; once it is Completed, POST /api/v1/windows/\(name)/restore rolls back from it"
                record.memory.failReasons = appendingNew([reason], to: record.memory.failReasons)
                return noRestore(reason)
            }
            let mode = velero.restoreMode
            let reason = record.memory.failReasons.first ?? "the window failed"
            record.restore = RestoreState(name: restoreName, phase: mode == .dryRun ? .dryRun : .intent, mode: mode, intentAt: at, reason: reason)
            actions += intentRecorded(at: at, events: &events)
        }
    }

    /// Events, logs and counts for a restore state that was just set (intent or dry run).
    private func intentRecorded(at: Double, events: inout [WindowEvent]) -> [WindowAction] {
        guard let restore = record.restore, let backup = record.backup else { return [] }
        let object = describeRestore(backup: backup.name)
        let dryRun = restore.phase == .dryRun
        let message =
            dryRun
            ? "dry run: would create Restore \(restore.name) from backup \(backup.name): \(object)"
            : "restore intent: Restore \(restore.name) from backup \(backup.name) (\(restore.reason))"
        events.append(
            WindowEvent(
                at: at,
                kind: .restore,
                message: message,
                details: ["restore": restore.name, "backup": backup.name, "mode": restore.mode.rawValue, "object": object]
            )
        )
        var actions: [WindowAction] = [
            .count(.escapeStep(dryRun ? .dryRun : .intent)),
            .log(
                GateLogLine(
                    .critical,
                    "window \(name): \(message)",
                    [
                        "gate.window": .string(name), "gate.verdict": .string(record.memory.verdict.rawValue),
                        "velero.restore": .string(restore.name),
                        "velero.backup": .string(backup.name), "gate.action": .string(dryRun ? "restore (dry run)" : "restore"),
                    ]
                )
            ),
        ]
        if !dryRun { actions.append(.wakeEscape) }
        return actions
    }

    private func describeRestore(backup: String) -> String {
        let velero = settings.velero ?? .init()
        return "velero.io/v1 Restore \(velero.namespace)/\(restoreName) {backupName: \(backup), includedNamespaces: "
            + "[\(record.request.namespaces.joined(separator: ", "))], existingResourcePolicy: \(velero.existingResourcePolicy ?? "none"), "
            + "restorePVs: \(velero.restorePVs)}"
    }

    /// What the gate does about a new fail, as the gate log says it.
    private var failAction: String {
        settings.velero.map { "restore mode \($0.restoreMode.rawValue)" } ?? "none: no velero section, judging only"
    }

    private func verdictEvent(from previous: Verdict, to verdict: Verdict, reasons: [String], at: Double, cause: String?) -> WindowEvent {
        var details = ["from": previous.rawValue, "to": verdict.rawValue, "reasons": reasons.joined(separator: "\n")]
        if let cause { details["cause"] = cause }
        return WindowEvent(
            at: at,
            kind: .verdict,
            message: "verdict \(previous.rawValue) → \(verdict.rawValue): " + (reasons.first ?? ""),
            details: details
        )
    }

    private func verdictLogLine(from previous: Verdict, decision: GateDecision, outcomes: [CheckOutcome]) -> GateLogLine {
        var failing: [LogValue] = []
        for outcome in outcomes where outcome.result != .pass {
            for series in outcome.series where series.result != .pass {
                var entry: [String: LogValue] = [
                    "check": .string(outcome.check), "series": .string(series.labels.description),
                    "status": .string((decision.statuses[outcome.check] ?? .inconclusive).rawValue),
                ]
                if let value = series.value { entry["value"] = .string(formatNumber(value)) }
                if let baseline = series.baseline { entry["baseline"] = .string(formatNumber(baseline)) }
                if let rule = series.rule { entry["rule"] = .string(rule) }
                if let reason = series.reason { entry["reason"] = .string(reason) }
                if let comparison = series.comparison { entry["comparison"] = comparison.logValue }
                failing.append(.dictionary(entry))
            }
            if outcome.series.isEmpty, let reason = outcome.reasons.first {
                failing.append(.dictionary(["check": .string(outcome.check), "reason": .string(reason)]))
            }
        }
        let headline =
            "window \(name): verdict \(previous.rawValue) → \(decision.verdict.rawValue)" + (decision.reasons.first.map { ": \($0)" } ?? "")
        return GateLogLine(
            decision.verdict == .fail ? .critical : .notice,
            headline,
            [
                "gate.window": .string(name), "gate.verdict": .string(decision.verdict.rawValue), "gate.previous": .string(previous.rawValue),
                "gate.reasons": .array(decision.reasons.map { .string($0) }), "gate.checks": .array(failing),
                "gate.action": .string(decision.becameFail ? failAction : "none"),
            ]
        )
    }

    /// Blockers and failures the backup adds to a decision.
    private func backupConditions(at now: Double) -> (blockers: [String], failures: [String]) {
        guard let backup = record.backup, let velero = settings.velero, !backup.isUsable else { return ([], []) }
        if backup.hasFailed {
            let reason = "pre-upgrade backup failed: Velero Backup \(backup.name) is \(backup.phase.display)"
            return velero.backupRequired ? ([], [reason]) : ([], [])
        }
        if now - backup.requestedAt > velero.backupWaitTimeout {
            let reason =
                "pre-upgrade backup failed: Velero Backup \(backup.name) did not complete within \(formatDuration(velero.backupWaitTimeout)) (phase \(backup.phase.display))"
            return velero.backupRequired ? ([], [reason]) : ([], [])
        }
        return (["waiting for pre-upgrade backup \(backup.name) (phase \(backup.phase.display))"], [])
    }

    // MARK: - Backup

    private mutating func backupObserved(_ phase: BackupPhase, failureReason: String?, at: Double) -> [WindowAction] {
        backupReadInFlight = false
        guard var backup = record.backup, phase != backup.phase, phase != .unknown || backup.phase == .unknown else { return [] }
        let old = backup.phase
        backup.phase = phase
        if phase.isTerminal { backup.finishedAt = at }
        record.backup = backup
        let message = "pre-upgrade backup \(backup.name): \(old.display) → \(phase.display)" + (failureReason.map { " (\($0))" } ?? "")
        let event = WindowEvent(at: at, kind: .backup, message: message, details: ["backup": backup.name, "phase": phase.display])
        let step: EscapeStep = phase.isUsable ? .backupCompleted : phase.hasFailed ? .backupFailed : .backupProgress
        return [
            .persist(.update(record, [event])), .publish, .count(.escapeStep(step)),
            .log(
                GateLogLine(
                    phase.hasFailed ? .error : .notice,
                    "window \(name): \(message)",
                    ["gate.window": .string(name), "velero.backup": .string(backup.name), "velero.phase": .string(phase.display)]
                )
            ),
        ]
    }

    private mutating func backupCreated(at: Double) -> [WindowAction] {
        backupReadInFlight = false
        guard var backup = record.backup, backup.awaitingCreation == true else { return [] }
        if !record.isOpen || record.memory.verdict == .fail {
            // Created while the window closed or failed: not a state from before the upgrade.
            return abandonBackup(because: "it was created only after the window \(record.isOpen ? "failed" : "closed")", at: at)
        }
        backup.awaitingCreation = nil
        record.backup = backup
        let message = "pre-upgrade backup \(backup.name) requested (namespaces \(record.request.namespaces.joined(separator: ", ")))"
        let event = WindowEvent(at: at, kind: .backup, message: message, details: ["backup": backup.name, "phase": "requested"])
        return [
            .persist(.update(record, [event])), .publish, .count(.escapeStep(.backupCreated)),
            .log(GateLogLine(.notice, "window \(name): \(message)", ["gate.window": .string(name), "velero.backup": .string(backup.name)])),
            .wakeEscape,
        ]
    }

    /// Gives up the awaited Backup: it counts as failed (a required backup fails the window), and nothing is ever
    /// restored from it, even if it exists.
    private mutating func abandonBackup(because reason: String, at: Double) -> [WindowAction] {
        guard var backup = record.backup else { return [] }
        backup.awaitingCreation = nil
        backup.phase = .failed
        backup.finishedAt = at
        record.backup = backup
        let message = "pre-upgrade backup \(backup.name) is given up: \(reason); it is not a rollback point"
        let event = WindowEvent(at: at, kind: .backup, message: message, details: ["backup": backup.name, "phase": "NotCreated"])
        return [
            .persist(.update(record, [event])), .publish, .count(.escapeStep(.backupFailed)),
            .log(GateLogLine(.error, "window \(name): \(message)", ["gate.window": .string(name), "velero.backup": .string(backup.name)])),
        ]
    }

    // MARK: - Restore

    private mutating func restoreRequested(by actor: WindowActor, at: Double) -> [WindowAction] {
        guard let velero = settings.velero else { return [.reject(.noVelero)] }
        guard velero.restoreMode != .dryRun else { return [.reject(.dryRunMode)] }
        if let restore = record.restore { return [.reject(.alreadyRestored(window: name, restore: restore.name, phase: restore.phase))] }
        guard record.isOpen else { return [.reject(.closed(window: name))] }
        guard actor.mayChange(record.owner) else { return [.reject(.notOwner(window: name, owner: record.owner))] }
        guard let backup = record.backup, backup.isUsable else {
            let why = record.backup.map { "\($0.name) is \($0.phase.display)" } ?? "none was taken"
            return [.reject(.noUsableBackup(window: name, why: why))]
        }
        _ = backup
        record.restore = RestoreState(name: restoreName, mode: .manual, intentAt: at, reason: "requested by \(actor)")
        var events: [WindowEvent] = []
        let follow = intentRecorded(at: at, events: &events)
        return [.persist(.update(record, events)), .publish] + follow
    }

    private mutating func restoreCreated(at: Double) -> [WindowAction] {
        restoreCallInFlight = false
        guard var restore = record.restore, restore.phase == .intent else { return [] }
        restore.phase = .new
        restore.requestedAt = at
        restore.lastError = nil
        record.restore = restore
        let namespace = settings.velero?.namespace ?? "velero"
        return [
            .persist(
                .update(record, [WindowEvent(at: at, kind: .restore, message: "Restore \(restore.name) created", details: ["restore": restore.name])])
            ),
            .publish, .count(.escapeStep(.requested)),
            .log(
                GateLogLine(
                    .critical,
                    "window \(name): Restore \(restore.name) created in namespace \(namespace)",
                    ["gate.window": .string(name), "velero.restore": .string(restore.name), "gate.action": .string("restore requested")]
                )
            ),
        ]
    }

    private mutating func restoreCreateFailed(error: String, at: Double) -> [WindowAction] {
        restoreCallInFlight = false
        guard var restore = record.restore, restore.phase == .intent else { return [] }
        restore.attempts += 1
        restore.lastError = error
        record.restore = restore
        return [
            .persist(.update(record, [])), .publish, .count(.escapeStep(.requestFailed)),
            .log(
                GateLogLine(
                    .error,
                    "window \(name): Restore \(restore.name) could not be created (attempt \(restore.attempts)); retrying: \(error)",
                    ["gate.window": .string(name), "velero.restore": .string(restore.name)]
                )
            ),
        ]
    }

    private mutating func restoreObserved(_ phase: RestorePhase, failureReason: String?, errors: Int, warnings: Int, at: Double) -> [WindowAction] {
        restoreCallInFlight = false
        guard var restore = record.restore, restore.phase.wasRequested, !restore.isTerminal, phase != restore.phase, phase != .unknown else {
            return []
        }
        restore.phase = phase
        var message = "Restore \(restore.name) is \(phase.rawValue.isEmpty ? "requested" : phase.rawValue)" + (failureReason.map { ": \($0)" } ?? "")
        if errors > 0 { message += " (\(errors) errors, \(warnings) warnings)" }
        if phase == .deleting { message += "; it is being deleted and is no longer followed" }
        var actions: [WindowAction] = []
        if phase.isTerminal {
            restore.finishedAt = at
            actions.append(.count(.escapeStep(phase.isSuccess ? .completed : .failed)))
            if !needsVerificationAfter(phase) {
                actions.append(
                    .log(
                        GateLogLine(
                            phase.isSuccess ? .critical : .error,
                            "window \(name): Restore \(restore.name) \(phase.rawValue)",
                            ["gate.window": .string(name), "velero.restore": .string(restore.name), "velero.phase": .string(phase.rawValue)]
                        )
                    )
                )
            }
        }
        record.restore = restore
        actions.insert(
            contentsOf: [
                .persist(
                    .update(
                        record,
                        [WindowEvent(at: at, kind: .restore, message: message, details: ["restore": restore.name, "phase": phase.rawValue])]
                    )
                ), .publish,
            ],
            at: 0
        )
        if needsVerification {
            restoreCallInFlight = true
            actions.append(.verifyImages(namespaces: record.request.namespaces))
        }
        return actions
    }

    private func needsVerificationAfter(_ phase: RestorePhase) -> Bool {
        settings.velero?.verify == true && [.completed, .partiallyFailed, .failed].contains(phase)
    }

    private mutating func restoreGone(at: Double) -> [WindowAction] {
        restoreCallInFlight = false
        guard var restore = record.restore, restore.phase.wasRequested, !restore.isTerminal else { return [] }
        restore.phase = .gone
        restore.finishedAt = at
        record.restore = restore
        let message = "Restore \(restore.name) no longer exists (deleted before it finished); it is no longer followed"
        return [
            .persist(.update(record, [WindowEvent(at: at, kind: .restore, message: message, details: ["restore": restore.name, "phase": "Gone"])])),
            .publish, .count(.escapeStep(.failed)),
            .log(GateLogLine(.error, "window \(name): \(message)", ["gate.window": .string(name), "velero.restore": .string(restore.name)])),
        ]
    }

    private mutating func verified(rolledBack: [ImageChange], notRolledBack: [ImageChange], at: Double) -> [WindowAction] {
        restoreCallInFlight = false
        verifyAttempted = true
        guard var restore = record.restore else { return [] }
        restore.rolledBack = rolledBack
        restore.notRolledBack = notRolledBack
        record.restore = restore
        let summary =
            notRolledBack.isEmpty
            ? "all \(rolledBack.count) container images are back to the ones recorded at open"
            : "\(notRolledBack.count) container image(s) NOT rolled back: " + notRolledBack.map(\.description).joined(separator: "; ")
        let event = WindowEvent(at: at, kind: .verify, message: "after Restore \(restore.name): \(summary)", details: ["restore": restore.name])
        return [
            .persist(.update(record, [event])), .publish,
            .log(
                GateLogLine(
                    .critical,
                    "window \(name): Restore \(restore.name) \(restore.phase.rawValue); \(summary)",
                    [
                        "gate.window": .string(name), "velero.restore": .string(restore.name), "velero.phase": .string(restore.phase.rawValue),
                        "restore.rolled_back": .array(rolledBack.map { .string($0.description) }),
                        "restore.not_rolled_back": .array(notRolledBack.map { .string($0.description) }),
                    ]
                )
            ),
        ]
    }

    // MARK: - Time

    private mutating func tick(at: Double) -> [WindowAction] {
        var actions: [WindowAction] = []
        if unsaved {
            // Retry the write first; nothing is asked of Velero on the strength of a record that is not durable.
            unsaved = false
            return [.persist(.update(record, []))]
        }
        if record.isOpen, let backup = record.backup, !backupReadInFlight {
            if backup.awaitingCreation == true {
                // A Backup is a rollback point only when taken before the upgrade: once the gate stops holding the
                // upgrade back for it (waitTimeout) or the window failed, one taken now would hold the upgraded state.
                if record.memory.verdict == .fail {
                    actions += abandonBackup(because: "the window failed before it was created", at: at)
                } else if at - backup.requestedAt > (settings.velero?.backupWaitTimeout ?? .infinity) {
                    actions += abandonBackup(
                        because: "it could not be created within \(formatDuration(settings.velero?.backupWaitTimeout ?? 0))",
                        at: at
                    )
                } else {
                    backupReadInFlight = true
                    actions.append(
                        .createBackup(BackupOrder(name: backup.name, namespaces: record.request.namespaces, window: record.name, windowID: record.id))
                    )
                }
            } else if !backup.phase.isTerminal {
                backupReadInFlight = true
                actions.append(.pollBackup(name: backup.name))
            }
        }
        if let restore = record.restore, !restoreCallInFlight {
            if restore.phase == .intent, let backup = record.backup {
                restoreCallInFlight = true
                actions.append(
                    .createRestore(
                        RestoreOrder(
                            // Derived from the window's name and id, never from the stored record: whatever a record
                            // says, one window can only ever create its own one Restore.
                            name: restoreName,
                            backupName: backup.name,
                            namespaces: record.request.namespaces,
                            window: name,
                            windowID: record.id
                        )
                    )
                )
            } else if !restore.isTerminal {
                restoreCallInFlight = true
                actions.append(.pollRestore(name: restore.name))
            } else if needsVerification {
                restoreCallInFlight = true
                actions.append(.verifyImages(namespaces: record.request.namespaces))
            }
        }
        if record.isOpen, at >= record.closesAt {
            actions += close(reason: "duration ended", by: .gate, at: at)
        }
        let stale = isStale(at: at)
        if stale != publishedStale {
            publishedStale = stale
            actions.append(.publish)
        }
        // Written once per stale spell, into the audit trail too, so the window's stored state (an UpgradeWindow's
        // status.stale and Ready condition) says what pollers are told. Kept apart from what was published: a
        // follower that published the stale answer and then became leader still writes it.
        if stale, !recordedStale {
            recordedStale = true
            let age = lastEvaluation.map { formatDuration(at - $0.at - max(0, $0.duration)) + " ago" } ?? "none since it opened or was reset"
            let verdict = record.memory.verdict
            let message =
                "the verdict is stale: no evaluation finished in the last \(formatDuration(settings.staleAfter)) (last one \(age)); "
                + (verdict == .fail ? "the sticky fail stands" : "pollers get inconclusive instead of \(verdict.rawValue) until one does")
            actions.append(
                .persist(.events([WindowEvent(at: at, kind: .stale, message: message, details: ["state": "stale", "verdict": verdict.rawValue])]))
            )
            actions.append(.log(GateLogLine(.warning, "window \(name): \(message)", ["gate.window": .string(name)])))
        }
        return actions
    }

    // MARK: - Close, reset, resume

    private mutating func close(reason: String, by actor: WindowActor, at: Double) -> [WindowAction] {
        guard record.isOpen else { return [.reject(.closed(window: name))] }
        guard actor.mayChange(record.owner) else { return [.reject(.notOwner(window: name, owner: record.owner))] }
        // A verdict no evaluation has confirmed lately (the gate was down when the duration ended) is not a final
        // pass: the window closes inconclusive. A sticky fail stays a fail.
        if isStale(at: at), record.memory.verdict != .fail {
            record.memory.verdict = .inconclusive
        }
        record.closedAt = at
        record.closeReason = reason
        generation += 1
        let verdict = record.memory.verdict
        let message = "window \(name) closed (\(reason)); final verdict \(verdict.rawValue)"
        let event = WindowEvent(
            at: at,
            kind: .closed,
            message: message,
            details: ["by": actor.description, "reason": reason, "verdict": verdict.rawValue]
        )
        return [
            .persist(.update(record, [event])), .closed, .publish,
            .log(
                GateLogLine(
                    .notice,
                    message,
                    [
                        "gate.window": .string(name), "gate.verdict": .string(verdict.rawValue), "gate.reason": .string(reason),
                        "gate.by": .string(actor.description),
                    ]
                )
            ),
        ]
    }

    private mutating func reset(by actor: WindowActor, note: String?, at: Double) -> [WindowAction] {
        guard record.isOpen else { return [.reject(.closed(window: name))] }
        guard actor.mayChange(record.owner) else { return [.reject(.notOwner(window: name, owner: record.owner))] }
        let previous = record.memory
        record.memory.reset()
        record.resetAt = at
        lastEvaluation = nil
        generation += 1
        freshSince = at
        publishedStale = false
        recordedStale = false
        var details = ["by": actor.description, "from": previous.verdict.rawValue]
        if let note { details["note"] = note }
        if !previous.failReasons.isEmpty { details["clearedReasons"] = previous.failReasons.joined(separator: "\n") }
        let message = "verdict reset by operator (\(previous.verdict.rawValue) → pending)" + (note.map { ": \($0)" } ?? "")
        return [
            .persist(.update(record, [WindowEvent(at: at, kind: .reset, message: message, details: details)])), .publish,
            .count(.verdictChange(.pending)),
            .log(
                GateLogLine(
                    .notice,
                    "window \(name): \(message)",
                    [
                        "gate.window": .string(name), "gate.verdict": .string(Verdict.pending.rawValue),
                        "gate.previous": .string(previous.verdict.rawValue),
                        "gate.by": .string(actor.description),
                    ]
                )
            ),
        ]
    }

    /// At start: continues what the state says is unfinished.
    ///
    /// - Important: A window that failed with `restore.mode: auto` after its backup completed, but whose state has
    ///   no restore (written by a version that persisted the fail and the intent separately and crashed between
    ///   them), gets its intent now — never one that opened under `manual` or `dry-run`, whatever the mode is now.
    private mutating func resumed(at: Double) -> [WindowAction] {
        var actions: [WindowAction] = [.publish]
        if let velero = settings.velero, velero.restoreMode == .auto, (record.restoreMode ?? .auto) == .auto,
            record.memory.verdict == .fail, record.restore == nil,
            let backup = record.backup, backup.isUsable, let failedAt = record.memory.failedAt, let finishedAt = backup.finishedAt,
            finishedAt <= failedAt
        {
            let reason = record.memory.failReasons.first ?? "the window failed"
            record.restore = RestoreState(name: restoreName, mode: .auto, intentAt: at, reason: reason)
            var events = [
                WindowEvent(
                    at: at,
                    kind: .restore,
                    message: "at start: the window failed with restore.mode auto but no restore was recorded; recording it now"
                )
            ]
            let follow = intentRecorded(at: at, events: &events)
            actions = [.persist(.update(record, events)), .publish] + follow
        }
        if hasEscapeWork { actions.append(.wakeEscape) }
        return actions
    }
}
