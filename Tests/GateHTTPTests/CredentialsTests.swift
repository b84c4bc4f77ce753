import Foundation
import GateHTTP
import Testing

/// Bearer and basic credentials read from files, with caching and rotation.
@Suite("Credentials")
final class CredentialsTests {
    let directory: String

    init() throws {
        directory = try ExternalTools.makeTemporaryDirectory("gatehttp-creds")
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func write(_ text: String, to name: String) throws -> String {
        let path = "\(directory)/\(name)"
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    private func echoAuthorization() -> @Sendable (ReceivedRequest) -> Reply {
        { request in .text(200, request.header("Authorization") ?? "<none>") }
    }

    @Test func sendsTheBearerTokenFromTheFileWithoutSurroundingWhitespace() async throws {
        let tokenFile = try write("  token-one\n", to: "token")
        let server = try TestHTTPServer(echoAuthorization())
        defer { server.stop() }
        try await withClient(.init(credentials: .bearerTokenFile(tokenFile))) { client in
            let response = try await client.execute(HTTPRequest(url: server.baseURL))
            #expect(response.bodyText == "Bearer token-one")
            #expect(server.requests.first?.headerValues("authorization").count == 1)
        }
    }

    @Test func keepsTheCachedTokenUntilRefreshCredentialsThenSendsTheRotatedOne() async throws {
        let tokenFile = try write("token-one\n", to: "token")
        let server = try TestHTTPServer(echoAuthorization())
        defer { server.stop() }
        try await withClient(.init(credentials: .bearerTokenFile(tokenFile), credentialRefresh: .seconds(3600))) { client in
            #expect(try await client.execute(HTTPRequest(url: server.baseURL)).bodyText == "Bearer token-one")
            _ = try write("token-two\n", to: "token")
            #expect(try await client.execute(HTTPRequest(url: server.baseURL)).bodyText == "Bearer token-one")
            client.refreshCredentials()
            #expect(try await client.execute(HTTPRequest(url: server.baseURL)).bodyText == "Bearer token-two")
        }
    }

    @Test func rereadsTheTokenOnceTheCachedCopyIsOlderThanCredentialRefresh() async throws {
        let tokenFile = try write("token-one", to: "token")
        let server = try TestHTTPServer(echoAuthorization())
        defer { server.stop() }
        try await withClient(.init(credentials: .bearerTokenFile(tokenFile), credentialRefresh: .milliseconds(50))) { client in
            #expect(try await client.execute(HTTPRequest(url: server.baseURL)).bodyText == "Bearer token-one")
            _ = try write("token-two", to: "token")
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await client.execute(HTTPRequest(url: server.baseURL)).bodyText == "Bearer token-two")
        }
    }

    @Test func sendsBasicAuthorizationWithThePasswordFromTheFile() async throws {
        let passwordFile = try write("pa55 word:x\n", to: "password")
        let server = try TestHTTPServer(echoAuthorization())
        defer { server.stop() }
        try await withClient(.init(credentials: .basic(username: "velero", passwordFile: passwordFile))) { client in
            let response = try await client.execute(HTTPRequest(url: server.baseURL))
            #expect(response.bodyText == "Basic " + Data("velero:pa55 word:x".utf8).base64EncodedString())
        }
    }

    @Test func anAuthorizationHeaderOnTheRequestWinsOverConfiguredCredentials() async throws {
        let tokenFile = try write("configured", to: "token")
        let server = try TestHTTPServer(echoAuthorization())
        defer { server.stop() }
        try await withClient(.init(credentials: .bearerTokenFile(tokenFile))) { client in
            let request = HTTPRequest(url: server.baseURL, headers: [(name: "Authorization", value: "Bearer explicit")])
            let response = try await client.execute(request)
            #expect(response.bodyText == "Bearer explicit")
            #expect(server.requests.first?.headerValues("authorization") == ["Bearer explicit"])
        }
    }

    @Test func missingTokenFileIsCredentialsUnreadableNamingThePath() async throws {
        let missing = "\(directory)/no-such-token"
        let server = try TestHTTPServer(echoAuthorization())
        defer { server.stop() }
        try await withClient(.init(credentials: .bearerTokenFile(missing))) { client in
            let error = await failure(of: HTTPRequest(url: server.baseURL), on: client)
            #expect(error == .credentialsUnreadable)
            #expect(error?.label == "credentials_unreadable")
            #expect(error?.description.contains(missing) == true)
            #expect(error?.description.contains("No such file") == true)
            #expect(server.requests.isEmpty)
        }
    }

    @Test(arguments: ["", " \n", "first-half\nsecond-half"])
    func tokenFileThatIsEmptyOrHoldsSeveralLinesIsCredentialsUnreadable(content: String) async throws {
        let tokenFile = try write(content, to: "token")
        try await withClient(.init(credentials: .bearerTokenFile(tokenFile))) { client in
            let error = await failure(of: HTTPRequest(url: "http://127.0.0.1:1/"), on: client)
            #expect(error == .credentialsUnreadable)
            #expect(error?.description.contains(tokenFile) == true)
            expectNoSecrets(in: error, ["first-half", "second-half"])
        }
    }
}
