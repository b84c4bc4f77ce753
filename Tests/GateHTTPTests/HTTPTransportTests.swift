import GateHTTP
import Testing

/// Plain-HTTP behaviour against a real server on 127.0.0.1.
@Suite("HTTP transport")
struct HTTPTransportTests {
    @Test func getSendsHeadersAndReturnsStatusHeadersAndBody() async throws {
        let server = try TestHTTPServer { _ in .text(200, "hello", headers: [("X-Served-By", "test")]) }
        defer { server.stop() }
        try await withClient { client in
            let response = try await client.execute(
                HTTPRequest(url: server.baseURL + "/api/v1/status?x=1", headers: [(name: "X-Request-Id", value: "abc-123")])
            )
            #expect(response.status == 200)
            #expect(response.bodyText == "hello")
            #expect(response.headers["x-served-by"] == "test")
            #expect(response.headers["content-type"] == "text/plain")
            let received = try #require(server.requests.first)
            #expect(received.method == "GET")
            #expect(received.target == "/api/v1/status?x=1")
            #expect(received.header("X-Request-Id") == "abc-123")
            #expect(received.header("Expect") == nil)
        }
    }

    @Test func postSendsBodyAndHeadersAndReturnsTheReply() async throws {
        let payload = Array(#"{"query":"up"}"#.utf8) + Array(repeating: UInt8(ascii: " "), count: 4000)
        let server = try TestHTTPServer { request in .respond(status: 201, body: request.body.reversed()) }
        defer { server.stop() }
        try await withClient { client in
            let response = try await client.execute(
                HTTPRequest(
                    method: "POST",
                    url: server.baseURL + "/submit",
                    headers: [(name: "Content-Type", value: "application/json")],
                    body: payload
                )
            )
            #expect(response.status == 201)
            #expect(response.body == payload.reversed())
            let received = try #require(server.requests.first)
            #expect(received.method == "POST")
            #expect(received.body == payload)
            #expect(received.header("content-type") == "application/json")
            // A body over 1 KiB would make older libcurl send `Expect: 100-continue` and wait; the client disables it.
            #expect(received.header("expect") == nil)
        }
    }

    @Test(arguments: [("PUT", Array("x".utf8)), ("PATCH", Array("{}".utf8)), ("DELETE", nil), ("POST", nil)] as [(String, [UInt8]?)])
    func sendsTheGivenMethodWithOrWithoutBody(method: String, body: [UInt8]?) async throws {
        let server = try TestHTTPServer { _ in .respond(status: 204) }
        defer { server.stop() }
        try await withClient { client in
            let response = try await client.execute(HTTPRequest(method: method, url: server.baseURL + "/thing", body: body))
            #expect(response.status == 204)
            let received = try #require(server.requests.first)
            #expect(received.method == method)
            #expect(received.body == (body ?? []))
        }
    }

    @Test(arguments: [404, 500])
    func nonSuccessStatusIsReturnedAsResponse(status: Int) async throws {
        let server = try TestHTTPServer { _ in .text(status, #"{"error":"nope"}"#) }
        defer { server.stop() }
        try await withClient { client in
            let response = try await client.execute(HTTPRequest(url: server.baseURL + "/missing"))
            #expect(response.status == status)
            #expect(response.bodyText == #"{"error":"nope"}"#)
        }
    }

    @Test func repeatedResponseHeaderKeepsTheLastValueUnderALowercasedName() async throws {
        let server = try TestHTTPServer { _ in .respond(status: 200, headers: [("X-Dup", "first"), ("x-DUP", "second")]) }
        defer { server.stop() }
        try await withClient { client in
            let response = try await client.execute(HTTPRequest(url: server.baseURL))
            #expect(response.headers["x-dup"] == "second")
        }
    }

    @Test func timesOutAgainstServerThatNeverAnswers() async throws {
        let server = try TestHTTPServer { _ in .hang }
        defer { server.stop() }
        try await withClient { client in
            // The server never answers, so `.timeout` can only come from the request's own 300 ms timeout.
            let error = await failure(of: HTTPRequest(url: server.baseURL + "/slow", timeout: .milliseconds(300)), on: client)
            #expect(error == .timeout)
            #expect(error?.label == "timeout")
            #expect(error?.description.contains("/slow") == true)
        }
    }

    @Test func refusedConnectionIsConnectFailed() async throws {
        let port = try RefusingPort()
        defer { port.release() }
        try await withClient { client in
            let error = await failure(of: HTTPRequest(url: "http://127.0.0.1:\(port.port)/"), on: client)
            #expect(error == .connectFailed)
            #expect(error?.label == "connect_failed")
            #expect(error?.description.contains("127.0.0.1:\(port.port)") == true)
        }
    }

    @Test func responseAnnouncedOverTheLimitIsTooLarge() async throws {
        let server = try TestHTTPServer { _ in .respond(status: 200, body: Array(repeating: 7, count: 4096)) }
        defer { server.stop() }
        try await withClient(.init(maxResponseBytes: 1024)) { client in
            let error = await failure(of: HTTPRequest(url: server.baseURL), on: client)
            #expect(error == .responseTooLarge)
            #expect(error?.label == "response_too_large")
            #expect(error?.description.contains("1024") == true)
        }
    }

    @Test func streamedResponseGrowingPastTheLimitIsTooLarge() async throws {
        let server = try TestHTTPServer { _ in .streamThenClose(body: Array(repeating: 7, count: 64 << 10)) }
        defer { server.stop() }
        try await withClient(.init(maxResponseBytes: 10_000)) { client in
            let error = await failure(of: HTTPRequest(url: server.baseURL), on: client)
            #expect(error == .responseTooLarge)
        }
    }

    @Test(arguments: [false, true])
    func responseExactlyAtTheLimitIsAccepted(streamed: Bool) async throws {
        let body = Array(repeating: UInt8(7), count: 10_000)
        let server = try TestHTTPServer { _ in streamed ? .streamThenClose(body: body) : .respond(status: 200, body: body) }
        defer { server.stop() }
        try await withClient(.init(maxResponseBytes: 10_000)) { client in
            let response = try await client.execute(HTTPRequest(url: server.baseURL))
            #expect(response.body == body)
        }
    }

    @Test func cancellingTheTaskAbortsAHangingRequest() async throws {
        let server = try TestHTTPServer { _ in .hang }
        defer { server.stop() }
        try await withClient { client in
            // Without cancellation the request would end in `.timeout`: `.cancelled` proves the cancel aborted it.
            let task = Task { try await client.execute(HTTPRequest(url: server.baseURL + "/hang", timeout: .seconds(300))) }
            // Cancel only once the request is on the wire, so the progress callback is what aborts it.
            #expect(await server.waitFor { $0.count == 1 })
            task.cancel()
            let result = await task.result
            #expect(throws: HTTPClientError.cancelled) { try result.get() }
        }
    }

    @Test func alreadyCancelledTaskFailsWithoutSending() async throws {
        let server = try TestHTTPServer { _ in .respond(status: 200) }
        defer { server.stop() }
        try await withClient { client in
            let task = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                return try await client.execute(HTTPRequest(url: server.baseURL))
            }
            await #expect(throws: HTTPClientError.cancelled) { try await task.value }
            #expect(server.requests.isEmpty)
        }
    }

    @Test func sequentialRequestsReuseOneKeepAliveConnection() async throws {
        let server = try TestHTTPServer { request in .text(200, request.target) }
        defer { server.stop() }
        try await withClient { client in
            for path in ["/one", "/two", "/three"] {
                let response = try await client.execute(HTTPRequest(url: server.baseURL + path))
                #expect(response.bodyText == path)
            }
            #expect(server.requests.count == 3)
            #expect(server.acceptedConnections == 1)
        }
    }

    @Test func concurrentRequestsEachGetTheirOwnResponse() async throws {
        let server = try TestHTTPServer { request in .text(200, request.target) }
        defer { server.stop() }
        try await withClient { client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<12 {
                    group.addTask {
                        let response = try await client.execute(HTTPRequest(url: server.baseURL + "/item/\(index)"))
                        #expect(response.bodyText == "/item/\(index)")
                    }
                }
                try await group.waitForAll()
            }
            #expect(server.requests.count == 12)
        }
    }

    @Test func serverClosingWithoutReplyIsTransportError() async throws {
        let server = try TestHTTPServer { _ in .closeWithoutReply }
        defer { server.stop() }
        try await withClient { client in
            let error = await failure(of: HTTPRequest(url: server.baseURL + "/drop"), on: client)
            #expect(error == .transport)
            #expect(error?.label == "transport")
        }
    }

    @Test(arguments: ["not a url", "ftp://127.0.0.1/file", "http://", "/relative/path", "file:///etc/passwd"])
    func unusableURLIsInvalidURL(url: String) async throws {
        try await withClient { client in
            let error = await failure(of: HTTPRequest(url: url), on: client)
            #expect(error == .invalidURL)
            #expect(error?.label == "invalid_url")
        }
    }

    @Test func headerWithLineBreakIsRejectedBeforeSending() async throws {
        let server = try TestHTTPServer { _ in .respond(status: 200) }
        defer { server.stop() }
        try await withClient { client in
            let injected = HTTPRequest(url: server.baseURL, headers: [(name: "X-Note", value: "a\r\nX-Injected: yes")])
            #expect(await failure(of: injected, on: client)?.label == "invalid_request")
            let badMethod = HTTPRequest(method: "GET /evil", url: server.baseURL)
            #expect(await failure(of: badMethod, on: client)?.label == "invalid_request")
            #expect(server.requests.isEmpty)
        }
    }

    @Test func shutdownAbortsRequestsInFlightAndLaterRequestsFail() async throws {
        let server = try TestHTTPServer { _ in .hang }
        defer { server.stop() }
        let client = HTTPClient()
        // Without the shutdown the request would end in `.timeout`: `.shutdown` proves the shutdown aborted it.
        let inFlight = Task { try await client.execute(HTTPRequest(url: server.baseURL, timeout: .seconds(300))) }
        #expect(await server.waitFor { $0.count == 1 })
        await client.shutdown()
        await client.shutdown()  // idempotent
        await #expect(throws: HTTPClientError.shutdown) { try await inFlight.value }
        let error = await failure(of: HTTPRequest(url: server.baseURL), on: client)
        #expect(error?.label == "shutdown")
    }
}
