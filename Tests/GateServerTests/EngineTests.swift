import Foundation
import GateCore
import GateSources
import GateStore
import GateTestKit
import Testing

@testable import GateServer

// The engine's safety rules, in-process: real engine and SQLite store, scripted Prometheus, fake Velero, manual
// clock. Each test is one story an operator would notice.

@Suite struct EngineTests {
    /// Opens the window, lets its backup complete and its soak pass.
    private func passingWindow(_ gate: InProcessGate) async throws {
        try await gate.open()
        await gate.step(4)
        #expect(await gate.window()?.record.memory.verdict == .pass)
    }

    private func waitForRestore(_ gate: InProcessGate, _ phase: RestorePhase, rounds: Int = 10) async -> RestoreState? {
        for _ in 0..<rounds where await gate.window()?.record.restore?.phase != phase { await gate.reconcile() }
        return await gate.window()?.record.restore
    }

    @Test func aFailedWindowIsRestoredExactlyOnceEvenAfterResetAndANewFail() async throws {
        let gate = try await InProcessGate.start()
        defer { gate.remove() }
        try await passingWindow(gate)
        gate.prometheus.set(.value(0.9))
        await gate.step()
        #expect(await gate.window()?.record.memory.verdict == .fail)
        #expect(await waitForRestore(gate, .completed)?.phase == .completed)
        #expect(gate.velero?.restores.count == 1)
        _ = try await gate.engine.reset("podinfo-upgrade", by: .pipeline("test"), note: nil)
        await gate.step(3)
        #expect(await gate.window()?.record.memory.verdict == .fail)
        #expect(gate.velero?.restores.count == 1, "a window is restored once")
        #expect(gate.velero?.restores.first?.backupName == gate.velero?.backupNames.first)
    }

    @Test func inconclusiveNeverRestores() async throws {
        let gate = try await InProcessGate.start()
        defer { gate.remove() }
        try await passingWindow(gate)
        gate.prometheus.set(.down)
        await gate.step(5)
        #expect(await gate.window()?.record.memory.verdict == .inconclusive)
        #expect(gate.velero?.restores.isEmpty == true)
    }

    @Test func failIsStickyWhenTheChecksRecover() async throws {
        let gate = try await InProcessGate.start(restore: "manual")
        defer { gate.remove() }
        try await passingWindow(gate)
        gate.prometheus.set(.value(0.9))
        await gate.step()
        gate.prometheus.set(.value(0.1))
        await gate.step(5)
        #expect(try gate.gate()["verdict"] as? String == "fail")
        #expect(gate.velero?.restores.isEmpty == true, "manual mode waits for the operator")
    }

    /// Stops the store after every possible number of writes once the window starts failing, restarts the gate on
    /// the same state file, and checks the one Restore still happens, exactly once.
    @Test(arguments: 0..<6)
    func aCrashBetweenAnyTwoWritesOfAFailStillRestoresExactlyOnce(writesBeforeCrash: Int) async throws {
        let gate = try await InProcessGate.start()
        defer { gate.remove() }
        try await passingWindow(gate)
        gate.store.abort(afterWrites: writesBeforeCrash)
        gate.prometheus.set(.value(0.9))
        await gate.step()
        await gate.reconcile(3)
        // The process dies here; whatever was written is all the next one knows.
        let restarted = try await gate.restart()
        for _ in 0..<8 where await restarted.window()?.record.restore?.phase != .completed { await restarted.step() }
        #expect(await restarted.window()?.record.restore?.phase == .completed, "after \(writesBeforeCrash) writes")
        #expect(gate.velero?.restores.count == 1, "one Restore object, however many attempts")
    }

    @Test func aStateWithAFailButNoRestoreIntentGetsItAtStart() async throws {
        let gate = try await InProcessGate.start()
        defer { gate.remove() }
        try await passingWindow(gate)
        // What an older version could leave behind: the fail persisted, the intent not.
        guard var record = await gate.window()?.record else { throw TestKitError("no window") }
        record.memory.verdict = .fail
        record.memory.failedAt = gate.clock.now()
        record.memory.failReasons = ["check \"error-ratio\" broken"]
        try await gate.store.base.apply(.update(record, []), windowID: record.id)
        let restarted = try await gate.restart()
        #expect(await restarted.window()?.record.restore?.phase == .intent)
        #expect(await waitForRestore(restarted, .completed)?.phase == .completed)
        #expect(gate.velero?.restores.count == 1)
    }

