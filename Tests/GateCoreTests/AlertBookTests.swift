import Foundation  // tests only: JSONEncoder/JSONDecoder for the book round trip
import Testing

@testable import GateCore

/// Label sets, group keys and times of the Alertmanager webhook fixtures (`Fixtures/alertmanager/*.json`), reused as values (nothing is parsed).
enum AlertContract {
    /// webhook-firing-v0.34.json, the firing alert.
    static let budgetBurn1h = labels([
        "alertname": "KubeAPIErrorBudgetBurn", "cluster": "prod-eu1", "long": "1h", "severity": "critical", "short": "5m",
    ])
    /// webhook-firing-v0.34.json, the resolved alert.
    static let budgetBurn6h = labels([
        "alertname": "KubeAPIErrorBudgetBurn", "cluster": "prod-eu1", "long": "6h", "severity": "critical", "short": "30m",
    ])
    static let budgetBurnGroup = #"{}/{severity="critical"}:{alertname="KubeAPIErrorBudgetBurn"}"#
    /// 2026-08-20T10:20:01.5Z
    static let budgetBurn1hStart = 1_787_221_201.5
    /// 2026-08-20T09:50:01.5Z
    static let budgetBurn6hStart = 1_787_219_401.5
    /// 2026-08-20T10:19:31.5Z
    static let budgetBurn6hEnd = 1_787_221_171.5

    /// webhook-firing.json and webhook-resolved.json, the two etcd members.
    static let etcd21 = labels([
        "alertname": "EtcdHighNumberOfLeaderChanges", "cluster": "prod-eu1", "instance": "10.0.0.21:2379", "job": "etcd", "severity": "warning",
    ])
    static let etcd22 = labels([
        "alertname": "EtcdHighNumberOfLeaderChanges", "cluster": "prod-eu1", "instance": "10.0.0.22:2379", "job": "etcd", "severity": "warning",
    ])
    static let etcdGroup = #"{}/{job="etcd"}:{alertname="EtcdHighNumberOfLeaderChanges", cluster="prod-eu1"}"#
    /// 2026-08-20T10:15:30.123456789Z
    static let etcdStart = 1_787_220_930.123456789
    /// 2026-08-20T10:41:00.987654321Z
    static let etcdEnd = 1_787_222_460.987654321

    /// webhook-firing-v0.34.json as a notification.
    static var budgetBurnFiring: AlertNotification {
        notification(
            budgetBurnGroup,
            [firing(budgetBurn1h, since: budgetBurn1hStart), resolved(budgetBurn6h, since: budgetBurn6hStart, endedAt: budgetBurn6hEnd)]
        )
    }
    /// webhook-firing.json as a notification.
    static var etcdFiring: AlertNotification {
        notification(etcdGroup, [firing(etcd21, since: etcdStart), firing(etcd22, since: etcdStart)])
    }
    /// webhook-resolved.json as a notification.
    static var etcdResolved: AlertNotification {
        notification(etcdGroup, [resolved(etcd21, since: etcdStart, endedAt: etcdEnd), resolved(etcd22, since: etcdStart, endedAt: etcdEnd)])
    }
}

/// A firing alert.
func firing(_ labels: Labels, since startsAt: Double, endsAt: Double? = nil) -> Alert {
    Alert(labels: labels, startsAt: startsAt, endsAt: endsAt, firing: true)
}

/// A resolved alert.
func resolved(_ labels: Labels, since startsAt: Double, endedAt: Double) -> Alert {
    Alert(labels: labels, startsAt: startsAt, endsAt: endedAt, firing: false)
}

/// A notification of one group.
func notification(_ groupKey: String, _ alerts: [Alert], truncated: Int = 0) -> AlertNotification {
    AlertNotification(groupKey: groupKey, receiver: "upgrade-gate", alerts: alerts, truncatedAlerts: truncated)
}

