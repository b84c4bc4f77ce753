import Foundation
import GRDB

/// Why the state store could not do what was asked: a closed set with a bounded `label` for metrics and a
/// `description` that says what failed, why, and how to fix it.
///
/// The store holds no secrets, and descriptions never include statement arguments (GRDB hides them by
/// default), so a description is safe to log and to return in an API error.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Kind: Sendable, Equatable {
        case nameTaken(name: String)
        case notFound(what: String)
        case database(path: String, operation: String, detail: String, hint: String)
        case corruptRecord(path: String, table: String, id: String, detail: String)
        case unwritable(path: String, reason: String, hint: String)
        case conflict(what: String)
        case tooLarge(what: String)
        case api(operation: String, detail: String)
    }

    private let kind: Kind

    private init(_ kind: Kind) {
        self.kind = kind
    }

    /// An open window already has this name; window names are unique among open windows only.
    public static func nameTaken(_ name: String) -> StoreError {
        StoreError(.nameTaken(name: name))
    }

    /// The thing named by `what` (e.g. `window id "k3x9q2"`) is not in the store.
    public static func notFound(_ what: String) -> StoreError {
        StoreError(.notFound(what: what))
    }

    /// SQLite failed while doing `operation` on the file at `path`.
    static func database(path: String, operation: String, detail: String, hint: String) -> StoreError {
        StoreError(.database(path: path, operation: operation, detail: detail, hint: hint))
    }

    /// A stored row of `table` with id `id` could not be decoded.
    static func corruptRecord(path: String, table: String, id: String, detail: String) -> StoreError {
        StoreError(.corruptRecord(path: path, table: table, id: id, detail: detail))
    }

    /// The database file at `path` cannot be opened or written.
    static func unwritable(path: String, reason: String, hint: String) -> StoreError {
        StoreError(.unwritable(path: path, reason: reason, hint: hint))
    }

    /// Another writer changed the window since it was read (a stale resourceVersion): read it again and decide again.
    public static func conflict(_ what: String) -> StoreError {
        StoreError(.conflict(what: what))
    }

    /// What was asked to be stored does not fit (a baseline with too many series for one object); `why` says how much.
    public static func tooLarge(_ why: String) -> StoreError {
        StoreError(.tooLarge(what: why))
    }

    /// The Kubernetes API refused or failed `operation`; `detail` is the client's description (never a token).
    public static func api(operation: String, detail: String) -> StoreError {
        StoreError(.api(operation: operation, detail: detail))
    }

    /// True when another writer changed the window since it was read.
    public var isConflict: Bool {
        if case .conflict = kind { return true }
        return false
    }

    /// True when what was asked to be stored does not fit (a 400 names the reason).
    public var isTooLarge: Bool {
        if case .tooLarge = kind { return true }
        return false
    }

    /// A bounded label usable as a metric label: `name_taken`, `not_found`, `database`, `corrupt_record`,
    /// `unwritable`, `conflict`, `too_large` or `kubernetes_api`.
    public var label: String {
        switch kind {
        case .nameTaken: return "name_taken"
        case .notFound: return "not_found"
        case .database: return "database"
        case .corruptRecord: return "corrupt_record"
        case .unwritable: return "unwritable"
        case .conflict: return "conflict"
        case .tooLarge: return "too_large"
        case .api: return "kubernetes_api"
        }
    }

    /// True when an open window already has the requested name (an API answers 409).
    public var isNameTaken: Bool {
        if case .nameTaken = kind { return true }
        return false
    }

    /// True when the window (or other thing) asked for is not in the store (an API answers 404).
    public var isNotFound: Bool {
        if case .notFound = kind { return true }
        return false
    }

    /// What failed, why, and how to fix it; open and permission problems name the database file.
    public var description: String {
        switch kind {
        case .nameTaken(let name):
            return "a window named \"\(name)\" is already open: close it first, or open the new window under another name"
        case .notFound(let what):
            return "\(what) not found"
        case .database(let path, let operation, let detail, let hint):
            return "state database \(path): \(operation) failed: \(detail)" + (hint.isEmpty ? "" : "; \(hint)")
        case .corruptRecord(let path, let table, let id, let detail):
            return "state database \(path): row \(id) of table \(table) cannot be decoded (\(detail)); it was written by an "
                + "incompatible upgrade-gate or edited by hand: repair or delete that row (sqlite3 \(path))"
        case .unwritable(let path, let reason, let hint):
            return "cannot open or write the state database \(path): \(reason); \(hint)"
        case .conflict(let what):
            return "\(what): another replica wrote it first"
        case .tooLarge(let why):
            return why
        case .api(let operation, let detail):
            return "Kubernetes API: \(operation) failed: \(detail)"
        }
    }
}

// MARK: - Mapping GRDB and SQLite errors

