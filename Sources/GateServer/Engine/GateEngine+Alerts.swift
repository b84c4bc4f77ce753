import GateConfig
import GateCore
import GateSources
import Logging

extension GateEngine {
    /// Takes one Alertmanager notification: applies it to the alert book, persists it, and fails
    /// every open window for which it brings a new matching alert past its grace — right away, not
    /// at the next evaluation.
    ///
    /// - Important: returns only once the notification is committed; a storage failure throws, so
    ///   the webhook answers 5xx and Alertmanager retries (nothing accepted is lost).
    func receiveAlerts(_ notification: AlertNotification, payload: [UInt8]) async throws(APIError) {
        let at = now()
        let change = book.receive(notification, at: at)
        do {
            try await alertWriter.write(.init(groupKey: notification.groupKey, receivedAt: at, payload: payload))
        } catch {
            metrics.countAlertNotification(outcome: "storage_error")
            logger.error("an Alertmanager notification could not be persisted: \(error)", metadata: ["gate.error": .string(error.label)])
            throw .unavailable("the notification could not be persisted; Alertmanager will retry: \(error)")
        }
        metrics.countAlertNotification(outcome: "accepted")
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
            await judgeAlertsNow(name, at: at)
        }
    }

    /// Re-judges one window's alerts without a query evaluation; fails it when a new matching
    /// alert is past its grace.
    func judgeAlertsNow(_ name: String, at: Double) async {
        guard var window = live[name] else { return }
        let findings = alertFindings(for: window, at: at)
        // A notification that does not change what this window sees needs no new gate body.
        guard findings != window.publishedAlerts else { return }
        let failing = findings.filter { !$0.inGrace }
        guard !failing.isEmpty, window.record.memory.verdict != .fail else {
            if !failing.isEmpty {
                logger.notice(
                    "window \(name) (already failed): new alert \(failing.map(\.reason).joined(separator: "; "))",
                    metadata: ["gate.window": .string(name), "gate.verdict": .string(Verdict.fail.rawValue)]
                )
            }
            publish(window)
            return
        }
        let previous = window.record.memory.verdict
        let (memory, becameFail) = failNow(window.record.memory, reasons: failing.map(\.reason), at: at)
        window.record.memory = memory
        live[name] = window
        publish(window)
        let headline = "window \(name): verdict \(previous.rawValue) → fail: \(failing[0].reason)"
        logger.critical(
            "\(headline)",
            metadata: [
                "gate.window": .string(name), "gate.verdict": .string(Verdict.fail.rawValue), "gate.previous": .string(previous.rawValue),
                "gate.reasons": .array(failing.map { .string($0.reason) }),
                "gate.alerts": .array(
                    failing.map { finding in
                        .dictionary([
                            "alertname": .string(finding.alert.labels["alertname"] ?? ""), "labels": .string(finding.alert.labels.description),
                            "since": .string(formatTimestamp(finding.alert.startsAt)), "reason": .string(finding.reason),
                        ])
                    }
                ),
                "gate.action": .string(failAction(becameFail: becameFail)),
            ]
        )
        metrics.setVerdict(window: name, verdict: .fail)
        metrics.countVerdictChange(window: name, to: .fail)
        let event = WindowEvent(
            at: at,
            kind: "verdict",
            message: "verdict \(previous.rawValue) → fail: \(failing[0].reason)",
            details: [
                "from": previous.rawValue, "to": Verdict.fail.rawValue, "reasons": failing.map(\.reason).joined(separator: "\n"), "cause": "alert",
            ]
        )
        do {
            try await store.updateWindow(window.record, events: [event])
        } catch {
            logger.error("the alert verdict of window \(name) could not be persisted: \(error)", metadata: ["gate.window": .string(name)])
        }
        if becameFail { await onBecameFail(name, reasons: failing.map(\.reason), at: at) }
    }

    /// The window detail answer of the API (with its current alert findings).
    func detailJSON(_ window: LiveWindow) -> [UInt8] {
        let at = now()
        let alerts = window.record.isOpen ? alertFindings(for: window, at: at) : []
        return encodeJSON(WindowDetailBody(window, alerts: alerts, velero: config.velero, now: at))
    }

    /// New matching alerts of one window: not in its baseline, matching the global and the window's
    /// matchers, not ignored.
    func alertFindings(for window: LiveWindow, at: Double) -> [AlertFinding] {
        judgeAlerts(book, baseline: window.baselineAlerts, policy: window.alertPolicy, now: at)
    }
}

/// The gate's own alerts (alert-rules/upgrade-gate.rules.yml) never fail a window: "the gate's
/// Prometheus queries are failing" must stay inconclusive, never become a fail and a restore.
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