    @Test func aWindowFailingBeforeItsBackupCompletedIsNotRestoredAutomaticallyButMayBeByHand() async throws {
        let velero = FakeVelero()
        velero.scriptBackups([.inProgress, .inProgress, .inProgress, .completed])
        let gate = try await InProcessGate.start(velero: velero)
        defer { gate.remove() }
        try await gate.open()
        gate.prometheus.set(.value(0.9))
        await gate.step()
        let body = try gate.gate()
        #expect(body["verdict"] as? String == "fail", "fail at once, not pending")
        #expect((body["reasons"] as? [String])?.contains { $0.contains("no automatic restore") } == true, "\(body)")
        try await gate.routes { client in
            let answer1 = try await client.call(.post, "/api/v1/windows/podinfo-upgrade/restore")
            #expect(answer1.status == 409, "the backup is not Completed yet")
        }
        await gate.reconcile(6)
        #expect(await gate.window()?.record.backup?.phase == .completed)
        #expect(velero.restores.isEmpty, "no automatic restore from a backup that completed after the fail")
        try await gate.routes { client in
            let answer2 = try await client.call(.post, "/api/v1/windows/podinfo-upgrade/restore")
            #expect(answer2.status == 202)
        }
        #expect(await waitForRestore(gate, .completed)?.mode == .manual)
        #expect(velero.restores.count == 1)
    }

    @Test func aDeletedRestoreIsNoLongerFollowed() async throws {
        let velero = FakeVelero()
        velero.scriptRestores([.inProgress, .inProgress, .inProgress, .inProgress, .completed])
        let gate = try await InProcessGate.start(velero: velero)
        defer { gate.remove() }
        try await passingWindow(gate)
        gate.prometheus.set(.value(0.9))
        await gate.step()
        await gate.reconcile(2)
        velero.deleteRestore("podinfo-upgrade-\(await gate.window()?.record.id ?? "")-rollback")
        await gate.reconcile(2)
        #expect(await gate.window()?.record.restore?.phase == .gone)
        let events = try await gate.engine.events(named: "podinfo-upgrade", limit: 50) ?? []
        #expect(events.contains { $0.message.contains("no longer followed") })
    }

    @Test func anUnfinishedRestoreBehindManyNewerClosedWindowsContinuesAfterARestart() async throws {
        let velero = FakeVelero()
        velero.scriptRestores(Array(repeating: .inProgress, count: 8) + [.completed])
        let gate = try await InProcessGate.start(velero: velero)
        defer { gate.remove() }
        try await passingWindow(gate)
        gate.prometheus.set(.value(0.9))
        await gate.step()
        await gate.reconcile()
        let id = try #require(await gate.window()?.record.id)
        let before = try #require(await gate.window()?.record.restore)
        #expect(!before.phase.isTerminal, "still running when the window is closed: \(before.phase)")
        _ = try await gate.engine.close("podinfo-upgrade", reason: "the pipeline gave up", by: .pipeline("test"))
        // More newer closed windows than the start-up list of recent ones holds.
        gate.prometheus.set(.value(0.1))
        for index in 0..<60 {
            try await gate.open("later-\(index)")
            _ = try await gate.engine.close("later-\(index)", reason: "done", by: .pipeline("test"))
        }
        let restarted = try await gate.restart()
        await restarted.reconcile(12)
        let window = try #require(await restarted.window())
        #expect(window.record.id == id)
        #expect(window.record.restore?.phase == .completed, "the restore is followed to its end after the restart")
        #expect(velero.restores.count == 1)
    }

    @Test func noRestoreIsCreatedWhileItsIntentIsBeingWrittenNorAfterTheWriteFailed() async throws {
        let gate = try await InProcessGate.start(restore: "manual")
        defer { gate.remove() }
        try await passingWindow(gate)
        gate.prometheus.set(.value(0.9))
        await gate.step()
        #expect(await gate.window()?.record.memory.verdict == .fail)
        gate.store.holdWrites()
        let request = Task { try await gate.engine.requestManualRestore("podinfo-upgrade", by: .pipeline("test")) }
        try await eventually("the intent's write is waiting") { gate.store.heldWrites == 1 }
        // The escape loop runs while the write is in flight: it must not act on an intent that is not durable.
        let loop = Task { await gate.reconcile(2) }
        try await Task.sleep(for: .milliseconds(50))
        #expect(gate.velero?.restoreCreateCalls == 0)
        gate.store.releaseWrites(failing: true)
        await #expect(throws: APIError.self) { try await request.value }
        await loop.value
        await gate.reconcile(2)
        #expect(gate.velero?.restoreCreateCalls == 0, "the caller was told nothing changed: no Restore may exist")
        #expect(await gate.window()?.record.restore == nil)
    }

