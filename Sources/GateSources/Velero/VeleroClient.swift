/// The live ``VeleroPort``: `velero.io/v1` Backups and Restores, and `apps/v1` workloads, over ``KubernetesClient``.
///
/// The bodies carry exactly the fields the Velero CRDs define (`spec.includedNamespaces`, `spec.ttl`,
/// `spec.storageLocation`, `spec.backupName`, `spec.existingResourcePolicy`, `spec.restorePVs`), and no `status`.
public struct VeleroClient: VeleroPort {
    /// Velero's API group.
    public static let group = "velero.io"
    /// Velero's API version.
    public static let version = "v1"

    private let kubernetes: KubernetesClient
    /// Velero's namespace, where ``backupStatus(name:)`` and ``restoreStatus(name:)`` look (creates use the spec's).
    public let namespace: String

    /// Creates the adapter over a Kubernetes client (which stays the caller's to shut down).
    public init(kubernetes: KubernetesClient, namespace: String = "velero") {
        self.kubernetes = kubernetes
        self.namespace = namespace
    }

    /// Creates the Backup; one that already exists under this name counts as created when it is the same window's
    /// (an earlier attempt, maybe before a crash or by another replica).
    public func createBackup(_ spec: BackupSpec) async throws(KubernetesError) {
        // The name is derived from the window's id, which is visible before the Backup exists: a Backup someone else
        // put under it would be restored from later. Only one carrying this window's id is this window's.
        let key = "upgrade-gate.io/window-id"
        try await create(
            plural: "backups",
            kind: "Backup",
            object: Self.backupObject(spec),
            name: spec.name,
            namespace: spec.namespace,
            fix: "delete the other Backup; pre-upgrade backup names are <window>-<id>-pre and are not to be reused"
        ) { existing in
            let found = existing.json["metadata"]?["labels"]?[key]?.stringValue ?? ""
            guard let wanted = spec.labels[key], found == wanted else {
                return "belongs to window id \"\(found.prefix(64))\", not \"\(spec.labels[key] ?? "")\""
            }
            return nil
        }
    }

    /// Reads the Backup's `status` in Velero's namespace.
    public func backupStatus(name: String) async throws(KubernetesError) -> VeleroStatus {
        Self.status(of: try await kubernetes.get(group: Self.group, version: Self.version, namespace: namespace, plural: "backups", name: name))
    }

    /// Creates the Restore; one that exists under this name counts as created when it restores the same backup.
    public func createRestore(_ spec: RestoreSpec) async throws(KubernetesError) {
        // A Restore of another backup under this name is a collision the operator must see, not a rollback.
        try await create(
            plural: "restores",
            kind: "Restore",
            object: Self.restoreObject(spec),
            name: spec.name,
            namespace: spec.namespace,
            fix: "delete or rename the other Restore; rollback names are <window>-<id>-rollback and should not be reused"
        ) { existing in
            let backupName = existing.spec?["backupName"]?.stringValue ?? ""
            return backupName == spec.backupName ? nil : "restores backup \"\(backupName)\", not \"\(spec.backupName)\""
        }
    }

    /// Creates a Velero object under a deterministic name. When the name is taken, the object there counts as this
    /// one (an earlier attempt: a crash, a lost answer, another replica) unless `mismatch` says how it differs, which
    /// is a Conflict naming both.
    private func create(
        plural: String,
        kind: String,
        object: JSONValue,
        name: String,
        namespace: String,
        fix: String,
        mismatch: (KubernetesObject) -> String?
    ) async throws(KubernetesError) {
        do throws(KubernetesError) {
            _ = try await kubernetes.create(group: Self.group, version: Self.version, namespace: namespace, plural: plural, object: object)
        } catch  where error.isAlreadyExists {
            let existing = try await kubernetes.get(group: Self.group, version: Self.version, namespace: namespace, plural: plural, name: name)
            if let difference = mismatch(existing) {
                throw .conflict(
                    KubernetesCall(verb: "create", group: Self.group, version: Self.version, namespace: namespace, plural: plural, name: name),
                    message: "a \(kind) with this name already exists but \(difference)",
                    fix: fix
                )
            }
        }
    }

    /// Reads the Restore's `status` in Velero's namespace.
    public func restoreStatus(name: String) async throws(KubernetesError) -> VeleroStatus {
        Self.status(of: try await kubernetes.get(group: Self.group, version: Self.version, namespace: namespace, plural: "restores", name: name))
    }

