import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// An in-process fake of the Kubernetes API server for Velero's custom resources and apps/v1 workloads.
///
/// It serves plain HTTP on `127.0.0.1:<free port>` and behaves as the real API server and Velero do where the gate
/// depends on it:
/// - **Authentication**: every request needs `Authorization: Bearer <current token>`; ``rotateToken(_:)`` makes the
///   old token fail with a 401 `Status`, as a rotated service-account token would.
/// - **Velero resources** (`velero.io/v1` `backups`, `restores`, from the CRD YAML): create (201 with `uid`,
///   `resourceVersion`, `creationTimestamp`; 409 `AlreadyExists`), get (200 / 404 `NotFound`), list (with `limit`
///   and `continue`). Every created body is validated against the CRD's `openAPIV3Schema` and ObjectMeta rules: a
///   violation is 422 `Invalid` with `details.causes[].field`; an undeclared field is 400 `BadRequest` under
///   `fieldValidation=Strict` (as a real server), dropped under `Ignore`/`Warn`, and 422 without the parameter
///   (stricter than a real server, which drops it: the fake must catch misspelt fields).
/// - **Velero's controller**: Backups and Restores move through scripted phases, one step per `phaseStep`
///   (default `New → InProgress → Completed`). A Backup records the seeded workloads' images when created; a
///   Restore validates its backup as Velero does (`FailedValidation` otherwise) and, when it completes with
///   `existingResourcePolicy: update`, writes those images back, except on workloads marked ``markWontRevert(_:)``.
/// - **apps/v1** `deployments`, `statefulsets`, `daemonsets`: get and list of the workloads the test seeds.
/// - **Preflight**: `/version` (``setServerVersion(_:)``), and CustomResourceDefinitions installed with ``install(_:)``
///   with their `status.storedVersions`, served at cluster scope (get, list) together with lists of their custom
///   resources (`limit`, `continue`, `remainingItemCount`).
/// - **Faults**: ``failNext(_:status:retryAfter:path:method:)``, ``stall(for:requests:afterHandling:path:)``,
///   ``forbid(verb:plural:)``. Every request is recorded (``requests``), and every stored object can be read.
///
/// Unknown paths answer `404 page not found` in plain text, as the real API server does for a resource it does
/// not serve. Call ``stop()`` when done.
///
/// ```swift
/// let server = try await FakeKubernetesServer.start(token: "t0k")
/// let account = try FakeServiceAccount(token: "t0k")            // kubernetes.tokenFile = account.tokenFile
/// server.seed(deployment: "cert-manager", namespace: "cert-manager", containers: ["controller": "cert-manager:v1.12.3"])
/// // … point the gate at server.url, open a window (Backup), upgrade:
/// server.setImage("cert-manager:v1.13.1", container: "controller", of: .init(kind: .deployment, namespace: "cert-manager", name: "cert-manager"))
/// // … make the window fail; then:
/// #expect(server.restores.count == 1)
/// await server.stop()
/// ```
public final class FakeKubernetesServer: Sendable {
    /// One request as the fake saw it.
    public struct RecordedRequest: Sendable, Equatable, CustomStringConvertible {
        /// `GET`, `POST`, …
        public var method: String
        /// The path without the query, e.g. `/apis/velero.io/v1/namespaces/velero/backups`.
        public var path: String
        /// The query parameters.
        public var query: [String: String]
        /// The status answered; 0 while the request is still in progress (stalled).
        public var status: Int
        /// Whether it carried the current token.
        public var authorized: Bool
        /// Which request it was, in arrival order (kept across ``FakeKubernetesServer/resetRequests()``).
        var serial = 0

        /// `METHOD path -> status`.
        public var description: String { "\(method) \(path) -> \(status)" }
    }

    /// How Velero moves a Backup or Restore along, scripted by the test.
    public struct PhaseScript: Sendable, Equatable {
        /// The phases in order, one per `phaseStep`; the last one stays.
        public var phases: [String]
        /// `status.failureReason` set at the last phase.
        public var failureReason: String?
        /// `status.warnings` set at the last phase (a Restore adds one per workload it could not update).
        public var warnings: Int
        /// `status.errors` set at the last phase.
        public var errors: Int

        /// Creates a script.
        public init(phases: [String], failureReason: String? = nil, warnings: Int = 0, errors: Int = 0) {
            self.phases = phases.isEmpty ? ["New"] : phases
            self.failureReason = failureReason
            self.warnings = warnings
            self.errors = errors
        }

        /// `New → InProgress → Completed`.
        public static let completes = PhaseScript(phases: ["New", "InProgress", "Completed"])
    }

    private struct Stored {
        var json: FakeJSON
        var createdAt: ContinuousClock.Instant
        var script: PhaseScript
        var settledIndex = -1
        var terminal = false
        // Backups: the workloads in scope when the backup was taken.
        var snapshot: [FakeWorkload.Key: FakeWorkload] = [:]
    }

    private struct Fault {
        var remaining: Int
        var status: Int
        var retryAfter: Int?
        var path: String?
        var method: String?
    }

    private struct Stall {
        var remaining: Int
        var duration: Duration
        var afterHandling: Bool
        var path: String?
    }

    private struct WorkloadRecord {
        var workload: FakeWorkload
        var uid: String
        var resourceVersion: Int
        var creationTimestamp: String
        var wontRevert: Bool
    }

