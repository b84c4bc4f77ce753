import Foundation
import GRDB
import GateCore
import Testing

@testable import GateStore

/// What keeps the store bounded and honest: retention, capped events and messages, summaries that never read a
/// baseline, the one-writer lock and the writability probe.
@Suite struct RetentionStorage {
    @Test func pruningRemovesOldClosedWindowsWithEverythingTheirsAndNeverAnOpenOne() async throws {
        try await withStore { (store, scratch) async throws in
            try await store.insertWindow(Fixture.record(id: "old", name: "old"), baseline: Fixture.baseline(), event: Fixture.event())
            try await store.insertWindow(Fixture.record(id: "recent", name: "recent"), baseline: Fixture.baseline(), event: Fixture.event())
            try await store.insertWindow(Fixture.record(id: "open", name: "open", openedAt: 0), baseline: Fixture.baseline(), event: Fixture.event())
            try await store.recordEvaluation(windowID: "old", Fixture.evaluation(at: Fixture.t0 + 1), memory: GateMemory(), events: [])
            try await store.updateWindow(
                Fixture.record(id: "old", name: "old", closedAt: Fixture.t0 + 10),
                events: [Fixture.event(at: Fixture.t0 + 10)]
            )
            try await store.updateWindow(Fixture.record(id: "recent", name: "recent", closedAt: Fixture.t0 + 500), events: [])
            try await store.recordAlertGroups([
                .init(groupKey: "stale", receivedAt: Fixture.t0, payload: [1]), .init(groupKey: "fresh", receivedAt: Fixture.t0 + 900, payload: [2]),
            ])

            let report = try await store.prune(closedBefore: Fixture.t0 + 100, alertGroupsBefore: Fixture.t0 + 100)
            #expect(report == PruneReport(closedWindows: 1, events: 0, alertGroups: 1))
            #expect(try await store.window(id: "old") == nil)
            #expect(try await store.window(id: "recent") != nil)
            #expect(try await store.window(id: "open") != nil, "an open window is never pruned, however old")
            #expect(try await store.alertGroups().map(\.groupKey) == ["fresh"])
            let orphans = try await rawConnection(scratch.path()).read { db in
                try Int.fetchOne(
                    db,
                    sql:
                        "SELECT (SELECT COUNT(*) FROM baseline WHERE windowID = 'old') + (SELECT COUNT(*) FROM evaluation WHERE windowID = 'old') + (SELECT COUNT(*) FROM event WHERE windowID = 'old')"
                )
            }
            #expect(orphans == 0, "baselines, evaluations and events go with their window")
        }
    }

    @Test func aClosedWindowWhoseRestoreIsUnderWayIsKeptHoweverOld() async throws {
        try await withStore { (store, _) async throws in
            var running = Fixture.record(id: "running", name: "running", closedAt: Fixture.t0 + 10)
            running.restore = RestoreState(name: "running-x-rollback", phase: .inProgress, mode: .auto, intentAt: Fixture.t0 + 5, reason: "fail")
            var done = Fixture.record(id: "done", name: "done", closedAt: Fixture.t0 + 10)
            done.restore = RestoreState(name: "done-x-rollback", phase: .completed, mode: .auto, intentAt: Fixture.t0 + 5, reason: "fail")
            for record in [running, done] {
                try await store.insertWindow(record, baseline: Fixture.baseline(), event: Fixture.event())
            }
            let report = try await store.prune(closedBefore: Fixture.t0 + 100, alertGroupsBefore: Fixture.t0 + 100)
            #expect(report.closedWindows == 1)
            #expect(try await store.window(id: "running") != nil, "an unfinished restore's intent must survive retention")
            #expect(try await store.window(id: "done") == nil)
        }
    }

