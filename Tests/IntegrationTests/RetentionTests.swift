import Foundation
import GateTestKit
import Testing

/// What the daemon keeps is bounded: window lists are summaries with a state filter and a limit, events per window
/// and event messages are capped, and closed windows go after `retention.closedWindows` while open ones stay.
@Suite struct RetentionTests {
    @Test func theWindowListIsSummariesFilteredByStateAndLimit() async throws {
        try await DaemonTests.Stack.run(interval: "1h") { stack in
            #expect(try await stack.open("first").status == 201)
            #expect(try await stack.open("second").status == 201)
            #expect(try await stack.gate.call("POST", "/api/v1/windows/first/close", body: "").status == 200)
            func names(_ query: String) async throws -> [String] {
                let answer = try await stack.gate.call("GET", "/api/v1/windows" + query)
                #expect(answer.status == 200, "\(query): \(answer)")
                let windows = answer.json["windows"] as? [[String: Any]] ?? []
                #expect(windows.allSatisfy { $0["baseline"] == nil && $0["verdict"] != nil }, "summaries carry no baseline: \(answer)")
                return windows.compactMap { $0["name"] as? String }
            }
            #expect(try await names("") == ["second", "first"])
            #expect(try await names("?state=open") == ["second"])
            #expect(try await names("?state=closed") == ["first"])
            #expect(try await names("?limit=1") == ["second"])
            for (query, field) in [("?state=all", "state"), ("?limit=0", "limit"), ("?limit=1001", "limit"), ("?limit=ten", "limit")] {
                let answer = try await stack.gate.call("GET", "/api/v1/windows" + query)
                #expect(answer.status == 400 && (answer.json["error"] as? [String: Any])?["field"] as? String == field, "\(query): \(answer)")
            }
            let events = try await stack.gate.call("GET", "/api/v1/windows/first/events?limit=1")
            #expect((events.json["events"] as? [[String: Any]])?.count == 1, "\(events)")
            let badEvents = try await stack.gate.call("GET", "/api/v1/windows/first/events?limit=-3")
            #expect(badEvents.status == 400 && (badEvents.json["error"] as? [String: Any])?["field"] as? String == "limit", "\(badEvents)")
        }
    }

    @Test func eventsBeyondTheLimitAreDroppedAndCountedAndLongMessagesTruncated() async throws {
        let extra = "retention:\n  eventsPerWindow: 5\nlimits:\n  maxEventMessageBytes: 256"
        try await DaemonTests.Stack.run(interval: "1h", extra: extra) { stack in
            #expect(try await stack.open("busy").status == 201)
            let note = String(repeating: "n", count: 1000)
            for _ in 0..<12 {
                #expect(try await stack.gate.call("POST", "/api/v1/windows/busy/reset", body: #"{"reason":"\#(note)"}"#).status == 200)
            }
            let answer = try await stack.gate.call("GET", "/api/v1/windows/busy/events")
            let events = answer.json["events"] as? [[String: Any]] ?? []
            #expect(events.count == 5, "\(answer)")
            #expect((answer.json["dropped"] as? Int ?? 0) >= 8, "at least the 13 events minus the 5 kept: \(answer.body.prefix(300))")
            let message = events.first?["message"] as? String ?? ""
            #expect(message.utf8.count <= 256 && message.contains("truncated from"), "\(message)")
        }
    }

    @Test func closedWindowsArePrunedAtStartAndOpenOnesNeverAre() async throws {
        try await DaemonTests.Stack.run(interval: "1h", extra: "retention:\n  closedWindows: 1s") { stack in
            #expect(try await stack.open("old").status == 201)
            #expect(try await stack.open("current").status == 201)
            #expect(try await stack.gate.call("POST", "/api/v1/windows/old/close", body: "").status == 200)
            try await Task.sleep(for: .seconds(2))
            try await stack.gate.terminateAndRelaunch()
            try await eventually(timeout: .seconds(30), "the closed window to be pruned") {
                try await stack.gate.call("GET", "/api/v1/windows/old").status == 404
            }
            #expect(try await stack.gate.call("GET", "/api/v1/windows/current").json["state"] as? String == "open")
            #expect(try await stack.gate.call("GET", "/api/v1/windows/current/events").status == 200)
            #expect(stack.gate.log.contains("pruned the state store: 1 closed window"))
        }
    }
}
