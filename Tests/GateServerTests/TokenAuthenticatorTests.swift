import Foundation
import GateConfig
import Testing

@testable import GateServer

/// Scoped tokens without a daemon: which token may do what, and what rotation and revocation do to them.
@Suite struct TokenAuthenticatorTests {
    /// Writes token files into a fresh directory and returns an authenticator over them.
    static func authenticator(_ tokens: [(name: String, value: String, scopes: Set<TokenScope>)]) throws -> (TokenAuthenticator, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gate-auth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var configs: [TokenConfig] = []
        for token in tokens {
            let file = directory.appendingPathComponent(token.name)
            try (token.value + "\n").write(to: file, atomically: true, encoding: .utf8)
            configs.append(TokenConfig(name: token.name, file: file.path, scopes: token.scopes))
        }
        let authenticator = TokenAuthenticator(AuthConfig(tokens: configs))
        try authenticator.load()
        return (authenticator, directory)
    }

    @Test func eachTokenGetsExactlyItsScopes() throws {
        let (auth, directory) = try Self.authenticator([("pipelines", "p-secret", [.windows]), ("flagger", "f-secret", [.flagger])])
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(auth.authorize(header: "Bearer p-secret", scope: .windows) == .allowed(caller: "pipelines"))
        #expect(auth.authorize(header: "bearer p-secret", scope: .windows) == .allowed(caller: "pipelines"), "the scheme is case-insensitive")
        #expect(auth.authorize(header: "Bearer p-secret", scope: .alerts) == .forbidden(caller: "pipelines", scope: .alerts))
        #expect(auth.authorize(token: "f-secret", scope: .flagger) == .allowed(caller: "flagger"))
        #expect(auth.authorize(token: "f-secret", scope: .windows) == .forbidden(caller: "flagger", scope: .windows))
        for header in [nil, "", "Bearer", "Bearer ", "Basic p-secret", "Bearer p-secre", "Bearer p-secrets", "p-secret"] {
            #expect(auth.authorize(header: header, scope: .windows) == .unauthenticated, "\(header ?? "nil")")
        }
        #expect(auth.authorize(token: nil, scope: .flagger) == .unauthenticated)
    }

    @Test func noTokenAndAMissingFileAreStartupErrorsNamingTheToken() throws {
        #expect(throws: AuthFileError.self) { try TokenAuthenticator(AuthConfig()).load() }
        let missing = TokenAuthenticator(AuthConfig(tokens: [TokenConfig(name: "pipelines", file: "/nonexistent/token", scopes: [.windows])]))
        do {
            try missing.load()
            Issue.record("loaded a missing file")
        } catch {
            #expect(error.description.contains("pipelines") && error.description.contains("/nonexistent/token"))
        }
        let disabled = TokenAuthenticator(AuthConfig(disabled: true))
        try disabled.load()
        #expect(disabled.authorize(header: nil, scope: .windows) == .allowed(caller: "auth-disabled"))
    }

    @Test func aChangedFileIsReadAtOnceAndAMissingOneKeepsItsTokenOnlyUntilTheNextScheduledReread() throws {
        let (auth, directory) = try Self.authenticator([("pipelines", "old", [.windows])])
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("pipelines")
        try "new\n".write(to: file, atomically: true, encoding: .utf8)
        auth.refresh()
        #expect(auth.authorize(header: "Bearer new", scope: .windows) == .allowed(caller: "pipelines"))
        #expect(auth.authorize(header: "Bearer old", scope: .windows) == .unauthenticated)

        try FileManager.default.removeItem(at: file)
        auth.refresh()
        #expect(auth.authorize(header: "Bearer new", scope: .windows) == .allowed(caller: "pipelines"), "a Secret being swapped is no outage")
        auth.refresh(now: .now + TokenAuthenticator.rereadInterval + .seconds(1))
        #expect(auth.authorize(header: "Bearer new", scope: .windows) == .unauthenticated, "revoked once the next re-read is due")
    }
}
