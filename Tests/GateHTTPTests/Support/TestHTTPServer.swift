import Foundation
import Glibc
import Synchronization

/// A request as the test server received it.
struct ReceivedRequest: Sendable {
    var method: String
    var target: String
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    /// The last value of a header, matched case-insensitively.
    func header(_ name: String) -> String? {
        headers.last { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// All values of a header, matched case-insensitively.
    func headerValues(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }
}

/// What the test server does with a request.
enum Reply: Sendable {
    /// A complete response with a Content-Length; the connection stays open for the next request.
    case respond(status: Int, headers: [(String, String)] = [], body: [UInt8] = [])
    /// A response without Content-Length whose body ends when the server closes the connection.
    case streamThenClose(body: [UInt8])
    /// Reads the request and never answers; the connection stays open until the client gives up.
    case hang
    /// Closes the connection without sending anything.
    case closeWithoutReply

    static func text(_ status: Int, _ text: String, headers: [(String, String)] = []) -> Reply {
        .respond(status: status, headers: headers + [("Content-Type", "text/plain")], body: Array(text.utf8))
    }
}

enum TestServerError: Error {
    case socket(String)
}

/// A minimal blocking HTTP/1.1 server on 127.0.0.1 with an OS-chosen port: one thread accepts, one thread per
/// connection serves requests in a keep-alive loop. It counts connections so tests can see connection reuse.
final class TestHTTPServer: Sendable {
    private struct State {
        var acceptedConnections = 0
        var requests: [ReceivedRequest] = []
        var openSockets: Set<Int32> = []
        var stopped = false
    }

    /// The port the OS picked.
    let port: Int
    private let listener: Int32
    private let handler: @Sendable (ReceivedRequest) -> Reply
    private let state = Mutex(State())

    /// Starts listening and accepting; `handler` decides each reply.
    init(_ handler: @escaping @Sendable (ReceivedRequest) -> Reply) throws {
        let (fd, port) = try Loopback.bind()
        guard listen(fd, 64) == 0 else {
            close(fd)
            throw TestServerError.socket("listen: \(errno)")
        }
        self.listener = fd
        self.port = port
        self.handler = handler
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// `http://127.0.0.1:<port>`.
    var baseURL: String { "http://127.0.0.1:\(port)" }
    /// How many TCP connections were accepted so far.
    var acceptedConnections: Int { state.withLock { $0.acceptedConnections } }
    /// Every request received so far, in order.
    var requests: [ReceivedRequest] { state.withLock { $0.requests } }

    /// Stops accepting and breaks every open connection; idempotent.
    func stop() {
        state.withLock { state in
            guard !state.stopped else { return }
            state.stopped = true
            // shutdown() wakes the threads blocked in accept()/recv(); each closes its own descriptor.
            shutdown(listener, Int32(SHUT_RDWR))
            for fd in state.openSockets { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    /// Waits (polling) until `condition` holds for the recorded requests, up to `timeout`.
    func waitFor(timeout: Duration = .seconds(60), _ condition: ([ReceivedRequest]) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition(requests) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition(requests)
    }

    private func acceptLoop() {
        defer { close(listener) }
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR { continue }
                return
            }
            let admitted = state.withLock { state in
                guard !state.stopped else { return false }
                state.acceptedConnections += 1
                state.openSockets.insert(fd)
                return true
            }
            guard admitted else {
                close(fd)
                return
            }
            Thread.detachNewThread { [self] in serve(fd) }
        }
    }

    private func serve(_ fd: Int32) {
        defer {
            state.withLock { _ = $0.openSockets.remove(fd) }
            close(fd)
        }
        var buffer: [UInt8] = []
        while let request = Self.readRequest(fd, buffer: &buffer) {
            state.withLock { $0.requests.append(request) }
            switch handler(request) {
            case .respond(let status, let headers, let body):
                var head = "HTTP/1.1 \(status) \(Self.reason(status))\r\nContent-Length: \(body.count)\r\n"
                for (name, value) in headers { head += "\(name): \(value)\r\n" }
                guard Self.send(fd, Array((head + "\r\n").utf8) + body) else { return }
            case .streamThenClose(let body):
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
                _ = Self.send(fd, Array(head.utf8))
                // In pieces, so the client's write callback sees several chunks.
                var offset = 0
                while offset < body.count {
                    let end = min(offset + 4096, body.count)
                    guard Self.send(fd, Array(body[offset..<end])) else { return }
                    offset = end
                }
                return
            case .hang:
                var scratch = [UInt8](repeating: 0, count: 1024)
                while (scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }) > 0 {}
                return
            case .closeWithoutReply:
                return
            }
        }
    }

    private static func readRequest(_ fd: Int32, buffer: inout [UInt8]) -> ReceivedRequest? {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var headerEnd: Int?
        while true {
            if let end = buffer.firstRange(of: separator)?.lowerBound {
                headerEnd = end
                break
            }
            guard receive(fd, into: &buffer) else { return nil }
        }
        guard let headerEnd else { return nil }
        let head = String(decoding: buffer[..<headerEnd], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count == 3 else { return nil }
        let headers = lines.compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        let length = headers.last { $0.name.lowercased() == "content-length" }.flatMap { Int($0.value) } ?? 0
        let bodyStart = headerEnd + separator.count
        while buffer.count < bodyStart + length {
            guard receive(fd, into: &buffer) else { return nil }
        }
        let body = Array(buffer[bodyStart..<(bodyStart + length)])
        buffer.removeFirst(bodyStart + length)
        return ReceivedRequest(method: String(requestLine[0]), target: String(requestLine[1]), headers: headers, body: body)
    }

    private static func receive(_ fd: Int32, into buffer: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return false }
        buffer.append(contentsOf: chunk[..<count])
        return true
    }

    private static func send(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { return false }
            offset += sent
        }
        return true
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 204: "No Content"
        case 401: "Unauthorized"
        case 404: "Not Found"
        case 500: "Internal Server Error"
        default: "Status"
        }
    }
}

/// Loopback sockets for tests.
enum Loopback {
    /// A TCP socket bound to 127.0.0.1 on a port the OS picks, and that port.
    static func bind() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestServerError.socket("socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            close(fd)
            throw TestServerError.socket("bind: \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else {
            close(fd)
            throw TestServerError.socket("getsockname: \(errno)")
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }
}

/// A loopback port that is bound but not listening, so connecting to it is refused; held until `release()`.
final class RefusingPort: Sendable {
    /// The reserved port.
    let port: Int
    private let fd: Int32

    init() throws {
        (fd, port) = try Loopback.bind()
    }

    /// Gives the port back.
    func release() { close(fd) }
}
