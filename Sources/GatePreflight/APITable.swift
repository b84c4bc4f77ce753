import Yams

/// One API version that a component stopped serving, or announced it will stop serving.
public struct APIRemoval: Sendable, Hashable, Codable {
    /// `kubernetes`, or the tool whose CRDs serve the API (`cert-manager`, `istio`, …).
    public var component: String
    /// `group/version`, or `v1` for the core group.
    public var apiVersion: String
    /// The kind served under `apiVersion`.
    public var kind: String
    /// The release that started warning, when one was announced.
    public var deprecatedIn: ReleaseVersion?
    /// The first release that no longer serves it; nil for a deprecation without a scheduled removal.
    public var removedIn: ReleaseVersion?
    /// What to migrate to.
    public var replacement: String
    /// Where the facts come from.
    public var source: String
    /// The 1-based line of the row in the table, for error messages about the table itself.
    public var line: Int?

    /// The identity that must be unique in a table.
    public var key: String { "\(component) \(apiVersion) \(kind)" }
}

/// The table of API removals and deprecations preflight judges manifests against.
///
/// It is data, compiled into the binary from `Resources/api-removals.yaml`; ``builtIn`` is parsed once.
public struct APITable: Sendable {
    /// Why a table could not be used; names the row's line.
    public struct LoadError: Error, Sendable, CustomStringConvertible {
        /// What is wrong, with the line.
        public var description: String
    }

    /// Every row, in table order.
    public let rows: [APIRemoval]
    private let index: [String: [APIRemoval]]

    /// Builds a table from rows (already validated).
    public init(rows: [APIRemoval]) {
        self.rows = rows
        var index: [String: [APIRemoval]] = [:]
        for row in rows { index["\(row.apiVersion) \(row.kind)", default: []].append(row) }
        self.index = index
    }

    /// The rows for objects of `kind` under `apiVersion`.
    public func rows(apiVersion: String, kind: String) -> [APIRemoval] {
        index["\(apiVersion) \(kind)"] ?? []
    }

    /// The components named in the table (`kubernetes` first).
    public var components: [String] {
        let names = Set(rows.map(\.component)).subtracting(["kubernetes"]).sorted()
        return ["kubernetes"] + names
    }

    /// The API groups a component's rows mention (removed and replacement APIs), for recognising its CRDs.
    public func groups(of component: String) -> Set<String> {
        var groups: Set<String> = []
        for row in rows where row.component == component {
            for apiVersion in [row.apiVersion, String(row.replacement.split(separator: " ").first ?? "")] {
                let parts = apiVersion.split(separator: "/")
                if parts.count == 2 { groups.insert(String(parts[0])) }
            }
        }
        return groups
    }

    /// The newest Kubernetes release the table names: the default target when none is given.
    public var newestKubernetesRelease: ReleaseVersion {
        rows.filter { $0.component == "kubernetes" }.flatMap { [$0.removedIn, $0.deprecatedIn].compactMap { $0 } }.max() ?? ReleaseVersion(1, 0)
    }

    /// The table shipped with upgrade-gate.
    public static let builtIn: APITable = {
        do {
            return try APITable(yaml: String(decoding: PackageResources.api_removals_yaml, as: UTF8.self))
        } catch {
            // The shipped table is checked by the test suite; a broken one must not pass anything silently.
            fatalError("the built-in API table is invalid: \(error)")
        }
    }()

    /// Parses a table in the format of `Resources/api-removals.yaml`.
    ///
    /// - Throws: ``LoadError`` for a row with a missing or malformed field, a row out of order, or a duplicate.
    public init(yaml: String) throws(LoadError) {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw LoadError(description: "the table is not YAML: \(error)")
        }
        guard case .sequence(let items)? = root?["rows"] else { throw LoadError(description: "the table has no rows: sequence") }
        var rows: [APIRemoval] = []
        var seen: Set<String> = []
        for item in items {
            let line = item.mark?.line ?? 0
            func text(_ key: String, required: Bool = true) throws(LoadError) -> String? {
                guard let value = item[key]?.scalar?.string.trimmingSpaces(), !value.isEmpty else {
                    if required { throw LoadError(description: "line \(line): the row has no \(key)") }
                    return nil
                }
                return value
            }
            func version(_ key: String) throws(LoadError) -> ReleaseVersion? {
                guard let value = try text(key, required: false) else { return nil }
                guard let parsed = ReleaseVersion(parsing: value) else {
                    throw LoadError(description: "line \(line): \(key) \"\(value)\" is not a release number such as 1.22")
                }
                return parsed
            }
            let row = APIRemoval(
                component: try text("component") ?? "",
                apiVersion: try text("apiVersion") ?? "",
                kind: try text("kind") ?? "",
                deprecatedIn: try version("deprecatedIn"),
                removedIn: try version("removedIn"),
                replacement: try text("replacement") ?? "",
                source: try text("source") ?? "",
                line: line
            )
            guard row.deprecatedIn != nil || row.removedIn != nil else {
                throw LoadError(description: "line \(line): the row has neither deprecatedIn nor removedIn")
            }
            if let deprecated = row.deprecatedIn, let removed = row.removedIn, deprecated > removed {
                throw LoadError(description: "line \(line): deprecatedIn \(deprecated) is after removedIn \(removed)")
            }
            guard seen.insert(row.key).inserted else { throw LoadError(description: "line \(line): \(row.key) appears twice") }
            if let previous = rows.last, !Self.ordered(previous, row) {
                throw LoadError(
                    description: "line \(line): \(row.key) is out of order after \(previous.key) "
                        + "(sort by component, removedIn with rows without one last, apiVersion, kind)"
                )
            }
            rows.append(row)
        }
        self.init(rows: rows)
    }

    /// The table's order: component, then removedIn (rows without one last), then apiVersion, then kind.
    static func ordered(_ a: APIRemoval, _ b: APIRemoval) -> Bool {
        if a.component != b.component { return a.component < b.component }
        switch (a.removedIn, b.removedIn) {
        case (let x?, let y?) where x != y: return x < y
        case (nil, _?): return false
        case (_?, nil): return true
        default: break
        }
        if a.apiVersion != b.apiVersion { return a.apiVersion < b.apiVersion }
        return a.kind < b.kind
    }
}
