import Foundation

// Swift's cooperative thread pool has as many threads as the machine has cores: two on a CI machine. A test that
// blocks one of them (reading a child's pipe to its end, waiting for a child to exit) stalls every other test of the
// process meanwhile, and on a loaded machine that turned "wait up to 60 s" into a failure elsewhere. Blocking calls go
// through these helpers, which run them on a thread of their own and suspend the caller instead.

/// Runs `body`, which may block, on a dedicated thread, and returns its result without holding a cooperative thread.
func offThePool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: body()) }
    }
}

/// Reads `handle` to its end on a dedicated thread.
func readToEnd(_ handle: FileHandle) async -> Data {
    await offThePool { handle.readDataToEndOfFile() }
}

/// Runs a process to completion (stdout and stderr together, stdin empty) without blocking a cooperative thread.
func runToCompletion(_ process: Process) async throws -> (status: Int32, output: String) {
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    process.standardInput = FileHandle.nullDevice
    try process.runSerialised()
    // Read to the end before waiting, so a full pipe never blocks the child.
    let data = await readToEnd(pipe.fileHandleForReading)
    let status = await offThePool { () -> Int32 in
        process.waitUntilExit()
        return process.terminationStatus
    }
    return (status, String(decoding: data, as: UTF8.self))
}

/// One child process is started at a time in this test process. Foundation's `Process.run()` on Linux crashed once in
/// a memcpy while several tests started children at the same moment (suite run of December 2026); starting children
/// one after another costs microseconds and removes the race.
private let processLaunchLock = NSLock()

extension Process {
    /// `run()`, serialised with every other child started by the integration tests.
    func runSerialised() throws {
        processLaunchLock.lock()
        defer { processLaunchLock.unlock() }
        try run()
    }
}
