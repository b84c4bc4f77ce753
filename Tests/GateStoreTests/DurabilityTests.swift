import Foundation
import GRDB
import GateCore
import Testing

@testable import GateStore

@Suite struct Durability {
    /// Writes two windows (one closed), three evaluations of the open one, and their events.
    private func populate(_ store: GateStore) async throws {
        try await store.insertWindow(Fixture.record(id: "open", name: "cert-manager"), baseline: Fixture.baseline(), event: Fixture.event())
        try await store.insertWindow(
            Fixture.record(id: "closed", name: "etcd", openedAt: Fixture.t0 - 100, closedAt: Fixture.t0 - 10),
            baseline: Fixture.baseline(openedAt: Fixture.t0 - 100),
            event: Fixture.event(at: Fixture.t0 - 100)
        )
        var memory = GateMemory()
        memory.streaks = ["critical-targets-up": 1]
        for step in 1...3 {
            try await store.recordEvaluation(
                windowID: "open",
                Fixture.evaluation(at: Fixture.t0 + 15 * Double(step)),
                memory: memory,
                events: [Fixture.event(at: Fixture.t0 + 15 * Double(step), .verdict, "evaluation \(step)")]
            )
        }
    }

    /// Everything the store answers, as canonical JSON (NaN-safe), for comparing two stores.
    private func snapshot(_ store: GateStore) async throws -> [String] {
        var parts: [String] = []
        for window in try await store.windows(includeClosed: true, limit: 100) {
            parts.append(try canonicalJSON(window.record))
            parts.append(try canonicalJSON(window.baseline))
            parts.append(try canonicalJSON(window.lastEvaluation))
            parts.append(try canonicalJSON(try await store.events(windowID: window.record.id, limit: 100)))
            parts.append(try canonicalJSON(try await store.evaluations(windowID: window.record.id, limit: 100)))
        }
        parts.append(try canonicalJSON(try await store.openWindows().map(\.record.id)))
        return parts
    }

    @Test func reopeningTheSameFileRestoresEverything() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let first = try GateStore(path: scratch.path())
        try await populate(first)
        let before = try await snapshot(first)
        try first.close()

        let second = try GateStore(path: scratch.path())
        defer { try? second.close() }
        #expect(try await snapshot(second) == before)
        #expect(try await second.openWindows().first?.record.memory.streaks == ["critical-targets-up": 1])
        #expect(try await second.events(windowID: "open", limit: 1).first?.message == "evaluation 3")
        #expect(before.count == 11)
    }

    @Test func aSecondStoreSeesEveryCommittedWriteWhileTheFirstIsStillOpen() async throws {
        try await withStore { (first, scratch) async throws in
            try await populate(first)
            // Not closed, not checkpointed: the writes may live only in the WAL file, which readers consult.
            let second = try GateStore(path: scratch.path())
            defer { try? second.close() }
            #expect(try await snapshot(second) == snapshot(first))

            // And the other way round, while both stay open.
            try await second.appendEvents(windowID: "open", [Fixture.event(at: Fixture.t0 + 99, .flagger, "written by the second store")])
            #expect(try await first.events(windowID: "open", limit: 1).first?.message == "written by the second store")
        }
    }

    @Test func theFilesAKilledProcessLeavesBehindHoldEveryCommittedWrite() async throws {
        // kill -9 leaves the database, -wal and -shm files exactly as they are, with no close and no checkpoint;
        // copying them while the store is still open produces that state without killing the test process.
        try await withStore { (store, scratch) async throws in
            try await populate(store)
            let expected = try await snapshot(store)
            let crashed = try ScratchDirectory()
            defer { crashed.remove() }
            for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: scratch.path() + suffix) {
                try FileManager.default.copyItem(atPath: scratch.path() + suffix, toPath: crashed.path() + suffix)
            }
            #expect(FileManager.default.fileExists(atPath: crashed.path() + "-wal"))

            let recovered = try GateStore(path: crashed.path())
            defer { try? recovered.close() }
            #expect(try await snapshot(recovered) == expected)
            let raw = try rawConnection(crashed.path())
            #expect(try await raw.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") } == "ok")
        }
    }

    @Test func migrationsRunOnceAndReopeningIsIdempotent() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        for round in 0..<3 {
            let store = try GateStore(path: scratch.path())
            #expect(try await store.appliedMigrations() == ["v1-windows-baselines-evaluations-events", "v2-alert-groups", "v3-retention-and-probe"])
            if round == 0 {
                try await store.insertWindow(Fixture.record(id: "w", name: "cert-manager"), baseline: Fixture.baseline(), event: Fixture.event())
            }
            #expect(try await store.countOpenWindows() == 1)
            try store.close()
        }
        let raw = try rawConnection(scratch.path())
        #expect(try await raw.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM grdb_migrations") } == 3)
        let tables = try await raw.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'grdb%' ORDER BY name")
        }
        #expect(tables == ["alert_group", "baseline", "evaluation", "event", "store_probe", "window"])
    }

    @Test func opensInWALModeWithForeignKeysAndABusyTimeout() async throws {
        try await withStore { (store, _) async throws in
            #expect(try await store.writerPragma("journal_mode") == "wal")
            #expect(try await store.writerPragma("synchronous") == "1")  // NORMAL
            #expect(try await store.writerPragma("foreign_keys") == "1")
            #expect(try await store.writerPragma("busy_timeout") == "5000")
        }
    }

    @Test func refusesAFileWrittenByANewerUpgradeGate() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        try GateStore(path: scratch.path()).close()
        let raw = try rawConnection(scratch.path())
        try await raw.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v9-restores-with-owners')") }
        try raw.close()
        do {
            _ = try GateStore(path: scratch.path())
            Issue.record("opened a file from a newer schema")
        } catch {
            #expect(error.label == "database")
            #expect(error.description.contains(scratch.path()))
            #expect(error.description.contains("newer upgrade-gate (unknown schema migrations: v9-restores-with-owners)"))
        }
    }
}

