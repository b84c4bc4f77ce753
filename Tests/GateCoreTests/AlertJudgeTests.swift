import Testing

@testable import GateCore

/// Builds the matchers of one configuration list entry, e.g. `severity=~"critical|warning"`.
private func matchers(_ text: String) -> [LabelMatcher] {
    // The tables only hold valid matchers; a typo should fail loudly.
    try! LabelMatcher.parseList(text)
}

/// One window's alert judgement: the firing alerts, the baseline, the policy, and the findings expected.
struct AlertJudgeCase: Sendable, CustomTestStringConvertible {
    var name: String
    var firing: [Alert]
    var baseline: Set<Labels> = []
    var policy: AlertPolicy = AlertPolicy()
    var now: Double
    /// The expected findings: the alert's labels and whether it is still in grace, oldest first.
    var findings: [(labels: Labels, inGrace: Bool)]
    var testDescription: String { name }
}

private typealias C = AlertContract
private let openedAt = AlertContract.etcdStart - 600
private let now = AlertContract.budgetBurn1hStart + 120
private let watchdog = labels(["alertname": "Watchdog", "severity": "none"])
private let throttling = labels(["alertname": "CPUThrottlingHigh", "namespace": "kube-system", "severity": "warning"])
private let throttlingApp = labels(["alertname": "CPUThrottlingHigh", "namespace": "shop", "severity": "warning"])
private let certManager = labels(["alertname": "CertManagerAbsent", "namespace": "cert-manager", "severity": "critical"])
private let specPolicy = AlertPolicy(
    matchers: matchers(#"severity=~"critical|warning""#),
    ignore: [matchers(#"alertname="Watchdog""#), matchers(#"alertname="CPUThrottlingHigh", namespace=~"kube-.*""#)]
)

/// The alerts of the contracts, all firing since their `startsAt`.
private let contractAlerts = [
    firing(C.budgetBurn1h, since: C.budgetBurn1hStart), firing(C.etcd21, since: C.etcdStart), firing(C.etcd22, since: C.etcdStart),
]

@Suite struct AlertJudgement {
    static let cases: [AlertJudgeCase] = [
        AlertJudgeCase(
            name: "every new firing alert counts under an empty policy, oldest first",
            firing: contractAlerts,
            now: now,
            findings: [(C.etcd21, false), (C.etcd22, false), (C.budgetBurn1h, false)]
        ),
        AlertJudgeCase(
            name: "alerts firing when the window opened are baseline, not news",
            firing: contractAlerts,
            baseline: [C.etcd21, C.etcd22],
            now: now,
            findings: [(C.budgetBurn1h, false)]
        ),
        AlertJudgeCase(
            name: "the global matchers select by severity",
            firing: contractAlerts + [firing(labels(["alertname": "Info", "severity": "info"]), since: openedAt)],
            policy: AlertPolicy(matchers: matchers(#"severity="critical""#)),
            now: now,
            findings: [(C.budgetBurn1h, false)]
        ),
        AlertJudgeCase(
            name: "the window's own matchers narrow the global ones",
            firing: contractAlerts + [firing(certManager, since: openedAt), firing(throttlingApp, since: openedAt)],
            policy: AlertPolicy(matchers: matchers(#"severity=~"critical|warning""#), windowMatchers: matchers(#"namespace="cert-manager""#)),
            now: now,
            findings: [(certManager, false)]
        ),
        AlertJudgeCase(
            name: "an alert matching one ignore entry whole is ignored; matching it in part is not",
            firing: [firing(watchdog, since: openedAt), firing(throttling, since: openedAt), firing(throttlingApp, since: openedAt)],
            policy: AlertPolicy(ignore: specPolicy.ignore),
            now: now,
            findings: [(throttlingApp, false)]
        ),
        AlertJudgeCase(
            name: "ignore wins over matchers",
            firing: [firing(throttling, since: openedAt), firing(certManager, since: openedAt)],
            policy: AlertPolicy(matchers: matchers(#"severity=~"critical|warning""#), ignore: [matchers(#"namespace="cert-manager""#)]),
            now: now,
            findings: [(throttling, false)]
        ),
        AlertJudgeCase(
            name: "an empty ignore entry ignores nothing",
            firing: [firing(certManager, since: openedAt)],
            policy: AlertPolicy(ignore: [[]]),
            now: now,
            findings: [(certManager, false)]
        ),
        AlertJudgeCase(
            name: "the documented example policy keeps critical and warning alerts and drops Watchdog",
            firing: contractAlerts + [firing(watchdog, since: openedAt), firing(throttling, since: openedAt)],
            baseline: [C.etcd22],
            policy: specPolicy,
            now: now,
            findings: [(C.etcd21, false), (C.budgetBurn1h, false)]
        ),
        AlertJudgeCase(
            name: "an alert younger than grace keeps the verdict pending; one that fired for grace fails it",
            firing: contractAlerts,
            policy: AlertPolicy(grace: 180),
            now: C.budgetBurn1hStart + 120,
            findings: [(C.etcd21, false), (C.etcd22, false), (C.budgetBurn1h, true)]
        ),
        AlertJudgeCase(
            name: "grace ends exactly grace seconds after startsAt",
            firing: contractAlerts,
            baseline: [C.etcd21, C.etcd22],
            policy: AlertPolicy(grace: 120),
            now: C.budgetBurn1hStart + 120,
            findings: [(C.budgetBurn1h, false)]
        ),
        AlertJudgeCase(
            name: "an alert whose endsAt passed is no finding",
            firing: [firing(certManager, since: openedAt, endsAt: now - 1), firing(throttlingApp, since: openedAt, endsAt: now + 60)],
            now: now,
            findings: [(throttlingApp, false)]
        ),
        AlertJudgeCase(
            name: "no firing alerts, no findings",
            firing: [],
            policy: specPolicy,
            now: now,
            findings: []
        ),
    ]

    @Test(arguments: cases)
    func newMatchingAlerts(_ row: AlertJudgeCase) {
        var book = AlertBook()
        book.replaceAll(with: row.firing, at: openedAt)
        let findings = judgeAlerts(book, baseline: row.baseline, policy: row.policy, now: row.now)
        #expect(findings.map(\.alert.labels) == row.findings.map(\.labels))
        #expect(findings.map(\.inGrace) == row.findings.map(\.inGrace))
    }

    @Test func findingsFollowTheBookAsNotificationsArrive() {
        var book = AlertBook()
        book.replaceAll(with: [firing(C.etcd21, since: C.etcdStart)], at: openedAt + 1)
        let baseline = Set(book.firing(at: openedAt + 1).map(\.labels))
        _ = book.receive(C.etcdFiring, at: C.etcdStart + 5)
        #expect(judgeAlerts(book, baseline: baseline, policy: specPolicy, now: C.etcdStart + 5).map(\.alert.labels) == [C.etcd22])
        _ = book.receive(C.etcdResolved, at: C.etcdEnd + 1)
        #expect(judgeAlerts(book, baseline: baseline, policy: specPolicy, now: C.etcdEnd + 1).isEmpty)
    }
}

@Suite struct AlertReasons {
    @Test func aFailingFindingNamesTheAlertItsLabelsAndSinceWhen() {
        var book = AlertBook()
        book.replaceAll(with: [firing(C.budgetBurn1h, since: C.budgetBurn1hStart)], at: now)
        let finding = judgeAlerts(book, baseline: [], policy: specPolicy, now: now)
        #expect(
            finding.map(\.reason) == [
                #"alert KubeAPIErrorBudgetBurn {cluster="prod-eu1", long="1h", severity="critical", short="5m"} "#
                    + "firing since 2026-08-20T10:20:01Z (not firing when the window opened)"
            ]
        )
    }

    @Test func aFindingInGraceSaysHowMuchGraceIsLeft() {
        var book = AlertBook()
        book.replaceAll(with: [firing(C.budgetBurn1h, since: C.budgetBurn1hStart)], at: C.budgetBurn1hStart)
        let finding = judgeAlerts(book, baseline: [], policy: AlertPolicy(grace: 300), now: C.budgetBurn1hStart + 210)
        #expect(
            finding.map(\.reason) == [
                #"alert KubeAPIErrorBudgetBurn {cluster="prod-eu1", long="1h", severity="critical", short="5m"} "#
                    + "firing since 2026-08-20T10:20:01Z (not firing when the window opened; in grace for another 1m30s)"
            ]
        )
    }

    @Test func theStartTimeIsShownInWholeSecondsNeverLater() {
        var book = AlertBook()
        book.replaceAll(with: [firing(C.etcd21, since: C.etcdStart)], at: C.etcdStart)
        let finding = judgeAlerts(book, baseline: [], policy: AlertPolicy(), now: C.etcdStart + 600)
        #expect(
            finding.map(\.reason) == [
                #"alert EtcdHighNumberOfLeaderChanges {cluster="prod-eu1", instance="10.0.0.21:2379", job="etcd", severity="warning"} "#
                    + "firing since 2026-08-20T10:15:30Z (not firing when the window opened)"
            ]
        )
    }

    static let identities: [(labels: Labels, identity: String)] = [
        (labels(["alertname": "Watchdog"]), "Watchdog"),
        (labels(["alertname": "Watchdog", "severity": "none"]), #"Watchdog {severity="none"}"#),
        (labels(["job": "node", "severity": "critical"]), #"{job="node", severity="critical"}"#),
        (labels(["alertname": "Quote", "summary": #"say "hi""#]), #"Quote {summary="say \"hi\""}"#),
    ]

    @Test(arguments: identities)
    func anAlertIsNamedByAlertnameThenItsOtherLabels(labels: Labels, identity: String) {
        #expect(alertIdentity(labels) == identity)
    }
}
