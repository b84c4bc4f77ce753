/// The gate's answer for a window, as pollers read it: `pending`, `pass`, `fail` or `inconclusive`.
public enum Verdict: String, Sendable, Equatable, Codable, CaseIterable {
    /// Open, nothing failing, but warm-up, backup or soak is not done yet.
    case pending
    /// Soak complete and the last evaluation clean.
    case pass
    /// A critical check failed `failAfter` consecutive evaluations, or an external failure (alert, backup).
    ///
    /// - Important: Sticky for the window: only an operator reset clears it.
    case fail
    /// Evidence for a critical check is missing. Never a pass, and never triggers a restore by itself.
    case inconclusive
}

/// One check's status in the gate body: `pass`, `warn`, `failing`, `fail` or `inconclusive`.
public enum CheckStatus: String, Sendable, Equatable, Codable, CaseIterable {
    /// Every rule holds.
    case pass
    /// A non-critical check's rule is broken: shown and logged, never fails the gate.
    case warn
    /// A critical check is broken, but its streak is below `failAfter` or the window is in warm-up.
    case failing
    /// A critical check has been broken `failAfter` consecutive evaluations after warm-up.
    case fail
    /// The check's evidence is missing.
    case inconclusive
}

/// The evaluation settings that turn check outcomes into a verdict.
public struct GatePolicy: Sendable, Equatable {
    /// Consecutive broken evaluations of a critical check before it fails the gate.
    public var failAfter: Int
    /// Seconds after the window opened during which broken checks are reported, not acted on.
    public var warmup: Double
    /// Seconds after the window opened before the verdict may become `pass`.
    public var soak: Double

    /// Creates a policy; the defaults are the configuration's defaults (`failAfter: 2`, `warmup: 1m`, `soak: 30m`).
    public init(failAfter: Int = 2, warmup: Double = 60, soak: Double = 1800) {
        self.failAfter = failAfter
        self.warmup = warmup
        self.soak = soak
    }
}

/// What the gate must remember between evaluations, and across a restart.
public struct GateMemory: Sendable, Equatable, Codable {
    /// The last verdict; starts `pending`.
    public var verdict: Verdict
    /// Consecutive broken evaluations per critical check, by check name.
    public var streaks: [String: Int]
    /// Why the sticky fail happened, kept while the fail is sticky; at most `GateMemory.maxFailReasons` entries.
    public var failReasons: [String]
    /// When the gate failed (Unix seconds), `nil` unless the verdict is `fail`.
    public var failedAt: Double?

    /// The cap on `failReasons`: a ratio that keeps moving during a sticky fail writes a new sentence every
    /// evaluation, and the memory must stay bounded; the first reasons (the cause) are the ones kept.
    public static let maxFailReasons = 32

    /// A fresh memory: verdict `pending`, no streaks, no fail.
    public init() {
        self.verdict = .pending
        self.streaks = [:]
        self.failReasons = []
        self.failedAt = nil
    }

    /// An operator reset: verdict `pending`, streaks and fail reasons cleared, `failedAt` cleared.
    public mutating func reset() {
        self = GateMemory()
    }
}

/// One gate decision: the verdict, why, and the memory to keep for the next evaluation.
public struct GateDecision: Sendable, Equatable {
    /// The memory to persist and pass as `previous` next time.
    public var memory: GateMemory
    /// The verdict after this evaluation.
    public var verdict: Verdict
    /// Each check's status, by check name.
    public var statuses: [String: CheckStatus]
    /// Human reasons for the verdict, most important first.
    public var reasons: [String]
    /// Seconds of soak left, never negative.
    public var soakRemaining: Double
    /// `true` only on the transition into `fail`: the trigger for a restore.
    public var becameFail: Bool

    /// Creates a decision.
    public init(
        memory: GateMemory,
        verdict: Verdict,
        statuses: [String: CheckStatus],
        reasons: [String],
        soakRemaining: Double,
        becameFail: Bool
    ) {
        self.memory = memory
        self.verdict = verdict
        self.statuses = statuses
        self.reasons = reasons
        self.soakRemaining = soakRemaining
        self.becameFail = becameFail
    }
}