    private struct State {
        var token: String
        var phaseStep: Duration
        var backupScript = PhaseScript.completes
        var restoreScript = PhaseScript.completes
        var resourceVersion = 1000
        // plural → "namespace/name" → object
        var objects: [String: [String: Stored]] = [:]
        var creationOrder: [String: [String]] = [:]
        var workloads: [FakeWorkload.Key: WorkloadRecord] = [:]
        var faults: [Fault] = []
        var stalls: [Stall] = []
        var forbidden: Set<String> = []
        var requests: [RecordedRequest] = []
        var nextSerial = 0
        var task: Task<Void, any Error>?
        var group: ServiceGroup?
        var port = 0
        // `/version` and installed CustomResourceDefinitions (for preflight), by CRD name.
        var gitVersion = "v1.31.4"
        var installedCRDs: [String: FakeInstalledCRD] = [:]

        mutating func nextResourceVersion() -> Int {
            resourceVersion += 1
            return resourceVersion
        }
    }

    struct Reply {
        var status: Int
        var json: FakeJSON?
        var text: String?
        var headers: [(String, String)] = []
        var watch: FakeWatchStream? = nil
    }

    private let state: Mutex<State>
    private let stopped = Atomic<Bool>(false)
    private let definitions: [CustomResourceDefinition]
    private let clock = ContinuousClock()
    /// Leases, Events and UpgradeWindows (from deploy/crds), kept as a real API server keeps objects.
    public let objects: FakeObjectStore

    private init(token: String, definitions: [CustomResourceDefinition], phaseStep: Duration, objects: FakeObjectStore) {
        self.state = Mutex(State(token: token, phaseStep: phaseStep))
        self.definitions = definitions
        self.objects = objects
    }

    deinit {
        // A server released without stop() must not keep its port: stop listening (without waiting).
        stopped.store(true, ordering: .relaxed)
        if let group = state.withLock({ $0.group }) {
            Task { await group.triggerGracefulShutdown() }
        }
    }

