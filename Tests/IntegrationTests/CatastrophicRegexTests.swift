import Foundation
import GateHTTP
import Synchronization
import Testing

/// Catastrophic regular expressions in config and window matchers against long label values: with a backtracking
/// engine one 28-character alertname against `(.*.*)*x` pinned a core for good, before and after a restart. With RE2
/// every match is linear, so the daemon keeps answering. Latencies are printed; the 100 ms goal is measured by
/// Benchmarks/regex.sh, not asserted here.
@Suite struct CatastrophicRegexTests {
    /// Patterns that take exponential time in a backtracking engine on a long run of `a`s that fails to match. The
    /// config's matchers let every alert through to the windows' matchers (after trying the catastrophic branch).
    static let alerting = """
        alertmanager:
          matchers: ['alertname=~"(.*.*)*x|(a*)*.+"']
          ignore: ['alertname=~"(a|aa)*c"', 'severity=~"((a+)+)+c"']
        """

    /// One firing alert whose alertname and severity are `name` and `severity`.
    static func alert(_ name: String, severity: String) -> String {
        """
        {"version":"4","groupKey":"{}:{}","receiver":"upgrade-gate","status":"firing",
         "alerts":[{"status":"firing","labels":{"alertname":"\(name)","severity":"\(severity)"},"annotations":{},
                    "startsAt":"2026-11-25T10:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"\(name.suffix(8))-\(name.count)"}],
         "groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am"}
        """
    }

    /// A request on the daemon's other routes, with a deadline far beyond any goal but short of "hung".
    static func probe(_ gate: GateDaemon, _ path: String) async throws -> (status: Int, latency: Duration) {
        let start = ContinuousClock.now
        let response = try await gate.http.execute(HTTPRequest(url: gate.url + path, timeout: .seconds(10)))
        return (response.status, start.duration(to: .now))
    }

    @Test func longLabelValuesAgainstCatastrophicPatternsLeaveTheDaemonAnsweringBeforeAndAfterARestart() async throws {
        try await DaemonTests.Stack.run(interval: "1h", extra: Self.alerting) { stack in
            let gate = stack.gate
            let windows = [
                ("redos-nested", #"alertname=~\"(.*.*)*x\""#),
                ("redos-star", #"alertname=~\"(a*)*b\""#),
                ("redos-alternation", #"alertname=~\"((a|aa)+)+(b|x)\", severity=~\"(a*)*\""#),
            ]
            for (name, matcher) in windows {
                let opened = try await stack.open(name, extra: #","matchers":["\#(matcher)"]"#)
                #expect(opened.status == 201, "\(opened)")
            }

            // Every alert: 10 kB of `a` that none of the patterns matches, the worst case for backtracking.
            let long = String(repeating: "a", count: 10_000)
            let posts = Task {
                var statuses: [Int] = []
                for index in 0..<8 {
                    statuses.append(try await gate.call("POST", "/api/v1/alertmanager", body: Self.alert(long + "\(index)", severity: long)).status)
                }
                return statuses
            }
            // Meanwhile the other routes answer, every time.
            var latencies: [Duration] = []
            for _ in 0..<20 {
                for path in ["/healthz", "/api/v1/windows", "/api/v1/gate/redos-nested"] {
                    let probe = try await Self.probe(gate, path)
                    #expect(probe.status == 200, "\(path)")
                    latencies.append(probe.latency)
                }
            }
            #expect(try await posts.value == Array(repeating: 200, count: 8))
            print("catastrophic regexes, 10 kB values: slowest of \(latencies.count) other requests \(latencies.max() ?? .zero)")

            // Matching ran to completion and got it right: only an alertname ending in `x` reaches `redos-nested`.
            #expect(try await gate.gate("redos-nested")["verdict"] as? String == "pending")
            let matching = try await gate.call("POST", "/api/v1/alertmanager", body: Self.alert(long + "x", severity: "critical"))
            #expect(matching.status == 200)
            #expect(try await gate.gate("redos-nested")["verdict"] as? String == "fail")
            #expect(try await gate.gate("redos-star")["verdict"] as? String == "pending")

            // kill -9 with these windows open and these alerts stored: the daemon becomes ready again (the harness
            // waits for /readyz) and answers every route.
            gate.kill9()
            try await gate.launch()
            for path in ["/healthz", "/api/v1/windows", "/api/v1/gate/redos-star", "/api/v1/gate/redos-alternation"] {
                #expect(try await Self.probe(gate, path).status == 200, "\(path) after restart")
            }
            #expect(try await gate.gate("redos-nested")["verdict"] as? String == "fail")
            let after = try await gate.call("POST", "/api/v1/alertmanager", body: Self.alert(long + "b", severity: long))
            #expect(after.status == 200)
            #expect(try await gate.gate("redos-star")["verdict"] as? String == "fail")
            #expect(try await Self.probe(gate, "/api/v1/windows").status == 200)
        }
    }

    static let unsupported: [(matcher: String, reason: String)] = [
        (#"alertname=~\"(a+)\\\\1\""#, "invalid escape sequence: \\1"),
        (#"alertname=~\"(?=a)a\""#, "invalid perl operator: (?="),
        (#"alertname=~\"a{2000}\""#, "invalid repetition size: {2000}"),
        (#"alertname=~\"a)|(b\""#, "unexpected )"),
    ]

    @Test func aWindowMatcherRE2CannotRunIsA400NamingTheField() async throws {
        try await DaemonTests.Stack.run(interval: "1h") { stack in
            for (matcher, reason) in Self.unsupported {
                let answer = try await stack.open("unsupported", extra: #","matchers":["alertname=\"ok\"","\#(matcher)"]"#)
                #expect(answer.status == 400, "\(matcher): \(answer)")
                let error = answer.json["error"] as? [String: Any]
                #expect(error?["field"] as? String == "matchers[1]", "\(answer)")
                #expect((error?["message"] as? String)?.contains(reason) == true, "\(answer)")
            }
            #expect(try await stack.gate.call("GET", "/api/v1/gate/unsupported").status == 404)
        }
    }
}