/// Turns one evaluation's check outcomes into the gate's verdict, given what the gate remembered.
///
/// Precedence: a previous `fail` stays `fail` (new fail reasons are added) → a check status `fail` or any
/// `failures` → `fail` → a critical check `inconclusive` → `inconclusive` → a check `failing`, any `blockers`,
/// or soak not over → `pending` → `pass`. Non-critical checks only ever `warn`.
///
/// - Important: `fail` is sticky: later clean evaluations never clear it; only `GateMemory.reset()` does.
///   `becameFail` is `true` only on the transition, so a restore is triggered once.
///
/// - Parameters:
///   - previous: The memory returned by the last decision (or a fresh or reset one).
///   - outcomes: This evaluation's check outcomes.
///   - openedAt: When the window opened, Unix seconds.
///   - now: The evaluation time, Unix seconds.
///   - policy: `failAfter`, warm-up and soak.
///   - blockers: Things that keep the verdict pending, e.g. `waiting for pre-upgrade backup`.
///   - failures: External reasons that fail the gate at once, e.g. a new firing alert, `pre-upgrade backup failed`.
public func decide(
    previous: GateMemory,
    outcomes: [CheckOutcome],
    openedAt: Double,
    now: Double,
    policy: GatePolicy,
    blockers: [String] = [],
    failures: [String] = []
) -> GateDecision {
    let elapsed = now - openedAt
    let inWarmup = elapsed < policy.warmup
    let soakRemaining = max(0, policy.soak - elapsed)

    // Streaks: broken +1, pass 0, inconclusive (or not evaluated this time) unchanged.
    var streaks = previous.streaks
    for outcome in outcomes where outcome.critical {
        switch outcome.result {
        case .broken: streaks[outcome.check, default: 0] += 1
        case .pass: streaks[outcome.check] = 0
        case .inconclusive: streaks[outcome.check] = streaks[outcome.check] ?? 0
        }
    }

    var statuses: [String: CheckStatus] = [:]
    var failReasons: [String] = []
    var inconclusiveReasons: [String] = []
    var failingReasons: [String] = []
    var nonCriticalProblems: [(check: String, status: CheckStatus)] = []
    var checkFailed = false
    for outcome in outcomes {
        let streak = streaks[outcome.check] ?? 0
        let status: CheckStatus
        switch (outcome.result, outcome.critical) {
        case (.pass, _): status = .pass
        case (.inconclusive, _): status = .inconclusive
        case (.broken, false): status = .warn
        case (.broken, true): status = !inWarmup && streak >= policy.failAfter ? .fail : .failing
        }
        statuses[outcome.check] = status

        guard outcome.critical else {
            if status != .pass { nonCriticalProblems.append((outcome.check, status)) }
            continue
        }
        switch status {
        case .fail:
            checkFailed = true
            failReasons += brokenReasons(outcome)
        case .failing:
            failingReasons.append(failingCheckReason(outcome.check, streak: streak, failAfter: policy.failAfter, inWarmup: inWarmup))
            failingReasons += brokenReasons(outcome)
        case .inconclusive:
            inconclusiveReasons += outcome.reasons.isEmpty ? [inconclusiveCheckReason(outcome.check)] : outcome.reasons
        case .pass, .warn:
            break
        }
    }
    failReasons += failures

    var memory = previous
    memory.streaks = streaks
    let verdict: Verdict
    let reasons: [String]
    var becameFail = false
    if previous.verdict == .fail {
        verdict = .fail
        memory.failReasons = appendingNew(failReasons, to: previous.failReasons)
        reasons = memory.failReasons
    } else if checkFailed || !failures.isEmpty {
        verdict = .fail
        becameFail = true
        memory.failedAt = now
        memory.failReasons = appendingNew(failReasons, to: [])
        reasons = memory.failReasons
    } else if hasCriticalInconclusive(outcomes) {
        verdict = .inconclusive
        reasons = unique(inconclusiveReasons)
    } else if !failingReasons.isEmpty || !blockers.isEmpty || soakRemaining > 0 {
        verdict = .pending
        var pending = failingReasons + blockers
        if inWarmup { pending.append(warmupReason(remaining: policy.warmup - elapsed)) }
        if soakRemaining > 0 { pending.append(soakReason(remaining: soakRemaining)) }
        reasons = unique(pending)
    } else {
        verdict = .pass
        reasons = [passReason(checks: outcomes.count, nonCriticalProblems: nonCriticalProblems)]
    }
    memory.verdict = verdict
    return GateDecision(
        memory: memory,
        verdict: verdict,
        statuses: statuses,
        reasons: reasons,
        soakRemaining: soakRemaining,
        becameFail: becameFail
    )
}

/// The verdict of the one-shot CI `check` command: each check judged once, without soak, warm-up or
/// `failAfter`. `fail` if any critical check is broken, else `inconclusive` if any critical check is, else `pass`.
public func oneShotVerdict(_ outcomes: [CheckOutcome]) -> Verdict {
    let critical = outcomes.filter(\.critical)
    if critical.contains(where: { $0.result == .broken }) { return .fail }
    if critical.contains(where: { $0.result == .inconclusive }) { return .inconclusive }
    return .pass
}

private func hasCriticalInconclusive(_ outcomes: [CheckOutcome]) -> Bool {
    outcomes.contains { $0.critical && $0.result == .inconclusive }
}

/// The reasons of a check's broken series (a broken check may also have inconclusive series).
private func brokenReasons(_ outcome: CheckOutcome) -> [String] {
    let reasons = outcome.series.filter { $0.result == .broken }.compactMap(\.reason)
    if !reasons.isEmpty { return reasons }
    return outcome.reasons.isEmpty ? [brokenCheckReason(outcome.check)] : outcome.reasons
}

/// `existing` followed by the entries of `new` it does not hold yet, capped at `GateMemory.maxFailReasons`.
func appendingNew(_ new: [String], to existing: [String]) -> [String] {
    var result = existing
    var seen = Set(existing)
    for reason in new where result.count < GateMemory.maxFailReasons && seen.insert(reason).inserted {
        result.append(reason)
    }
    return result
}

private func unique(_ reasons: [String]) -> [String] {
    var seen = Set<String>()
    return reasons.filter { seen.insert($0).inserted }
}
