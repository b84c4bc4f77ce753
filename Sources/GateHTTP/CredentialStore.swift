import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A credential ready to be applied to one transfer.
enum ResolvedCredential: Sendable {
    /// Nothing to add.
    case none
    /// Sent as `Authorization: Bearer <token>`.
    case bearer(token: String)
    /// Handed to libcurl's Basic authentication.
    case basic(username: String, password: String)

    /// The secret strings of this credential, scrubbed from any text that reaches an error message.
    var secrets: [String] {
        switch self {
        case .none: []
        case .bearer(let token): [token]
        case .basic(_, let password): [password]
        }
    }
}

/// Why a credential file could not be used; names the file, never its content.
struct CredentialFailure: Error, Sendable {
    /// "bearer token file" or "password file".
    let role: String
    /// The path as configured.
    let path: String
    /// The operating system's reason, or what is wrong with the content (without quoting it).
    let reason: String
}

/// What is wrong with a credential file, in words that never quote its content.
struct CredentialProblem: Error, Sendable {
    /// The problem, e.g. the operating system's reason or "the file is empty".
    let reason: String

    /// Wraps a reason.
    init(_ reason: String) { self.reason = reason }
}

/// Reads secrets from files and caches them for a bounded time, so a rotated token is picked up.
///
/// Reading happens on the calling thread, which is always a thread-pool thread inside a transfer.
final class CredentialStore: Sendable {
    /// The largest credential file accepted; a bigger file is not a token and is not read into memory.
    static let maxFileBytes = 64 << 10

    private struct Cache {
        var secret: String?
        var readAt: ContinuousClock.Instant
        // Bumped by `invalidate()` so that a read which started before the invalidation is not cached.
        var generation: UInt64
    }

    private let credentials: Credentials
    private let refreshInterval: Duration
    private let cache: Mutex<Cache>

    /// Creates a store with an empty cache; nothing is read until the first transfer.
    init(credentials: Credentials, refreshInterval: Duration) {
        self.credentials = credentials
        self.refreshInterval = refreshInterval
        self.cache = Mutex(Cache(secret: nil, readAt: .now, generation: 0))
    }

    /// Drops the cached secret so the next transfer reads the file again.
    func invalidate() {
        cache.withLock {
            $0.secret = nil
            $0.generation &+= 1
        }
    }

    /// The credential to use now: the cached secret while it is fresh, otherwise the file's current content.
    func resolve() -> Result<ResolvedCredential, CredentialFailure> {
        switch credentials {
        case .none:
            return .success(.none)
        case .bearerTokenFile(let path):
            return secret(role: "bearer token file", path: path, parse: Self.parseToken).map { ResolvedCredential.bearer(token: $0) }
        case .basic(let username, let passwordFile):
            return secret(role: "password file", path: passwordFile, parse: Self.parsePassword).map {
                ResolvedCredential.basic(username: username, password: $0)
            }
        }
    }

    private func secret(role: String, path: String, parse: ([UInt8]) -> Result<String, CredentialProblem>) -> Result<String, CredentialFailure> {
        let now = ContinuousClock.now
        let (cached, generation) = cache.withLock { cache -> (String?, UInt64) in
            guard let secret = cache.secret, cache.readAt.duration(to: now) < refreshInterval else { return (nil, cache.generation) }
            return (secret, cache.generation)
        }
        if let cached { return .success(cached) }

        // Read outside the lock: a slow file system must not stall every other transfer.
        let result = Self.readFile(path).flatMap(parse).mapError { CredentialFailure(role: role, path: path, reason: $0.reason) }
        if case .success(let secret) = result {
            cache.withLock { cache in
                guard cache.generation == generation else { return }
                cache.secret = secret
                cache.readAt = now
            }
        }
        return result
    }

    /// A bearer token: surrounding whitespace and newlines trimmed, nothing unprintable inside.
    static func parseToken(_ bytes: [UInt8]) -> Result<String, CredentialProblem> {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else {
            return .failure(CredentialProblem("the file is empty"))
        }
        let token = bytes[first...last]
        // A line break inside would split the Authorization header; say so without quoting the token.
        if token.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            return .failure(CredentialProblem("the token contains a line break or another control character; the file must hold exactly one token"))
        }
        return .success(String(decoding: token, as: UTF8.self))
    }

    /// A password: one trailing newline (LF or CRLF) removed, as editors and `echo` add it; nothing else changed.
    static func parsePassword(_ bytes: [UInt8]) -> Result<String, CredentialProblem> {
        var end = bytes.endIndex
        if end > bytes.startIndex, bytes[end - 1] == 0x0A { end -= 1 }
        if end > bytes.startIndex, bytes[end - 1] == 0x0D { end -= 1 }
        return .success(String(decoding: bytes[..<end], as: UTF8.self))
    }

    /// The whole file, or the operating system's reason for not reading it.
    static func readFile(_ path: String) -> Result<[UInt8], CredentialProblem> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(CredentialProblem(errnoDescription(errno))) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(CredentialProblem(errnoDescription(errno)))
            }
            if count == 0 { return .success(bytes) }
            bytes.append(contentsOf: chunk[..<count])
            if bytes.count > maxFileBytes {
                return .failure(CredentialProblem("the file is larger than \(maxFileBytes / 1024) KiB, so it is not a credential file"))
            }
        }
    }

    private static func errnoDescription(_ code: Int32) -> String {
        let text = strerror(code).map { String(cString: $0) } ?? "error \(code)"
        return "\(text) (errno \(code))"
    }
}

/// The one reader of secret files (bearer tokens of Prometheus, Alertmanager, the Kubernetes API, the CLI and the
/// gate's own API tokens): at most 64 KiB, surrounding whitespace trimmed, no control character inside, and errors
/// that name the file and the reason but never quote its content.
public enum SecretFile {
    /// The token in `path`, or why it cannot be used.
    public static func token(at path: String) -> Result<String, SecretFileError> {
        CredentialStore.readFile(path).flatMap(CredentialStore.parseToken).mapError { SecretFileError(path: path, reason: $0.reason) }
    }
}

/// Why a secret file could not be used: the path and the reason, never the content.
public struct SecretFileError: Error, Sendable, CustomStringConvertible {
    /// The path as configured.
    public let path: String
    /// The operating system's reason, or what is wrong with the content.
    public let reason: String

    /// The text people read in logs and answers.
    public var description: String { "\(path): \(reason)" }
}
