import Testing

@testable import GateCore

private let alertReason = #"alert KubeAPIErrorBudgetBurn {severity="critical"} firing since 2026-08-20T10:20:01Z (not firing when the window opened)"#
private let otherReason =
    #"alert EtcdHighNumberOfLeaderChanges {severity="warning"} firing since 2026-08-20T10:15:30Z (not firing when the window opened)"#

/// A memory in the given verdict with a running streak, as `decide` would have left it.
private func memory(_ verdict: Verdict) -> GateMemory {
    var memory = GateMemory()
    memory.verdict = verdict
    memory.streaks = ["critical-targets-up": 1]
    return memory
}

@Suite struct FailingNow {
    static let fromEveryVerdict: [Verdict] = [.pending, .pass, .inconclusive]

    @Test(arguments: fromEveryVerdict)
    func failsAtOnceFromAnyVerdictAndReportsTheTransition(_ verdict: Verdict) {
        let (next, becameFail) = failNow(memory(verdict), reasons: [alertReason], at: 1000)
        #expect(becameFail)
        #expect(next.verdict == .fail)
        #expect(next.failedAt == 1000)
        #expect(next.failReasons == [alertReason])
        #expect(next.streaks == ["critical-targets-up": 1], "streaks are untouched")
    }

    @Test func anAlreadyFailedGateStaysFailedAndReportsNoSecondTransition() {
        let (first, becameFail) = failNow(memory(.pending), reasons: [alertReason], at: 1000)
        let (second, becameFailAgain) = failNow(first, reasons: [alertReason, otherReason], at: 1010)
        #expect(becameFail && !becameFailAgain)
        #expect(second.verdict == .fail)
        #expect(second.failedAt == 1000, "the first failure's time is kept")
        #expect(second.failReasons == [alertReason, otherReason])
        let (third, becameFailThird) = failNow(second, reasons: [otherReason], at: 1020)
        #expect(!becameFailThird && third == second, "a repeated reason changes nothing")
    }

    @Test func noReasonsChangeNothing() {
        let before = memory(.pending)
        let (next, becameFail) = failNow(before, reasons: [], at: 1000)
        #expect(!becameFail && next == before)
    }

    @Test func theFailIsStickyThroughLaterCleanEvaluations() {
        let (failed, _) = failNow(memory(.pending), reasons: [alertReason], at: 1000)
        let decision = decide(
            previous: failed,
            outcomes: [outcome("critical-targets-up", .pass)],
            openedAt: 0,
            now: 1015,
            policy: GatePolicy(failAfter: 2, warmup: 0, soak: 0)
        )
        #expect(decision.verdict == .fail)
        #expect(!decision.becameFail)
        #expect(decision.reasons == [alertReason])
    }

    @Test func anEvaluationThatAlreadyFailedMakesFailNowNoTransition() {
        let decision = decide(
            previous: memory(.pending),
            outcomes: [],
            openedAt: 0,
            now: 1000,
            policy: GatePolicy(),
            failures: ["pre-upgrade backup failed"]
        )
        #expect(decision.becameFail)
        let (next, becameFail) = failNow(decision.memory, reasons: [alertReason], at: 1001)
        #expect(!becameFail)
        #expect(next.failReasons == ["pre-upgrade backup failed", alertReason])
    }

    @Test func anOperatorResetLetsTheGateFailAgain() {
        var (failed, _) = failNow(memory(.pending), reasons: [alertReason], at: 1000)
        failed.reset()
        let (again, becameFail) = failNow(failed, reasons: [otherReason], at: 2000)
        #expect(becameFail)
        #expect(again.failedAt == 2000 && again.failReasons == [otherReason])
    }

    @Test func failReasonsStayBounded() {
        let many = (0..<100).map { "alert A\($0) firing" }
        let (first, _) = failNow(GateMemory(), reasons: Array(many[..<20]), at: 1000)
        let (next, _) = failNow(first, reasons: Array(many[20...]), at: 1001)
        #expect(next.failReasons == Array(many[..<GateMemory.maxFailReasons]))
    }
}

@Suite struct RFC3339Timestamps {
    static let times: [(seconds: Double, text: String)] = [
        (0, "1970-01-01T00:00:00Z"),
        (-1, "1969-12-31T23:59:59Z"),
        (-0.5, "1969-12-31T23:59:59Z"),
        (0.999, "1970-01-01T00:00:00Z"),
        (951_825_600, "2000-02-29T12:00:00Z"),
        (951_868_799, "2000-02-29T23:59:59Z"),
        (4_107_542_400, "2100-03-01T00:00:00Z"),
        (4_107_456_000, "2100-02-28T00:00:00Z"),
        (-2_203_891_200, "1900-03-01T00:00:00Z"),
        (-62_135_596_800, "0001-01-01T00:00:00Z"),
        (253_402_300_799, "9999-12-31T23:59:59Z"),
        (AlertContract.budgetBurn1hStart, "2026-08-20T10:20:01Z"),
        (AlertContract.etcdStart, "2026-08-20T10:15:30Z"),
        (AlertContract.etcdEnd, "2026-08-20T10:41:00Z"),
    ]

    @Test(arguments: times)
    func unixSecondsFormatAsRFC3339InUTC(seconds: Double, text: String) {
        #expect(formatRFC3339(seconds) == text)
    }

    @Test func nonFiniteTimesDoNotTrap() {
        #expect(formatRFC3339(.nan) == "NaNs since the epoch")
        #expect(formatRFC3339(.infinity) == "+Infs since the epoch")
    }

    @Test func dayNumbersWalkTheGregorianCalendarOneDayAtATime() {
        // A naive calendar, stepped one day at a time from 1600-01-01 to 2400-12-31, must agree with the
        // closed-form conversion on every day (leap years, century rules, negative day numbers).
        func isLeap(_ year: Int64) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }
        func length(_ month: Int64, _ year: Int64) -> Int64 {
            switch month {
            case 2: return isLeap(year) ? 29 : 28
            case 4, 6, 9, 11: return 30
            default: return 31
            }
        }
        var expected: (year: Int64, month: Int64, day: Int64) = (1600, 1, 1)
        var day: Int64 = -135_140  // 1600-01-01
        var mismatches = 0
        while expected.year <= 2400 {
            let got = civilDate(fromDays: day)
            if got != expected { mismatches += 1 }
            day += 1
            expected.day += 1
            if expected.day > length(expected.month, expected.year) {
                expected.day = 1
                expected.month += 1
                if expected.month > 12 {
                    expected.month = 1
                    expected.year += 1
                }
            }
        }
        #expect(mismatches == 0)
        #expect(civilDate(fromDays: 0) == (1970, 1, 1))
    }
}
