import Foundation
import GateLint
import Yams

/// Reads Kubernetes manifests — files, directories, standard input or a request body; multi-document YAML as
/// `helm template` and `kustomize build` print it — into ``ManifestObject`` values.
///
/// Every input is bounded before it is walked: its size, the number of documents, the nesting depth, and the number
/// of nodes a document expands to once its YAML aliases are followed (an alias is a reference, so ten nested levels of
/// ten aliases would otherwise make a few hundred bytes walk like a billion nodes).
public struct ManifestReader: Sendable {
    /// The bounds of one read.
    public struct Limits: Sendable, Equatable {
        /// The most bytes read from all sources together. Default 64 MiB.
        public var maxInputBytes: Int
        /// The most YAML documents in all sources together. Default 100,000.
        public var maxDocuments: Int
        /// The most nodes one document may expand to, aliases followed. Default 1,000,000.
        public var maxNodesPerDocument: Int
        /// The deepest nesting of mappings and sequences. Default 200.
        public var maxDepth: Int

        /// Creates limits; the defaults take any chart or kustomization seen in practice.
        public init(maxInputBytes: Int = 64 << 20, maxDocuments: Int = 100_000, maxNodesPerDocument: Int = 1_000_000, maxDepth: Int = 200) {
            self.maxInputBytes = maxInputBytes
            self.maxDocuments = maxDocuments
            self.maxNodesPerDocument = maxNodesPerDocument
            self.maxDepth = maxDepth
        }
    }

    /// The bounds applied.
    public var limits: Limits

