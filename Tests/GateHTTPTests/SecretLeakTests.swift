import Foundation
import GateHTTP
import Testing

/// Recognisable secrets planted in credential files, URLs and headers; none may appear in an error.
private enum Secret {
    static let token = "tok-7f3a9c1e-SECRET"
    static let password = "pw-hunter2-SECRET"
    static let urlPassword = "urlpass-SECRET"
    static let queryToken = "query-token-SECRET"
    static let headerSecret = "hdr-api-key-SECRET"
    static let all = [token, password, urlPassword, queryToken, headerSecret]
}

/// Errors must say what went wrong without ever carrying a token, a password, URL user info or query values.
@Suite("Secret redaction")
final class SecretLeakTests {
    let directory: String
    let tokenFile: String
    let passwordFile: String

    init() throws {
        directory = try ExternalTools.makeTemporaryDirectory("gatehttp-leak")
        tokenFile = "\(directory)/token"
        passwordFile = "\(directory)/password"
        try "\(Secret.token)\n".write(toFile: tokenFile, atomically: false, encoding: .utf8)
        try "\(Secret.password)\n".write(toFile: passwordFile, atomically: false, encoding: .utf8)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A URL on `port` carrying a password in its user info and a token in its query.
    private func secretURL(_ port: Int, _ path: String = "/api") -> String {
        "http://gate:\(Secret.urlPassword)@127.0.0.1:\(port)\(path)?access_token=\(Secret.queryToken)&limit=5"
    }

    private func request(_ url: String, timeout: Duration = .seconds(10)) -> HTTPRequest {
        HTTPRequest(url: url, headers: [(name: "X-Api-Key", value: Secret.headerSecret)], timeout: timeout)
    }

    /// Drives `client` into every failure it can produce and returns the errors.
    private func everyFailure(with client: HTTPClient, tls: TLSTestServer) async throws -> [HTTPClientError] {
        var errors: [HTTPClientError?] = []
        do {
            let server = try TestHTTPServer { _ in .hang }
            defer { server.stop() }
            errors.append(await failure(of: request(secretURL(server.port), timeout: .milliseconds(200)), on: client))
        }
        let refusing = try RefusingPort()
        errors.append(await failure(of: request(secretURL(refusing.port)), on: client))
        refusing.release()
        do {
            let server = try TestHTTPServer { _ in .respond(status: 200, body: Array(repeating: 1, count: 4096)) }
            defer { server.stop() }
            errors.append(await failure(of: request(secretURL(server.port)), on: client))
        }
        do {
            let server = try TestHTTPServer { _ in .closeWithoutReply }
            defer { server.stop() }
            errors.append(await failure(of: request(secretURL(server.port)), on: client))
        }
        do {
            let server = try TestHTTPServer { _ in .respond(status: 200) }
            defer { server.stop() }
            let secretRequest = request(secretURL(server.port))
            let task = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                return try await client.execute(secretRequest)
            }
            do {
                _ = try await task.value
            } catch let error as HTTPClientError {
                errors.append(error)
            }
        }
        errors.append(await failure(of: request("http://gate:\(Secret.urlPassword)@[::1/x?token=\(Secret.queryToken)"), on: client))
        let injected = HTTPRequest(url: secretURL(1), headers: [(name: "X-Api-Key", value: "\(Secret.headerSecret)\r\nX: y")])
        errors.append(await failure(of: injected, on: client))
        errors.append(await failure(of: request("https://gate:\(Secret.urlPassword)@127.0.0.1:\(tls.port)/?token=\(Secret.queryToken)"), on: client))
        return errors.compactMap { $0 }
    }

    @Test func errorsOnEveryFailurePathNeverContainSecrets() async throws {
        let tls = try TLSTestServer(fixture: try TLSFixture.shared.get())
        defer { tls.stop() }
        var errors: [HTTPClientError] = []
        for credentials in [Credentials.bearerTokenFile(tokenFile), .basic(username: "velero", passwordFile: passwordFile)] {
            try await withClient(.init(credentials: credentials, maxResponseBytes: 1024)) { client in
                errors += try await everyFailure(with: client, tls: tls)
            }
        }

        // Unusable credential files: the error names the path but never the content.
        let badToken = "\(directory)/two-lines"
        try "first-line\n\(Secret.token)\n".write(toFile: badToken, atomically: false, encoding: .utf8)
        for credentials in [Credentials.bearerTokenFile(badToken), .bearerTokenFile("\(directory)/missing")] {
            try await withClient(.init(credentials: credentials)) { client in
                errors += [await failure(of: request(secretURL(1)), on: client)].compactMap { $0 }
            }
        }

        let closed = HTTPClient(configuration: .init(credentials: .bearerTokenFile(tokenFile)))
        await closed.shutdown()
        errors += [await failure(of: request(secretURL(1)), on: closed)].compactMap { $0 }

        for error in errors {
            expectNoSecrets(in: error, Secret.all)
        }
        let labels = Set(errors.map(\.label))
        #expect(
            labels == [
                "timeout", "connect_failed", "response_too_large", "transport", "cancelled", "invalid_url", "invalid_request", "tls",
                "credentials_unreadable", "shutdown",
            ]
        )
    }

    @Test func descriptionNamesMethodAndURLWithUserInfoAndQueryValuesRedacted() async throws {
        let refusing = try RefusingPort()
        defer { refusing.release() }
        try await withClient { client in
            let error = try #require(await failure(of: request(secretURL(refusing.port, "/api/v1/query")), on: client))
            #expect(error.description.contains("GET http://127.0.0.1:\(refusing.port)/api/v1/query?access_token=REDACTED&limit=REDACTED"))
            #expect(error.description.contains("To fix:"))
            expectNoSecrets(in: error, Secret.all + ["gate:"])
        }
    }

    @Test(arguments: [
        (HTTPClientError.timeout, "timeout"), (.connectFailed, "connect_failed"), (.tlsFailed, "tls"),
        (.responseTooLarge, "response_too_large"), (.cancelled, "cancelled"), (.credentialsUnreadable, "credentials_unreadable"),
        (.invalidURL, "invalid_url"), (.invalidRequest, "invalid_request"), (.shutdown, "shutdown"), (.transport, "transport"),
    ])
    func everyKindHasABoundedMetricLabel(error: HTTPClientError, label: String) {
        #expect(error.label == label)
        #expect(error.description.hasPrefix(label + ": "))
        #expect(error == error)
        #expect(error != (label == "timeout" ? .transport : .timeout))
    }
}
