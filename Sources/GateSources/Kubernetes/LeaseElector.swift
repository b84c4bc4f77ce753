import Foundation
import Synchronization

/// How a replica takes part in leader election: which Lease, who it is, and client-go's three timings.
public struct LeaseElectionConfig: Sendable, Equatable {
    /// The Lease's namespace.
    public var namespace: String
    /// The Lease's name.
    public var name: String
    /// This replica's holder identity; unique per process (see ``defaultIdentity(environment:hostName:)``).
    public var identity: String
    /// How long followers wait, from their own last observation of a change, before taking an unrenewed lease over.
    /// Written into the Lease in whole seconds. Default 15 s.
    public var leaseDuration: Duration
    /// How long the leader keeps leading without a successful renewal. Default 10 s.
    public var renewDeadline: Duration
    /// How often the leader renews and candidates try to acquire. Default 2 s.
    public var retryPeriod: Duration
    /// Whether a graceful stop (cancellation) gives the lease up at once instead of letting it expire. Default true.
    public var releaseOnCancel: Bool

    /// Creates a configuration with client-go's default timings (15 s / 10 s / 2 s).
    public init(
        namespace: String,
        name: String,
        identity: String,
        leaseDuration: Duration = .seconds(15),
        renewDeadline: Duration = .seconds(10),
        retryPeriod: Duration = .seconds(2),
        releaseOnCancel: Bool = true
    ) {
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.leaseDuration = leaseDuration
        self.renewDeadline = renewDeadline
        self.retryPeriod = retryPeriod
        self.releaseOnCancel = releaseOnCancel
    }

    /// Why the timings or names cannot work, or nil.
    ///
    /// The leader must give up (renewDeadline) before followers may take over (leaseDuration), and must get more
    /// than one attempt in before giving up (retryPeriod below renewDeadline).
    public var problem: String? {
        if identity.isEmpty { return "the identity is empty" }
        if name.isEmpty || namespace.isEmpty { return "the Lease needs a namespace and a name" }
        if leaseDuration < .seconds(1) { return "leaseDuration must be at least 1s (the Lease records whole seconds)" }
        if retryPeriod <= .zero { return "retryPeriod must be positive" }
        if renewDeadline >= leaseDuration { return "renewDeadline must be shorter than leaseDuration" }
        if retryPeriod >= renewDeadline { return "retryPeriod must be shorter than renewDeadline" }
        return nil
    }

    /// `POD_NAME` from the environment (the downward API), else the host name, then `_` and a random UUID, so a
    /// restarted process never mistakes the lease of its previous life for its own.
    public static func defaultIdentity(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        hostName: String = ProcessInfo.processInfo.hostName
    ) -> String {
        let base = environment["POD_NAME"].flatMap { $0.isEmpty ? nil : $0 } ?? hostName
        return "\(base)_\(UUID().uuidString.lowercased())"
    }
}

/// The leader-election fields of a `coordination.k8s.io/v1` Lease's `spec`; absent fields are nil.
public struct LeaseRecord: Sendable, Equatable {
    /// Who holds the lease; empty after a release.
    public var holderIdentity: String?
    /// The holder's lease duration in whole seconds.
    public var leaseDurationSeconds: Int?
    /// When the current holder acquired it (MicroTime text).
    public var acquireTime: String?
    /// When the holder last renewed it (MicroTime text).
    public var renewTime: String?
    /// How many times the holder has changed.
    public var leaseTransitions: Int?

    /// Creates a record.
    public init(
        holderIdentity: String? = nil,
        leaseDurationSeconds: Int? = nil,
        acquireTime: String? = nil,
        renewTime: String? = nil,
        leaseTransitions: Int? = nil
    ) {
        self.holderIdentity = holderIdentity
        self.leaseDurationSeconds = leaseDurationSeconds
        self.acquireTime = acquireTime
        self.renewTime = renewTime
        self.leaseTransitions = leaseTransitions
    }

