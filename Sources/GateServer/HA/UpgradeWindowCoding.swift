import Foundation
import GateConfig
import GateCore
import GateSources
import GateStore

/// How a window maps onto an `UpgradeWindow` object and the Alertmanager groups onto their ConfigMap, both ways.
enum UpgradeWindowCoding {
    /// The gate's state of a window as JSON text (sorted keys; non-finite numbers as strings, as the SQLite store).
    static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "+Inf", negativeInfinity: "-Inf", nan: "NaN")
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "+Inf", negativeInfinity: "-Inf", nan: "NaN")
        return try decoder.decode(T.self, from: Data(text.utf8))
    }

    /// The window an object holds, or nil when the gate has not written its status yet (created by GitOps).
    static func storedWindow(_ object: KubernetesObject) throws -> StoredWindow? {
        guard let gate = object.status?["gate"], let record = gate["record"]?.stringValue, let baseline = gate["baseline"]?.stringValue else {
            return nil
        }
        let evaluation = try gate["evaluation"]?.stringValue.map { try decode(EvaluationRecord.self, $0) }
        let window = StoredWindow(
            record: try decode(WindowRecord.self, record),
            baseline: try decode(WindowBaseline.self, baseline),
            lastEvaluation: evaluation
        )
        // A record is only ever the window of the object that holds it: anything else was not written by the gate.
        guard window.record.name == object.name, window.record.id == object.status?["id"]?.stringValue else {
            throw UnreadableWindow(description: "status.gate holds window \(window.record.name) (\(window.record.id)), not this object's")
        }
        // A Backup the gate creates is named from the window's name and id, as its Restore is: a record naming another
        // one (which the leader would create, and restore from) was not written by the gate.
        if let backup = window.record.backup {
            if backup.created {
                guard backup.name == veleroObjectName(window: window.record.name, id: window.record.id, suffix: "pre") else {
                    throw UnreadableWindow(description: "status.gate names Backup \(backup.name), not the one the gate creates for this window")
                }
            } else {
                // An existing Backup is the one the object's spec names (status can be written by fewer than spec).
                guard backup.awaitingCreation == nil, backup.name == object.spec?["backup"]?["name"]?.stringValue else {
                    throw UnreadableWindow(description: "status.gate names Backup \(backup.name), which the object's spec.backup.name does not")
                }
            }
        }
        return window
    }

    /// Why an object's `status.gate` cannot be the window's state.
    struct UnreadableWindow: Error, CustomStringConvertible {
        let description: String
    }

    /// Whether an object carries the gate's state (readable or not): one without is new (created by GitOps).
    static func hasGateState(_ object: KubernetesObject) -> Bool { object.status?["gate"] != nil }

    // MARK: The object

    /// A new object for `window`: its spec is what opening it asked for.
    static func newObject(_ window: StoredWindow, namespace: String) -> JSONValue {
        .object([
            "apiVersion": .string("\(KubernetesWindowStore.group)/\(KubernetesWindowStore.version)"),
            "kind": .string("UpgradeWindow"),
            "metadata": .object([
                "name": .string(window.record.name),
                "namespace": .string(namespace),
                "labels": .object([KubernetesWindowStore.managedBy.0: .string(KubernetesWindowStore.managedBy.1)]),
                "finalizers": .array([.string(KubernetesWindowStore.finalizer)]),
            ]),
            "spec": spec(window.record.request),
        ])
    }

    /// `spec` for a request.
    static func spec(_ request: WindowRequest) -> JSONValue {
        var spec: [String: JSONValue] = ["component": .string(request.component ?? request.name), "closed": .bool(false)]
        if let from = request.fromVersion { spec["fromVersion"] = .string(from) }
        if let to = request.toVersion { spec["toVersion"] = .string(to) }
        if !request.namespaces.isEmpty { spec["namespaces"] = .array(request.namespaces.map(JSONValue.string)) }
        if !request.labels.isEmpty { spec["labels"] = .object(request.labels.mapValues(JSONValue.string)) }
        if !request.matchers.isEmpty { spec["matchers"] = .array(request.matchers.map(JSONValue.string)) }
        if let checks = request.checks, !checks.isEmpty { spec["checks"] = .array(checks.map(JSONValue.string)) }
        if let soak = request.soak { spec["soak"] = .string(formatPrometheusDuration(soak)) }
        if let duration = request.duration { spec["duration"] = .string(formatPrometheusDuration(duration)) }
        switch request.backup {
        case .create(let create)?: spec["backup"] = .object(["create": .bool(create)])
        case .existing(let name)?: spec["backup"] = .object(["name": .string(name)])
        case nil: break
        }
        return .object(spec)
    }

    /// The request an object's spec makes (for objects created by GitOps); nil with the field at fault otherwise.
    static func request(name: String, spec: JSONValue?) -> Result<WindowRequest, APIError> {
        guard let spec else { return .failure(.badRequest("spec is required", field: "spec")) }
        func strings(_ key: String) -> [String] { spec[key]?.arrayValue?.compactMap(\.stringValue) ?? [] }
        func duration(_ key: String) -> Result<Double?, APIError> {
            guard let text = spec[key]?.stringValue else { return .success(nil) }
            guard let seconds = parsePrometheusDuration(text), seconds > 0 else {
                return .failure(.badRequest("spec.\(key): \"\(text)\" is not a Prometheus duration", field: "spec.\(key)"))
            }
            return .success(seconds)
        }
        let soak: Double?
        let length: Double?
        switch (duration("soak"), duration("duration")) {
        case (.failure(let error), _), (_, .failure(let error)): return .failure(error)
        case (.success(let s), .success(let d)):
            soak = s
            length = d
        }
        var backup: BackupRequest?
        if let name = spec["backup"]?["name"]?.stringValue {
            backup = .existing(name)
        } else if let create = spec["backup"]?["create"]?.boolValue {
            backup = .create(create)
        }
        let checks = strings("checks")
        return .success(
            WindowRequest(
                name: name,
                component: spec["component"]?.stringValue,
                fromVersion: spec["fromVersion"]?.stringValue,
                toVersion: spec["toVersion"]?.stringValue,
                namespaces: strings("namespaces"),
                labels: spec["labels"]?.stringMap ?? [:],
                matchers: strings("matchers"),
                checks: checks.isEmpty ? nil : checks,
                soak: soak,
                duration: length,
                backup: backup
            )
        )
    }

    /// The whole status for `window`, with the audit trail `events` (oldest first) cut to the newest `keep` and to
    /// `maxBytes` overall.
    static func status(
        _ window: StoredWindow,
        object: KubernetesObject,
        events: [JSONValue],
        droppedBefore: Int,
        keep: Int,
        maxBytes: Int,
        staleAfter: Double,
        now: Double,
        alerts: [AlertFinding]? = nil
    ) -> JSONValue {
        let record = window.record
        // What pollers are told: an open window's verdict that no evaluation confirmed for `staleAfter` is
        // inconclusive, except a sticky fail (as the gate answer says).
        let freshSince = WindowMachine.freshSince(record: record, lastEvaluation: window.lastEvaluation)
        let stale = record.isOpen && now - freshSince > staleAfter
        let verdict = stale && record.memory.verdict != .fail ? Verdict.inconclusive : record.memory.verdict
        var status: [String: JSONValue] = [
            "id": .string(record.id),
            "phase": .string(record.isOpen ? "Open" : "Closed"),
            "verdict": .string(verdict.rawValue),
            "stale": .bool(stale),
            "openedAt": .string(formatRFC3339(record.openedAt)),
            "closesAt": .string(formatRFC3339(record.closedAt ?? record.closesAt)),
            "owner": .string(bounded(record.owner.description, 256)),
            "streaks": .object(record.memory.streaks.filter { $0.value > 0 }.mapValues { .number(Double($0)) }),
            "baseline": .object([
                "capturedAt": .string(formatRFC3339(window.baseline.capturedAt)),
                "range": .object(["start": .string(formatRFC3339(window.baseline.start)), "end": .string(formatRFC3339(window.baseline.end))]),
            ]),
        ]
        if let generation = object.json["metadata"]?["generation"]?.intValue { status["observedGeneration"] = .number(Double(generation)) }
        let reasons = window.lastEvaluation?.reasons ?? record.memory.failReasons
        if !reasons.isEmpty { status["reasons"] = .array(reasons.prefix(32).map { .string(bounded($0, 1024)) }) }
        if let evaluation = window.lastEvaluation {
            status["evaluatedAt"] = .string(formatRFC3339(evaluation.at))
            status["soakRemaining"] = .string(formatPrometheusDuration(max(0, evaluation.soakRemaining.rounded())))
        }
        if let backup = record.backup {
            var fields: [String: JSONValue] = ["name": .string(backup.name), "phase": .string(backup.phase.rawValue)]
            fields["startedAt"] = .string(formatRFC3339(backup.requestedAt))
            if let finished = backup.finishedAt { fields["completedAt"] = .string(formatRFC3339(finished)) }
            status["backup"] = .object(fields)
        }
        if let restore = record.restore {
            var fields: [String: JSONValue] = [
                "name": .string(restore.name), "mode": .string(restore.mode.rawValue), "phase": .string(restore.phase.rawValue),
                "intentAt": .string(formatRFC3339(restore.intentAt)),
            ]
            if let requested = restore.requestedAt { fields["requestedAt"] = .string(formatRFC3339(requested)) }
            if let finished = restore.finishedAt { fields["completedAt"] = .string(formatRFC3339(finished)) }
            if let notReverted = restore.notRolledBack {
                fields["verified"] = .bool(notReverted.isEmpty)
                fields["notReverted"] = .array(notReverted.prefix(100).map { .string(bounded("\($0)", 512)) })
            }
            status["restore"] = .object(fields)
        }
        // The alert findings the engine handed over with this write; a write without them keeps the ones written.
        if let alerts {
            if !alerts.isEmpty { status["alerts"] = .array(alertEntries(alerts)) }
        } else if let previous = object.status?["alerts"] {
            status["alerts"] = previous
        }
        status["conditions"] = .array(
            conditions(
                window,
                verdict: verdict,
                stale: stale,
                previous: object.status?["conditions"]?.arrayValue ?? [],
                generation: status["observedGeneration"],
                now: now
            )
        )
        var gate: [String: JSONValue] = ["record": .string(json(record)), "baseline": .string(json(window.baseline))]
        if var evaluation = window.lastEvaluation {
            var text = json(evaluation)
            // Bounded like every field: an evaluation over many series keeps its verdict, statuses and reasons.
            if text.utf8.count > KubernetesWindowStore.maxEvaluationBytes {
                evaluation.outcomes = []
                text = json(evaluation)
            }
            gate["evaluation"] = .string(text)
        }
        status["gate"] = .object(gate)
        // The audit trail: the newest `keep`, and fewer when the status would outgrow what one object may hold.
        var trail = Array(events.suffix(keep))
        var dropped = droppedBefore + (events.count - trail.count)
        // Over budget before any audit entry (a large baseline and evaluation): the alerts go first, the gate answer
        // has them.
        if status["alerts"] != nil, JSONValue.object(status).encoded().count > maxBytes { status["alerts"] = nil }
        var size = JSONValue.object(status).encoded().count
        var trailSize = trail.reduce(0) { $0 + $1.encoded().count + 1 }
        while size + trailSize > maxBytes, !trail.isEmpty {
            trailSize -= trail.removeFirst().encoded().count + 1
            dropped += 1
        }
        size += trailSize
        status["events"] = .array(trail)
        if dropped > 0 { status["eventsDropped"] = .number(Double(dropped)) }
        return .object(status)
    }

    /// The new matching alerts of a window as `status.alerts`: failing ones first, at most 200 and about
    /// `maxBytes`, each value bounded as the CRD says.
    static func alertEntries(_ findings: [AlertFinding], maxBytes: Int = 100_000) -> [JSONValue] {
        var entries: [JSONValue] = []
        var size = 0
        for finding in findings.sorted(by: { !$0.inGrace && $1.inGrace }).prefix(200) {
            let labels = finding.alert.labels.dictionary
            let sorted = labels.sorted { $0.key < $1.key }
            var labelFields: [String: JSONValue] = [:]
            for (key, value) in sorted.prefix(64) { labelFields[key] = .string(bounded(value, 1024)) }
            // Alertmanager's fingerprint when it sent one; else a stable hash of the label set.
            let fingerprint =
                finding.alert.fingerprint.map { bounded($0, 64) }
                ?? String(stableHash(sorted.map { "\($0.key)=\($0.value)" }.joined(separator: "\u{1}")), radix: 16)
            let entry: JSONValue = .object([
                "fingerprint": .string(fingerprint),
                "alertname": .string(bounded(labels["alertname"] ?? "", 256)),
                "labels": .object(labelFields),
                "state": .string("firing"),
                "startsAt": .string(formatRFC3339(finding.alert.startsAt)),
                "preExisting": .bool(false),
                "failing": .bool(!finding.inGrace),
            ])
            size += entry.encoded().count + 1
            if size > maxBytes { break }
            entries.append(entry)
        }
        return entries
    }

    /// `Ready` (True only on pass) and `Stalled` (True on a sticky fail), as kstatus reads them.
    static func conditions(
        _ window: StoredWindow,
        verdict: Verdict,
        stale: Bool,
        previous: [JSONValue],
        generation: JSONValue?,
        now: Double
    ) -> [JSONValue] {
        let sticky = verdict == .fail && window.record.memory.failedAt != nil
        let readyReason =
            stale && verdict != .fail
            ? "Stale" : verdict == .pass ? "Passed" : (verdict == .fail ? "Failed" : (verdict == .inconclusive ? "Inconclusive" : "Soaking"))
        let readyMessage =
            stale && verdict != .fail
            ? "no evaluation finished recently: the verdict is inconclusive until one does"
            : window.lastEvaluation?.reasons.first ?? "verdict \(verdict.rawValue)"
        let wanted: [(type: String, status: String, reason: String, message: String)] = [
            ("Ready", verdict == .pass ? "True" : "False", readyReason, bounded(readyMessage, 1024)),
            (
                "Stalled", sticky ? "True" : "False", sticky ? "Failed" : "NotFailed",
                sticky ? bounded("the window failed: \(window.record.memory.failReasons.first ?? "see events")", 1024) : "the window has not failed"
            ),
        ]
        let at = formatRFC3339(now)
        return wanted.map { condition in
            let old = previous.first { $0["type"]?.stringValue == condition.type }
            let since = old?["status"]?.stringValue == condition.status ? old?["lastTransitionTime"]?.stringValue ?? at : at
            var fields: [String: JSONValue] = [
                "type": .string(condition.type), "status": .string(condition.status), "reason": .string(condition.reason),
                "message": .string(condition.message), "lastTransitionTime": .string(since),
            ]
            if let generation { fields["observedGeneration"] = generation }
            return .object(fields)
        }
    }

    // MARK: The audit trail

    /// One audit entry as the status keeps it.
    static func eventEntry(_ event: WindowEvent, maxMessageBytes: Int) -> JSONValue {
        var fields: [String: JSONValue] = [
            "at": .string(formatRFC3339(event.at, milliseconds: true)), "kind": .string(event.kind.rawValue),
            "message": .string(truncatedMessage(event.message, maxBytes: maxMessageBytes)),
        ]
        let details = event.details.sorted { $0.key < $1.key }.prefix(16)
        if !details.isEmpty {
            fields["details"] = .object(Dictionary(uniqueKeysWithValues: details.map { ($0.key, JSONValue.string(bounded($0.value, 1024))) }))
        }
        return .object(fields)
    }

    /// The audit entries in an object's status, oldest first.
    static func eventEntries(_ object: KubernetesObject) -> [JSONValue] { object.status?["events"]?.arrayValue ?? [] }

    /// The audit trail of an object, oldest first.
    static func events(_ object: KubernetesObject) -> [WindowEvent] {
        eventEntries(object).compactMap { entry in
            guard let at = entry["at"]?.stringValue.flatMap(parseRFC3339), let kind = entry["kind"]?.stringValue.flatMap(EventKind.init) else {
                return nil
            }
            return WindowEvent(at: at, kind: kind, message: entry["message"]?.stringValue ?? "", details: entry["details"]?.stringMap ?? [:])
        }
    }

    /// How many older audit entries were dropped.
    static func eventsDropped(_ object: KubernetesObject) -> Int { object.status?["eventsDropped"]?.intValue ?? 0 }

    /// A core/v1 Event for one audit entry about the object `name` (uid `uid`).
    static func kubernetesEvent(_ event: WindowEvent, object name: String, uid: String, namespace: String) -> JSONValue {
        let at = formatRFC3339(event.at)
        let reason = event.kind.rawValue.prefix(1).uppercased() + event.kind.rawValue.dropFirst()
        // A verdict turning fail, anything about a restore, and a gate that stopped confirming its verdict are what
        // on-call looks for first.
        let warning =
            event.kind == .restore || (event.kind == .verdict && event.details["to"] == "fail")
            || (event.kind == .stale && event.details["state"] == "stale")
        return .object([
            "apiVersion": .string("v1"),
            "kind": .string("Event"),
            "metadata": .object([
                // client-go's recorder names Events <object>.<unique suffix>.
                "name": .string("\(name).\(String(UInt64.random(in: 1...UInt64.max), radix: 16))"),
                "namespace": .string(namespace),
            ]),
            "involvedObject": .object([
                "apiVersion": .string("\(KubernetesWindowStore.group)/\(KubernetesWindowStore.version)"),
                "kind": .string("UpgradeWindow"), "namespace": .string(namespace), "name": .string(name), "uid": .string(uid),
            ]),
            "reason": .string(reason),
            "message": .string(truncatedMessage(event.message, maxBytes: 1024)),
            "type": .string(warning ? "Warning" : "Normal"),
            "source": .object(["component": .string("upgrade-gate")]),
            "firstTimestamp": .string(at),
            "lastTimestamp": .string(at),
            "count": .number(1),
            "reportingComponent": .string("upgrade-gate"),
        ])
    }

    // MARK: Alertmanager groups

    private struct GroupEntry: Codable {
        var groupKey: String
        var receivedAt: Double
        var payload: String
    }

    /// The groups as the ConfigMap's `groups.json`.
    static func alertGroupsData(_ groups: [StoredAlertGroup]) -> String {
        json(groups.map { GroupEntry(groupKey: $0.groupKey, receivedAt: $0.receivedAt, payload: String(decoding: $0.payload, as: UTF8.self)) })
    }

    /// The groups a ConfigMap holds, oldest first; empty when it holds none or cannot be read.
    static func alertGroups(_ object: KubernetesObject) -> [StoredAlertGroup] {
        guard let text = object.json["data"]?["groups.json"]?.stringValue, let entries = try? decode([GroupEntry].self, text) else { return [] }
        return entries.map { StoredAlertGroup(groupKey: $0.groupKey, receivedAt: $0.receivedAt, payload: Array($0.payload.utf8)) }
            .sorted { $0.receivedAt < $1.receivedAt }
    }

    /// Whether a group's latest notification says all its alerts resolved.
    static func isResolved(_ group: StoredAlertGroup) -> Bool {
        (try? JSONValue.parse(group.payload))?["status"]?.stringValue == "resolved"
    }

    /// A new ConfigMap for the groups.
    static func alertGroupsObject(name: String, namespace: String, data: String) -> JSONValue {
        .object([
            "apiVersion": .string("v1"),
            "kind": .string("ConfigMap"),
            "metadata": .object([
                "name": .string(name),
                "namespace": .string(namespace),
                "labels": .object([
                    KubernetesWindowStore.managedBy.0: .string(KubernetesWindowStore.managedBy.1),
                    KubernetesWindowStore.alertGroupsLabel: .string("true"),
                ]),
            ]),
            "data": .object(["groups.json": .string(data)]),
        ])
    }

    /// `text` cut to `limit` characters as the API server counts them for `maxLength` (Unicode code points, not the
    /// grapheme clusters Swift's `count` gives: "e\u{301}" is two), so a value from outside (an alert's label) can
    /// never make a status write invalid.
    static func bounded(_ text: String, _ limit: Int) -> String {
        let scalars = text.unicodeScalars
        guard scalars.count > limit else { return text }
        var cut = String.UnicodeScalarView()
        cut.append(contentsOf: scalars.prefix(max(0, limit - 1)))
        return String(cut) + "…"
    }
}

extension StoreError {
    /// A Kubernetes API call of the HA store failed.
    static func kubernetes(_ operation: String, _ error: KubernetesError) -> StoreError {
        .api(operation: operation, detail: error.description)
    }
}
