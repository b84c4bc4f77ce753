import Foundation
import GateHTTP
import Testing
import Yams

/// The Grafana dashboard in deploy/base/grafana-dashboard.yaml: its shape, and every PromQL expression in it run
/// against a real Prometheus that scrapes a real gate daemon with an open window and some traffic.
@Suite struct DashboardTests {
    static let path = "deploy/base/grafana-dashboard.yaml"

    /// One query of the dashboard: a panel target or a template variable.
    struct Query: CustomStringConvertible {
        var panel: String
        var expr: String
        var description: String { "\(panel): \(expr)" }
    }

    /// The ConfigMap, and the dashboard JSON inside it.
    static func load() throws -> (configMap: [String: Any], dashboard: [String: Any]) {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
        let configMap = try #require(try Yams.load(yaml: text) as? [String: Any], "\(path) is not a YAML mapping")
        let data = try #require(configMap["data"] as? [String: Any], "\(path) has no data")
        let json = try #require(data["upgrade-gate.json"] as? String, "\(path) has no data.upgrade-gate.json")
        let dashboard = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], "the dashboard is not a JSON object")
        return (configMap, dashboard)
    }

    /// Every panel, rows' nested panels included.
    static func panels(_ dashboard: [String: Any]) -> [[String: Any]] {
        let top = dashboard["panels"] as? [[String: Any]] ?? []
        return top + top.flatMap { $0["panels"] as? [[String: Any]] ?? [] }
    }

    /// Every PromQL expression: each panel target's `expr`, and each query variable's metric selector (`label_values(SELECTOR, label)`).
    static func queries(_ dashboard: [String: Any]) -> [Query] {
        var queries: [Query] = []
        for panel in panels(dashboard) {
            for target in panel["targets"] as? [[String: Any]] ?? [] {
                queries.append(Query(panel: panel["title"] as? String ?? "?", expr: target["expr"] as? String ?? ""))
            }
        }
        for variable in (dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? [] where variable["type"] as? String == "query" {
            let query = (variable["query"] as? [String: Any])?["query"] as? String ?? variable["query"] as? String ?? ""
            let selector = query.replacingOccurrences(of: #"^label_values\((.*),\s*[a-zA-Z_]+\)$"#, with: "$1", options: .regularExpression)
            queries.append(Query(panel: "variable $\(variable["name"] as? String ?? "?")", expr: selector))
        }
        return queries
    }

    /// Grafana's variables, as Grafana would fill them in for a 1-hour view of job `upgrade-gate`, all windows.
    static func substitute(_ expr: String) -> String {
        [("$__rate_interval", "30s"), ("$__interval", "15s"), ("$__range", "1h"), ("$job", "upgrade-gate"), ("$window", ".*")]
            .reduce(expr) { $0.replacingOccurrences(of: $1.0, with: $1.1) }
    }

    @Test func theConfigMapIsPickedUpByTheGrafanaSidecarAndEveryPanelHasAQuery() throws {
        let (configMap, dashboard) = try Self.load()
        let labels = (configMap["metadata"] as? [String: Any])?["labels"] as? [String: Any]
        #expect(labels?["grafana_dashboard"] as? String == "1", "the kube-prometheus-stack sidecar selects grafana_dashboard: \"1\"")
        #expect(dashboard["uid"] as? String == "upgrade-gate")
        let panels = Self.panels(dashboard)
        let ids = panels.compactMap { $0["id"] as? Int }
        #expect(ids.count == panels.count && Set(ids).count == ids.count, "panel ids must be present and unique: \(ids)")
        for panel in panels where panel["type"] as? String != "row" {
            let title = panel["title"] as? String ?? "?"
            let targets = panel["targets"] as? [[String: Any]] ?? []
            #expect(!targets.isEmpty && targets.allSatisfy { !($0["expr"] as? String ?? "").isEmpty }, "panel \(title) has no query")
            let grid = panel["gridPos"] as? [String: Int] ?? [:]
            #expect((grid["x"] ?? 99) + (grid["w"] ?? 99) <= 24, "panel \(title) is wider than the 24-column grid")
        }
        let titles = Set(panels.compactMap { $0["title"] as? String })
        for required in [
            "Verdict per window", "Failing checks", "Refused requests by reason", "Escape-plan steps", "Notifications ingested", "Webhook errors",
            "Evaluation duration",
        ] {
            #expect(titles.contains(required), "the dashboard lacks the panel \(required)")
        }
    }

    @Test func everyExpressionRunsAgainstAPrometheusScrapingARealGate() async throws {
        let exporter = try await Exporter.start(["demo_queue_depth": 1])
        let gatePort = try freeLoopbackPort()
        let scrapeGate = """
              - job_name: upgrade-gate
                static_configs:
                  - targets: ['127.0.0.1:\(gatePort)']

            """
        let prometheus = try await PrometheusServer.start(targets: [exporter.target], extraScrapeConfigs: scrapeGate)
        let config = """
            prometheus:
              url: \(prometheus.url)
              timeout: 2s
            evaluation:
              interval: 1s
              warmup: 0s
              failAfter: 1
            baseline:
              lookback: 3s
            windows:
              soak: 1h
              duration: 2h
            checks:
              - name: queue-depth
                query: demo_queue_depth{job="demo"}
                max: 5
            """
        let gate: GateDaemon
        do {
            try await prometheus.waitFor("count_over_time(up{job=\"demo\"}[10s]) >= 3") { $0.count == 1 }
            gate = try await GateDaemon.start(config: config, port: gatePort)
        } catch {
            await prometheus.stop()
            await exporter.stop()
            throw error
        }
        try await withTeardown(
            {
                // Something for every panel to show: an open window being evaluated, a failing check, refused and
                // accepted requests, Alertmanager notifications accepted and malformed.
                #expect(try await gate.call("POST", "/api/v1/windows", body: #"{"name":"dash","component":"demo"}"#).status == 201)
                exporter.set("demo_queue_depth", 9)
                #expect(try await gate.call("POST", "/api/v1/windows", body: #"{"name":"dash"}"#, token: "wrong").status == 401)
                #expect(try await gate.call("POST", "/api/v1/alertmanager", body: #"{"version":"4"}"#).status == 400)
                #expect(try await gate.call("POST", "/api/v1/alertmanager", body: try fixtureText("alertmanager/webhook-firing.json")).status == 200)
                _ = try await gate.gate("dash")
                try await prometheus.waitFor(#"count_over_time(upgrade_gate_http_requests_total{job="upgrade-gate", code="401"}[1m]) >= 3"#) {
                    $0.count == 1
                }
                try await prometheus.waitFor(#"upgrade_gate_window_verdict{job="upgrade-gate", window="dash", verdict="fail"} == 1"#) {
                    $0.count == 1
                }

                let (_, dashboard) = try Self.load()
                let queries = Self.queries(dashboard)
                #expect(queries.count >= 25, "the dashboard has \(queries.count) queries")
                var empty: [String] = []
                for query in queries {
                    let promql = Self.substitute(query.expr)
                    var components = URLComponents(string: prometheus.url + "/api/v1/query")!
                    components.queryItems = [URLQueryItem(name: "query", value: promql)]
                    let response = try await prometheus.http.execute(HTTPRequest(url: components.url!.absoluteString, timeout: .seconds(30)))
                    let body = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
                    guard response.status == 200, body?["status"] as? String == "success" else {
                        Issue.record("\(query.panel): Prometheus refused `\(promql)`: HTTP \(response.status) \(response.bodyText)")
                        continue
                    }
                    let result = (body?["data"] as? [String: Any])?["result"] as? [Any] ?? []
                    if result.isEmpty { empty.append(query.panel) }
                }
                // The panels about what happened above must show it (the others may rightly be empty: no restores here).
                for panel in [
                    "Gate up", "Open windows", "Failed windows", "Failing checks", "Verdict per window", "Refused requests by reason",
                    "Notifications ingested", "Evaluation duration", "Evaluations per window", "variable $job", "variable $window",
                ] {
                    #expect(!empty.contains(panel), "\(panel) shows no data against a gate with an open, failing window; empty: \(empty)")
                }
            },
            teardown: {
                await gate.stop()
                await prometheus.stop()
                await exporter.stop()
            }
        )
    }
}
