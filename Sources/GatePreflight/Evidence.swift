/// What the cluster and Prometheus said, gathered by an adapter before the pure judgement runs.
///
/// - Important: a source that was asked for and did not answer is recorded in ``clusterProblem`` or
///   ``prometheusProblem``; the report is then inconclusive, never a pass.
public struct ClusterEvidence: Sendable, Equatable {
    /// A CustomResourceDefinition as it is in the cluster.
    public struct LiveCRD: Sendable, Equatable {
        /// `metadata.name`.
        public var name: String
        /// `status.storedVersions`: every version objects may still be stored in.
        public var storedVersions: [String]
        /// The versions the live CRD serves (used to count its objects).
        public var servedVersions: [String]
        /// How many objects of the CRD exist across all namespaces, when the count could be read.
        public var objectCount: Int?

        /// Creates a live CRD.
        public init(name: String, storedVersions: [String], servedVersions: [String] = [], objectCount: Int? = nil) {
            self.name = name
            self.storedVersions = storedVersions
            self.servedVersions = servedVersions
            self.objectCount = objectCount
        }
    }

    /// One series of `apiserver_requested_deprecated_apis`: a deprecated API that clients requested.
    public struct DeprecatedRequest: Sendable, Equatable {
        /// `group` (empty for the core group).
        public var group: String
        /// `version`.
        public var version: String
        /// `resource`, e.g. `flowschemas`.
        public var resource: String
        /// `subresource`, when there is one.
        public var subresource: String
        /// `removed_release`, e.g. `1.32`; nil when the API server names none.
        public var removedRelease: ReleaseVersion?

        /// Creates a request record.
        public init(group: String, version: String, resource: String, subresource: String = "", removedRelease: ReleaseVersion?) {
            self.group = group
            self.version = version
            self.resource = resource
            self.subresource = subresource
            self.removedRelease = removedRelease
        }

        /// `group/version` or `version` for the core group.
        public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    }

    /// The release the API server reports at `/version`, when asked and answered.
    public var serverVersion: ReleaseVersion?
    /// The live CRDs named by the manifests' CRDs, by name; a CRD absent here is not installed yet.
    public var crds: [String: LiveCRD]
    /// Why the cluster could not be read, when it was asked for; nil when it answered.
    public var clusterProblem: String?
    /// The deprecated APIs clients requested, when Prometheus was asked and answered.
    public var deprecatedRequests: [DeprecatedRequest]?
    /// Why Prometheus could not be read, when it was asked for; nil when it answered or was not asked.
    public var prometheusProblem: String?

    /// Creates evidence.
    public init(
        serverVersion: ReleaseVersion? = nil,
        crds: [String: LiveCRD] = [:],
        clusterProblem: String? = nil,
        deprecatedRequests: [DeprecatedRequest]? = nil,
        prometheusProblem: String? = nil
    ) {
        self.serverVersion = serverVersion
        self.crds = crds
        self.clusterProblem = clusterProblem
        self.deprecatedRequests = deprecatedRequests
        self.prometheusProblem = prometheusProblem
    }
}

/// The releases preflight judges against.
public struct PreflightTargets: Sendable, Equatable {
    /// Where the Kubernetes target came from.
    public enum Source: String, Sendable, Codable {
        /// `--kubernetes-version` (or the API's `kubernetesVersion`).
        case flag
        /// The cluster's `/version`.
        case cluster
        /// Neither was given: the newest release the table knows, the strictest choice.
        case table
    }

    /// The Kubernetes release the upgrade targets.
    public var kubernetes: ReleaseVersion
    /// Where ``kubernetes`` came from.
    public var kubernetesSource: Source
    /// Tool releases given explicitly (`--target-version cert-manager=1.7`), by component name.
    public var tools: [String: ReleaseVersion]

    /// Creates targets.
    public init(kubernetes: ReleaseVersion, kubernetesSource: Source, tools: [String: ReleaseVersion] = [:]) {
        self.kubernetes = kubernetes
        self.kubernetesSource = kubernetesSource
        self.tools = tools
    }
}
