import Foundation

/// A CustomResourceDefinition as it is installed in the fake cluster, with the status the API server keeps.
///
/// The fake serves it at `/apis/apiextensions.k8s.io/v1/customresourcedefinitions[/NAME]` (get and list, cluster
/// scope), and serves lists of its custom resources (`/apis/GROUP/VERSION/PLURAL`, all namespaces, for every served
/// version) with ``objects`` items, honouring `limit` and `continue` and reporting `remainingItemCount` as a real API
/// server does — enough for a client to count the objects without listing them.
public struct FakeInstalledCRD: Sendable, Equatable {
    /// One entry of `spec.versions`.
    public struct Version: Sendable, Equatable {
        /// `name`.
        public var name: String
        /// `served`.
        public var served: Bool
        /// `storage`.
        public var storage: Bool

        /// Creates a version entry.
        public init(_ name: String, served: Bool = true, storage: Bool = false) {
            self.name = name
            self.served = served
            self.storage = storage
        }
    }

    /// `spec.group`.
    public var group: String
    /// `spec.names.kind`.
    public var kind: String
    /// `spec.names.plural`.
    public var plural: String
    /// `spec.scope`: `Namespaced` or `Cluster`.
    public var scope: String
    /// `spec.versions`.
    public var versions: [Version]
    /// `status.storedVersions`.
    public var storedVersions: [String]
    /// How many custom resources of this kind exist.
    public var objects: Int

    /// `<plural>.<group>`, the CRD's name.
    public var name: String { "\(plural).\(group)" }

    /// Creates an installed CRD.
    public init(
        group: String,
        kind: String,
        plural: String,
        scope: String = "Namespaced",
        versions: [Version],
        storedVersions: [String],
        objects: Int = 0
    ) {
        self.group = group
        self.kind = kind
        self.plural = plural
        self.scope = scope
        self.versions = versions
        self.storedVersions = storedVersions
        self.objects = objects
    }

    /// The object as the API server returns it (schemas left out: the fake does not validate these resources).
    func json(uid: String, resourceVersion: Int) -> FakeJSON {
        [
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": ["name": .string(name), "uid": .string(uid), "resourceVersion": .string(String(resourceVersion))],
            "spec": [
                "group": .string(group), "scope": .string(scope),
                "names": ["kind": .string(kind), "plural": .string(plural), "listKind": .string("\(kind)List")],
                "versions": .array(
                    versions.map { ["name": .string($0.name), "served": .bool($0.served), "storage": .bool($0.storage)] }
                ),
            ],
            "status": [
                "storedVersions": .array(storedVersions.map(FakeJSON.string)),
                "acceptedNames": ["kind": .string(kind), "plural": .string(plural)],
            ],
        ]
    }

    /// One synthetic custom resource, for lists.
    func item(_ index: Int, version: String) -> FakeJSON {
        var metadata: [String: FakeJSON] = ["name": .string("\(plural)-\(index)"), "uid": .string("uid-\(plural)-\(index)")]
        if scope == "Namespaced" { metadata["namespace"] = "default" }
        return ["apiVersion": .string("\(group)/\(version)"), "kind": .string(kind), "metadata": .object(metadata)]
    }
}
