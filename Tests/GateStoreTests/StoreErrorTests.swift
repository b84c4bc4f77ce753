import Foundation
import GRDB
import GateCore
import Testing

@testable import GateStore

@Suite struct StoreErrors {
    @Test func aPathInAMissingDirectoryIsUnwritableAndNamesThePath() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.path("no/such/dir/state.sqlite")
        do {
            _ = try GateStore(path: path)
            Issue.record("opened a store in a missing directory")
        } catch {
            #expect(error.label == "unwritable")
            #expect(error.description.contains(path))
            #expect(error.description.contains("the directory \(scratch.path("no/such/dir")) does not exist"))
            #expect(error.description.contains("mkdir -p"))
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.path("no")))
    }

    @Test func aDirectoryAsThePathIsUnwritableAndNamesThePath() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        do {
            _ = try GateStore(path: scratch.url.path)
            Issue.record("opened a directory as a store")
        } catch {
            #expect(error.label == "unwritable")
            #expect(error.description.contains("\(scratch.url.path): it is a directory"))
        }
    }

    @Test func aFileThatIsNotADatabaseIsADatabaseErrorNamingThePath() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.path("upgrade-gate.yaml")
        try Data(String(repeating: "listen: 0.0.0.0:8080\nstate: ./upgrade-gate.sqlite\n", count: 100).utf8).write(to: URL(fileURLWithPath: path))
        do {
            _ = try GateStore(path: path)
            Issue.record("opened a YAML file as a store")
        } catch {
            #expect(error.label == "database")
            #expect(error.description.contains(path))
            #expect(error.description.contains("not a healthy SQLite database"))
        }
    }

    /// One way a row can be damaged by hand, and the call that reads it.
    struct CorruptRow: Sendable, CustomTestStringConvertible {
        var table: String
        var id: String
        var sql: String
        var read: @Sendable (GateStore) async throws(StoreError) -> Void
        var testDescription: String { "\(table) row \(id): \(sql)" }
    }

    static let corruptRows: [CorruptRow] = [
        CorruptRow(table: "window", id: "w", sql: #"UPDATE "window" SET record = '{"id": "w", "request": 42}'"#) { store throws(StoreError) in
            _ = try await store.openWindows()
        },
        CorruptRow(table: "window", id: "w", sql: #"UPDATE "window" SET record = 42"#) { store throws(StoreError) in
            _ = try await store.window(named: "cert-manager")
        },
        CorruptRow(table: "baseline", id: "w", sql: "UPDATE baseline SET baseline = 'not json at all'") { store throws(StoreError) in
            _ = try await store.window(id: "w")
        },
        CorruptRow(table: "baseline", id: "w", sql: "DELETE FROM baseline") { store throws(StoreError) in
            _ = try await store.windows(includeClosed: true, limit: 10)
        },
        CorruptRow(table: "evaluation", id: "1", sql: "UPDATE evaluation SET evaluation = x'FFFE00'") { store throws(StoreError) in
            _ = try await store.evaluations(windowID: "w", limit: 10)
        },
        CorruptRow(table: "evaluation", id: "1", sql: #"UPDATE evaluation SET evaluation = '{"at": "yesterday"}'"#) { store throws(StoreError) in
            _ = try await store.window(id: "w")
        },
        CorruptRow(table: "event", id: "1", sql: "UPDATE event SET event = '{}'") { store throws(StoreError) in
            _ = try await store.events(windowID: "w", limit: 10)
        },
        CorruptRow(table: "window", id: "w", sql: #"UPDATE "window" SET record = 'garbage'"#) { store throws(StoreError) in
            try await store.recordEvaluation(windowID: "w", Fixture.evaluation(at: Fixture.t0), memory: GateMemory(), events: [])
        },
    ]

    @Test(arguments: corruptRows)
    func aCorruptRowIsACorruptRecordErrorNamingTableAndIdNotACrash(_ corruption: CorruptRow) async throws {
        try await withStore { (store, scratch) async throws in
            try await store.insertWindow(Fixture.record(id: "w", name: "cert-manager"), baseline: Fixture.baseline(), event: Fixture.event())
            try await store.recordEvaluation(windowID: "w", Fixture.evaluation(at: Fixture.t0 + 15), memory: GateMemory(), events: [])
            let raw = try rawConnection(scratch.path())
            try await raw.write { db in try db.execute(sql: corruption.sql) }
            try raw.close()

            let error = await expectStoreError("corrupt_record") { try await corruption.read(store) }
            #expect(error?.description.contains("row \(corruption.id) of table \(corruption.table) cannot be decoded") == true, "\(error!)")
            #expect(error?.description.contains(scratch.path()) == true)
            // The store keeps serving everything else.
            #expect(try await store.countOpenWindows() == 1)
        }
    }

    @Test func everyLabelIsOneOfTheBoundedSet() {
        let errors: [StoreError] = [
            .nameTaken("a"),
            .notFound("window id \"x\""),
            .database(path: "/p", operation: "reading", detail: "SQLite error 5: database is locked", hint: ""),
            .corruptRecord(path: "/p", table: "event", id: "7", detail: "missing key \"kind\""),
            .unwritable(path: "/p", reason: "the disk is full", hint: "free space"),
        ]
        #expect(errors.map(\.label) == ["name_taken", "not_found", "database", "corrupt_record", "unwritable"])
        #expect(errors.filter(\.isNameTaken).count == 1)
        #expect(errors.filter(\.isNotFound).count == 1)
        #expect(errors[2].description == "state database /p: reading failed: SQLite error 5: database is locked")
    }
}
