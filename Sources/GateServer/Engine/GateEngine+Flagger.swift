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
    func flagger(_ hook: FlaggerHook, _ payload: FlaggerPayload) async -> FlaggerAnswer {
        let name = payload.windowName
        switch hook {
        case .confirmRollout, .preRollout:
            if live[name] == nil {
                guard payload.namesWindow || config.flagger.autoOpen else {
                    return FlaggerAnswer(allowed: false, message: "no open window \(name) for canary \(payload.canary) and flagger.autoOpen is off")
                }
                do {
                    _ = try await open(windowRequest(for: payload, name: name), by: "flagger \(hook.rawValue) \(payload.canary)")
                    await supersedeAutoWindows(of: payload, keeping: name)
                } catch {
                    if error.code == "conflict", live[name] != nil {
                        // Opened concurrently by the other hook: fall through to readiness.
                    } else {
                        return FlaggerAnswer(allowed: false, message: "waiting: window \(name) could not be opened: \(error.message)")
                    }
                }
            }
            guard let window = live[name] else { return FlaggerAnswer(allowed: false, message: "waiting: window \(name) is not open") }
            if let blocker = readinessBlocker(window) { return FlaggerAnswer(allowed: false, message: "waiting: \(blocker)") }
            if window.record.memory.verdict == .fail {
                return FlaggerAnswer(allowed: false, message: "window \(name) has failed: \(summary(window))")
            }
            return FlaggerAnswer(allowed: true, message: "window \(name) is open; baseline captured")

        case .rollout, .confirmTrafficIncrease:
            guard let window = live[name] else { return noWindow(name, payload) }
            switch window.record.memory.verdict {
            case .pass, .pending: return FlaggerAnswer(allowed: true, message: "window \(name) is healthy (\(window.record.memory.verdict.rawValue))")
            case .fail: return FlaggerAnswer(allowed: false, message: "window \(name) failed: \(summary(window))")
            case .inconclusive: return FlaggerAnswer(allowed: false, message: "window \(name) is inconclusive, holding: \(summary(window))")
            }

        case .confirmPromotion:
            guard let window = live[name] else { return noWindow(name, payload) }
            switch window.record.memory.verdict {
            case .pass: return FlaggerAnswer(allowed: true, message: "window \(name) passed: \(summary(window))")
            case .pending: return FlaggerAnswer(allowed: false, message: "waiting: window \(name) is pending: \(summary(window))")
            case .fail: return FlaggerAnswer(allowed: false, message: "window \(name) failed: \(summary(window))")
            case .inconclusive: return FlaggerAnswer(allowed: false, message: "window \(name) is inconclusive: \(summary(window))")
            }

        case .rollback:
            guard let window = live[name] else { return noWindow(name, payload) }
            if window.record.memory.verdict == .fail {
                return FlaggerAnswer(allowed: true, message: "roll back: window \(name) failed: \(summary(window))")
            }
            return FlaggerAnswer(allowed: false, message: "no rollback: window \(name) is \(window.record.memory.verdict.rawValue)")

        case .postRollout:
            guard live[name] != nil else { return FlaggerAnswer(allowed: true, message: "no open window \(name); nothing to close") }
            do {
                let closed = try await close(name, reason: "Flagger post-rollout (canary \(payload.canary) phase \(payload.phase))", by: "flagger")
                return FlaggerAnswer(allowed: true, message: "window \(name) closed; final verdict \(closed.record.memory.verdict.rawValue)")
            } catch {
                return FlaggerAnswer(allowed: false, message: "window \(name) could not be closed: \(error.message)")
            }

        case .event:
            let message = payload.metadata["eventMessage"] ?? "(no message)"
            let type = payload.metadata["eventType"] ?? "Normal"
            logger.info(
                "Flagger \(type) event for canary \(payload.canary): \(message)",
                metadata: ["gate.window": .string(name), "flagger.canary": .string(payload.canary), "flagger.phase": .string(payload.phase)]
            )
            if let window = live[name] {
                let event = WindowEvent(
                    at: now(),
                    kind: "flagger",
                    message: "Flagger \(type): \(message)",
                    details: ["canary": payload.canary, "phase": payload.phase, "eventType": type]
                )
                try? await store.appendEvents(windowID: window.record.id, [event])
            }
            return FlaggerAnswer(allowed: true, message: "event recorded")
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

    /// A canary's new checksum is a new window: close the auto-opened windows of older checksums.
    private func supersedeAutoWindows(of payload: FlaggerPayload, keeping name: String) async {
        guard !payload.namesWindow else { return }
        let prefix = "\(payload.name)-\(payload.namespace)-".lowercased()
        for other in live.keys.sorted() where other != name && other.hasPrefix(prefix) {
            _ = try? await close(
                other,
                reason: "superseded by a new revision of canary \(payload.canary) (checksum \(payload.checksum))",
                by: "flagger"
            )
        }
    }

    private func noWindow(_ name: String, _ payload: FlaggerPayload) -> FlaggerAnswer {
        FlaggerAnswer(allowed: false, message: "no open window \(name) for canary \(payload.canary): it opens on confirm-rollout or pre-rollout")
    }

    private func summary(_ window: LiveWindow) -> String {
        let reasons =
            window.record.memory.verdict == .fail && !window.record.memory.failReasons.isEmpty
            ? window.record.memory.failReasons : (window.lastEvaluation?.reasons ?? ["waiting for the first evaluation"])
        let text = reasons.prefix(3).joined(separator: "; ")
        return reasons.count > 3 ? text + "; and \(reasons.count - 3) more" : text
    }
}