/// One thing that happens to the book, and what it must say afterwards.
struct BookStep: Sendable {
    /// What reaches the book.
    enum Input: Sendable {
        case receive(AlertNotification)
        case replaceAll([Alert])
        /// Time passes; nothing arrives.
        case wait
    }

    var at: Double
    var input: Input
    var started: [Labels] = []
    var resolved: [Labels] = []
    var firing: [Labels]
}

/// A sequence of steps applied to one book.
struct BookScenario: Sendable, CustomTestStringConvertible {
    var name: String
    var steps: [BookStep]
    var testDescription: String { name }
}

/// Applies the steps in order, checking each change and the firing alerts after it; returns the book.
@discardableResult
private func play(_ steps: [BookStep]) -> AlertBook {
    var book = AlertBook()
    for (index, step) in steps.enumerated() {
        switch step.input {
        case .receive(let notification):
            let change = book.receive(notification, at: step.at)
            #expect(change.started.map(\.labels) == step.started, "step \(index): started")
            #expect(change.resolved.map(\.labels) == step.resolved, "step \(index): resolved")
            #expect(change.started.allSatisfy(\.firing) && !change.resolved.contains(where: \.firing), "step \(index)")
        case .replaceAll(let alerts):
            book.replaceAll(with: alerts, at: step.at)
        case .wait:
            break
        }
        #expect(book.firing(at: step.at).map(\.labels) == step.firing, "step \(index): firing")
    }
    return book
}

private typealias C = AlertContract
private let t0 = AlertContract.budgetBurn1hStart + 30
private let x = labels(["alertname": "Shared", "pod": "x"])
private let y = labels(["alertname": "Other", "pod": "y"])

