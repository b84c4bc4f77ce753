import Testing

@testable import GateCore

// The window lifecycle's safety rules as tables: no clock, no network, no store. Each row is a story of events; the
// assertions read the actions the machine returned.

/// A window opened at t=0 with one critical check, soak 60 s, duration 1 h.
private func record(backup: BackupPhase? = .completed, owner: WindowOwner = .pipeline, restore: RestoreState? = nil) -> WindowRecord {
    WindowRecord(
        id: "abcde",
        request: WindowRequest(name: "podinfo-upgrade", namespaces: ["prod"]),
        checks: [],
        openedAt: 0,
        soak: 60,
        duration: 3600,
        backup: backup.map {
            BackupState(name: "podinfo-upgrade-abcde-pre", phase: $0, created: true, requestedAt: 0, finishedAt: $0.isTerminal ? 1 : nil)
        },
        restore: restore,
        owner: owner
    )
}

private func settings(_ mode: RestoreMode? = .auto, verify: Bool = false) -> WindowSettings {
    WindowSettings(failAfter: 1, warmup: 0, interval: 10, velero: mode.map { .init(restoreMode: $0, verify: verify) })
}

private func machine(
    backup: BackupPhase? = .completed,
    mode: RestoreMode? = .auto,
    owner: WindowOwner = .pipeline,
    verify: Bool = false
) -> WindowMachine {
    WindowMachine(
        record: record(backup: backup, owner: owner),
        settings: settings(mode, verify: verify),
        restoreName: "podinfo-upgrade-abcde-rollback"
    )
}

/// One evaluation of the window's critical check with `result`.
private func evaluation(_ result: CheckResult, at: Double, generation: Int = 0) -> WindowMachine.Event {
    .evaluated(.init(at: at, generation: generation, outcomes: [outcome("errors", result)]))
}

/// The story steps a table row is made of.
enum MachineStep: Sendable {
    case pass, broken, inconclusive, alert, tick, created, createFailed, completed, reset, manual, backupCompleted, persistFailed
}

/// Runs a story; returns every action, and the machine.
private func run(_ steps: [MachineStep], on start: WindowMachine) -> (machine: WindowMachine, actions: [WindowAction]) {
    var machine = start
    var actions: [WindowAction] = []
    var at = 10.0
    for step in steps {
        at += 10
        let event: WindowMachine.Event =
            switch step {
            case .pass: evaluation(.pass, at: at, generation: machine.generation)
            case .broken: evaluation(.broken, at: at, generation: machine.generation)
            case .inconclusive: evaluation(.inconclusive, at: at, generation: machine.generation)
            case .alert: .alertsChanged(failing: ["alert KubeAPIDown firing"], at: at)
            case .tick: .tick(at: at)
            case .created: .restoreCreated(at: at)
            case .createFailed: .restoreCreateFailed(error: "500 Internal Server Error", at: at)
            case .completed: .restoreObserved(.completed, failureReason: nil, errors: 0, warnings: 0, at: at)
            case .reset: .reset(by: .pipeline("api"), note: nil, at: at)
            case .manual: .restoreRequested(by: .pipeline("api"), at: at)
            case .backupCompleted: .backupObserved(.completed, failureReason: nil, at: at)
            case .persistFailed: .persistFailed(at: at)
            }
        actions += machine.receive(event)
    }
    return (machine, actions)
}

private func createRestores(_ actions: [WindowAction]) -> Int {
    actions.filter { if case .createRestore = $0 { true } else { false } }.count
}

private func intents(_ actions: [WindowAction]) -> Int {
    actions.filter { if case .count(.escapeStep(.intent)) = $0 { true } else { false } }.count
}

@Suite struct WindowMachineTests {
    // MARK: Restore exactly once, never on inconclusive

