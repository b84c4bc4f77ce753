import Foundation
import Synchronization

/// A clock tests move by hand: the engine reads `now()`, the test calls `advance(by:)`.
public final class ManualClock: Sendable {
    private let time: Mutex<Double>

    /// A clock that reads `start` (Unix seconds) until advanced.
    public init(start: Double = 1_800_000_000) {
        time = Mutex(start)
    }

    /// The current time.
    public func now() -> Double { time.withLock { $0 } }

    /// Moves the clock forward.
    public func advance(by seconds: Double) {
        time.withLock { $0 += seconds }
    }
}

/// Why a harness step gave up.
public struct TestKitError: Error, CustomStringConvertible {
    /// What happened.
    public var description: String

    /// Creates an error.
    public init(_ description: String) { self.description = description }
}

/// Polls `condition` every 20 ms until it holds, or throws once `timeout` passed (a generous deadline, never a
/// timing assertion).
public func eventually(
    timeout: Duration = .seconds(60),
    _ what: @autoclosure () -> String = "condition",
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TestKitError("timed out after \(timeout) waiting for \(what())")
}

/// A fresh directory under the system's temporary directory, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    /// Its path.
    public let path: String

    /// Creates `<tmp>/<prefix>-<random>`.
    public init(_ prefix: String = "gate-test") throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        path = url.path
    }

    /// A path inside the directory.
    public func file(_ name: String) -> String { "\(path)/\(name)" }

    /// Removes the directory and everything in it.
    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// A small deterministic generator for fuzz tests, so a failing mutation can be reproduced from its seed.
public struct SplitMix64: RandomNumberGenerator {
    /// The state.
    public var state: UInt64

    /// Creates a generator from a seed.
    public init(state: UInt64) { self.state = state }

    /// The next value.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
