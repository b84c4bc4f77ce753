import Foundation
import Testing

/// Flagger webhooks and Argo Rollouts' web provider against the real daemon, with the payloads of
/// Fixtures/flagger/ and Fixtures/argo/ (payloads and answers of the real tools).
@Suite struct FlaggerArgoTests {
    /// Checks that need no labels beyond what a Flagger canary gives (namespace, canary).
    static let canaryChecks = """
          - name: targets-up
            query: up{job="demo"}
            min: 1
        """

    static func hook(for file: String) -> String {
        let stem = file.replacingOccurrences(of: "flagger-webhook-", with: "").replacingOccurrences(of: ".json", with: "")
        for hook in [
            "confirm-traffic-increase", "confirm-promotion", "confirm-rollout", "pre-rollout", "post-rollout", "rollout", "rollback", "event",
        ]
        where stem.hasPrefix(hook) {
            return hook
        }
        return "rollout"
    }

    @Test func everyContractPayloadGetsADecisionAndNeverA5xx() async throws {
        try await DaemonTests.Stack.run(soak: "1s", checks: Self.canaryChecks) { stack in
            let files = try fixtureNames("flagger").filter { $0.hasPrefix("flagger-webhook-") }
            #expect(files.count >= 12)
            // Open the window the payloads name first, so every hook has something to judge.
            let opened = try await stack.gate.call(
                "POST",
                "/api/v1/flagger/confirm-rollout",
                body: try fixtureText("flagger/flagger-webhook-confirm-rollout.json")
            )
            #expect(opened.status == 200, "\(opened)")
            for file in files {
                let hook = Self.hook(for: file)
                let answer = try await stack.gate.call("POST", "/api/v1/flagger/\(hook)", body: try fixtureText("flagger/\(file)"))
                #expect([200, 403].contains(answer.status), "\(file) → \(hook): \(answer)")
                #expect(!answer.body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(file): Flagger shows the body in its events")
            }
        }
    }

    @Test func aCanaryIsGatedFromConfirmRolloutToPostRollout() async throws {
        try await DaemonTests.Stack.run(soak: "3s", checks: Self.canaryChecks) { stack in
            let payload = try fixtureText("flagger/flagger-webhook-confirm-rollout.json")
            func hook(_ name: String) async throws -> GateDaemon.Answer {
                try await stack.gate.call("POST", "/api/v1/flagger/\(name)", body: payload)
            }
            #expect(try await hook("rollout").status == 403, "no window yet: nothing to advance on")
            let confirm = try await hook("confirm-rollout")
            #expect(confirm.status == 200, "\(confirm)")
            #expect(try await stack.gate.gate("k8s-upgrade-window")["window"] as? String == "k8s-upgrade-window", "the window metadata.gate names")
            #expect(try await hook("pre-rollout").status == 200, "already open: pre-rollout does not reopen")
            #expect(try await hook("rollout").status == 200, "pending is healthy enough to advance")
            #expect(try await hook("confirm-traffic-increase").status == 200)
            let early = try await hook("confirm-promotion")
            #expect(early.status == 403 && early.body.contains("waiting"), "promotion waits for pass: \(early)")
            #expect(try await hook("rollback").status == 403, "no rollback while healthy")
            try await stack.gate.waitForVerdict("k8s-upgrade-window", "pass")
            #expect(try await hook("confirm-promotion").status == 200)
            stack.worker.setHealthy(false)
            try await stack.gate.waitForVerdict("k8s-upgrade-window", "fail")
            #expect(try await hook("rollout").status == 403)
            #expect(try await hook("confirm-promotion").status == 403)
            let rollback = try await hook("rollback")
            #expect(rollback.status == 200, "Flagger rolls back when this answers 200: \(rollback)")
            #expect(rollback.body.contains("targets-up"), "the reason names the check: \(rollback)")
            let post = try await stack.gate.call(
                "POST",
                "/api/v1/flagger/post-rollout",
                body: try fixtureText("flagger/flagger-webhook-post-rollout-failed.json")
            )
            #expect(post.status == 200, "\(post)")
            #expect(try await stack.gate.gate("k8s-upgrade-window")["state"] as? String == "closed")
        }
    }

    @Test func withoutMetadataTheWindowIsPerCanaryAndChecksum() async throws {
        try await DaemonTests.Stack.run(checks: Self.canaryChecks) { stack in
            let first = try fixtureText("flagger/flagger-webhook-no-metadata.json")
            #expect(try await stack.gate.call("POST", "/api/v1/flagger/confirm-rollout", body: first).status == 200)
            #expect(try await stack.gate.gate("podinfo-prod-85d557f47b")["state"] as? String == "open")
            let next = first.replacingOccurrences(of: "85d557f47b", with: "99aa00bb11")
            #expect(try await stack.gate.call("POST", "/api/v1/flagger/confirm-rollout", body: next).status == 200)
            #expect(try await stack.gate.gate("podinfo-prod-99aa00bb11")["state"] as? String == "open", "a new checksum is a new window")
            #expect(try await stack.gate.gate("podinfo-prod-85d557f47b")["state"] as? String == "closed", "the old revision's window is superseded")
        }
    }

