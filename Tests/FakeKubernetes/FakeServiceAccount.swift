import Foundation

/// A temporary directory standing in for `/var/run/secrets/kubernetes.io/serviceaccount`: `token`, `namespace`,
/// and optionally `ca.crt`. Removed by ``remove()`` or when released.
public final class FakeServiceAccount: Sendable {
    /// The directory.
    public let directory: String

    /// Creates the directory with `token` and `namespace` files (and an empty `ca.crt` when `withCA`).
    public init(token: String, namespace: String = "upgrade-gate", withCA: Bool = false) throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("fake-sa-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        directory = base
        try write(token: token)
        try Data(namespace.utf8).write(to: URL(fileURLWithPath: base + "/namespace"))
        if withCA { try Data().write(to: URL(fileURLWithPath: base + "/ca.crt")) }
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// `<directory>/token`.
    public var tokenFile: String { directory + "/token" }

    /// `<directory>/ca.crt`.
    public var caFile: String { directory + "/ca.crt" }

    /// Replaces the token atomically (as the kubelet swaps a projected volume), with a trailing newline.
    public func write(token: String) throws {
        try Data((token + "\n").utf8).write(to: URL(fileURLWithPath: tokenFile), options: .atomic)
    }

    /// Removes the directory now.
    public func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}
