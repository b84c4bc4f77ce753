/// A path that could not be linted: it is missing or unreadable, or a file is not well-formed YAML or exceeds the
/// bounds lint reads (size, aliases expanded, nesting).
///
/// The description names the file and, for syntax errors, the line and column:
/// `deploy/base/service.yaml:7:9: YAML syntax error: mapping values are not allowed in this context`.
/// It never quotes the file's text, which might hold a secret.
public struct LintError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Base: String, Sendable, Hashable {
        case unreadable = "unreadable"
        case syntax = "yaml_syntax"
        case limit = "yaml_limit"
    }

    private let base: Base
    /// The file or directory, as it was reached from the linted path.
    public var file: String
    /// The 1-based line of a syntax error.
    public var line: Int?
    /// The 1-based column of a syntax error, in Unicode scalars.
    public var column: Int?
    /// What went wrong.
    public var message: String

    private init(_ base: Base, file: String, line: Int? = nil, column: Int? = nil, message: String) {
        self.base = base
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    /// The path does not exist or cannot be read.
    static func unreadable(_ file: String, _ why: String) -> LintError {
        LintError(.unreadable, file: file, message: "cannot read \"\(file)\": \(why)")
    }

    /// The file is not well-formed YAML.
    static func syntax(_ file: String, line: Int?, column: Int?, _ message: String) -> LintError {
        LintError(.syntax, file: file, line: line, column: column, message: message)
    }

    /// The file is larger, or its aliases expand further or nest deeper, than lint reads.
    static func limit(_ file: String, line: Int?, _ message: String) -> LintError {
        LintError(.limit, file: file, line: line, message: message)
    }

    /// A short snake_case kind (`unreadable`, `yaml_syntax`, `yaml_limit`), usable as a metric label.
    public var label: String { base.rawValue }

    /// `file:line:column: message`, leaving out the parts that are not known.
    public var description: String {
        switch base {
        case .unreadable:
            return message
        case .syntax, .limit:
            var location = file
            if let line {
                location += ":\(line)"
                if let column { location += ":\(column)" }
            }
            return "\(location): \(message)"
        }
    }
}