@Suite struct AlertBookReceiving {
    static let scenarios: [BookScenario] = [
        BookScenario(
            name: "a firing alert is upserted and reported as started once; a resolved one never held is no change",
            steps: [
                BookStep(at: t0, input: .receive(C.budgetBurnFiring), started: [C.budgetBurn1h], firing: [C.budgetBurn1h]),
                BookStep(at: t0 + 30, input: .receive(C.budgetBurnFiring), firing: [C.budgetBurn1h]),
            ]
        ),
        BookScenario(
            name: "a resolved notification removes its alerts",
            steps: [
                BookStep(at: C.etcdStart + 5, input: .receive(C.etcdFiring), started: [C.etcd21, C.etcd22], firing: [C.etcd21, C.etcd22]),
                BookStep(at: C.etcdEnd + 1, input: .receive(C.etcdResolved), resolved: [C.etcd21, C.etcd22], firing: []),
            ]
        ),
        BookScenario(
            name: "duplicate deliveries of firing and resolved notifications are idempotent",
            steps: [
                BookStep(at: C.etcdStart + 5, input: .receive(C.etcdFiring), started: [C.etcd21, C.etcd22], firing: [C.etcd21, C.etcd22]),
                BookStep(at: C.etcdStart + 5, input: .receive(C.etcdFiring), firing: [C.etcd21, C.etcd22]),
                BookStep(at: C.etcdStart + 6, input: .receive(C.etcdFiring), firing: [C.etcd21, C.etcd22]),
                BookStep(at: C.etcdEnd + 1, input: .receive(C.etcdResolved), resolved: [C.etcd21, C.etcd22], firing: []),
                BookStep(at: C.etcdEnd + 2, input: .receive(C.etcdResolved), firing: []),
            ]
        ),
        BookScenario(
            name: "an alert its group no longer lists has silently dropped out",
            steps: [
                BookStep(at: C.etcdStart + 5, input: .receive(C.etcdFiring), started: [C.etcd21, C.etcd22], firing: [C.etcd21, C.etcd22]),
                BookStep(
                    at: C.etcdStart + 300,
                    input: .receive(notification(C.etcdGroup, [firing(C.etcd21, since: C.etcdStart)])),
                    resolved: [C.etcd22],
                    firing: [C.etcd21]
                ),
                BookStep(at: C.etcdStart + 600, input: .receive(notification(C.etcdGroup, [])), resolved: [C.etcd21], firing: []),
            ]
        ),
        BookScenario(
            name: "a truncated notification drops nothing",
            steps: [
                BookStep(at: C.etcdStart + 5, input: .receive(C.etcdFiring), started: [C.etcd21, C.etcd22], firing: [C.etcd21, C.etcd22]),
                BookStep(
                    at: C.etcdStart + 300,
                    input: .receive(notification(C.etcdGroup, [firing(C.etcd21, since: C.etcdStart)], truncated: 1)),
                    firing: [C.etcd21, C.etcd22]
                ),
            ]
        ),
        BookScenario(
            name: "another group's notification drops nothing of this group",
            steps: [
                BookStep(at: C.etcdStart + 5, input: .receive(C.etcdFiring), started: [C.etcd21, C.etcd22], firing: [C.etcd21, C.etcd22]),
                BookStep(
                    at: t0,
                    input: .receive(C.budgetBurnFiring),
                    started: [C.budgetBurn1h],
                    firing: [C.etcd21, C.etcd22, C.budgetBurn1h].sorted()
                ),
            ]
        ),
        BookScenario(
            name: "an alert whose endsAt passed is no longer firing, and the next notification reports it resolved",
            steps: [
                BookStep(
                    at: 1000,
                    input: .receive(notification("g", [firing(x, since: 900, endsAt: 1060)])),
                    started: [x],
                    firing: [x]
                ),
                BookStep(at: 1059, input: .wait, firing: [x]),
                BookStep(at: 1060, input: .wait, firing: []),
                BookStep(
                    at: 1100,
                    input: .receive(notification("other", [firing(y, since: 1090)])),
                    started: [y],
                    resolved: [x],
                    firing: [y]
                ),
            ]
        ),
        BookScenario(
            name: "a firing report whose endsAt already passed counts as resolved",
            steps: [
                BookStep(at: 1000, input: .receive(notification("g", [firing(x, since: 900, endsAt: 950)])), firing: [])
            ]
        ),
        BookScenario(
            name: "a late firing copy of a resolved episode is ignored (HA peer, retry)",
            steps: [
                BookStep(at: C.etcdStart + 5, input: .receive(C.etcdFiring), started: [C.etcd21, C.etcd22], firing: [C.etcd21, C.etcd22]),
                BookStep(at: C.etcdEnd + 1, input: .receive(C.etcdResolved), resolved: [C.etcd21, C.etcd22], firing: []),
                BookStep(at: C.etcdEnd + 3, input: .receive(C.etcdFiring), firing: []),
            ]
        ),
        BookScenario(
            name: "a late firing copy is taken again once the stale-report horizon has passed",
            steps: [
                BookStep(at: 1000, input: .receive(notification("g", [firing(x, since: 900)])), started: [x], firing: [x]),
                BookStep(at: 1100, input: .receive(notification("g", [resolved(x, since: 900, endedAt: 1090)])), resolved: [x], firing: []),
                BookStep(
                    at: 1100 + AlertBook.staleReportHorizon,
                    input: .receive(notification("g", [firing(x, since: 900)])),
                    started: [x],
                    firing: [x]
                ),
            ]
        ),
        BookScenario(
            name: "a re-fire after resolution has a newer startsAt and is news at once",
            steps: [
                BookStep(at: C.etcdStart + 5, input: .receive(C.etcdFiring), started: [C.etcd21, C.etcd22], firing: [C.etcd21, C.etcd22]),
                BookStep(at: C.etcdEnd + 1, input: .receive(C.etcdResolved), resolved: [C.etcd21, C.etcd22], firing: []),
                BookStep(
                    at: C.etcdEnd + 120,
                    input: .receive(notification(C.etcdGroup, [firing(C.etcd22, since: C.etcdEnd + 60)])),
                    started: [C.etcd22],
                    firing: [C.etcd22]
                ),
            ]
        ),
        BookScenario(
            name: "a late resolution of an older episode does not end the newer one",
            steps: [
                BookStep(at: 1000, input: .receive(notification("g", [firing(x, since: 990)])), started: [x], firing: [x]),
                BookStep(at: 1010, input: .receive(notification("g", [resolved(x, since: 900, endedAt: 950)])), firing: [x]),
            ]
        ),
        BookScenario(
            name: "a dropped-out alert is not brought back by a late copy of the same group",
            steps: [
                BookStep(
                    at: 1000,
                    input: .receive(notification("g", [firing(x, since: 900), firing(y, since: 900)])),
                    started: [y, x],
                    firing: [y, x]
                ),
                BookStep(at: 1300, input: .receive(notification("g", [firing(y, since: 900)])), resolved: [x], firing: [y]),
                BookStep(at: 1301, input: .receive(notification("g", [firing(x, since: 900), firing(y, since: 900)])), firing: [y]),
            ]
        ),
    ]

