/// The apps/v1 workload kinds the fake serves.
public enum WorkloadKind: String, Sendable, CaseIterable, Hashable {
    /// `Deployment`.
    case deployment = "Deployment"
    /// `StatefulSet`.
    case statefulSet = "StatefulSet"
    /// `DaemonSet`.
    case daemonSet = "DaemonSet"

    /// The resource plural: `deployments`, `statefulsets`, `daemonsets`.
    public var plural: String { rawValue.lowercased() + "s" }

    /// The kind for a plural.
    init?(plural: String) {
        guard let kind = Self.allCases.first(where: { $0.plural == plural }) else { return nil }
        self = kind
    }
}

/// A container of a seeded workload's pod template.
public struct FakeContainer: Sendable, Hashable {
    /// The container name.
    public var name: String
    /// The image reference.
    public var image: String

    /// Creates a container.
    public init(name: String, image: String) {
        self.name = name
        self.image = image
    }
}

/// A Deployment, StatefulSet or DaemonSet the test seeds, whose images a restore may roll back.
public struct FakeWorkload: Sendable, Hashable {
    /// The kind.
    public var kind: WorkloadKind
    /// The namespace.
    public var namespace: String
    /// The name.
    public var name: String
    /// The pod template's containers, in order.
    public var containers: [FakeContainer]
    /// The pod template's init containers, in order.
    public var initContainers: [FakeContainer]
    /// `metadata.labels`.
    public var labels: [String: String]

    /// Creates a workload.
    public init(
        kind: WorkloadKind,
        namespace: String,
        name: String,
        containers: [FakeContainer],
        initContainers: [FakeContainer] = [],
        labels: [String: String] = [:]
    ) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.containers = containers
        self.initContainers = initContainers
        self.labels = labels
    }

    /// Identifies a workload.
    public struct Key: Sendable, Hashable, CustomStringConvertible {
        /// The kind.
        public var kind: WorkloadKind
        /// The namespace.
        public var namespace: String
        /// The name.
        public var name: String

        /// Creates a key.
        public init(kind: WorkloadKind, namespace: String, name: String) {
            self.kind = kind
            self.namespace = namespace
            self.name = name
        }

        /// `Kind namespace/name`.
        public var description: String { "\(kind.rawValue) \(namespace)/\(name)" }
    }

    /// This workload's key.
    public var key: Key { Key(kind: kind, namespace: namespace, name: name) }

    /// The image of the container (or init container) named `container`.
    public func image(of container: String) -> String? {
        (containers + initContainers).first { $0.name == container }?.image
    }

    /// The object as the API server would serve it (items of a list carry no apiVersion/kind for built-in types).
    func json(uid: String, resourceVersion: Int, creationTimestamp: String, includeTypeMeta: Bool) -> FakeJSON {
        let selector: FakeJSON = ["matchLabels": ["app.kubernetes.io/name": .string(name)]]
        func containerList(_ list: [FakeContainer]) -> FakeJSON {
            .array(list.map { ["name": .string($0.name), "image": .string($0.image), "imagePullPolicy": "IfNotPresent"] })
        }
        var podSpec: [String: FakeJSON] = ["containers": containerList(containers)]
        if !initContainers.isEmpty { podSpec["initContainers"] = containerList(initContainers) }
        var spec: [String: FakeJSON] = [
            "selector": selector,
            "template": ["metadata": ["labels": ["app.kubernetes.io/name": .string(name)]], "spec": .object(podSpec)],
        ]
        if kind != .daemonSet { spec["replicas"] = 1 }
        if kind == .statefulSet { spec["serviceName"] = .string(name) }
        var object: [String: FakeJSON] = [
            "metadata": [
                "name": .string(name), "namespace": .string(namespace), "uid": .string(uid), "resourceVersion": .string(String(resourceVersion)),
                "generation": 1, "creationTimestamp": .string(creationTimestamp),
                "labels": .object(labels.mapValues(FakeJSON.string)),
            ],
            "spec": .object(spec),
            "status": kind == .daemonSet ? ["numberReady": 1] : ["replicas": 1, "readyReplicas": 1],
        ]
        if includeTypeMeta {
            object["apiVersion"] = "apps/v1"
            object["kind"] = .string(kind.rawValue)
        }
        return .object(object)
    }
}
