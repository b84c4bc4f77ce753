import Foundation
import GRDB
import GateCore

/// The daemon's durable state in one SQLite file: windows, their pinned baselines, their evaluations and their
/// audit events.
///
/// The file is opened in WAL mode through a GRDB `DatabasePool`: one writer connection serialises every change,
/// and reads run concurrently on reader connections without waiting for writes. Every method runs its SQL on
/// GRDB's own dispatch queues, never on the cooperative thread pool, and every method that changes several rows
/// does so in one transaction.
///
/// - Important: A method that returns without throwing has committed. A process killed afterwards (kill -9,
///   OOM kill) loses nothing; see `init(path:)` for the one case that can lose the newest commits.
public final class GateStore: Sendable {
    /// A window as stored: its record, its pinned baseline and its newest evaluation, if any.
    public struct StoredWindow: Sendable, Equatable {
        /// The window's record, with the gate's memory as last persisted.
        public var record: WindowRecord
        /// The baseline pinned when the window opened.
        public var baseline: WindowBaseline
        /// The newest recorded evaluation; `nil` before the first one.
        public var lastEvaluation: EvaluationRecord?

        /// Creates a stored window.
        public init(record: WindowRecord, baseline: WindowBaseline, lastEvaluation: EvaluationRecord? = nil) {
            self.record = record
            self.baseline = baseline
            self.lastEvaluation = lastEvaluation
        }
    }

    /// How many evaluations are kept per window: older ones are deleted as new ones are recorded.
    public static let evaluationHistory = 100

    /// The database file's path, as given to `init(path:)`.
    public let path: String

    let pool: DatabasePool
    let coding: RecordCoding
    /// Longest stored event message, in UTF-8 bytes; longer ones are truncated before they are written.
    let maxEventMessageBytes: Int
    /// Most events kept per window.
    let eventsPerWindow: Int

    /// Settings a caller may change; the defaults suit the daemon.
    public struct Options: Sendable {
        /// Longest stored event message, in UTF-8 bytes (`limits.maxEventMessageBytes`). Default 4096.
        public var maxEventMessageBytes: Int
        /// Most events kept per window (`retention.eventsPerWindow`); older ones are dropped as new ones are
        /// written, and counted. Default 1000.
        public var eventsPerWindow: Int
        /// SQLite's `max_page_count` for every connection, or `nil` for SQLite's default. Tests use it to make the
        /// store full without filling a disk.
        public var maxPageCount: Int?

        /// Creates options.
        public init(maxEventMessageBytes: Int = 4096, eventsPerWindow: Int = 1000, maxPageCount: Int? = nil) {
            self.maxEventMessageBytes = maxEventMessageBytes
            self.eventsPerWindow = eventsPerWindow
            self.maxPageCount = maxPageCount
        }
    }

