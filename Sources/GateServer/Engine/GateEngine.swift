import Foundation
import GateConfig
import GateCore
import GateSources
import GateStore
import Logging

/// Type-erases a `MetricsSource` so the engine is not generic.
struct AnyMetricsSource: MetricsSource {
    let base: any MetricsSource

    func instant(_ query: String, at time: Double) async throws(PrometheusError) -> QueryResponse {
        try await base.instant(query, at: time)
    }

    func range(_ query: String, start: Double, end: Double, step: Double) async throws(PrometheusError) -> QueryResponse {
        try await base.range(query, start: start, end: end, step: step)
    }
}

/// The one owner of open windows: opens, evaluates, closes and resets them, persists every change
/// before it is acknowledged, logs the gate lines and publishes answers to the board.
///
/// GateCore decides; this actor only carries the decisions out (I/O, logs, metrics).
actor GateEngine {
    let config: GateConfig
    let store: GateStore
    private let evaluator: Evaluator<AnyMetricsSource>
    private let board: GateBoard
    let metrics: GateMetrics
    let logger: Logger
    let now: @Sendable () -> Double

    let alertSource: any FiringAlertsSource
    /// Velero, when the config has a `velero` section.
    let velero: (any VeleroPort)?
    /// Group-commits Alertmanager notifications.
    let alertWriter: AlertGroupWriter
    var live: [String: LiveWindow] = [:]
    /// Closed windows whose restore is still in flight, by window id (the reconciler finishes them).
    var restoring: [String: LiveWindow] = [:]
    /// Every alert Alertmanager told us about, by group (global: windows differ only in their
    /// baselines and matchers).
    var book = AlertBook()
    private var opening: Set<String> = []
    /// Checks whose evidence was missing at the last evaluation, per window (to log source
    /// failures on change, not on every tick).
    private var unavailable: [String: Set<String>] = [:]

    init(
        config: GateConfig,
        store: GateStore,
        source: any MetricsSource,
        alertSource: any FiringAlertsSource,
        velero: (any VeleroPort)?,
        board: GateBoard,
        metrics: GateMetrics,
        logger: Logger,
        now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) {
        self.config = config
        self.alertSource = alertSource
        self.velero = velero
        self.alertWriter = AlertGroupWriter(store: store)
        self.store = store
        self.evaluator = Evaluator(
            source: AnyMetricsSource(base: source),
            maxConcurrentQueries: 8,
            onQueryError: { [metrics] error in metrics.countQueryError(reason: error.label) }
        )
        self.board = board
        self.metrics = metrics
        self.logger = logger
        self.now = now
    }

    /// What the gate does about a verdict change, as the gate log says it.
    func failAction(becameFail: Bool) -> String {
        guard becameFail else { return "none" }
        return config.velero.map { "restore mode \($0.restore.mode.rawValue)" } ?? "none: no velero section, judging only"
    }

    // MARK: Start-up

    /// Loads every open window (baseline, streaks, sticky verdicts) and the recent closed ones
    /// from the store, and publishes their answers, so a restart (even after kill -9) loses nothing acknowledged.
    func resume() async throws(StoreError) {
        for group in try await store.alertGroups() {
            // Payloads were validated before they were stored; one that no longer decodes is skipped, not fatal.
            if let notification = try? AlertmanagerWebhook.decode(group.payload) {
                _ = book.receive(notification, at: group.receivedAt)
            }
        }
        let open = try await store.openWindows()
        for stored in open {
            let window = LiveWindow(record: stored.record, baseline: stored.baseline, lastEvaluation: stored.lastEvaluation, config: config)
            live[window.record.name] = window
            publish(window)
            metrics.setVerdict(window: window.record.name, verdict: window.record.memory.verdict)
        }
        for stored in try await store.windows(includeClosed: true, limit: 50) where !stored.record.isOpen && live[stored.record.name] == nil {
            let window = LiveWindow(record: stored.record, baseline: stored.baseline, lastEvaluation: stored.lastEvaluation, config: config)
            publish(window)
            if let restore = stored.record.restore, !restore.isTerminal { restoring[stored.record.id] = window }
        }
        metrics.setOpenWindows(live.count)
        if !open.isEmpty {
            logger.notice(
                "resumed \(open.count) open window(s) from the state store",
                metadata: ["gate.windows": .array(open.map { .string($0.record.name) })]
            )
        }
    }

    // MARK: Opening

    /// Opens a window: validates, resolves checks and soak, captures and persists the baseline,
    /// and only then answers.
    func open(_ request: WindowRequest, by actor: String) async throws(APIError) -> LiveWindow {
        let name = request.name
        if live[name] != nil || opening.contains(name) {
            throw .conflict("a window named \"\(name)\" is already open; close it first or pick another name", field: "name")
        }
        guard live.count + opening.count < config.limits.maxOpenWindows else {
            throw .tooManyWindows(limit: config.limits.maxOpenWindows)
        }
        let specs = try resolveChecks(for: request)
        let soak = request.soak ?? config.windows.soak(for: bump(request))
        // A window must stay open long enough to pass: without an explicit duration, a long
        // policy soak (major bumps) extends it.
        let duration = request.duration ?? max(config.windows.duration, soak)
        guard soak <= duration else {
            throw .badRequest(
                "soak (\(formatPrometheusDuration(soak))) is longer than duration (\(formatPrometheusDuration(duration))): the window would close before it could pass",
                field: "duration"
            )
        }

        opening.insert(name)
        defer { opening.remove(name) }
        let openedAt = now()
        let id = makeWindowID()
        // The Backup first, then the baseline and the alerts, then persist: a failed open leaves nothing half-made.
        let (backup, images) = try await prepareEscape(for: request, id: id, at: openedAt)
        let lookback = config.baseline.lookback
        let captures = await evaluator.captureBaselines(
            specs,
            end: openedAt,
            lookback: lookback,
            step: baselineStep(lookback: lookback, interval: config.evaluation.interval),
            aggregate: config.baseline.aggregate
        )
        if let failed = specs.compactMap({ captures[$0.name]?.error }).first {
            logger.warning(
                "window \(name) not opened: baseline capture failed",
                metadata: ["gate.window": .string(name), "gate.error": .string(failed)]
            )
            throw .unavailable("the baseline could not be captured, so the window was not opened: \(failed)")
        }
        let alreadyFiring: [Alert]
        do {
            alreadyFiring = try await alertSource.firingAlerts(at: openedAt)
        } catch {
            logger.warning(
                "window \(name) not opened: firing alerts could not be read",
                metadata: ["gate.window": .string(name), "gate.error": .string(error.description)]
            )
            throw .unavailable("the alerts already firing could not be read, so new alerts could not be told from old ones: \(error)")
        }
        // What webhooks already reported counts as firing at open too.
        var baselineAlerts = Dictionary(alreadyFiring.map { ($0.labels, $0) }, uniquingKeysWith: { first, _ in first })
        for alert in book.firing(at: openedAt) where baselineAlerts[alert.labels] == nil { baselineAlerts[alert.labels] = alert }
        let baseline = WindowBaseline(
            capturedAt: now(),
            start: openedAt - lookback,
            end: openedAt,
            checks: Dictionary(uniqueKeysWithValues: specs.map { ($0.name, captures[$0.name]?.series ?? []) }),
            alerts: baselineAlerts.values.sorted { $0.labels < $1.labels }
        )
        let record = WindowRecord(
            id: id,
            request: request,
            checks: specs,
            openedAt: openedAt,
            soak: soak,
            duration: duration,
            backup: backup,
            imagesAtOpen: images
        )
        let message =
            "window \(name) opened" + versionText(request)
            + "; soak \(formatPrometheusDuration(soak)), closes after \(formatPrometheusDuration(duration))"
        let event = WindowEvent(at: openedAt, kind: "opened", message: message, details: ["by": actor, "id": record.id])
        do {
            try await store.insertWindow(record, baseline: baseline, event: event)
        } catch {
            if error.isNameTaken { throw .conflict("a window named \"\(name)\" is already open", field: "name") }
            throw .storage("the window could not be persisted, so it was not opened: \(error)")
        }
        let window = LiveWindow(record: record, baseline: baseline, lastEvaluation: nil, config: config)
        live[name] = window
        publish(window)
        metrics.setVerdict(window: name, verdict: .pending)
        metrics.setOpenWindows(live.count)
        logger.notice(
            "\(message)",
            metadata: [
                "gate.window": .string(name), "gate.window_id": .string(record.id), "gate.verdict": .string(Verdict.pending.rawValue),
                "gate.checks": .array(specs.map { .string($0.name) }),
                "gate.baseline_series": .stringConvertible(baseline.checks.values.map(\.count).reduce(0, +)),
            ]
        )
        return window
    }

    private func resolveChecks(for request: WindowRequest) throws(APIError) -> [CheckSpec] {
        let selected = request.checks.map { names in config.checks.filter { names.contains($0.name) } } ?? config.checks
        var specs: [CheckSpec] = []
        var missing: [String: [String]] = [:]
        for check in selected {
            do {
                specs.append(try check.spec(labels: request.templateLabels))
            } catch {
                for label in error.missingLabels { missing[label, default: []].append(check.name) }
            }
        }
        if let label = missing.keys.sorted().first {
            throw .badRequest(
                "labels.\(label) is needed by check(s) \(missing[label]!.joined(separator: ", ")) ({{\(label)}} in the query) but the window does not set it",
                field: "labels.\(label)"
            )
        }
        return specs
    }

    private func bump(_ request: WindowRequest) -> SemverBump? {
        guard let from = request.fromVersion, let to = request.toVersion else { return nil }
        return semverBump(from: from, to: to)
    }

    // MARK: Evaluating

    /// One evaluation cycle: every open window's checks at one pinned time, judged, persisted,
    /// published; windows past their duration are closed with their final verdict.
    func evaluateAll() async {
        let at = now()
        let windows = Array(live.values)
        guard !windows.isEmpty else {
            await reconcileRestores()
            return
        }
        let results = await withTaskGroup(of: (String, String, [CheckOutcome], Double).self) { group in
            var collected: [(String, String, [CheckOutcome], Double)] = []
            var pending = windows[...]
            func startNext() {
                guard let window = pending.popFirst() else { return }
                let evaluator = self.evaluator
                group.addTask {
                    let started = ContinuousClock.now
                    let baselines = Dictionary(
                        uniqueKeysWithValues: window.baseline.checks.map { ($0.key, BaselineCapture(check: $0.key, series: $0.value)) }
                    )
                    let outcomes = await evaluator.evaluate(
                        window.record.checks,
                        at: at,
                        baselines: baselines,
                        baselineRange: BaselineRange(start: window.baseline.start, end: window.baseline.end)
                    )
                    let elapsed = started.duration(to: .now)
                    return (
                        window.record.name, window.record.id, outcomes,
                        Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                    )
                }
            }
            for _ in 0..<4 { startNext() }
            while let result = await group.next() {
                collected.append(result)
                startNext()
            }
            return collected
        }
        // Shutting down: the queries were cancelled, so these outcomes are not evidence.
        guard !Task.isCancelled else { return }
        for (name, id, outcomes, seconds) in results {
            await refreshBackup(name, at: at)
            await apply(outcomes, to: name, id: id, at: at, seconds: seconds)
        }
        await reconcileRestores()
    }

    private func apply(_ outcomes: [CheckOutcome], to name: String, id: String, at: Double, seconds: Double) async {
        // The window may have been closed, reset or reopened while its queries ran: decide on
        // its current memory, and drop results for a window that is gone.
        guard var window = live[name], window.record.id == id else { return }
        let previous = window.record.memory.verdict
        let findings = alertFindings(for: window, at: at)
        let backup = backupConditions(window, at: at)
        let decision = decide(
            previous: window.record.memory,
            outcomes: outcomes,
            openedAt: window.record.openedAt,
            now: at,
            policy: GatePolicy(failAfter: config.evaluation.failAfter, warmup: config.evaluation.warmup, soak: window.record.soak),
            blockers: backup.blockers + findings.filter(\.inGrace).map { "\($0.reason) (in grace)" },
            failures: backup.failures + findings.filter { !$0.inGrace }.map(\.reason)
        )
        window.record.memory = decision.memory
        let evaluation = EvaluationRecord(
            at: at,
            duration: seconds,
            verdict: decision.verdict,
            statuses: decision.statuses,
            reasons: decision.reasons,
            soakRemaining: decision.soakRemaining,
            outcomes: outcomes
        )
        window.lastEvaluation = evaluation
        live[name] = window
        publish(window)

        var events: [WindowEvent] = []
        if decision.verdict != previous {
            let message = "verdict \(previous.rawValue) → \(decision.verdict.rawValue): " + (decision.reasons.first ?? "")
            events.append(
                WindowEvent(
                    at: at,
                    kind: "verdict",
                    message: message,
                    details: ["from": previous.rawValue, "to": decision.verdict.rawValue, "reasons": decision.reasons.joined(separator: "\n")]
                )
            )
            logVerdictChange(window, from: previous, decision: decision, outcomes: outcomes)
            metrics.countVerdictChange(window: name, to: decision.verdict)
        }
        logSourceChanges(name, outcomes: outcomes)
        metrics.setVerdict(window: name, verdict: decision.verdict)
        for (check, status) in decision.statuses { metrics.setCheckStatus(window: name, check: check, status: status) }
        metrics.observeEvaluation(window: name, seconds: seconds)
        do {
            try await store.recordEvaluation(windowID: id, evaluation, memory: decision.memory, events: events)
        } catch {
            logger.error(
                "evaluation of window \(name) could not be persisted: \(error)",
                metadata: ["gate.window": .string(name), "gate.error": .string(error.label)]
            )
        }
        if decision.becameFail {
            // A failed pre-upgrade backup fails the window but is no rollback point.
            await onBecameFail(name, reasons: decision.reasons, at: at)
        }
        if at >= window.record.closesAt {
            _ = try? await close(name, reason: "duration ended", by: "upgrade-gate")
        }
    }

    // MARK: Closing and resetting

    /// Closes an open window and records its final verdict; closing a closed window again
    /// answers with it (pipelines retry).
    func close(_ name: String, reason: String, by actor: String) async throws(APIError) -> LiveWindow {
        guard var window = live[name] else {
            if let closed = try await storedWindow(named: name), !closed.record.isOpen { return closed }
            throw .windowNotFound(name)
        }
        let at = now()
        window.record.closedAt = at
        window.record.closeReason = reason
        let verdict = window.record.memory.verdict
        let message = "window \(name) closed (\(reason)); final verdict \(verdict.rawValue)"
        let event = WindowEvent(at: at, kind: "closed", message: message, details: ["by": actor, "reason": reason, "verdict": verdict.rawValue])
        // Memory first, then the write: while it is in flight nothing else (an evaluation, an alert)
        // may still treat the window as open and write an open record after this one.
        let previous = live.removeValue(forKey: name)
        do {
            try await store.updateWindow(window.record, events: [event])
        } catch {
            live[name] = previous
            throw .storage("the window could not be closed in the state store: \(error)")
        }
        unavailable.removeValue(forKey: name)
        if let restore = window.record.restore, !restore.isTerminal { restoring[window.record.id] = window }
        publish(window)
        metrics.removeWindow(name, checks: window.record.checks.map(\.name))
        metrics.setOpenWindows(live.count)
        logger.notice(
            "\(message)",
            metadata: [
                "gate.window": .string(name), "gate.verdict": .string(verdict.rawValue), "gate.reason": .string(reason), "gate.by": .string(actor),
            ]
        )
        return window
    }

    /// An operator clears a sticky fail (or any verdict): streaks restart, the reset is audited.
    func reset(_ name: String, by actor: String, note: String?) async throws(APIError) -> LiveWindow {
        guard var window = live[name] else {
            if let closed = try await storedWindow(named: name), !closed.record.isOpen {
                throw .conflict("window \"\(name)\" is closed; a closed window's final verdict cannot be reset", field: "name")
            }
            throw .windowNotFound(name)
        }
        let previous = window.record.memory
        window.record.memory.reset()
        window.lastEvaluation = nil
        let at = now()
        var details = ["by": actor, "from": previous.verdict.rawValue]
        if let note { details["note"] = note }
        if !previous.failReasons.isEmpty { details["clearedReasons"] = previous.failReasons.joined(separator: "\n") }
        let message = "verdict reset by operator (\(previous.verdict.rawValue) → pending)" + (note.map { ": \($0)" } ?? "")
        // Memory first, then the write (see close): an evaluation finishing meanwhile decides on the
        // reset memory, and its write is queued after this one.
        let before = live[name]
        live[name] = window
        do {
            try await store.updateWindow(window.record, events: [WindowEvent(at: at, kind: "reset", message: message, details: details)])
        } catch {
            if let before, live[name]?.record.id == before.record.id { live[name] = before }
            throw .storage("the reset could not be persisted, so nothing was changed: \(error)")
        }
        publish(live[name] ?? window)
        metrics.setVerdict(window: name, verdict: .pending)
        logger.notice(
            "window \(name): \(message)",
            metadata: [
                "gate.window": .string(name), "gate.verdict": .string(Verdict.pending.rawValue), "gate.previous": .string(previous.verdict.rawValue),
                "gate.by": .string(actor),
            ]
        )
        return window
    }

    // MARK: Reading

    /// An open window from memory, else the latest closed one from the store.
    func window(named name: String) async throws(APIError) -> LiveWindow? {
        if let window = live[name] { return window }
        return try await storedWindow(named: name)
    }

    /// Open windows (memory) and recently closed ones (store), newest first.
    func windows(includeClosed: Bool) async throws(APIError) -> [LiveWindow] {
        var result = live.values.sorted { $0.record.openedAt > $1.record.openedAt }
        if includeClosed {
            do {
                let stored = try await store.windows(includeClosed: true, limit: 100)
                result += stored.filter { !$0.record.isOpen }.map {
                    LiveWindow(record: $0.record, baseline: $0.baseline, lastEvaluation: $0.lastEvaluation, config: config)
                }
            } catch {
                throw .storage("the window list could not be read: \(error)")
            }
        }
        return result
    }

    /// A window's audit trail, newest first.
    func events(named name: String, limit: Int) async throws(APIError) -> [WindowEvent]? {
        guard let window = try await window(named: name) else { return nil }
        do {
            return try await store.events(windowID: window.record.id, limit: limit)
        } catch {
            throw .storage("the events could not be read: \(error)")
        }
    }

    private func storedWindow(named name: String) async throws(APIError) -> LiveWindow? {
        do {
            guard let stored = try await store.window(named: name) else { return nil }
            return LiveWindow(record: stored.record, baseline: stored.baseline, lastEvaluation: stored.lastEvaluation, config: config)
        } catch {
            throw .storage("the window could not be read: \(error)")
        }
    }

    // MARK: Publishing and gate logs

    func publish(_ window: LiveWindow) {
        let at = now()
        let findings = window.record.isOpen ? alertFindings(for: window, at: at) : []
        if live[window.record.name]?.record.id == window.record.id { live[window.record.name]?.publishedAlerts = findings }
        let body = GateBody(window: window, alerts: findings, velero: config.velero, now: at)
        board.publish(window.record.name, body: body.encoded(), verdict: window.record.memory.verdict, isOpen: window.record.isOpen)
    }

    private func logVerdictChange(_ window: LiveWindow, from previous: Verdict, decision: GateDecision, outcomes: [CheckOutcome]) {
        let name = window.record.name
        var failing: [Logger.MetadataValue] = []
        for outcome in outcomes where outcome.result != .pass {
            for series in outcome.series where series.result != .pass {
                var entry: Logger.Metadata = [
                    "check": .string(outcome.check), "series": .string(series.labels.description),
                    "status": .string((decision.statuses[outcome.check] ?? .inconclusive).rawValue),
                ]
                if let value = series.value { entry["value"] = .string(formatNumber(value)) }
                if let baseline = series.baseline { entry["baseline"] = .string(formatNumber(baseline)) }
                if let rule = series.rule { entry["rule"] = .string(rule) }
                if let reason = series.reason { entry["reason"] = .string(reason) }
                if let comparison = series.comparison { entry["comparison"] = comparison.logMetadata }
                failing.append(.dictionary(entry))
            }
            if outcome.series.isEmpty, let reason = outcome.reasons.first {
                failing.append(.dictionary(["check": .string(outcome.check), "reason": .string(reason)]))
            }
        }
        let headline =
            "window \(name): verdict \(previous.rawValue) → \(decision.verdict.rawValue)"
            + (decision.reasons.first.map { ": \($0)" } ?? "")
        let metadata: Logger.Metadata = [
            "gate.window": .string(name), "gate.verdict": .string(decision.verdict.rawValue), "gate.previous": .string(previous.rawValue),
            "gate.reasons": .array(decision.reasons.map { .string($0) }), "gate.checks": .array(failing),
            "gate.action": .string(failAction(becameFail: decision.becameFail)),
        ]
        if decision.verdict == .fail {
            logger.critical("\(headline)", metadata: metadata)
        } else {
            logger.notice("\(headline)", metadata: metadata)
        }
    }

    private func logSourceChanges(_ name: String, outcomes: [CheckOutcome]) {
        let missing = Set(outcomes.filter { $0.result == .inconclusive && $0.series.isEmpty }.map(\.check))
        let before = unavailable[name] ?? []
        unavailable[name] = missing
        let newlyMissing = missing.subtracting(before)
        if !newlyMissing.isEmpty {
            let reasons = outcomes.filter { newlyMissing.contains($0.check) }.flatMap(\.reasons)
            logger.warning(
                "window \(name): no evidence for \(newlyMissing.sorted().joined(separator: ", ")): \(reasons.first ?? "")",
                metadata: ["gate.window": .string(name), "gate.checks": .array(newlyMissing.sorted().map { .string($0) })]
            )
        } else if missing.isEmpty, !before.isEmpty {
            logger.notice("window \(name): evidence is back for every check", metadata: ["gate.window": .string(name)])
        }
    }
}

private func versionText(_ request: WindowRequest) -> String {
    var text = ""
    if let component = request.component { text += " for \(component)" }
    if let from = request.fromVersion, let to = request.toVersion { text += " \(from) → \(to)" }
    return text
}

/// A short id fixed when a window opens: 5 characters of [a-z0-9], so that
/// `<window>-<id>-rollback` stays a DNS-1123 name.
func makeWindowID() -> String {
    let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
    var generator = SystemRandomNumberGenerator()
    return String((0..<5).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
}