    static let restoreStories: [(steps: [MachineStep], intents: Int, creates: Int)] = [
        ([.broken, .tick, .created, .tick, .tick], 1, 1),
        // The create failed and is retried: the same object, one intent.
        ([.broken, .tick, .createFailed, .tick, .created, .tick], 1, 2),
        // A tick while the create is in flight asks nothing more.
        ([.broken, .tick, .tick, .tick], 1, 1),
        // Reset and fail again: the window keeps its one restore.
        ([.broken, .tick, .created, .reset, .broken, .tick, .broken, .tick], 1, 1),
        ([.broken, .tick, .created, .completed, .reset, .alert, .tick], 1, 1),
        // A new alert fails the window and records the intent at once.
        ([.alert, .tick, .created, .alert, .tick], 1, 1),
        // Inconclusive, however long, never restores.
        ([.inconclusive, .inconclusive, .inconclusive, .tick, .inconclusive, .tick], 0, 0),
        ([.pass, .inconclusive, .pass, .tick], 0, 0),
        // A manual request after an automatic restore is refused.
        ([.broken, .tick, .created, .manual, .tick], 1, 1),
    ]

    @Test(arguments: restoreStories)
    func aWindowIsRestoredAtMostOnceAndNeverOnInconclusive(story: (steps: [MachineStep], intents: Int, creates: Int)) {
        let (machine, actions) = run(story.steps, on: machine())
        #expect(intents(actions) == story.intents, "\(story.steps)")
        #expect(createRestores(actions) == story.creates, "\(story.steps)")
        if story.intents == 0 { #expect(machine.record.restore == nil) }
    }

    @Test(arguments: [RestoreMode.manual, .dryRun])
    func otherModesNeverCreateARestoreOnTheirOwn(mode: RestoreMode) {
        let (machine, actions) = run([.broken, .tick, .tick, .alert, .tick], on: machine(mode: mode))
        #expect(createRestores(actions) == 0)
        #expect(machine.record.memory.verdict == .fail)
        #expect(machine.record.restore?.phase == (mode == .dryRun ? .dryRun : nil))
    }

    // MARK: Sticky fail

    static let stickyStories: [[MachineStep]] = [
        [.broken, .pass, .pass, .pass],
        [.broken, .inconclusive, .pass],
        [.alert, .pass, .pass],
        [.broken, .tick, .pass, .created, .completed, .pass],
    ]

    @Test(arguments: stickyStories)
    func failIsStickyUntilAReset(steps: [MachineStep]) {
        let (failed, _) = run(steps, on: machine())
        #expect(failed.record.memory.verdict == .fail)
        let (reset, _) = run([.reset], on: failed)
        #expect(reset.record.memory.verdict == .pending)
    }

    // MARK: Fail and intent are one write

    @Test(arguments: [MachineStep.broken, .alert])
    func theFailAndItsRestoreIntentAreOneWriteAndTheRequestComesAfter(cause: MachineStep) {
        let (machine, actions) = run([.pass, cause], on: machine())
        let lastPersist = actions.compactMap { if case .persist(let write) = $0 { write } else { nil } }.last
        let written = lastPersist?.record
        #expect(written?.memory.verdict == .fail)
        #expect(written?.restore?.phase == .intent, "the intent travels with the fail")
        #expect(createRestores(actions) == 0, "no request in the same step as the decision")
        #expect(machine.record.restore?.phase == .intent)
    }

    @Test func aFailedWriteIsRetriedBeforeAnyRestoreIsRequested() {
        let (machine, actions) = run([.broken, .persistFailed, .tick], on: machine())
        #expect(createRestores(actions) == 0, "the intent is not durable yet")
        guard case .persist(.update(let record, _))? = actions.last else {
            Issue.record("the tick retries the write: \(actions)")
            return
        }
        #expect(record.restore?.phase == .intent && record.memory.verdict == .fail)
        #expect(createRestores(run([.tick], on: machine).actions) == 1)
    }

    // MARK: No automatic restore before the backup completed

    static let unfinishedBackups: [BackupPhase] = [.unknown, .new, .inProgress, .waitingForPluginOperations, .finalizing]

    @Test(arguments: unfinishedBackups)
    func aWindowFailingBeforeItsBackupCompletedFailsAtOnceWithoutAnAutomaticRestore(phase: BackupPhase) {
        let (machine, actions) = run([.broken, .tick, .backupCompleted, .tick, .tick], on: machine(backup: phase))
        #expect(machine.record.memory.verdict == .fail, "fail at once, not pending")
        #expect(machine.record.memory.failReasons.contains { $0.contains("no automatic restore") && $0.contains("Completed") })
        #expect(machine.record.restore == nil && createRestores(actions) == 0)
        // Once the backup is Completed an operator may restore from it.
        let (manual, manualActions) = run([.manual, .tick], on: machine)
        #expect(manual.record.restore?.mode == .manual && createRestores(manualActions) == 1)
    }

    @Test(arguments: unfinishedBackups)
    func aManualRestoreWaitsForTheBackupToComplete(phase: BackupPhase) {
        let actions = run([.broken, .manual], on: machine(backup: phase)).actions
        #expect(actions.contains { if case .reject(.noUsableBackup) = $0 { true } else { false } })
    }

    @Test(arguments: [BackupPhase.failed, .partiallyFailed, .failedValidation, .deleting, .gone])
    func aFailedBackupFailsTheWindowAndNothingIsRestored(phase: BackupPhase) {
        let (machine, actions) = run([.pass, .tick, .tick], on: machine(backup: phase))
        #expect(machine.record.memory.verdict == .fail)
        #expect(machine.record.memory.failReasons.contains { $0.contains("pre-upgrade backup failed") })
        #expect(machine.record.restore == nil && createRestores(actions) == 0)
    }

    @Test func aWindowWithoutVeleroOnlyJudges() {
        let (machine, actions) = run([.broken, .tick, .manual], on: machine(backup: nil, mode: nil))
        #expect(machine.record.memory.verdict == .fail && machine.record.restore == nil && createRestores(actions) == 0)
        #expect(actions.contains(.reject(.noVelero)))
    }

    // MARK: Ownership

    static let ownership: [(owner: WindowOwner, actor: WindowActor, allowed: Bool)] = [
        (.pipeline, .pipeline("ci"), true),
        (.pipeline, .canary(namespace: "prod", name: "podinfo"), false),
        (.canary(namespace: "prod", name: "podinfo"), .canary(namespace: "prod", name: "podinfo"), true),
        (.canary(namespace: "prod", name: "podinfo"), .canary(namespace: "staging", name: "podinfo"), false),
        (.canary(namespace: "prod", name: "podinfo"), .canary(namespace: "prod", name: "other"), false),
        (.canary(namespace: "prod", name: "podinfo"), .pipeline("on-call"), true),
        (.object(namespace: "prod", name: "w"), .canary(namespace: "prod", name: "w"), false),
        (.object(namespace: "prod", name: "w"), .object(namespace: "prod", name: "w"), true),
        (.canary(namespace: "prod", name: "podinfo"), .gate, true),
    ]

    @Test(arguments: ownership)
    func onlyTheOwnerOrTheWindowsScopeChangesAWindow(row: (owner: WindowOwner, actor: WindowActor, allowed: Bool)) {
        let events: [WindowMachine.Event] = [
            .close(reason: "done", by: row.actor, at: 5), .reset(by: row.actor, note: nil, at: 5),
            .hookEvent(message: "x", details: [:], by: row.actor, at: 5),
        ]
        for event in events {
            var machine = machine(owner: row.owner)
            let actions = machine.receive(event)
            let refused = actions.contains { if case .reject(.notOwner) = $0 { true } else { false } }
            #expect(refused == !row.allowed, "\(event)")
            if refused { #expect(actions.count == 1 && machine.record.isOpen, "a refusal changes nothing") }
        }
    }

    // MARK: Supersede by owner identity

    static let supersede: [(owner: WindowOwner, superseded: [String])] = [
        (.canary(namespace: "prod", name: "podinfo"), ["old-canary-window"]),
        (.canary(namespace: "prod", name: "other"), []),
        (.pipeline, []),
    ]

    @Test(arguments: supersede)
    func aNewRevisionSupersedesOnlyItsOwnCanarysWindows(row: (owner: WindowOwner, superseded: [String])) {
        func window(_ id: String, _ name: String, _ owner: WindowOwner) -> WindowRecord {
            WindowRecord(id: id, request: WindowRequest(name: name), checks: [], openedAt: 0, soak: 0, duration: 60, owner: owner)
        }
        let open = [
            window("a", "old-canary-window", .canary(namespace: "prod", name: "podinfo")),
            // Its name starts like the canary's auto windows; a pipeline owns it.
            window("b", "podinfo-prod-upgrade", .pipeline),
            window("c", "podinfo-prod-abc", .canary(namespace: "staging", name: "podinfo")),
            window("new", "podinfo-prod-def", row.owner),
        ]
        #expect(windowsSuperseded(by: row.owner, opening: "new", among: open).map(\.name) == row.superseded)
    }

    // MARK: Close and reset during an in-flight evaluation

    @Test(arguments: ["close", "reset"])
    func anEvaluationStartedBeforeACloseOrResetIsDropped(change: String) {
        var machine = machine()
        let started = machine.generation
        _ = machine.receive(
            change == "close" ? .close(reason: "done", by: .pipeline("ci"), at: 5) : .reset(by: .pipeline("ci"), note: nil, at: 5)
        )
        let actions = machine.receive(evaluation(.broken, at: 10, generation: started))
        #expect(actions.isEmpty, "a result for a window that changed meanwhile is not evidence")
        #expect(machine.record.memory.verdict == .pending && machine.record.restore == nil)
    }

    // MARK: Resume

    @Test func aFailWithoutItsIntentGetsItAtStart() {
        var failed = record(backup: .completed)
        failed.memory.verdict = .fail
        failed.memory.failedAt = 50
        failed.memory.failReasons = ["check errors broken"]
        var machine = WindowMachine(record: failed, settings: settings(), restoreName: "r")
        let actions = machine.receive(.resumed(at: 100))
        #expect(machine.record.restore?.phase == .intent)
        #expect(actions.contains { if case .persist(.update(let record, _)) = $0 { record.restore?.phase == .intent } else { false } })
        #expect(createRestores(run([.tick], on: machine).actions) == 1)
    }

    @Test(arguments: [RestoreMode.manual, .dryRun])
    func resumeAddsNoIntentOutsideAutoMode(mode: RestoreMode) {
        var failed = record(backup: .completed)
        failed.memory.verdict = .fail
        failed.memory.failedAt = 50
        var machine = WindowMachine(record: failed, settings: settings(mode), restoreName: "r")
        _ = machine.receive(.resumed(at: 100))
        #expect(machine.record.restore == nil)
    }

    @Test func resumeAddsNoIntentWhenTheBackupCompletedAfterTheFail() {
        var failed = record(backup: .completed)
        failed.backup?.finishedAt = 80
        failed.memory.verdict = .fail
        failed.memory.failedAt = 50
        var machine = WindowMachine(record: failed, settings: settings(), restoreName: "r")
        _ = machine.receive(.resumed(at: 100))
        #expect(machine.record.restore == nil)
    }

    @Test(arguments: [RestorePhase.intent, .new, .inProgress])
    func anUnfinishedRestoreContinuesAfterAStart(phase: RestorePhase) {
        var restore = RestoreState(name: "r", phase: phase, mode: .auto, intentAt: 1, reason: "x")
        if phase != .intent { restore.requestedAt = 2 }
        var machine = WindowMachine(record: record(restore: restore), settings: settings(), restoreName: "r")
        #expect(machine.receive(.resumed(at: 100)).contains(.wakeEscape))
        let next = machine.receive(.tick(at: 101))
        #expect(
            next.contains(
                phase == .intent
                    ? .createRestore(
                        RestoreOrder(
                            name: "r",
                            backupName: "podinfo-upgrade-abcde-pre",
                            namespaces: ["prod"],
                            window: "podinfo-upgrade",
                            windowID: "abcde"
                        )
                    ) : .pollRestore(name: "r")
            )
        )
    }

    // MARK: Following the Restore

    @Test(arguments: [RestorePhase.deleting, .failed, .completed])
    func aTerminalOrDeletedRestoreIsNoLongerPolled(phase: RestorePhase) {
        var (machine, _) = run([.broken, .tick, .created], on: machine())
        let observed = machine.receive(.restoreObserved(phase, failureReason: nil, errors: 0, warnings: 0, at: 100))
        #expect(observed.contains { if case .persist(.update(_, let events)) = $0 { !events.isEmpty } else { false } }, "a clear event")
        let next = machine.receive(.tick(at: 110))
        #expect(!next.contains(.pollRestore(name: "podinfo-upgrade-abcde-rollback")))
        #expect(!machine.hasEscapeWork)
    }

    @Test func aVanishedRestoreIsNoLongerPolled() {
        var (machine, _) = run([.broken, .tick, .created], on: machine())
        _ = machine.receive(.restoreGone(at: 100))
        #expect(machine.record.restore?.phase == .gone && !machine.hasEscapeWork)
        #expect(!machine.receive(.tick(at: 110)).contains { if case .pollRestore = $0 { true } else { false } })
    }

    @Test func aFinishedRestoreIsVerifiedAgainstTheImagesAtOpen() {
        var start = record()
        start.imagesAtOpen = [RecordedImage(kind: "Deployment", namespace: "prod", name: "podinfo", container: "app", image: "podinfo:6.5.0")]
        var (machine, _) = run([.broken, .tick, .created], on: WindowMachine(record: start, settings: settings(verify: true), restoreName: "r"))
        let observed = machine.receive(.restoreObserved(.completed, failureReason: nil, errors: 0, warnings: 0, at: 100))
        #expect(observed.contains(.verifyImages(namespaces: ["prod"])))
        _ = machine.receive(
            .imagesRead([RecordedImage(kind: "Deployment", namespace: "prod", name: "podinfo", container: "app", image: "podinfo:6.6.0")], at: 101)
        )
        #expect(machine.record.restore?.notRolledBack?.count == 1)
        #expect(!machine.hasEscapeWork)
    }

    // MARK: Staleness and duration

    static let staleness: [(steps: [MachineStep], at: Double, verdict: Verdict)] = [
        ([.pass], 40, .pending),
        ([.pass], 51, .inconclusive),
        ([.broken], 500, .fail),
        ([.pass, .pass, .pass, .pass, .pass, .pass, .pass], 90, .pass),
        ([.pass, .pass, .pass, .pass, .pass, .pass, .pass], 500, .inconclusive),
    ]

    @Test(arguments: staleness)
    func aStaleVerdictIsInconclusiveExceptAStickyFail(row: (steps: [MachineStep], at: Double, verdict: Verdict)) {
        let (machine, _) = run(row.steps, on: machine())
        #expect(machine.verdict(at: row.at) == row.verdict)
    }

    @Test func aTickRepublishesWhenTheVerdictGoesStale() {
        var (machine, _) = run([.pass], on: machine())
        #expect(!machine.receive(.tick(at: 30)).contains(.publish))
        #expect(machine.receive(.tick(at: 100)).contains(.publish))
        #expect(!machine.receive(.tick(at: 110)).contains(.publish), "published once, not every tick")
    }

    @Test func aFollowersTickRepublishesAStaleVerdictAndDoesNothingElse() {
        var (machine, _) = run([.pass], on: machine())
        #expect(machine.receive(.followerTick(at: 30)).isEmpty)
        #expect(machine.receive(.followerTick(at: 100)) == [.publish])
        #expect(machine.receive(.followerTick(at: 110)).isEmpty, "published once")
        // Past its duration too: only the leader closes it.
        #expect(machine.receive(.followerTick(at: 7200)).isEmpty)
        #expect(machine.record.isOpen)
    }

    @Test func aVerdictGoingStaleIsWrittenToTheAuditTrailOnce() {
        var (machine, _) = run([.pass], on: machine())
        let stale = machine.receive(.tick(at: 100))
        let events = stale.compactMap { action -> [WindowEvent]? in if case .persist(.events(let events)) = action { events } else { nil } }
        #expect(events.count == 1)
        let event = events.first?.first
        #expect(event?.kind == .stale && event?.details["state"] == "stale", "\(String(describing: event))")
        #expect(event?.message.contains("pollers get inconclusive instead of pending") == true, "\(String(describing: event))")
        let again = machine.receive(.tick(at: 110))
        #expect(!again.contains { if case .persist = $0 { true } else { false } }, "once per stale spell, not every tick")
        // The next evaluation ends the spell in its own write.
        let fresh = machine.receive(evaluation(.pass, at: 120, generation: machine.generation))
        let written = fresh.compactMap { action -> [WindowEvent]? in
            if case .persist(.evaluation(_, _, let events)) = action { events } else { nil }
        }
        #expect(written.first?.contains { $0.kind == .stale && $0.details["state"] == "fresh" } == true, "\(written)")
    }

    @Test func aFollowerThatPublishedTheStaleAnswerStillWritesItOnceItLeads() {
        var (machine, _) = run([.pass], on: machine())
        #expect(machine.receive(.followerTick(at: 100)) == [.publish])
        let leading = machine.receive(.tick(at: 101))
        #expect(leading.contains { if case .persist(.events(let events)) = $0 { events.first?.kind == .stale } else { false } })
    }

    @Test func anEvaluationThatTookLongIsFreshFromWhenItFinished() {
        // Interval 10 s (stale after 30 s): an evaluation at 100 that took 25 s is fresh until 155, not 130.
        var machine = machine()
        _ = machine.receive(.evaluated(.init(at: 100, seconds: 25, generation: machine.generation, outcomes: [outcome("errors", .pass)])))
        #expect(!machine.isStale(at: 150))
        #expect(machine.isStale(at: 156))
    }

    @Test func aResetIsFreshInTheStoreAsInTheMachine() {
        var (machine, _) = run([.broken], on: machine())
        _ = machine.receive(.reset(by: .pipeline("ops"), note: nil, at: 500))
        #expect(machine.record.resetAt == 500)
        // What a replica or a restarted gate builds from the stored record is fresh from the reset, not the opening.
        #expect(WindowMachine.freshSince(record: machine.record, lastEvaluation: nil) == 500)
        #expect(!machine.isStale(at: 520))
    }

    @Test func theWindowClosesItselfWhenItsDurationEnds() {
        var machine = machine()
        let actions = machine.receive(.tick(at: 3600))
        #expect(actions.contains(.closed) && !machine.record.isOpen && machine.record.closeReason == "duration ended")
    }

    /// A window opened with several replicas: its Backup awaited, for the leader to create.
    static func awaiting() -> (machine: WindowMachine, actions: [WindowAction]) {
        WindowMachine.open(
            record(backup: .unknown),
            baseline: WindowBaseline(capturedAt: 0, start: 0, end: 0, checks: [:]),
            settings: settings(),
            restoreName: "r",
            by: .pipeline("ci"),
            message: "opened",
            backupByLeader: true
        )
    }

    @Test func withSeveralReplicasTheLeadersTickCreatesTheBackupTheAdmittingReplicaRecorded() {
        var (machine, actions) = Self.awaiting()
        func creates(_ actions: [WindowAction]) -> Bool { actions.contains { if case .createBackup = $0 { true } else { false } } }
        func polls(_ actions: [WindowAction]) -> Bool { actions.contains { if case .pollBackup = $0 { true } else { false } } }
        // Admission creates nothing in Velero: it writes the window with its Backup awaited.
        #expect(!creates(actions))
        let inserted = actions.compactMap { action -> WindowRecord? in if case .persist(.insert(let record, _, _)) = action { record } else { nil } }
        #expect(inserted.first?.backup?.awaitingCreation == true)
        // The leader's tick creates it, once at a time, and again after a failure.
        let first = machine.receive(.tick(at: 1))
        #expect(creates(first) && !polls(first))
        #expect(!creates(machine.receive(.tick(at: 2))), "one create in flight")
        _ = machine.receive(.backupCreateFailed(error: "503", at: 3))
        #expect(creates(machine.receive(.tick(at: 4))), "retried")
        // Created: written down, then followed like any Backup.
        let created = machine.receive(.backupCreated(at: 5))
        let written = created.compactMap { action -> WindowRecord? in if case .persist(.update(let record, _)) = action { record } else { nil } }
        #expect(written.first?.backup?.awaitingCreation == nil)
        let next = machine.receive(.tick(at: 6))
        #expect(polls(next) && !creates(next))
    }

    @Test func anAwaitedBackupIsGivenUpOnceTheGateNoLongerHoldsTheUpgradeBackForIt() {
        // waitTimeout is 900 s (the default): after that the upgrade may go ahead, and a Backup then would hold it.
        var machine = Self.awaiting().machine
        let late = machine.receive(.tick(at: 901))
        #expect(!late.contains { if case .createBackup = $0 { true } else { false } })
        #expect(machine.record.backup?.phase == .failed && machine.record.backup?.awaitingCreation == nil)
        #expect(machine.receive(.tick(at: 902)).allSatisfy { if case .pollBackup = $0 { false } else { true } }, "not followed")
        // A required backup that failed fails the window, and nothing is restored without a usable one.
        let actions = machine.receive(evaluation(.pass, at: 910, generation: machine.generation))
        #expect(machine.record.memory.verdict == .fail)
        #expect(machine.record.restore == nil && !actions.contains { if case .createRestore = $0 { true } else { false } })
    }

    @Test func aWindowThatFailsBeforeItsBackupExistsNeverGetsOne() {
        var machine = Self.awaiting().machine
        _ = machine.receive(evaluation(.broken, at: 20, generation: machine.generation))
        #expect(machine.record.memory.verdict == .fail)
        #expect(!machine.receive(.tick(at: 21)).contains { if case .createBackup = $0 { true } else { false } })
        #expect(machine.record.backup?.phase == .failed)
    }

    @Test func aBackupCreatedOnlyAfterTheFailIsNoRollbackPoint() {
        var machine = Self.awaiting().machine
        #expect(machine.receive(.tick(at: 11)).contains { if case .createBackup = $0 { true } else { false } })
        // The window fails while the create is in flight.
        _ = machine.receive(evaluation(.broken, at: 20, generation: machine.generation))
        _ = machine.receive(.backupCreated(at: 21))
        #expect(machine.record.backup?.phase == .failed, "given up, though it exists")
        #expect(!machine.receive(.tick(at: 22)).contains { if case .pollBackup = $0 { true } else { false } })
        #expect(machine.record.restore == nil)
    }

    @Test func aWindowClosedBeforeItsBackupWasCreatedCreatesNone() {
        var machine = Self.awaiting().machine
        _ = machine.receive(.close(reason: "done", by: .pipeline("ci"), at: 1))
        #expect(!machine.receive(.tick(at: 2)).contains { if case .createBackup = $0 { true } else { false } })
    }

    @Test func openingCreatesTheBackupBeforeTheOneWrite() {
        let (_, actions) = WindowMachine.open(
            record(backup: .unknown),
            baseline: WindowBaseline(capturedAt: 0, start: 0, end: 0, checks: [:]),
            settings: settings(),
            restoreName: "r",
            by: .canary(namespace: "prod", name: "podinfo"),
            message: "opened"
        )
        let backup = actions.firstIndex { if case .createBackup = $0 { true } else { false } }
        let insert = actions.firstIndex { if case .persist(.insert) = $0 { true } else { false } }
        #expect(backup != nil && insert != nil && backup! < insert!)
    }
}
