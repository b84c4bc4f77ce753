import Foundation
import GateConfig
import GateHTTP
import Logging
import ServiceLifecycle
import Synchronization

/// The outcome of checking a presented token against one scope.
public enum AuthDecision: Sendable, Equatable {
    /// The token is valid and has the scope; `caller` is the token's configured name (never its value).
    case allowed(caller: String)
    /// No token, a malformed header, or a token that matches none configured: 401.
    case unauthenticated
    /// A valid token without the needed scope: 403. `caller` names the token.
    case forbidden(caller: String, scope: TokenScope)
}

/// Checks presented tokens against `auth.tokens`, each limited to its scopes.
///
/// Token files are re-read whenever they change (checked by ``refresh(now:)``, which ``TokenRefreshService`` calls
/// every few seconds) and at least every ``rereadInterval``, so a rotated or revoked token stops working within a
/// minute. A file that becomes missing or empty at run time keeps its old token only until the next scheduled
/// re-read (a Secret being swapped is not an outage); after that the token is refused.
/// - Important: Tokens are compared in constant time against every configured token, and are never logged,
///   echoed or put in an error: only the token's configured name is.
public final class TokenAuthenticator: Sendable {
    /// How often every token file is re-read even when it looks unchanged.
    public static let rereadInterval: Duration = .seconds(60)

    private struct Entry: Sendable {
        var config: TokenConfig
        var token: [UInt8]?
        var signature: FileSignature?
        var lastGoodRead: ContinuousClock.Instant?
        var lastRead: ContinuousClock.Instant?
    }

    private let disabled: Bool
    private let entries: Mutex<[Entry]>
    private let logger: Logger

    /// An authenticator for `auth`; call ``load()`` before serving.
    public init(_ auth: AuthConfig, logger: Logger = Logger(label: "upgrade-gate.auth")) {
        self.disabled = auth.disabled
        self.entries = Mutex(auth.tokens.map { Entry(config: $0) })
        self.logger = logger
    }

    /// True when `auth.disabled` lets every call through.
    public var isDisabled: Bool { disabled }

    /// Reads every token file now.
    ///
    /// - Throws: ``AuthFileError`` naming the token and its file (never the content) when a file is missing or
    ///   empty, or when no token is configured and auth is not disabled.
    public func load() throws(AuthFileError) {
        guard !disabled else { return }
        let now = ContinuousClock.now
        let problems = entries.withLock { entries -> [String] in
            guard !entries.isEmpty else {
                return ["auth has no token: add auth.tokens or auth.tokenFile (or auth.disabled: true on a loopback listen)"]
            }
            var problems: [String] = []
            for index in entries.indices {
                let file = entries[index].config.file
                guard let (token, signature) = Self.read(file) else {
                    let reason: String
                    if case .failure(let error) = SecretFile.token(at: file) {
                        reason = error.reason
                    } else {
                        reason = "it changed while it was read"
                    }
                    problems.append("token \"\(entries[index].config.name)\": the file \(file) cannot be used: \(reason)")
                    continue
                }
                entries[index].token = token
                entries[index].signature = signature
                entries[index].lastGoodRead = now
                entries[index].lastRead = now
            }
            return problems
        }
        if !problems.isEmpty { throw AuthFileError(description: problems.joined(separator: "; ")) }
    }

    /// Re-reads token files that changed since the last read, and all of them every ``rereadInterval``.
    ///
    /// A file that cannot be read keeps its previous token until ``rereadInterval`` after its last good read, then
    /// the token is dropped (refused) until the file is readable again.
    public func refresh(now: ContinuousClock.Instant = .now) {
        guard !disabled else { return }
        var notes: [(Logger.Level, String, String)] = []
        entries.withLock { entries in
            for index in entries.indices {
                var entry = entries[index]
                let signature = FileSignature(path: entry.config.file)
                let due = entry.lastRead.map { $0.duration(to: now) >= Self.rereadInterval } ?? true
                guard due || signature != entry.signature else { continue }
                entry.lastRead = now
                if let (token, newSignature) = Self.read(entry.config.file) {
                    if entry.token != token { notes.append((.notice, entry.config.name, "token file re-read: a new token is in effect")) }
                    entry.token = token
                    entry.signature = newSignature
                    entry.lastGoodRead = now
                } else {
                    entry.signature = signature
                    let expired = entry.lastGoodRead.map { $0.duration(to: now) >= Self.rereadInterval } ?? true
                    if expired, entry.token != nil {
                        entry.token = nil
                        notes.append((.warning, entry.config.name, "token file missing or empty since the last re-read: the token is refused"))
                    } else if entry.token != nil {
                        notes.append((.warning, entry.config.name, "token file missing or empty: the old token stays valid until the next re-read"))
                    }
                }
                entries[index] = entry
            }
        }
        for (level, name, message) in notes {
            logger.log(level: level, "\(message)", metadata: ["auth.token": .string(name)])
        }
    }

    /// Decides whether an `Authorization` header value (`Bearer <token>`) grants `scope`.
    public func authorize(header: String?, scope: TokenScope) -> AuthDecision {
        guard !disabled else { return .allowed(caller: "auth-disabled") }
        guard let header, header.utf8.count > 7, header.prefix(7).lowercased() == "bearer " else { return .unauthenticated }
        return authorize(token: String(header.dropFirst(7)), scope: scope)
    }

    /// Decides whether a bare token (Flagger's `metadata.token`) grants `scope`.
    public func authorize(token: String?, scope: TokenScope) -> AuthDecision {
        guard !disabled else { return .allowed(caller: "auth-disabled") }
        guard let token else { return .unauthenticated }
        let presented = Array(token.trimmingCharacters(in: .whitespaces).utf8)
        guard !presented.isEmpty else { return .unauthenticated }
        // Compare against every token, without stopping at a match, so timing says nothing about which matched.
        let match = entries.withLock { entries -> TokenConfig? in
            var found: TokenConfig?
            for entry in entries {
                guard let expected = entry.token else { continue }
                if constantTimeEqual(expected, presented), found == nil { found = entry.config }
            }
            return found
        }
        guard let match else { return .unauthenticated }
        return match.scopes.contains(scope) ? .allowed(caller: match.name) : .forbidden(caller: match.name, scope: scope)
    }

    private static func read(_ path: String) -> ([UInt8], FileSignature?)? {
        let signature = FileSignature(path: path)
        guard case .success(let token) = SecretFile.token(at: path) else { return nil }
        return (Array(token.utf8), signature)
    }
}

/// What tells a changed file from an unchanged one without reading it: Kubernetes replaces a mounted Secret by
/// swapping a symlink, which changes the inode; an edit in place changes the modification time or size.
struct FileSignature: Sendable, Equatable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modifiedSeconds: Int
    var modifiedNanoseconds: Int

    /// The signature of the file `path` points to (following symlinks); nil when it cannot be stat'ed.
    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modifiedSeconds = Int(info.st_mtim.tv_sec)
        modifiedNanoseconds = Int(info.st_mtim.tv_nsec)
    }
}

/// A token file is missing or empty, or no token is configured.
public struct AuthFileError: Error, CustomStringConvertible {
    /// Names the token and its file, never the content.
    public var description: String
}

/// Keeps token files fresh: checks them every few seconds and re-reads what changed.
struct TokenRefreshService: Service {
    let authenticator: TokenAuthenticator
    var every: Duration = .seconds(2)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: every)
                } catch {
                    return
                }
                authenticator.refresh()
            }
        }
    }
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
