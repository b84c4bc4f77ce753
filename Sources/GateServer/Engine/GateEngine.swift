import GateConfig
import GateCore
import GateSources
import GateStore
import Logging
import Synchronization

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

/// A window as the engine holds it: its machine (the lifecycle), its pinned baseline and what alert judging needs.
struct LiveWindow: Sendable {
    /// The window's lifecycle.
    var machine: WindowMachine
    /// The snapshot pinned at open.
    let baseline: WindowBaseline
    /// Derived once from the window and the config (regexes compiled once, not per notification).
    let alertPolicy: AlertPolicy
    /// The label sets of the alerts firing at open.
    let baselineAlerts: Set<Labels>
    /// The alert findings in the last published gate body (to skip re-publishing unchanged ones).
    var publishedAlerts: [AlertFinding] = []

    init(machine: WindowMachine, baseline: WindowBaseline, config: GateConfig) {
        self.machine = machine
        self.baseline = baseline
        self.alertPolicy = GateServer.alertPolicy(config: config, request: machine.record.request)
        self.baselineAlerts = Set(baseline.alerts.map(\.labels))
    }

    /// The durable record.
    var record: WindowRecord { machine.record }
    /// The newest evaluation.
    var lastEvaluation: EvaluationRecord? { machine.lastEvaluation }
}