    @Test func eventsBeyondTheLimitAreDroppedOldestFirstAndCounted() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let store = try GateStore(path: scratch.path(), options: .init(eventsPerWindow: 3))
        defer { try? store.close() }
        try await store.insertWindow(
            Fixture.record(id: "w", name: "w"),
            baseline: Fixture.baseline(),
            event: Fixture.event(at: Fixture.t0, .opened, "e0")
        )
        for index in 1...6 {
            try await store.appendEvents(windowID: "w", [Fixture.event(at: Fixture.t0 + Double(index), .flagger, "e\(index)")])
        }
        #expect(try await store.events(windowID: "w", limit: 100).map(\.message) == ["e6", "e5", "e4"])
        #expect(try await store.eventsDropped(windowID: "w") == 4)
    }

    @Test func longEventMessagesAreStoredTruncatedNeverWhole() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let store = try GateStore(path: scratch.path(), options: .init(maxEventMessageBytes: 100))
        defer { try? store.close() }
        let huge = String(repeating: "é", count: 100_000)
        try await store.insertWindow(
            Fixture.record(id: "w", name: "w"),
            baseline: Fixture.baseline(),
            event: Fixture.event(at: Fixture.t0, .opened, huge)
        )
        let stored = try #require(try await store.events(windowID: "w", limit: 1).first?.message)
        #expect(stored.utf8.count <= 100 && stored.hasPrefix("éé") && stored.contains("truncated from 200000 bytes"), "\(stored)")
        let bytes = try await rawConnection(scratch.path()).read { db in try Int.fetchOne(db, sql: "SELECT MAX(LENGTH(event)) FROM event") ?? 0 }
        #expect(bytes < 1000, "the row itself is small: \(bytes) bytes")
    }

    @Test func summariesNeverReadABaselineAndFilterByState() async throws {
        try await withStore { (store, scratch) async throws in
            try await store.insertWindow(Fixture.record(id: "a", name: "a"), baseline: Fixture.baseline(), event: Fixture.event())
            try await store.insertWindow(
                Fixture.record(id: "b", name: "b", openedAt: Fixture.t0 + 1),
                baseline: Fixture.baseline(),
                event: Fixture.event()
            )
            var failing = Fixture.evaluation(at: Fixture.t0 + 2)
            failing.statuses = ["critical-targets-up": .fail, "apiserver-error-ratio": .failing, "etcd-leader-changes": .pass]
            try await store.recordEvaluation(windowID: "b", failing, memory: GateMemory(), events: [])
            try await store.updateWindow(Fixture.record(id: "a", name: "a", closedAt: Fixture.t0 + 5), events: [])
            // A baseline no decoder could read: summaries must not notice.
            try await rawConnection(scratch.path()).write { db in try db.execute(sql: "UPDATE baseline SET baseline = 'not json'") }

            let all = try await store.windowSummaries(state: nil, limit: 10)
            #expect(all.map(\.record.id) == ["b", "a"])
            #expect(all[0].failing == ["apiserver-error-ratio", "critical-targets-up"])
            #expect(all[1].failing.isEmpty)
            #expect(try await store.windowSummaries(state: .open, limit: 10).map(\.record.id) == ["b"])
            #expect(try await store.windowSummaries(state: .closed, limit: 10).map(\.record.id) == ["a"])
            #expect(try await store.windowSummaries(state: nil, limit: 1).map(\.record.id) == ["b"])
            _ = await expectStoreError("corrupt_record") { _ = try await store.windows(includeClosed: true, limit: 10) }
        }
    }

    @Test func aSecondLockOnTheSameStateIsRefusedWithTheHoldersPID() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        do {
            let first = try StateLock(statePath: scratch.path())
            withExtendedLifetime(first) {
                do {
                    _ = try StateLock(statePath: scratch.path())
                    Issue.record("a second lock was granted")
                } catch let error as StateLockError {
                    #expect(error.holderPID == getpid())
                    #expect(error.description.contains("pid \(getpid())"), "\(error)")
                } catch {
                    Issue.record("unexpected \(error)")
                }
            }
        }
        // Released with its holder (the kernel drops a flock when its descriptor closes): the next daemon may start.
        try { _ = try StateLock(statePath: scratch.path()) }()
    }

    @Test func aFullStoreIsReportedUnwritableAndRefusesWritesWholly() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let roomy = try GateStore(path: scratch.path())
        #expect(await roomy.health(headroomBytes: 65_536).writable)
        try roomy.close()
        let pages = try await rawConnection(scratch.path()).read { db in try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0 }
        let store = try GateStore(path: scratch.path(), options: .init(maxPageCount: pages + 30))
        defer { try? store.close() }
        var accepted = 0
        var refused = false
        for index in 0..<200 where !refused {
            do {
                try await store.recordAlertGroups([.init(groupKey: "g\(index)", receivedAt: Fixture.t0, payload: Array(repeating: 7, count: 8000))])
                accepted += 1
            } catch {
                refused = true
                #expect(error.label == "unwritable" || error.label == "database", "\(error)")
            }
        }
        #expect(refused && accepted > 0, "accepted \(accepted)")
        let health = await store.health(headroomBytes: 65_536)
        #expect(!health.writable && health.reason.contains("full"), "\(health)")
        #expect(try await store.alertGroups().count == accepted, "the refused write left nothing behind")
    }
}
