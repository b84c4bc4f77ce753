/// One image reference that breaks the version-pinning policy, located in its file.
///
/// The description is one line an editor can jump to:
/// `deploy/base/deployment.yaml:31: spec.template.spec.containers[0].image: ghcr.io/x/y:latest uses the mutable tag
/// "latest"; pin a version tag and a digest (@sha256:…)`.
public struct LintFinding: Sendable, Equatable, CustomStringConvertible {
    /// The file as it was reached from the linted path (`deploy/base/deployment.yaml`).
    public var file: String
    /// The 1-based line of the offending value, when known.
    public var line: Int?
    /// Where in the document the image is: `spec.template.spec.containers[0].image`, `image.tag`, `FROM`.
    public var path: String
    /// The image reference as the file spells it (for Helm values, assembled from repository, tag and digest).
    public var image: String
    /// Which rule the reference breaks.
    public var problem: LintProblem

    /// Creates a finding.
    public init(file: String, line: Int?, path: String, image: String, problem: LintProblem) {
        self.file = file
        self.line = line
        self.path = path
        self.image = image
        self.problem = problem
    }

    /// `file:line: path: what is wrong; how to fix it`.
    public var description: String {
        let location = line.map { "\(file):\($0)" } ?? file
        return "\(location): \(path): \(problem.message(for: image))"
    }
}

/// A rule of the version-pinning policy, as a closed, extensible set.
public struct LintProblem: Sendable, Hashable, CustomStringConvertible {
    private enum Base: String, Sendable, Hashable {
        case noTag = "no_tag"
        case latest = "latest"
        case mutableTag = "mutable_tag"
        case invalidDigest = "invalid_digest"
    }

    private let base: Base

    private init(_ base: Base) { self.base = base }

    /// Neither a tag nor a digest (`nginx`, `localhost:5000/app`): the runtime pulls `latest`.
    public static let noTag = LintProblem(.noTag)
    /// The tag `latest`, flagged even with a digest: the policy is "never latest".
    public static let latest = LintProblem(.latest)
    /// A tag that moves (`stable`, `main`, `v1`, `1.2`, `alpine`) and no digest to hold it still.
    public static let mutableTag = LintProblem(.mutableTag)
    /// Something after `@` that is not `sha256:` and 64 lowercase hex digits (or `sha512:` and 128).
    public static let invalidDigest = LintProblem(.invalidDigest)

    /// A short snake_case name, usable as a metric label.
    public var label: String { base.rawValue }

    /// The same as ``label``.
    public var description: String { base.rawValue }

    /// What is wrong with `image`, and how to fix it.
    func message(for image: String) -> String {
        let pin = "pin a version tag and a digest (@sha256:…)"
        switch base {
        case .noTag:
            return "\(image) has no tag and no digest, so it pulls \"latest\"; \(pin)"
        case .latest:
            return "\(image) uses the mutable tag \"latest\"; \(pin)"
        case .mutableTag:
            let tag = ImageReference(parsing: image)?.tag ?? ""
            return "\(image) uses the mutable tag \"\(tag)\" without a digest; pin a full version tag (such as 1.13.1) "
                + "or add a digest (@sha256:…)"
        case .invalidDigest:
            let digest = ImageReference(parsing: image)?.digest ?? ""
            return "\(image) has the malformed digest \"\(digest)\"; a digest is sha256: followed by 64 lowercase hex digits"
        }
    }
}
