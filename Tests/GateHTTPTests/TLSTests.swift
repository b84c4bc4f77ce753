import GateHTTP
import Testing

/// HTTPS against a python3 `ssl` server with certificates made by the openssl CLI at test time.
@Suite("TLS")
struct TLSTests {
    let fixture: TLSFixture

    init() throws {
        fixture = try TLSFixture.shared.get()
    }

    @Test func trustsAServerSignedByTheConfiguredCA() async throws {
        let server = try TLSTestServer(fixture: fixture)
        defer { server.stop() }
        try await withClient(.init(tls: TLSOptions(caFile: fixture.caFile))) { client in
            let response = try await client.execute(HTTPRequest(url: server.baseURL + "/"))
            #expect(response.status == 200)
            #expect(response.bodyText == "client=none")
        }
    }

    @Test func rejectsAServerWhoseCAIsNotConfigured() async throws {
        let server = try TLSTestServer(fixture: fixture)
        defer { server.stop() }
        try await withClient { client in
            let error = await failure(of: HTTPRequest(url: server.baseURL + "/"), on: client)
            #expect(error == .tlsFailed)
            #expect(error?.label == "tls")
            #expect(error?.description.contains("tls.caFile") == true)
        }
    }

    @Test func insecureSkipVerifyAcceptsAnUntrustedServer() async throws {
        let server = try TLSTestServer(fixture: fixture)
        defer { server.stop() }
        try await withClient(.init(tls: TLSOptions(insecureSkipVerify: true))) { client in
            let response = try await client.execute(HTTPRequest(url: server.baseURL + "/"))
            #expect(response.status == 200)
        }
    }

    @Test func unreadableCAFileIsATLSError() async throws {
        let server = try TLSTestServer(fixture: fixture)
        defer { server.stop() }
        try await withClient(.init(tls: TLSOptions(caFile: fixture.directory + "/no-such-ca.pem"))) { client in
            let error = await failure(of: HTTPRequest(url: server.baseURL + "/"), on: client)
            #expect(error == .tlsFailed)
        }
    }

    @Test func presentsTheClientCertificateWhenTheServerRequiresOne() async throws {
        let server = try TLSTestServer(fixture: fixture, requireClientCertificate: true)
        defer { server.stop() }
        let tls = TLSOptions(caFile: fixture.caFile, certFile: fixture.clientCert, keyFile: fixture.clientKey)
        try await withClient(.init(tls: tls)) { client in
            let response = try await client.execute(HTTPRequest(url: server.baseURL + "/"))
            #expect(response.status == 200)
            #expect(response.bodyText == "client=gate-client")
        }
    }

    @Test func serverRequiringAClientCertificateRefusesAClientWithoutOne() async throws {
        let server = try TLSTestServer(fixture: fixture, requireClientCertificate: true)
        defer { server.stop() }
        try await withClient(.init(tls: TLSOptions(caFile: fixture.caFile))) { client in
            let error = try #require(await failure(of: HTTPRequest(url: server.baseURL + "/"), on: client))
            // TLS 1.3 rejects the missing certificate after the handshake: depending on timing libcurl reports the
            // TLS alert (tls) or only the dropped connection (transport); either way the description says what to set.
            #expect(error == .tlsFailed || error == .transport)
            #expect(error.description.contains("tls.certFile"))
        }
    }
}
