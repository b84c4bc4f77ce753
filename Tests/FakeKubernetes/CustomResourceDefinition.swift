import Foundation
import Yams

/// A namespaced CustomResourceDefinition as the fake serves it: names, one version, and its validation schema.
public struct CustomResourceDefinition: Sendable {
    /// `spec.group`, e.g. `velero.io`.
    public let group: String
    /// The served version, e.g. `v1`.
    public let version: String
    /// `spec.names.kind`, e.g. `Backup`.
    public let kind: String
    /// `spec.names.plural`, e.g. `backups`.
    public let plural: String
    /// The version's `schema.openAPIV3Schema`.
    public let schema: OpenAPISchema
    /// Whether the version declares `subresources: {status: {}}`.
    public let hasStatusSubresource: Bool

    /// `group/version`, the `apiVersion` objects must carry.
    public var apiVersion: String { "\(group)/\(version)" }

    /// Why a CRD file could not be used.
    public struct LoadError: Error, CustomStringConvertible {
        /// What is wrong, naming the file.
        public let description: String
    }

    /// Loads a CRD from YAML text (the first served version with a schema).
    public init(yaml: String, source: String = "CRD") throws {
        guard let node = try Yams.compose(yaml: yaml) else { throw LoadError(description: "\(source) is empty") }
        let json = FakeJSON.fromYAML(node)
        guard json["kind"]?.stringValue == "CustomResourceDefinition",
            let group = json.value(at: "spec.group")?.stringValue,
            let kind = json.value(at: "spec.names.kind")?.stringValue,
            let plural = json.value(at: "spec.names.plural")?.stringValue
        else { throw LoadError(description: "\(source) is not a CustomResourceDefinition with spec.group and spec.names") }
        guard json.value(at: "spec.scope")?.stringValue == "Namespaced" else {
            throw LoadError(description: "\(source): the fake serves namespaced resources only")
        }
        let versions = json.value(at: "spec.versions")?.arrayValue ?? []
        guard let served = versions.first(where: { $0["served"]?.boolValue == true && $0.value(at: "schema.openAPIV3Schema") != nil }),
            let version = served["name"]?.stringValue, let schema = served.value(at: "schema.openAPIV3Schema")
        else { throw LoadError(description: "\(source) has no served version with an openAPIV3Schema") }
        self.group = group
        self.version = version
        self.kind = kind
        self.plural = plural
        self.schema = OpenAPISchema(schema)
        self.hasStatusSubresource = served.value(at: "subresources.status") != nil
    }

    /// Loads a CRD file.
    public init(contentsOf path: String) throws {
        try self.init(yaml: try String(contentsOfFile: path, encoding: .utf8), source: path)
    }

    /// The Velero Backup and Restore CRDs bundled with this target (Velero's own CRD files, copied unchanged).
    public static func bundledVelero() throws -> [CustomResourceDefinition] {
        try ["velero.io_backups", "velero.io_restores"].map { name in
            guard let url = Bundle.module.url(forResource: name, withExtension: "yaml", subdirectory: "CRDs") else {
                throw LoadError(description: "the FakeKubernetes bundle has no CRDs/\(name).yaml")
            }
            return try CustomResourceDefinition(contentsOf: url.path)
        }
    }

    /// The repository's own CRDs (`deploy/crds/`), read from the source tree so the fake validates against what ships.
    public static func upgradeGate() throws -> [CustomResourceDefinition] {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("deploy/crds")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".yaml") && $0 != "kustomization.yaml" }.sorted()
        guard !files.isEmpty else { throw LoadError(description: "\(directory.path) holds no CRD") }
        return try files.map { try CustomResourceDefinition(contentsOf: directory.appendingPathComponent($0).path) }
    }

    /// The paths of the bundled Velero CRD files, so tests can compare them with the shared contracts.
    public static func bundledVeleroPaths() -> [String] {
        ["velero.io_backups", "velero.io_restores"].compactMap {
            Bundle.module.url(forResource: $0, withExtension: "yaml", subdirectory: "CRDs")?.path
        }
    }
}

