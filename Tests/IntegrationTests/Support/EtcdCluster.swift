import Foundation
import GateHTTP
import GateTestKit

/// A real 3-member etcd cluster (Debian's `etcd-server`) on loopback, with fast elections so a
/// killed leader is replaced within about a second.
final class EtcdCluster: Sendable {
    struct Member: Sendable {
        let name: String
        let clientPort: Int
        let peerPort: Int
        let process: ServiceProcess
        var clientURL: String { "http://127.0.0.1:\(clientPort)" }
        var target: String { "127.0.0.1:\(clientPort)" }
    }

    let members: [Member]
    let directory: TemporaryDirectory
    let http = HTTPClient()

    static func start(size: Int = 3) async throws -> EtcdCluster {
        let directory = try TemporaryDirectory(prefix: "etcd")
        let ports = try (0..<size).map { _ in (client: try freeLoopbackPort(), peer: try freeLoopbackPort()) }
        let initialCluster = ports.enumerated().map { "m\($0.offset)=http://127.0.0.1:\($0.element.peer)" }.joined(separator: ",")
        var members: [Member] = []
        for (index, port) in ports.enumerated() {
            let name = "m\(index)"
            let process = try ServiceProcess(
                name: "etcd-\(name)",
                executable: "etcd",
                arguments: [
                    "--name", name, "--data-dir", directory.file(name),
                    "--listen-client-urls", "http://127.0.0.1:\(port.client)", "--advertise-client-urls", "http://127.0.0.1:\(port.client)",
                    "--listen-peer-urls", "http://127.0.0.1:\(port.peer)", "--initial-advertise-peer-urls", "http://127.0.0.1:\(port.peer)",
                    "--initial-cluster", initialCluster, "--initial-cluster-state", "new", "--initial-cluster-token", "upgrade-gate-test",
                    "--heartbeat-interval", "50", "--election-timeout", "500", "--log-level", "warn",
                ],
                logPath: directory.file("\(name).log")
            )
            members.append(Member(name: name, clientPort: port.client, peerPort: port.peer, process: process))
        }
        let cluster = EtcdCluster(members: members, directory: directory)
        do {
            try await eventually(timeout: .seconds(90), "the etcd cluster to elect a leader") {
                try await cluster.leader() != nil
            }
        } catch {
            throw HarnessError(description: "\(error)\n" + members.map { "\($0.name): \($0.process.log)" }.joined(separator: "\n"))
        }
        return cluster
    }

    private init(members: [Member], directory: TemporaryDirectory) {
        self.members = members
        self.directory = directory
    }

    /// The member that reports itself leader (`etcd_server_is_leader 1`), if any.
    func leader() async throws -> Member? {
        for member in members where member.process.isRunning {
            guard let response = try? await http.execute(HTTPRequest(url: member.clientURL + "/metrics", timeout: .seconds(2))) else { continue }
            if response.bodyText.split(separator: "\n").contains("etcd_server_is_leader 1") { return member }
        }
        return nil
    }

    func stop() async {
        for member in members { await member.process.stop() }
        await http.shutdown()
    }
}

/// A real Alertmanager (Debian's `prometheus-alertmanager` 0.25) on loopback, clustering off,
/// routing everything to the gate's webhook with the gate's bearer token.
final class AlertmanagerServer: Sendable {
    let port: Int
    let directory: TemporaryDirectory
    let process: ServiceProcess
    var url: String { "http://127.0.0.1:\(port)" }
    var target: String { "127.0.0.1:\(port)" }

    static func start(port: Int, webhook: String, tokenFile: String, repeatInterval: String = "1h") async throws -> AlertmanagerServer {
        let directory = try TemporaryDirectory(prefix: "alertmanager")
        let config = try directory.write(
            "alertmanager.yml",
            """
            route:
              receiver: upgrade-gate
              group_by: ['alertname']
              group_wait: 0s
              group_interval: 1s
              repeat_interval: \(repeatInterval)
            receivers:
              - name: upgrade-gate
                webhook_configs:
                  - url: \(webhook)
                    send_resolved: true
                    http_config:
                      authorization:
                        type: Bearer
                        credentials_file: \(tokenFile)
            """
        )
        let process = try ServiceProcess(
            name: "alertmanager",
            executable: "prometheus-alertmanager",
            arguments: [
                "--config.file=\(config)", "--storage.path=\(directory.file("data"))", "--web.listen-address=127.0.0.1:\(port)",
                "--cluster.listen-address=", "--log.level=warn",
            ],
            logPath: directory.file("alertmanager.log")
        )
        let server = AlertmanagerServer(port: port, directory: directory, process: process)
        let http = HTTPClient()
        do {
            try await eventually(timeout: .seconds(90), "Alertmanager to be ready") {
                try await http.execute(HTTPRequest(url: server.url + "/-/ready", timeout: .seconds(1))).status == 200
            }
        } catch {
            await http.shutdown()
            throw HarnessError(description: "\(error)\n\(process.log)")
        }
        await http.shutdown()
        return server
    }

    private init(port: Int, directory: TemporaryDirectory, process: ServiceProcess) {
        self.port = port
        self.directory = directory
        self.process = process
    }

    func stop() async { await process.stop() }
}
