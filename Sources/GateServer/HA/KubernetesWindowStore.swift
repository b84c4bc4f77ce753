import Foundation
import GateConfig
import GateCore
import GateSources
import GateStore
import Logging
import Synchronization

/// A count behind a lock.
final class InFlightCount: Sendable {
    private let value = Mutex(0)
    func withLock<T>(_ body: (inout Int) -> T) -> T { value.withLock { body(&$0) } }
}

/// The windows' state kept in the Kubernetes API, for several replicas: one `UpgradeWindow` object per window name
/// (`upgradegate.dev/v1alpha1`, in `ha.namespace`), and the Alertmanager groups in one ConfigMap.
///
/// - Reads come from list+watch caches (``ObjectCache``), never from a call to the API server.
/// - Every write carries the resourceVersion the cache holds; a 409 is ``StoreError/conflict(_:)``, which the engine
///   answers by re-reading the window and deciding again. The Alertmanager groups merge by group key, so their 409 is
///   resolved here (re-read, merge again).
/// - A window's object holds `spec` (what opening it asked for) and `status`: what people and kstatus read (verdict,
///   phase, reasons, conditions, backup and restore, the audit trail) and, under `status.gate`, the gate's own exact
///   state (record, pinned baseline, newest evaluation) as JSON text, which every replica decodes.
final class KubernetesWindowStore: WindowStore {
    static let group = "upgradegate.dev"
    static let version = "v1alpha1"
    static let plural = "upgradewindows"
    /// The label every object the gate creates carries.
    static let managedBy = ("app.kubernetes.io/managed-by", "upgrade-gate")
    /// The finalizer that keeps a deleted window's object until the gate has closed it with its final verdict (and
    /// its restore, if one is under way, has finished).
    static let finalizer = "upgradegate.dev/final-verdict"
    /// The label of the ConfigMap holding the Alertmanager groups.
    static let alertGroupsLabel = "upgradegate.dev/alert-groups"
    /// The most bytes a window's status may take (etcd refuses objects over 1.5 MiB; spec and metadata need room).
    static let maxStatusBytes = 1_000_000
    /// The most bytes of a pinned baseline, as JSON.
    static let maxBaselineBytes = 700_000
    /// The most bytes of a window's record, as JSON (the CRD's bound on `status.gate.record`, with room for growth).
    static let maxRecordBytes = 200_000
    /// The most bytes of an evaluation as stored; a bigger one is stored without its per-series outcomes.
    static let maxEvaluationBytes = 250_000

    /// Why `baseline` cannot be held in an UpgradeWindow's status (naming its series count), or nil.
    static func baselineProblem(_ baseline: WindowBaseline) -> String? {
        let bytes = UpgradeWindowCoding.json(baseline).utf8.count
        guard bytes > maxBaselineBytes else { return nil }
        let series = baseline.checks.values.reduce(0) { $0 + $1.count }
        return "the pinned baseline has \(series) series (\(bytes) bytes as JSON), more than an UpgradeWindow's status can hold "
            + "(\(maxBaselineBytes) bytes): narrow the checks' queries (fewer series) or split the window"
    }

    /// The most bytes of the Alertmanager groups ConfigMap's data (a ConfigMap holds at most 1 MiB).
    static let maxAlertGroupBytes = 900_000

