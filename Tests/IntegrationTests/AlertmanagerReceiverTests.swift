import Foundation
import Testing

/// `POST /api/v1/alertmanager` on the real daemon, with real Alertmanager payloads (Fixtures/alertmanager/).
@Suite struct AlertmanagerReceiverTests {
    static let alerting = """
        alertmanager:
          matchers: ['severity=~"critical|warning"']
          ignore: ['alertname="Watchdog"']
        """

    static func contract(_ name: String) throws -> String {
        try fixtureText("alertmanager/\(name)")
    }

    /// An alert payload with one alert, for cases the contracts do not cover.
    static func payload(
        alertname: String,
        severity: String,
        status: String = "firing",
        group: String? = nil,
        startsAt: String = "2026-11-25T10:00:00Z"
    ) -> String {
        let endsAt = status == "firing" ? "0001-01-01T00:00:00Z" : "2026-11-25T10:05:00Z"
        return """
            {"version":"4","groupKey":"{}:{alertname=\\"\(group ?? alertname)\\"}","receiver":"upgrade-gate","status":"\(status)",
             "alerts":[{"status":"\(status)","labels":{"alertname":"\(alertname)","severity":"\(severity)"},"annotations":{},
                        "startsAt":"\(startsAt)","endsAt":"\(endsAt)","fingerprint":"f"}],
             "groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am"}
            """
    }

    @Test func aNewMatchingAlertFailsTheGateAtOnceWithoutWaitingForAnEvaluation() async throws {
        // Evaluations every hour: only the webhook path can turn this gate to fail.
        try await DaemonTests.Stack.run(interval: "1h", extra: Self.alerting) { stack in
            #expect(try await stack.open("etcd-upgrade").status == 201)
            let posted = try await stack.gate.call("POST", "/api/v1/alertmanager", body: try Self.contract("webhook-firing.json"))
            #expect(posted.status == 200, "\(posted)")
            let gate = try await stack.gate.gate("etcd-upgrade")
            #expect(gate["verdict"] as? String == "fail", "\(gate)")
            let alerts = gate["alerts"] as? [[String: Any]] ?? []
            #expect(alerts.count == 2, "both new alerts are named: \(gate)")
            #expect(alerts.first?["alertname"] as? String == "EtcdHighNumberOfLeaderChanges")
            #expect((alerts.first?["labels"] as? [String: String])?["instance"] != nil)
            #expect(alerts.first?["since"] as? String == "2026-08-20T10:15:30.123Z")
            let events = try await stack.gate.call("GET", "/api/v1/windows/etcd-upgrade/events").json["events"] as? [[String: Any]] ?? []
            #expect(events.first?["cause"] as? String == "alert", "\(events)")
        }
    }

    @Test func nonMatchingIgnoredAndResolvedAlertsDoNotFailTheGate() async throws {
        try await DaemonTests.Stack.run(soak: "1s", extra: Self.alerting) { stack in
            #expect(try await stack.open("quiet").status == 201)
            for body in [
                Self.payload(alertname: "InfoOnly", severity: "info"),
                Self.payload(alertname: "Watchdog", severity: "critical"),
                Self.payload(alertname: "UpgradeGateEvaluationsFailing", severity: "warning"),
                try Self.contract("webhook-resolved.json"),
            ] {
                let answer = try await stack.gate.call("POST", "/api/v1/alertmanager", body: body)
                #expect(answer.status == 200, "\(answer)")
            }
            try await stack.gate.waitForVerdict("quiet", "pass")
            let gate = try await stack.gate.gate("quiet")
            #expect((gate["alerts"] as? [Any])?.isEmpty == true, "\(gate)")
        }
    }

