/// The operator of an Alertmanager label matcher.
public enum MatchOp: String, Sendable, Equatable, Hashable, CaseIterable, CustomStringConvertible {
    /// `=`: the label equals the value.
    case equal = "="
    /// `!=`: the label differs from the value.
    case notEqual = "!="
    /// `=~`: the label matches the (fully anchored) regular expression.
    case regexMatch = "=~"
    /// `!~`: the label does not match the (fully anchored) regular expression.
    case regexNoMatch = "!~"

    /// Whether the value is a regular expression.
    public var isRegex: Bool { self == .regexMatch || self == .regexNoMatch }

    /// The operator as written, e.g. `=~`.
    public var description: String { rawValue }
}

/// One Alertmanager label matcher, such as `severity=~"critical|warning"`, and its matching.
///
/// Semantics are Alertmanager's: `=`/`!=` compare exactly; `=~`/`!~` are fully anchored (`^(?:re)$`), so
/// `=~"crit"` does not match `critical`; a missing label matches as the empty string, so `foo!=""` means
/// "foo is set" and `foo=~".*"` matches every label set.
///
/// Regular expressions are RE2's, the syntax Alertmanager accepts, and match in time linear in the label value
/// whatever the pattern (see ``RE2Regex``): backreferences, lookaround and other constructs that would need
/// backtracking are rejected by ``init(parsing:)``. They match by Unicode scalar, as RE2 matches by rune, and `.`
/// does not match a newline unless the pattern sets `(?s)`.
public struct LabelMatcher: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The label name, `[a-zA-Z_][a-zA-Z0-9_]*`.
    public var name: String
    /// The operator.
    public var op: MatchOp {
        didSet { regex = Self.compile(op, value) }
    }
    /// The value, unquoted and unescaped; a regular expression for `=~` and `!~` (anchored at both ends).
    public var value: String {
        didSet { regex = Self.compile(op, value) }
    }

    // Compiled once, when the matcher is made (and again if `op` or `value` change), because matching runs for
    // every alert of every notification. Copies of the matcher share the immutable compiled program.
    private var regex: Result<RE2Regex, RE2CompileError>?

    /// Creates a matcher without checking it.
    ///
    /// - Important: A regular expression that does not compile matches nothing: both `=~` and `!~` answer
    ///   `false` (so an ignore entry holding one ignores no alert). Use `init(parsing:)` to reject it instead.
    public init(name: String, op: MatchOp, value: String) {
        self.name = name
        self.op = op
        self.value = value
        self.regex = Self.compile(op, value)
    }

    /// Parses exactly one matcher: `name op "value"` or `name op value`.
    public init(parsing text: String) throws(MatcherError) {
        var scanner = MatcherScanner(text)
        let matcher = try scanner.matcher(stopAtComma: false)
        scanner.skipSpaces()
        guard scanner.atEnd else { throw MatcherError(text, .trailing(String(scanner.rest))) }
        self = matcher
    }

    /// Parses one or more comma-separated matchers, optionally in braces: `{alertname="Watchdog", severity!="info"}`.
    ///
    /// This is what one entry of Alertmanager's `matchers:` list accepts; the matchers are ANDed.
    public static func parseList(_ text: String) throws(MatcherError) -> [LabelMatcher] {
        var body = trimmed(Substring(text))
        if body.hasPrefix("{") {
            guard body.hasSuffix("}") else { throw MatcherError(text, .unbalancedBraces) }
            body = body.dropFirst().dropLast()
        }
        var scanner = MatcherScanner(String(body), original: text)
        var matchers: [LabelMatcher] = []
        scanner.skipSpaces()
        guard !scanner.atEnd else { throw MatcherError(text, .empty) }
        while true {
            matchers.append(try scanner.matcher(stopAtComma: true))
            scanner.skipSpaces()
            if scanner.atEnd { break }
            guard scanner.take(",") else { throw MatcherError(text, .trailing(String(scanner.rest))) }
            scanner.skipSpaces()
            // A trailing comma is allowed, as in Alertmanager.
            if scanner.atEnd { break }
        }
        return matchers
    }

    /// Whether the label set satisfies this matcher; a missing label matches as the empty string.
    public func matches(_ labels: Labels) -> Bool {
        let actual = labels[name] ?? ""
        switch op {
        case .equal: return actual == value
        case .notEqual: return actual != value
        case .regexMatch: return regexMatches(actual) == true
        case .regexNoMatch: return regexMatches(actual) == false
        }
    }

    /// Whether the whole of `text` matches the regular expression; `nil` when it does not compile.
    private func regexMatches(_ text: String) -> Bool? {
        guard case .success(let regex)? = regex else { return nil }
        // `wholeMatch` anchors at both ends: Alertmanager's `^(?:re)$`, where `$` is the end of the text.
        return regex.wholeMatch(text)
    }

    /// The matcher in Alertmanager syntax with a quoted value, e.g. `alertname="Watchdog"`.
    public var description: String {
        "\(name)\(op.rawValue)\(PromQLString.quote(value))"
    }

    /// Two matchers are equal when name, operator and value are (the compiled regex follows from them).
    public static func == (lhs: LabelMatcher, rhs: LabelMatcher) -> Bool {
        lhs.name == rhs.name && lhs.op == rhs.op && lhs.value == rhs.value
    }

    /// Hashes name, operator and value, consistently with `==`.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(op)
        hasher.combine(value)
    }

    /// Whether the value is usable: always for `=`/`!=`, and when the regular expression compiles for `=~`/`!~`.
    var compiles: Bool { compileError == nil }

    /// RE2's reason for refusing the regular expression; `nil` for `=`/`!=` and for a pattern that compiles.
    public var compileError: String? {
        guard case .failure(let error)? = regex else { return nil }
        return error.reason
    }

    /// The compiled regex value; `nil` for `=`/`!=`.
    private static func compile(_ op: MatchOp, _ value: String) -> Result<RE2Regex, RE2CompileError>? {
        guard op.isRegex else { return nil }
        // RE2 parses the value on its own and anchors the whole of it, so an alternation stays whole (`a|b` is
        // never `^a|b$`) and an unbalanced `a)|(b` is refused instead of escaping a `(?:…)` wrapper.
        return Result { () throws(RE2CompileError) in try RE2Regex(value) }
    }
}