    /// Starts a fake API server accepting `token`, serving `crds` (default: the bundled Velero Backup and Restore CRDs).
    ///
    /// `phaseStep` is how long each scripted Velero phase lasts; `.zero` jumps to the last phase at the first read.
    public static func start(
        token: String,
        crds: [CustomResourceDefinition]? = nil,
        phaseStep: Duration = .milliseconds(100)
    ) async throws -> FakeKubernetesServer {
        let server = FakeKubernetesServer(
            token: token,
            definitions: try crds ?? CustomResourceDefinition.bundledVelero(),
            phaseStep: phaseStep,
            objects: try FakeObjectStore.standard()
        )
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let responder = CallbackResponder<BasicRequestContext> { [weak server] request, _ in
            guard let server else { return Response(status: .serviceUnavailable) }
            return await server.respond(to: request)
        }
        let app = Application(
            responder: responder,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: Logger(label: "fake-kubernetes", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        // Stopped by graceful shutdown, never by cancelling the serving task: cancelling while a
        // connection is being accepted traps in NIO ("Deinited NIOAsyncWriter without calling finish()").
        let group = ServiceGroup(
            configuration: .init(
                services: [app],
                gracefulShutdownSignals: [],
                logger: Logger(label: "fake-kubernetes", factory: { _ in SwiftLogNoOpLogHandler() })
            )
        )
        let task = Task {
            defer { portContinuation.finish() }
            try await group.run()
        }
        var port = 0
        for await bound in portStream { port = bound }
        server.state.withLock {
            $0.task = task
            $0.group = group
            $0.port = port
        }
        guard port != 0 else {
            await group.triggerGracefulShutdown()
            _ = try? await task.value
            throw CustomResourceDefinition.LoadError(description: "the fake Kubernetes API server did not start")
        }
        return server
    }

    /// Stops serving; stalled requests are released at once.
    public func stop() async {
        stopped.store(true, ordering: .relaxed)
        objects.close()
        let (task, group) = state.withLock { ($0.task, $0.group) }
        await group?.triggerGracefulShutdown()
        _ = try? await task?.value
    }

    // MARK: - Test controls

    /// The port on 127.0.0.1.
    public var port: Int { state.withLock { $0.port } }

    /// `http://127.0.0.1:<port>`, the `apiServer` for clients.
    public var url: String { "http://127.0.0.1:\(port)" }

    /// The token currently accepted.
    public var token: String { state.withLock { $0.token } }

    /// Accepts only `token` from now on, as after a service-account token rotation.
    public func rotateToken(_ token: String) {
        state.withLock { $0.token = token }
    }

    /// Adds or replaces a workload.
    public func seed(_ workload: FakeWorkload) {
        state.withLock { state in
            let existing = state.workloads[workload.key]
            let record = WorkloadRecord(
                workload: workload,
                uid: existing?.uid ?? UUID().uuidString.lowercased(),
                resourceVersion: state.nextResourceVersion(),
                creationTimestamp: existing?.creationTimestamp ?? rfc3339(Date()),
                wontRevert: existing?.wontRevert ?? false
            )
            state.workloads[workload.key] = record
        }
    }

    /// Seeds a Deployment with containers `name → image`.
    public func seed(deployment name: String, namespace: String, containers: [String: String]) {
        seed(FakeWorkload(kind: .deployment, namespace: namespace, name: name, containers: sortedContainers(containers)))
    }

    /// Seeds a StatefulSet with containers `name → image`.
    public func seed(statefulSet name: String, namespace: String, containers: [String: String]) {
        seed(FakeWorkload(kind: .statefulSet, namespace: namespace, name: name, containers: sortedContainers(containers)))
    }

    /// Seeds a DaemonSet with containers `name → image`.
    public func seed(daemonSet name: String, namespace: String, containers: [String: String]) {
        seed(FakeWorkload(kind: .daemonSet, namespace: namespace, name: name, containers: sortedContainers(containers)))
    }

    /// Changes one container's image, as an upgrade does; returns false when there is no such workload or container.
    @discardableResult
    public func setImage(_ image: String, container: String, of key: FakeWorkload.Key) -> Bool {
        state.withLock { state in
            guard var record = state.workloads[key] else { return false }
            guard record.workload.setImage(image, container: container) else { return false }
            record.resourceVersion = state.nextResourceVersion()
            state.workloads[key] = record
            return true
        }
    }

    /// Makes restores leave this workload as it is (Velero's `update` policy is best-effort): its images stay.
    public func markWontRevert(_ key: FakeWorkload.Key) {
        state.withLock { $0.workloads[key]?.wontRevert = true }
    }

    /// A workload as it is now (after any restore that has completed).
    public func workload(_ key: FakeWorkload.Key) -> FakeWorkload? {
        settleNow()
        return state.withLock { $0.workloads[key]?.workload }
    }

    /// Answers the next `count` matching requests with `status` and a `Status` body, before authentication.
    ///
    /// `retryAfter` adds a `Retry-After` header (seconds) and `details.retryAfterSeconds`; `path` matches a path
    /// prefix, `method` a method; `nil` matches all. Use `Int.max` for "until ``clearFailures()``".
    public func failNext(_ count: Int, status: Int = 500, retryAfter: Int? = nil, path: String? = nil, method: String? = nil) {
        state.withLock { $0.faults.append(Fault(remaining: count, status: status, retryAfter: retryAfter, path: path, method: method)) }
    }

    /// Removes every pending failure and stall.
    public func clearFailures() {
        state.withLock {
            $0.faults.removeAll()
            $0.stalls.removeAll()
        }
    }

    /// Holds the next `requests` matching requests open for `duration` without answering.
    ///
    /// With `afterHandling`, the request is carried out first (a create stores its object) and only the answer is
    /// held back: the client's retry then meets what its lost attempt did (409 `AlreadyExists`).
    public func stall(for duration: Duration, requests: Int = 1, afterHandling: Bool = false, path: String? = nil) {
        state.withLock { $0.stalls.append(Stall(remaining: requests, duration: duration, afterHandling: afterHandling, path: path)) }
    }

    /// Denies `verb` (`create`, `get`, `list`) on `plural` with a 403 RBAC `Status`, as a missing Role would.
    public func forbid(verb: String, plural: String) {
        state.withLock { _ = $0.forbidden.insert("\(verb) \(plural)") }
    }

    /// Removes every ``forbid(verb:plural:)`` denial.
    public func clearForbidden() {
        state.withLock { $0.forbidden.removeAll() }
    }

    /// Makes `/version` report `gitVersion` (default `v1.31.4`).
    public func setServerVersion(_ gitVersion: String) {
        state.withLock { $0.gitVersion = gitVersion }
    }

    /// Installs (or replaces) a CustomResourceDefinition with its `status.storedVersions` and a number of objects.
    public func install(_ crd: FakeInstalledCRD) {
        state.withLock { $0.installedCRDs[crd.name] = crd }
    }

    /// Phases of Backups created from now on, e.g. `["New", "InProgress", "Failed"]`.
    public func scriptBackupPhases(_ phases: [String], failureReason: String? = nil, warnings: Int = 0, errors: Int = 0) {
        state.withLock { $0.backupScript = PhaseScript(phases: phases, failureReason: failureReason, warnings: warnings, errors: errors) }
    }

    /// Phases of Restores created from now on, e.g. `["New", "InProgress", "PartiallyFailed"]`.
    public func scriptRestorePhases(_ phases: [String], failureReason: String? = nil, warnings: Int = 0, errors: Int = 0) {
        state.withLock { $0.restoreScript = PhaseScript(phases: phases, failureReason: failureReason, warnings: warnings, errors: errors) }
    }

    /// Changes how long each scripted phase lasts, for objects created from now on and those in flight.
    public func setPhaseStep(_ step: Duration) {
        state.withLock { $0.phaseStep = step }
    }

    /// Every stored Backup, oldest first, with its current status.
    public var backups: [FakeJSON] { objects(plural: "backups") }

    /// Every stored Restore, oldest first, with its current status.
    public var restores: [FakeJSON] { objects(plural: "restores") }

    /// Every stored object of a custom resource, oldest first, with its current status.
    public func objects(plural: String) -> [FakeJSON] {
        settleNow()
        return state.withLock { state in
            (state.creationOrder[plural] ?? []).compactMap { state.objects[plural]?[$0]?.json }
        }
    }

    /// One stored object, or nil.
    public func object(plural: String, namespace: String, name: String) -> FakeJSON? {
        settleNow()
        return state.withLock { $0.objects[plural]?["\(namespace)/\(name)"]?.json }
    }

    /// Every request so far, in arrival order.
    public var requests: [RecordedRequest] { state.withLock { $0.requests } }

    /// How many requests matched `method` and `path` (a prefix); `nil` matches all.
    public func requestCount(method: String? = nil, path: String? = nil) -> Int {
        state.withLock { state in
            state.requests.count { request in
                (method == nil || request.method == method) && (path.map { request.path.hasPrefix($0) } ?? true)
            }
        }
    }

    /// Forgets the recorded requests.
    public func resetRequests() {
        state.withLock { $0.requests.removeAll() }
    }

    // MARK: - Serving

    private func respond(to incoming: Request) async -> Response {
        var request = incoming
        let path = request.uri.path
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
        let method = request.method.rawValue
        let authorization = request.headers[.authorization]
        let body = (try? await request.collectBody(upTo: 8 << 20)).map { Array($0.readableBytesView) } ?? []

        let (serial, stall) = state.withLock { state -> (Int, Stall?) in
            state.nextSerial += 1
            var recorded = RecordedRequest(method: method, path: path, query: query, status: 0, authorized: authorization == "Bearer \(state.token)")
            recorded.serial = state.nextSerial
            state.requests.append(recorded)
            return (state.nextSerial, Self.takeStall(&state.stalls, path: path))
        }
        if let stall, !stall.afterHandling { await pause(stall.duration) }
        let reply = handle(
            method: method,
            path: path,
            query: query,
            authorization: authorization,
            body: body,
            contentType: request.headers[.contentType]
        )
        if let stall, stall.afterHandling { await pause(stall.duration) }
        // Found by serial: the test may have reset the list while this request was in flight.
        state.withLock { state in
            if let index = state.requests.lastIndex(where: { $0.serial == serial }) { state.requests[index].status = reply.status }
        }
        if let watch = reply.watch { return watch.response() }

        var headers = HTTPFields()
        let bytes: [UInt8]
        if let json = reply.json {
            headers[.contentType] = "application/json"
            bytes = json.encoded()
        } else {
            headers[.contentType] = "text/plain; charset=utf-8"
            bytes = Array((reply.text ?? "").utf8)
        }
        for (name, value) in reply.headers {
            // HTTPField's type is inferred, so this target needs no direct swift-http-types dependency; the names are
            // this file's constants (Retry-After, Warning), valid header tokens.
            headers.append(.init(name: .init(name)!, value: value))
        }
        return Response(status: .init(code: reply.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    private static func takeStall(_ stalls: inout [Stall], path: String) -> Stall? {
        guard let index = stalls.firstIndex(where: { $0.remaining > 0 && ($0.path.map { path.hasPrefix($0) } ?? true) }) else { return nil }
        stalls[index].remaining -= 1
        return stalls[index]
    }

    /// Sleeps `duration`, or less when the server stops.
    private func pause(_ duration: Duration) async {
        let end = clock.now.advanced(by: duration)
        while clock.now < end, !stopped.load(ordering: .relaxed) {
            try? await Task.sleep(for: min(.milliseconds(20), clock.now.duration(to: end)))
        }
    }

    private func handle(
        method: String,
        path: String,
        query: [String: String],
        authorization: String?,
        body: [UInt8],
        contentType: String? = nil
    ) -> Reply {
        let now = clock.now
        return state.withLock { state -> Reply in
            settle(&state, now: now)
            if let index = state.faults.firstIndex(where: { fault in
                fault.remaining > 0 && (fault.path.map { path.hasPrefix($0) } ?? true) && (fault.method.map { $0 == method } ?? true)
            }) {
                state.faults[index].remaining -= 1
                return Self.injected(state.faults[index])
            }
            if authorization == "Bearer \(state.token)",
                let reply = objects.reply(
                    method: method,
                    path: path,
                    query: query,
                    contentType: contentType,
                    body: body,
                    forbidden: state.forbidden,
                    resourceVersion: &state.resourceVersion
                )
            {
                return reply
            }
            guard authorization == "Bearer \(state.token)" else {
                return Reply(status: 401, json: Self.status(code: 401, reason: "Unauthorized", message: "Unauthorized"))
            }
            if let reply = Self.discoveryReply(&state, method: method, path: path, query: query) { return reply }
            guard let route = Route(path: path, definitions: definitions) else {
                return Reply(status: 404, text: "404 page not found\n")
            }
            let verb: String
            switch (method, route.name) {
            case ("GET", nil): verb = "list"
            case ("GET", _?): verb = "get"
            case ("POST", nil): verb = "create"
            default:
                return Reply(
                    status: 405,
                    json: Self.status(
                        code: 405,
                        reason: "MethodNotAllowed",
                        message: "the server does not allow this method on the requested resource"
                    )
                )
            }
            if state.forbidden.contains("\(verb) \(route.plural)") {
                let scope = route.namespace.map { " in the namespace \"\($0)\"" } ?? " at the cluster scope"
                let message =
                    "\(route.resource) is forbidden: User \"system:serviceaccount:upgrade-gate:upgrade-gate\" cannot \(verb) resource "
                    + "\"\(route.plural)\" in API group \"\(route.group)\"\(scope)"
                return Reply(
                    status: 403,
                    json: Self.status(
                        code: 403,
                        reason: "Forbidden",
                        message: message,
                        details: ["group": .string(route.group), "kind": .string(route.plural)]
                    )
                )
            }
            switch verb {
            case "list": return list(&state, route: route, query: query)
            case "get": return get(&state, route: route)
            default: return create(&state, route: route, query: query, body: body, now: now)
            }
        }
    }

    /// `/version`, installed CRDs (get, list) and lists of their custom resources; nil for every other path.
    private static func discoveryReply(_ state: inout State, method: String, path: String, query: [String: String]) -> Reply? {
        guard method == "GET" else { return nil }
        if path == "/version" {
            let parts = state.gitVersion.dropFirst().split(separator: ".")
            return Reply(
                status: 200,
                json: [
                    "major": .string(parts.first.map(String.init) ?? ""), "minor": .string(parts.count > 1 ? String(parts[1]) : ""),
                    "gitVersion": .string(state.gitVersion), "platform": "linux/amd64",
                ]
            )
        }
        let crdPath = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
        if path == crdPath || path.hasPrefix(crdPath + "/") {
            let name = path == crdPath ? nil : String(path.dropFirst(crdPath.count + 1))
            let verb = name == nil ? "list" : "get"
            if state.forbidden.contains("\(verb) customresourcedefinitions") {
                return Reply(
                    status: 403,
                    json: status(
                        code: 403,
                        reason: "Forbidden",
                        message:
                            "customresourcedefinitions.apiextensions.k8s.io is forbidden: User \"system:serviceaccount:upgrade-gate:upgrade-gate\" "
                            + "cannot \(verb) resource \"customresourcedefinitions\" in API group \"apiextensions.k8s.io\" at the cluster scope"
                    )
                )
            }
            let version = state.resourceVersion
            if let name {
                guard let crd = state.installedCRDs[name] else {
                    return Reply(
                        status: 404,
                        json: status(
                            code: 404,
                            reason: "NotFound",
                            message: "customresourcedefinitions.apiextensions.k8s.io \"\(name)\" not found",
                            details: ["name": .string(name), "group": "apiextensions.k8s.io", "kind": "customresourcedefinitions"]
                        )
                    )
                }
                return Reply(status: 200, json: crd.json(uid: "uid-crd-\(name)", resourceVersion: version))
            }
            let items = state.installedCRDs.values.sorted { $0.name < $1.name }.map { $0.json(uid: "uid-crd-\($0.name)", resourceVersion: version) }
            return Reply(
                status: 200,
                json: [
                    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinitionList",
                    "metadata": ["resourceVersion": .string(String(version))], "items": .array(items),
                ]
            )
        }
        // A list of an installed CRD's resources across all namespaces: /apis/GROUP/VERSION/PLURAL.
        let parts = path.split(separator: "/").map(String.init)
        guard parts.count == 4, parts[0] == "apis",
            let crd = state.installedCRDs.values.first(where: { $0.group == parts[1] && $0.plural == parts[3] }),
            crd.versions.contains(where: { $0.name == parts[2] && $0.served })
        else { return nil }
        let offset = query["continue"].flatMap(Int.init) ?? 0
        let limit = query["limit"].flatMap(Int.init).map { max($0, 1) } ?? crd.objects
        let end = min(crd.objects, offset + limit)
        var metadata: [String: FakeJSON] = ["resourceVersion": .string(String(state.resourceVersion))]
        if end < crd.objects {
            metadata["continue"] = .string(String(end))
            metadata["remainingItemCount"] = .number(Double(crd.objects - end))
        }
        return Reply(
            status: 200,
            json: [
                "apiVersion": .string("\(crd.group)/\(parts[2])"), "kind": .string("\(crd.kind)List"), "metadata": .object(metadata),
                "items": .array((offset..<max(end, offset)).map { crd.item($0, version: parts[2]) }),
            ]
        )
    }

    private func get(_ state: inout State, route: Route) -> Reply {
        guard let namespace = route.namespace, let name = route.name else { return Reply(status: 404, text: "404 page not found\n") }
        if let kind = route.workloadKind {
            guard let record = state.workloads[FakeWorkload.Key(kind: kind, namespace: namespace, name: name)] else {
                return Self.notFound(route, name: name)
            }
            return Reply(status: 200, json: Self.render(record, includeTypeMeta: true))
        }
        guard let stored = state.objects[route.plural]?["\(namespace)/\(name)"] else { return Self.notFound(route, name: name) }
        return Reply(status: 200, json: stored.json)
    }

    private func list(_ state: inout State, route: Route, query: [String: String]) -> Reply {
        var items: [FakeJSON]
        let listKind: String
        if let kind = route.workloadKind {
            items = state.workloads.values
                .filter { $0.workload.kind == kind && (route.namespace == nil || $0.workload.namespace == route.namespace) }
                .sorted { ($0.workload.namespace, $0.workload.name) < ($1.workload.namespace, $1.workload.name) }
                .map { Self.render($0, includeTypeMeta: false) }
            listKind = "\(kind.rawValue)List"
        } else {
            items = (state.objects[route.plural] ?? [:])
                .filter { route.namespace == nil || $0.key.hasPrefix("\(route.namespace!)/") }
                .sorted { $0.key < $1.key }
                .map(\.value.json)
            listKind = "\(route.definition?.kind ?? "")List"
        }
        var metadata: [String: FakeJSON] = ["resourceVersion": .string(String(state.resourceVersion))]
        if let limit = query["limit"].flatMap(Int.init), limit > 0 {
            let offset = query["continue"].flatMap(Int.init) ?? 0
            let page = Array(items.dropFirst(offset).prefix(limit))
            if offset + page.count < items.count {
                metadata["continue"] = .string(String(offset + page.count))
                metadata["remainingItemCount"] = .number(Double(items.count - offset - page.count))
            }
            items = page
        }
        return Reply(
            status: 200,
            json: [
                "apiVersion": .string("\(route.group)/\(route.version)"), "kind": .string(listKind), "metadata": .object(metadata),
                "items": .array(items),
            ]
        )
    }

    private func create(_ state: inout State, route: Route, query: [String: String], body: [UInt8], now: ContinuousClock.Instant) -> Reply {
        guard let definition = route.definition, let namespace = route.namespace else {
            return Reply(
                status: 405,
                json: Self.status(
                    code: 405,
                    reason: "MethodNotAllowed",
                    message: "the fake serves \(route.resource) read-only; seed workloads instead"
                )
            )
        }
        guard case .object(var object)? = try? FakeJSON.parse(body) else {
            return Reply(
                status: 400,
                json: Self.status(
                    code: 400,
                    reason: "BadRequest",
                    message: "the body of the request was in an unknown format - accepted media types include: application/json"
                )
            )
        }
        guard let kind = object["kind"]?.stringValue, !kind.isEmpty else {
            return Reply(
                status: 400,
                json: Self.status(
                    code: 400,
                    reason: "BadRequest",
                    message: "Object 'Kind' is missing in '\(FakeJSON.object(object).text.prefix(200))'"
                )
            )
        }
        let apiVersion = object["apiVersion"]?.stringValue ?? ""
        guard apiVersion == definition.apiVersion, kind == definition.kind else {
            return Reply(
                status: 400,
                json: Self.status(
                    code: 400,
                    reason: "BadRequest",
                    message: "the API version in the data (\(apiVersion)) and kind (\(kind)) do not match the expected "
                        + "\(definition.apiVersion) \(definition.kind)"
                )
            )
        }
        if let bodyNamespace = object["metadata"]?["namespace"]?.stringValue, bodyNamespace != namespace {
            return Reply(
                status: 400,
                json: Self.status(
                    code: 400,
                    reason: "BadRequest",
                    message: "the namespace of the provided object does not match the namespace sent on the request"
                )
            )
        }

        var causes: [FieldCause] = []
        var unknown: [String] = []
        ObjectMetaValidation.validate(object["metadata"], causes: &causes, unknown: &unknown)
        definition.schema.validate(.object(object), path: "", causes: &causes, unknown: &unknown, skipping: ["metadata"])
        let name = object["metadata"]?["name"]?.stringValue ?? ""
        var headers: [(String, String)] = []
        if !unknown.isEmpty {
            let unknownCauses = unknown.map { FieldCause(reason: "FieldValueInvalid", message: "unknown field \"\($0)\"", field: $0) }
            switch query["fieldValidation"] {
            case "Strict":
                let message =
                    "\(definition.kind) in version \"\(definition.version)\" cannot be handled as a \(definition.kind): strict decoding error: "
                    + unknown.map { "unknown field \"\($0)\"" }.joined(separator: ", ")
                return Reply(
                    status: 400,
                    json: Self.status(
                        code: 400,
                        reason: "BadRequest",
                        message: message,
                        details: Self.details(definition, name: name, causes: unknownCauses)
                    )
                )
            case "Ignore", "Warn":
                for field in unknown { object = Self.removing(field, from: .object(object)).objectValue ?? object }
                if query["fieldValidation"] == "Warn" { headers = unknown.map { ("Warning", "299 - \"unknown field \\\"\($0)\\\"\"") } }
            default:
                causes += unknownCauses
            }
        }
        if !causes.isEmpty {
            let list = causes.count == 1 ? causes[0].description : "[" + causes.map(\.description).joined(separator: ", ") + "]"
            return Reply(
                status: 422,
                json: Self.status(
                    code: 422,
                    reason: "Invalid",
                    message: "\(definition.kind).\(definition.group) \"\(name)\" is invalid: \(list)",
                    details: Self.details(definition, name: name, causes: causes)
                )
            )
        }
        let key = "\(namespace)/\(name)"
        if state.objects[route.plural]?[key] != nil {
            return Reply(
                status: 409,
                json: Self.status(
                    code: 409,
                    reason: "AlreadyExists",
                    message: "\(route.resource) \"\(name)\" already exists",
                    details: ["name": .string(name), "group": .string(definition.group), "kind": .string(definition.plural)]
                )
            )
        }

        var metadata = object["metadata"]?.objectValue ?? [:]
        metadata["namespace"] = .string(namespace)
        metadata["uid"] = .string(UUID().uuidString.lowercased())
        metadata["resourceVersion"] = .string(String(state.nextResourceVersion()))
        metadata["generation"] = 1
        metadata["creationTimestamp"] = .string(rfc3339(Date()))
        object["metadata"] = .object(metadata)
        let created = FakeJSON.object(object)
        var stored = Stored(json: created, createdAt: now, script: route.plural == "restores" ? state.restoreScript : state.backupScript)
        if route.plural == "backups" { stored.snapshot = Self.snapshot(state.workloads, spec: created["spec"]) }
        state.objects[route.plural, default: [:]][key] = stored
        state.creationOrder[route.plural, default: []].append(key)
        return Reply(status: 201, json: created, headers: headers)
    }

    // MARK: - Velero's controller

    private func settleNow() {
        let now = clock.now
        state.withLock { settle(&$0, now: now) }
    }

    /// Moves every Backup and Restore to the phase its script reaches at `now`, with Velero's side effects.
    private func settle(_ state: inout State, now: ContinuousClock.Instant) {
        for plural in ["backups", "restores"] {
            for key in state.creationOrder[plural] ?? [] {
                guard var stored = state.objects[plural]?[key], !stored.terminal else { continue }
                let last = stored.script.phases.count - 1
                let elapsed = stored.createdAt.duration(to: now)
                let target = state.phaseStep <= .zero ? last : min(Int(elapsed / state.phaseStep), last)
                guard target > stored.settledIndex else { continue }
                stored.settledIndex = target
                var status = stored.json["status"]?.objectValue ?? [:]
                status["phase"] = .string(stored.script.phases[target])
                if target > 0, status["startTimestamp"] == nil { status["startTimestamp"] = .string(rfc3339(Date())) }
                if plural == "restores", target > 0, let problem = restoreValidationProblem(state, restore: stored.json) {
                    status["phase"] = "FailedValidation"
                    status["validationErrors"] = [.string(problem)]
                    stored.terminal = true
                } else if target == last {
                    stored.terminal = true
                    status["completionTimestamp"] = .string(rfc3339(Date()))
                    status["errors"] = .number(Double(stored.script.errors))
                    var warnings = stored.script.warnings
                    if let reason = stored.script.failureReason { status["failureReason"] = .string(reason) }
                    if plural == "restores", ["Completed", "PartiallyFailed"].contains(stored.script.phases[last]) {
                        warnings += applyRestore(&state, restore: stored.json)
                    }
                    status["warnings"] = .number(Double(warnings))
                }
                stored.json["status"] = .object(status)
                state.objects[plural]?[key] = stored
            }
        }
    }

    /// Why Velero would refuse this Restore, or nil.
    private func restoreValidationProblem(_ state: State, restore: FakeJSON) -> String? {
        let namespace = restore["metadata"]?["namespace"]?.stringValue ?? ""
        let backupName = restore.value(at: "spec.backupName")?.stringValue ?? ""
        if backupName.isEmpty { return "BackupName must be non-empty and correspond to the name of a backup in object storage" }
        guard let backup = state.objects["backups"]?["\(namespace)/\(backupName)"] else {
            return "Error retrieving backup: backups.velero.io \"\(backupName)\" not found"
        }
        let phase = backup.json.value(at: "status.phase")?.stringValue ?? ""
        if !backup.terminal || !["Completed", "PartiallyFailed"].contains(phase) {
            return "backup \"\(backupName)\" is in phase \(phase.isEmpty ? "New" : phase), not Completed or PartiallyFailed"
        }
        if let policy = restore.value(at: "spec.existingResourcePolicy")?.stringValue, !["", "none", "update"].contains(policy) {
            return "Invalid existing resource policy \(policy)"
        }
        return nil
    }

    /// Restores the backed-up workloads; returns the warnings Velero would log (objects it left as they are).
    private func applyRestore(_ state: inout State, restore: FakeJSON) -> Int {
        let namespace = restore["metadata"]?["namespace"]?.stringValue ?? ""
        let backupName = restore.value(at: "spec.backupName")?.stringValue ?? ""
        guard let backup = state.objects["backups"]?["\(namespace)/\(backupName)"] else { return 0 }
        let included = Set(restore.value(at: "spec.includedNamespaces")?.arrayValue?.compactMap(\.stringValue) ?? [])
        let update = restore.value(at: "spec.existingResourcePolicy")?.stringValue == "update"
        var warnings = 0
        for (key, saved) in backup.snapshot.sorted(by: { $0.key.description < $1.key.description }) {
            guard included.isEmpty || included.contains("*") || included.contains(key.namespace) else { continue }
            guard var record = state.workloads[key] else {
                // Missing objects are created from the backup whatever the policy.
                state.workloads[key] = WorkloadRecord(
                    workload: saved,
                    uid: UUID().uuidString.lowercased(),
                    resourceVersion: state.nextResourceVersion(),
                    creationTimestamp: rfc3339(Date()),
                    wontRevert: false
                )
                continue
            }
            if record.workload == saved { continue }
            // Velero skips objects that exist unless the policy is update, and a failed patch leaves one as it is.
            guard update, !record.wontRevert else {
                warnings += 1
                continue
            }
            record.workload = saved
            record.resourceVersion = state.nextResourceVersion()
            state.workloads[key] = record
        }
        return warnings
    }

    /// The workloads a Backup with `spec` captures.
    private static func snapshot(_ workloads: [FakeWorkload.Key: WorkloadRecord], spec: FakeJSON?) -> [FakeWorkload.Key: FakeWorkload] {
        let included = Set(spec?["includedNamespaces"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        let excluded = Set(spec?["excludedNamespaces"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        var captured: [FakeWorkload.Key: FakeWorkload] = [:]
        for (key, record) in workloads
        where (included.isEmpty || included.contains("*") || included.contains(key.namespace)) && !excluded.contains(key.namespace) {
            captured[key] = record.workload
        }
        return captured
    }

    // MARK: - Bodies

    private static func render(_ record: WorkloadRecord, includeTypeMeta: Bool) -> FakeJSON {
        record.workload.json(
            uid: record.uid,
            resourceVersion: record.resourceVersion,
            creationTimestamp: record.creationTimestamp,
            includeTypeMeta: includeTypeMeta
        )
    }

    private static func notFound(_ route: Route, name: String) -> Reply {
        Reply(
            status: 404,
            json: status(
                code: 404,
                reason: "NotFound",
                message: "\(route.resource) \"\(name)\" not found",
                details: ["name": .string(name), "group": .string(route.group), "kind": .string(route.plural)]
            )
        )
    }

    private static func details(_ definition: CustomResourceDefinition, name: String, causes: [FieldCause]) -> FakeJSON {
        [
            "name": .string(name), "group": .string(definition.group), "kind": .string(definition.kind),
            "causes": .array(causes.map { ["reason": .string($0.reason), "message": .string($0.message), "field": .string($0.field)] }),
        ]
    }

    private static func injected(_ fault: Fault) -> Reply {
        let (reason, message): (String, String) =
            switch fault.status {
            case 429: ("TooManyRequests", "Too many requests, please try again later.")
            case 500: ("InternalError", "Internal error occurred: injected failure")
            case 503: ("ServiceUnavailable", "The server is currently unable to handle the request")
            case 504: ("Timeout", "Timeout: request did not complete within the allowed duration")
            default: ("", "injected failure")
            }
        var details: FakeJSON? = nil
        var headers: [(String, String)] = []
        if let retryAfter = fault.retryAfter {
            details = ["retryAfterSeconds": .number(Double(retryAfter))]
            headers.append(("Retry-After", String(retryAfter)))
        }
        return Reply(status: fault.status, json: status(code: fault.status, reason: reason, message: message, details: details), headers: headers)
    }

    /// A `meta/v1 Status` failure body.
    static func status(code: Int, reason: String, message: String, details: FakeJSON? = nil) -> FakeJSON {
        var body: [String: FakeJSON] = [
            "kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Failure", "message": .string(message), "code": .number(Double(code)),
        ]
        if !reason.isEmpty { body["reason"] = .string(reason) }
        if let details { body["details"] = details }
        return .object(body)
    }

    private static func removing(_ field: String, from json: FakeJSON) -> FakeJSON {
        // Unknown-field paths from the validator are dotted, with [i] for array elements.
        var parts = field.split(separator: ".").map(String.init)
        guard !parts.isEmpty else { return json }
        let head = parts.removeFirst()
        let name = head.split(separator: "[").first.map(String.init) ?? head
        guard case .object(var members) = json else { return json }
        if parts.isEmpty, !head.contains("[") {
            members.removeValue(forKey: name)
        } else if var child = members[name] {
            if head.contains("["), let index = Int(head.split(separator: "[").last?.dropLast() ?? ""), case .array(var elements) = child,
                elements.indices.contains(index)
            {
                elements[index] = parts.isEmpty ? elements[index] : removing(parts.joined(separator: "."), from: elements[index])
                child = .array(elements)
            } else {
                child = removing(parts.joined(separator: "."), from: child)
            }
            members[name] = child
        }
        return .object(members)
    }
}

/// The resource a path names.
private struct Route {
    var group: String
    var version: String
    var namespace: String?
    var plural: String
    var name: String?
    var definition: CustomResourceDefinition?
    var workloadKind: WorkloadKind?

    /// `plural.group`.
    var resource: String { "\(plural).\(group)" }

    init?(path: String, definitions: [CustomResourceDefinition]) {
        let parts = path.split(separator: "/").map(String.init)
        guard parts.count >= 4, parts[0] == "apis" else { return nil }
        group = parts[1]
        version = parts[2]
        switch parts.count {
        case 4:
            plural = parts[3]
        case 6 where parts[3] == "namespaces":
            namespace = parts[4]
            plural = parts[5]
        case 7 where parts[3] == "namespaces":
            namespace = parts[4]
            plural = parts[5]
            name = parts[6]
        default:
            return nil
        }
        let (group, version, plural) = (group, version, plural)
        definition = definitions.first { $0.group == group && $0.version == version && $0.plural == plural }
        workloadKind = group == "apps" && version == "v1" ? WorkloadKind(plural: plural) : nil
        guard definition != nil || workloadKind != nil else { return nil }
    }
}

extension FakeWorkload {
    /// Sets the image of the container (or init container) named `container`.
    mutating func setImage(_ image: String, container: String) -> Bool {
        if let index = containers.firstIndex(where: { $0.name == container }) {
            containers[index].image = image
            return true
        }
        if let index = initContainers.firstIndex(where: { $0.name == container }) {
            initContainers[index].image = image
            return true
        }
        return false
    }
}

private func sortedContainers(_ containers: [String: String]) -> [FakeContainer] {
    containers.sorted { $0.key < $1.key }.map { FakeContainer(name: $0.key, image: $0.value) }
}

/// `2006-01-02T15:04:05Z`, as the API server writes timestamps.
func rfc3339(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.string(from: date)
}