    let client: KubernetesClient
    let namespace: String
    let windows: ObjectCache<StoredWindow>
    let alertGroupsCache: ObjectCache<[StoredAlertGroup]>
    /// The ConfigMap holding the Alertmanager groups.
    let alertGroupsName: String
    let eventsPerWindow: Int
    let maxEventMessageBytes: Int
    /// After how long without an evaluation an open window's verdict is stale (3 × the evaluation interval).
    let staleAfter: Double
    /// The wall clock, Unix seconds (the engine's).
    let now: @Sendable () -> Double
    let logger: Logger
    /// API calls made by writes, by verb, for reports and tests.
    private let calls = Mutex([String: Int]())
    /// Per window name, the resourceVersion of the state the engine holds (what it last took or wrote). Writes carry
    /// it, not the cache's newer version: a write decided on an older state than the API holds must be a 409, or it
    /// would overwrite what another replica wrote in between (the watch can be ahead of what the engine took).
    private let basis = Mutex([String: String]())
    /// Per window id, the alert findings the engine handed over for its next write of that window (taken by that
    /// write, whatever becomes of it: at most one entry per write in flight).
    private let pendingAlerts = Mutex([String: [AlertFinding]]())
    /// Event batches being sent.
    private let mirroring = InFlightCount()
    /// Whether this replica leads: only the leader prunes.
    let isLeader: @Sendable () -> Bool

    init(
        client: KubernetesClient,
        namespace: String,
        leaseName: String,
        eventsPerWindow: Int,
        maxEventMessageBytes: Int,
        staleAfter: Double,
        logger: Logger,
        now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
        isLeader: @escaping @Sendable () -> Bool
    ) {
        self.isLeader = isLeader
        self.staleAfter = staleAfter
        self.now = now
        self.client = client
        self.namespace = namespace
        self.alertGroupsName = "\(leaseName)-alert-groups"
        self.eventsPerWindow = max(1, min(eventsPerWindow, 1000))
        self.maxEventMessageBytes = max(64, min(maxEventMessageBytes, 1024))
        self.logger = logger
        self.windows = ObjectCache(
            client: client,
            group: Self.group,
            version: Self.version,
            namespace: namespace,
            plural: Self.plural,
            logger: logger,
            decode: { object in try? UpgradeWindowCoding.storedWindow(object) }
        )
        self.alertGroupsCache = ObjectCache(
            client: client,
            group: "",
            version: "v1",
            namespace: namespace,
            plural: "configmaps",
            labelSelector: Self.alertGroupsLabel + "=true",
            logger: logger,
            decode: { object in UpgradeWindowCoding.alertGroups(object) }
        )
    }

    /// Whether both caches have listed once.
    var isSynced: Bool { windows.isSynced && alertGroupsCache.isSynced }