    @Test func requireTokenRefusesHooksWithoutAFlaggerTokenInMetadata() async throws {
        try await DaemonTests.Stack.run(extra: "flagger:\n  requireToken: true", checks: Self.canaryChecks) { stack in
            let payload = try fixtureText("flagger/flagger-webhook-confirm-rollout.json")
            let refused = try await stack.gate.call("POST", "/api/v1/flagger/confirm-rollout", body: payload, token: .some(nil))
            #expect(refused.status == 403 && refused.body.contains("metadata.token"), "\(refused)")
            let wrong = payload.replacingOccurrences(of: #""cluster": "prod-eu-1""#, with: #""cluster": "prod-eu-1", "token": "nope""#)
            #expect(try await stack.gate.call("POST", "/api/v1/flagger/confirm-rollout", body: wrong).status == 403)
            let otherScope = try await stack.gate.call(
                "POST",
                "/api/v1/flagger/confirm-rollout",
                body: payload,
                token: .some(stack.gate.scopedTokens["windows"])
            )
            #expect(otherScope.status == 403 && otherScope.body.contains("flagger scope"), "\(otherScope)")
            #expect(try await stack.gate.call("GET", "/api/v1/windows/k8s-upgrade-window").status == 404, "a refused hook opens nothing")
            let flaggerToken = try #require(stack.gate.scopedTokens["flagger"])
            let right = payload.replacingOccurrences(of: #""cluster": "prod-eu-1""#, with: #""cluster": "prod-eu-1", "token": "\#(flaggerToken)""#)
            let allowed = try await stack.gate.call("POST", "/api/v1/flagger/confirm-rollout", body: right)
            #expect(allowed.status == 200, "\(allowed)")
            #expect(!stack.gate.log.contains(flaggerToken), "the token in metadata is never logged")
        }
    }

    @Test func malformedHooksGet400AndUnknownHooks404() async throws {
        try await DaemonTests.Stack.run(checks: Self.canaryChecks) { stack in
            let missing = try await stack.gate.call("POST", "/api/v1/flagger/rollout", body: #"{"namespace":"prod"}"#)
            #expect(missing.status == 400 && (missing.json["error"] as? [String: Any])?["field"] as? String == "name", "\(missing)")
            let badMetadata = try await stack.gate.call("POST", "/api/v1/flagger/rollout", body: #"{"name":"a","namespace":"b","metadata":{"x":1}}"#)
            #expect(badMetadata.status == 400 && (badMetadata.json["error"] as? [String: Any])?["field"] as? String == "metadata.x", "\(badMetadata)")
            #expect(try await stack.gate.call("POST", "/api/v1/flagger/promote-now", body: "{}").status == 404)
        }
    }

    /// Argo Rollouts' web provider reads `{$.verdict}` and compares it with `"pass"`/`"fail"`: the
    /// gate body must have the shape of Fixtures/argo/argo-web-response-*.json.
    @Test func gateBodiesHaveTheShapeArgoRolloutsReads() async throws {
        try await DaemonTests.Stack.run(soak: "1s") { stack in
            #expect(try await stack.open("argo").status == 201)
            try await stack.gate.waitForVerdict("argo", "pass")
            let pass = try await stack.gate.gate("argo")
            stack.worker.setHealthy(false)
            try await stack.gate.waitForVerdict("argo", "fail")
            let fail = try await stack.gate.gate("argo")
            await stack.prometheus.stop()
            for (name, ours) in [("argo-web-response-pass.json", pass), ("argo-web-response-fail.json", fail)] {
                let contract = try #require(try JSONSerialization.jsonObject(with: Data(try fixtureText("argo/\(name)").utf8)) as? [String: Any])
                for (key, value) in contract where !(value is NSNull) {
                    let mine = try #require(ours[key], "the gate body lacks \(key) (\(name))")
                    #expect(jsonType(mine) == jsonType(value), "\(key): \(jsonType(mine)) vs \(jsonType(value)) in \(name)")
                }
            }
            // The web metric: jsonPath {$.verdict}, successCondition result == "pass", failureCondition result == "fail".
            let template = try #require(
                try JSONSerialization.jsonObject(with: Data(try fixtureText("argo/argo-analysistemplate-metric-web.json").utf8)) as? [String: Any]
            )
            let web = try #require((template["provider"] as? [String: Any])?["web"] as? [String: Any])
            #expect(web["jsonPath"] as? String == "{$.verdict}")
            #expect(pass["verdict"] as? String == "pass" && template["successCondition"] as? String == "result == \"pass\"")
            #expect(fail["verdict"] as? String == "fail" && template["failureCondition"] as? String == "result == \"fail\"")
        }
    }
}

private func jsonType(_ value: Any) -> String {
    switch value {
    case is String: return "string"
    // JSONSerialization gives booleans as NSNumbers whose type code is "c".
    case let number as NSNumber: return String(cString: number.objCType) == "c" ? "boolean" : "number"
    case is [Any]: return "array"
    case is [String: Any]: return "object"
    default: return "\(type(of: value))"
    }
}
