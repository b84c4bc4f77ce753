/// One problem in a configuration file: which key, where in the file, and what is wrong.
///
/// The description reads `line 12, column 5: checks[0].min: expected a number, got "one"`, so an operator can jump
/// straight to the line. Messages never contain secrets: values under credential keys are described, not quoted.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The key path, e.g. `checks[2].maxIncrease` or `prometheus.timeout`; empty for whole-file problems.
    public var path: String
    /// The 1-based line the problem is at, when known.
    public var line: Int?
    /// The 1-based column (in Unicode scalars) the problem is at, when known.
    public var column: Int?
    /// What is wrong and, where it helps, how to fix it.
    public var message: String
    /// The kind of problem, bounded so it can be a metric label.
    public var kind: Kind

    /// Creates an error; `kind` defaults to ``Kind/invalidValue``.
    public init(path: String, line: Int?, column: Int?, message: String, kind: Kind = .invalidValue) {
        self.path = path
        self.line = line
        self.column = column
        self.message = message
        self.kind = kind
    }

    /// `line L, column C: path: message`, leaving out the parts that are not known.
    public var description: String {
        var text = ""
        if let line {
            text += "line \(line)"
            if let column { text += ", column \(column)" }
            text += ": "
        }
        if !path.isEmpty { text += path + ": " }
        return text + message
    }

    /// A closed, extensible set of configuration problem kinds.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case unreadable = "unreadable"
            case syntax = "yaml_syntax"
            case unknownKey = "unknown_key"
            case missingKey = "missing_key"
            case wrongType = "wrong_type"
            case invalidValue = "invalid_value"
            case duplicate = "duplicate"
            case conflict = "conflict"
            case yamlLimit = "yaml_limit"
        }

        private let base: Base

        private init(_ base: Base) { self.base = base }

        /// The file could not be read (missing, a directory, no permission, not UTF-8).
        public static let unreadable = Kind(.unreadable)
        /// The file is not well-formed YAML.
        public static let syntax = Kind(.syntax)
        /// A key that upgrade-gate does not know (often a typo).
        public static let unknownKey = Kind(.unknownKey)
        /// A required key is absent.
        public static let missingKey = Kind(.missingKey)
        /// A value of the wrong YAML type (a string where a number belongs, a list where a mapping belongs).
        public static let wrongType = Kind(.wrongType)
        /// A value of the right type that is out of range or malformed.
        public static let invalidValue = Kind(.invalidValue)
        /// A name or key given twice.
        public static let duplicate = Kind(.duplicate)
        /// Values that are fine alone but contradict each other.
        public static let conflict = Kind(.conflict)
        /// The file exceeds what the loader reads: too large, too many nodes once aliases are expanded, too deep.
        public static let yamlLimit = Kind(.yamlLimit)

        /// A short snake_case name, usable as a metric label.
        public var label: String { base.rawValue }

        /// The same as ``label``.
        public var description: String { base.rawValue }
    }
}

/// Every problem found in one configuration file, in file order.
public struct ConfigErrors: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file name (or `<config>` for text given directly) the errors refer to.
    public var source: String
    /// The problems, sorted by line and column; never empty when thrown.
    public var errors: [ConfigError]

    /// Creates a collection of errors about `source`.
    public init(source: String, errors: [ConfigError]) {
        self.source = source
        self.errors = errors
    }

    /// One error per line, each prefixed with the source: `gate.yaml: line 3, column 12: prometheus.timeout: …`.
    public var description: String {
        errors.map { source.isEmpty ? $0.description : "\(source): \($0.description)" }.joined(separator: "\n")
    }
}