    @Test(arguments: scenarios)
    func receivingNotifications(_ scenario: BookScenario) {
        play(scenario.steps)
    }

    @Test func resolvedAlertsAreReportedWithTheirEnd() {
        var book = AlertBook()
        _ = book.receive(C.etcdFiring, at: C.etcdStart + 5)
        let explicit = book.receive(C.etcdResolved, at: C.etcdEnd + 1)
        #expect(explicit.resolved.map(\.endsAt) == [C.etcdEnd, C.etcdEnd])

        _ = book.receive(notification("g", [firing(x, since: 900)]), at: 1000)
        let droppedOut = book.receive(notification("g", []), at: 1300)
        #expect(droppedOut.resolved == [Alert(labels: x, startsAt: 900, endsAt: 1300, firing: false)])
    }

    @Test func aLateFiringCopyNeverMovesStartsAtBackwards() {
        var book = AlertBook()
        _ = book.receive(notification("g", [firing(x, since: 990)]), at: 1000)
        let change = book.receive(notification("g", [firing(x, since: 900)]), at: 1001)
        #expect(change.isEmpty)
        #expect(book.firing(at: 1001).map(\.startsAt) == [990])
    }

    @Test func aFiringReportUpdatesAnnotationsWithoutReportingAChange() {
        var book = AlertBook()
        _ = book.receive(notification("g", [firing(x, since: 900)]), at: 1000)
        var updated = firing(x, since: 900)
        updated.annotations = ["summary": "now with a summary"]
        #expect(book.receive(notification("g", [updated]), at: 1060).isEmpty)
        #expect(book.firing(at: 1060).map(\.annotations) == [["summary": "now with a summary"]])
    }

    @Test func theBookRoundTripsThroughJSON() throws {
        var book = AlertBook()
        _ = book.receive(C.etcdFiring, at: C.etcdStart + 5)
        _ = book.receive(C.budgetBurnFiring, at: t0)
        _ = book.receive(notification(C.etcdGroup, [firing(C.etcd21, since: C.etcdStart)]), at: t0 + 1)
        let decoded = try JSONDecoder().decode(AlertBook.self, from: JSONEncoder().encode(book))
        #expect(decoded == book)
        // The decoded book keeps group ownership and the stale-report guard.
        var copy = decoded
        #expect(copy.receive(C.etcdFiring, at: t0 + 2).isEmpty)
        #expect(copy.receive(notification(C.etcdGroup, []), at: t0 + 3).resolved.map(\.labels) == [C.etcd21])
    }
}

