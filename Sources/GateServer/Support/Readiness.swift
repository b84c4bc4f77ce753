import Synchronization

/// What `/readyz` answers: not ready until the state is loaded and every open window resumed, and not ready while
/// the state store cannot be written (a full disk: new windows and alerts could not be accepted).
///
/// Read synchronously by every probe; written by the composition root and the store probe.
public final class Readiness: Sendable {
    private struct State {
        var resumed = false
        var storeProblem: String?
    }

    private let state = Mutex(State())

    /// Creates a readiness that starts not ready.
    public init() {}

    /// Marks the state loaded and open windows resumed.
    public func markResumed() {
        state.withLock { $0.resumed = true }
    }

    /// Records the store's latest health: `nil` when it can be written, else why not.
    public func setStoreProblem(_ problem: String?) {
        state.withLock { $0.storeProblem = problem }
    }

    /// Why the daemon is not ready, or `nil` when it is.
    public var notReadyReason: String? {
        state.withLock { state in
            if !state.resumed { return "the state is still being loaded" }
            return state.storeProblem
        }
    }
}
