import Foundation
import Glibc

/// A failure to set up a test dependency (openssl, python3), with the tool's own output.
struct SetupError: Error, CustomStringConvertible {
    let description: String
}

/// Runs command-line tools the TLS tests need: `openssl` to make certificates and `python3` to serve TLS.
enum ExternalTools {
    /// The absolute path of `name`, preferring /usr/bin (Debian's python3 has the `ssl` module) over PATH.
    static func find(_ name: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let candidates = ["/usr/bin", "/usr/local/bin"] + path.split(separator: ":").map(String.init)
        for directory in candidates where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
            return "\(directory)/\(name)"
        }
        throw SetupError(description: "\(name) is not installed (looked in /usr/bin, /usr/local/bin and PATH)")
    }

    /// Runs `tool` with `arguments` in `directory` and throws with its output if it fails.
    static func run(_ tool: String, _ arguments: [String], in directory: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try find(tool))
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw SetupError(description: "\(tool) \(arguments.joined(separator: " ")) failed:\n\(text)")
        }
    }

    /// A fresh temporary directory.
    static func makeTemporaryDirectory(_ prefix: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// A throwaway PKI made with the openssl CLI: a CA, a server certificate for IP 127.0.0.1 and a client certificate.
struct TLSFixture: Sendable {
    let directory: String
    var caFile: String { "\(directory)/ca.pem" }
    var serverCert: String { "\(directory)/server.pem" }
    var serverKey: String { "\(directory)/server.key" }
    var clientCert: String { "\(directory)/client.pem" }
    var clientKey: String { "\(directory)/client.key" }

    /// Made once per test process and shared by every TLS test.
    static let shared: Result<TLSFixture, any Error> = Result { try TLSFixture.make() }

    private static func make() throws -> TLSFixture {
        let directory = try ExternalTools.makeTemporaryDirectory("gatehttp-pki")
        // Removed when the test process exits; `shared` is made once, so this registers once.
        atexit {
            if case .success(let fixture) = TLSFixture.shared {
                try? FileManager.default.removeItem(atPath: fixture.directory)
            }
        }
        let ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try ExternalTools.run(
            "openssl",
            ["req", "-x509"] + ecKey + [
                "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=gate-http-test-ca",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ],
            in: directory
        )
        for (name, usage, extra) in [("server", "serverAuth", "subjectAltName=IP:127.0.0.1\n"), ("client", "clientAuth", "")] {
            let extensions =
                extra + """
                    basicConstraints=CA:FALSE
                    keyUsage=critical,digitalSignature
                    extendedKeyUsage=\(usage)
                    subjectKeyIdentifier=hash
                    authorityKeyIdentifier=keyid

                    """
            try extensions.write(toFile: "\(directory)/\(name).ext", atomically: false, encoding: .utf8)
            let commonName = name == "server" ? "127.0.0.1" : "gate-client"
            try ExternalTools.run(
                "openssl",
                ["req"] + ecKey + ["-keyout", "\(name).key", "-out", "\(name).csr", "-subj", "/CN=\(commonName)"],
                in: directory
            )
            try ExternalTools.run(
                "openssl",
                [
                    "x509", "-req", "-in", "\(name).csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                    "-out", "\(name).pem", "-days", "2", "-extfile", "\(name).ext",
                ],
                in: directory
            )
        }
        return TLSFixture(directory: directory)
    }
}

/// An HTTPS server on 127.0.0.1 (python3's `ssl` and `http.server`) that answers `GET` with the client
/// certificate's common name; optionally requires a client certificate signed by the fixture CA.
final class TLSTestServer: Sendable {
    private static let script = #"""
        import http.server, os, ssl, sys, threading
        cert, key, client_ca = sys.argv[1], sys.argv[2], (sys.argv[3] if len(sys.argv) > 3 else None)

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def do_GET(self):
                peer = self.connection.getpeercert() or {}
                names = dict(item[0] for item in peer.get("subject", ()))
                body = ("client=" + names.get("commonName", "none")).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args):
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        if client_ca:
            context.load_verify_locations(client_ca)
            context.verify_mode = ssl.CERT_REQUIRED
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        # Exit when the test process goes away (stdin closes), so no server outlives a crashed test run.
        threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """#

    /// The port the server listens on.
    let port: Int
    private let process: Process
    // Kept open: the server exits when this pipe's write end closes.
    private let stdin: Pipe

    /// `https://127.0.0.1:<port>`.
    var baseURL: String { "https://127.0.0.1:\(port)" }

    /// Starts the server and waits until it listens.
    init(fixture: TLSFixture, requireClientCertificate: Bool = false) throws {
        let scriptPath = "\(fixture.directory)/tls_server.py"
        if !FileManager.default.fileExists(atPath: scriptPath) {
            try Self.script.write(toFile: scriptPath, atomically: false, encoding: .utf8)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try ExternalTools.find("python3"))
        process.arguments = [scriptPath, fixture.serverCert, fixture.serverKey] + (requireClientCertificate ? [fixture.caFile] : [])
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        // Python prints a traceback for every refused handshake; those are expected here.
        process.standardError = FileHandle.nullDevice
        try process.run()

        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = stdout.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            kill(process.processIdentifier, SIGKILL)
            throw SetupError(description: "the python3 TLS server did not start (printed \(line.count) bytes)")
        }
        self.port = port
        self.process = process
        self.stdin = stdin
    }

    /// Stops the server and waits for it to exit.
    func stop() {
        // SIGKILL, not terminate(): a child spawned from a dispatch worker thread inherits its blocked SIGTERM.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
