import Foundation
import GateHTTP

/// Errors of the test harness itself (a service that would not start), said plainly.
struct HarnessError: Error, CustomStringConvertible {
    var description: String
}

/// Picks a free TCP port on 127.0.0.1 by binding port 0 and reading the port back.
///
/// The port is released before the service binds it; on a loopback-only test machine the race is
/// harmless, and services that fail to bind are reported with their log.
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw HarnessError(description: "socket() failed: errno \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw HarnessError(description: "bind() failed: errno \(errno)") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw HarnessError(description: "getsockname() failed: errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A temporary directory removed when the value is released.
final class TemporaryDirectory: Sendable {
    let path: String

    init(prefix: String = "upgrade-gate-test") throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        path = url.path
    }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ contents: String) throws -> String {
        let target = file(name)
        try contents.write(toFile: target, atomically: false, encoding: .utf8)
        return target
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A child process (a real Prometheus, Alertmanager, etcd or our own binary) with its output in a
/// log file, terminated when the test is done with it.
final class ServiceProcess: Sendable {
    let name: String
    let logPath: String
    private let process: Process

    /// Starts `executable` with `arguments`; stdout and stderr go to `logPath`.
    init(name: String, executable: String, arguments: [String], logPath: String, environment: [String: String]? = nil) throws {
        guard let resolved = findExecutable(executable) else {
            throw HarnessError(description: "\(executable) is not installed; run the test command from README.md, which installs it")
        }
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: resolved)
        process.arguments = arguments
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        if let environment { process.environment = environment }
        try process.run()
        self.name = name
        self.logPath = logPath
        self.process = process
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// The process's output so far (for failure messages).
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// SIGTERM, then SIGKILL after `grace`, and waits for the exit.
    func stop(grace: Duration = .seconds(5)) async {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = ContinuousClock.now + grace
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// `kill -9`: no chance to clean up.
    func kill9() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Waits for the process to exit on its own and returns its exit status.
    func waitForExit() async -> Int32 {
        while process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
    }
}

func findExecutable(_ name: String) -> String? {
    if name.hasPrefix("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":") + ["/usr/sbin", "/usr/bin"] {
        let candidate = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

/// Runs `body` and then `teardown`, also when `body` throws: every started service is stopped.
func withTeardown(_ body: () async throws -> Void, teardown: () async -> Void) async throws {
    do {
        try await body()
    } catch {
        await teardown()
        throw error
    }
    await teardown()
}
