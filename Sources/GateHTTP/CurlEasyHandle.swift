import CCurl
import Synchronization

/// libcurl's process-wide initialisation, run exactly once before the first handle is created.
enum CurlGlobal {
    /// The result of `curl_global_init`; a Swift `static let` is initialised once, thread-safely.
    static let initialised: Bool = curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK
}

/// Owns one CURL easy handle and with it the handle's connection, TLS-session and DNS caches.
///
/// `curl_easy_cleanup` runs in `deinit`, so a handle is released exactly once however it is dropped.
// @unchecked Sendable is safe: a handle is used by one transfer at a time. It moves between threads only through
// `CurlHandlePool`, whose Mutex orders the hand-over, and a checked-out handle is referenced by one transfer only.
final class CurlEasyHandle: @unchecked Sendable {
    /// The `CURL *`; valid for the lifetime of this object.
    let raw: UnsafeMutableRawPointer

    /// Creates a handle, or returns `nil` when libcurl cannot be initialised or is out of memory.
    init?() {
        guard CurlGlobal.initialised, let raw = curl_easy_init() else { return nil }
        self.raw = raw
    }

    deinit {
        curl_easy_cleanup(raw)
    }
}

/// A small pool of idle easy handles, so sequential requests to a server reuse its open connection.
///
/// Handles are reset with `curl_easy_reset` when returned: that clears every option but keeps live connections and
/// the TLS session cache. The most recently returned handle is handed out first, as it holds the warmest connections.
final class CurlHandlePool: Sendable {
    private struct State {
        var idle: [CurlEasyHandle] = []
        var closed = false
    }

    /// How many idle handles are kept; handles beyond this are cleaned up when returned.
    let maxIdle: Int
    private let state = Mutex(State())

    /// Creates an empty pool that keeps at most `maxIdle` idle handles.
    init(maxIdle: Int) {
        self.maxIdle = maxIdle
    }

    /// An idle handle or a new one; `nil` when the pool is closed or libcurl cannot create a handle.
    func checkOut() -> CurlEasyHandle? {
        let (closed, reused) = state.withLock { state in (state.closed, state.idle.popLast()) }
        if closed { return nil }
        return reused ?? CurlEasyHandle()
    }

    /// Resets `handle` and keeps it for the next transfer, unless the pool is closed or full.
    func checkIn(_ handle: CurlEasyHandle) {
        curl_easy_reset(handle.raw)
        // A handle that is not kept is released by the caller after this returns, outside the lock; its deinit then
        // runs curl_easy_cleanup.
        state.withLock { state in
            guard !state.closed, state.idle.count < maxIdle else { return }
            state.idle.append(handle)
        }
    }

    /// Closes the pool and cleans up its idle handles; idempotent. Handles still in use are cleaned up on return.
    func close() {
        // The drained handles are released when the returned array is dropped, after the lock is given up.
        _ = state.withLock { state -> [CurlEasyHandle] in
            state.closed = true
            defer { state.idle.removeAll() }
            return state.idle
        }
    }
}
