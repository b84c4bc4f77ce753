/// Fails the gate now for external reasons (new alerts, a failed backup) without a query evaluation.
///
/// Streaks are untouched. On the transition the verdict becomes `fail`, `failedAt` is `now` and the reasons are
/// recorded; on an already failed gate new reasons are appended (capped at `GateMemory.maxFailReasons`, the first
/// kept), exactly as `decide` does with its `failures`. An empty `reasons` changes nothing.
///
/// - Important: `fail` is sticky, and `becameFail` is `true` only on the transition, so a restore is triggered once
///   (an Alertmanager notification turns the verdict to `fail` at once, without waiting for the next evaluation).
public func failNow(_ memory: GateMemory, reasons: [String], at now: Double) -> (memory: GateMemory, becameFail: Bool) {
    guard !reasons.isEmpty else { return (memory, false) }
    var next = memory
    if memory.verdict == .fail {
        next.failReasons = appendingNew(reasons, to: memory.failReasons)
        return (next, false)
    }
    next.verdict = .fail
    next.failedAt = now
    next.failReasons = appendingNew(reasons, to: [])
    return (next, true)
}
