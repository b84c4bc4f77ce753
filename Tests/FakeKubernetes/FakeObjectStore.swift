import Foundation
import Synchronization

/// A resource the generic object store serves, with the API server behaviour that differs between kinds.
public struct FakeResource: Sendable {
    /// The API group; empty for the core group (`/api/v1`).
    public let group: String
    /// The version, e.g. `v1`.
    public let version: String
    /// The lowercase plural, e.g. `leases`.
    public let plural: String
    /// The Kind, e.g. `Lease`.
    public let kind: String
    /// A custom resource: 415 on strategic merge, list items carry `kind`/`apiVersion`, `generation` is maintained.
    public let isCustom: Bool
    /// Whether `/status` is a subresource (the main resource then ignores `status`).
    public let hasStatusSubresource: Bool
    /// Whether PUT of a missing object creates it (Leases: yes; custom resources: no).
    public let createsOnUpdate: Bool
    let schema: OpenAPISchema?
    let validator: @Sendable (FakeJSON) -> [FieldCause]

    /// `plural.group`, or `plural` for the core group, as messages name a resource.
    public var resource: String { group.isEmpty ? plural : "\(plural).\(group)" }
    /// `group/version`, or `version` for the core group.
    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }

    /// `coordination.k8s.io/v1` Leases, validated as the API server does (`leaseDurationSeconds` > 0, transitions ≥ 0).
    public static let leases = FakeResource(
        group: "coordination.k8s.io",
        version: "v1",
        plural: "leases",
        kind: "Lease",
        isCustom: false,
        hasStatusSubresource: false,
        createsOnUpdate: true,
        schema: nil,
        validator: validateLease
    )

    /// core/v1 Events (the legacy API `kubectl describe` reads).
    public static let events = FakeResource(
        group: "",
        version: "v1",
        plural: "events",
        kind: "Event",
        isCustom: false,
        hasStatusSubresource: false,
        createsOnUpdate: false,
        schema: nil,
        validator: validateEvent
    )

    /// core/v1 ConfigMaps (the gate keeps Alertmanager groups in one), with the API server's 1 MiB limit on data.
    public static let configMaps = FakeResource(
        group: "",
        version: "v1",
        plural: "configmaps",
        kind: "ConfigMap",
        isCustom: false,
        hasStatusSubresource: false,
        createsOnUpdate: false,
        schema: nil,
        validator: validateConfigMap
    )

    /// A custom resource from its CRD: validated against its `openAPIV3Schema`, defaults applied.
    public static func custom(_ definition: CustomResourceDefinition) -> FakeResource {
        FakeResource(
            group: definition.group,
            version: definition.version,
            plural: definition.plural,
            kind: definition.kind,
            isCustom: true,
            hasStatusSubresource: definition.hasStatusSubresource,
            createsOnUpdate: false,
            schema: definition.schema,
            validator: { _ in [] }
        )
    }
}

/// Objects of ``FakeResource``s kept the way the API server keeps them: one cluster-wide resourceVersion counter,
/// optimistic concurrency, the status subresource, `generation`, merge patches, list and watch with a bounded history.
///
/// The fake API server routes requests for the resources given at start to this store (``FakeKubernetesServer/objects``).
/// What differs from a real API server is listed in ``knownDifferences``.
public final class FakeObjectStore: Sendable {
    /// Behaviour of a real API server the store does not reproduce, for reports and docs.
    public static let knownDifferences = [
        "application/json-patch+json and application/apply-patch+yaml are answered 415 (only merge patch is implemented)",
        "strategic merge patches of built-in kinds are applied as merge patches (arrays are replaced, not merged by key)",
        "a list with resourceVersionMatch=Exact at a retained older resourceVersion answers with current data",
        "label-selected watches do not send DELETED when an object stops matching",
        "managedFields are not maintained",
    ]

    struct Watcher {
        var resource: String
        var namespace: String?
        var selector: Selector
        var continuation: AsyncStream<[UInt8]>.Continuation
    }

    struct HistoryEntry {
        var resourceVersion: Int
        var resource: String
        var namespace: String
        var type: String
        var object: FakeJSON
    }

    struct State {
        // resource key ("plural.group") → "namespace/name" → object
        var objects: [String: [String: FakeJSON]] = [:]
        var history: [HistoryEntry] = []
        // Watches from a resourceVersion at or below this one are too old (410 Expired).
        var compactedThrough = 0
        var latest = 0
        var watchers: [Int: Watcher] = [:]
        var nextWatcher = 0
        var closed = false
    }

    let resources: [FakeResource]
    let state = Mutex(State())
    let settings: Mutex<Settings>

