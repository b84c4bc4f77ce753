import Synchronization

/// What `/readyz` answers: not ready until the state is loaded and every open window resumed, and not ready while
/// the state store cannot be written (a full disk: new windows and alerts could not be accepted).
///
/// Read synchronously by every probe and every API call; written by the composition root and the store probe.
public final class Readiness: Sendable {
    private struct State {
        var resumed = false
        var storeProblem: String?
    }

    private let state = Mutex(State())
    /// Why the daemon is not ready before its state is loaded.
    private let loadingReason: String

    /// Creates a readiness that starts not ready, for `loadingReason` until ``markResumed()``.
    public init(loadingReason: String = "the state is still being loaded") {
        self.loadingReason = loadingReason
    }

    /// Marks the state loaded and open windows resumed.
    public func markResumed() {
        state.withLock { $0.resumed = true }
    }

    /// Records the store's latest health: `nil` when it can be written, else why not.
    public func setStoreProblem(_ problem: String?) {
        state.withLock { $0.storeProblem = problem }
    }

    /// Whether the state is loaded (the store may still be unwritable).
    public var isResumed: Bool { state.withLock { $0.resumed } }

    /// Why the daemon is not ready, or `nil` when it is.
    public var notReadyReason: String? {
        state.withLock { state in
            if !state.resumed { return loadingReason }
            return state.storeProblem
        }
    }

    /// Returns once the state is loaded, or when the task is cancelled.
    func waitUntilResumed() async {
        while !isResumed {
            do { try await Task.sleep(for: .milliseconds(50)) } catch { return }
        }
    }
}
