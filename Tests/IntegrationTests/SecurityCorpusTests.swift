import Foundation
import GateStore
import GateTestKit
import Testing

/// The security corpus against the real daemon: every state-changing route and hook without a token, with a wrong
/// one and with a token of another scope; token rotation and revocation; one writer per state file; a full store.
@Suite struct SecurityCorpusTests {
    struct Route: Sendable, CustomTestStringConvertible {
        var path: String
        var body: String
        /// The scope the route needs: windows, alerts or flagger.
        var scope: String
        var testDescription: String { "POST \(path) (\(scope))" }
        /// Flagger hooks refuse a missing or wrong `metadata.token` with 403 (Flagger records it as the reason);
        /// every other route answers 401.
        var refusedWithoutToken: Int { scope == "flagger" ? 403 : 401 }
    }

    static func routes() throws -> [Route] {
        let hook = try fixtureText("flagger/flagger-webhook-confirm-rollout.json")
        let event = try fixtureText("flagger/flagger-webhook-event.json")
        var routes = [
            Route(path: "/api/v1/windows", body: #"{"name":"intruder","labels":{"job":"demo"}}"#, scope: "windows"),
            Route(path: "/api/v1/windows/guarded/close", body: #"{"reason":"switch the gate off"}"#, scope: "windows"),
            Route(path: "/api/v1/windows/guarded/reset", body: "", scope: "windows"),
            Route(path: "/api/v1/windows/guarded/restore", body: "", scope: "windows"),
            Route(path: "/api/v1/preflight", body: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", scope: "windows"),
            Route(path: "/api/v1/alertmanager", body: try fixtureText("alertmanager/webhook-firing.json"), scope: "alerts"),
        ]
        for name in ["confirm-rollout", "pre-rollout", "rollout", "confirm-traffic-increase", "confirm-promotion", "post-rollout", "rollback"] {
            routes.append(Route(path: "/api/v1/flagger/\(name)", body: hook, scope: "flagger"))
        }
        routes.append(Route(path: "/api/v1/flagger/event", body: event, scope: "flagger"))
        return routes
    }

    /// A snapshot of everything a refused call could have changed.
    static func state(_ gate: GateDaemon) async throws -> String {
        // Soak remaining changes with time; names, states and verdicts do not.
        let windows = (try await gate.call("GET", "/api/v1/windows").json["windows"] as? [[String: Any]] ?? [])
            .map { "\($0["name"] ?? "")/\($0["state"] ?? "")/\($0["verdict"] ?? "")" }
        let detail = try await gate.call("GET", "/api/v1/windows/guarded").json
        let events = try await gate.call("GET", "/api/v1/windows/guarded/events").body
        let verdict = try await gate.gate("guarded")
        return "\(windows)|\(detail["state"] ?? "")|\(detail["verdict"] ?? "")|\(events)|\(verdict["alerts"] ?? "")|\(verdict["verdict"] ?? "")"
    }

    @Test func everyStateChangingRouteRefusesNoTokenAWrongTokenAndAnotherScope() async throws {
        try await DaemonTests.Stack.run(interval: "1h", extra: AlertmanagerReceiverTests.alerting) { stack in
            #expect(try await stack.open("guarded").status == 201)
            let before = try await Self.state(stack.gate)
            let routes = try Self.routes()
            for route in routes {
                let none = try await stack.gate.call("POST", route.path, body: route.body, token: .some(nil))
                #expect(none.status == route.refusedWithoutToken, "\(route.testDescription) without a token: \(none)")
                let wrong = try await stack.gate.call("POST", route.path, body: route.body, token: .some("not-a-token-\(UUID().uuidString)"))
                #expect(wrong.status == route.refusedWithoutToken, "\(route.testDescription) with a wrong token: \(wrong)")
                for (scope, token) in stack.gate.scopedTokens where scope != route.scope {
                    let other = try await stack.gate.call("POST", route.path, body: route.body, token: .some(token))
                    #expect(other.status == 403, "\(route.testDescription) with a \(scope) token: \(other)")
                    #expect(other.body.contains("\(route.scope) scope"), "the refusal names the missing scope: \(other)")
                }
            }
            let after = try await Self.state(stack.gate)
            #expect(after == before, "refused calls changed nothing:\n\(before)\n\(after)")
            #expect(try await stack.gate.call("GET", "/api/v1/windows/intruder").status == 404)
            #expect(try await stack.gate.call("GET", "/api/v1/windows/k8s-upgrade-window").status == 404, "no hook opened a window")

            // The right scope gets through, and the audit trail names the token, never its value.
            let closed = try await stack.gate.call(
                "POST",
                "/api/v1/windows/guarded/close",
                body: #"{"reason":"done"}"#,
                token: .some(stack.gate.scopedTokens["windows"])
            )
            #expect(closed.status == 200, "\(closed)")
            let events = try await stack.gate.call("GET", "/api/v1/windows/guarded/events").body
            #expect(events.contains("token pipelines"), "the close is audited with the token's name: \(events)")
            let alerts = try await stack.gate.call(
                "POST",
                "/api/v1/alertmanager",
                body: try fixtureText("alertmanager/webhook-firing.json"),
                token: .some(stack.gate.scopedTokens["alerts"])
            )
            #expect(alerts.status == 200, "\(alerts)")
            let hook = try await stack.gate.call(
                "POST",
                "/api/v1/flagger/rollout",
                body: try fixtureText("flagger/flagger-webhook-rollout.json"),
                token: .some(stack.gate.scopedTokens["flagger"])
            )
            #expect([200, 403].contains(hook.status) && !hook.body.contains("scope"), "a flagger token reaches the hook's decision: \(hook)")
            let log = stack.gate.log
            for token in [stack.gate.token] + Array(stack.gate.scopedTokens.values) {
                #expect(!log.contains(token), "a token value reached the log")
            }
            #expect(log.contains("token pipelines"), "the log names the caller")
        }
    }

    @Test func hookBodiesAboveTheHookLimitAre413BeforeAnyTokenIsChecked() async throws {
        try await DaemonTests.Stack.run(interval: "1h") { stack in
            let padding = String(repeating: "x", count: 70_000)
            let body = #"{"name":"podinfo","namespace":"prod","metadata":{"pad":"\#(padding)"}}"#
            let answer = try await stack.gate.call("POST", "/api/v1/flagger/rollout", body: body, token: .some(nil))
            #expect(answer.status == 413 && answer.body.contains("limits.maxHookBodyBytes"), "\(answer.status) \(answer.body.prefix(200))")
            #expect(try await stack.gate.call("GET", "/healthz").status == 200)
        }
    }

    @Test func rotatedAndRevokedTokensStopWorkingWithinAMinute() async throws {
        try await DaemonTests.Stack.run(interval: "1h") { stack in
            let old = try #require(stack.gate.scopedTokens["windows"])
            let path = stack.gate.directory.file("token-windows")
            func reset(_ token: String?) async throws -> Int {
                try await stack.gate.call("POST", "/api/v1/windows/rotating/reset", body: "", token: .some(token)).status
            }
            #expect(try await stack.open("rotating").status == 201)
            #expect(try await reset(old) == 200)
            // Rotation: the Secret's new content replaces the old token.
            let new = "rotated-\(UUID().uuidString)"
            try (new + "\n").write(toFile: path + ".new", atomically: false, encoding: .utf8)
            #expect(rename(path + ".new", path) == 0)
            try await eventually(timeout: .seconds(90), "the rotated token to be accepted") { try await reset(new) == 200 }
            #expect(try await reset(old) == 401, "the old token is refused once the new one is read")
            // Revocation: the file disappears; the old token lives at most until the next scheduled re-read.
            #expect(unlink(path) == 0)
            try await eventually(timeout: .seconds(150), "the revoked token to be refused") { try await reset(new) == 401 }
            #expect(stack.gate.log.contains("the token is refused"), "revocation is logged")
            #expect(!stack.gate.log.contains(new) && !stack.gate.log.contains(old))
            // Other tokens are unaffected.
            #expect(try await reset(stack.gate.token) == 200)
        }
    }

    @Test func aMissingTokenFileIsAStartupErrorNamingTheFile() async throws {
        let directory = try TemporaryDirectory(prefix: "gate-auth")
        let config = try directory.write(
            "gate.yaml",
            """
            prometheus: {url: "http://127.0.0.1:1"}
            auth:
              tokens:
                - {name: pipelines, file: \(directory.file("absent-token")), scopes: [windows, flagger]}
            """
        )
        let run = try await runGate(["serve", "--config", config, "--listen", "127.0.0.1:0", "--state", directory.file("state.sqlite")])
        #expect(run.exitCode != 0, "\(run)")
        #expect((run.stdout + run.stderr).contains("absent-token"), "\(run)")
        #expect((run.stdout + run.stderr).contains("pipelines"), "\(run)")
    }

    @Test func disablingAuthOnANetworkListenIsRefusedEvenThroughTheListenFlag() async throws {
        let directory = try TemporaryDirectory(prefix: "gate-auth")
        let config = try directory.write(
            "gate.yaml",
            "listen: 127.0.0.1:0\nprometheus: {url: \"http://127.0.0.1:1\"}\nauth: {disabled: true}\n"
        )
        let run = try await runGate(["serve", "--config", config, "--listen", "0.0.0.0:0", "--state", directory.file("state.sqlite")])
        #expect(run.exitCode != 0 && (run.stdout + run.stderr).contains("auth.disabled"), "\(run)")
        let validate = try await runGate(["config", "validate", config])
        #expect(validate.exitCode == 0, "on a loopback listen it is valid: \(validate)")
    }

    @Test func aSecondDaemonOnTheSameStateExitsAtOnceNamingTheHoldersPID() async throws {
        try await DaemonTests.Stack.run(interval: "1h") { stack in
            #expect(try await stack.open("held").status == 201)
            let holder = try #require(stack.gate.pid)
            let second = try await runGate(
                ["serve", "--config", stack.gate.configPath, "--listen", "127.0.0.1:\(try freeLoopbackPort())", "--state", stack.gate.statePath],
                timeout: .seconds(60)
            )
            #expect(second.exitCode == 1, "\(second)")
            #expect((second.stdout + second.stderr).contains("pid \(holder)"), "the error names the holder: \(second)")
            // The first daemon is untouched.
            #expect(try await stack.gate.call("GET", "/readyz").status == 200)
            #expect(try await stack.gate.call("GET", "/api/v1/windows/held").json["state"] as? String == "open")
            #expect(try await stack.gate.call("POST", "/api/v1/windows/held/reset", body: "").status == 200)
        }
    }

    @Test func aFullStoreAnswers503AndWritesNothingHalfway() async throws {
        // About 1.2 MB of SQLite pages: room for the schema, a window and some notifications, then full.
        let extra = AlertmanagerReceiverTests.alerting + "\nlimits:\n  maxBodyBytes: 65536\n"
        try await DaemonTests.Stack.run(interval: "1h", extra: extra) { stack in
            #expect(try await stack.open("kept").status == 201)
            try await stack.gate.terminateAndRelaunch(environment: ["UPGRADE_GATE_STORE_MAX_PAGES": "300"])
            let keptBefore = try await stack.gate.call("GET", "/api/v1/windows/kept").json
            var accepted: [String] = []
            var refused: [String] = []
            let padding = String(repeating: "p", count: 16_000)
            for index in 0..<400 where refused.count < 3 {
                let group = "full-\(index)"
                let body = """
                    {"version":"4","groupKey":"\(group)","receiver":"upgrade-gate","status":"firing",
                     "alerts":[{"status":"firing","labels":{"alertname":"Noise\(index)","severity":"info"},"annotations":{"pad":"\(padding)"},
                                "startsAt":"2026-11-25T10:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"f\(index)"}],
                     "groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am"}
                    """
                let answer = try await stack.gate.call("POST", "/api/v1/alertmanager", body: body)
                switch answer.status {
                case 200: accepted.append(group)
                case 503: refused.append(group)
                default: Issue.record("unexpected answer for \(group): \(answer)")
                }
            }
            #expect(!accepted.isEmpty && !refused.isEmpty, "accepted \(accepted.count), refused \(refused.count)")
            try await eventually(timeout: .seconds(30), "/readyz to say the store is full") {
                try await stack.gate.call("GET", "/readyz").status == 503
            }
            let readyz = try await stack.gate.call("GET", "/readyz").body
            #expect(!readyz.contains(stack.gate.statePath), "the public answer carries no path: \(readyz)")
            // Reads still work, and the window is intact.
            let keptDuring = try await stack.gate.call("GET", "/api/v1/windows/kept").json
            #expect(keptDuring["id"] as? String == keptBefore["id"] as? String && keptDuring["state"] as? String == "open")
            #expect(try await stack.gate.call("GET", "/healthz").status == 200)

            // After the daemon stops, the file holds exactly what was acknowledged.
            _ = await stack.gate.terminate()
            let store = try GateStore(path: stack.gate.statePath)
            let stored = Set(try await store.alertGroups().map(\.groupKey))
            try store.close()
            #expect(Set(accepted).isSubset(of: stored), "every acknowledged notification is stored")
            #expect(stored.isDisjoint(with: refused), "no refused notification is stored")
            // With room again, the daemon is ready and the window is still open.
            try await stack.gate.launch(environment: ["UPGRADE_GATE_STORE_MAX_PAGES": ""])
            #expect(try await stack.gate.call("GET", "/readyz").status == 200)
            #expect(try await stack.gate.call("GET", "/api/v1/windows/kept").json["state"] as? String == "open")
        }
    }
}
