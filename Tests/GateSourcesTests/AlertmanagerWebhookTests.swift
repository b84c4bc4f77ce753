import Foundation
import GateCore
import Testing

@testable import GateSources

func alertmanagerFixture(_ name: String) throws -> [UInt8] {
    let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures/alertmanager"))
    return Array(try Data(contentsOf: url))
}

@Suite struct AlertmanagerWebhookTests {
    @Test func decodesFiringPayloadWithNanosecondTimesAndZeroEndsAt() throws {
        let notification = try AlertmanagerWebhook.decode(try alertmanagerFixture("webhook-firing.json"))
        #expect(notification.receiver == "upgrade-gate")
        #expect(notification.groupKey.contains("EtcdHighNumberOfLeaderChanges"))
        #expect(notification.alerts.count == 2)
        let first = notification.alerts[0]
        #expect(first.firing)
        #expect(first.labels["instance"] == "10.0.0.21:2379")
        #expect(first.annotations["summary"] == "etcd cluster has high number of leader changes.")
        #expect(abs(first.startsAt - 1_787_220_930.123456789) < 1e-6)
        #expect(first.endsAt == nil, "Go's zero time means not set")
        #expect(first.fingerprint == "5f0c9e2b7d1a3c48")
    }

    @Test func decodesResolvedPayload() throws {
        let notification = try AlertmanagerWebhook.decode(try alertmanagerFixture("webhook-resolved.json"))
        #expect(notification.alerts.allSatisfy { !$0.firing })
        #expect(notification.alerts.allSatisfy { $0.endsAt != nil })
    }

    @Test func acceptsAndIgnoresFieldsNewerAlertmanagersAdd() throws {
        let notification = try AlertmanagerWebhook.decode(try alertmanagerFixture("webhook-firing-v0.34.json"))
        #expect(notification.alerts.count == 2)
        #expect(notification.alerts.map(\.firing) == [true, false])
    }

    struct Malformed: Sendable, CustomTestStringConvertible {
        var body: String
        var field: String?
        var testDescription: String { body }
    }

    static let valid = #"{"version":"4","groupKey":"g","receiver":"r","status":"firing","alerts":[ALERT]}"#
    static let alert =
        #"{"status":"firing","labels":{"alertname":"A"},"annotations":{},"startsAt":"2026-08-20T10:15:30Z","endsAt":"0001-01-01T00:00:00Z"}"#

    @Test(arguments: [
        Malformed(body: "", field: nil),
        Malformed(body: "not json", field: nil),
        Malformed(body: #"{"groupKey":"g","receiver":"r","alerts":[]}"#, field: "version"),
        Malformed(body: #"{"version":"3","groupKey":"g","receiver":"r","alerts":[]}"#, field: "version"),
        Malformed(body: #"{"version":"4","receiver":"r","alerts":[]}"#, field: "groupKey"),
        Malformed(body: #"{"version":"4","groupKey":"g","receiver":"r"}"#, field: "alerts"),
        Malformed(body: #"{"version":"4","groupKey":"g","receiver":"r","alerts":{}}"#, field: "alerts"),
        Malformed(
            body: valid.replacingOccurrences(of: "ALERT", with: alert.replacingOccurrences(of: #""status":"firing""#, with: #""status":"burning""#)),
            field: "alerts[0].status"
        ),
        Malformed(
            body: valid.replacingOccurrences(of: "ALERT", with: alert.replacingOccurrences(of: "2026-08-20T10:15:30Z", with: "yesterday")),
            field: "alerts[0].startsAt"
        ),
        Malformed(
            body: valid.replacingOccurrences(
                of: "ALERT",
                with: alert + "," + alert.replacingOccurrences(of: #"{"alertname":"A"}"#, with: #"{"alertname":1}"#)
            ),
            field: "alerts[1].labels.alertname"
        ),
        Malformed(
            body: valid.replacingOccurrences(of: "ALERT", with: alert.replacingOccurrences(of: #","startsAt":"2026-08-20T10:15:30Z""#, with: "")),
            field: "alerts[0].startsAt"
        ),
    ])
    func malformedPayloadsNameTheField(_ malformed: Malformed) {
        do {
            _ = try AlertmanagerWebhook.decode(Array(malformed.body.utf8))
            Issue.record("decoded a malformed payload")
        } catch {
            #expect(error.field == malformed.field, "\(error)")
            #expect(!error.message.isEmpty)
        }
    }

    @Test(arguments: [
        ("2026-08-20T10:15:30Z", 1_787_220_930.0),
        ("2026-08-20T10:15:30.5Z", 1_787_220_930.5),
        ("2026-08-20T12:15:30+02:00", 1_787_220_930.0),
        ("1970-01-01T00:00:00Z", 0.0),
        ("2000-02-29T00:00:00Z", 951_782_400.0),
    ])
    func parsesRFC3339(text: String, seconds: Double) {
        #expect(parseRFC3339(text) == seconds)
    }

    @Test(arguments: ["2026-13-01T00:00:00Z", "2026-08-20 10:15:30", "2026-08-20T10:15:30", "2026-08-20T10:15:30.Z", "x"])
    func rejectsMalformedTimes(text: String) {
        #expect(parseRFC3339(text) == nil)
    }
}
