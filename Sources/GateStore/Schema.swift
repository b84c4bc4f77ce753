import GRDB

/// The store's schema, as an ordered list of named migrations.
///
/// Each record is kept whole as JSON (the `record`, `baseline`, `evaluation` and `event` columns), so a field
/// added to a GateCore type is stored without a migration. The other columns are an index of that JSON, rewritten
/// with it, for what is queried or ordered on: ids, names, times, verdicts and kinds.
///
/// - Important: A migration, once released, never changes: new tables and columns (alerts, restores, …) come in
///   new migrations appended below, so any older state file is brought forward on open.
enum Schema {
    /// The identifiers of the migrations, in order.
    static let migrationIdentifiers = [v1, v2, v3]

    /// Windows, their baselines, their evaluations and their events.
    static let v1 = "v1-windows-baselines-evaluations-events"

    /// Alertmanager notifications: the latest payload of each alert group.
    static let v2 = "v2-alert-groups"

    /// Retention: how many events each window lost to `eventsPerWindow`, an index for pruning closed windows, and
    /// the one-row table the readiness probe writes.
    static let v3 = "v3-retention-and-probe"

    /// The migrator that brings any state file to the current schema.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration(v1) { db in
            // WINDOW is an SQL keyword (window functions), hence the quotes around the table name everywhere.
            try db.execute(
                sql: """
                    CREATE TABLE "window" (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL,
                        openedAt REAL NOT NULL,
                        closedAt REAL,
                        verdict TEXT NOT NULL,
                        record TEXT NOT NULL
                    );
                    -- The rule "one open window per name", enforced by SQLite itself so that no race can break it.
                    CREATE UNIQUE INDEX window_open_name ON "window"(name) WHERE closedAt IS NULL;
                    CREATE INDEX window_name_openedAt ON "window"(name, openedAt);
                    CREATE INDEX window_openedAt ON "window"(openedAt);

                    CREATE TABLE baseline (
                        windowID TEXT PRIMARY KEY NOT NULL REFERENCES "window"(id) ON DELETE CASCADE,
                        capturedAt REAL NOT NULL,
                        baseline TEXT NOT NULL
                    );

                    CREATE TABLE evaluation (
                        id INTEGER PRIMARY KEY,
                        windowID TEXT NOT NULL REFERENCES "window"(id) ON DELETE CASCADE,
                        at REAL NOT NULL,
                        verdict TEXT NOT NULL,
                        evaluation TEXT NOT NULL
                    );
                    CREATE INDEX evaluation_windowID_id ON evaluation(windowID, id);

                    CREATE TABLE event (
                        id INTEGER PRIMARY KEY,
                        windowID TEXT NOT NULL REFERENCES "window"(id) ON DELETE CASCADE,
                        at REAL NOT NULL,
                        kind TEXT NOT NULL,
                        event TEXT NOT NULL
                    );
                    CREATE INDEX event_windowID_at_id ON event(windowID, at, id);
                    """
            )
        }
        migrator.registerMigration(v2) { db in
            // Every notification carries its group's whole state, so the latest payload of each group is enough
            // to rebuild the alert book after a restart: bounded by the number of groups, not of notifications.
            try db.execute(
                sql: """
                    CREATE TABLE alert_group (
                        groupKey TEXT PRIMARY KEY NOT NULL,
                        receivedAt REAL NOT NULL,
                        payload BLOB NOT NULL
                    );
                    CREATE INDEX alert_group_receivedAt ON alert_group(receivedAt);
                    """
            )
        }
        migrator.registerMigration(v3) { db in
            try db.execute(
                sql: """
                    ALTER TABLE "window" ADD COLUMN eventsDropped INTEGER NOT NULL DEFAULT 0;
                    CREATE INDEX window_closedAt ON "window"(closedAt) WHERE closedAt IS NOT NULL;
                    CREATE INDEX event_windowID_id ON event(windowID, id);
                    CREATE TABLE store_probe (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        at REAL NOT NULL,
                        padding BLOB
                    );
                    """
            )
        }
        return migrator
    }
}
