import Foundation
import GRDB
import GateCore

/// Which windows a list asks for.
public enum WindowStateFilter: String, Sendable, Equatable, CaseIterable {
    /// Only windows not yet closed.
    case open
    /// Only closed windows.
    case closed
}

/// What the window list shows of one window: its record and the checks failing in its last evaluation, read
/// without decoding its baseline or its evaluations.
public struct WindowSummary: Sendable, Equatable {
    /// The window's record, with the gate's memory as last persisted.
    public var record: WindowRecord
    /// Names of the checks whose last status was `fail` or `failing`, sorted.
    public var failing: [String]
    /// How many of the window's oldest events were dropped by `retention.eventsPerWindow`.
    public var eventsDropped: Int

    /// Creates a summary.
    public init(record: WindowRecord, failing: [String], eventsDropped: Int = 0) {
        self.record = record
        self.failing = failing
        self.eventsDropped = eventsDropped
    }
}

/// What one pruning pass removed.
public struct PruneReport: Sendable, Equatable {
    /// Closed windows removed, with their baselines, evaluations and events.
    public var closedWindows: Int
    /// Events removed beyond `eventsPerWindow` (counted on their windows).
    public var events: Int
    /// Alert groups removed.
    public var alertGroups: Int

    /// Creates a report.
    public init(closedWindows: Int = 0, events: Int = 0, alertGroups: Int = 0) {
        self.closedWindows = closedWindows
        self.events = events
        self.alertGroups = alertGroups
    }
}

/// Whether the store can take writes now, and if not, why (for `/readyz`).
public struct StoreHealth: Sendable, Equatable {
    /// True when a write of a typical request would fit and the probe write committed.
    public var writable: Bool
    /// Why not, for people; empty when writable.
    public var reason: String

    /// Creates a health reading.
    public init(writable: Bool, reason: String = "") {
        self.writable = writable
        self.reason = reason
    }
}

extension GateStore {
    // MARK: - Summaries

    /// Up to `limit` windows, newest opened first, as summaries; `state` nil means open and closed.
    ///
    /// Reads the window rows and, through SQLite's JSON functions, only the statuses of each window's newest
    /// evaluation: no baseline is read and no evaluation is decoded.
    public func windowSummaries(state: WindowStateFilter?, limit: Int) async throws(StoreError) -> [WindowSummary] {
        guard limit > 0 else { return [] }
        let coding = coding
        return try await read("listing window summaries") { db in
            let filter =
                switch state {
                case nil: ""
                case .open?: " WHERE w.closedAt IS NULL"
                case .closed?: " WHERE w.closedAt IS NOT NULL"
                }
            let sql = """
                SELECT w.id AS id, w.record AS record, w.eventsDropped AS eventsDropped,
                    (SELECT json_group_array(s.key) FROM json_each(e.evaluation, '$.statuses') s
                        WHERE s.value IN ('fail', 'failing')) AS failing
                FROM "window" w
                LEFT JOIN evaluation e ON e.id = (SELECT id FROM evaluation WHERE windowID = w.id ORDER BY id DESC LIMIT 1)
                \(filter)
                ORDER BY w.openedAt DESC, w.rowid DESC LIMIT ?
                """
            return try Row.fetchAll(db, sql: sql, arguments: [limit]).map { row in
                let id: String = row["id"]
                let record = try coding.decode(WindowRecord.self, from: row["record"], table: "window", id: id)
                let failingText: String? = row["failing"]
                let failing = failingText.flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? []
                return WindowSummary(record: record, failing: failing.sorted(), eventsDropped: row["eventsDropped"])
            }
        }
    }

    /// How many of a window's oldest events were dropped by `eventsPerWindow`; 0 for an unknown window.
    public func eventsDropped(windowID: String) async throws(StoreError) -> Int {
        try await read("reading the dropped-event count of window id \(windowID)") { db in
            try Int.fetchOne(db, sql: #"SELECT eventsDropped FROM "window" WHERE id = ?"#, arguments: [windowID]) ?? 0
        }
    }

    // MARK: - Retention

    /// Removes closed windows that closed before `closedBefore` (with their baselines, evaluations and events),
    /// every window's events beyond `eventsPerWindow` (counted on the window), and alert groups last updated
    /// before `alertGroupsBefore`, in one transaction.
    ///
    /// - Important: Never removes an open window, nor anything of one but its oldest events beyond the limit, nor a
    ///   closed window whose restore has not reached a final phase.
    nonisolated(nonsending) public func prune(closedBefore: Double, alertGroupsBefore: Double) async throws(StoreError) -> PruneReport {
        let keep = eventsPerWindow
        return try await write("pruning old windows, events and alert groups") { db in
            var report = PruneReport()
            // Foreign keys cascade to baseline, evaluation and event.
            // A closed window whose restore is still under way is kept whatever its age: its intent must survive.
            try db.execute(
                sql: #"""
                    DELETE FROM "window" WHERE closedAt IS NOT NULL AND closedAt < ?
                      AND NOT (json_extract(record, '$.restore') IS NOT NULL
                               AND json_extract(record, '$.restore.phase') NOT IN (\#(terminalRestorePhasesSQL)))
                    """#,
                arguments: [closedBefore]
            )
            report.closedWindows = db.changesCount
            let crowded = try String.fetchAll(
                db,
                sql: "SELECT windowID FROM event GROUP BY windowID HAVING COUNT(*) > ?",
                arguments: [keep]
            )
            for windowID in crowded {
                report.events += try dropOldEvents(db, windowID: windowID, keep: keep)
            }
            try db.execute(sql: "DELETE FROM alert_group WHERE receivedAt < ?", arguments: [alertGroupsBefore])
            report.alertGroups = db.changesCount
            return report
        }
    }

    // MARK: - Readiness

    /// Whether the store can be written now: enough room for a request of `headroomBytes` (SQLite's page limit
    /// and the file system's free space), and a one-row probe write commits.
    ///
    /// Cheap enough to run every few seconds: two pragmas, one `statvfs` and one tiny committed write.
    public func health(headroomBytes: Int) async -> StoreHealth {
        let path = path
        do {
            return try await pool.write { db -> StoreHealth in
                let pageSize = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 4096
                let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
                let maxPages = try Int.fetchOne(db, sql: "PRAGMA max_page_count") ?? Int.max
                let free = try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
                let room = (maxPages - pages + free).multipliedReportingOverflow(by: pageSize)
                if !room.overflow, room.partialValue < headroomBytes {
                    return StoreHealth(writable: false, reason: "the state store is full (SQLite max_page_count reached)")
                }
                if let available = availableBytes(besides: path), available < Int64(headroomBytes) {
                    return StoreHealth(writable: false, reason: "the state store's file system has \(available) bytes free")
                }
                try db.execute(
                    sql: "INSERT INTO store_probe (id, at) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET at = excluded.at",
                    arguments: [Date().timeIntervalSince1970]
                )
                return StoreHealth(writable: true)
            }
        } catch {
            return StoreHealth(
                writable: false,
                reason: "the state store cannot be written: \(StoreError.wrapping(error, path: path, operation: "probing"))"
            )
        }
    }
}

/// Bytes available to this process on the file system holding `path`; nil when it cannot be told.
private func availableBytes(besides path: String) -> Int64? {
    var info = statvfs()
    let directory = (path as NSString).deletingLastPathComponent
    guard statvfs(directory.isEmpty ? "." : directory, &info) == 0 else { return nil }
    return Int64(info.f_bavail) * Int64(info.f_frsize)
}
