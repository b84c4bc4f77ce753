import Foundation
import Synchronization

/// Checks `Authorization: Bearer <token>` against `auth.tokenFile`.
///
/// The file is re-read at most every few seconds when a presented token does not match, so a
/// rotated Secret takes effect without a restart. Comparison is constant-time.
/// - Important: the token is never logged, echoed or put in an error.
public final class TokenAuthenticator: Sendable {
    private struct Cache {
        var token: [UInt8]?
        var readAt: ContinuousClock.Instant?
    }

    private let path: String?
    private let cache = Mutex(Cache())
    private let rereadAfter: Duration

    /// An authenticator for the token in `path`; nil means auth is disabled (every call allowed).
    public init(tokenFile path: String?, rereadAfter: Duration = .seconds(5)) {
        self.path = path
        self.rereadAfter = rereadAfter
    }

    /// True when state-changing calls need a token.
    public var isEnabled: Bool { path != nil }

    /// Reads the token file now; throws a message naming the file (not its content) when unusable.
    public func load() throws -> Void {
        guard let path else { return }
        guard let token = Self.read(path) else {
            throw AuthFileError(description: "auth.tokenFile \(path) cannot be read or is empty")
        }
        cache.withLock { $0 = Cache(token: token, readAt: .now) }
    }

    /// Whether an `Authorization` header value grants access.
    public func authorizes(_ header: String?) -> Bool {
        guard let path else { return true }
        guard let header, header.count > 7, header.prefix(7).lowercased() == "bearer " else { return false }
        let presented = Array(header.dropFirst(7).trimmingCharacters(in: .whitespaces).utf8)
        let (token, stale) = cache.withLock { cache -> ([UInt8]?, Bool) in
            (cache.token, cache.readAt.map { $0.duration(to: .now) > rereadAfter } ?? true)
        }
        if let token, constantTimeEqual(token, presented) { return true }
        // A mismatch may be a rotated token: re-read the file, but not on every bad request.
        guard stale, let fresh = Self.read(path) else { return false }
        cache.withLock { $0 = Cache(token: fresh, readAt: .now) }
        return constantTimeEqual(fresh, presented)
    }

    private static func read(_ path: String) -> [UInt8]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : Array(text.utf8)
    }
}

/// The token file is missing or empty.
public struct AuthFileError: Error, CustomStringConvertible {
    /// Names the file, never its content.
    public var description: String
}

/// Compares two byte strings in time that depends only on their lengths.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    var difference = a.count ^ b.count
    let count = max(a.count, b.count)
    for index in 0..<count {
        let x = index < a.count ? a[index] : 0
        let y = index < b.count ? b[index] : 0
        difference |= Int(x ^ y)
    }
    return difference == 0
}
