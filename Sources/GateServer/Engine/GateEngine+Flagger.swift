import GateConfig
import GateCore
import Logging

/// Flagger's answer: allowed (200) or not (403), with the sentence Flagger shows in its events.
struct FlaggerAnswer: Sendable, Equatable {
    var allowed: Bool
    var message: String
}

extension GateEngine {
    /// Decides one Flagger hook. Never throws: a decision is 200 or 403, never 5xx.
    ///
    /// Hooks may read any window's verdict, but open, close, supersede and record events only on windows their own
    /// canary opened. Answers carry no internal detail (Flagger sends no credentials and shows the body in its
    /// events): an upstream failure is a generic sentence, its detail goes to the log.
    func flagger(_ hook: FlaggerHook, _ payload: FlaggerPayload) async -> FlaggerAnswer {
        let name = payload.windowName
        let actor = WindowActor.canary(namespace: payload.namespace, name: payload.name)
        let at = now()
        switch hook {
        case .confirmRollout, .preRollout:
            if live[name] == nil {
                guard config.flagger.autoOpen else {
                    metrics.countDenial(.autoOpenOff)
                    return FlaggerAnswer(allowed: false, message: "no open window \(name) for canary \(payload.canary) and flagger.autoOpen is off")
                }
                do {
                    _ = try await open(windowRequest(for: payload, name: name), by: actor)
                } catch {
                    if error.status == .conflict, live[name] != nil {
                        // Opened concurrently by the other hook: fall through to readiness.
                    } else {
                        logger.warning(
                            "Flagger \(hook.rawValue) for canary \(payload.canary): window \(name) could not be opened: \(error.message)",
                            metadata: ["gate.window": .string(name), "flagger.canary": .string(payload.canary)]
                        )
                        return FlaggerAnswer(allowed: false, message: "waiting: window \(name) could not be opened: \(error.publicMessage)")
                    }
                }
            }
            guard let window = live[name] else { return FlaggerAnswer(allowed: false, message: "waiting: window \(name) is not open") }
            if let blocker = window.machine.readinessBlocker(at: at) {
                let failed = blocker.hasPrefix("pre-upgrade backup failed")
                return FlaggerAnswer(allowed: false, message: failed ? "window \(name) cannot start: \(blocker)" : "waiting: \(blocker)")
            }
            if window.machine.verdict(at: at) == .fail {
                return FlaggerAnswer(allowed: false, message: "window \(name) has failed: \(summary(window))")
            }
            return FlaggerAnswer(allowed: true, message: "window \(name) is open; baseline captured")

        case .rollout, .confirmTrafficIncrease:
            guard let window = live[name] else { return noWindow(name, payload) }
            let verdict = window.machine.verdict(at: at)
            switch verdict {
            case .pass, .pending: return FlaggerAnswer(allowed: true, message: "window \(name) is healthy (\(verdict.rawValue))")
            case .fail: return FlaggerAnswer(allowed: false, message: "window \(name) failed: \(summary(window))")
            case .inconclusive: return FlaggerAnswer(allowed: false, message: "window \(name) is inconclusive, holding: \(summary(window, at: at))")
            }

        case .confirmPromotion:
            guard let window = live[name] else { return noWindow(name, payload) }
            switch window.machine.verdict(at: at) {
            case .pass: return FlaggerAnswer(allowed: true, message: "window \(name) passed: \(summary(window))")
            case .pending: return FlaggerAnswer(allowed: false, message: "waiting: window \(name) is pending: \(summary(window))")
            case .fail: return FlaggerAnswer(allowed: false, message: "window \(name) failed: \(summary(window))")
            case .inconclusive: return FlaggerAnswer(allowed: false, message: "window \(name) is inconclusive: \(summary(window, at: at))")
            }

        case .rollback:
            guard let window = live[name] else { return noWindow(name, payload) }
            if window.machine.verdict(at: at) == .fail {
                return FlaggerAnswer(allowed: true, message: "roll back: window \(name) failed: \(summary(window))")
            }
            return FlaggerAnswer(allowed: false, message: "no rollback: window \(name) is \(window.machine.verdict(at: at).rawValue)")

        case .postRollout:
            guard live[name] != nil else { return FlaggerAnswer(allowed: true, message: "no open window \(name); nothing to close") }
            do {
                let closed = try await close(name, reason: "Flagger post-rollout (canary \(payload.canary) phase \(payload.phase))", by: actor)
                return FlaggerAnswer(allowed: true, message: "window \(name) closed; final verdict \(closed.record.memory.verdict.rawValue)")
            } catch {
                return FlaggerAnswer(allowed: false, message: "window \(name) was not closed: \(error.publicMessage)")
            }

        case .event:
            let message = payload.metadata["eventMessage"] ?? "(no message)"
            // Flagger sends Normal or Warning; anything else is bounded before it is logged or stored.
            let type = String((payload.metadata["eventType"] ?? "Normal").prefix(32))
            logger.info(
                "Flagger \(type) event for canary \(payload.canary): \(message)",
                metadata: ["gate.window": .string(name), "flagger.canary": .string(payload.canary), "flagger.phase": .string(payload.phase)]
            )
            guard let window = live[name] else { return FlaggerAnswer(allowed: true, message: "event logged") }
            let event = WindowMachine.Event.hookEvent(
                message: "Flagger \(type): \(String(message.prefix(1024)))",
                details: ["canary": payload.canary, "phase": String(payload.phase.prefix(64)), "eventType": type],
                by: actor,
                at: at
            )
            switch await send(event, windowID: window.record.id) {
            case .refused(let refusal): return FlaggerAnswer(allowed: false, message: refusal.description)
            default: return FlaggerAnswer(allowed: true, message: "event recorded")
            }
        }
    }

