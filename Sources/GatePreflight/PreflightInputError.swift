/// Manifests that could not be read: a missing path, text that is not YAML, a document too large or too deeply
/// aliased to walk, or a field of the wrong type.
///
/// The description names the file, the 1-based document index in that file and the line:
/// `chart.yaml: document 3, line 12: metadata must be a mapping, not a sequence`. It never quotes the manifest's
/// text, which might hold a secret.
public struct PreflightInputError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Base: String, Sendable, Hashable {
        case unreadable
        case syntax = "yaml_syntax"
        case tooLarge = "too_large"
        case wrongType = "wrong_type"
        case notAnObject = "not_an_object"
        case usage
    }

    private let base: Base
    /// The file (or `-` for standard input, `body` for an API request).
    public let file: String
    /// The 1-based index of the document in the file, when known.
    public let document: Int?
    /// The 1-based line, when known.
    public let line: Int?
    /// The field at fault (`metadata.name`, `spec.versions[1].name`), when there is one.
    public let field: String?
    /// What is wrong and how to fix it.
    public let message: String

    private init(_ base: Base, file: String, document: Int? = nil, line: Int? = nil, field: String? = nil, message: String) {
        self.base = base
        self.file = file
        self.document = document
        self.line = line
        self.field = field
        self.message = message
    }

    /// The path does not exist, cannot be read, or is not UTF-8 text.
    static func unreadable(_ file: String, _ why: String) -> PreflightInputError {
        PreflightInputError(.unreadable, file: file, message: "cannot read \"\(file)\": \(why)")
    }

    /// The text is not well-formed YAML.
    static func syntax(_ file: String, document: Int, line: Int?, _ message: String) -> PreflightInputError {
        PreflightInputError(.syntax, file: file, document: document, line: line, message: message)
    }

    /// The input, a document, or its alias expansion is larger than preflight walks.
    static func tooLarge(_ file: String, document: Int?, line: Int?, _ message: String) -> PreflightInputError {
        PreflightInputError(.tooLarge, file: file, document: document, line: line, message: message)
    }

    /// A field preflight reads has the wrong YAML type.
    static func wrongType(_ file: String, document: Int, line: Int?, field: String, expected: String, found: String) -> PreflightInputError {
        PreflightInputError(
            .wrongType,
            file: file,
            document: document,
            line: line,
            field: field,
            message: "\(field) must be \(expected), not \(found)"
        )
    }

    /// A document that is not a Kubernetes object (no `apiVersion` and `kind`).
    static func notAnObject(_ file: String, document: Int, line: Int?, _ message: String) -> PreflightInputError {
        PreflightInputError(.notAnObject, file: file, document: document, line: line, message: message)
    }

    /// A flag or request parameter that cannot be used.
    public static func usage(_ message: String, field: String? = nil) -> PreflightInputError {
        PreflightInputError(.usage, file: "", field: field, message: message)
    }

    /// A short snake_case kind, usable as a metric label.
    public var label: String { base.rawValue }

    /// `file: document N, line L: message`, leaving out what is not known.
    public var description: String {
        guard base != .usage, base != .unreadable else { return message }
        var location = file
        if let document { location += ": document \(document)" }
        if let line { location += document == nil ? ":\(line)" : ", line \(line)" }
        return "\(location): \(message)"
    }
}
