import Foundation
import GateCore
import Testing

@testable import GateStore

@Suite struct EvaluationStorage {
    /// A critical check that is broken, or not, in one evaluation.
    private func outcome(broken: Bool) -> CheckOutcome {
        let reason = #"check "critical-targets-up": series {instance="10.0.0.1:9402"} value 0 is below min 1"#
        let series = SeriesOutcome(
            labels: Labels(["instance": "10.0.0.1:9402"]),
            value: broken ? 0 : 1,
            baseline: 1,
            rule: broken ? "min 1" : nil,
            reason: broken ? reason : nil,
            result: broken ? .broken : .pass
        )
        return CheckOutcome(check: "critical-targets-up", critical: true, result: series.result, series: [series], reasons: broken ? [reason] : [])
    }

    @Test func recordEvaluationKeepsStreaksAndTheStickyFailAcrossARestart() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let policy = GatePolicy(failAfter: 2, warmup: 0, soak: 0)
        var memory = GateMemory()
        var store = try GateStore(path: scratch.path())
        try await store.insertWindow(Fixture.record(id: "w", name: "cert-manager"), baseline: Fixture.baseline(), event: Fixture.event())

        // broken, broken (→ fail), clean (still fail: sticky), each persisted as the evaluation loop would.
        for (step, broken) in [true, true, false].enumerated() {
            let now = Fixture.t0 + 15 * Double(step + 1)
            let decision = decide(previous: memory, outcomes: [outcome(broken: broken)], openedAt: Fixture.t0, now: now, policy: policy)
            let evaluation = EvaluationRecord(
                at: now,
                duration: 0.01,
                verdict: decision.verdict,
                statuses: decision.statuses,
                reasons: decision.reasons,
                soakRemaining: decision.soakRemaining,
                outcomes: [outcome(broken: broken)]
            )
            let events = decision.verdict == memory.verdict ? [] : [Fixture.event(at: now, .verdict, "verdict \(decision.verdict.rawValue)")]
            try await store.recordEvaluation(windowID: "w", evaluation, memory: decision.memory, events: events)
            memory = decision.memory

            let stored = try #require(try await store.window(id: "w"))
            #expect(stored.record.memory == memory)
            #expect(stored.lastEvaluation == evaluation)
        }
        #expect(memory.verdict == .fail)
        #expect(memory.streaks["critical-targets-up"] == 0)
        #expect(memory.failedAt == Fixture.t0 + 30)

