import Foundation
import GateCore
import Testing

@testable import GateStore

@Suite struct WindowStorage {
    @Test func roundTripsAWindowAndItsBaselineIncludingNaNAndInfinities() async throws {
        try await withStore { (store, _) async throws in
            let record = Fixture.record(id: "k3x9q2", name: "cert-manager")
            let baseline = Fixture.baseline()
            try await store.insertWindow(record, baseline: baseline, event: Fixture.event())

            let stored = try #require(try await store.window(id: "k3x9q2"))
            #expect(stored.record == record)
            #expect(stored.record.checks[2].maxIncrease == .percent(50))
            #expect(stored.record.checks[2].maxDecrease == .absolute(0.002))
            #expect(stored.record.checks[1].maxIncrease == .absolute(1))
            #expect(stored.lastEvaluation == nil)
            // NaN is never == NaN, so compare the values' canonical JSON, and the special values one by one.
            #expect(try canonicalJSON(stored.baseline) == canonicalJSON(baseline))
            let ratio = try #require(stored.baseline.checks["apiserver-error-ratio"])
            #expect(ratio[0].value.isNaN && ratio[0].min.isNaN && ratio[0].max == .infinity)
            #expect(ratio[1].value == .infinity && ratio[1].min == -.infinity)
            #expect(stored.baseline.checks["critical-targets-up"] == baseline.checks["critical-targets-up"])
        }
    }

    @Test func listsOpenWindowsOldestFirstWithoutClosedOnes() async throws {
        try await withStore { (store, _) async throws in
            try await store.insertWindow(
                Fixture.record(id: "b", name: "newer", openedAt: Fixture.t0 + 60),
                baseline: Fixture.baseline(),
                event: Fixture.event()
            )
            try await store.insertWindow(Fixture.record(id: "a", name: "older"), baseline: Fixture.baseline(), event: Fixture.event())
            let closed = Fixture.record(id: "c", name: "closed", openedAt: Fixture.t0 - 60, closedAt: Fixture.t0)
            try await store.insertWindow(closed, baseline: Fixture.baseline(), event: Fixture.event())

            #expect(try await store.openWindows().map(\.record.id) == ["a", "b"])
            #expect(try await store.countOpenWindows() == 2)
        }
    }

    @Test func listsWindowsNewestOpenedFirstWithinTheLimit() async throws {
        try await withStore { (store, _) async throws in
            for index in 0..<5 {
                let closedAt = index.isMultiple(of: 2) ? Fixture.t0 + 1000 : nil
                let record = Fixture.record(id: "w\(index)", name: "window-\(index)", openedAt: Fixture.t0 + Double(index), closedAt: closedAt)
                try await store.insertWindow(record, baseline: Fixture.baseline(), event: Fixture.event())
            }
            #expect(try await store.windows(includeClosed: true, limit: 3).map(\.record.id) == ["w4", "w3", "w2"])
            #expect(try await store.windows(includeClosed: false, limit: 10).map(\.record.id) == ["w3", "w1"])
            #expect(try await store.windows(includeClosed: true, limit: 0).isEmpty)
        }
    }

    @Test func refusesASecondOpenWindowWithTheSameName() async throws {
        try await withStore { (store, _) async throws in
            try await store.insertWindow(Fixture.record(id: "first", name: "cert-manager"), baseline: Fixture.baseline(), event: Fixture.event())
            let error = await expectStoreError("name_taken") {
                try await store.insertWindow(Fixture.record(id: "second", name: "cert-manager"), baseline: Fixture.baseline(), event: Fixture.event())
            }
            #expect(error == .nameTaken("cert-manager"))
            #expect(error?.isNameTaken == true)
            #expect(error?.description.contains("\"cert-manager\" is already open") == true)
            // Nothing of the refused window was written: no row, no baseline, no event.
            #expect(try await store.window(id: "second") == nil)
            #expect(try await store.events(windowID: "second", limit: 10).isEmpty)
            #expect(try await store.countOpenWindows() == 1)
        }
    }

    @Test func onlyOneOfManyConcurrentOpensWithOneNameSucceedsAcrossTwoStores() async throws {
        // Two stores on one file have two writer connections: only the unique index can keep the rule here.
        try await withStore { (first, scratch) async throws in
            let second = try GateStore(path: scratch.path())
            defer { try? second.close() }
            let results = await withTaskGroup(of: StoreError?.self) { group in
                for index in 0..<8 {
                    let store = index.isMultiple(of: 2) ? first : second
                    group.addTask {
                        do throws(StoreError) {
                            try await store.insertWindow(
                                Fixture.record(id: "id-\(index)", name: "etcd"),
                                baseline: Fixture.baseline(),
                                event: Fixture.event()
                            )
                            return nil
                        } catch {
                            return error
                        }
                    }
                }
                return await group.reduce(into: [StoreError?]()) { $0.append($1) }
            }
            #expect(results.filter { $0 == nil }.count == 1)
            #expect(results.compactMap { $0 }.allSatisfy { $0.isNameTaken })
            #expect(try await first.countOpenWindows() == 1)
        }
    }

