import GateLint

/// Where an object sits in the manifests: the file, the document in it, and the item of a `List`.
public struct ObjectLocation: Sendable, Hashable, Codable {
    /// The file as it was reached (`-` for standard input, `body` for an API request).
    public var file: String
    /// The 1-based index of the YAML document in the file.
    public var document: Int
    /// The 0-based index in `items` when the document is a `List`; nil otherwise.
    public var item: Int?
    /// The 1-based line the object starts on.
    public var line: Int?

    /// Creates a location.
    public init(file: String, document: Int, item: Int? = nil, line: Int? = nil) {
        self.file = file
        self.document = document
        self.item = item
        self.line = line
    }

    /// `file#document` or `file#document.items[item]`, with the line when known.
    public var description: String {
        var text = "\(file)#\(document)"
        if let item { text += ".items[\(item)]" }
        if let line { text += " (line \(line))" }
        return text
    }
}

/// One Kubernetes object read from the manifests, reduced to what preflight judges.
public struct ManifestObject: Sendable, Equatable {
    /// `apiVersion`, e.g. `apps/v1` or `v1`.
    public var apiVersion: String
    /// `kind`.
    public var kind: String
    /// `metadata.namespace`, when set.
    public var namespace: String?
    /// `metadata.name` (or `metadata.generateName`), when set.
    public var name: String?
    /// Where the object is.
    public var location: ObjectLocation
    /// The CustomResourceDefinition this object declares, when it is one.
    public var crd: CRDManifest?
    /// `metadata.labels`, for recognising which tool release a CRD belongs to.
    public var labels: [String: String]
    /// The images that break the version-pinning policy, judged by the same rules as `upgrade-gate lint`.
    public var unpinnedImages: [LintFinding]

    /// The API group (empty for the core group).
    public var group: String { apiVersion.split(separator: "/", maxSplits: 1).count == 2 ? String(apiVersion.split(separator: "/")[0]) : "" }

    /// The version part of `apiVersion`.
    public var version: String { String(apiVersion.split(separator: "/").last ?? "") }

    /// `namespace/name`, `name` for cluster-scoped objects, or `(unnamed)`.
    public var qualifiedName: String {
        let base = name ?? "(unnamed)"
        return namespace.map { "\($0)/\(base)" } ?? base
    }
}

/// A CustomResourceDefinition as the manifests declare it.
public struct CRDManifest: Sendable, Equatable {
    /// One entry of `spec.versions`.
    public struct Version: Sendable, Equatable {
        /// `name`, e.g. `v1`.
        public var name: String
        /// `served`.
        public var served: Bool
        /// `storage`.
        public var storage: Bool
    }

    /// `metadata.name`, `<plural>.<group>`.
    public var name: String
    /// `spec.group`.
    public var group: String
    /// `spec.names.kind`.
    public var kind: String
    /// `spec.names.plural`.
    public var plural: String
    /// `spec.versions`, in order (for `apiextensions.k8s.io/v1beta1`, `spec.version` when `spec.versions` is absent).
    public var versions: [Version]

    /// The names of every listed version, served or not: what the API server compares stored versions with.
    public var listedVersions: Set<String> { Set(versions.map(\.name)) }

    /// The names of the served versions.
    public var servedVersions: [String] { versions.filter(\.served).map(\.name) }
}

/// The objects read from every manifest source, in input order.
public struct ManifestSet: Sendable, Equatable {
    /// The objects.
    public var objects: [ManifestObject]
    /// How many YAML documents were read (empty ones included).
    public var documents: Int

    /// Creates a set.
    public init(objects: [ManifestObject] = [], documents: Int = 0) {
        self.objects = objects
        self.documents = documents
    }

    /// The CRDs the manifests declare, by `metadata.name`.
    public var crds: [(object: ManifestObject, crd: CRDManifest)] {
        objects.compactMap { object in object.crd.map { (object, $0) } }
    }
}
