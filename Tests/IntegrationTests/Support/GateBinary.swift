import Foundation

/// The `upgrade-gate` executable built next to the test bundle (the integration target depends on
/// it, so `swift build --build-tests` builds it).
func gateBinaryPath() throws -> String {
    var candidates: [String] = []
    if let override = ProcessInfo.processInfo.environment["UPGRADE_GATE_BINARY"] { candidates.append(override) }
    let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    candidates.append(runner.deletingLastPathComponent().appendingPathComponent("upgrade-gate").path)
    candidates.append(runner.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("upgrade-gate").path)
    let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    candidates.append(packageRoot.appendingPathComponent(".build/debug/upgrade-gate").path)
    guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        throw HarnessError(description: "upgrade-gate binary not found; looked at \(candidates)")
    }
    return found
}

/// What one run of the CLI did.
struct GateRun: CustomStringConvertible {
    var exitCode: Int32
    var stdout: String
    var stderr: String
    var description: String { "exit \(exitCode)\n--- stdout\n\(stdout)--- stderr\n\(stderr)" }
}

/// Runs `upgrade-gate ARGUMENTS…` to completion (bounded by `timeout`).
func runGate(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> GateRun {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try gateBinaryPath())
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.runSerialised()
    // Drain both pipes concurrently so a chatty child never blocks on a full pipe; each on a thread of its own, never
    // on the cooperative pool (see OffThePool.swift).
    async let stdout = readToEnd(out.fileHandleForReading)
    async let stderr = readToEnd(err.fileHandleForReading)
    let deadline = ContinuousClock.now + timeout
    while process.isRunning {
        if ContinuousClock.now > deadline {
            process.terminate()
            throw HarnessError(description: "upgrade-gate \(arguments) did not finish within \(timeout)")
        }
        try await Task.sleep(for: .milliseconds(10))
    }
    return GateRun(
        exitCode: process.terminationStatus,
        stdout: String(decoding: await stdout, as: UTF8.self),
        stderr: String(decoding: await stderr, as: UTF8.self)
    )
}