    /// Opens (creating if needed) the SQLite file at `path` in WAL mode and brings its schema up to date.
    ///
    /// Blocks while it opens and migrates: call it once, at startup. The file must be on a local file system;
    /// SQLite also creates `<path>-wal` and `<path>-shm` beside it.
    ///
    /// - Important: Durability: WAL mode with `synchronous=NORMAL`. A committed transaction is in the WAL file
    ///   (written with `write(2)`, so in the OS page cache) before the call returns, which a killed process
    ///   cannot lose: kill -9 loses nothing committed. Only an OS crash or power loss can roll back the newest
    ///   commits (never corrupt the file), because the WAL is fsynced at checkpoints rather than at every commit.
    /// - Throws: `StoreError` `unwritable` naming the path when the file or its directory cannot be opened or
    ///   written (missing directory, permissions); `database` when the file is not an SQLite database or was
    ///   written by a newer upgrade-gate.
    public init(path: String, options: Options = Options()) throws(StoreError) {
        var configuration = Configuration()
        configuration.label = "upgrade-gate.store"
        configuration.journalMode = .wal
        configuration.foreignKeysEnabled = true
        // Another process on the same file (an operator's sqlite3, a second instance by mistake) gets this long
        // before SQLITE_BUSY becomes an error.
        configuration.busyMode = .timeout(5)
        // Reads serve the HTTP API's lists, details and events (pollers read verdicts from memory): a few
        // connections are plenty, and each one costs a page cache.
        configuration.maximumReaderCount = 3
        configuration.prepareDatabase { db in
            // GRDB already does this for WAL databases; stated here because durability depends on it (see above).
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            if let pages = options.maxPageCount { try db.execute(sql: "PRAGMA max_page_count = \(pages)") }
        }

        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw StoreError.wrapping(error, path: path, operation: "opening")
        }
        do {
            let unknown = try pool.read { db in try Schema.migrator.appliedIdentifiers(db).subtracting(Schema.migrationIdentifiers) }
            guard unknown.isEmpty else {
                throw StoreError.database(
                    path: path,
                    operation: "opening",
                    detail: "the file was written by a newer upgrade-gate (unknown schema migrations: \(unknown.sorted().joined(separator: ", ")))",
                    hint: "run that version or a newer one, or move the file aside to start with an empty state"
                )
            }
            try Schema.migrator.migrate(pool)
        } catch {
            throw StoreError.wrapping(error, path: path, operation: "migrating the schema")
        }
        self.path = path
        self.pool = pool
        self.coding = RecordCoding(path: path)
        self.maxEventMessageBytes = options.maxEventMessageBytes
        self.eventsPerWindow = max(1, options.eventsPerWindow)
    }

    /// The event as it is stored: its message cut to `maxEventMessageBytes`.
    func bounded(_ event: WindowEvent) -> WindowEvent {
        var event = event
        event.message = truncatedMessage(event.message, maxBytes: maxEventMessageBytes)
        return event
    }

    /// Closes the database connections; any later call fails with a `database` error.
    ///
    /// Optional: the connections also close when the store is released.
    public func close() throws {
        try pool.close()
    }

    // MARK: - Windows

    /// Every open window (`closedAt == nil`), oldest opened first.
    public func openWindows() async throws(StoreError) -> [StoredWindow] {
        let coding = coding
        return try await read("listing open windows") { db in
            try Row.fetchAll(db, sql: StoredWindowRow.select + " WHERE w.closedAt IS NULL ORDER BY w.openedAt, w.rowid")
                .map { try coding.storedWindow($0) }
        }
    }

    /// Persists a new window, its pinned baseline and its first event, in one transaction.
    ///
    /// - Throws: `StoreError.nameTaken` when an open window already has the record's name. A unique index on
    ///   the names of open windows enforces this, so two concurrent opens cannot both succeed.
    nonisolated(nonsending) public func insertWindow(_ record: WindowRecord, baseline: WindowBaseline, event: WindowEvent) async throws(StoreError) {
        let operation = "opening window \(record.name) (id \(record.id))"
        let recordJSON = try coding.encode(record, operation: operation)
        let baselineJSON = try coding.encode(baseline, operation: operation)
        let eventJSON = try coding.encode(bounded(event), operation: operation)
        let path = coding.path
        let keep = eventsPerWindow
        try await write(operation) { db in
            do {
                try db.execute(
                    sql: #"INSERT INTO "window" (id, name, openedAt, closedAt, verdict, record) VALUES (?, ?, ?, ?, ?, ?)"#,
                    arguments: [record.id, record.name, record.openedAt, record.closedAt, record.memory.verdict.rawValue, recordJSON]
                )
            } catch let error as DatabaseError where error.isOpenNameViolation {
                throw StoreError.nameTaken(record.name)
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
                throw StoreError.database(
                    path: path,
                    operation: operation,
                    detail: "a window with id \(record.id) already exists",
                    hint: "window ids must be unique: open the window with a new id"
                )
            }
            try db.execute(
                sql: "INSERT INTO baseline (windowID, capturedAt, baseline) VALUES (?, ?, ?)",
                arguments: [record.id, baseline.capturedAt, baselineJSON]
            )
            try insertEvents(db, windowID: record.id, [(event, eventJSON)], keep: keep)
        }
    }

    /// The open window named `name`, else the most recently opened closed one, else `nil`.
    public func window(named name: String) async throws(StoreError) -> StoredWindow? {
        let coding = coding
        return try await read("reading window \(name)") { db in
            let sql = StoredWindowRow.select + " WHERE w.name = ? ORDER BY w.closedAt IS NULL DESC, w.openedAt DESC, w.rowid DESC LIMIT 1"
            return try Row.fetchOne(db, sql: sql, arguments: [name]).map { try coding.storedWindow($0) }
        }
    }

    /// The window with this id, open or closed, else `nil`.
    public func window(id: String) async throws(StoreError) -> StoredWindow? {
        let coding = coding
        return try await read("reading window id \(id)") { db in
            try Row.fetchOne(db, sql: StoredWindowRow.select + " WHERE w.id = ?", arguments: [id]).map { try coding.storedWindow($0) }
        }
    }

    /// Up to `limit` windows, newest opened first; closed ones only when `includeClosed`.
    public func windows(includeClosed: Bool, limit: Int) async throws(StoreError) -> [StoredWindow] {
        guard limit > 0 else { return [] }
        let coding = coding
        return try await read("listing windows") { db in
            let filter = includeClosed ? "" : " WHERE w.closedAt IS NULL"
            let sql = StoredWindowRow.select + filter + " ORDER BY w.openedAt DESC, w.rowid DESC LIMIT ?"
            return try Row.fetchAll(db, sql: sql, arguments: [limit]).map { try coding.storedWindow($0) }
        }
    }

    /// Replaces a window's whole record (close, reset, memory) and appends events, in one transaction.
    ///
    /// The baseline never changes. Re-opening a closed window (clearing `closedAt`) is subject to the same
    /// one-open-window-per-name rule as `insertWindow`.
    ///
    /// - Throws: `StoreError.notFound` when no window has the record's id; `StoreError.nameTaken` as above.
    nonisolated(nonsending) public func updateWindow(_ record: WindowRecord, events: [WindowEvent]) async throws(StoreError) {
        let operation = "updating window \(record.name) (id \(record.id))"
        let recordJSON = try coding.encode(record, operation: operation)
        let eventRows = try events.map { event throws(StoreError) in (event, try coding.encode(self.bounded(event), operation: operation)) }
        let keep = eventsPerWindow
        try await write(operation) { db in
            try updateRecord(db, record, json: recordJSON)
            try insertEvents(db, windowID: record.id, eventRows, keep: keep)
        }
    }

    /// Counts the open windows (for `limits.maxOpenWindows`).
    public func countOpenWindows() async throws(StoreError) -> Int {
        try await read("counting open windows") { db in
            try Int.fetchOne(db, sql: #"SELECT COUNT(*) FROM "window" WHERE closedAt IS NULL"#) ?? 0
        }
    }

    // MARK: - Evaluations

    /// Records one evaluation of a window in one transaction: appends the evaluation, stores the gate's new
    /// memory in the window's record, and appends the events; then keeps only the newest
    /// `evaluationHistory` evaluations of that window.
    ///
    /// - Important: All or nothing: after a crash the memory (streaks, sticky fail) always matches the last
    ///   recorded evaluation.
    /// - Throws: `StoreError.notFound` when no window has this id (nothing is written).
    nonisolated(nonsending) public func recordEvaluation(
        windowID: String,
        _ evaluation: EvaluationRecord,
        memory: GateMemory,
        events: [WindowEvent]
    ) async throws(StoreError) {
        let operation = "recording an evaluation of window id \(windowID)"
        let coding = coding
        let evaluationJSON = try coding.encode(evaluation, operation: operation)
        let eventRows = try events.map { event throws(StoreError) in (event, try coding.encode(self.bounded(event), operation: operation)) }
        let keep = eventsPerWindow
        try await write(operation) { db in
            guard let row = try Row.fetchOne(db, sql: #"SELECT id, record FROM "window" WHERE id = ?"#, arguments: [windowID]) else {
                throw StoreError.notFound("window id \"\(windowID)\"")
            }
            var record = try coding.decode(WindowRecord.self, from: row["record"], table: "window", id: windowID)
            record.memory = memory
            try updateRecord(db, record, json: try coding.encode(record, operation: operation))
            try db.cachedStatement(sql: "INSERT INTO evaluation (windowID, at, verdict, evaluation) VALUES (?, ?, ?, ?)")
                .execute(arguments: [windowID, evaluation.at, evaluation.verdict.rawValue, evaluationJSON])
            // Everything older than the evaluationHistory-th newest goes; with fewer rows the subquery is NULL and
            // nothing is deleted.
            try db.cachedStatement(
                sql: """
                    DELETE FROM evaluation WHERE windowID = :windowID AND id < (
                        SELECT id FROM evaluation WHERE windowID = :windowID ORDER BY id DESC LIMIT 1 OFFSET :keep
                    )
                    """
            ).execute(arguments: ["windowID": windowID, "keep": Self.evaluationHistory - 1])
            try insertEvents(db, windowID: windowID, eventRows, keep: keep)
        }
    }

    /// Records one evaluation together with the whole record it led to, in one transaction: the verdict, the memory
    /// and (on a transition to fail) the restore intent land together or not at all; then keeps only the newest
    /// `evaluationHistory` evaluations of that window.
    ///
    /// - Throws: `StoreError.notFound` when no window has the record's id (nothing is written).
    nonisolated(nonsending) public func recordEvaluation(
        _ record: WindowRecord,
        _ evaluation: EvaluationRecord,
        events: [WindowEvent]
    )
        async throws(StoreError)
    {
        let operation = "recording an evaluation of window \(record.name) (id \(record.id))"
        let coding = coding
        let recordJSON = try coding.encode(record, operation: operation)
        let evaluationJSON = try coding.encode(evaluation, operation: operation)
        let eventRows = try events.map { event throws(StoreError) in (event, try coding.encode(self.bounded(event), operation: operation)) }
        let keep = eventsPerWindow
        let windowID = record.id
        try await write(operation) { db in
            try updateRecord(db, record, json: recordJSON)
            try db.cachedStatement(sql: "INSERT INTO evaluation (windowID, at, verdict, evaluation) VALUES (?, ?, ?, ?)")
                .execute(arguments: [windowID, evaluation.at, evaluation.verdict.rawValue, evaluationJSON])
            try db.cachedStatement(
                sql: """
                    DELETE FROM evaluation WHERE windowID = :windowID AND id < (
                        SELECT id FROM evaluation WHERE windowID = :windowID ORDER BY id DESC LIMIT 1 OFFSET :keep
                    )
                    """
            ).execute(arguments: ["windowID": windowID, "keep": Self.evaluationHistory - 1])
            try insertEvents(db, windowID: windowID, eventRows, keep: keep)
        }
    }

    /// Closed windows whose restore was intended or requested and has not reached a terminal phase.
    public func unfinishedRestoreWindows() async throws(StoreError) -> [StoredWindow] {
        let coding = coding
        return try await read("listing closed windows with unfinished restores") { db in
            let sql =
                StoredWindowRow.select + """
                     WHERE w.closedAt IS NOT NULL AND json_extract(w.record, '$.restore') IS NOT NULL
                       AND json_extract(w.record, '$.restore.phase') NOT IN (\(terminalRestorePhasesSQL))
                     ORDER BY w.openedAt, w.rowid
                    """
            return try Row.fetchAll(db, sql: sql).map { try coding.storedWindow($0) }
        }
    }

    /// Up to `limit` evaluations of a window, newest recorded first; empty for an unknown window.
    public func evaluations(windowID: String, limit: Int) async throws(StoreError) -> [EvaluationRecord] {
        guard limit > 0 else { return [] }
        let coding = coding
        return try await read("reading the evaluations of window id \(windowID)") { db in
            try Row.fetchAll(
                db,
                sql: "SELECT id, evaluation FROM evaluation WHERE windowID = ? ORDER BY id DESC LIMIT ?",
                arguments: [windowID, limit]
            ).map { row in
                try coding.decode(EvaluationRecord.self, from: row["evaluation"], table: "evaluation", id: describeID(row["id"]))
            }
        }
    }

    // MARK: - Events

    /// Appends events to a window's audit trail, in one transaction, in the given order.
    ///
    /// - Throws: `StoreError.notFound` when no window has this id.
    nonisolated(nonsending) public func appendEvents(windowID: String, _ events: [WindowEvent]) async throws(StoreError) {
        let operation = "appending events to window id \(windowID)"
        let eventRows = try events.map { event throws(StoreError) in (event, try coding.encode(self.bounded(event), operation: operation)) }
        let keep = eventsPerWindow
        try await write(operation) { db in
            guard try Bool.fetchOne(db, sql: #"SELECT 1 FROM "window" WHERE id = ?"#, arguments: [windowID]) != nil else {
                throw StoreError.notFound("window id \"\(windowID)\"")
            }
            try insertEvents(db, windowID: windowID, eventRows, keep: keep)
        }
    }

    /// Up to `limit` events of a window, newest first (by `at`; equal times newest appended first); empty for an
    /// unknown window.
    public func events(windowID: String, limit: Int) async throws(StoreError) -> [WindowEvent] {
        guard limit > 0 else { return [] }
        let coding = coding
        return try await read("reading the events of window id \(windowID)") { db in
            try Row.fetchAll(
                db,
                sql: "SELECT id, event FROM event WHERE windowID = ? ORDER BY at DESC, id DESC LIMIT ?",
                arguments: [windowID, limit]
            ).map { row in
                try coding.decode(WindowEvent.self, from: row["event"], table: "event", id: describeID(row["id"]))
            }
        }
    }

    // MARK: - For tests and diagnostics

    /// The identifiers of the migrations applied to the file, in the order they ran.
    func appliedMigrations() async throws(StoreError) -> [String] {
        try await read("reading the applied migrations") { db in
            try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid")
        }
    }

    /// The value of a pragma on the writer connection (`journal_mode`, `synchronous`, `foreign_keys`, …).
    func writerPragma(_ name: String) async throws(StoreError) -> String {
        do {
            return try await pool.writeWithoutTransaction { db in try String.fetchOne(db, sql: "PRAGMA \(name)") ?? "" }
        } catch {
            throw StoreError.wrapping(error, path: path, operation: "reading PRAGMA \(name)")
        }
    }

    // MARK: - Plumbing

    func read<T: Sendable>(_ operation: String, _ body: @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw StoreError.wrapping(error, path: path, operation: operation)
        }
    }

    /// Runs `body` in a write transaction.
    ///
    /// - Important: writes are applied in the order they are CALLED. The transaction is enqueued on
    ///   GRDB's serial writer synchronously, on the caller's executor (`nonisolated(nonsending)`),
    ///   before the first suspension: an actor that changes its state and then persists it can rely on
    ///   its writes landing in its own order, so a stale whole-record write can never overtake a newer one.
    nonisolated(nonsending) func write<T: Sendable>(
        _ operation: String,
        _ body: @escaping @Sendable (Database) throws -> T
    ) async throws(StoreError) -> T {
        let result: Result<T, any Error> = await withCheckedContinuation { continuation in
            pool.asyncWrite(body) { _, result in continuation.resume(returning: result) }
        }
        switch result {
        case .success(let value): return value
        case .failure(let error): throw StoreError.wrapping(error, path: path, operation: operation)
        }
    }
}