    @Test func confirmRolloutRefusesACanaryWhoseRequiredBackupFailed() async throws {
        let velero = FakeVelero()
        velero.scriptBackups([.failed])
        let gate = try await InProcessGate.start(velero: velero)
        defer { gate.remove() }
        try await gate.routes { client in
            let first = try await client.call(.post, "/api/v1/flagger/confirm-rollout", hook("podinfo", checksum: "a"))
            #expect(first.status == 403, "waiting for the backup: \(first)")
        }
        await gate.reconcile(3)
        try await gate.routes { client in
            // No evaluation ran since the backup failed: the refusal must not wait for one.
            let answer = try await client.call(.post, "/api/v1/flagger/confirm-rollout", hook("podinfo", checksum: "a"))
            #expect(answer.status == 403 && answer.body.contains("backup failed"), "\(answer)")
        }
    }

    @Test func aWindowThatFailedUnderManualIsNotRestoredWhenTheGateRestartsInAuto() async throws {
        let directory = try TemporaryDirectory("engine-test")
        let velero = FakeVelero()
        let gate = try await InProcessGate.start(restore: "manual", directory: directory, velero: velero)
        try await passingWindow(gate)
        gate.prometheus.set(.value(0.9))
        await gate.step()
        #expect(await gate.window()?.record.memory.verdict == .fail)
        let restarted = try await InProcessGate.start(
            restore: "auto",
            directory: directory,
            prometheus: gate.prometheus,
            velero: velero,
            clock: gate.clock
        )
        defer { restarted.remove() }
        await restarted.reconcile(3)
        #expect(await restarted.window()?.record.restore == nil, "the operator chose not to restore under manual")
        #expect(velero.restoreCreateCalls == 0)
    }