extension StoreError {
    /// Maps any error thrown by a database access to a store error; store errors pass through unchanged.
    static func wrapping(_ error: any Error, path: String, operation: String) -> StoreError {
        if let storeError = error as? StoreError { return storeError }
        if error is CancellationError {
            return .database(
                path: path,
                operation: operation,
                detail: "the task was cancelled, so the transaction was rolled back",
                hint: "nothing was written; retry the request"
            )
        }
        guard let databaseError = error as? DatabaseError else {
            return .database(path: path, operation: operation, detail: String(describing: error), hint: "")
        }
        let detail = "SQLite error \(databaseError.extendedResultCode.rawValue): \(databaseError.message ?? "unknown error")"
        switch databaseError.resultCode {
        case .SQLITE_CANTOPEN, .SQLITE_READONLY, .SQLITE_PERM:
            return openFailure(path: path, detail: detail)
        case .SQLITE_FULL:
            return .unwritable(path: path, reason: "the disk is full (\(detail))", hint: "free space on the volume that holds it")
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return .database(
                path: path,
                operation: operation,
                detail: detail,
                hint: "another process held a lock on the file longer than the busy timeout: make sure a single upgrade-gate "
                    + "uses this state file, and that it is not on a network file system"
            )
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            return .database(
                path: path,
                operation: operation,
                detail: detail,
                hint: "the file is not a healthy SQLite database: restore it from a backup, or move it aside to start with an "
                    + "empty state (open windows are then forgotten)"
            )
        case .SQLITE_MISUSE:
            return .database(path: path, operation: operation, detail: detail, hint: "the store was used after close()")
        case .SQLITE_IOERR:
            return .database(path: path, operation: operation, detail: detail, hint: "check the disk and the volume that holds the file")
        default:
            return .database(path: path, operation: operation, detail: detail, hint: "")
        }
    }

    /// Explains why the file at `path` cannot be opened or written, from what the file system shows.
    static func openFailure(path: String, detail: String) -> StoreError {
        let files = FileManager.default
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        if !files.fileExists(atPath: directory, isDirectory: &isDirectory) {
            return .unwritable(
                path: path,
                reason: "the directory \(directory) does not exist",
                hint: "create it (mkdir -p \(directory)) or point `state:` / --state at a file in an existing directory"
            )
        }
        if !isDirectory.boolValue {
            return .unwritable(
                path: path,
                reason: "\(directory) is not a directory",
                hint: "point `state:` / --state at a file in a directory"
            )
        }
        if files.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            return .unwritable(
                path: path,
                reason: "it is a directory",
                hint: "point `state:` / --state at a file, e.g. \(url.appendingPathComponent("upgrade-gate.sqlite").path)"
            )
        }
        if files.fileExists(atPath: path), !files.isWritableFile(atPath: path) {
            return .unwritable(
                path: path,
                reason: "permission denied: this process cannot write the file (\(detail))",
                hint: "give the daemon's user write access to it, e.g. with fsGroup or chown"
            )
        }
        if !files.isWritableFile(atPath: directory) {
            return .unwritable(
                path: path,
                reason: "permission denied: this process cannot create files in \(directory) (\(detail))",
                hint: "SQLite needs to create \(url.lastPathComponent)-wal and -shm beside the file: make the directory writable, "
                    + "e.g. with fsGroup on the volume"
            )
        }
        return .unwritable(path: path, reason: detail, hint: "check that the path is a writable local file")
    }
}

/// A short description of a JSON decoding failure: what was wrong, and in which field.
func describeDecodingFailure(_ error: any Error) -> String {
    guard let decodingError = error as? DecodingError else { return String(describing: error) }
    func field(_ path: [any CodingKey]) -> String {
        guard !path.isEmpty else { return "" }
        let names = path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        return " in field \"\(names.hasPrefix(".") ? String(names.dropFirst()) : names)\""
    }
    func kind(_ type: Any.Type) -> String {
        switch type {
        case is [String: Any].Type: return "a JSON object"
        case is [Any].Type: return "a JSON array"
        case is String.Type: return "a string"
        case is Double.Type, is Int.Type: return "a number"
        case is Bool.Type: return "true or false"
        default: return "\(type)"
        }
    }
    switch decodingError {
    case .dataCorrupted(let context):
        if context.codingPath.isEmpty, context.underlyingError != nil || context.debugDescription.contains("not valid JSON") {
            return "not valid JSON"
        }
        return context.debugDescription + field(context.codingPath)
    case .keyNotFound(let key, let context):
        return "missing key \"\(key.stringValue)\"" + field(context.codingPath)
    case .typeMismatch(let type, let context):
        return "expected \(kind(type))" + field(context.codingPath)
    case .valueNotFound(let type, let context):
        return "expected \(kind(type)), found null" + field(context.codingPath)
    @unknown default:
        return String(describing: decodingError)
    }
}