    @Test func anAlertFiringBeforeTheWindowIsBaselineButANewOneInItsGroupIsNews() async throws {
        try await DaemonTests.Stack.run(soak: "1s", extra: Self.alerting) { stack in
            // Firing before the window: baseline. Re-sent during the window: still baseline.
            let old = Self.payload(alertname: "KubeNodeNotReady", severity: "warning")
            #expect(try await stack.gate.call("POST", "/api/v1/alertmanager", body: old).status == 200)
            let opened = try await stack.open("baseline")
            #expect(opened.status == 201)
            let baselineAlerts = (opened.json["baseline"] as? [String: Any])?["alerts"] as? [[String: Any]] ?? []
            #expect(baselineAlerts.count == 1, "\(opened)")
            for _ in 0..<3 { #expect(try await stack.gate.call("POST", "/api/v1/alertmanager", body: old).status == 200) }
            try await stack.gate.waitForVerdict("baseline", "pass")
            // A new alert in the same group (the group now carries both) is news.
            let both = Self.payload(alertname: "KubeNodeNotReady", severity: "warning").replacingOccurrences(
                of: #""fingerprint":"f"}]"#,
                with:
                    #""fingerprint":"f"},{"status":"firing","labels":{"alertname":"KubeNodeNotReady","severity":"warning","node":"n2"},"annotations":{},"startsAt":"2026-11-25T10:01:00Z","endsAt":"0001-01-01T00:00:00Z"}]"#
            )
            #expect(try await stack.gate.call("POST", "/api/v1/alertmanager", body: both).status == 200)
            let gate = try await stack.gate.gate("baseline")
            #expect(gate["verdict"] as? String == "fail", "\(gate)")
            #expect(((gate["alerts"] as? [[String: Any]])?.first?["labels"] as? [String: String])?["node"] == "n2", "\(gate)")
        }
    }

    @Test func graceKeepsANewAlertPendingUntilItHasFiredLongEnough() async throws {
        // A grace far longer than a loaded machine could stall between the notification and the poll below, so
        // "within grace" is an outcome and not a race with the clock.
        try await DaemonTests.Stack.run(soak: "1s", extra: Self.alerting + "\n  grace: 15s") { stack in
            #expect(try await stack.open("graceful").status == 201)
            try await stack.gate.waitForVerdict("graceful", "pass")
            let startsAt = formatRFC3339Now()
            let answer = try await stack.gate.call(
                "POST",
                "/api/v1/alertmanager",
                body: Self.payload(alertname: "Flappy", severity: "critical", startsAt: startsAt)
            )
            #expect(answer.status == 200)
            let during = try await stack.gate.gate("graceful")
            #expect(during["verdict"] as? String != "fail", "within grace the alert does not fail the gate: \(during)")
            #expect((during["alerts"] as? [[String: Any]])?.first?["state"] as? String == "in-grace", "\(during)")
            try await stack.gate.waitForVerdict("graceful", "fail")
        }
    }

    @Test func malformedPayloadsGet400NamingTheFieldAndTheTokenIsRequired() async throws {
        try await DaemonTests.Stack.run(extra: Self.alerting + "\nlimits:\n  maxBodyBytes: 65536") { stack in
            let cases: [(String, String?)] = [
                ("not json", nil),
                (#"{"version":"4","receiver":"r","alerts":[]}"#, "groupKey"),
                (#"{"version":"2","groupKey":"g","receiver":"r","alerts":[]}"#, "version"),
                (
                    Self.payload(alertname: "A", severity: "critical").replacingOccurrences(
                        of: #""status":"firing","labels""#,
                        with: #""status":"exploding","labels""#
                    ), "alerts[0].status"
                ),
                (
                    Self.payload(alertname: "A", severity: "critical").replacingOccurrences(of: "2026-11-25T10:00:00Z", with: "last tuesday"),
                    "alerts[0].startsAt"
                ),
            ]
            for (body, field) in cases {
                let answer = try await stack.gate.call("POST", "/api/v1/alertmanager", body: body)
                #expect(answer.status == 400, "\(body): \(answer)")
                #expect((answer.json["error"] as? [String: Any])?["field"] as? String == field, "\(answer)")
            }
            let unauthorized = try await stack.gate.call(
                "POST",
                "/api/v1/alertmanager",
                body: try Self.contract("webhook-firing.json"),
                token: .some(nil)
            )
            #expect(unauthorized.status == 401)
            let huge = Self.payload(alertname: String(repeating: "A", count: 70_000), severity: "critical")
            #expect(try await stack.gate.call("POST", "/api/v1/alertmanager", body: huge).status == 413)
            // Newer Alertmanagers' extra fields are accepted.
            #expect(try await stack.gate.call("POST", "/api/v1/alertmanager", body: try Self.contract("webhook-firing-v0.34.json")).status == 200)
            #expect(try await stack.gate.call("GET", "/healthz").status == 200)
        }
    }

    @Test func anAcceptedAlertSurvivesKillNine() async throws {
        try await DaemonTests.Stack.run(soak: "1s", extra: Self.alerting) { stack in
            let answer = try await stack.gate.call(
                "POST",
                "/api/v1/alertmanager",
                body: Self.payload(alertname: "AcceptedBeforeCrash", severity: "critical")
            )
            #expect(answer.status == 200)
            stack.gate.kill9()
            try await stack.gate.launch()
            // The replayed alert is firing, so a window opened now takes it as baseline.
            let opened = try await stack.open("after-crash")
            #expect(opened.status == 201)
            let baselineAlerts = (opened.json["baseline"] as? [String: Any])?["alerts"] as? [[String: Any]] ?? []
            #expect(baselineAlerts.contains { ($0["labels"] as? [String: String])?["alertname"] == "AcceptedBeforeCrash" }, "\(opened)")
        }
    }
}

/// Now as RFC 3339 (UTC, whole seconds).
func formatRFC3339Now() -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.string(from: Date())
}
