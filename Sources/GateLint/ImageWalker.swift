import Yams

/// Finds the image references in one parsed YAML document and judges each against the pinning policy.
///
/// The whole tree is walked, so every shape that nests pod specs is covered without a list of kinds: Pods,
/// Deployments, CronJobs (`spec.jobTemplate.spec.template.spec`), Argo Rollouts, Flagger-managed workloads and any
/// other custom resource. It recognises:
/// - a string under a key named `image` (containers, init and ephemeral containers, Helm's `image: "repo:tag"`,
///   Compose services);
/// - a mapping with `repository` and a `tag` or `digest` (Helm's `image: {registry?, repository, tag, digest?}`);
///   one with only a `repository`, or an empty `tag`, is skipped: charts then default to their `appVersion`, which the
///   chart version pins;
/// - kustomize's `images: [{name, newName?, newTag?, digest?}]` overrides at the root of a kustomization.
///
/// Values holding a template placeholder (`{{ .Values.image.tag }}`, `${TAG}`) are skipped: they are decided where
/// they are rendered, and the rendered output is what to lint.
struct ImageWalker {
    /// The file being linted, for findings.
    let file: String
    /// What the walk found, in document order.
    private(set) var findings: [LintFinding] = []

    /// Creates a walker for one file's documents.
    init(file: String) { self.file = file }

    /// Walks one document from its root.
    mutating func walk(document root: Node) {
        walk(root, path: "", isRoot: true)
    }

    private mutating func walk(_ node: Node, path: String, isRoot: Bool = false) {
        switch node {
        case .mapping(let mapping):
            checkRepositoryMapping(mapping, path: path)
            for (keyNode, value) in mapping {
                guard let key = keyNode.scalar?.string else { continue }
                let childPath = path.isEmpty ? key : "\(path).\(key)"
                if key == "image", let scalar = value.scalar, let text = Self.text(of: scalar) {
                    check(text, path: childPath, line: scalar.mark?.line)
                }
                if isRoot, key == "images", case .sequence(let items) = value {
                    checkKustomizeImages(items, path: childPath)
                }
                walk(value, path: childPath)
            }
        case .sequence(let sequence):
            for (index, item) in sequence.enumerated() {
                walk(item, path: "\(path)[\(index)]")
            }
        case .scalar, .alias:
            break
        }
    }

    /// Helm's structured form: `{registry?, repository, tag, digest?}`.
    private mutating func checkRepositoryMapping(_ mapping: Node.Mapping, path: String) {
        guard let repositoryNode = mapping["repository"]?.scalar, let repository = Self.text(of: repositoryNode) else { return }
        let tagNode = mapping["tag"]?.scalar
        let digestNode = mapping["digest"]?.scalar
        let tag = tagNode.flatMap(Self.text(of:))
        let digest = digestNode.flatMap(Self.text(of:))
        guard tag != nil || digest != nil else { return }
        var image = repository
        if let registry = mapping["registry"]?.scalar.flatMap(Self.text(of:)) { image = "\(registry)/\(repository)" }
        if let tag { image += ":\(tag)" }
        if let digest { image += "@\(digest)" }
        let prefix = path.isEmpty ? "" : "\(path)."
        report(image, tag: (prefix + "tag", tagNode), digest: (prefix + "digest", digestNode), hasTag: tag != nil)
    }

    /// Kustomize's `images:` overrides; one that only renames keeps the tag of the base, which is linted there.
    private mutating func checkKustomizeImages(_ items: Node.Sequence, path: String) {
        for (index, item) in items.enumerated() {
            guard case .mapping(let mapping) = item, let name = mapping["name"]?.scalar.flatMap(Self.text(of:)) else { continue }
            let newTagNode = mapping["newTag"]?.scalar
            let digestNode = mapping["digest"]?.scalar
            let newTag = newTagNode.flatMap(Self.text(of:))
            let digest = digestNode.flatMap(Self.text(of:))
            guard newTag != nil || digest != nil else { continue }
            var image = mapping["newName"]?.scalar.flatMap(Self.text(of:)) ?? name
            if let newTag { image += ":\(newTag)" }
            if let digest { image += "@\(digest)" }
            let prefix = "\(path)[\(index)]."
            report(image, tag: (prefix + "newTag", newTagNode), digest: (prefix + "digest", digestNode), hasTag: newTag != nil)
        }
    }

    /// Judges a reference assembled from separate keys, and points the finding at the key to change.
    private mutating func report(_ image: String, tag: (path: String, node: Node.Scalar?), digest: (path: String, node: Node.Scalar?), hasTag: Bool) {
        guard var finding = Self.judge(image, file: file, path: tag.path, line: tag.node?.mark?.line) else { return }
        if finding.problem == .invalidDigest || !hasTag {
            finding.path = digest.path
            finding.line = digest.node?.mark?.line
        }
        findings.append(finding)
    }

    private mutating func check(_ image: String, path: String, line: Int?) {
        if let finding = Self.judge(image, file: file, path: path, line: line) {
            findings.append(finding)
        }
    }

    /// The finding for one reference, or nil when it is pinned, a placeholder, or not an image reference at all.
    static func judge(_ image: String, file: String, path: String, line: Int?) -> LintFinding? {
        let image = image.trimmingWhitespace()
        guard !image.hasPlaceholder, let reference = ImageReference(parsing: image), let problem = reference.problem else { return nil }
        return LintFinding(file: file, line: line, path: path, image: image, problem: problem)
    }

    /// A scalar's source text, or nil for null and empty values (Helm's "use the chart default").
    ///
    /// The source text, not the resolved value, is what matters: `tag: 1.20` is the tag "1.20", not the number 1.2.
    private static func text(of scalar: Node.Scalar) -> String? {
        let text = scalar.string.trimmingWhitespace()
        if text.isEmpty { return nil }
        if scalar.style == .plain, ["~", "null", "Null", "NULL"].contains(text) { return nil }
        return text
    }
}
