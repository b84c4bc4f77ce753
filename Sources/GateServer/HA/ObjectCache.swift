import GateSources
import Logging
import Synchronization

/// A list+watch cache of one resource in one namespace, like client-go's informer: it lists, then watches from the
/// list's resourceVersion, lists again when the watch says the version is too old (410 Gone) or fails, and keeps each
/// object together with its decoded `Value` so readers never decode.
///
/// Every replica keeps one: it serves the API's reads without a call to the API server, and tells the engine which
/// objects another replica changed.
final class ObjectCache<Value: Sendable>: Sendable {
    /// One cached object and what it decodes to (nil when it does not, e.g. an object with no status yet).
    struct Entry: Sendable {
        var object: KubernetesObject
        var value: Value?
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var synced = false
        var listeners: [Int: AsyncStream<String>.Continuation] = [:]
        var nextListener = 0
        var lists = 0
        var lastError: String?
        /// Objects this replica deleted, with the version they had: older events of them (the watch lags) are ignored.
        var tombstones: [String: UInt64] = [:]
    }

    let client: KubernetesClient
    let group: String
    let version: String
    let namespace: String
    let plural: String
    let labelSelector: String?
    private let decode: @Sendable (KubernetesObject) -> Value?
    private let logger: Logger
    private let state = Mutex(State())

    init(
        client: KubernetesClient,
        group: String,
        version: String,
        namespace: String,
        plural: String,
        labelSelector: String? = nil,
        logger: Logger,
        decode: @escaping @Sendable (KubernetesObject) -> Value?
    ) {
        self.client = client
        self.group = group
        self.version = version
        self.namespace = namespace
        self.plural = plural
        self.labelSelector = labelSelector
        self.logger = logger
        self.decode = decode
    }

    /// Whether the first list has landed (reads before it would answer from nothing).
    var isSynced: Bool { state.withLock { $0.synced } }
    /// How many times the cache listed (1 at start; more after 410s and failed watches).
    var lists: Int { state.withLock { $0.lists } }
    /// Why the last list or watch failed, while it keeps failing; nil once one succeeded.
    var lastError: String? { state.withLock { $0.lastError } }

    /// The object named `name`.
    func entry(_ name: String) -> Entry? { state.withLock { $0.entries[name] } }
    /// Every cached object.
    var entries: [Entry] { state.withLock { Array($0.entries.values) } }

    /// Names of objects that changed (added, modified or deleted), from now on, for one consumer each.
    func changes() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(4096))
        let id = state.withLock { state in
            defer { state.nextListener += 1 }
            state.listeners[state.nextListener] = continuation
            return state.nextListener
        }
        continuation.onTermination = { [weak self] _ in self?.state.withLock { _ = $0.listeners.removeValue(forKey: id) } }
        return stream
    }

    /// Puts an object this replica just wrote, so its own next write does not start from an older version.
    func remember(_ object: KubernetesObject) { upsert(object) }

    /// Drops an object this replica just deleted, at `version` (the object's last version): later-arriving events of
    /// that version or older do not bring it back.
    func forget(_ name: String, version: String?) {
        if let version = version.flatMap(UInt64.init) { state.withLock { $0.tombstones[name] = version } }
        remove(name)
    }

    /// Lists and watches until the task is cancelled.
    func run() async {
        var backoff = Duration.milliseconds(200)
        while !Task.isCancelled {
            do {
                let snapshot = try await client.snapshot(
                    group: group,
                    version: version,
                    namespace: namespace,
                    plural: plural,
                    labelSelector: labelSelector
                )
                replaceAll(snapshot.objects)
                backoff = .milliseconds(200)
                var resourceVersion = snapshot.resourceVersion
                while !Task.isCancelled {
                    let progress = Mutex((version: resourceVersion, expired: false))
                    try await client.watch(
                        group: group,
                        version: version,
                        namespace: namespace,
                        plural: plural,
                        labelSelector: labelSelector,
                        resourceVersion: resourceVersion
                    ) { [self] event in
                        switch event {
                        case .added(let object), .modified(let object):
                            upsert(object)
                            if let version = object.resourceVersion { progress.withLock { $0.version = version } }
                        case .deleted(let object):
                            if let name = object.name { remove(name, deleted: object) }
                            if let version = object.resourceVersion { progress.withLock { $0.version = version } }
                        case .bookmark(let version):
                            if !version.isEmpty { progress.withLock { $0.version = version } }
                        case .expired:
                            progress.withLock { $0.expired = true }
                            return false
                        }
                        return true
                    }
                    let (version, expired) = progress.withLock { ($0.version, $0.expired) }
                    if expired {
                        logger.info("the watch of \(plural) expired (410 Gone); listing again")
                        break
                    }
                    resourceVersion = version
                }
            } catch {
                if Task.isCancelled { return }
                state.withLock { $0.lastError = error.description }
                logger.warning(
                    "the list+watch of \(plural) in \(namespace) failed; retrying in \(backoff): \(error)",
                    metadata: ["gate.error": .string(error.label)]
                )
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
    }

    private func replaceAll(_ objects: [KubernetesObject]) {
        var fresh: [String: Entry] = [:]
        for object in objects {
            guard let name = object.name else { continue }
            fresh[name] = Entry(object: object, value: decode(object))
        }
        state.withLock { state in
            let changed = Set(state.entries.keys).union(fresh.keys).filter { name in
                state.entries[name]?.object.resourceVersion != fresh[name]?.object.resourceVersion
            }
            state.entries = fresh
            state.synced = true
            state.lists += 1
            state.lastError = nil
            for name in changed.sorted() { for listener in state.listeners.values { listener.yield(name) } }
        }
    }

    private func upsert(_ object: KubernetesObject) {
        guard let name = object.name else { return }
        let value = decode(object)
        state.withLock { state in
            if let gone = state.tombstones[name], let incoming = object.resourceVersion.flatMap(UInt64.init) {
                if incoming <= gone { return }
                state.tombstones.removeValue(forKey: name)  // created again since
            }
            // An event older than what this replica itself wrote (the watch lags behind a write's answer) must not
            // roll the cache back. resourceVersions are opaque to clients in general; every API server backed by
            // etcd uses its revision, a number, and when either is not one the newer arrival wins.
            if let current = state.entries[name]?.object.resourceVersion.flatMap(UInt64.init),
                let incoming = object.resourceVersion.flatMap(UInt64.init), incoming < current
            {
                return
            }
            guard state.entries[name]?.object != object else { return }
            state.entries[name] = Entry(object: object, value: value)
            for listener in state.listeners.values { listener.yield(name) }
        }
    }

    private func remove(_ name: String, deleted: KubernetesObject? = nil) {
        state.withLock { state in
            // The deletion of an older object of the same name (deleted, then created again) leaves the new one.
            if let current = state.entries[name]?.object.resourceVersion.flatMap(UInt64.init),
                let gone = deleted?.resourceVersion.flatMap(UInt64.init), gone < current
            {
                return
            }
            guard state.entries.removeValue(forKey: name) != nil else { return }
            for listener in state.listeners.values { listener.yield(name) }
        }
    }
}
