import Foundation
import GateCore
import GateHTTP
import GateSources
import GateTestKit
import Synchronization

/// A real Prometheus (Debian's `prometheus`) on a free loopback port, scraping the given targets
/// every second, with its TSDB in a temporary directory.
final class PrometheusServer: Sendable {
    let port: Int
    let directory: TemporaryDirectory
    let process: ServiceProcess
    let http: HTTPClient

    var url: String { "http://127.0.0.1:\(port)" }

    /// Starts Prometheus scraping `targets` (job `demo`), plus any extra scrape config and rule files.
    static func start(
        targets: [String],
        extraScrapeConfigs: String = "",
        ruleFiles: [String] = [],
        alertmanagers: [String] = []
    ) async throws -> PrometheusServer {
        let directory = try TemporaryDirectory(prefix: "prometheus")
        let port = try freeLoopbackPort()
        var config = """
            global:
              scrape_interval: 1s
              scrape_timeout: 900ms
              evaluation_interval: 1s
            scrape_configs:
              - job_name: demo
                static_configs:
                  - targets: [\(targets.map { "'\($0)'" }.joined(separator: ", "))]

            """
        config += extraScrapeConfigs
        if !ruleFiles.isEmpty {
            config += "rule_files:\n" + ruleFiles.map { "  - '\($0)'\n" }.joined()
        }
        if !alertmanagers.isEmpty {
            config += """
                alerting:
                  alertmanagers:
                    - static_configs:
                        - targets: [\(alertmanagers.map { "'\($0)'" }.joined(separator: ", "))]

                """
        }
        let configPath = try directory.write("prometheus.yml", config)
        let process = try ServiceProcess(
            name: "prometheus",
            executable: "prometheus",
            arguments: [
                "--config.file=\(configPath)",
                "--storage.tsdb.path=\(directory.file("data"))",
                "--web.listen-address=127.0.0.1:\(port)",
                "--log.level=warn",
                // Lets tests look back at samples from seconds ago without extra lookback noise.
                "--query.lookback-delta=5s",
            ],
            logPath: directory.file("prometheus.log")
        )
        let server = PrometheusServer(port: port, directory: directory, process: process)
        do {
            try await eventually(timeout: .seconds(90), "Prometheus on port \(port) to be ready") {
                let response = try await server.http.execute(HTTPRequest(url: server.url + "/-/ready", timeout: .seconds(1)))
                return response.status == 200
            }
        } catch {
            throw HarnessError(description: "\(error)\nPrometheus log:\n\(process.log)")
        }
        return server
    }

    private init(port: Int, directory: TemporaryDirectory, process: ServiceProcess) {
        self.port = port
        self.directory = directory
        self.process = process
        self.http = HTTPClient()
    }

    /// A client of this Prometheus through the project's own adapter.
    var client: PrometheusClient { PrometheusClient(url: url, http: http, timeout: .seconds(5)) }

    /// Runs an instant query now and returns its float series.
    func query(_ promql: String) async throws -> [InstantSeries] {
        let now = Date().timeIntervalSince1970
        return try await client.instant(promql, at: now).result.instantSeries ?? []
    }

    /// Waits until `promql` returns a series set for which `condition` holds.
    func waitFor(_ promql: String, timeout: Duration = .seconds(60), _ condition: @escaping @Sendable ([InstantSeries]) -> Bool) async throws {
        let last = Mutex<String>("no answer yet")
        do {
            try await eventually(timeout: timeout, "Prometheus query `\(promql)` to reach the expected state") {
                do {
                    let series = try await query(promql)
                    last.withLock { $0 = "\(series)" }
                    return condition(series)
                } catch {
                    last.withLock { $0 = "\(error)" }
                    throw error
                }
            }
        } catch {
            throw HarnessError(description: "\(error); last answer: \(last.withLock { $0 })\nPrometheus log:\n\(process.log)")
        }
    }

    func stop() async {
        await process.stop()
        await http.shutdown()
    }
}