    /// Reads the record from a Lease object's `spec`.
    public init(spec: JSONValue?) {
        holderIdentity = spec?["holderIdentity"]?.stringValue
        leaseDurationSeconds = spec?["leaseDurationSeconds"]?.intValue
        acquireTime = spec?["acquireTime"]?.stringValue
        renewTime = spec?["renewTime"]?.stringValue
        leaseTransitions = spec?["leaseTransitions"]?.intValue
    }

    /// The `spec` members this record sets, for writing over an existing spec (other members are kept).
    var specMembers: [String: JSONValue] {
        var members: [String: JSONValue] = [:]
        if let holderIdentity { members["holderIdentity"] = .string(holderIdentity) }
        if let leaseDurationSeconds { members["leaseDurationSeconds"] = .number(Double(leaseDurationSeconds)) }
        if let acquireTime { members["acquireTime"] = .string(acquireTime) }
        if let renewTime { members["renewTime"] = .string(renewTime) }
        if let leaseTransitions { members["leaseTransitions"] = .number(Double(leaseTransitions)) }
        return members
    }
}

/// A Lease as last read or written: its record, its resourceVersion and the whole object (written back whole).
public struct StoredLease: Sendable, Equatable {
    /// The leader-election fields.
    public var record: LeaseRecord
    /// `metadata.resourceVersion`, the precondition of the next write.
    public var resourceVersion: String
    /// The whole object as the API server returned it.
    public var object: JSONValue

    /// Wraps a Lease object.
    public init(object: JSONValue) {
        self.object = object
        self.record = LeaseRecord(spec: object["spec"])
        self.resourceVersion = object["metadata"]?["resourceVersion"]?.stringValue ?? ""
    }
}

/// Where the Lease lives: read it, and write a record over the version last seen (or create it).
public protocol LeaseStore: Sendable {
    /// The Lease, or nil when it does not exist.
    func read(namespace: String, name: String) async throws(KubernetesError) -> StoredLease?
    /// Writes `record` over `previous` with its resourceVersion (a stale one is ``KubernetesError/conflict``), or
    /// creates the Lease when `previous` is nil (``KubernetesError/alreadyExists`` when another replica was first).
    func write(_ record: LeaseRecord, namespace: String, name: String, over previous: StoredLease?) async throws(KubernetesError) -> StoredLease
}

/// The Lease in the Kubernetes API, written as client-go writes it: whole-object PUT with the last resourceVersion,
/// POST after a 404.
public struct KubernetesLeaseStore: LeaseStore {
    let client: KubernetesClient

    /// Uses `client`; give it a short ``KubernetesClient/Options/deadline`` (at most the retry period), since the
    /// elector retries on its own schedule.
    public init(client: KubernetesClient) {
        self.client = client
    }

    /// The Lease, or nil after a 404.
    public func read(namespace: String, name: String) async throws(KubernetesError) -> StoredLease? {
        do {
            let object = try await client.get(group: "coordination.k8s.io", version: "v1", namespace: namespace, plural: "leases", name: name)
            return StoredLease(object: object.json)
        } catch  where error == .notFound {
            return nil
        }
    }

    /// PUT over `previous` (carrying its resourceVersion), or POST when there is none.
    public func write(
        _ record: LeaseRecord,
        namespace: String,
        name: String,
        over previous: StoredLease?
    ) async throws(KubernetesError) -> StoredLease {
        guard let previous else {
            let object: JSONValue = [
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": ["name": .string(name), "namespace": .string(namespace)],
                "spec": .object(record.specMembers),
            ]
            let created = try await client.create(group: "coordination.k8s.io", version: "v1", namespace: namespace, plural: "leases", object: object)
            return StoredLease(object: created.json)
        }
        var members = previous.object.objectValue ?? [:]
        var spec = members["spec"]?.objectValue ?? [:]
        for (key, value) in record.specMembers { spec[key] = value }
        members["spec"] = .object(spec)
        members["apiVersion"] = "coordination.k8s.io/v1"
        members["kind"] = "Lease"
        var metadata = members["metadata"]?.objectValue ?? [:]
        metadata["resourceVersion"] = .string(previous.resourceVersion)
        // managedFields are the server's bookkeeping; sending them back is allowed but pointless.
        metadata["managedFields"] = nil
        members["metadata"] = .object(metadata)
        let written = try await client.replace(
            group: "coordination.k8s.io",
            version: "v1",
            namespace: namespace,
            plural: "leases",
            name: name,
            object: .object(members)
        )
        return StoredLease(object: written.json)
    }
}

