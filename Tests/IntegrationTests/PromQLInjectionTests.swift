import Foundation
import GateConfig
import GateCore
import Testing

/// Template values are data: every hostile value below, put into a `{{label}}` placeholder, gives a query that a real
/// Prometheus runs and that selects exactly the one series whose label holds that literal value, never a decoy such
/// as `prometheus_build_info` and never `vector(1)`.
@Suite(.serialized) struct PromQLInjectionTests {
    /// Values built to end the string literal early or to make an escaper miss a quote.
    static let corpus: [String] = [
        #"""#,
        #"a"b"#,
        "\u{0600}\"} or prometheus_build_info #",
        "\"\u{0301}} or prometheus_build_info #",
        "e\u{0301}\"} or vector(1) #",
        #"} or vector(1) #"#,
        #"x"} or vector(1) or up{a=""#,
        #"x\"} or vector(1) or up{a=\""#,
        #"\"#,
        #"ends with a backslash\"#,
        #"\\"#,
        #"\\\"} or prometheus_build_info #"#,
        #"\u0022} or prometheus_build_info #"#,
        #"\x22} or vector(1) #"#,
        #"\n} or vector(1) #"#,
        "\u{0600}",
        "\u{0301}",
        "\u{200D}\"\u{200D}} or vector(1) #",
        "\u{FEFF}\"} or vector(1) #",
        "\u{2028}\"} or vector(1) #\u{2029}",
        "\u{1F1FA}\u{1F1F8}\"} or vector(1) #",
        "👩‍👩‍👧\"} or vector(1) #",
        "'} or vector(1) #",
        "`} or vector(1) #",
        "{{value}}",
        "\"" + String(repeating: "\u{0600}\"", count: 500) + "} or prometheus_build_info #",
    ]

    /// The value that, sent as a Flagger namespace, rewrote a check's query before the escaper worked per scalar.
    static let buildInfoAttack = "\u{0600}\"} or prometheus_build_info #"

    /// Values refused outright: control characters are never template data.
    static let refused: [String] = ["two\nlines\"} or vector(1) #", "nul\u{0000}", "tab\t", "cr\r", "del\u{7F}", "next line\u{85}"]