    @Test func allowsReusingANameOnceTheFirstWindowIsClosed() async throws {
        try await withStore { (store, _) async throws in
            var first = Fixture.record(id: "first", name: "cert-manager")
            try await store.insertWindow(first, baseline: Fixture.baseline(), event: Fixture.event())
            first.closedAt = Fixture.t0 + 100
            first.closeReason = "closed by API"
            try await store.updateWindow(first, events: [Fixture.event(at: Fixture.t0 + 100, .closed, "window closed")])

            let second = Fixture.record(id: "second", name: "cert-manager", openedAt: Fixture.t0 + 200)
            try await store.insertWindow(second, baseline: Fixture.baseline(), event: Fixture.event(at: Fixture.t0 + 200))

            #expect(try await store.window(id: "first")?.record == first)
            #expect(try await store.window(id: "second")?.record == second)
            #expect(try await store.openWindows().map(\.record.id) == ["second"])
        }
    }

    @Test func windowNamedReturnsTheOpenOneElseTheLatestClosed() async throws {
        try await withStore { (store, _) async throws in
            #expect(try await store.window(named: "cert-manager") == nil)
            let oldest = Fixture.record(id: "oldest", name: "cert-manager", openedAt: Fixture.t0, closedAt: Fixture.t0 + 10)
            let latestClosed = Fixture.record(id: "latest-closed", name: "cert-manager", openedAt: Fixture.t0 + 20, closedAt: Fixture.t0 + 30)
            try await store.insertWindow(latestClosed, baseline: Fixture.baseline(), event: Fixture.event())
            try await store.insertWindow(oldest, baseline: Fixture.baseline(), event: Fixture.event())
            #expect(try await store.window(named: "cert-manager")?.record.id == "latest-closed")

            // An open window wins even over a closed one opened later (clock skew, an imported record).
            let open = Fixture.record(id: "open", name: "cert-manager", openedAt: Fixture.t0 + 5)
            try await store.insertWindow(open, baseline: Fixture.baseline(), event: Fixture.event())
            #expect(try await store.window(named: "cert-manager")?.record.id == "open")
            #expect(try await store.window(named: "other") == nil)
        }
    }

    @Test func updateWindowReplacesTheWholeRecordAndAppendsEvents() async throws {
        try await withStore { (store, _) async throws in
            var record = Fixture.record(id: "w", name: "cert-manager")
            try await store.insertWindow(record, baseline: Fixture.baseline(), event: Fixture.event())
            record.memory.verdict = .fail
            record.memory.failReasons = ["pre-upgrade backup failed"]
            record.memory.failedAt = Fixture.t0 + 5
            try await store.updateWindow(record, events: [])
            #expect(try await store.window(id: "w")?.record.memory.verdict == .fail)

            record.memory.reset()
            record.closedAt = Fixture.t0 + 60
            record.closeReason = "duration ended"
            let reset = WindowEvent(at: Fixture.t0 + 50, kind: .reset, message: "fail cleared by operator", details: ["by": "alice"])
            let closed = Fixture.event(at: Fixture.t0 + 60, .closed, "window closed: duration ended")
            try await store.updateWindow(record, events: [reset, closed])

            let stored = try #require(try await store.window(id: "w"))
            #expect(stored.record == record)
            #expect(stored.baseline.end == Fixture.t0)
            #expect(try await store.events(windowID: "w", limit: 10).map(\.kind) == [.closed, .reset, .opened])
            #expect(try await store.countOpenWindows() == 0)
        }
    }

    @Test func updateWindowOfAMissingIdIsNotFound() async throws {
        try await withStore { (store, _) async throws in
            let error = await expectStoreError("not_found") {
                try await store.updateWindow(Fixture.record(id: "ghost", name: "ghost"), events: [Fixture.event()])
            }
            #expect(error?.isNotFound == true)
            #expect(error?.description == #"window id "ghost" not found"#)
            #expect(try await store.events(windowID: "ghost", limit: 10).isEmpty)
        }
    }

    @Test func reopeningAClosedWindowUnderATakenNameIsNameTaken() async throws {
        try await withStore { (store, _) async throws in
            var closed = Fixture.record(id: "old", name: "cert-manager", closedAt: Fixture.t0 + 10)
            try await store.insertWindow(closed, baseline: Fixture.baseline(), event: Fixture.event())
            try await store.insertWindow(Fixture.record(id: "new", name: "cert-manager"), baseline: Fixture.baseline(), event: Fixture.event())
            closed.closedAt = nil
            let error = await expectStoreError("name_taken") { try await store.updateWindow(closed, events: []) }
            #expect(error == .nameTaken("cert-manager"))
        }
    }
}
