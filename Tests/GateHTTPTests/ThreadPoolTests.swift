import GateHTTP
import NIOPosix
import Testing

/// Running on a thread pool the caller owns.
@Suite("Thread pool")
struct ThreadPoolTests {
    @Test func usesACallerProvidedPoolAndLeavesItRunningAfterShutdown() async throws {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        let server = try TestHTTPServer { _ in .text(200, "ok") }
        defer { server.stop() }

        let client = HTTPClient(threadPool: pool)
        #expect(try await client.execute(HTTPRequest(url: server.baseURL)).bodyText == "ok")
        await client.shutdown()
        #expect(try await pool.runIfActive { 42 } == 42)
        try await pool.shutdownGracefully()
    }

    @Test func aPoolThatWasNeverStartedFailsWithShutdown() async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        let client = HTTPClient(threadPool: pool)
        let error = await failure(of: HTTPRequest(url: "http://127.0.0.1:1/"), on: client)
        #expect(error == .shutdown)
        #expect(error?.description.contains("start the NIOThreadPool") == true)
        await client.shutdown()
        try? await pool.shutdownGracefully()
    }
}