    /// The exposition-format literal of a label value (Prometheus's text format escapes `\`, `"` and newline).
    static func exposition(_ value: String) -> String {
        var escaped = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// One series per corpus value, plus decoys an injected query would reach.
    static var series: [String: Double] {
        var series: [String: Double] = [#"prometheus_build_info{version="3.0.0-decoy"}"#: 1, #"hostile_value{case="decoy",value="decoy"}"#: 1]
        for (index, value) in corpus.enumerated() {
            series["hostile_value{case=\"\(index)\",value=\"\(exposition(value))\"}"] = 1
        }
        return series
    }

    @Test func everyHostileValueSelectsExactlyItsOwnSeriesInARealPrometheus() async throws {
        let exporter = try await Exporter.start(Self.series)
        let prometheus = try await PrometheusServer.start(targets: [exporter.target])
        try await withTeardown(
            {
                try await prometheus.waitFor("hostile_value") { $0.count == Self.corpus.count + 1 }
                // Every corpus value reached Prometheus intact, so the comparisons below are against the literal values.
                let stored = try await prometheus.query("hostile_value")
                for (index, value) in Self.corpus.enumerated() {
                    #expect(stored.first { $0.labels["case"] == "\(index)" }?.labels["value"] == value, "case \(index) was not stored as sent")
                }
                // `last_over_time` keeps the answers steady when a loaded machine delays a scrape; the selector inside
                // is where a value would break out, as in any check's query.
                let templates = [
                    CheckConfig(name: "equal", queryTemplate: #"last_over_time(hostile_value{value="{{value}}"}[10m])"#, min: 1),
                    CheckConfig(name: "name-label", queryTemplate: #"last_over_time({__name__="hostile_value", value="{{ value }}"}[10m])"#, min: 1),
                    CheckConfig(
                        name: "aggregated",
                        queryTemplate: #"sum by (case, value) (last_over_time(hostile_value{value="{{value}}"}[10m]))"#,
                        min: 1
                    ),
                ]
                for template in templates {
                    for (index, value) in Self.corpus.enumerated() {
                        let query = try template.spec(labels: ["value": value]).query
                        let answer = try await prometheus.query(query)
                        #expect(answer.count == 1, "\(template.name) case \(index): \(query) → \(answer)")
                        #expect(answer.first?.labels["case"] == "\(index)", "\(template.name) case \(index): \(query) → \(answer)")
                        #expect(answer.first?.labels["value"] == value, "\(template.name) case \(index): \(query) → \(answer)")
                    }
                }
                // The negation selects every other hostile series, and still nothing outside `hostile_value`.
                let notEqual = CheckConfig(name: "not-equal", queryTemplate: #"last_over_time(hostile_value{value!="{{value}}"}[10m])"#, min: 1)
                for (index, value) in Self.corpus.enumerated() {
                    let answer = try await prometheus.query(try notEqual.spec(labels: ["value": value]).query)
                    #expect(answer.count == Self.corpus.count, "case \(index): \(answer.count) series")
                    #expect(!answer.contains { $0.labels["case"] == "\(index)" }, "case \(index)")
                    #expect(answer.allSatisfy { $0.labels["case"] != nil && $0.labels["version"] == nil }, "case \(index)")
                }
            },
            teardown: {
                await prometheus.stop()
                await exporter.stop()
            }
        )
    }

    @Test func controlCharactersAreRefusedNamingTheLabel() throws {
        let check = CheckConfig(name: "equal", queryTemplate: #"hostile_value{value="{{value}}"}"#, min: 1)
        for value in Self.refused {
            let error = #expect(throws: TemplateError.self) { try check.spec(labels: ["value": value]) }
            #expect(error?.refusedLabel == "value")
            #expect(error?.label == "control_character")
        }
    }

    /// The attack the way it was run: a window opened over the API (and a Flagger hook) with a hostile label.
    @Test func aHostileWindowLabelPinsABaselineOfOnlyTheLiteralSeries() async throws {
        let exporter = try await Exporter.start(Self.series)
        let prometheus = try await PrometheusServer.start(targets: [exporter.target])
        try await withTeardown(
            {
                // A baseline is a range over the last seconds: wait until it holds a few samples of every series.
                try await prometheus.waitFor("count_over_time(hostile_value[10s]) >= 3") { $0.count == Self.corpus.count + 1 }
                let config = """
                    prometheus:
                      url: \(prometheus.url)
                      timeout: 2s
                    evaluation: {interval: 1s, warmup: 0s}
                    baseline: {lookback: 3s}
                    windows: {soak: 1h, duration: 2h}
                    checks:
                      - name: hostile
                        query: hostile_value{value="{{value}}"}
                        min: 1
                    """
                let gate = try await GateDaemon.start(config: config)
                try await withTeardown(
                    {
                        // The value from the report: it rewrote the `up` check's query into `prometheus_build_info`.
                        let index = 2
                        #expect(Self.corpus[index] == Self.buildInfoAttack)
                        let body = try String(
                            decoding: JSONSerialization.data(withJSONObject: ["name": "hostile", "labels": ["value": Self.corpus[index]]]),
                            as: UTF8.self
                        )
                        let opened = try await gate.call("POST", "/api/v1/windows", body: body)
                        #expect(opened.status == 201, "\(opened)")
                        let detail = try await gate.call("GET", "/api/v1/windows/hostile")
                        let baseline = ((detail.json["baseline"] as? [String: Any])?["checks"] as? [String: [[String: Any]]])?["hostile"] ?? []
                        #expect(baseline.count == 1, "\(detail)\nlog:\n\(gate.log.suffix(4000))")
                        #expect((baseline.first?["labels"] as? [String: String])?["case"] == "\(index)", "\(detail)")
                        #expect(!detail.body.contains("3.0.0-decoy"), "the decoy leaked into the window: \(detail)")

                        for value in Self.refused {
                            let refused = try String(
                                decoding: JSONSerialization.data(withJSONObject: ["name": "refused", "labels": ["value": value]]),
                                as: UTF8.self
                            )
                            let answer = try await gate.call("POST", "/api/v1/windows", body: refused)
                            #expect(answer.status == 400, "\(answer)")
                            #expect((answer.json["error"] as? [String: Any])?["field"] as? String == "labels.value", "\(answer)")
                        }

                        // Flagger sends the namespace as a template value: it must be a namespace name.
                        let hook = try String(
                            decoding: JSONSerialization.data(withJSONObject: [
                                "name": "podinfo", "namespace": Self.corpus[index], "phase": "Progressing", "checksum": "abc",
                                "metadata": ["window": "flagger-hostile"],
                            ]),
                            as: UTF8.self
                        )
                        let flagger = try await gate.call("POST", "/api/v1/flagger/confirm-rollout", body: hook)
                        #expect(flagger.status == 400, "\(flagger)")
                        #expect(flagger.body.contains("namespace"), "\(flagger)")
                        #expect(try await gate.call("GET", "/api/v1/windows/flagger-hostile").status == 404)
                    },
                    teardown: { await gate.stop() }
                )
            },
            teardown: {
                await prometheus.stop()
                await exporter.stop()
            }
        )
    }
}
