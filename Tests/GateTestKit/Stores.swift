import GateCore
import GateStore
import Synchronization

/// A state store that forwards to a real one until it is aborted: from then on every write fails, as if the
/// process had died before it (reads still work, so a test can look). Used to stop the gate between two writes.
public final class AbortableStore: WindowStore {
    /// The store writes go to.
    public let base: any WindowStore
    private let state = Mutex<(writes: Int, abortAfter: Int?)>((0, nil))

    /// Wraps `base`.
    public init(_ base: any WindowStore) {
        self.base = base
    }

    /// Lets `count` more writes through, then fails every later one.
    public func abort(afterWrites count: Int) {
        state.withLock { $0.abortAfter = $0.writes + count }
    }

    /// Lets writes through again after an abort (the disk has room again).
    public func resumeWrites() {
        state.withLock { $0.abortAfter = nil }
    }

    /// How many writes landed.
    public var writes: Int { state.withLock { $0.writes } }

    private let held = Mutex<(holding: Bool, parked: [CheckedContinuation<Bool, Never>])>((false, []))

    /// From now on, window writes wait (as on a busy disk) until ``releaseWrites(failing:)``.
    public func holdWrites() { held.withLock { $0.holding = true } }

    /// How many writes are waiting.
    public var heldWrites: Int { held.withLock { $0.parked.count } }

    /// Lets the waiting writes go on (or fail, as if the disk had filled) and stops holding new ones.
    public func releaseWrites(failing: Bool) {
        let parked = held.withLock { held -> [CheckedContinuation<Bool, Never>] in
            held.holding = false
            defer { held.parked = [] }
            return held.parked
        }
        for continuation in parked { continuation.resume(returning: !failing) }
    }

    private func waitIfHeld() async -> Bool {
        await withCheckedContinuation { continuation in
            let parked = held.withLock { held -> Bool in
                guard held.holding else { return false }
                held.parked.append(continuation)
                return true
            }
            if !parked { continuation.resume(returning: true) }
        }
    }

    private func admit(_ operation: String) throws(StoreError) {
        let allowed = state.withLock { state -> Bool in
            if let limit = state.abortAfter, state.writes >= limit { return false }
            state.writes += 1
            return true
        }
        if !allowed { throw StoreError.aborted(operation) }
    }

    /// Forwards to the wrapped store.
    public func resumeState(recentlyClosed: Int) async throws(StoreError) -> ResumeState {
        try await base.resumeState(recentlyClosed: recentlyClosed)
    }

    /// Forwards to the wrapped store; a write after the abort fails.
    public func apply(_ write: WindowWrite, windowID: String) async throws(StoreError) {
        guard await waitIfHeld() else { throw StoreError.aborted("a held write to window id \(windowID)") }
        try admit("applying a write to window id \(windowID)")
        try await base.apply(write, windowID: windowID)
    }

    /// Forwards to the wrapped store.
    public func window(named name: String) async throws(StoreError) -> StoredWindow? { try await base.window(named: name) }

    /// Forwards to the wrapped store.
    public func windows(includeClosed: Bool, limit: Int) async throws(StoreError) -> [StoredWindow] {
        try await base.windows(includeClosed: includeClosed, limit: limit)
    }

    /// Forwards to the wrapped store.
    public func events(windowID: String, limit: Int) async throws(StoreError) -> [WindowEvent] {
        try await base.events(windowID: windowID, limit: limit)
    }

    /// Forwards to the wrapped store; a write after the abort fails.
    public func recordAlertGroups(_ groups: [StoredAlertGroup]) async throws(StoreError) {
        try admit("recording alert groups")
        try await base.recordAlertGroups(groups)
    }

    /// Forwards to the wrapped store.
    public func windowSummaries(state: WindowStateFilter?, limit: Int) async throws(StoreError) -> [WindowSummary] {
        try await base.windowSummaries(state: state, limit: limit)
    }

    /// Forwards to the wrapped store.
    public func eventsDropped(windowID: String) async throws(StoreError) -> Int { try await base.eventsDropped(windowID: windowID) }

    /// Forwards to the wrapped store; a write after the abort fails.
    public func prune(closedBefore: Double, alertGroupsBefore: Double) async throws(StoreError) -> PruneReport {
        try admit("pruning")
        return try await base.prune(closedBefore: closedBefore, alertGroupsBefore: alertGroupsBefore)
    }

    /// Forwards to the wrapped store.
    public func health(headroomBytes: Int) async -> StoreHealth { await base.health(headroomBytes: headroomBytes) }

    /// Forwards to the wrapped store.
    public var location: String { base.location }
}