#if os(Linux)
/// A real kill -9: the test binary runs itself as a child that records evaluations in a loop, and is killed with
/// SIGKILL at whatever point it has reached; then the parent opens the file and checks what survived.
@Suite struct KilledWriter {
    /// Tells the child which database file to write.
    static let pathVariable = "GATE_STORE_KILLED_WRITER_PATH"
    /// Tells the child where to acknowledge each commit, one `committed N` line at a time.
    static let progressVariable = "GATE_STORE_KILLED_WRITER_PROGRESS"

    /// The number in the last complete `committed N` line of the child's progress file.
    private func lastAcknowledged(_ progressPath: String) -> Int {
        guard let text = try? String(contentsOfFile: progressPath, encoding: .utf8) else { return 0 }
        // A line cut short by the kill has no newline yet and does not count.
        let complete = text.hasSuffix("\n") ? Substring(text) : text[..<(text.lastIndex(of: "\n") ?? text.startIndex)]
        return complete.split(separator: "\n").last.flatMap { Int($0.dropFirst("committed ".count)) } ?? 0
    }

    @Test func aWriterKilledWithSIGKILLLosesNoAcknowledgedEvaluationAndLeavesMemoryConsistent() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let progress = scratch.path("progress.txt")
        #expect(FileManager.default.createFile(atPath: progress, contents: nil))
        let setup = try GateStore(path: scratch.path())
        try await setup.insertWindow(Fixture.record(id: "w", name: "cert-manager"), baseline: Fixture.baseline(), event: Fixture.event())
        try setup.close()

        let child = Process()
        child.executableURL = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        child.arguments = ["--testing-library", "swift-testing", "--filter", "recordEvaluationsUntilKilledAsTheChildProcess"]
        child.environment = ProcessInfo.processInfo.environment.merging([Self.pathVariable: scratch.path(), Self.progressVariable: progress]) { $1 }
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        try child.run()
        let deadline = Date().addingTimeInterval(120)
        while lastAcknowledged(progress) < 150, child.isRunning, Date() < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        #expect(child.terminationReason == .uncaughtSignal)
        let acknowledged = lastAcknowledged(progress)
        #expect(acknowledged >= 150)

        let store = try GateStore(path: scratch.path())
        defer { try? store.close() }
        let window = try #require(try await store.window(id: "w"))
        let newest = try #require(window.lastEvaluation)
        let step = Int(newest.at - Fixture.t0)
        // Every acknowledged commit survived; at most the one in flight committed without its acknowledgement.
        #expect((acknowledged...acknowledged + 1).contains(step))
        // Evaluation, memory and event were one transaction: they agree, whatever the kill interrupted.
        #expect(window.record.memory.streaks == ["step": step])
        #expect(try await store.events(windowID: "w", limit: 1).first?.message == "step \(step)")
        #expect(try await store.evaluations(windowID: "w", limit: 1000).count == min(step, GateStore.evaluationHistory))
        let raw = try rawConnection(scratch.path())
        #expect(try await raw.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") } == "ok")
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment[pathVariable] != nil, "runs only as the child of the SIGKILL test"))
    func recordEvaluationsUntilKilledAsTheChildProcess() async throws {
        let environment = ProcessInfo.processInfo.environment
        let store = try GateStore(path: try #require(environment[Self.pathVariable]))
        let progress = try FileHandle(forWritingTo: URL(fileURLWithPath: try #require(environment[Self.progressVariable])))
        // Bounded, should the parent die before killing it; generously, so a parent slowed down by a loaded machine
        // still finds it running.
        let deadline = Date().addingTimeInterval(300)
        for step in 1...1_000_000 where Date() < deadline {
            let at = Fixture.t0 + Double(step)
            var memory = GateMemory()
            memory.streaks = ["step": step]
            try await store.recordEvaluation(
                windowID: "w",
                Fixture.evaluation(at: at),
                memory: memory,
                events: [Fixture.event(at: at, .verdict, "step \(step)")]
            )
            try progress.write(contentsOf: Data("committed \(step)\n".utf8))
        }
    }
}
#endif

/// An owner of state (like the gate's engine actor) that changes a window and persists it, many
/// times, without waiting for one write before issuing the next.
private actor Owner {
    let store: GateStore
    var record: WindowRecord

    init(store: GateStore, record: WindowRecord) {
        self.store = store
        self.record = record
    }

    func change(to revision: Int) async {
        record.closeReason = "revision \(revision)"
        let snapshot = record
        try? await store.updateWindow(snapshot, events: [])
    }
}

@Suite struct WriteOrderTests {
    @Test func writesLandInTheOrderTheirOwnerIssuedThem() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let store = try GateStore(path: scratch.path())
        let record = Fixture.record(id: "w", name: "cert-manager")
        try await store.insertWindow(record, baseline: Fixture.baseline(), event: Fixture.event())
        let owner = Owner(store: store, record: record)
        // Tasks started on the owner in order interleave at their awaits; the last change issued must win.
        await withTaskGroup(of: Void.self) { group in
            for revision in 1...300 {
                group.addTask { await owner.change(to: revision) }
            }
        }
        let last = await owner.record.closeReason
        let stored = try await store.window(id: "w")?.record.closeReason
        #expect(stored == last, "the stored record is the owner's latest state")
    }
}