    /// The workload kinds whose images are recorded, as (plural, kind).
    static let workloadKinds = [("deployments", "Deployment"), ("statefulsets", "StatefulSet"), ("daemonsets", "DaemonSet")]

    /// Lists Deployments, StatefulSets and DaemonSets per namespace (all namespaces when empty) and collects their images.
    public func workloadImages(namespaces: [String]) async throws(KubernetesError) -> [WorkloadImage] {
        var images: [WorkloadImage] = []
        let scopes: [String?] = namespaces.isEmpty ? [nil] : Array(Set(namespaces)).sorted()
        for scope in scopes {
            for (plural, kind) in Self.workloadKinds {
                let objects = try await kubernetes.list(group: "apps", version: "v1", namespace: scope, plural: plural)
                for object in objects {
                    images += Self.images(of: object, kind: kind)
                }
            }
        }
        return images.sorted {
            ($0.kind, $0.namespace, $0.name, $0.isInitContainer ? 0 : 1, $0.container) < (
                $1.kind, $1.namespace, $1.name, $1.isInitContainer ? 0 : 1, $1.container
            )
        }
    }

    /// The images of one workload's pod template, init containers included.
    static func images(of object: KubernetesObject, kind: String) -> [WorkloadImage] {
        let pod = object.spec?["template"]?["spec"]
        var images: [WorkloadImage] = []
        for (key, isInit) in [("initContainers", true), ("containers", false)] {
            for container in pod?[key]?.arrayValue ?? [] {
                images.append(
                    WorkloadImage(
                        kind: kind,
                        namespace: object.namespace ?? "",
                        name: object.name ?? "",
                        container: container["name"]?.stringValue ?? "",
                        image: container["image"]?.stringValue ?? "",
                        isInitContainer: isInit
                    )
                )
            }
        }
        return images
    }

    /// Reads `status` of a Backup or Restore; an object Velero has not processed yet has none (phase unknown).
    static func status(of object: KubernetesObject) -> VeleroStatus {
        let status = object.status
        let reason = status?["failureReason"]?.stringValue
        return VeleroStatus(
            phase: VeleroPhase(phase: status?["phase"]?.stringValue),
            warnings: status?["warnings"]?.intValue ?? 0,
            errors: status?["errors"]?.intValue ?? 0,
            failureReason: reason?.isEmpty == false ? reason : nil,
            validationErrors: status?["validationErrors"]?.arrayValue?.compactMap(\.stringValue) ?? []
        )
    }

    /// The Backup object sent to the API server.
    static func backupObject(_ spec: BackupSpec) -> JSONValue {
        var body: [String: JSONValue] = [
            "ttl": .string(goDuration(seconds: spec.ttl)),
            "storageLocation": .string(spec.storageLocation),
        ]
        if !spec.includedNamespaces.isEmpty { body["includedNamespaces"] = .array(spec.includedNamespaces.map(JSONValue.string)) }
        return [
            "apiVersion": "velero.io/v1",
            "kind": "Backup",
            "metadata": metadata(name: spec.name, namespace: spec.namespace, labels: spec.labels),
            "spec": .object(body),
        ]
    }

    /// The Restore object sent to the API server.
    static func restoreObject(_ spec: RestoreSpec) -> JSONValue {
        var body: [String: JSONValue] = [
            "backupName": .string(spec.backupName),
            "restorePVs": .bool(spec.restorePVs),
        ]
        if !spec.includedNamespaces.isEmpty { body["includedNamespaces"] = .array(spec.includedNamespaces.map(JSONValue.string)) }
        if let policy = spec.existingResourcePolicy { body["existingResourcePolicy"] = .string(policy) }
        return [
            "apiVersion": "velero.io/v1",
            "kind": "Restore",
            "metadata": metadata(name: spec.name, namespace: spec.namespace, labels: spec.labels),
            "spec": .object(body),
        ]
    }

    private static func metadata(name: String, namespace: String, labels: [String: String]) -> JSONValue {
        var metadata: [String: JSONValue] = ["name": .string(name), "namespace": .string(namespace)]
        if !labels.isEmpty { metadata["labels"] = .object(labels.mapValues(JSONValue.string)) }
        return .object(metadata)
    }
}