    /// Creates a reader.
    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Reads files and directories (`*.yaml` and `*.yml`, recursively, sorted, hidden entries skipped); `-` reads
    /// `standardInput`.
    public func read(paths: [String], standardInput: () -> [UInt8]? = { nil }) throws(PreflightInputError) -> ManifestSet {
        var set = ManifestSet()
        var budget = limits.maxInputBytes
        for path in paths {
            if path == "-" {
                guard let bytes = standardInput() else { throw .unreadable("-", "standard input could not be read") }
                try take(bytes.count, from: &budget, file: "-")
                try read(text: try Self.utf8(bytes, file: "-"), file: "-", into: &set)
                continue
            }
            for file in try Self.files(at: path) {
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw .unreadable(file, "permission denied, or not a regular file")
                }
                try take(data.count, from: &budget, file: file)
                try read(text: try Self.utf8(Array(data), file: file), file: file, into: &set)
            }
        }
        return set
    }

    /// Reads the YAML text of one source; `file` names it in findings and errors.
    public func read(text: String, file: String) throws(PreflightInputError) -> ManifestSet {
        var budget = limits.maxInputBytes
        try take(text.utf8.count, from: &budget, file: file)
        var set = ManifestSet()
        try read(text: text, file: file, into: &set)
        return set
    }

    private func take(_ count: Int, from budget: inout Int, file: String) throws(PreflightInputError) {
        budget -= count
        if budget < 0 {
            throw .tooLarge(file, document: nil, line: nil, "the manifests are larger than \(limits.maxInputBytes) bytes; split the input")
        }
    }

    private func read(text: String, file: String, into set: inout ManifestSet) throws(PreflightInputError) {
        if let depthError = Self.flowDepthProblem(text, limit: limits.maxDepth, file: file) { throw depthError }
        let parser: Parser
        do {
            parser = try Parser(yaml: text)
        } catch {
            throw Self.syntaxError(error, file: file, document: 1, text: text)
        }
        var document = 0
        while true {
            let root: Node?
            do {
                root = try parser.nextRoot()
            } catch {
                throw Self.syntaxError(error, file: file, document: document + 1, text: text)
            }
            guard let root else { break }
            document += 1
            set.documents += 1
            if set.documents > limits.maxDocuments {
                throw .tooLarge(file, document: document, line: root.mark?.line, "more than \(limits.maxDocuments) YAML documents; split the input")
            }
            try checkSize(root, file: file, document: document)
            try objects(in: root, file: file, document: document, into: &set.objects)
        }
    }

    /// Rejects a document whose alias expansion or nesting is beyond the limits, before anything else walks it.
    private func checkSize(_ root: Node, file: String, document: Int) throws(PreflightInputError) {
        var remaining = limits.maxNodesPerDocument
        var deepest = 0
        // An explicit stack: a hostile document must not be able to exhaust the thread's stack here.
        var stack: [(Node, Int)] = [(root, 1)]
        while let (node, depth) = stack.popLast() {
            remaining -= 1
            deepest = max(deepest, depth)
            if remaining < 0 {
                throw .tooLarge(
                    file,
                    document: document,
                    line: root.mark?.line,
                    "the document expands to more than \(limits.maxNodesPerDocument) YAML nodes (aliases followed); "
                        + "a manifest this large is usually an alias bomb or generated by mistake"
                )
            }
            if depth > limits.maxDepth {
                throw .tooLarge(file, document: document, line: node.mark?.line, "mappings and sequences nest deeper than \(limits.maxDepth) levels")
            }
            switch node {
            case .mapping(let mapping):
                for (key, value) in mapping {
                    stack.append((key, depth + 1))
                    stack.append((value, depth + 1))
                }
            case .sequence(let sequence):
                for item in sequence { stack.append((item, depth + 1)) }
            case .scalar, .alias:
                break
            }
        }
    }

    private func objects(in root: Node, file: String, document: Int, into objects: inout [ManifestObject]) throws(PreflightInputError) {
        switch root {
        case .scalar(let scalar) where scalar.string.trimmingSpaces().isEmpty || (scalar.style == .plain && ["~", "null"].contains(scalar.string)):
            return  // an empty document (`---` twice, a trailing `---`): helm template prints these
        case .mapping:
            break
        default:
            throw .notAnObject(
                file,
                document: document,
                line: root.mark?.line,
                "the document is \(Self.typeName(root)), not a Kubernetes object (a mapping with apiVersion and kind)"
            )
        }
        let location = ObjectLocation(file: file, document: document, line: root.mark?.line)
        let kind = try scalar(root, "kind", file: file, document: document, required: true)
        // `kubectl get -o yaml` prints a List of objects; each item is judged as an object of its own.
        if let kind, kind == "List" || (kind.hasSuffix("List") && root["items"] != nil) {
            guard let items = root["items"] else { return }
            guard case .sequence(let sequence) = items else {
                throw .wrongType(
                    file,
                    document: document,
                    line: items.mark?.line,
                    field: "items",
                    expected: "a sequence",
                    found: Self.typeName(items)
                )
            }
            for (index, item) in sequence.enumerated() {
                guard case .mapping = item else {
                    throw .wrongType(
                        file,
                        document: document,
                        line: item.mark?.line,
                        field: "items[\(index)]",
                        expected: "a mapping",
                        found: Self.typeName(item)
                    )
                }
                var itemLocation = location
                itemLocation.item = index
                itemLocation.line = item.mark?.line
                objects.append(try object(item, at: itemLocation, prefix: "items[\(index)]."))
            }
            return
        }
        objects.append(try object(root, at: location, prefix: ""))
    }

    private func object(_ node: Node, at location: ObjectLocation, prefix: String) throws(PreflightInputError) -> ManifestObject {
        let file = location.file
        let document = location.document
        guard let apiVersion = try scalar(node, "apiVersion", file: file, document: document, prefix: prefix, required: true),
            let kind = try scalar(node, "kind", file: file, document: document, prefix: prefix, required: true)
        else {
            throw .notAnObject(
                file,
                document: document,
                line: location.line,
                "\(prefix.isEmpty ? "the document" : String(prefix.dropLast())) has no apiVersion and kind; preflight reads rendered "
                    + "Kubernetes manifests (helm template …, kustomize build …), not values files or templates"
            )
        }
        var name: String?
        var namespace: String?
        var labels: [String: String] = [:]
        if let metadata = node["metadata"] {
            guard case .mapping = metadata else {
                throw .wrongType(
                    file,
                    document: document,
                    line: metadata.mark?.line,
                    field: prefix + "metadata",
                    expected: "a mapping",
                    found: Self.typeName(metadata)
                )
            }
            name = try scalar(metadata, "name", file: file, document: document, prefix: prefix + "metadata.")
            if name == nil { name = try scalar(metadata, "generateName", file: file, document: document, prefix: prefix + "metadata.") }
            namespace = try scalar(metadata, "namespace", file: file, document: document, prefix: prefix + "metadata.")
            if case .mapping(let labelMap)? = metadata["labels"] {
                for (key, value) in labelMap {
                    if let key = key.scalar?.string, let value = value.scalar?.string { labels[key] = value }
                }
            }
        }
        var crd: CRDManifest?
        if kind == "CustomResourceDefinition", apiVersion.hasPrefix("apiextensions.k8s.io/") {
            crd = try customResourceDefinition(node, name: name, file: file, document: document, prefix: prefix)
        }
        var images: [LintFinding] = []
        if prefix.isEmpty {
            images = Linter.lint(document: node, file: file)
        } else {
            images = Linter.lint(document: node, file: file).map { finding in
                var finding = finding
                finding.path = prefix + finding.path
                return finding
            }
        }
        return ManifestObject(
            apiVersion: apiVersion,
            kind: kind,
            namespace: namespace,
            name: name,
            location: location,
            crd: crd,
            labels: labels,
            unpinnedImages: images
        )
    }

    private func customResourceDefinition(
        _ node: Node,
        name: String?,
        file: String,
        document: Int,
        prefix: String
    ) throws(PreflightInputError) -> CRDManifest? {
        guard let spec = node["spec"] else { return nil }
        guard case .mapping = spec else {
            throw .wrongType(
                file,
                document: document,
                line: spec.mark?.line,
                field: prefix + "spec",
                expected: "a mapping",
                found: Self.typeName(spec)
            )
        }
        let group = try scalar(spec, "group", file: file, document: document, prefix: prefix + "spec.") ?? ""
        var kind = ""
        var plural = ""
        if let names = spec["names"] {
            guard case .mapping = names else {
                throw .wrongType(
                    file,
                    document: document,
                    line: names.mark?.line,
                    field: prefix + "spec.names",
                    expected: "a mapping",
                    found: Self.typeName(names)
                )
            }
            kind = try scalar(names, "kind", file: file, document: document, prefix: prefix + "spec.names.") ?? ""
            plural = try scalar(names, "plural", file: file, document: document, prefix: prefix + "spec.names.") ?? ""
        }
        var versions: [CRDManifest.Version] = []
        if let list = spec["versions"] {
            guard case .sequence(let items) = list else {
                throw .wrongType(
                    file,
                    document: document,
                    line: list.mark?.line,
                    field: prefix + "spec.versions",
                    expected: "a sequence",
                    found: Self.typeName(list)
                )
            }
            for (index, item) in items.enumerated() {
                let field = prefix + "spec.versions[\(index)]"
                guard case .mapping = item else {
                    throw .wrongType(file, document: document, line: item.mark?.line, field: field, expected: "a mapping", found: Self.typeName(item))
                }
                guard let versionName = try scalar(item, "name", file: file, document: document, prefix: field + ".", required: true) else {
                    throw .wrongType(
                        file,
                        document: document,
                        line: item.mark?.line,
                        field: field + ".name",
                        expected: "a version name",
                        found: "nothing"
                    )
                }
                let served = try bool(item, "served", file: file, document: document, prefix: field + ".") ?? true
                let storage = try bool(item, "storage", file: file, document: document, prefix: field + ".") ?? false
                versions.append(.init(name: versionName, served: served, storage: storage))
            }
        } else if let single = try scalar(spec, "version", file: file, document: document, prefix: prefix + "spec.") {
            // apiextensions.k8s.io/v1beta1 allowed one `spec.version` instead of the list.
            versions = [.init(name: single, served: true, storage: true)]
        }
        let crdName = name ?? (plural.isEmpty || group.isEmpty ? "" : "\(plural).\(group)")
        return CRDManifest(name: crdName, group: group, kind: kind, plural: plural, versions: versions)
    }

    /// A scalar field as text; nil when absent (or null); a mapping or sequence is a ``PreflightInputError``.
    private func scalar(
        _ node: Node,
        _ key: String,
        file: String,
        document: Int,
        prefix: String = "",
        required: Bool = false
    ) throws(PreflightInputError) -> String? {
        guard let value = node[key] else { return nil }
        guard case .scalar(let scalar) = value else {
            throw .wrongType(
                file,
                document: document,
                line: value.mark?.line,
                field: prefix + key,
                expected: "a string",
                found: Self.typeName(value)
            )
        }
        if scalar.style == .plain, ["~", "null", "Null", "NULL", ""].contains(scalar.string) { return nil }
        let text = scalar.string.trimmingSpaces()
        if required, text.isEmpty { return nil }
        return text
    }

    private func bool(_ node: Node, _ key: String, file: String, document: Int, prefix: String) throws(PreflightInputError) -> Bool? {
        guard let value = node[key] else { return nil }
        guard case .scalar(let scalar) = value, let flag = Bool(scalar.string.lowercased()) else {
            throw .wrongType(
                file,
                document: document,
                line: value.mark?.line,
                field: prefix + key,
                expected: "true or false",
                found: Self.typeName(value)
            )
        }
        return flag
    }

    /// What a node is, for error messages ("a mapping", "the number 7"); never more than a short scalar prefix.
    static func typeName(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a sequence"
        case .alias: return "an alias"
        case .scalar(let scalar):
            if scalar.style == .plain, Int(scalar.string) != nil { return "the number \(scalar.string.prefix(20))" }
            if scalar.style == .plain, Bool(scalar.string.lowercased()) != nil { return "the boolean \(scalar.string)" }
            return "a string"
        }
    }

    // MARK: - Text

    private static func utf8(_ bytes: [UInt8], file: String) throws(PreflightInputError) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .unreadable(file, "it is not UTF-8 text") }
        return text
    }

    /// The parser nests recursively: refuse flow collections (`[[[[…`) and `- - - …` runs deeper than `limit` before
    /// parsing, so a short hostile line cannot exhaust the stack.
    static func flowDepthProblem(_ text: String, limit: Int, file: String) -> PreflightInputError? {
        var depth = 0
        var line = 1
        var dashes = 0
        var quote: UInt8? = nil
        var inComment = false
        var atLineStart = true
        // A quote only opens a quoted scalar where a scalar can start; a `#` only starts a comment after a space.
        var last: UInt8 = UInt8(ascii: "\n")
        var lastSignificant: UInt8 = UInt8(ascii: "\n")
        for byte in text.utf8 {
            if byte == UInt8(ascii: "\n") {
                line += 1
                dashes = 0
                atLineStart = true
                inComment = false
                last = byte
                lastSignificant = byte
                continue
            }
            if inComment { continue }
            if let open = quote {
                if byte == open { quote = nil }
                last = byte
                lastSignificant = byte
                continue
            }
            switch byte {
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > limit {
                    return .tooLarge(file, document: nil, line: line, "flow collections ([…], {…}) nest deeper than \(limit) levels")
                }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth = max(depth - 1, 0)
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                if ":[{,-\n?".utf8.contains(lastSignificant) { quote = byte }
            case UInt8(ascii: "#") where last == UInt8(ascii: "\n") || last == UInt8(ascii: " ") || last == UInt8(ascii: "\t"):
                inComment = true
            case UInt8(ascii: "-") where atLineStart:
                dashes += 1
                if dashes > limit {
                    return .tooLarge(file, document: nil, line: line, "block sequences (- - …) nest deeper than \(limit) levels on one line")
                }
            case UInt8(ascii: " "), UInt8(ascii: "\t"):
                break
            default:
                atLineStart = false
            }
            last = byte
            if byte != UInt8(ascii: " "), byte != UInt8(ascii: "\t") { lastSignificant = byte }
        }
        return nil
    }

    /// One located error from a Yams error, without the source snippet (which might hold a secret).
    static func syntaxError(_ error: any Error, file: String, document: Int, text: String) -> PreflightInputError {
        guard let yamlError = error as? YamlError else {
            return .syntax(file, document: document, line: nil, "YAML error: \(error)")
        }
        var message: String
        var line: Int?
        switch yamlError {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            message = "YAML syntax error: \(problem)"
            if let context { message += " (\(context.text) at line \(context.mark.line))" }
            line = mark.line
        case .duplicatedKeysInMapping(let duplicates, let context):
            message = "duplicate key \(duplicates.map { "\"\($0)\"" }.joined(separator: ", ")) in one mapping"
            line = context.mark.line
        case .reader(let problem, let offset, _, let yaml):
            message = "the text is not readable YAML: \(problem)"
            line = offset.map { yaml.utf8.prefix($0).filter { $0 == UInt8(ascii: "\n") }.count + 1 }
        default:
            message = "YAML error: \(yamlError)"
        }
        if text.contains("{{") {
            message += "; this looks like an unrendered Helm template: run helm template and pass its output"
        }
        return .syntax(file, document: document, line: line, message)
    }

    // MARK: - Files

    /// The files to read at `path` (see `filesToRead(at:include:)`).
    static func files(at path: String) throws(PreflightInputError) -> [String] {
        do {
            return try filesToRead(at: path) { $0.lowercased().hasSuffix(".yaml") || $0.lowercased().hasSuffix(".yml") }
        } catch {
            throw .unreadable(error.path, error.reason)
        }
    }
}