    @Test func anAlertThatCouldNotBeStoredFailsTheWindowAtOnceWhenAlertmanagerRetries() async throws {
        let gate = try await InProcessGate.start(restore: nil)
        defer { gate.remove() }
        try await passingWindow(gate)
        let notification = #"""
            {"version":"4","groupKey":"{}:{alertname=EtcdNoLeader}","receiver":"upgrade-gate","status":"firing",
             "alerts":[{"status":"firing","labels":{"alertname":"EtcdNoLeader","severity":"critical"},"annotations":{},
                        "startsAt":"2026-12-03T00:00:00Z","endsAt":"0001-01-01T00:00:00Z"}]}
            """#
        gate.store.abort(afterWrites: 0)
        try await gate.routes { client in
            let refused = try await client.call(.post, "/api/v1/alertmanager", notification)
            #expect(refused.status == 503, "\(refused.body)")
        }
        #expect((try gate.gate())["verdict"] as? String == "pass", "a notification that was not stored changed nothing")
        gate.store.resumeWrites()
        try await gate.routes { client in
            let accepted = try await client.call(.post, "/api/v1/alertmanager", notification)
            #expect(accepted.status == 200, "\(accepted)")
        }
        #expect((try gate.gate())["verdict"] as? String == "fail", "the retry fails the window at once, without an evaluation")
    }

    @Test func aWindowWhoseDurationEndsWithoutAFreshEvaluationClosesInconclusiveNotPass() async throws {
        let gate = try await InProcessGate.start(restore: nil)
        defer { gate.remove() }
        try await passingWindow(gate)
        // The gate was down: the next thing it does is notice that the hour is over.
        gate.clock.advance(by: 2 * 3600)
        await gate.reconcile()
        let window = try #require(await gate.window())
        #expect(!window.record.isOpen)
        #expect(window.record.memory.verdict == .inconclusive, "a pass nobody confirmed for an hour is not a final pass")
    }

    // MARK: Ownership and supersede

    private func hook(_ name: String, checksum: String, window: String? = nil, extra: String = "") -> String {
        let metadata = (window.map { #""window":"\#($0)""# } ?? "") + extra
        return #"{"name":"\#(name)","namespace":"prod","phase":"Progressing","checksum":"\#(checksum)","metadata":{\#(metadata)}}"#
    }

    @Test func flaggerMayNotCloseAWindowAPipelineOpened() async throws {
        let gate = try await InProcessGate.start(restore: nil)
        defer { gate.remove() }
        try await gate.open()
        try await gate.routes { client in
            let answer = try await client.call(.post, "/api/v1/flagger/post-rollout", hook("podinfo", checksum: "a", window: "podinfo-upgrade"))
            #expect(answer.status == 403, "\(answer)")
            let answer3 = try await client.call(.post, "/api/v1/flagger/event", hook("podinfo", checksum: "a", window: "podinfo-upgrade"))
            #expect(answer3.status == 403)
            // Reading is allowed.
            let answer4 = try await client.call(.post, "/api/v1/flagger/rollout", hook("podinfo", checksum: "a", window: "podinfo-upgrade"))
            #expect(answer4.status == 200)
        }
        #expect(await gate.window()?.record.isOpen == true)
    }

    @Test func aPipelineMayCloseAWindowACanaryOpened() async throws {
        let gate = try await InProcessGate.start(restore: nil)
        defer { gate.remove() }
        try await gate.routes { client in
            let answer5 = try await client.call(.post, "/api/v1/flagger/confirm-rollout", hook("podinfo", checksum: "a"))
            #expect(answer5.status == 200)
            let window = "podinfo-prod-a"
            let answer6 = try await client.call(.post, "/api/v1/windows/\(window)/close")
            #expect(answer6.status == 200)
        }
    }

    @Test func aNewRevisionSupersedesOnlyItsOwnCanarysWindow() async throws {
        let gate = try await InProcessGate.start(restore: nil)
        defer { gate.remove() }
        // A pipeline's window whose name starts like the canary's auto windows.
        try await gate.open("podinfo-prod-upgrade")
        try await gate.routes { client in
            let answer7 = try await client.call(.post, "/api/v1/flagger/confirm-rollout", hook("podinfo", checksum: "a"))
            #expect(answer7.status == 200)
            let answer8 = try await client.call(.post, "/api/v1/flagger/confirm-rollout", hook("podinfo", checksum: "b"))
            #expect(answer8.status == 200)
        }
        #expect(await gate.window("podinfo-prod-a")?.record.isOpen == false, "the old revision is superseded")
        #expect(await gate.window("podinfo-prod-b")?.record.isOpen == true)
        #expect(await gate.window("podinfo-prod-upgrade")?.record.isOpen == true, "another owner's window is left alone")
    }

    // MARK: Admission

    @Test func prometheusDownAtOpenIs503AndCreatesNothing() async throws {
        let gate = try await InProcessGate.start()
        defer { gate.remove() }
        gate.prometheus.set(.down)
        try await gate.routes { client in
            let answer = try await client.call(.post, "/api/v1/windows", #"{"name":"podinfo-upgrade","namespaces":["prod"]}"#)
            #expect(answer.status == 503, "\(answer)")
            let hook = try await client.call(.post, "/api/v1/flagger/confirm-rollout", hook("podinfo", checksum: "a"))
            #expect(hook.status == 403 && !hook.body.contains("scripted") && !hook.body.contains("127.0.0.1"), "no upstream detail: \(hook)")
        }
        #expect(gate.velero?.backupNames.isEmpty == true, "no orphan Backup")
        #expect(try await gate.engine.windows(includeClosed: true).isEmpty)
    }

    @Test(arguments: [#""namespace":"*""#, #""namespace":"a..b""#, #""namespace":"kube-system/x""#])
    func aHookGoesThroughTheSameValidationAsTheAPI(namespace: String) async throws {
        let gate = try await InProcessGate.start()
        defer { gate.remove() }
        let body = #"{"name":"podinfo",\#(namespace),"phase":"Progressing","checksum":"a","metadata":{}}"#
        try await gate.routes { client in
            // Refused as malformed (400 naming the field) before any decision is made: nothing is opened.
            let answer = try await client.call(.post, "/api/v1/flagger/confirm-rollout", body)
            #expect(answer.status == 400 && answer.body.contains("namespace"), "\(answer)")
        }
        #expect(gate.velero?.backupNames.isEmpty == true)
    }

    @Test func confirmRolloutHonoursAutoOpenOffEvenWithANamedWindow() async throws {
        let gate = try await InProcessGate.start(restore: nil, flagger: "{autoOpen: false, requireToken: false}")
        defer { gate.remove() }
        try await gate.routes { client in
            let answer = try await client.call(.post, "/api/v1/flagger/confirm-rollout", hook("podinfo", checksum: "a", window: "canary"))
            #expect(answer.status == 403 && answer.body.contains("autoOpen"), "\(answer)")
        }
        #expect(await gate.window("canary") == nil)
    }

    // MARK: In-flight evaluations, staleness, partial answers

    @Test func aCloseDuringAnEvaluationKeepsTheWindowClosedAndUnjudged() async throws {
        let gate = try await InProcessGate.start()
        defer { gate.remove() }
        try await passingWindow(gate)
        gate.prometheus.set(.blocked)
        let before = gate.prometheus.queries.instant
        let evaluation = Task { await gate.engine.evaluateAll() }
        try await eventually("the evaluation to be waiting on its query") { gate.prometheus.queries.instant > before }
        _ = try await gate.engine.close("podinfo-upgrade", reason: "done", by: .pipeline("test"))
        gate.prometheus.release(with: .value(0.9))
        await evaluation.value
        await gate.reconcile(3)
        let window = await gate.window()
        #expect(window?.record.isOpen == false && window?.record.memory.verdict == .pass)
        #expect(gate.velero?.restores.isEmpty == true)
    }

    @Test func aResetDuringAnEvaluationIsNotUndoneByItsResult() async throws {
        let gate = try await InProcessGate.start(restore: "manual")
        defer { gate.remove() }
        try await passingWindow(gate)
        gate.prometheus.set(.value(0.9))
        await gate.step()
        gate.prometheus.set(.blocked)
        let before = gate.prometheus.queries.instant
        let evaluation = Task { await gate.engine.evaluateAll() }
        try await eventually("the evaluation to be waiting on its query") { gate.prometheus.queries.instant > before }
        _ = try await gate.engine.reset("podinfo-upgrade", by: .pipeline("test"), note: "fixed")
        gate.prometheus.release(with: .value(0.9))
        await evaluation.value
        #expect(await gate.window()?.record.memory.verdict == .pending, "the result of the evaluation started before the reset is dropped")
    }

    @Test func aVerdictWithNoFreshEvaluationIsStaleAndInconclusive() async throws {
        let gate = try await InProcessGate.start(restore: nil)
        defer { gate.remove() }
        try await passingWindow(gate)
        #expect(try gate.gate()["stale"] as? Bool == false)
        gate.clock.advance(by: 4 * InProcessGate.interval)
        await gate.reconcile()
        let body = try gate.gate()
        #expect(body["stale"] as? Bool == true && body["verdict"] as? String == "inconclusive", "\(body)")
        await gate.step()
        #expect(try gate.gate()["verdict"] as? String == "pass")
    }

    @Test func aPartialAnswerIsInconclusiveNeverAFail() async throws {
        let gate = try await InProcessGate.start()
        defer { gate.remove() }
        try await passingWindow(gate)
        gate.prometheus.set(.partial)
        await gate.step(3)
        #expect(await gate.window()?.record.memory.verdict == .inconclusive)
        #expect(gate.velero?.restores.isEmpty == true)
    }

    @Test func aSlowKubernetesAPIDoesNotHoldUpVerdicts() async throws {
        let velero = FakeVelero()
        velero.hangRestoreCreates(1)
        let gate = try await InProcessGate.start(velero: velero)
        defer { gate.remove() }
        try await passingWindow(gate)
        gate.prometheus.set(.value(0.9))
        // The escape loop is stuck on the create; evaluations go on.
        let escape = Task { await gate.engine.reconcile() }
        await gate.engine.evaluateAll()
        #expect(try gate.gate()["verdict"] as? String == "fail")
        await escape.value
        #expect(await waitForRestore(gate, .completed)?.phase == .completed, "the create timed out and was retried")
        #expect(velero.restores.count == 1)
    }
}
