import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one-writer rule: an exclusive `flock` on `<state>.lock`, beside the SQLite file, holding the owner's pid.
///
/// Two daemons on one state file would each believe their memory is the truth and undo each other's writes (a
/// closed window reopened, a restore decided twice). The lock is held for the life of the process and released by
/// the kernel when it exits, however it exits, so a kill -9 never leaves a stale lock behind.
public final class StateLock: Sendable {
    /// The lock file's path.
    public let path: String
    private let descriptor: Int32

    /// Takes the lock for the state file `statePath`, or fails at once (never waits).
    ///
    /// - Throws: ``StateLockError`` naming the holder's pid when another process holds the lock, or naming the
    ///   path and the system's reason when the lock file cannot be created.
    public init(statePath: String) throws(StateLockError) {
        let path = statePath + ".lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw StateLockError(description: "the state lock \(path) cannot be created: \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            let holder = Self.readPID(descriptor)
            close(descriptor)
            if reason == EWOULDBLOCK {
                let who = holder.map { "process \($0)" } ?? "another process"
                throw StateLockError(
                    description:
                        "the state \(statePath) is in use by another upgrade-gate (pid \(holder.map(String.init) ?? "unknown"), \(who) holds \(path)); "
                        + "only one daemon may write a state file: stop it, or give this one its own --state",
                    holderPID: holder
                )
            }
            throw StateLockError(description: "the state lock \(path) cannot be taken: \(String(cString: strerror(reason)))")
        }
        // Ours now: record our pid for whoever is refused next.
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        self.path = path
        self.descriptor = descriptor
    }

    deinit {
        // Closing the descriptor releases the flock.
        close(descriptor)
    }

    private static func readPID(_ descriptor: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return Int32(String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// Another process holds the state lock, or the lock file cannot be used.
public struct StateLockError: Error, Sendable, CustomStringConvertible {
    /// What happened and what to do.
    public var description: String
    /// The pid recorded by the process holding the lock, when one does.
    public var holderPID: Int32?

    /// Creates an error.
    public init(description: String, holderPID: Int32? = nil) {
        self.description = description
        self.holderPID = holderPID
    }
}