/// A change in who leads, as one replica sees it.
public enum LeadershipEvent: Sendable, Equatable {
    /// This replica acquired the lease and leads from now on.
    case started
    /// This replica stopped leading: its renewals failed past renewDeadline, or it was stopped.
    case stopped
    /// Another holder was observed (empty after a release).
    case observedLeader(String)
}

/// How ``LeaseElector/run()`` ended.
public enum ElectionEnd: Sendable, Equatable {
    /// The task was cancelled (graceful shutdown); the lease was released if configured and held.
    case cancelled
    /// Leadership was lost: no renewal succeeded within renewDeadline. Stop acting; the process should exit.
    case lost
}

/// Leader election over a `coordination.k8s.io/v1` Lease with client-go's semantics.
///
/// - Candidates read the Lease every retryPeriod (with up to +120 % jitter). A Lease held by another replica is taken
///   over only when its record has not changed for `leaseDurationSeconds` **as measured on this process's monotonic
///   clock** since this process last saw it change: the timestamps written in the Lease are never compared with the
///   local clock, so clock skew between nodes cannot cause two leaders.
/// - Every write is a whole-object PUT carrying the resourceVersion last read or written; a 409 fails the attempt and
///   the next one reads again.
/// - The leader renews every retryPeriod. When no renewal succeeds within renewDeadline of the last one it stops
///   leading (``ElectionEnd/lost``). Because renewDeadline < leaseDuration, it stops before any follower may take over.
/// - On cancellation, a leader with `releaseOnCancel` first stops leading, then writes the Lease with an empty holder
///   and `leaseDurationSeconds: 1`, so a follower acquires it at its next attempt.
///
/// Fencing: ``isLeader`` turns false by itself once ``lastRenewal`` is older than renewDeadline, whatever the loop
/// is doing; act as leader (e.g. create a Restore) only right after checking it.
public final class LeaseElector: Sendable {
    private struct State {
        var leading = false
        var lastRenewal: ContinuousClock.Instant?
        var current: StoredLease?
        var observedRecord: LeaseRecord?
        var observedTime: ContinuousClock.Instant?
        var observedHolder: String?
        var subscribers: [Int: AsyncStream<LeadershipEvent>.Continuation] = [:]
        var nextSubscriber = 0
    }

    /// The configuration (validated at init).
    public let config: LeaseElectionConfig
    private let store: any LeaseStore
    private let clock = ContinuousClock()
    private let state = Mutex(State())

    /// Creates an elector; nothing happens until ``run()``.
    ///
    /// - Throws: a `LeaseElectionConfigError` naming the problem when the timings cannot work.
    public init(config: LeaseElectionConfig, store: some LeaseStore) throws(LeaseElectionConfigError) {
        if let problem = config.problem { throw LeaseElectionConfigError(description: problem) }
        self.config = config
        self.store = store
    }

    /// This replica's holder identity.
    public var identity: String { config.identity }

    /// Whether this replica leads now: it acquired the lease and its last renewal is younger than renewDeadline.
    public var isLeader: Bool {
        let now = clock.now
        return state.withLock { state in
            guard state.leading, let last = state.lastRenewal else { return false }
            return last.duration(to: now) < config.renewDeadline
        }
    }

    /// When the lease was last acquired or renewed, on the monotonic clock (the moment the successful write was
    /// started, so it never overstates freshness); nil before the first acquisition.
    public var lastRenewal: ContinuousClock.Instant? { state.withLock { $0.lastRenewal } }

