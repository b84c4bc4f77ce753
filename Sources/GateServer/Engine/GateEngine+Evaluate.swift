import GateConfig
import GateCore
import GateSources
import GateStore
import Logging

extension GateEngine {
    // MARK: Evaluating

    /// One evaluation cycle: every open window's checks at one pinned time, judged by its machine, persisted and
    /// published. Never waits on Kubernetes: backups, restores and verification run in the escape loop.
    func evaluateAll() async {
        guard acting else { return }
        let at = now()
        let windows = live.values.map { window in
            (
                name: window.record.name, id: window.record.id, generation: window.machine.generation, checks: window.record.checks,
                baseline: window.baseline
            )
        }
        guard !windows.isEmpty else { return }
        let evaluator = self.evaluator
        let results = await boundedMap(windows, limit: 4) { window in
            let started = ContinuousClock.now
            let baselines = Dictionary(
                uniqueKeysWithValues: window.baseline.checks.map { ($0.key, BaselineCapture(check: $0.key, series: $0.value)) }
            )
            let outcomes = await evaluator.evaluate(
                window.checks,
                at: at,
                baselines: baselines,
                baselineRange: BaselineRange(start: window.baseline.start, end: window.baseline.end)
            )
            let elapsed = started.duration(to: .now)
            return (window: window, outcomes: outcomes, seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        // Shutting down: the queries were cancelled, so these outcomes are not evidence.
        guard !Task.isCancelled else { return }
        for result in results {
            guard var window = live[result.window.name], window.record.id == result.window.id else { continue }
            let findings = alertFindings(for: window, at: at)
            window.publishedAlerts = findings
            put(window)
            let evaluation = WindowMachine.Evaluation(
                at: at,
                seconds: result.seconds,
                generation: result.window.generation,
                outcomes: result.outcomes,
                alertFailures: findings.filter { !$0.inGrace }.map(\.reason),
                alertsInGrace: findings.filter(\.inGrace).map(\.reason)
            )
            _ = await send(.evaluated(evaluation), windowID: result.window.id)
            // Closed meanwhile (the duration ended, a hook, the API): its series and notes are gone, not recreated.
            guard let current = live[result.window.name], current.record.id == result.window.id else { continue }
            logSourceChanges(result.window.name, outcomes: result.outcomes)
            metrics.observeEvaluation(window: result.window.name, seconds: result.seconds)
            for (check, status) in current.lastEvaluation?.statuses ?? [:] {
                metrics.setCheckStatus(window: result.window.name, check: check, status: status)
            }
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

    // MARK: Alerts

    /// Takes one Alertmanager notification: applies it to the alert book, persists it, and lets every open window
    /// for which it changes the findings decide at once (a new matching alert past its grace fails it now).
    ///
    /// - Important: returns only once the notification is committed; a storage failure throws, so the webhook
    ///   answers 5xx and Alertmanager retries (nothing accepted is lost).
    func receiveAlerts(_ notification: AlertNotification, payload: [UInt8]) async throws(APIError) {
        let at = now()
        // Persisted first, applied after: a notification that could not be stored changes nothing, so Alertmanager's
        // retry finds the same change to make (and fails a window at once, as the first delivery would have).
        do {
            try await alertWriter.write(.init(groupKey: notification.groupKey, receivedAt: at, payload: payload))
        } catch {
            metrics.countAlertNotification(outcome: "storage_error")
            metrics.countFailedWrite(operation: "alerts")
            logger.error("an Alertmanager notification could not be persisted: \(error)", metadata: ["gate.error": .string(error.label)])
            throw .unavailable("the notification could not be persisted; Alertmanager will retry")
        }
        metrics.countAlertNotification(outcome: "accepted")
        await applyAlerts(notification, at: at)
    }

    /// Applies a persisted notification: to the alert book, and (when this replica acts) to every open window.
    func applyAlerts(_ notification: AlertNotification, at: Double) async {
        guard (appliedGroups[notification.groupKey] ?? -.infinity) < at else { return }
        appliedGroups[notification.groupKey] = at
        let change = book.receive(notification, at: at)
        // Alertmanager re-sends whole groups (repeat_interval, HA peers): most notifications change nothing.
        guard !change.isEmpty else { return }
        logger.info(
            "Alertmanager: \(change.started.count) alert(s) started, \(change.resolved.count) resolved",
            metadata: [
                "alert.started": .array(change.started.map { .string($0.labels.description) }),
                "alert.resolved": .array(change.resolved.map { .string($0.labels.description) }),
            ]
        )
        for name in live.keys.sorted() {
            guard let window = live[name] else { continue }
            let findings = alertFindings(for: window, at: at)
            // A follower only shows them; the leader decides (and reads the same groups from the API).
            guard acting else {
                publish(window)
                continue
            }
            // A notification that does not change what this window sees needs no decision and no new gate body.
            guard findings != window.publishedAlerts else { continue }
            _ = await send(.alertsChanged(failing: findings.filter { !$0.inGrace }.map(\.reason), at: at), windowID: window.record.id)
        }
    }

    /// The window detail answer of the API (with its current alert findings).
    func detailJSON(_ window: LiveWindow) -> [UInt8] {
        let at = now()
        let alerts = window.record.isOpen ? alertFindings(for: window, at: at) : []
        return encodeJSON(WindowDetailBody(window, alerts: alerts, velero: config.velero, now: at))
    }

    /// New matching alerts of one window: not in its baseline, matching the global and the window's matchers, not
    /// ignored.
    func alertFindings(for window: LiveWindow, at: Double) -> [AlertFinding] {
        judgeAlerts(book, baseline: window.baselineAlerts, policy: window.alertPolicy, now: at)
    }
}

/// The gate's own alerts (alert-rules/upgrade-gate.rules.yml) never fail a window: "the gate's Prometheus queries
/// are failing" must stay inconclusive, never become a fail and a restore.
let selfMonitoringIgnore = [LabelMatcher(name: "alertname", op: .regexMatch, value: "UpgradeGate.+")]

/// The alert policy of one window: global matchers and ignores, the window's own matchers, grace.
func alertPolicy(config: GateConfig, request: WindowRequest) -> AlertPolicy {
    // Matchers were validated when the window was opened.
    let windowMatchers = request.matchers.flatMap { (try? LabelMatcher.parseList($0)) ?? [] }
    return AlertPolicy(
        matchers: config.alertmanager?.matchers ?? [],
        windowMatchers: windowMatchers,
        ignore: (config.alertmanager?.ignore ?? []) + [selfMonitoringIgnore],
        grace: config.alertmanager?.grace ?? 0
    )
}
