import Foundation
import GateHTTP
import GateTestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Idle, slow and surplus connections cannot exhaust the daemon: each is closed after `limits.idleTimeout` (a
/// request that does not arrive whole in time too), at most `limits.maxConnections` are served at once, and the
/// daemon keeps answering throughout. (RSS under 500 connections is measured in Benchmarks/connections.sh.)
@Suite struct ConnectionLimitsTests {
    /// A raw TCP connection to the daemon, for clients no HTTP library would be.
    final class RawConnection {
        let fd: Int32

        init(port: Int) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw HarnessError(description: "socket() failed: errno \(errno)") }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard result == 0 else {
                close(fd)
                throw HarnessError(description: "connect() failed: errno \(errno)")
            }
        }

        deinit { close(fd) }

        func send(_ text: String) {
            let bytes = Array(text.utf8)
            _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }

        /// True once the daemon has closed the connection (end of stream or reset); reads and discards any answer.
        var isClosedByPeer: Bool {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                if count == 0 { return true }
                if count < 0 { return errno != EAGAIN && errno != EWOULDBLOCK }
            }
        }
    }

    @Test func fiveHundredIdleAndSlowConnectionsAreClosedWhileTheDaemonKeepsAnswering() async throws {
        try await DaemonTests.Stack.run(interval: "1h", extra: "limits:\n  idleTimeout: 3s") { stack in
            var held: [RawConnection] = []
            for index in 0..<500 {
                let connection = try RawConnection(port: stack.gate.port)
                // Half send nothing; half send part of a request head and stop (slowloris).
                if index % 2 == 1 { connection.send("GET /api/v1/windows HTTP/1.1\r\nHost: gate\r\n") }
                held.append(connection)
            }
            for _ in 0..<20 {
                #expect(try await stack.gate.call("GET", "/healthz").status == 200, "the daemon answers while 500 connections are held")
            }
            try await eventually(timeout: .seconds(60), "every idle and slow connection to be closed by the daemon") {
                held.allSatisfy(\.isClosedByPeer)
            }
            #expect(try await stack.gate.call("GET", "/api/v1/windows").status == 200)
        }
    }

    @Test func aBodySentOneByteAtATimeIsCutOffAfterTheIdleTimeout() async throws {
        try await DaemonTests.Stack.run(interval: "1h", extra: "limits:\n  idleTimeout: 2s") { stack in
            let connection = try RawConnection(port: stack.gate.port)
            connection.send(
                "POST /api/v1/alertmanager HTTP/1.1\r\nHost: gate\r\nAuthorization: Bearer \(stack.gate.token)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
            )
            // Every byte resets an idle timer, so only a whole-request deadline ends this (bounded: 40 s at most).
            var closed = false
            for _ in 0..<160 where !closed {
                connection.send(" ")
                try await Task.sleep(for: .milliseconds(250))
                closed = connection.isClosedByPeer
            }
            #expect(closed, "a request dripping in forever holds no connection")
            #expect(try await stack.gate.call("GET", "/healthz").status == 200)
        }
    }

    @Test func connectionsBeyondTheCapWaitUntilOthersClose() async throws {
        try await DaemonTests.Stack.run(interval: "1h", extra: "limits:\n  idleTimeout: 1h\n  maxConnections: 8") { stack in
            var held = try (0..<8).map { _ in try RawConnection(port: stack.gate.port) }
            // Give the server time to accept all eight; then a ninth client is not served while they are held.
            try await Task.sleep(for: .seconds(1))
            // A client of its own: the harness's pooled keep-alive connection would be served.
            let fresh = HTTPClient()
            let refused = try? await fresh.execute(.init(url: stack.gate.url + "/healthz", timeout: .seconds(2)))
            #expect(refused == nil, "a ninth connection is not served while eight are held")
            held.removeAll()
            try await eventually(timeout: .seconds(30), "the daemon to serve again once connections closed") {
                (try? await fresh.execute(.init(url: stack.gate.url + "/healthz", timeout: .seconds(2))).status) == 200
            }
            await fresh.shutdown()
        }
    }
}