extension Array where Element == LabelMatcher {
    /// Whether the label set satisfies every matcher; an empty list matches every label set.
    public func matches(_ labels: Labels) -> Bool {
        allSatisfy { $0.matches(labels) }
    }
}

extension Labels {
    /// Whether `name` is a Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first else { return false }
        func isLetter(_ scalar: Unicode.Scalar) -> Bool { ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || scalar == "_" }
        return isLetter(first) && name.unicodeScalars.allSatisfy { isLetter($0) || ("0"..."9").contains($0) }
    }
}

/// Why a label matcher could not be parsed.
public struct MatcherError: Error, Sendable, Equatable, CustomStringConvertible {
    fileprivate enum Reason: Equatable {
        case empty
        case badName
        case badOperator(String)
        case unterminatedQuote
        case badEscape(Character)
        case quoteInUnquotedValue
        case badRegex(String, String)
        case unbalancedBraces
        case trailing(String)
    }

    /// The text that was parsed.
    public var input: String
    fileprivate var reason: Reason

    fileprivate init(_ input: String, _ reason: Reason) {
        self.input = input
        self.reason = reason
    }

    /// A short snake_case name for the kind of problem, usable as a metric label.
    public var label: String {
        switch reason {
        case .empty: return "empty"
        case .badName: return "bad_label_name"
        case .badOperator: return "bad_operator"
        case .unterminatedQuote, .badEscape, .quoteInUnquotedValue: return "bad_quoting"
        case .badRegex: return "bad_regex"
        case .unbalancedBraces: return "unbalanced_braces"
        case .trailing: return "trailing_text"
        }
    }

    /// What is wrong with the matcher, without repeating the whole input.
    public var description: String {
        switch reason {
        case .empty:
            return "empty matcher; expected name op \"value\", e.g. severity=\"critical\""
        case .badName:
            return "expected a label name ([a-zA-Z_][a-zA-Z0-9_]*) at the start of the matcher"
        case .badOperator(let name):
            return "expected an operator (=, !=, =~ or !~) after label name \"\(name)\""
        case .unterminatedQuote:
            return "the quoted value has no closing double quote"
        case .badEscape(let character):
            return "unknown escape \"\\\(character)\" in the quoted value (use \\\\, \\\", \\n, \\t, \\r or \\uXXXX)"
        case .quoteInUnquotedValue:
            return "an unquoted value may not contain a double quote; quote the whole value"
        case .badRegex(let pattern, let reason):
            return "the regular expression \"\(pattern)\" is not valid RE2: \(reason)"
        case .unbalancedBraces:
            return "the matcher list opens with \"{\" but does not end with \"}\""
        case .trailing(let rest):
            return "unexpected text \"\(rest)\" after the matcher (separate matchers with commas)"
        }
    }
}