    /// Tunables for tests.
    public struct Settings: Sendable {
        /// Watch events kept for replay; older ones are compacted (a watch from before them gets 410).
        public var historyLimit = 1000
        /// How often a watch with `allowWatchBookmarks=true` gets a BOOKMARK (the real watch cache: about a minute).
        public var bookmarkInterval: Duration = .seconds(60)
        /// Lines buffered per watcher before it is closed as too slow (as the API server ends slow watchers).
        public var watchBuffer = 10_000
    }

    init(resources: [FakeResource]) {
        self.resources = resources
        self.settings = Mutex(Settings())
    }

    // MARK: - Test controls

    /// Changes the tunables.
    public func configure(_ change: (inout Settings) -> Void) {
        settings.withLock { change(&$0) }
    }

    /// Forgets the whole watch history, as etcd compaction does: every watch from an older resourceVersion gets 410.
    public func compact() {
        state.withLock { state in
            state.compactedThrough = state.latest
            state.history.removeAll()
        }
    }

    /// Ends every open watch stream (as an API server restart would); clients must re-watch.
    public func closeWatches() {
        let watchers = state.withLock { state in
            defer { state.watchers.removeAll() }
            return Array(state.watchers.values)
        }
        for watcher in watchers { watcher.continuation.finish() }
    }

    /// How many watch streams are open.
    public var watchCount: Int { state.withLock { $0.watchers.count } }

    /// One stored object, or nil.
    public func object(_ resource: FakeResource, namespace: String, name: String) -> FakeJSON? {
        state.withLock { $0.objects[resource.resource]?["\(namespace)/\(name)"] }
    }

    /// Every stored object of a resource, sorted by namespace and name.
    public func objects(_ resource: FakeResource) -> [FakeJSON] {
        state.withLock { state in (state.objects[resource.resource] ?? [:]).sorted { $0.key < $1.key }.map(\.value) }
    }

    func close() {
        state.withLock { $0.closed = true }
        closeWatches()
    }

    // MARK: - Serving

