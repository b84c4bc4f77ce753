import Foundation
import GRDB

extension GateStore {
    /// One stored Alertmanager notification: its group, when it arrived, and the raw payload.
    public struct StoredAlertGroup: Sendable, Equatable {
        /// Alertmanager's `groupKey`.
        public var groupKey: String
        /// When the gate received it (Unix seconds).
        public var receivedAt: Double
        /// The payload exactly as received.
        public var payload: [UInt8]

        /// Creates a stored group.
        public init(groupKey: String, receivedAt: Double, payload: [UInt8]) {
            self.groupKey = groupKey
            self.receivedAt = receivedAt
            self.payload = payload
        }
    }

    /// Persists notifications as their groups' latest state, in one transaction (group commit), in
    /// order: a later one of the same group wins. Returns once they are committed, so the webhook may
    /// then answer 200.
    ///
    /// - Important: committed in WAL mode means it survives `kill -9` of the process.
    nonisolated(nonsending) public func recordAlertGroups(_ groups: [StoredAlertGroup]) async throws(StoreError) {
        guard !groups.isEmpty else { return }
        try await self.write("recording \(groups.count) Alertmanager notification(s)") { db in
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO alert_group (groupKey, receivedAt, payload) VALUES (?, ?, ?)
                    ON CONFLICT(groupKey) DO UPDATE SET receivedAt = excluded.receivedAt, payload = excluded.payload
                    """
            )
            for group in groups {
                try statement.execute(arguments: [group.groupKey, group.receivedAt, Data(group.payload)])
            }
        }
    }

    /// Every group's latest notification, oldest first (the order to replay them in).
    public func alertGroups() async throws(StoreError) -> [StoredAlertGroup] {
        try await self.read("reading the Alertmanager notifications") { db in
            try Row.fetchAll(db, sql: "SELECT groupKey, receivedAt, payload FROM alert_group ORDER BY receivedAt, rowid").map { row in
                StoredAlertGroup(groupKey: row["groupKey"], receivedAt: row["receivedAt"], payload: Array(row["payload"] as Data))
            }
        }
    }
}