/// A small hand-written scanner for Alertmanager matchers; the grammar is too small for a parser library.
///
/// It reads Unicode scalars, as Alertmanager's parser reads runes: a quote followed by a combining mark is still a
/// quote, though Swift would see one `Character`.
private struct MatcherScanner {
    private let scalars: [Unicode.Scalar]
    private let original: String
    private var index = 0

    init(_ text: String, original: String? = nil) {
        self.scalars = Array(text.unicodeScalars)
        self.original = original ?? text
    }

    var atEnd: Bool { index >= scalars.count }
    var rest: Substring { Substring(string(scalars[index...])) }

    mutating func skipSpaces() {
        while !atEnd, scalars[index].properties.isWhitespace { index += 1 }
    }

    mutating func take(_ prefix: String) -> Bool {
        let wanted = Array(prefix.unicodeScalars)
        guard index + wanted.count <= scalars.count, Array(scalars[index..<index + wanted.count]) == wanted else { return false }
        index += wanted.count
        return true
    }

    mutating func matcher(stopAtComma: Bool) throws(MatcherError) -> LabelMatcher {
        skipSpaces()
        guard !atEnd else { throw MatcherError(original, .empty) }
        let nameStart = index
        while !atEnd, scalars[index].isASCII, scalars[index].properties.isAlphabetic || ("0"..."9").contains(scalars[index]) || scalars[index] == "_"
        {
            index += 1
        }
        let name = string(scalars[nameStart..<index])
        guard Labels.isValidName(name) else { throw MatcherError(original, .badName) }
        skipSpaces()
        // Two-character operators first, so that `=~` is not read as `=` followed by a value `~…`.
        guard let op = [MatchOp.regexMatch, .notEqual, .regexNoMatch, .equal].first(where: { take($0.rawValue) }) else {
            throw MatcherError(original, .badOperator(name))
        }
        skipSpaces()
        let value = try self.value(stopAtComma: stopAtComma)
        let matcher = LabelMatcher(name: name, op: op, value: value)
        if let reason = matcher.compileError { throw MatcherError(original, .badRegex(value, reason)) }
        return matcher
    }

    private mutating func value(stopAtComma: Bool) throws(MatcherError) -> String {
        if take("\"") {
            var value = String.UnicodeScalarView()
            while !atEnd {
                let scalar = scalars[index]
                index += 1
                switch scalar {
                case "\"":
                    return String(value)
                case "\\":
                    guard !atEnd else { throw MatcherError(original, .unterminatedQuote) }
                    let escaped = scalars[index]
                    index += 1
                    switch escaped {
                    case "\\": value.append("\\")
                    case "\"": value.append("\"")
                    case "n": value.append("\n")
                    case "t": value.append("\t")
                    case "r": value.append("\r")
                    case "u":
                        // `\uXXXX`, as ``PromQLString`` writes other control characters.
                        guard index + 4 <= scalars.count, let code = UInt32(string(scalars[index..<index + 4]), radix: 16),
                            let unicode = Unicode.Scalar(code)
                        else { throw MatcherError(original, .badEscape(Character(escaped))) }
                        index += 4
                        value.append(unicode)
                    default: throw MatcherError(original, .badEscape(Character(escaped)))
                    }
                default:
                    value.append(scalar)
                }
            }
            throw MatcherError(original, .unterminatedQuote)
        }
        let start = index
        while !atEnd, !(stopAtComma && scalars[index] == ",") {
            if scalars[index] == "\"" { throw MatcherError(original, .quoteInUnquotedValue) }
            index += 1
        }
        return String(trimmed(Substring(string(scalars[start..<index]))))
    }
}

/// The text of a run of scalars.
private func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
    var view = String.UnicodeScalarView()
    view.append(contentsOf: scalars)
    return String(view)
}

/// `text` without leading and trailing whitespace.
private func trimmed(_ text: Substring) -> Substring {
    guard let first = text.firstIndex(where: { !$0.isWhitespace }), let last = text.lastIndex(where: { !$0.isWhitespace }) else {
        return text[text.endIndex...]
    }
    return text[first...last]
}