    /// Answers a request for one of the store's resources; nil when the path names none of them.
    func reply(
        method: String,
        path: String,
        query: [String: String],
        contentType: String?,
        body: [UInt8],
        forbidden: Set<String>,
        resourceVersion counter: inout Int
    ) -> FakeKubernetesServer.Reply? {
        guard let route = StoreRoute(path: path, resources: resources) else { return nil }
        let verb: String
        switch (method, route.name, route.subresource) {
        case ("GET", nil, nil): verb = isTrue(query["watch"]) ? "watch" : "list"
        case ("GET", _?, _): verb = "get"
        case ("POST", nil, nil): verb = "create"
        case ("PUT", _?, _): verb = "update"
        case ("PATCH", _?, _): verb = "patch"
        case ("DELETE", _?, nil): verb = "delete"
        default:
            return Self.failure(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        }
        let plural = route.resource.plural + (route.subresource.map { "/\($0)" } ?? "")
        if forbidden.contains("\(verb) \(plural)") {
            let scope = route.namespace.map { " in the namespace \"\($0)\"" } ?? " at the cluster scope"
            return Self.failure(
                403,
                "Forbidden",
                "\(route.resource.resource) is forbidden: User \"system:serviceaccount:upgrade-gate:upgrade-gate\" cannot \(verb) resource "
                    + "\"\(plural)\" in API group \"\(route.resource.group)\"\(scope)",
                details: ["group": .string(route.resource.group), "kind": .string(route.resource.plural)]
            )
        }
        let (reply, slow) = state.withLock { state -> (FakeKubernetesServer.Reply, [AsyncStream<[UInt8]>.Continuation]) in
            state.latest = max(state.latest, counter)
            var writer = Writer(state: state, counter: counter)
            let reply: FakeKubernetesServer.Reply
            switch verb {
            case "list": reply = list(writer.state, route: route, query: query)
            case "watch": reply = watch(&writer.state, route: route, query: query)
            case "get": reply = get(writer.state, route: route)
            case "create": reply = create(&writer, route: route, query: query, body: body)
            case "update": reply = update(&writer, route: route, query: query, body: body)
            case "patch": reply = patch(&writer, route: route, query: query, contentType: contentType, body: body)
            default: reply = delete(&writer, route: route, body: body)
            }
            state = writer.state
            counter = writer.counter
            return (reply, writer.slowWatchers)
        }
        // Outside the lock: finishing a stream runs its termination handler, which takes the lock.
        for continuation in slow { continuation.finish() }
        return reply
    }

    /// The store's state and the server's resourceVersion counter, changed together by one request.
    struct Writer {
        var state: State
        var counter: Int
        // Watchers dropped for being too slow, to be finished once the lock is released.
        var slowWatchers: [AsyncStream<[UInt8]>.Continuation] = []

        /// The next cluster-wide resourceVersion.
        mutating func next() -> Int {
            counter += 1
            state.latest = counter
            return counter
        }
    }

    // MARK: - Reads

    private func get(_ state: State, route: StoreRoute) -> FakeKubernetesServer.Reply {
        guard let name = route.name, let namespace = route.namespace else { return Self.pageNotFound }
        guard let object = state.objects[route.resource.resource]?["\(namespace)/\(name)"] else { return Self.notFound(route.resource, name) }
        return .init(status: 200, json: object)
    }

    private func list(_ state: State, route: StoreRoute, query: [String: String]) -> FakeKubernetesServer.Reply {
        let selector: Selector
        do {
            selector = try Selector(labels: query["labelSelector"], fields: query["fieldSelector"])
        } catch {
            return Self.failure(400, "BadRequest", error.message)
        }
        if query["resourceVersionMatch"] != nil, query["resourceVersion"] == nil {
            return Self.failure(
                422,
                "Invalid",
                "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"
            )
        }
        if query["resourceVersionMatch"] == "Exact", let requested = query["resourceVersion"].flatMap(Int.init), requested <= state.compactedThrough {
            return Self.failure(410, "Expired", "The resourceVersion for the provided list is too old.")
        }
        var items = (state.objects[route.resource.resource] ?? [:])
            .filter { route.namespace == nil || $0.key.hasPrefix("\(route.namespace!)/") }
            .sorted { $0.key < $1.key }
            .map(\.value)
            .filter { selector.matches($0) }
        if !route.resource.isCustom {
            // Built-in list items carry no kind or apiVersion; custom resources' do.
            items = items.map { item in
                var item = item
                item["kind"] = nil
                item["apiVersion"] = nil
                return item
            }
        }
        var metadata: [String: FakeJSON] = ["resourceVersion": .string(String(state.latest))]
        if route.resource.isCustom { metadata["continue"] = "" }
        if let limit = query["limit"].flatMap(Int.init), limit > 0 {
            let offset = query["continue"].flatMap(Int.init) ?? 0
            let page = Array(items.dropFirst(offset).prefix(limit))
            if offset + page.count < items.count {
                metadata["continue"] = .string(String(offset + page.count))
                metadata["remainingItemCount"] = .number(Double(items.count - offset - page.count))
            }
            items = page
        }
        return .init(
            status: 200,
            json: [
                "apiVersion": .string(route.resource.apiVersion), "kind": .string("\(route.resource.kind)List"), "metadata": .object(metadata),
                "items": .array(items),
            ]
        )
    }

    // MARK: - Writes

    private func create(_ writer: inout Writer, route: StoreRoute, query: [String: String], body: [UInt8]) -> FakeKubernetesServer.Reply {
        guard let namespace = route.namespace else { return Self.pageNotFound }
        let resource = route.resource
        guard case .object(var object)? = try? FakeJSON.parse(body) else { return Self.undecodable(resource) }
        if let problem = Self.typeMetaProblem(object, resource) { return problem }
        if let bodyNamespace = object["metadata"]?["namespace"]?.stringValue, bodyNamespace != namespace {
            return Self.failure(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request")
        }
        if let rv = object["metadata"]?["resourceVersion"]?.stringValue, !rv.isEmpty {
            // storage.ErrResourceVersionSetOnCreate is a plain error: the API server wraps it as an internal error.
            return Self.failure(500, "InternalError", "Internal error occurred: resourceVersion should not be set on objects to be created")
        }
        if resource.hasStatusSubresource { object["status"] = nil }
        let name = object["metadata"]?["name"]?.stringValue ?? ""
        var prepared = FakeJSON.object(object)
        if let rejected = validate(&prepared, resource: resource, name: name, query: query) { return rejected }
        let key = "\(namespace)/\(name)"
        if writer.state.objects[resource.resource]?[key] != nil { return Self.alreadyExists(resource, name) }
        var metadata = prepared["metadata"]?.objectValue ?? [:]
        metadata["namespace"] = .string(namespace)
        metadata["uid"] = .string(UUID().uuidString.lowercased())
        metadata["creationTimestamp"] = .string(rfc3339(Date()))
        if resource.isCustom { metadata["generation"] = 1 } else { metadata["generation"] = nil }
        metadata["resourceVersion"] = .string(String(writer.next()))
        prepared["metadata"] = .object(metadata)
        store(&writer, resource: resource, namespace: namespace, key: key, object: prepared, type: "ADDED")
        return .init(status: 201, json: prepared)
    }

    private func update(_ writer: inout Writer, route: StoreRoute, query: [String: String], body: [UInt8]) -> FakeKubernetesServer.Reply {
        guard let namespace = route.namespace, let name = route.name else { return Self.pageNotFound }
        let resource = route.resource
        guard case .object(let object)? = try? FakeJSON.parse(body) else { return Self.undecodable(resource) }
        if let problem = Self.typeMetaProblem(object, resource) { return problem }
        let bodyName = object["metadata"]?["name"]?.stringValue ?? ""
        if bodyName != name {
            return Self.failure(
                400,
                "BadRequest",
                "the name of the object (\(bodyName)) does not match the name on the URL (\(name))"
            )
        }
        let key = "\(namespace)/\(name)"
        guard let stored = writer.state.objects[resource.resource]?[key] else {
            guard resource.createsOnUpdate, route.subresource == nil else { return Self.notFound(resource, name) }
            return create(&writer, route: StoreRoute(resource: resource, namespace: namespace, name: nil, subresource: nil), query: query, body: body)
        }
        guard let sent = object["metadata"]?["resourceVersion"]?.stringValue, !sent.isEmpty else {
            return Self.missingResourceVersion(resource, name)
        }
        guard sent == stored["metadata"]?["resourceVersion"]?.stringValue else { return Self.conflict(resource, name) }
        return commit(&writer, route: route, stored: stored, proposed: .object(object), query: query)
    }

    private func patch(
        _ writer: inout Writer,
        route: StoreRoute,
        query: [String: String],
        contentType: String?,
        body: [UInt8]
    ) -> FakeKubernetesServer.Reply {
        guard let namespace = route.namespace, let name = route.name else { return Self.pageNotFound }
        let resource = route.resource
        let type = (contentType ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        switch type {
        case "application/merge-patch+json":
            break
        case "application/strategic-merge-patch+json" where !resource.isCustom:
            break
        default:
            let accepted =
                resource.isCustom
                ? "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
                : "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml"
            return Self.failure(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types include: \(accepted)"
            )
        }
        guard let patch = try? FakeJSON.parse(body), case .object = patch else { return Self.undecodable(resource) }
        let key = "\(namespace)/\(name)"
        guard let stored = writer.state.objects[resource.resource]?[key] else { return Self.notFound(resource, name) }
        // A patch that names a resourceVersion makes it a precondition, compared like a PUT's.
        if let sent = patch["metadata"]?["resourceVersion"]?.stringValue, sent != stored["metadata"]?["resourceVersion"]?.stringValue {
            return Self.conflict(resource, name)
        }
        let proposed = mergePatch(stored, patch)
        return commit(&writer, route: route, stored: stored, proposed: proposed, query: query)
    }

    private func delete(_ writer: inout Writer, route: StoreRoute, body: [UInt8]) -> FakeKubernetesServer.Reply {
        guard let namespace = route.namespace, let name = route.name else { return Self.pageNotFound }
        let resource = route.resource
        let key = "\(namespace)/\(name)"
        guard var stored = writer.state.objects[resource.resource]?[key] else { return Self.notFound(resource, name) }
        if !body.isEmpty, let options = try? FakeJSON.parse(body) {
            if let rv = options.value(at: "preconditions.resourceVersion")?.stringValue, rv != stored["metadata"]?["resourceVersion"]?.stringValue {
                return Self.conflict(resource, name)
            }
            if let uid = options.value(at: "preconditions.uid")?.stringValue, uid != stored["metadata"]?["uid"]?.stringValue {
                return Self.conflict(resource, name)
            }
        }
        if let finalizers = stored["metadata"]?["finalizers"]?.arrayValue, !finalizers.isEmpty {
            // Finalizers hold the object: it is only marked, and goes once the last finalizer is removed.
            guard stored["metadata"]?["deletionTimestamp"] == nil else { return .init(status: 200, json: stored) }
            var metadata = stored["metadata"]?.objectValue ?? [:]
            metadata["deletionTimestamp"] = .string(rfc3339(Date()))
            metadata["deletionGracePeriodSeconds"] = 0
            metadata["resourceVersion"] = .string(String(writer.next()))
            stored["metadata"] = .object(metadata)
            store(&writer, resource: resource, namespace: namespace, key: key, object: stored, type: "MODIFIED")
            return .init(status: 200, json: stored)
        }
        writer.state.objects[resource.resource]?[key] = nil
        var metadata = stored["metadata"]?.objectValue ?? [:]
        metadata["resourceVersion"] = .string(String(writer.next()))
        stored["metadata"] = .object(metadata)
        record(&writer, resource: resource, namespace: namespace, object: stored, type: "DELETED")
        var details: [String: FakeJSON] = ["name": .string(name), "kind": .string(resource.plural)]
        if !resource.group.isEmpty { details["group"] = .string(resource.group) }
        if let uid = stored["metadata"]?["uid"] { details["uid"] = uid }
        return .init(
            status: 200,
            json: ["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success", "details": .object(details)]
        )
    }

    /// Applies the status-subresource rules, generation and validation to a PUT or PATCH result, and stores it.
    private func commit(
        _ writer: inout Writer,
        route: StoreRoute,
        stored: FakeJSON,
        proposed: FakeJSON,
        query: [String: String]
    ) -> FakeKubernetesServer.Reply {
        let resource = route.resource
        let name = route.name ?? ""
        var next: FakeJSON
        if route.subresource == "status" {
            // Only status changes through /status; everything else, labels included, is the stored object's.
            next = stored
            next["status"] = proposed["status"]
        } else {
            next = proposed
            if resource.hasStatusSubresource { next["status"] = stored["status"] }
            // Fields the server owns are kept whatever the body says.
            var metadata = next["metadata"]?.objectValue ?? [:]
            for field in ["uid", "creationTimestamp", "namespace", "generation", "deletionTimestamp", "deletionGracePeriodSeconds"] {
                metadata[field] = stored["metadata"]?[field]
            }
            next["metadata"] = .object(metadata)
        }
        if let rejected = validate(&next, resource: resource, name: name, query: query) { return rejected }
        var comparableNext = next
        var comparableStored = stored
        comparableNext["metadata"]?["resourceVersion"] = nil
        comparableStored["metadata"]?["resourceVersion"] = nil
        // A write that changes nothing is not persisted: same resourceVersion, no watch event.
        if comparableNext == comparableStored { return .init(status: 200, json: stored) }
        var metadata = next["metadata"]?.objectValue ?? [:]
        if resource.isCustom, route.subresource == nil {
            var outsideNext = next
            var outsideStored = stored
            for field in ["metadata", "status"] where resource.hasStatusSubresource || field == "metadata" {
                outsideNext[field] = nil
                outsideStored[field] = nil
            }
            if outsideNext != outsideStored {
                metadata["generation"] = .number((stored["metadata"]?["generation"]?.numberValue ?? 0) + 1)
            }
        }
        metadata["resourceVersion"] = .string(String(writer.next()))
        next["metadata"] = .object(metadata)
        let namespace = route.namespace ?? ""
        if metadata["deletionTimestamp"] != nil, (metadata["finalizers"]?.arrayValue ?? []).isEmpty {
            // The last finalizer of an object being deleted was removed: it goes now.
            writer.state.objects[resource.resource]?["\(namespace)/\(name)"] = nil
            record(&writer, resource: resource, namespace: namespace, object: next, type: "DELETED")
            return .init(status: 200, json: next)
        }
        store(&writer, resource: resource, namespace: namespace, key: "\(namespace)/\(name)", object: next, type: "MODIFIED")
        return .init(status: 200, json: next)
    }

    /// Validates (and defaults) an object about to be stored; a reply when it is rejected.
    private func validate(_ object: inout FakeJSON, resource: FakeResource, name: String, query: [String: String]) -> FakeKubernetesServer.Reply? {
        if resource.plural == "leases", resource.group == "coordination.k8s.io" {
            // MicroTime is decoded with a fixed six-digit layout: anything else fails to decode (400, not 422).
            for field in ["acquireTime", "renewTime"] {
                if let text = object["spec"]?[field]?.stringValue, !isMicroTime(text) {
                    return Self.failure(
                        400,
                        "BadRequest",
                        "parsing time \"\(text)\" as \"2006-01-02T15:04:05.000000Z07:00\": cannot parse \"\(text.dropFirst(19))\" as \".000000\""
                    )
                }
            }
        }
        var causes: [FieldCause] = []
        var unknown: [String] = []
        ObjectMetaValidation.validate(object["metadata"], causes: &causes, unknown: &unknown)
        if let schema = resource.schema {
            object = schema.applyingDefaults(to: object)
            schema.validate(object, path: "", causes: &causes, unknown: &unknown, skipping: ["metadata"])
        } else {
            causes += resource.validator(object)
        }
        if !unknown.isEmpty {
            switch query["fieldValidation"] {
            case "Strict":
                return Self.failure(
                    400,
                    "BadRequest",
                    "\(resource.kind) in version \"\(resource.version)\" cannot be handled as a \(resource.kind): strict decoding error: "
                        + unknown.map { "unknown field \"\($0)\"" }.joined(separator: ", ")
                )
            case "Ignore", "Warn":
                for field in unknown { object = removingPath(field, from: object) }
            default:
                // Stricter than a real server (which drops them): the fake must catch misspelt fields.
                causes += unknown.map { FieldCause(reason: "FieldValueInvalid", message: "unknown field \"\($0)\"", field: $0) }
            }
        }
        guard !causes.isEmpty else { return nil }
        let distinct = causes.reduce(into: [FieldCause]()) { if !$0.contains($1) { $0.append($1) } }
        let list = distinct.count == 1 ? distinct[0].description : "[" + distinct.map(\.description).joined(separator: ", ") + "]"
        var details: [String: FakeJSON] = [
            "name": .string(name), "kind": .string(resource.kind),
            "causes": .array(distinct.map { ["reason": .string($0.reason), "message": .string($0.message), "field": .string($0.field)] }),
        ]
        if !resource.group.isEmpty { details["group"] = .string(resource.group) }
        let qualified = resource.group.isEmpty ? resource.kind : "\(resource.kind).\(resource.group)"
        return Self.failure(422, "Invalid", "\(qualified) \"\(name)\" is invalid: \(list)", details: .object(details))
    }

    private func store(_ writer: inout Writer, resource: FakeResource, namespace: String, key: String, object: FakeJSON, type: String) {
        writer.state.objects[resource.resource, default: [:]][key] = object
        record(&writer, resource: resource, namespace: namespace, object: object, type: type)
    }

    /// Appends a change to the bounded history and sends it to every matching watcher.
    private func record(_ writer: inout Writer, resource: FakeResource, namespace: String, object: FakeJSON, type: String) {
        let rv = Int(object["metadata"]?["resourceVersion"]?.stringValue ?? "") ?? writer.counter
        writer.state.history.append(HistoryEntry(resourceVersion: rv, resource: resource.resource, namespace: namespace, type: type, object: object))
        let limit = max(settings.withLock { $0.historyLimit }, 1)
        if writer.state.history.count > limit {
            let excess = writer.state.history.count - limit
            writer.state.compactedThrough = max(writer.state.compactedThrough, writer.state.history[excess - 1].resourceVersion)
            writer.state.history.removeFirst(excess)
        }
        let line = FakeWatch.line(type: type, object: object)
        for (id, watcher) in writer.state.watchers where watcher.resource == resource.resource {
            guard watcher.namespace == nil || watcher.namespace == namespace, watcher.selector.matches(object) else { continue }
            if case .dropped = watcher.continuation.yield(line) {
                // A watcher that cannot keep up is ended, as the API server ends slow watchers.
                writer.slowWatchers.append(watcher.continuation)
                writer.state.watchers[id] = nil
            }
        }
    }

    // MARK: - Status bodies

    static var pageNotFound: FakeKubernetesServer.Reply { .init(status: 404, text: "404 page not found\n") }

    static func failure(_ code: Int, _ reason: String, _ message: String, details: FakeJSON? = nil) -> FakeKubernetesServer.Reply {
        .init(status: code, json: FakeKubernetesServer.status(code: code, reason: reason, message: message, details: details))
    }

    static func objectDetails(_ resource: FakeResource, _ name: String) -> FakeJSON {
        var details: [String: FakeJSON] = ["name": .string(name), "kind": .string(resource.plural)]
        if !resource.group.isEmpty { details["group"] = .string(resource.group) }
        return .object(details)
    }

    static func notFound(_ resource: FakeResource, _ name: String) -> FakeKubernetesServer.Reply {
        failure(404, "NotFound", "\(resource.resource) \"\(name)\" not found", details: objectDetails(resource, name))
    }

    static func alreadyExists(_ resource: FakeResource, _ name: String) -> FakeKubernetesServer.Reply {
        failure(409, "AlreadyExists", "\(resource.resource) \"\(name)\" already exists", details: objectDetails(resource, name))
    }

    static func conflict(_ resource: FakeResource, _ name: String) -> FakeKubernetesServer.Reply {
        failure(
            409,
            "Conflict",
            "Operation cannot be fulfilled on \(resource.resource) \"\(name)\": the object has been modified; please apply your changes to the "
                + "latest version and try again",
            details: objectDetails(resource, name)
        )
    }

    static func missingResourceVersion(_ resource: FakeResource, _ name: String) -> FakeKubernetesServer.Reply {
        var details = objectDetails(resource, name)
        let message = "Invalid value: 0: must be specified for an update"
        details["causes"] = [["reason": "FieldValueInvalid", "message": .string(message), "field": "metadata.resourceVersion"]]
        return failure(422, "Invalid", "\(resource.resource) \"\(name)\" is invalid: metadata.resourceVersion: \(message)", details: details)
    }

    static func undecodable(_ resource: FakeResource) -> FakeKubernetesServer.Reply {
        failure(400, "BadRequest", "the body of the request was in an unknown format - accepted media types include: application/json")
    }

    static func typeMetaProblem(_ object: [String: FakeJSON], _ resource: FakeResource) -> FakeKubernetesServer.Reply? {
        guard let kind = object["kind"]?.stringValue, !kind.isEmpty else {
            return failure(400, "BadRequest", "Object 'Kind' is missing in '\(FakeJSON.object(object).text.prefix(200))'")
        }
        let apiVersion = object["apiVersion"]?.stringValue ?? ""
        guard apiVersion == resource.apiVersion, kind == resource.kind else {
            return failure(
                400,
                "BadRequest",
                "the API version in the data (\(apiVersion)) and kind (\(kind)) do not match the expected \(resource.apiVersion) \(resource.kind)"
            )
        }
        return nil
    }
}

/// RFC 7386 JSON merge patch: objects merge, `null` deletes, everything else (arrays too) replaces.
func mergePatch(_ target: FakeJSON, _ patch: FakeJSON) -> FakeJSON {
    guard case .object(let changes) = patch else { return patch }
    var members = target.objectValue ?? [:]
    for (key, value) in changes {
        if case .null = value {
            members[key] = nil
        } else {
            members[key] = mergePatch(members[key] ?? .null, value)
        }
    }
    return .object(members)
}

/// Query booleans are false only for `0` and `false` (any case), as the API server parses them.
func isTrue(_ value: String?) -> Bool {
    guard let value else { return false }
    return !["0", "false"].contains(value.lowercased())
}

/// The resource, namespace, name and subresource a path names.
struct StoreRoute {
    var resource: FakeResource
    var namespace: String?
    var name: String?
    var subresource: String?

    init(resource: FakeResource, namespace: String?, name: String?, subresource: String?) {
        self.resource = resource
        self.namespace = namespace
        self.name = name
        self.subresource = subresource
    }

    init?(path: String, resources: [FakeResource]) {
        var parts = path.split(separator: "/").map(String.init)
        let group: String
        let version: String
        if parts.first == "api", parts.count >= 2 {
            group = ""
            version = parts[1]
            parts.removeFirst(2)
        } else if parts.first == "apis", parts.count >= 3 {
            group = parts[1]
            version = parts[2]
            parts.removeFirst(3)
        } else {
            return nil
        }
        if parts.first == "namespaces", parts.count >= 3 {
            namespace = parts[1]
            parts.removeFirst(2)
        }
        guard let plural = parts.first, parts.count <= 3,
            let resource = resources.first(where: { $0.group == group && $0.version == version && $0.plural == plural })
        else { return nil }
        self.resource = resource
        name = parts.count > 1 ? parts[1] : nil
        subresource = parts.count > 2 ? parts[2] : nil
        if let subresource, subresource != "status" || !resource.hasStatusSubresource { return nil }
        if namespace == nil, name != nil { return nil }
    }
}

/// `labelSelector` (`k=v`, `k==v`, `k!=v`, `k`, `!k`) and `fieldSelector` (`path=v`, `path!=v`), comma-separated.
struct Selector: Sendable {
    struct SelectorError: Error {
        var message: String
    }

    private var labels: [(key: String, op: String, value: String)] = []
    private var fields: [(path: String, op: String, value: String)] = []

    static let everything = Selector()

    private init() {}

    init(labels labelText: String?, fields fieldText: String?) throws(SelectorError) {
        for term in Self.terms(labelText) {
            if let parts = Self.split(term) {
                labels.append((parts.0, parts.1, parts.2))
            } else if term.hasPrefix("!") {
                labels.append((String(term.dropFirst()), "absent", ""))
            } else if !term.isEmpty {
                labels.append((term, "present", ""))
            }
        }
        for term in Self.terms(fieldText) {
            guard let parts = Self.split(term) else { throw SelectorError(message: "invalid field selector: '\(term)'") }
            fields.append((parts.0, parts.1, parts.2))
        }
    }

    func matches(_ object: FakeJSON) -> Bool {
        let objectLabels = object["metadata"]?["labels"]?.objectValue ?? [:]
        for term in labels {
            let value = objectLabels[term.key]?.stringValue
            switch term.op {
            case "present": if value == nil { return false }
            case "absent": if value != nil { return false }
            case "!=": if value == term.value { return false }
            default: if value != term.value { return false }
            }
        }
        for term in fields {
            let actual: String
            switch object.value(at: term.path) {
            case .string(let text)?: actual = text
            case .number(let number)?: actual = FakeJSON.number(number).text
            default: actual = ""
            }
            if (term.op == "!=") == (actual == term.value) { return false }
        }
        return true
    }

    private static func terms(_ text: String?) -> [String] {
        (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    private static func split(_ term: String) -> (String, String, String)? {
        for op in ["!=", "==", "="] {
            if let range = term.range(of: op) {
                return (
                    String(term[..<range.lowerBound]), op == "==" ? "=" : op,
                    String(term[range.upperBound...]).replacingOccurrences(of: "\\", with: "")
                )
            }
        }
        return nil
    }
}

// MARK: - Built-in validation

/// The Lease checks of the API server's validation: positive duration, non-negative transitions, MicroTime layout.
private func validateLease(_ object: FakeJSON) -> [FieldCause] {
    var causes: [FieldCause] = []
    let spec = object["spec"]
    if let duration = spec?["leaseDurationSeconds"]?.numberValue, duration <= 0 {
        causes.append(
            FieldCause(
                reason: "FieldValueInvalid",
                message: "Invalid value: \(FakeJSON.number(duration).text): must be greater than 0",
                field: "spec.leaseDurationSeconds"
            )
        )
    }
    if let transitions = spec?["leaseTransitions"]?.numberValue, transitions < 0 {
        causes.append(
            FieldCause(
                reason: "FieldValueInvalid",
                message: "Invalid value: \(FakeJSON.number(transitions).text): must be greater than or equal to 0",
                field: "spec.leaseTransitions"
            )
        )
    }
    if spec?["preferredHolder"] != nil, spec?["strategy"] == nil {
        causes.append(
            FieldCause(
                reason: "FieldValueForbidden",
                message: "Forbidden: preferredHolder can only be set when strategy is set",
                field: "spec.preferredHolder"
            )
        )
    }
    let known: Set<String> = [
        "holderIdentity", "leaseDurationSeconds", "acquireTime", "renewTime", "leaseTransitions", "strategy", "preferredHolder",
    ]
    for key in (spec?.objectValue ?? [:]).keys.sorted() where !known.contains(key) {
        causes.append(FieldCause(reason: "FieldValueInvalid", message: "unknown field \"spec.\(key)\"", field: "spec.\(key)"))
    }
    return causes
}

/// Whether a MicroTime value has exactly six fractional digits, as Go's fixed layout demands when decoding.
func isMicroTime(_ text: String) -> Bool {
    text.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$"#, options: .regularExpression) != nil
}

/// What the API server checks on a legacy core/v1 Event.
private func validateConfigMap(_ object: FakeJSON) -> [FieldCause] {
    guard case .object(let data)? = object["data"] else { return [] }
    var size = 0
    for (key, value) in data {
        size += key.utf8.count
        if case .string(let text) = value {
            size += text.utf8.count
        } else {
            return [FieldCause(reason: "FieldValueInvalid", message: "Invalid value: must be a string", field: "data[\(key)]")]
        }
    }
    guard size <= 1 << 20 else {
        return [FieldCause(reason: "FieldValueTooLong", message: "Too long: must have at most 1048576 bytes", field: "data")]
    }
    return []
}

private func validateEvent(_ object: FakeJSON) -> [FieldCause] {
    var causes: [FieldCause] = []
    let namespace = object["metadata"]?["namespace"]?.stringValue ?? ""
    let involved = object["involvedObject"]?["namespace"]?.stringValue ?? ""
    let hasEventTime = object["eventTime"].map { $0 != .null } ?? false
    if hasEventTime {
        for field in ["reportingController", "reportingInstance", "action", "reason"] where (object[field]?.stringValue ?? "").isEmpty {
            causes.append(FieldCause(reason: "FieldValueRequired", message: "Required value", field: field))
        }
    } else if involved.isEmpty ? namespace != "default" : involved != namespace {
        causes.append(
            FieldCause(
                reason: "FieldValueInvalid",
                message: "Invalid value: \"\(involved)\": does not match event.namespace",
                field: "involvedObject.namespace"
            )
        )
    }
    if let message = object["message"]?.stringValue, hasEventTime, message.count > 1024 {
        causes.append(FieldCause(reason: "FieldValueTooLong", message: "Too long: may not be longer than 1024", field: "message"))
    }
    return causes
}

/// `json` without the field at a dotted path (`[i]` indexes arrays), as pruning drops an undeclared field.
func removingPath(_ field: String, from json: FakeJSON) -> FakeJSON {
    var parts = field.split(separator: ".").map(String.init)
    guard !parts.isEmpty, case .object(var members) = json else { return json }
    let head = parts.removeFirst()
    let name = head.split(separator: "[").first.map(String.init) ?? head
    if parts.isEmpty, !head.contains("[") {
        members[name] = nil
    } else if var child = members[name] {
        if head.contains("["), let index = Int(head.split(separator: "[").last?.dropLast() ?? ""), case .array(var elements) = child,
            elements.indices.contains(index)
        {
            if !parts.isEmpty { elements[index] = removingPath(parts.joined(separator: "."), from: elements[index]) }
            child = .array(elements)
        } else {
            child = removingPath(parts.joined(separator: "."), from: child)
        }
        members[name] = child
    }
    return .object(members)
}

extension FakeObjectStore {
    /// Leases, core/v1 Events and the repository's own custom resources (deploy/crds).
    static func standard() throws -> FakeObjectStore {
        FakeObjectStore(resources: [.leases, .events, .configMaps] + (try CustomResourceDefinition.upgradeGate()).map(FakeResource.custom))
    }

    /// The UpgradeWindow resource this store serves.
    public var upgradeWindows: FakeResource? { resources.first { $0.plural == "upgradewindows" } }
}