    /// The holder this replica last saw in the Lease (itself included), or nil before the first read.
    public var observedLeader: String? { state.withLock { $0.observedHolder } }

    /// Leadership changes from now on, for one consumer each.
    public func events() -> AsyncStream<LeadershipEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: LeadershipEvent.self)
        let id = state.withLock { state in
            defer { state.nextSubscriber += 1 }
            state.subscribers[state.nextSubscriber] = continuation
            return state.nextSubscriber
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Campaigns, then leads until leadership is lost or the task is cancelled.
    public func run() async -> ElectionEnd {
        defer { finishSubscribers() }
        while !Task.isCancelled {
            if await attempt() { break }
            let jitter = Double.random(in: 0...1.2)
            try? await Task.sleep(for: config.retryPeriod * (1 + jitter))
        }
        guard !Task.isCancelled else {
            await stepDown(release: config.releaseOnCancel)
            return .cancelled
        }
        publish(.started)
        while !Task.isCancelled {
            try? await Task.sleep(for: config.retryPeriod)
            if Task.isCancelled { break }
            guard await renew() else {
                if Task.isCancelled { break }
                await stepDown(release: false)
                return .lost
            }
        }
        await stepDown(release: config.releaseOnCancel)
        return .cancelled
    }

    // MARK: - Steps

    /// Retries renewal until one succeeds or renewDeadline has passed since the last one.
    private func renew() async -> Bool {
        while !Task.isCancelled {
            let last = state.withLock { $0.lastRenewal } ?? clock.now
            let remaining = config.renewDeadline - last.duration(to: clock.now)
            guard remaining > .zero else { return false }
            // An attempt is cut off at the deadline: a hung request must not keep a stale leader leading.
            let renewed = await withTaskGroup(of: Bool?.self) { group in
                group.addTask { await self.attempt() }
                group.addTask {
                    try? await Task.sleep(for: remaining)
                    return nil
                }
                let first = await group.next() ?? nil
                group.cancelAll()
                return first ?? false
            }
            if renewed { return true }
            let left = config.renewDeadline - last.duration(to: clock.now)
            guard left > .zero else { return false }
            try? await Task.sleep(for: min(config.retryPeriod, left))
        }
        return false
    }

    /// One round of client-go's tryAcquireOrRenew; true when this replica holds the lease afterwards.
    private func attempt() async -> Bool {
        let started = clock.now
        let stamp = microTime(Date())
        var desired = LeaseRecord(
            holderIdentity: identity,
            leaseDurationSeconds: Int(config.leaseDuration.components.seconds),
            acquireTime: stamp,
            renewTime: stamp,
            leaseTransitions: 0
        )
        let (leading, cached) = state.withLock { ($0.leading, $0.current) }
        // Fast path for the leader: write over the Lease it wrote last, without reading first.
        if leading, let cached, cached.record.holderIdentity == identity {
            desired.acquireTime = cached.record.acquireTime
            desired.leaseTransitions = cached.record.leaseTransitions ?? 0
            if let written = try? await store.write(desired, namespace: config.namespace, name: config.name, over: cached) {
                holds(written, since: started)
                return true
            }
            if Task.isCancelled { return false }
        }
        let existing: StoredLease?
        do {
            existing = try await store.read(namespace: config.namespace, name: config.name)
        } catch {
            return false
        }
        guard let existing else {
            guard let created = try? await store.write(desired, namespace: config.namespace, name: config.name, over: nil) else { return false }
            holds(created, since: started)
            return true
        }
        let holder = existing.record.holderIdentity ?? ""
        let expired = observe(existing)
        if !holder.isEmpty, holder != identity, !expired { return false }
        if holder == identity {
            desired.acquireTime = existing.record.acquireTime
            desired.leaseTransitions = existing.record.leaseTransitions ?? 0
        } else {
            desired.leaseTransitions = (existing.record.leaseTransitions ?? 0) + 1
        }
        guard let written = try? await store.write(desired, namespace: config.namespace, name: config.name, over: existing) else { return false }
        holds(written, since: started)
        return true
    }

    /// Records a Lease read from the API; true when its record has not changed for its duration on the local clock.
    private func observe(_ lease: StoredLease) -> Bool {
        let now = clock.now
        let (expired, changedHolder) = state.withLock { state -> (Bool, String?) in
            state.current = lease
            if state.observedRecord != lease.record || state.observedTime == nil {
                state.observedRecord = lease.record
                state.observedTime = now
            }
            let holder = lease.record.holderIdentity ?? ""
            var changed: String? = nil
            if state.observedHolder != holder {
                state.observedHolder = holder
                changed = holder
            }
            let duration = Duration.seconds(lease.record.leaseDurationSeconds ?? 0)
            let expired = (state.observedTime ?? now).advanced(by: duration) <= now
            return (expired, changed)
        }
        if let changedHolder, changedHolder != identity { publish(.observedLeader(changedHolder)) }
        return expired
    }

    /// Records a successful write of this replica's record.
    private func holds(_ lease: StoredLease, since started: ContinuousClock.Instant) {
        state.withLock { state in
            state.current = lease
            state.observedRecord = lease.record
            state.observedTime = started
            state.observedHolder = identity
            state.leading = true
            state.lastRenewal = started
        }
    }

    /// Stops leading at once; then, if asked and still the holder, releases the lease.
    private func stepDown(release: Bool) async {
        let (wasLeading, cached) = state.withLock { state -> (Bool, StoredLease?) in
            defer { state.leading = false }
            return (state.leading, state.current)
        }
        if wasLeading { publish(.stopped) }
        guard release, wasLeading, let cached, cached.record.holderIdentity == identity else { return }
        // The calling task is cancelled, and a cancelled task's requests are aborted: the release runs in a task of
        // its own, awaited here, bounded by renewDeadline.
        let config = self.config
        let store = self.store
        let clock = self.clock
        await Task {
            let deadline = clock.now.advanced(by: config.renewDeadline)
            var over = cached
            while clock.now < deadline {
                let stamp = microTime(Date())
                let record = LeaseRecord(
                    holderIdentity: "",
                    leaseDurationSeconds: 1,
                    acquireTime: stamp,
                    renewTime: stamp,
                    leaseTransitions: over.record.leaseTransitions
                )
                do throws(KubernetesError) {
                    _ = try await store.write(record, namespace: config.namespace, name: config.name, over: over)
                    return
                } catch  where error == .conflict {
                    // Someone wrote in between: release only if the lease is still ours.
                    guard let fresh = try? await store.read(namespace: config.namespace, name: config.name),
                        fresh.record.holderIdentity == config.identity
                    else { return }
                    over = fresh
                } catch {
                    try? await Task.sleep(for: config.retryPeriod)
                }
            }
        }.value
    }

    private func publish(_ event: LeadershipEvent) {
        for continuation in state.withLock({ Array($0.subscribers.values) }) { continuation.yield(event) }
    }

    private func finishSubscribers() {
        let continuations = state.withLock { state in
            defer { state.subscribers.removeAll() }
            return Array(state.subscribers.values)
        }
        for continuation in continuations { continuation.finish() }
    }
}

/// Leader-election timings or names that cannot work.
public struct LeaseElectionConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong.
    public let description: String
}

/// A Kubernetes MicroTime: UTC with exactly six fractional digits (`2026-12-03T14:36:52.904113Z`), the only layout
/// the API server decodes for Lease times.
public func microTime(_ date: Date) -> String {
    let seconds = date.timeIntervalSince1970.rounded(.down)
    let micros = min(Int(((date.timeIntervalSince1970 - seconds) * 1_000_000).rounded(.down)), 999_999)
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    let whole = formatter.string(from: Date(timeIntervalSince1970: seconds))
    let digits = String(micros)
    return String(whole.dropLast()) + "." + String(repeating: "0", count: 6 - digits.count) + digits + "Z"
}
