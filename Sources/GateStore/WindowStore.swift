import GateCore

/// A window as stored: its record, its pinned baseline and its newest evaluation.
public typealias StoredWindow = GateStore.StoredWindow

/// A stored Alertmanager notification.
public typealias StoredAlertGroup = GateStore.StoredAlertGroup

/// Everything the gate needs at start to continue where it stopped.
public struct ResumeState: Sendable, Equatable {
    /// Every open window, oldest opened first.
    public var open: [StoredWindow]
    /// Closed windows whose restore was intended or requested and has not finished.
    public var unfinishedRestores: [StoredWindow]
    /// The newest closed windows, so gate polls keep answering with their final verdicts.
    public var recentlyClosed: [StoredWindow]
    /// Every Alertmanager group's latest notification, oldest first.
    public var alertGroups: [StoredAlertGroup]

    /// Creates a state.
    public init(open: [StoredWindow], unfinishedRestores: [StoredWindow], recentlyClosed: [StoredWindow], alertGroups: [StoredAlertGroup]) {
        self.open = open
        self.unfinishedRestores = unfinishedRestores
        self.recentlyClosed = recentlyClosed
        self.alertGroups = alertGroups
    }
}

/// The engine's port to durable state: what the window machine asks to persist, and what it reads back.
///
/// Storage-agnostic: the SQLite file (`GateStore`) is one implementation; a Kubernetes-native store (custom
/// resources) is another. Every ``WindowWrite`` is one transaction.
///
/// - Important: A method that returns without throwing has made its write durable; writes issued by one caller land
///   in the order it issued them.
public protocol WindowStore: Sendable {
    /// What the gate resumes from: open windows, unfinished restores, recent closed windows, alert groups.
    func resumeState(recentlyClosed: Int) async throws(StoreError) -> ResumeState
    /// Applies one write, all or nothing.
    func apply(_ write: WindowWrite, windowID: String) async throws(StoreError)
    /// The open window named `name`, else the newest closed one.
    func window(named name: String) async throws(StoreError) -> StoredWindow?
    /// Up to `limit` windows, newest opened first.
    func windows(includeClosed: Bool, limit: Int) async throws(StoreError) -> [StoredWindow]
    /// Up to `limit` events of a window, newest first.
    func events(windowID: String, limit: Int) async throws(StoreError) -> [WindowEvent]
    /// Persists Alertmanager notifications (group commit), all or nothing.
    func recordAlertGroups(_ groups: [StoredAlertGroup]) async throws(StoreError)
    /// Up to `limit` window summaries (no baselines or evaluations), newest opened first, optionally by state.
    func windowSummaries(state: WindowStateFilter?, limit: Int) async throws(StoreError) -> [WindowSummary]
    /// How many of a window's oldest events retention dropped.
    func eventsDropped(windowID: String) async throws(StoreError) -> Int
    /// Drops closed windows and alert groups older than the given times, and events beyond the per-window cap;
    /// never anything open.
    func prune(closedBefore: Double, alertGroupsBefore: Double) async throws(StoreError) -> PruneReport
    /// Whether the store can still take a write of `headroomBytes`, and why not.
    func health(headroomBytes: Int) async -> StoreHealth
    /// Where the state lives, for log lines.
    var location: String { get }
}

extension GateStore: WindowStore {
    /// The database file's path.
    public var location: String { path }

    /// Open windows, closed ones with an unfinished restore, the newest closed ones and the alert groups.
    public func resumeState(recentlyClosed: Int) async throws(StoreError) -> ResumeState {
        let open = try await openWindows()
        let unfinished = try await unfinishedRestoreWindows()
        let closed = try await windows(includeClosed: true, limit: recentlyClosed).filter { !$0.record.isOpen }
        return ResumeState(open: open, unfinishedRestores: unfinished, recentlyClosed: closed, alertGroups: try await alertGroups())
    }

    /// Applies one write in one transaction.
    nonisolated(nonsending) public func apply(_ write: WindowWrite, windowID: String) async throws(StoreError) {
        switch write {
        case .insert(let record, let baseline, let event): try await insertWindow(record, baseline: baseline, event: event)
        case .update(let record, let events): try await updateWindow(record, events: events)
        case .evaluation(let record, let evaluation, let events): try await recordEvaluation(record, evaluation, events: events)
        case .events(let events): try await appendEvents(windowID: windowID, events)
        }
    }
}

extension StoreError {
    /// The store refused a write on purpose (a test aborting it to simulate a crash), named by `operation`.
    public static func aborted(_ operation: String) -> StoreError {
        .database(path: "(aborted)", operation: operation, detail: "the store was aborted", hint: "")
    }
}