    /// Runs both list+watch loops until cancelled.
    func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.windows.run() }
            group.addTask { await self.alertGroupsCache.run() }
        }
    }

    /// Write calls made so far, by verb (`create`, `update`, `delete`).
    var writeCalls: [String: Int] { calls.withLock { $0 } }

    private func count(_ verb: String) { calls.withLock { $0[verb, default: 0] += 1 } }

    var location: String { "UpgradeWindow objects in namespace \(namespace) (\(client.connection.apiServer))" }

    // MARK: Reads

    private var stored: [StoredWindow] { windows.entries.compactMap(\.value) }

    func resumeState(recentlyClosed: Int) async throws(StoreError) -> ResumeState {
        let entries = windows.entries
        basis.withLock { basis in
            for entry in entries where entry.value != nil {
                if let name = entry.object.name { basis[name] = entry.object.resourceVersion }
            }
        }
        let all = entries.compactMap(\.value).sorted { $0.record.openedAt < $1.record.openedAt }
        let closed = all.filter { !$0.record.isOpen }
        return ResumeState(
            open: all.filter(\.record.isOpen),
            unfinishedRestores: closed.filter { $0.record.restore.map { !$0.phase.isTerminal } ?? false },
            recentlyClosed: Array(closed.reversed().prefix(max(0, recentlyClosed))),
            alertGroups: alertGroupsCache.entry(alertGroupsName)?.value ?? []
        )
    }

    func window(named name: String) async throws(StoreError) -> StoredWindow? { windows.entry(name)?.value }

    /// The stored state of window `name`, for the engine to take: its version becomes the one the next write carries.
    func take(_ name: String) -> ObjectCache<StoredWindow>.Entry? {
        guard let entry = windows.entry(name) else { return nil }
        if entry.value != nil { basis.withLock { $0[name] = entry.object.resourceVersion } }
        return entry
    }

    func windows(includeClosed: Bool, limit: Int) async throws(StoreError) -> [StoredWindow] {
        let all = stored.filter { includeClosed || $0.record.isOpen }.sorted { $0.record.openedAt > $1.record.openedAt }
        return Array(all.prefix(max(0, limit)))
    }

    func events(windowID: String, limit: Int) async throws(StoreError) -> [WindowEvent] {
        guard let entry = entry(windowID: windowID) else { return [] }
        return Array(UpgradeWindowCoding.events(entry.object).reversed().prefix(max(0, limit)))
    }

    func windowSummaries(state: WindowStateFilter?, limit: Int) async throws(StoreError) -> [WindowSummary] {
        let chosen = stored.filter { window in
            switch state {
            case .open?: window.record.isOpen
            case .closed?: !window.record.isOpen
            case nil: true
            }
        }
        return chosen.sorted { $0.record.openedAt > $1.record.openedAt }.prefix(max(0, limit)).map { window in
            let failing = (window.lastEvaluation?.statuses ?? [:]).filter { $0.value == .fail || $0.value == .failing }.keys.sorted()
            let dropped = windows.entry(window.record.name).map { UpgradeWindowCoding.eventsDropped($0.object) } ?? 0
            return WindowSummary(record: window.record, failing: failing, eventsDropped: dropped)
        }
    }

    func eventsDropped(windowID: String) async throws(StoreError) -> Int {
        entry(windowID: windowID).map { UpgradeWindowCoding.eventsDropped($0.object) } ?? 0
    }

    private func entry(windowID: String) -> ObjectCache<StoredWindow>.Entry? {
        windows.entries.first { $0.value?.record.id == windowID }
    }

    func health(headroomBytes: Int) async -> StoreHealth {
        if !windows.isSynced {
            return StoreHealth(writable: false, reason: "the UpgradeWindow cache has not listed yet: \(windows.lastError ?? "listing")")
        }
        if let problem = windows.lastError { return StoreHealth(writable: false, reason: "the UpgradeWindow watch is failing: \(problem)") }
        return StoreHealth(writable: true)
    }

    // MARK: Writes

    func apply(_ write: WindowWrite, windowID: String) async throws(StoreError) {
        let alerts = pendingAlerts.withLock { $0.removeValue(forKey: windowID) }
        switch write {
        case .insert(let record, let baseline, let event):
            try await insert(StoredWindow(record: record, baseline: baseline), event: event)
        case .update(let record, let events):
            try await change(windowID: windowID, name: record.name, events: events, alerts: alerts) { $0.record = record }
        case .evaluation(let record, let evaluation, let events):
            try await change(windowID: windowID, name: record.name, events: events, alerts: alerts) { window in
                window.record = record
                window.lastEvaluation = evaluation
            }
        case .events(let events):
            guard let name = entry(windowID: windowID)?.object.name else { throw StoreError.notFound("window id \"\(windowID)\"") }
            try await change(windowID: windowID, name: name, events: events, alerts: alerts) { _ in }
        }
    }

    private func insert(_ window: StoredWindow, event: WindowEvent) async throws(StoreError) {
        let name = window.record.name
        if let problem = Self.baselineProblem(window.baseline) { throw StoreError.tooLarge(problem) }
        let recordBytes = UpgradeWindowCoding.json(window.record).utf8.count
        if recordBytes > Self.maxRecordBytes {
            throw StoreError.tooLarge(
                "the window's record takes \(recordBytes) bytes as JSON, more than an UpgradeWindow's status holds (\(Self.maxRecordBytes)): "
                    + "fewer namespaces (and so fewer workloads' images), checks or matchers"
            )
        }
        var object: KubernetesObject
        if let existing = windows.entry(name) {
            if let current = existing.value {
                let unfinished = current.record.restore.map { !$0.phase.isTerminal } ?? false
                if current.record.isOpen || unfinished { throw StoreError.nameTaken(name) }
                // A closed window's object makes way for the new window of the same name (its verdict was final).
                if Self.holdsFinalizer(existing.object) { try await release(existing.object) }
                let existing = windows.entry(name) ?? existing
                do {
                    count("delete")
                    try await client.delete(
                        group: Self.group,
                        version: Self.version,
                        namespace: namespace,
                        plural: Self.plural,
                        name: name,
                        preconditions: existing.object
                    )
                    windows.forget(name, version: existing.object.resourceVersion)
                    basis.withLock { _ = $0.removeValue(forKey: name) }
                } catch {
                    throw StoreError.kubernetes("deleting the closed window's object \(name)", error)
                }
                object = try await create(window)
            } else if case .object = window.record.owner {
                guard existing.object.json["metadata"]?["deletionTimestamp"] == nil else { throw StoreError.nameTaken(name) }
                // An object created by someone else (GitOps) that this replica is now opening: first the finalizer, so a
                // deletion from now on waits for the final verdict.
                object = try await holding(existing.object)
                basis.withLock { $0[name] = object.resourceVersion }
            } else {
                throw StoreError.nameTaken(name)
            }
        } else if case .object = window.record.owner {
            // The object asked for this window and is gone: it is not created again behind its owner's back.
            throw StoreError.conflict("the UpgradeWindow \(name) was deleted before it could be opened")
        } else {
            object = try await create(window)
        }
        try await writeStatus(of: object, window: window, events: [event], replacingEvents: true)
    }

    private func create(_ window: StoredWindow) async throws(StoreError) -> KubernetesObject {
        let body = UpgradeWindowCoding.newObject(window, namespace: namespace)
        do {
            count("create")
            let created = try await client.create(group: Self.group, version: Self.version, namespace: namespace, plural: Self.plural, object: body)
            windows.remember(created)
            basis.withLock { $0[window.record.name] = created.resourceVersion }
            return created
        } catch  where error == .alreadyExists {
            throw StoreError.nameTaken(window.record.name)
        } catch {
            throw StoreError.kubernetes("creating the UpgradeWindow \(window.record.name)", error)
        }
    }

    /// Hands over `findings` (the open window's new matching alerts now) for the next write of window `id`, which
    /// shows them as `status.alerts`; a write without them keeps the ones written before.
    func noteAlertFindings(_ findings: [AlertFinding], windowID id: String) {
        pendingAlerts.withLock { $0[id] = findings }
    }

    private func change(
        windowID: String,
        name: String,
        events: [WindowEvent],
        alerts: [AlertFinding]?,
        _ update: (inout StoredWindow) -> Void
    ) async throws(StoreError) {
        guard let entry = windows.entry(name), var window = entry.value, window.record.id == windowID else {
            throw StoreError.conflict("the UpgradeWindow \(name) no longer holds window id \(windowID)")
        }
        update(&window)
        try await writeStatus(of: entry.object, window: window, events: events, replacingEvents: false, alerts: alerts)
    }

    /// Writes the whole status at the object's resourceVersion.
    private func writeStatus(
        of object: KubernetesObject,
        window: StoredWindow,
        events: [WindowEvent],
        replacingEvents: Bool,
        alerts: [AlertFinding]? = nil
    ) async throws(StoreError) {
        let name = window.record.name
        let previous = replacingEvents ? [] : UpgradeWindowCoding.eventEntries(object)
        let status = UpgradeWindowCoding.status(
            window,
            object: object,
            events: previous + events.map { UpgradeWindowCoding.eventEntry($0, maxMessageBytes: maxEventMessageBytes) },
            droppedBefore: replacingEvents ? 0 : UpgradeWindowCoding.eventsDropped(object),
            keep: eventsPerWindow,
            maxBytes: Self.maxStatusBytes,
            staleAfter: staleAfter,
            now: now(),
            alerts: alerts
        )
        guard case .object(var body) = object.json, case .object(var metadata)? = body["metadata"] else {
            throw StoreError.conflict("the UpgradeWindow \(name) is not an object")
        }
        if let version = basis.withLock({ $0[name] }) { metadata["resourceVersion"] = .string(version) }
        body["metadata"] = .object(metadata)
        body["status"] = status
        body["apiVersion"] = .string("\(Self.group)/\(Self.version)")
        body["kind"] = .string("UpgradeWindow")
        do {
            count("update")
            let written = try await client.replace(
                group: Self.group,
                version: Self.version,
                namespace: namespace,
                plural: Self.plural,
                name: name,
                subresource: "status",
                object: .object(body)
            )
            windows.remember(written)
            basis.withLock { $0[name] = written.resourceVersion }
            mirror(events, of: written)
            if Self.isFinished(window), Self.holdsFinalizer(written) { try? await release(written) }
        } catch  where error == .conflict || error == .notFound {
            throw StoreError.conflict("the UpgradeWindow \(name) changed since it was read")
        } catch {
            throw StoreError.kubernetes("writing the status of the UpgradeWindow \(name)", error)
        }
    }

    /// Sends each new audit entry as a core/v1 Event about the object (its uid included), for `kubectl describe uw`.
    ///
    /// Best effort, after the status (the durable trail) was written: Events expire after about an hour anyway. At most
    /// 8 per write, so a burst never floods the API server.
    private func mirror(_ events: [WindowEvent], of object: KubernetesObject) {
        guard let name = object.name, let uid = object.uid, !events.isEmpty else { return }
        // Bounded: while 16 batches are still being sent (a slow API server), new ones are dropped.
        guard
            mirroring.withLock({ count in
                guard count < 16 else { return false }
                count += 1
                return true
            })
        else { return }
        let namespace = self.namespace
        let bodies = events.suffix(8).map { event in UpgradeWindowCoding.kubernetesEvent(event, object: name, uid: uid, namespace: namespace) }
        let client = client
        let logger = logger
        count("event")
        let mirroring = mirroring
        Task {
            defer { mirroring.withLock { $0 -= 1 } }
            for body in bodies {
                do {
                    _ = try await client.create(group: "", version: "v1", namespace: namespace, plural: "events", object: body)
                } catch {
                    logger.debug("an Event about UpgradeWindow \(name) could not be created: \(error)")
                }
            }
        }
    }

    func recordAlertGroups(_ groups: [StoredAlertGroup]) async throws(StoreError) {
        guard !groups.isEmpty else { return }
        // Merging is order-free (a group keeps its newest notification), so a 409 is answered here: read, merge again.
        for attempt in 1...5 {
            let current = alertGroupsCache.entry(alertGroupsName)
            var merged = Dictionary((current?.value ?? []).map { ($0.groupKey, $0) }, uniquingKeysWith: { $1 })
            for group in groups where (merged[group.groupKey]?.receivedAt ?? -.infinity) <= group.receivedAt { merged[group.groupKey] = group }
            var list = merged.values.sorted { $0.receivedAt < $1.receivedAt }
            var data = UpgradeWindowCoding.alertGroupsData(list)
            // Bounded: when full, the oldest groups whose alerts have all resolved make way; firing ones are never
            // dropped — the notification is refused instead (503, Alertmanager retries) until retention frees room.
            while data.utf8.count > Self.maxAlertGroupBytes,
                let index = list.firstIndex(where: { UpgradeWindowCoding.isResolved($0) && !groups.map(\.groupKey).contains($0.groupKey) })
            {
                list.remove(at: index)
                data = UpgradeWindowCoding.alertGroupsData(list)
            }
            guard data.utf8.count <= Self.maxAlertGroupBytes else {
                throw StoreError.tooLarge(
                    "the Alertmanager groups ConfigMap is full (\(Self.maxAlertGroupBytes) bytes of firing groups): retention (retention.alertGroups) frees it"
                )
            }
            do {
                if let current {
                    guard case .object(var body) = current.object.json else { break }
                    body["data"] = .object(["groups.json": .string(data)])
                    // Items of a list of a built-in kind carry no apiVersion and kind; a PUT needs them.
                    body["apiVersion"] = .string("v1")
                    body["kind"] = .string("ConfigMap")
                    count("update")
                    let written = try await client.replace(
                        group: "",
                        version: "v1",
                        namespace: namespace,
                        plural: "configmaps",
                        name: alertGroupsName,
                        object: .object(body)
                    )
                    alertGroupsCache.remember(written)
                } else {
                    count("create")
                    let created = try await client.create(
                        group: "",
                        version: "v1",
                        namespace: namespace,
                        plural: "configmaps",
                        object: UpgradeWindowCoding.alertGroupsObject(name: alertGroupsName, namespace: namespace, data: data)
                    )
                    alertGroupsCache.remember(created)
                }
                return
            } catch  where error == .conflict || error == .alreadyExists {
                // Someone else wrote first: read what they wrote and merge again.
                if let fresh = try? await client.get(group: "", version: "v1", namespace: namespace, plural: "configmaps", name: alertGroupsName) {
                    alertGroupsCache.remember(fresh)
                }
                if attempt == 5 { throw StoreError.conflict("the Alertmanager groups ConfigMap kept changing (5 attempts)") }
            } catch {
                throw StoreError.kubernetes("writing the Alertmanager groups ConfigMap \(alertGroupsName)", error)
            }
        }
    }

    func prune(closedBefore: Double, alertGroupsBefore: Double) async throws(StoreError) -> PruneReport {
        var report = PruneReport()
        guard isLeader() else { return report }
        report.alertGroups = try await pruneAlertGroups(before: alertGroupsBefore)
        for window in stored where !window.record.isOpen && (window.record.closedAt ?? .infinity) < closedBefore {
            if let restore = window.record.restore, !restore.phase.isTerminal { continue }
            do {
                count("delete")
                let entry = windows.entry(window.record.name)
                try await client.delete(
                    group: Self.group,
                    version: Self.version,
                    namespace: namespace,
                    plural: Self.plural,
                    name: window.record.name,
                    preconditions: entry?.object
                )
                windows.forget(window.record.name, version: entry?.object.resourceVersion)
                basis.withLock { _ = $0.removeValue(forKey: window.record.name) }
                report.closedWindows += 1
            } catch {
                throw StoreError.kubernetes("deleting the closed UpgradeWindow \(window.record.name)", error)
            }
        }
        return report
    }

    /// Whether a window needs nothing more from the gate: closed, and no restore under way.
    static func isFinished(_ window: StoredWindow) -> Bool {
        !window.record.isOpen && window.record.restore == nil
    }

    static func holdsFinalizer(_ object: KubernetesObject) -> Bool {
        (object.json["metadata"]?["finalizers"]?.arrayValue ?? []).contains(.string(finalizer))
    }

    /// Adds the finalizer to an object (a PUT of the object at its version).
    private func holding(_ object: KubernetesObject) async throws(StoreError) -> KubernetesObject {
        guard !Self.holdsFinalizer(object) else { return object }
        guard case .object(var body) = object.json, case .object(var metadata)? = body["metadata"], let name = object.name else { return object }
        metadata["finalizers"] = .array((metadata["finalizers"]?.arrayValue ?? []) + [.string(Self.finalizer)])
        body["metadata"] = .object(metadata)
        do {
            count("update")
            let written = try await client.replace(
                group: Self.group,
                version: Self.version,
                namespace: namespace,
                plural: Self.plural,
                name: name,
                object: .object(body)
            )
            windows.remember(written)
            return written
        } catch  where error == .conflict {
            throw StoreError.conflict("the UpgradeWindow \(name) changed while it was being opened")
        } catch {
            throw StoreError.kubernetes("adding the finalizer to the UpgradeWindow \(name)", error)
        }
    }

    /// Removes the finalizer from a finished window's object (which then goes, if it was being deleted).
    private func release(_ object: KubernetesObject) async throws(StoreError) {
        guard case .object(var body) = object.json, case .object(var metadata)? = body["metadata"], let name = object.name else { return }
        metadata["finalizers"] = .array((metadata["finalizers"]?.arrayValue ?? []).filter { $0 != .string(Self.finalizer) })
        body["metadata"] = .object(metadata)
        do {
            count("update")
            let written = try await client.replace(
                group: Self.group,
                version: Self.version,
                namespace: namespace,
                plural: Self.plural,
                name: name,
                object: .object(body)
            )
            if written.json["metadata"]?["deletionTimestamp"] != nil, (written.json["metadata"]?["finalizers"]?.arrayValue ?? []).isEmpty {
                windows.forget(name, version: written.resourceVersion)
                basis.withLock { _ = $0.removeValue(forKey: name) }
            } else {
                windows.remember(written)
                // Only a finalizer changed: the state the engine holds is still the one it took, now at this version.
                basis.withLock { basis in if basis[name] == object.resourceVersion { basis[name] = written.resourceVersion } }
            }
        } catch {
            throw StoreError.kubernetes("removing the finalizer of the UpgradeWindow \(name)", error)
        }
    }

    /// Removes the finalizer of every finished window that still holds it (a removal that failed before), as the
    /// leader's escape loop runs.
    func releaseFinished(keeping busy: Set<String>) async {
        for entry in windows.entries {
            guard let window = entry.value, !window.record.isOpen, !busy.contains(window.record.id), Self.holdsFinalizer(entry.object),
                window.record.restore.map(\.phase.isTerminal) ?? true
            else { continue }
            do {
                try await release(entry.object)
            } catch {
                logger.warning("\(error)")
            }
        }
    }

    /// Drops Alertmanager groups without a notification since `before`; how many.
    private func pruneAlertGroups(before: Double) async throws(StoreError) -> Int {
        guard let current = alertGroupsCache.entry(alertGroupsName), let groups = current.value else { return 0 }
        let kept = groups.filter { $0.receivedAt >= before }
        guard kept.count < groups.count, case .object(var body) = current.object.json else { return 0 }
        body["data"] = .object(["groups.json": .string(UpgradeWindowCoding.alertGroupsData(kept))])
        body["apiVersion"] = .string("v1")
        body["kind"] = .string("ConfigMap")
        do {
            count("update")
            let written = try await client.replace(
                group: "",
                version: "v1",
                namespace: namespace,
                plural: "configmaps",
                name: alertGroupsName,
                object: .object(body)
            )
            alertGroupsCache.remember(written)
            return groups.count - kept.count
        } catch  where error == .conflict {
            return 0  // a notification landed meanwhile; the next round prunes
        } catch {
            throw StoreError.kubernetes("pruning the Alertmanager groups ConfigMap \(alertGroupsName)", error)
        }
    }

    /// Lets the deletion of an object that never became a window (or whose state cannot be read) through.
    func releaseUnopened(_ object: KubernetesObject) async {
        guard Self.holdsFinalizer(object) else { return }
        do {
            try await release(object)
        } catch {
            logger.warning("\(error)")
        }
    }

    /// Reads one window's object from the API server (not the cache), after a conflict.
    func refresh(name: String) async throws(StoreError) -> StoredWindow? {
        do {
            let object = try await client.get(group: Self.group, version: Self.version, namespace: namespace, plural: Self.plural, name: name)
            windows.remember(object)
            let stored = try? UpgradeWindowCoding.storedWindow(object)
            if stored != nil { basis.withLock { $0[name] = object.resourceVersion } }
            return stored
        } catch  where error == .notFound {
            return nil
        } catch {
            throw StoreError.kubernetes("reading the UpgradeWindow \(name)", error)
        }
    }
}