/// ObjectMeta checks the API server makes before any CRD schema applies.
enum ObjectMetaValidation {
    /// Fields of ObjectMeta a client may send.
    static let knownFields: Set<String> = [
        "name", "generateName", "namespace", "labels", "annotations", "uid", "resourceVersion", "generation", "creationTimestamp",
        "deletionTimestamp", "deletionGracePeriodSeconds", "finalizers", "ownerReferences", "managedFields", "selfLink",
    ]

    /// Validates `metadata` of a create; problems go to `causes`, undeclared fields to `unknown`.
    static func validate(_ metadata: FakeJSON?, causes: inout [FieldCause], unknown: inout [String]) {
        guard let metadata else {
            causes.append(
                FieldCause(reason: "FieldValueRequired", message: "Required value: name or generateName is required", field: "metadata.name")
            )
            return
        }
        guard case .object(let members) = metadata else {
            causes.append(
                FieldCause(reason: "FieldValueTypeInvalid", message: "Invalid value: \"\(metadata.typeName)\": must be an object", field: "metadata")
            )
            return
        }
        for key in members.keys.sorted() where !knownFields.contains(key) { unknown.append("metadata.\(key)") }
        switch members["name"] {
        case nil, .string("")?:
            causes.append(
                FieldCause(reason: "FieldValueRequired", message: "Required value: name or generateName is required", field: "metadata.name")
            )
        case .string(let name)?:
            if !isDNS1123Subdomain(name) {
                causes.append(
                    FieldCause(
                        reason: "FieldValueInvalid",
                        message: "Invalid value: \"\(name)\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                            + "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
                            + "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                        field: "metadata.name"
                    )
                )
            }
        case let other?:
            causes.append(
                FieldCause(reason: "FieldValueTypeInvalid", message: "Invalid value: \"\(other.typeName)\": must be a string", field: "metadata.name")
            )
        }
        for mapName in ["labels", "annotations"] {
            guard let map = members[mapName] else { continue }
            guard case .object(let entries) = map else {
                causes.append(
                    FieldCause(
                        reason: "FieldValueTypeInvalid",
                        message: "Invalid value: \"\(map.typeName)\": must be an object",
                        field: "metadata.\(mapName)"
                    )
                )
                continue
            }
            for (key, value) in entries.sorted(by: { $0.key < $1.key }) {
                if !isQualifiedName(key) {
                    causes.append(
                        FieldCause(
                            reason: "FieldValueInvalid",
                            message: "Invalid value: \"\(key)\": name part must consist of alphanumeric characters, '-', '_' or '.', "
                                + "and must start and end with an alphanumeric character",
                            field: "metadata.\(mapName)"
                        )
                    )
                }
                guard case .string(let text) = value else {
                    causes.append(
                        FieldCause(
                            reason: "FieldValueTypeInvalid",
                            message: "Invalid value: \"\(value.typeName)\": must be a string",
                            field: "metadata.\(mapName).\(key)"
                        )
                    )
                    continue
                }
                if mapName == "labels", !isLabelValue(text) {
                    causes.append(
                        FieldCause(
                            reason: "FieldValueInvalid",
                            message:
                                "Invalid value: \"\(text)\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
                                + "or '.', and must start and end with an alphanumeric character, and be at most 63 characters",
                            field: "metadata.labels"
                        )
                    )
                }
            }
        }
    }

    static func isDNS1123Subdomain(_ text: String) -> Bool {
        text.count <= 253 && text.range(of: #"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"#, options: .regularExpression) != nil
    }

    static func isDNS1123Label(_ text: String) -> Bool {
        text.count <= 63 && text.range(of: #"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"#, options: .regularExpression) != nil
    }

    static func isLabelValue(_ text: String) -> Bool {
        text.isEmpty || (text.count <= 63 && text.range(of: #"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"#, options: .regularExpression) != nil)
    }

    static func isQualifiedName(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let name = parts.last.map(String.init) else { return false }
        if parts.count == 2, !isDNS1123Subdomain(String(parts[0])) { return false }
        return !name.isEmpty && isLabelValue(name)
    }
}