/// The one owner of open windows. Each window's `WindowMachine` decides; this actor feeds it events (API calls,
/// evaluations, notifications, Kubernetes answers, ticks) and carries out the actions it returns: persist, publish,
/// log, count, and the Kubernetes calls, which run in the escape loop beside the evaluation cycle.
actor GateEngine {
    let config: GateConfig
    let settings: WindowSettings
    let store: any WindowStore
    let evaluator: Evaluator<AnyMetricsSource>
    let board: GateBoard
    let metrics: GateMetrics
    let logger: Logger
    let now: @Sendable () -> Double
    let alertSource: any FiringAlertsSource
    /// Velero, when the config has a `velero` section.
    let velero: (any VeleroPort)?
    /// How long one Kubernetes call of the escape loop may take.
    let escapeTimeout: Duration
    /// Group-commits Alertmanager notifications.
    let alertWriter: AlertGroupWriter
    /// Wakes the escape loop when a machine has new Kubernetes work.
    let escapeWake: AsyncStream<Void>.Continuation
    /// The escape loop's wake-ups.
    let escapeWakes: AsyncStream<Void>
    var live: [String: LiveWindow] = [:]
    /// Closed windows whose restore is still in flight, by window id (the escape loop finishes them).
    var restoring: [String: LiveWindow] = [:]
    /// Every alert Alertmanager told us about, by group.
    var book = AlertBook()
    var opening: Set<String> = []
    /// Checks whose evidence was missing at the last evaluation, per window (to log source failures on change).
    var unavailable: [String: Set<String>] = [:]
    /// Windows (by id) whose machine is handling an event: the actor is reentrant at every `await`, so without this
    /// a tick could act on a restore intent while the write that records it is still in flight (or about to fail
    /// and be rolled back).
    private var busy: Set<String> = []
    /// Callers waiting for a busy window, first come first served.
    private var waiting: [String: [CheckedContinuation<Void, Never>]] = [:]
    /// With several replicas: whether this one leads now (nil: a single replica, which always acts).
    let leadership: (@Sendable () -> Bool)?
    /// The newest notification applied per Alertmanager group (several replicas persist groups; each applies once).
    var appliedGroups: [String: Double] = [:]
    /// When the leader last tried to open each GitOps-created object (a failed open is retried after 30 s).
    var openAttempts: [String: Double] = [:]
    /// Whether `reconcileObjects` is running (one at a time).
    var reconcilingObjects = false
    /// Ids of windows that closed (newest 4096, oldest first in `finishedOrder`).
    var finished: Set<String> = []
    var finishedOrder: [String] = []

    init(
        config: GateConfig,
        store: any WindowStore,
        source: any MetricsSource,
        alertSource: any FiringAlertsSource,
        velero: (any VeleroPort)?,
        board: GateBoard,
        metrics: GateMetrics,
        logger: Logger,
        now: @escaping @Sendable () -> Double,
        escapeTimeout: Duration = .seconds(30),
        leadership: (@Sendable () -> Bool)? = nil
    ) {
        self.leadership = leadership
        self.config = config
        self.settings = windowSettings(config)
        self.alertSource = alertSource
        self.velero = velero
        self.store = store
        self.alertWriter = AlertGroupWriter(store: store)
        let queryErrors = QueryErrorLog(logger: logger)
        self.evaluator = Evaluator(
            source: AnyMetricsSource(base: source),
            maxConcurrentQueries: 8,
            detailedReasons: false,
            onQueryError: { [metrics] error in
                metrics.countQueryError(reason: error.label)
                queryErrors.record(error)
            }
        )
        self.board = board
        self.metrics = metrics
        self.logger = logger
        self.now = now
        self.escapeTimeout = escapeTimeout
        (self.escapeWakes, self.escapeWake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func machine(for record: WindowRecord, lastEvaluation: EvaluationRecord?) -> WindowMachine {
        WindowMachine(
            record: record,
            lastEvaluation: lastEvaluation,
            settings: settings,
            restoreName: veleroObjectName(window: record.name, id: record.id, suffix: "rollback")
        )
    }

    // MARK: Start-up

    /// Loads every open window, every closed window whose restore is unfinished, and the alert book, then lets each
    /// machine continue what its state says is unfinished (a recorded restore intent continues after a restart).
    func resume() async throws(StoreError) {
        let state = try await store.resumeState(recentlyClosed: 50)
        for group in state.alertGroups {
            // Payloads were validated before they were stored; one that no longer decodes is skipped, not fatal.
            if let notification = try? AlertmanagerWebhook.decode(group.payload) {
                _ = book.receive(notification, at: group.receivedAt)
            }
        }
        for stored in state.open {
            live[stored.record.name] = LiveWindow(
                machine: machine(for: stored.record, lastEvaluation: stored.lastEvaluation),
                baseline: stored.baseline,
                config: config
            )
        }
        for stored in state.unfinishedRestores where live[stored.record.name]?.record.id != stored.record.id {
            restoring[stored.record.id] = LiveWindow(
                machine: machine(for: stored.record, lastEvaluation: stored.lastEvaluation),
                baseline: stored.baseline,
                config: config
            )
        }
        for stored in state.recentlyClosed where live[stored.record.name] == nil && restoring[stored.record.id] == nil {
            publish(
                LiveWindow(machine: machine(for: stored.record, lastEvaluation: stored.lastEvaluation), baseline: stored.baseline, config: config)
            )
        }
        let at = now()
        for id in (live.values.map(\.record.id) + restoring.keys).sorted() {
            _ = await send(.resumed(at: at), windowID: id)
        }
        metrics.setOpenWindows(live.count)
        if !state.open.isEmpty {
            logger.notice(
                "resumed \(state.open.count) open window(s) from the state store",
                metadata: ["gate.windows": .array(state.open.map { .string($0.record.name) })]
            )
        }
    }

    // MARK: Carrying out decisions

    /// What became of an event sent to a window.
    enum SendResult {
        /// The machine took it; `work` is the Kubernetes work it asked for.
        case done(work: [WindowAction])
        /// The machine refused it; nothing changed.
        case refused(WindowRefusal)
        /// The window is not in memory.
        case gone
        /// A write the caller waits for failed; the machine was put back as it was.
        case writeFailed(StoreError)
        /// Another replica wrote the window first; the machine was put back (the sender re-reads and retries).
        case conflicted
    }

    /// Feeds one event to a window's machine and carries out its actions.
    ///
    /// - Parameter acknowledged: the caller answers someone once this returns (API close, reset, restore): a
    ///   failed write puts the machine back and is returned, instead of being retried later.
    func send(_ event: WindowMachine.Event, windowID id: String, acknowledged: Bool = false) async -> SendResult {
        await acquireWindow(id)
        defer { releaseWindow(id) }
        // With several replicas a write can meet a newer version another replica wrote (409): read the window again
        // and let its machine decide again on what is stored now.
        for _ in 0..<4 {
            guard var window = window(id: id) else { return .gone }
            let before = window
            let actions = window.machine.receive(event)
            if case .reject(let refusal)? = actions.first {
                metrics.countDenial(DenialReason(refusal))
                return .refused(refusal)
            }
            put(window)
            let result = await execute(actions, windowID: id, acknowledged: acknowledged ? before : nil, restoring: before)
            guard case .conflicted = result else { return result }
            await reloadAfterConflict(id, name: before.record.name)
        }
        return .writeFailed(.conflict("window id \(id) kept changing under this replica's writes (4 attempts)"))
    }

    /// Waits until no other event is being carried out for window `id`, then holds it.
    func acquireWindow(_ id: String) async {
        guard busy.contains(id) else {
            busy.insert(id)
            return
        }
        await withCheckedContinuation { continuation in waiting[id, default: []].append(continuation) }
        // Handed over by `release`: the window is still marked busy, now for this caller.
    }

    /// Hands window `id` to the next waiting caller, or frees it.
    func releaseWindow(_ id: String) {
        if var queue = waiting[id], !queue.isEmpty {
            let next = queue.removeFirst()
            waiting[id] = queue.isEmpty ? nil : queue
            next.resume()
        } else {
            busy.remove(id)
        }
    }

    /// Carries out actions in order. Kubernetes work is not done here: it is returned for the escape loop.
    func execute(
        _ actions: [WindowAction],
        windowID id: String,
        acknowledged before: LiveWindow? = nil,
        restoring original: LiveWindow? = nil
    ) async -> SendResult {
        var work: [WindowAction] = []
        // A window that just closed has left `live`; what is published after the close (its final gate body) is it.
        var departed: LiveWindow?
        // A write that failed here: a close that was not stored is not final (the stored state may be taken again).
        var unsaved = false
        for action in actions {
            switch action {
            case .persist(let write):
                if let shared = store as? KubernetesWindowStore, let window = window(id: id), window.record.isOpen {
                    // The object's status.alerts shows what the gate answer shows; a closed window's keeps what it
                    // showed last.
                    shared.noteAlertFindings(alertFindings(for: window, at: now()), windowID: id)
                }
                do {
                    try await store.apply(write, windowID: id)
                } catch {
                    if error.isConflict, let original {
                        put(original, replacing: id)
                        return .conflicted
                    }
                    let name = write.record?.name ?? self.window(id: id)?.record.name ?? id
                    logger.error(
                        "window \(name): a state write (\(write.label)) failed: \(error)",
                        metadata: ["gate.window": .string(name), "gate.error": .string(error.label), "gate.write": .string(write.label)]
                    )
                    metrics.countFailedWrite(operation: write.label)
                    if let before {
                        // The caller is told; nothing changed.
                        put(before, replacing: id)
                        return .writeFailed(error)
                    }
                    unsaved = true
                    if var window = self.window(id: id) {
                        _ = window.machine.receive(.persistFailed(at: now()))
                        put(window)
                    }
                }
            case .publish:
                if let window = window(id: id) ?? departed { publish(window) }
            case .log(let line):
                log(line)
            case .count(let count):
                switch count {
                case .verdictChange(let verdict):
                    if let name = window(id: id)?.record.name { metrics.countVerdictChange(window: name, to: verdict) }
                case .escapeStep(let step): metrics.countRestoreStep(step: step.rawValue)
                }
            case .closed:
                guard let window = window(id: id), live[window.record.name]?.record.id == id else { break }
                departed = window
                if !unsaved { noteClosed(id) }
                live.removeValue(forKey: window.record.name)
                unavailable.removeValue(forKey: window.record.name)
                if window.machine.hasEscapeWork { restoring[id] = window }
                metrics.removeWindow(window.record.name, checks: window.record.checks.map(\.name))
                metrics.setOpenWindows(live.count)
            case .wakeEscape:
                escapeWake.yield()
            case .pollBackup, .createRestore, .pollRestore, .verifyImages, .createBackup:
                work.append(action)
            case .reject:
                break
            }
        }
        // A closed window whose escape plan is done leaves memory.
        if let window = restoring[id], !window.machine.hasEscapeWork { restoring.removeValue(forKey: id) }
        return .done(work: work)
    }

    /// The window with this id, open or closed with a restore in flight.
    func window(id: String) -> LiveWindow? {
        if let window = restoring[id] { return window }
        return live.values.first { $0.record.id == id }
    }

    /// Writes a window back where it lives.
    func put(_ window: LiveWindow, replacing id: String? = nil) {
        let id = id ?? window.record.id
        if restoring[id] != nil {
            restoring[id] = window
        } else if window.record.isOpen || live[window.record.name]?.record.id == id {
            live[window.record.name] = window
        }
    }

    private func log(_ line: GateLogLine) {
        let metadata = line.metadata.mapValues(\.loggerValue)
        switch line.level {
        case .info: logger.info("\(line.message)", metadata: metadata)
        case .notice: logger.notice("\(line.message)", metadata: metadata)
        case .warning: logger.warning("\(line.message)", metadata: metadata)
        case .error: logger.error("\(line.message)", metadata: metadata)
        case .critical: logger.critical("\(line.message)", metadata: metadata)
        }
    }

    // MARK: Reading

    /// An open window from memory, else the latest closed one from the store.
    func window(named name: String) async throws(APIError) -> LiveWindow? {
        if let window = live[name] { return window }
        if let window = restoring.values.first(where: { $0.record.name == name }) { return window }
        return try await storedWindow(named: name)
    }

    /// Open windows (memory) and recently closed ones (store), newest first.
    func windows(includeClosed: Bool, limit: Int = 100) async throws(APIError) -> [LiveWindow] {
        var result = Array(live.values.sorted { $0.record.openedAt > $1.record.openedAt }.prefix(limit))
        if includeClosed, result.count < limit {
            do {
                let stored = try await store.windows(includeClosed: true, limit: limit)
                result += stored.filter { !$0.record.isOpen }.prefix(limit - result.count).map {
                    LiveWindow(machine: machine(for: $0.record, lastEvaluation: $0.lastEvaluation), baseline: $0.baseline, config: config)
                }
            } catch {
                throw storageFailure("the window list could not be read", error)
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
            throw storageFailure("the events could not be read", error)
        }
    }

    func storedWindow(named name: String) async throws(APIError) -> LiveWindow? {
        do {
            guard let stored = try await store.window(named: name) else { return nil }
            return LiveWindow(machine: machine(for: stored.record, lastEvaluation: stored.lastEvaluation), baseline: stored.baseline, config: config)
        } catch {
            throw storageFailure("the window could not be read", error)
        }
    }

    /// A read of the store failed: the reader (who may have no token) gets a generic answer, the log gets the detail
    /// (which names the state file).
    func storageFailure(_ what: String, _ error: StoreError) -> APIError {
        logger.error("\(what): \(error)", metadata: ["gate.error": .string(error.label)])
        return .storage("\(what); the gate's log says why")
    }

    // MARK: Publishing

    func publish(_ window: LiveWindow) {
        let at = now()
        let findings = window.record.isOpen ? alertFindings(for: window, at: at) : []
        if live[window.record.name]?.record.id == window.record.id { live[window.record.name]?.publishedAlerts = findings }
        let body = GateBody(window: window, alerts: findings, velero: config.velero, now: at)
        let verdict = window.machine.verdict(at: at)
        board.publish(window.record.name, body: body.encoded(), verdict: verdict, isOpen: window.record.isOpen)
        if window.record.isOpen, live[window.record.name]?.record.id == window.record.id {
            metrics.setVerdict(window: window.record.name, verdict: window.record.memory.verdict)
        }
    }
}

extension WindowWrite {
    /// A bounded label for logs and metrics.
    var label: String {
        switch self {
        case .insert: "insert"
        case .update: "update"
        case .evaluation: "evaluation"
        case .events: "events"
        }
    }
}

extension LogValue {
    /// The swift-log spelling.
    var loggerValue: Logger.MetadataValue {
        switch self {
        case .string(let text): .string(text)
        case .array(let values): .array(values.map(\.loggerValue))
        case .dictionary(let values): .dictionary(values.mapValues(\.loggerValue))
        }
    }
}

/// The lifecycle settings of every window, from the configuration.
func windowSettings(_ config: GateConfig) -> WindowSettings {
    WindowSettings(
        failAfter: config.evaluation.failAfter,
        warmup: config.evaluation.warmup,
        interval: config.evaluation.interval,
        velero: config.velero.map { velero in
            WindowSettings.VeleroSettings(
                restoreMode: velero.restore.mode,
                backupRequired: velero.backup.required,
                backupWaitTimeout: velero.backup.waitTimeout,
                verify: velero.restore.verify,
                namespace: velero.namespace,
                existingResourcePolicy: velero.restore.existingResourcePolicy == .none ? nil : velero.restore.existingResourcePolicy.rawValue,
                restorePVs: velero.restore.restorePVs
            )
        }
    )
}

/// A short id fixed when a window opens: 5 characters of [a-z0-9], so that `<window>-<id>-rollback` stays a
/// DNS-1123 name.
func makeWindowID() -> String {
    let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
    var generator = SystemRandomNumberGenerator()
    return String((0..<5).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
}

/// Logs each failed query's full error once per change (the gate body only says "the Prometheus query failed").
final class QueryErrorLog: Sendable {
    private let logger: Logger
    private let last = Mutex<[String: String]>([:])

    init(logger: Logger) {
        self.logger = logger
    }

    func record(_ error: PrometheusError) {
        let text = error.description
        let changed = last.withLock { last -> Bool in
            guard last[error.query] != text else { return false }
            if last.count > 1000 { last.removeAll() }
            last[error.query] = text
            return true
        }
        if changed { logger.warning("a Prometheus query failed: \(text)", metadata: ["gate.error": .string(error.label)]) }
    }
}