@Suite struct AlertBookSharedAlerts {
    // Identity is the label set, so an alert two routes send to the gate (`continue: true`) is one alert. A drop-out
    // only resolves alerts last reported by the group that dropped them; an explicit resolution resolves the alert
    // for every group, because Alertmanager keeps one state per alert, not per group.
    static let scenarios: [BookScenario] = [
        BookScenario(
            name: "a group's drop-out does not resolve an alert another group reported last",
            steps: [
                BookStep(at: 1000, input: .receive(notification("a", [firing(x, since: 900)])), started: [x], firing: [x]),
                BookStep(at: 1010, input: .receive(notification("b", [firing(x, since: 900)])), firing: [x]),
                BookStep(at: 1020, input: .receive(notification("a", [])), firing: [x]),
                BookStep(at: 1030, input: .receive(notification("b", [])), resolved: [x], firing: []),
            ]
        ),
        BookScenario(
            name: "a shared alert dropped by the group that reported it last comes back while another group lists it firing",
            steps: [
                BookStep(at: 1000, input: .receive(notification("b", [firing(x, since: 900)])), started: [x], firing: [x]),
                BookStep(at: 1010, input: .receive(notification("a", [firing(x, since: 900)])), firing: [x]),
                BookStep(at: 1020, input: .receive(notification("a", [])), resolved: [x], firing: []),
                BookStep(at: 1030, input: .receive(notification("b", [firing(x, since: 900)])), started: [x], firing: [x]),
            ]
        ),
        BookScenario(
            name: "an explicit resolution in one group holds against another group's late firing copy",
            steps: [
                BookStep(at: 1000, input: .receive(notification("a", [firing(x, since: 900)])), started: [x], firing: [x]),
                BookStep(at: 1010, input: .receive(notification("b", [firing(x, since: 900)])), firing: [x]),
                BookStep(at: 1020, input: .receive(notification("a", [resolved(x, since: 900, endedAt: 1015)])), resolved: [x], firing: []),
                BookStep(at: 1030, input: .receive(notification("b", [firing(x, since: 900)])), firing: []),
            ]
        ),
    ]

    @Test(arguments: scenarios)
    func alertsSharedByTwoGroups(_ scenario: BookScenario) {
        play(scenario.steps)
    }
}

@Suite struct AlertBookFullReads {
    static let scenarios: [BookScenario] = [
        BookScenario(
            name: "a full read replaces the book and leaves out alerts not firing at its time",
            steps: [
                BookStep(at: 1000, input: .receive(notification("g", [firing(x, since: 900)])), started: [x], firing: [x]),
                BookStep(at: 1010, input: .replaceAll([firing(y, since: 950), firing(C.etcd21, since: 900, endsAt: 1005)]), firing: [y]),
            ]
        ),
        BookScenario(
            name: "an alert that stays through a full read is still dropped by the group that reported it",
            steps: [
                BookStep(at: 1000, input: .receive(notification("g", [firing(x, since: 900)])), started: [x], firing: [x]),
                BookStep(at: 1010, input: .replaceAll([firing(x, since: 900), firing(y, since: 950)]), firing: [y, x]),
                BookStep(at: 1020, input: .receive(notification("g", [])), resolved: [x], firing: [y]),
                BookStep(at: 1030, input: .receive(notification("other", [])), firing: [y]),
            ]
        ),
        BookScenario(
            name: "a full read lifts the stale-report guard for the alerts it lists",
            steps: [
                BookStep(at: 1000, input: .receive(notification("g", [resolved(x, since: 900, endedAt: 990)])), firing: []),
                BookStep(at: 1010, input: .replaceAll([firing(x, since: 900)]), firing: [x]),
                BookStep(at: 1020, input: .receive(notification("g", [firing(x, since: 900)])), firing: [x]),
            ]
        ),
    ]

    @Test(arguments: scenarios)
    func replacingFromAFullRead(_ scenario: BookScenario) {
        play(scenario.steps)
    }

    @Test func anEndsAtAtOrBeforeTheEpochIsUnknown() {
        // Go's zero time, 0001-01-01T00:00:00Z, is what Alertmanager writes for "unknown".
        let alert = Alert(labels: x, startsAt: 900, endsAt: -62_135_596_800)
        #expect(alert.endsAt == nil)
        #expect(alert.isFiring(at: 1e12))
        #expect(!Alert(labels: x, startsAt: 900, firing: false).isFiring(at: 1000))
    }
}
