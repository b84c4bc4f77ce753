/// How much a finding weighs: `fail` stops the upgrade, `warn` is shown, `inconclusive` means evidence was missing.
public struct Severity: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    private enum Base: Int, Sendable, Hashable {
        case warn = 0
        case inconclusive = 1
        case fail = 2
    }

    private let base: Base
    private init(_ base: Base) { self.base = base }

    /// Shown; does not change the exit code.
    public static let warn = Severity(.warn)
    /// Evidence that was asked for could not be had (the cluster or Prometheus did not answer): exit 2.
    public static let inconclusive = Severity(.inconclusive)
    /// The upgrade would break: exit 1.
    public static let fail = Severity(.fail)

    /// `warn`, `inconclusive` or `fail`.
    public var label: String {
        switch base {
        case .warn: return "warn"
        case .inconclusive: return "inconclusive"
        case .fail: return "fail"
        }
    }

    /// The short text form.
    public var description: String { label }

    /// Orders by severity or version, lowest first.
    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.base.rawValue < rhs.base.rawValue }

    /// Decodes the text form this type encodes to.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        switch text {
        case "warn": self = .warn
        case "inconclusive": self = .inconclusive
        case "fail": self = .fail
        default: throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown severity \"\(text)\""))
        }
    }

    /// Encodes the short text form.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(label)
    }
}

/// Which preflight rule a finding comes from: a closed set with a bounded ``label`` (usable as a metric label).
public struct PreflightRule: Sendable, Hashable, Codable, CustomStringConvertible {
    private enum Base: String, Sendable, Hashable, CaseIterable {
        case removedAPI = "removed_api"
        case deprecatedAPI = "deprecated_api"
        case crdVersionNotServed = "crd_version_not_served"
        case crdStoredVersion = "crd_stored_version"
        case removedAPICalled = "removed_api_called"
        case unpinnedImage = "unpinned_image"
        case clusterUnreachable = "cluster_unreachable"
        case prometheusUnreachable = "prometheus_unreachable"
    }

    private let base: Base
    private init(_ base: Base) { self.base = base }

    /// The object uses an API version the target release no longer serves.
    public static let removedAPI = PreflightRule(.removedAPI)
    /// The object uses an API version the target release deprecates.
    public static let deprecatedAPI = PreflightRule(.deprecatedAPI)
    /// A CRD in the same manifests does not serve the version the object uses.
    public static let crdVersionNotServed = PreflightRule(.crdVersionNotServed)
    /// The live CRD still records a version in `status.storedVersions` that the new CRD no longer lists.
    public static let crdStoredVersion = PreflightRule(.crdStoredVersion)
    /// The API server reports clients still calling an API the target release removes.
    public static let removedAPICalled = PreflightRule(.removedAPICalled)
    /// An image without a pinned version (the rules of `upgrade-gate lint`).
    public static let unpinnedImage = PreflightRule(.unpinnedImage)
    /// The cluster was asked for and did not answer.
    public static let clusterUnreachable = PreflightRule(.clusterUnreachable)
    /// Prometheus was asked for and did not answer.
    public static let prometheusUnreachable = PreflightRule(.prometheusUnreachable)

    /// A short snake_case name.
    public var label: String { base.rawValue }
    /// The short text form.
    public var description: String { base.rawValue }

    /// Decodes the text form this type encodes to.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let base = Base(rawValue: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown rule \"\(text)\""))
        }
        self.base = base
    }

    /// Encodes the short text form.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(label)
    }
}

/// The object a finding is about.
public struct FindingObject: Sendable, Hashable, Codable {
    /// `apiVersion`.
    public var apiVersion: String
    /// `kind`.
    public var kind: String
    /// `metadata.namespace`, when set.
    public var namespace: String?
    /// `metadata.name`, when set.
    public var name: String?
    /// The file.
    public var file: String
    /// The 1-based document index in the file.
    public var document: Int
    /// The 0-based index in a `List`'s items.
    public var item: Int?
    /// The 1-based line, when known.
    public var line: Int?

    /// The object's identity from a manifest object.
    public init(_ object: ManifestObject, line: Int? = nil) {
        apiVersion = object.apiVersion
        kind = object.kind
        namespace = object.namespace
        name = object.name
        file = object.location.file
        document = object.location.document
        item = object.location.item
        self.line = line ?? object.location.line
    }

    /// `Kind namespace/name (file#document, line L)`.
    /// The short text form.
    public var description: String {
        let base = name ?? "(unnamed)"
        let qualified = namespace.map { "\($0)/\(base)" } ?? base
        var place = "\(file)#\(document)"
        if let item { place += ".items[\(item)]" }
        if let line { place += ", line \(line)" }
        return "\(kind) \(qualified) (\(place))"
    }
}

/// One thing preflight found.
public struct PreflightFinding: Sendable, Hashable, Codable {
    /// How much it weighs.
    public var severity: Severity
    /// Which rule found it.
    public var rule: PreflightRule
    /// The object it is about; nil for findings about the cluster or Prometheus.
    public var object: FindingObject?
    /// What is wrong, naming the API, version, release and counts involved.
    public var message: String
    /// How to fix it.
    public var fix: String

    /// Creates a finding.
    public init(severity: Severity, rule: PreflightRule, object: FindingObject?, message: String, fix: String) {
        self.severity = severity
        self.rule = rule
        self.object = object
        self.message = message
        self.fix = fix
    }
}