    private func windowRequest(for payload: FlaggerPayload, name: String) -> WindowRequest {
        var labels = ["namespace": payload.namespace, "canary": payload.name]
        // Labels for queries may also come through the canary's webhook metadata (`label.<name>`).
        for (key, value) in payload.metadata where key.hasPrefix("label.") { labels[String(key.dropFirst(6))] = value }
        return WindowRequest(
            name: name,
            component: payload.metadata["component"] ?? payload.name,
            fromVersion: payload.metadata["fromVersion"],
            toVersion: payload.metadata["toVersion"],
            namespaces: [payload.namespace],
            labels: labels,
            matchers: payload.metadata["matchers"].map { [$0] } ?? []
        )
    }

    private func noWindow(_ name: String, _ payload: FlaggerPayload) -> FlaggerAnswer {
        FlaggerAnswer(allowed: false, message: "no open window \(name) for canary \(payload.canary): it opens on confirm-rollout or pre-rollout")
    }

    private func summary(_ window: LiveWindow, at: Double? = nil) -> String {
        if let at, window.machine.isStale(at: at) {
            return "the verdict is stale: no evaluation finished recently (see the gate's log)"
        }
        let reasons =
            window.record.memory.verdict == .fail && !window.record.memory.failReasons.isEmpty
            ? window.record.memory.failReasons : (window.lastEvaluation?.reasons ?? ["waiting for the first evaluation"])
        let text = reasons.prefix(3).joined(separator: "; ")
        return reasons.count > 3 ? text + "; and \(reasons.count - 3) more" : text
    }
}

extension APIError {
    /// The message for a caller without a token: validation and ownership messages as they are, anything from an
    /// upstream or the store replaced by a generic sentence (no URLs, paths or upstream error text).
    var publicMessage: String {
        switch status.code {
        case 400..<500: message
        case 503: "a source the gate depends on is unavailable (details in the gate's log)"
        default: "the gate could not complete the request (details in the gate's log)"
        }
    }
}