        // The restart: a new store on the same file sees the sticky fail and the audit trail.
        try store.close()
        store = try GateStore(path: scratch.path())
        defer { try? store.close() }
        let restored = try #require(try await store.openWindows().first)
        #expect(restored.record.memory == memory)
        #expect(restored.record.memory.failReasons.first?.contains("below min 1") == true)
        #expect(restored.lastEvaluation?.verdict == .fail)
        #expect(try await store.events(windowID: "w", limit: 10).map(\.message) == ["verdict fail", "window opened"])
        #expect(try await store.evaluations(windowID: "w", limit: 10).map(\.at) == [Fixture.t0 + 45, Fixture.t0 + 30, Fixture.t0 + 15])
    }

    @Test func aFailedRecordEvaluationWritesNeitherEvaluationNorMemoryNorEvents() async throws {
        try await withStore { (store, scratch) async throws in
            try await store.insertWindow(Fixture.record(id: "w", name: "cert-manager"), baseline: Fixture.baseline(), event: Fixture.event())
            // The event insert is the transaction's last statement: make it fail, as a full disk would.
            let raw = try rawConnection(scratch.path())
            try await raw.write { db in
                try db.execute(sql: "CREATE TRIGGER refuse_events BEFORE INSERT ON event BEGIN SELECT RAISE(ABORT, 'disk on fire'); END")
            }
            var memory = GateMemory()
            memory.verdict = .fail
            memory.failReasons = ["a new alert fired"]
            let error = await expectStoreError("database") {
                try await store.recordEvaluation(
                    windowID: "w",
                    Fixture.evaluation(at: Fixture.t0 + 15, verdict: .fail),
                    memory: memory,
                    events: [Fixture.event(at: Fixture.t0 + 15, .verdict, "verdict fail")]
                )
            }
            #expect(error?.description.contains("disk on fire") == true)
            #expect(error?.description.contains(scratch.path()) == true)
            let stored = try #require(try await store.window(id: "w"))
            #expect(stored.record.memory == GateMemory())
            #expect(stored.lastEvaluation == nil)
            #expect(try await store.evaluations(windowID: "w", limit: 10).isEmpty)

            try await raw.write { db in try db.execute(sql: "DROP TRIGGER refuse_events") }
            try raw.close()
            try await store.recordEvaluation(windowID: "w", Fixture.evaluation(at: Fixture.t0 + 15, verdict: .fail), memory: memory, events: [])
            #expect(try await store.window(id: "w")?.record.memory == memory)
        }
    }

    @Test func recordEvaluationOfAMissingWindowIsNotFound() async throws {
        try await withStore { (store, _) async throws in
            let error = await expectStoreError("not_found") {
                try await store.recordEvaluation(
                    windowID: "ghost",
                    Fixture.evaluation(at: Fixture.t0),
                    memory: GateMemory(),
                    events: [Fixture.event()]
                )
            }
            #expect(error == .notFound(#"window id "ghost""#))
            #expect(try await store.evaluations(windowID: "ghost", limit: 10).isEmpty)
        }
    }

    @Test func keepsOnlyTheNewestHundredEvaluationsPerWindow() async throws {
        try await withStore { (store, _) async throws in
            try await store.insertWindow(Fixture.record(id: "busy", name: "busy"), baseline: Fixture.baseline(), event: Fixture.event())
            try await store.insertWindow(Fixture.record(id: "quiet", name: "quiet"), baseline: Fixture.baseline(), event: Fixture.event())
            try await store.recordEvaluation(windowID: "quiet", Fixture.evaluation(at: Fixture.t0), memory: GateMemory(), events: [])
            for index in 0..<130 {
                try await store.recordEvaluation(
                    windowID: "busy",
                    Fixture.evaluation(at: Fixture.t0 + Double(index)),
                    memory: GateMemory(),
                    events: []
                )
            }
            let kept = try await store.evaluations(windowID: "busy", limit: 1000)
            #expect(GateStore.evaluationHistory == 100)
            #expect(kept.count == 100)
            #expect(kept.map(\.at) == (30..<130).reversed().map { Fixture.t0 + Double($0) })
            #expect(try await store.window(id: "busy")?.lastEvaluation?.at == Fixture.t0 + 129)
            // Another window's history is not touched.
            #expect(try await store.evaluations(windowID: "quiet", limit: 1000).count == 1)
            #expect(try await store.evaluations(windowID: "busy", limit: 5).map(\.at) == (125..<130).reversed().map { Fixture.t0 + Double($0) })
        }
    }

    @Test func listsEventsNewestFirstWithEqualTimesNewestAppendedFirst() async throws {
        try await withStore { (store, _) async throws in
            try await store.insertWindow(
                Fixture.record(id: "w", name: "cert-manager"),
                baseline: Fixture.baseline(),
                event: Fixture.event(at: Fixture.t0)
            )
            try await store.appendEvents(
                windowID: "w",
                [
                    Fixture.event(at: Fixture.t0 + 20, .backup, "backup completed"),
                    Fixture.event(at: Fixture.t0 + 10, .backup, "backup started"),  // arrives late, sorts by time
                    Fixture.event(at: Fixture.t0 + 20, .verdict, "verdict pending"),
                ]
            )
            try await store.appendEvents(windowID: "w", [])
            let events = try await store.events(windowID: "w", limit: 10)
            #expect(events.map(\.message) == ["verdict pending", "backup completed", "backup started", "window opened"])
            #expect(events.last == Fixture.event(at: Fixture.t0))
            #expect(try await store.events(windowID: "w", limit: 2).map(\.message) == ["verdict pending", "backup completed"])
        }
    }

    @Test func appendingEventsToAMissingWindowIsNotFound() async throws {
        try await withStore { (store, _) async throws in
            _ = await expectStoreError("not_found") { try await store.appendEvents(windowID: "ghost", [Fixture.event()]) }
        }
    }
}
