import Foundation
import Testing

/// Bad input gets a clear 4xx naming the field, loses nothing, and the daemon keeps serving.
@Suite struct APIValidationTests {
    struct BadRequest: Sendable, CustomTestStringConvertible {
        var method = "POST"
        var path = "/api/v1/windows"
        var body: String?
        var status: Int
        var field: String?
        var contains: String = ""
        var testDescription: String { "\(method) \(path) \(body ?? "") → \(status) \(field ?? "")" }
    }

    static let corpus: [BadRequest] = [
        BadRequest(body: "", status: 400, contains: "not valid JSON"),
        BadRequest(body: "{", status: 400, contains: "not valid JSON"),
        BadRequest(body: "[1,2]", status: 400, contains: "JSON object"),
        BadRequest(body: #"{"component":"x"}"#, status: 400, field: "name", contains: "required"),
        BadRequest(body: #"{"name":"Bad_Name"}"#, status: 400, field: "name", contains: "DNS-1123"),
        BadRequest(body: #"{"name":"-x"}"#, status: 400, field: "name"),
        BadRequest(body: "{\"name\":\"\(String(repeating: "a", count: 64))\"}", status: 400, field: "name"),
        BadRequest(body: #"{"name":42}"#, status: 400, field: "name", contains: "must be a string"),
        BadRequest(body: #"{"name":"w","labels":{"job":"demo"},"soak":"ten minutes"}"#, status: 400, field: "soak", contains: "Prometheus duration"),
        BadRequest(body: #"{"name":"w","labels":{"job":"demo"},"duration":"-5m"}"#, status: 400, field: "duration"),
        BadRequest(
            body: #"{"name":"w","labels":{"job":"demo"},"soak":"2h","duration":"1h"}"#,
            status: 400,
            field: "soak",
            contains: "longer than duration"
        ),
        BadRequest(body: #"{"name":"w"}"#, status: 400, field: "labels.job", contains: "{{job}}"),
        BadRequest(body: #"{"name":"w","labels":{"job":7}}"#, status: 400, field: "labels.job", contains: "must be a string"),
        BadRequest(body: #"{"name":"w","labels":{"9job":"x"}}"#, status: 400, field: "labels.9job"),
        BadRequest(body: #"{"name":"w","labels":["job"]}"#, status: 400, field: "labels"),
        BadRequest(body: #"{"name":"w","labels":{"job":"demo"},"namespaces":["Kube_System"]}"#, status: 400, field: "namespaces[0]"),
        BadRequest(body: #"{"name":"w","labels":{"job":"demo"},"namespaces":"default"}"#, status: 400, field: "namespaces"),
        BadRequest(body: #"{"name":"w","labels":{"job":"demo"},"checks":["nope"]}"#, status: 400, field: "checks[0]", contains: "no check named"),
        BadRequest(body: #"{"name":"w","labels":{"job":"demo"},"checks":[]}"#, status: 400, field: "checks"),
        BadRequest(body: #"{"name":"w","labels":{"job":"demo"},"matchers":["severity=~\"(\""]}"#, status: 400, field: "matchers[0]"),
        BadRequest(body: #"{"name":"w","labels":{"job":"demo"},"backup":{"create":true}}"#, status: 400, field: "backup", contains: "no velero"),
        BadRequest(body: #"{"name":"w","labels":{"job":"demo"},"backup":{"create":"yes"}}"#, status: 400, field: "backup.create"),
        BadRequest(body: #"{"name":"w","labels":{"job":"demo"},"surprise":true}"#, status: 400, field: "surprise", contains: "unknown field"),
        BadRequest(path: "/api/v1/windows/nope/close", status: 404, field: "name"),
        BadRequest(path: "/api/v1/windows/nope/reset", status: 404, field: "name"),
        BadRequest(path: "/api/v1/windows/existing/reset", body: #"{"reason":1}"#, status: 400, field: "reason"),
        BadRequest(path: "/api/v1/windows/existing/close", body: #"{"why":"x"}"#, status: 400, field: "why"),
        BadRequest(body: #"{"name":"existing","labels":{"job":"demo"}}"#, status: 409, field: "name", contains: "already open"),
        BadRequest(method: "GET", path: "/api/v1/gate/nope", status: 404, field: "name"),
        BadRequest(method: "GET", path: "/api/v1/windows/nope", status: 404, field: "name"),
        BadRequest(method: "GET", path: "/api/v1/windows/nope/events", status: 404, field: "name"),
    ]

    @Test func everyMalformedInputGetsA4xxNamingTheFieldAndTheDaemonKeepsServing() async throws {
        try await DaemonTests.Stack.run(extra: "limits:\n  maxBodyBytes: 4096\n  maxOpenWindows: 2") { stack in
            #expect(try await stack.open("existing").status == 201)
            let before = try await stack.gate.call("GET", "/api/v1/windows/existing").json
            for bad in Self.corpus {
                let answer = try await stack.gate.call(bad.method, bad.path, body: bad.body)
                #expect(answer.status == bad.status, "\(bad.testDescription): \(answer)")
                let error = answer.json["error"] as? [String: Any]
                #expect(error?["message"] as? String != nil, "every error has a message: \(answer)")
                if let field = bad.field { #expect(error?["field"] as? String == field, "\(bad.testDescription): \(answer)") }
                if !bad.contains.isEmpty {
                    #expect((error?["message"] as? String)?.contains(bad.contains) == true, "\(bad.testDescription): \(answer)")
                }
            }
            // Size cap: 413 whether or not the client announces the length.
            let big = "{\"name\":\"big\",\"component\":\"\(String(repeating: "x", count: 5000))\"}"
            #expect(try await stack.gate.call("POST", "/api/v1/windows", body: big).status == 413)
            // Window cap: the second opens, the third is 429.
            #expect(try await stack.open("second").status == 201)
            let third = try await stack.open("third")
            #expect(third.status == 429, "\(third)")
            // Nothing was lost and the daemon still serves.
            #expect(try await stack.gate.call("GET", "/healthz").status == 200)
            let after = try await stack.gate.call("GET", "/api/v1/windows/existing").json
            #expect(after["id"] as? String == before["id"] as? String)
            #expect(NSDictionary(dictionary: after["baseline"] as? [String: Any] ?? [:]).isEqual(to: before["baseline"] as? [String: Any] ?? ["": 0]))
            #expect(try await stack.gate.gate("existing")["window"] as? String == "existing")
        }
    }

    @Test func stateChangesNeedTheTokenAndTheTokenIsNeverEchoed() async throws {
        try await DaemonTests.Stack.run { stack in
            let body = #"{"name":"authz","labels":{"job":"demo"}}"#
            for token: String? in [nil, "wrong", stack.gate.token + "x", String(stack.gate.token.dropLast())] {
                let answer = try await stack.gate.call("POST", "/api/v1/windows", body: body, token: .some(token))
                #expect(answer.status == 401, "\(token ?? "no token"): \(answer)")
                #expect((answer.json["error"] as? [String: Any])?["code"] as? String == "unauthorized")
            }
            #expect(try await stack.gate.call("GET", "/api/v1/windows/authz").status == 404, "a refused call changes nothing")
            let opened = try await stack.gate.call("POST", "/api/v1/windows", body: body)
            #expect(opened.status == 201)
            #expect(try await stack.gate.call("POST", "/api/v1/windows/authz/close", token: .some("nope")).status == 401)
            #expect(try await stack.gate.gate("authz")["state"] as? String == "open")
            // The token appears in no response and no log line.
            var seen = [opened.body, try await stack.gate.call("GET", "/api/v1/windows/authz").body]
            seen.append(try await stack.gate.call("GET", "/api/v1/windows/authz/events").body)
            seen.append(try await stack.gate.call("GET", "/metrics").body)
            seen.append(stack.gate.log)
            for text in seen { #expect(!text.contains(stack.gate.token), "token leaked into: \(text.prefix(500))") }
        }
    }
}
