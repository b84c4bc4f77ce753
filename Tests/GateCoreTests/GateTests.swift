import Foundation  // tests only: JSONEncoder/JSONDecoder for the memory round trip
import Testing

@testable import GateCore

/// One evaluation in a scenario: when it happens, what the checks said, and what the gate must answer.
struct Step: Sendable {
    var at: Double
    var outcomes: [CheckOutcome]
    var blockers: [String] = []
    var failures: [String] = []
    var verdict: Verdict
    var statuses: [String: CheckStatus]? = nil
    var becameFail: Bool = false
}

/// A sequence of evaluations of one window, each fed the memory the previous one returned.
struct Scenario: Sendable, CustomTestStringConvertible {
    var name: String
    var policy: GatePolicy
    var steps: [Step]
    var testDescription: String { name }
}

private let openedAt = 1_000_000.0

/// Runs the steps in order, checking each decision, and returns the decisions.
@discardableResult
private func play(_ policy: GatePolicy, _ steps: [Step], from memory: GateMemory = GateMemory()) -> [GateDecision] {
    var memory = memory
    var decisions: [GateDecision] = []
    for (index, step) in steps.enumerated() {
        let decision = decide(
            previous: memory,
            outcomes: step.outcomes,
            openedAt: openedAt,
            now: openedAt + step.at,
            policy: policy,
            blockers: step.blockers,
            failures: step.failures
        )
        #expect(decision.verdict == step.verdict, "step \(index) at \(step.at)s: \(decision.reasons)")
        #expect(decision.memory.verdict == decision.verdict)
        #expect(decision.becameFail == step.becameFail, "step \(index)")
        if let statuses = step.statuses { #expect(decision.statuses == statuses, "step \(index)") }
        memory = decision.memory
        decisions.append(decision)
    }
    return decisions
}

private let quick = GatePolicy(failAfter: 2, warmup: 0, soak: 0)

@Suite struct GateVerdicts {
    static let scenarios: [Scenario] = [
        Scenario(
            name: "critical check fails after failAfter consecutive broken evaluations",
            policy: quick,
            steps: [
                Step(at: 10, outcomes: [outcome("up", .broken)], verdict: .pending, statuses: ["up": .failing]),
                Step(at: 20, outcomes: [outcome("up", .broken)], verdict: .fail, statuses: ["up": .fail], becameFail: true),
            ]
        ),
        Scenario(
            name: "a clean evaluation in between resets the streak",
            policy: quick,
            steps: [
                Step(at: 10, outcomes: [outcome("up", .broken)], verdict: .pending, statuses: ["up": .failing]),
                Step(at: 20, outcomes: [outcome("up", .pass)], verdict: .pass, statuses: ["up": .pass]),
                Step(at: 30, outcomes: [outcome("up", .broken)], verdict: .pending, statuses: ["up": .failing]),
                Step(at: 40, outcomes: [outcome("up", .broken)], verdict: .fail, statuses: ["up": .fail], becameFail: true),
            ]
        ),
        Scenario(
            name: "inconclusive evaluation leaves the streak unchanged",
            policy: quick,
            steps: [
                Step(at: 10, outcomes: [outcome("up", .broken)], verdict: .pending),
                Step(at: 20, outcomes: [outcome("up", .inconclusive)], verdict: .inconclusive, statuses: ["up": .inconclusive]),
                Step(at: 30, outcomes: [outcome("up", .broken)], verdict: .fail, statuses: ["up": .fail], becameFail: true),
            ]
        ),
        Scenario(
            name: "failAfter 1 fails on the first broken evaluation",
            policy: GatePolicy(failAfter: 1, warmup: 0, soak: 600),
            steps: [
                Step(at: 10, outcomes: [outcome("up", .broken)], verdict: .fail, statuses: ["up": .fail], becameFail: true)
            ]
        ),
        Scenario(
            name: "warm-up reports failures but does not act on them",
            policy: GatePolicy(failAfter: 2, warmup: 60, soak: 0),
            steps: [
                Step(at: 10, outcomes: [outcome("up", .broken)], verdict: .pending, statuses: ["up": .failing]),
                Step(at: 30, outcomes: [outcome("up", .broken)], verdict: .pending, statuses: ["up": .failing]),
                Step(at: 59.9, outcomes: [outcome("up", .broken)], verdict: .pending, statuses: ["up": .failing]),
                // The streak kept counting during warm-up, so the first evaluation after it acts.
                Step(at: 60, outcomes: [outcome("up", .broken)], verdict: .fail, statuses: ["up": .fail], becameFail: true),
            ]
        ),
        Scenario(
            name: "warm-up breakage that clears never fails",
            policy: GatePolicy(failAfter: 2, warmup: 60, soak: 0),
            steps: [
                Step(at: 10, outcomes: [outcome("up", .broken)], verdict: .pending),
                Step(at: 30, outcomes: [outcome("up", .broken)], verdict: .pending),
                Step(at: 60, outcomes: [outcome("up", .pass)], verdict: .pass),
                Step(at: 70, outcomes: [outcome("up", .broken)], verdict: .pending, statuses: ["up": .failing]),
            ]
        ),
        Scenario(
            name: "fail is sticky across later clean evaluations",
            policy: quick,
            steps: [
                Step(at: 10, outcomes: [outcome("up", .broken)], verdict: .pending),
                Step(at: 20, outcomes: [outcome("up", .broken)], verdict: .fail, becameFail: true),
                Step(at: 30, outcomes: [outcome("up", .pass)], verdict: .fail, statuses: ["up": .pass]),
                Step(at: 4000, outcomes: [outcome("up", .pass)], verdict: .fail, statuses: ["up": .pass]),
                Step(at: 4010, outcomes: [outcome("up", .broken)], verdict: .fail),
            ]
        ),
        Scenario(
            name: "non-critical broken check only warns",
            policy: quick,
            steps: [
                Step(
                    at: 10,
                    outcomes: [outcome("ratio", .broken, critical: false), outcome("up", .pass)],
                    verdict: .pass,
                    statuses: ["ratio": .warn, "up": .pass]
                ),
                Step(at: 20, outcomes: [outcome("ratio", .broken, critical: false), outcome("up", .pass)], verdict: .pass),
                Step(at: 30, outcomes: [outcome("ratio", .broken, critical: false), outcome("up", .pass)], verdict: .pass),
            ]
        ),
        Scenario(
            name: "soak keeps the verdict pending until it is over",
            policy: GatePolicy(failAfter: 2, warmup: 60, soak: 1800),
            steps: [
                Step(at: 15, outcomes: [outcome("up", .pass)], verdict: .pending),
                Step(at: 1799, outcomes: [outcome("up", .pass)], verdict: .pending),
                Step(at: 1800, outcomes: [outcome("up", .pass)], verdict: .pass),
            ]
        ),
        Scenario(
            name: "pass is not sticky: a failing check makes it pending again",
            policy: quick,
            steps: [
                Step(at: 10, outcomes: [outcome("up", .pass)], verdict: .pass),
                Step(at: 20, outcomes: [outcome("up", .broken)], verdict: .pending, statuses: ["up": .failing]),
            ]
        ),
        Scenario(
            name: "blockers keep the verdict pending after soak",
            policy: quick,
            steps: [
                Step(at: 10, outcomes: [outcome("up", .pass)], blockers: ["waiting for pre-upgrade backup"], verdict: .pending),
                Step(at: 20, outcomes: [outcome("up", .pass)], verdict: .pass),
            ]
        ),
        Scenario(
            name: "external failures fail the gate at once, even in warm-up",
            policy: GatePolicy(failAfter: 3, warmup: 60, soak: 1800),
            steps: [
                Step(at: 5, outcomes: [outcome("up", .pass)], failures: ["alert KubePodCrashLooping is firing"], verdict: .fail, becameFail: true),
                Step(at: 20, outcomes: [outcome("up", .pass)], verdict: .fail),
            ]
        ),
        Scenario(
            name: "critical inconclusive makes the verdict inconclusive, non-critical does not",
            policy: quick,
            steps: [
                Step(
                    at: 10,
                    outcomes: [outcome("ratio", .inconclusive, critical: false), outcome("up", .pass)],
                    verdict: .pass,
                    statuses: ["ratio": .inconclusive, "up": .pass]
                ),
                Step(
                    at: 20,
                    outcomes: [outcome("ratio", .pass, critical: false), outcome("up", .inconclusive)],
                    verdict: .inconclusive,
                    statuses: ["ratio": .pass, "up": .inconclusive]
                ),
                Step(at: 30, outcomes: [outcome("ratio", .pass, critical: false), outcome("up", .pass)], verdict: .pass),
            ]
        ),
        Scenario(
            name: "inconclusive outranks failing and pending",
            policy: GatePolicy(failAfter: 2, warmup: 0, soak: 1800),
            steps: [
                Step(
                    at: 10,
                    outcomes: [outcome("a", .broken), outcome("b", .inconclusive)],
                    blockers: ["waiting for backup"],
                    verdict: .inconclusive,
                    statuses: ["a": .failing, "b": .inconclusive]
                )
            ]
        ),
        Scenario(
            name: "a fail outranks inconclusive",
            policy: quick,
            steps: [
                Step(at: 10, outcomes: [outcome("a", .broken), outcome("b", .inconclusive)], verdict: .inconclusive),
                Step(at: 20, outcomes: [outcome("a", .broken), outcome("b", .inconclusive)], verdict: .fail, becameFail: true),
            ]
        ),
    ]

    @Test(arguments: scenarios)
    func verdictFollowsStreaksWarmupSoakAndStickyFail(_ scenario: Scenario) {
        play(scenario.policy, scenario.steps)
    }

    @Test func streaksCountConsecutiveBrokenEvaluationsOfCriticalChecksOnly() {
        let steps = [
            Step(at: 10, outcomes: [outcome("a", .broken), outcome("b", .pass), outcome("w", .broken, critical: false)], verdict: .pending),
            Step(at: 20, outcomes: [outcome("a", .inconclusive), outcome("b", .broken)], verdict: .inconclusive),
            Step(at: 30, outcomes: [outcome("a", .pass), outcome("b", .broken)], verdict: .pending),
        ]
        let decisions = play(GatePolicy(failAfter: 3, warmup: 0, soak: 0), steps)
        #expect(decisions.map(\.memory.streaks) == [["a": 1, "b": 0], ["a": 1, "b": 1], ["a": 0, "b": 2]])
    }

    @Test func failReasonsAreKeptWhileStickyAndNewOnesAddedOnce() {
        let ratio = "check \"up\": series {} broken"
        let decisions = play(
            quick,
            [
                Step(at: 10, outcomes: [outcome("up", .broken)], verdict: .pending),
                Step(at: 20, outcomes: [outcome("up", .broken)], verdict: .fail, becameFail: true),
                Step(at: 30, outcomes: [outcome("up", .broken)], failures: ["alert X is firing"], verdict: .fail),
                Step(at: 40, outcomes: [outcome("up", .pass)], failures: ["alert X is firing"], verdict: .fail),
            ]
        )
        #expect(decisions[1].reasons == [ratio])
        #expect(decisions[2].reasons == [ratio, "alert X is firing"])
        #expect(decisions[3].reasons == [ratio, "alert X is firing"])
        #expect(decisions[3].memory.failReasons == [ratio, "alert X is firing"])
        #expect(decisions.compactMap(\.memory.failedAt) == [openedAt + 20, openedAt + 20, openedAt + 20])
    }

    @Test func failReasonsStayBoundedDuringALongStickyFail() {
        var memory = GateMemory()
        for index in 0..<100 {
            memory =
                decide(
                    previous: memory,
                    outcomes: [],
                    openedAt: openedAt,
                    now: openedAt + Double(index),
                    policy: quick,
                    failures: ["error ratio now 0.\(index)"]
                ).memory
        }
        #expect(memory.failReasons.count == GateMemory.maxFailReasons)
        #expect(memory.failReasons.first == "error ratio now 0.0")
    }

    @Test func resetClearsAStickyFail() {
        let failed = play(
            quick,
            [
                Step(at: 10, outcomes: [outcome("up", .broken)], verdict: .pending),
                Step(at: 20, outcomes: [outcome("up", .broken)], verdict: .fail, becameFail: true),
            ]
        ).last!.memory
        var memory = failed
        memory.reset()
        #expect(memory == GateMemory())
        #expect(memory.verdict == .pending && memory.streaks.isEmpty && memory.failReasons.isEmpty && memory.failedAt == nil)
        // After the reset the gate judges afresh: a clean evaluation passes, a new breakage starts a new streak.
        play(
            quick,
            [
                Step(at: 30, outcomes: [outcome("up", .pass)], verdict: .pass),
                Step(at: 40, outcomes: [outcome("up", .broken)], verdict: .pending, statuses: ["up": .failing]),
                Step(at: 50, outcomes: [outcome("up", .broken)], verdict: .fail, becameFail: true),
            ],
            from: memory
        )
    }

    @Test func failsEvenWhenABrokenCheckCarriesNoSentence() {
        let bare = CheckOutcome(check: "up", critical: true, result: .broken, series: [], reasons: [])
        let decisions = play(
            GatePolicy(failAfter: 1, warmup: 0, soak: 0),
            [Step(at: 10, outcomes: [bare], verdict: .fail, statuses: ["up": .fail], becameFail: true)]
        )
        #expect(decisions[0].reasons == ["check \"up\" is broken"])
    }

    @Test func memorySurvivesARestartAsJSON() throws {
        let memory = play(
            quick,
            [
                Step(at: 10, outcomes: [outcome("up", .broken)], verdict: .pending),
                Step(at: 20, outcomes: [outcome("up", .broken)], failures: ["pre-upgrade backup failed"], verdict: .fail, becameFail: true),
            ]
        ).last!.memory
        let decoded = try JSONDecoder().decode(GateMemory.self, from: JSONEncoder().encode(memory))
        #expect(decoded == memory)
        #expect(decoded.failReasons == ["check \"up\": series {} broken", "pre-upgrade backup failed"])
    }
}

/// One row: the situation at one evaluation and the reasons the gate gives, most important first.
struct ReasonRow: Sendable, CustomTestStringConvertible {
    var name: String
    var at: Double
    var outcomes: [CheckOutcome]
    var blockers: [String] = []
    var reasons: [String]
    var soakRemaining: Double
    var testDescription: String { name }
}

@Suite struct GateReasons {
    static let rows: [ReasonRow] = [
        .init(
            name: "failing in warm-up, then warm-up and soak",
            at: 20,
            outcomes: [outcome("etcd", .broken), outcome("up", .pass)],
            reasons: [
                "check \"etcd\" failing (broken 1 evaluation; not acted on during warm-up)", "check \"etcd\": series {} broken",
                "in warm-up for another 40s", "soaking: 29m40s remaining",
            ],
            soakRemaining: 1780
        ),
        .init(
            name: "failing after warm-up counts towards failAfter",
            at: 120,
            outcomes: [outcome("etcd", .broken)],
            reasons: [
                "check \"etcd\" failing (1 of 2 consecutive evaluations)", "check \"etcd\": series {} broken",
                "soaking: 28m0s remaining",
            ],
            soakRemaining: 1680
        ),
        .init(
            name: "blockers before soak",
            at: 300,
            outcomes: [outcome("up", .pass)],
            blockers: ["waiting for pre-upgrade backup"],
            reasons: ["waiting for pre-upgrade backup", "soaking: 25m0s remaining"],
            soakRemaining: 1500
        ),
        .init(
            name: "inconclusive critical checks",
            at: 300,
            outcomes: [outcome("up", .inconclusive), outcome("ratio", .inconclusive, critical: false), outcome("etcd", .broken)],
            reasons: ["check \"up\": series {} inconclusive"],
            soakRemaining: 1500
        ),
        .init(
            name: "all pass after soak",
            at: 1800,
            outcomes: [outcome("up", .pass), outcome("etcd", .pass)],
            reasons: ["all 2 checks pass; soak complete"],
            soakRemaining: 0
        ),
        .init(
            name: "pass with a non-critical warning says so",
            at: 7200,
            outcomes: [outcome("up", .pass), outcome("ratio", .broken, critical: false)],
            reasons: ["1 of 2 checks pass, every critical one; soak complete (non-critical: \"ratio\" warn)"],
            soakRemaining: 0
        ),
    ]

    @Test(arguments: rows)
    func reasonsExplainTheVerdictMostImportantFirst(_ row: ReasonRow) {
        let decision = decide(
            previous: GateMemory(),
            outcomes: row.outcomes,
            openedAt: openedAt,
            now: openedAt + row.at,
            policy: GatePolicy(),
            blockers: row.blockers
        )
        #expect(decision.reasons == row.reasons)
        #expect(decision.soakRemaining == row.soakRemaining)
    }

    @Test func failReasonsNameTheFailedChecksThenExternalFailures() {
        var memory = GateMemory()
        memory.streaks = ["etcd": 1]
        let decision = decide(
            previous: memory,
            outcomes: [outcome("etcd", .broken), outcome("up", .broken), outcome("ratio", .broken, critical: false)],
            openedAt: openedAt,
            now: openedAt + 600,
            policy: GatePolicy(),
            failures: ["alert KubeAPIDown is firing"]
        )
        #expect(decision.verdict == .fail)
        #expect(decision.statuses == ["etcd": .fail, "up": .failing, "ratio": .warn])
        #expect(decision.reasons == ["check \"etcd\": series {} broken", "alert KubeAPIDown is firing"])
        #expect(decision.memory.failedAt == openedAt + 600)
    }
}

@Suite struct OneShotAndDurations {
    static let oneShotCases: [([CheckOutcome], Verdict)] = [
        ([outcome("up", .pass), outcome("etcd", .pass)], .pass),
        ([outcome("up", .broken)], .fail),
        ([outcome("up", .inconclusive), outcome("etcd", .broken)], .fail),
        ([outcome("up", .inconclusive), outcome("etcd", .pass)], .inconclusive),
        ([outcome("ratio", .broken, critical: false), outcome("up", .pass)], .pass),
        ([outcome("ratio", .inconclusive, critical: false), outcome("up", .pass)], .pass),
        ([], .pass),
    ]

    @Test(arguments: oneShotCases)
    func oneShotVerdictJudgesEachCheckOnceWithoutStreaksOrSoak(_ outcomes: [CheckOutcome], _ verdict: Verdict) {
        #expect(oneShotVerdict(outcomes) == verdict)
    }

    static let durationCases: [(Double, String)] = [
        (0, "0s"), (40, "40s"), (39.2, "40s"), (-5, "0s"), (.nan, "0s"), (60, "1m0s"), (1500, "25m0s"), (1799, "29m59s"),
        (3600, "1h0m"), (5400, "1h30m"), (5415, "1h30m15s"), (336 * 3600, "336h0m"),
    ]

    @Test(arguments: durationCases)
    func durationsReadLikePrometheusDurations(_ seconds: Double, _ text: String) {
        #expect(formatDuration(seconds) == text)
    }
}