// MARK: - Rows

/// The query behind every `StoredWindow`: the window, its baseline, and its newest evaluation.
private enum StoredWindowRow {
    static let select = """
        SELECT w.id AS id, w.record AS record, b.baseline AS baseline, e.id AS evaluationID, e.evaluation AS evaluation
        FROM "window" w
        LEFT JOIN baseline b ON b.windowID = w.id
        LEFT JOIN evaluation e ON e.id = (SELECT id FROM evaluation WHERE windowID = w.id ORDER BY id DESC LIMIT 1)
        """
}

/// Rewrites a window's row from its record; throws `notFound` when no row has the record's id.
private func updateRecord(_ db: Database, _ record: WindowRecord, json: String) throws {
    do {
        try db.cachedStatement(sql: #"UPDATE "window" SET name = ?, openedAt = ?, closedAt = ?, verdict = ?, record = ? WHERE id = ?"#)
            .execute(arguments: [record.name, record.openedAt, record.closedAt, record.memory.verdict.rawValue, json, record.id])
    } catch let error as DatabaseError where error.isOpenNameViolation {
        throw StoreError.nameTaken(record.name)
    }
    guard db.changesCount > 0 else { throw StoreError.notFound("window id \"\(record.id)\"") }
}

/// Appends already-encoded events to a window, in order, then drops its oldest events beyond `keep`, counting them.
private func insertEvents(_ db: Database, windowID: String, _ events: [(event: WindowEvent, json: String)], keep: Int) throws {
    guard !events.isEmpty else { return }
    let statement = try db.cachedStatement(sql: "INSERT INTO event (windowID, at, kind, event) VALUES (?, ?, ?, ?)")
    for (event, json) in events {
        try statement.execute(arguments: [windowID, event.at, event.kind.rawValue, json])
    }
    try dropOldEvents(db, windowID: windowID, keep: keep)
}

/// Deletes a window's events older than its `keep` newest (by insertion) and adds their number to `eventsDropped`.
@discardableResult
func dropOldEvents(_ db: Database, windowID: String, keep: Int) throws -> Int {
    // With at most `keep` rows the subquery is NULL and nothing is deleted.
    try db.cachedStatement(
        sql: """
            DELETE FROM event WHERE windowID = :windowID AND id < (
                SELECT id FROM event WHERE windowID = :windowID ORDER BY id DESC LIMIT 1 OFFSET :keep
            )
            """
    ).execute(arguments: ["windowID": windowID, "keep": keep - 1])
    let dropped = db.changesCount
    if dropped > 0 {
        try db.execute(sql: #"UPDATE "window" SET eventsDropped = eventsDropped + ? WHERE id = ?"#, arguments: [dropped, windowID])
    }
    return dropped
}

/// A row id for an error message: integer ids as digits, text ids as they are.
private func describeID(_ value: DatabaseValue) -> String {
    switch value.storage {
    case .int64(let id): return String(id)
    case .string(let id): return id
    default: return value.description
    }
}

extension DatabaseError {
    /// True for a violation of the one-open-window-per-name index (SQLite names the indexed column).
    fileprivate var isOpenNameViolation: Bool {
        extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE && (message?.contains("window.name") ?? false)
    }
}

/// JSON for stored records; non-finite numbers use Prometheus' spellings, so NaN and ±Inf survive anywhere.
struct RecordCoding: Sendable {
    /// The database file, for error messages.
    let path: String

    /// Encodes a record as JSON text.
    func encode(_ value: some Encodable, operation: String) throws(StoreError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "+Inf", negativeInfinity: "-Inf", nan: "NaN")
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            throw StoreError.database(path: path, operation: operation, detail: "cannot encode it as JSON: \(error)", hint: "")
        }
    }

    /// Decodes a record from a JSON text (or blob) column; anything else is a `corrupt_record` error naming the
    /// table and row.
    func decode<T: Decodable>(_ type: T.Type, from value: DatabaseValue, table: String, id: String) throws(StoreError) -> T {
        guard let data = Data.fromDatabaseValue(value) else {
            throw StoreError.corruptRecord(path: path, table: table, id: id, detail: "the JSON column holds \(value), not text")
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "+Inf", negativeInfinity: "-Inf", nan: "NaN")
        do {
            return try decoder.decode(T.self, from: data)
        } catch {
            throw StoreError.corruptRecord(path: path, table: table, id: id, detail: describeDecodingFailure(error))
        }
    }

    /// Decodes one row of `StoredWindowRow.select`.
    func storedWindow(_ row: Row) throws(StoreError) -> GateStore.StoredWindow {
        let id = describeID(row["id"])
        let record = try decode(WindowRecord.self, from: row["record"], table: "window", id: id)
        guard record.id == id else {
            throw StoreError.corruptRecord(path: path, table: "window", id: id, detail: "its JSON holds id \(record.id)")
        }
        let baselineValue: DatabaseValue = row["baseline"]
        guard !baselineValue.isNull else {
            throw StoreError.corruptRecord(path: path, table: "baseline", id: id, detail: "the window has no baseline row")
        }
        let baseline = try decode(WindowBaseline.self, from: baselineValue, table: "baseline", id: id)
        let evaluationID: DatabaseValue = row["evaluationID"]
        let lastEvaluation =
            evaluationID.isNull
            ? nil : try decode(EvaluationRecord.self, from: row["evaluation"], table: "evaluation", id: describeID(evaluationID))
        return GateStore.StoredWindow(record: record, baseline: baseline, lastEvaluation: lastEvaluation)
    }
}

/// The restore phases after which nothing more happens (`RestorePhase.isTerminal`), as an SQL list of literals.
let terminalRestorePhasesSQL = RestorePhase.allCases.filter(\.isTerminal).map { "'\($0.rawValue)'" }.joined(separator: ", ")
