import Foundation
import GateCore
import Yams

// The thin glue between Yams nodes and typed values. Every decoder has the shape `(Node, path) -> T?`: it returns
// the value, or records one error (with the node's line and column) and returns nil. Nothing stops at the first
// error, so one walk over the file reports every problem.

/// Collects every problem found while walking one YAML document.
final class ConfigWalker {
    /// The problems found so far, in walk order.
    private(set) var errors: [ConfigError] = []

    /// Records one problem at a node's position.
    func report(_ kind: ConfigError.Kind, _ path: String, at mark: Mark?, _ message: String) {
        errors.append(ConfigError(path: path, line: mark?.line, column: mark?.column, message: message, kind: kind))
    }

    /// The problems sorted by position; problems without a position go last, and ties keep walk order.
    var sortedErrors: [ConfigError] {
        errors.enumerated().sorted { lhs, rhs in
            let left = (lhs.element.line ?? Int.max, lhs.element.column ?? 0, lhs.offset)
            let right = (rhs.element.line ?? Int.max, rhs.element.column ?? 0, rhs.offset)
            return left < right
        }.map(\.element)
    }
}

/// A YAML mapping being read as one configuration section; reports unknown keys as it is created.
struct MappingReader {
    /// The walker that collects errors.
    let walker: ConfigWalker
    /// The key path of this mapping, e.g. `prometheus.tls`; empty for the top level.
    let path: String
    /// Where errors about a missing key in this mapping point: the key that introduced it, or the mapping itself.
    let mark: Mark?
    private var entries: [String: (key: Node, value: Node)] = [:]

    /// Reads `node` as a mapping whose only allowed keys are `keys`; a null node reads as an empty mapping.
    ///
    /// Returns nil, after recording a type error, when the node is a scalar or a list. YAML merge keys (`<<: *anchor`)
    /// are honoured, with explicit keys taking precedence, as in Go's yaml packages.
    init?(_ walker: ConfigWalker, _ node: Node, path: String, ownerMark: Mark?, keys: [String]) {
        self.walker = walker
        self.path = path
        self.mark = ownerMark ?? node.mark
        if node.isNull { return }
        guard case .mapping(let mapping) = node else {
            let what = path.isEmpty ? "a mapping of configuration keys at the top level" : "a mapping with keys \(keys.joined(separator: ", "))"
            walker.report(.wrongType, path, at: node.mark, "expected \(what), got \(walker.describe(node, path))")
            return nil
        }
        var merged: [(Node, Node)] = []
        for (key, value) in mapping {
            if key.tagName == .merge {
                merged += Self.mergeSources(value, walker: walker, path: path)
            } else {
                add(key, value, keys: keys)
            }
        }
        for (key, value) in merged where key.scalar.map({ entries[$0.string] == nil }) ?? true {
            add(key, value, keys: keys)
        }
    }

    private mutating func add(_ key: Node, _ value: Node, keys: [String]) {
        guard case .scalar(let scalar) = key, !key.isNull else {
            walker.report(.wrongType, path, at: key.mark, "keys must be plain strings, got \(walker.describe(key, path)) as a key")
            return
        }
        let name = scalar.string
        guard keys.contains(name) else {
            walker.report(.unknownKey, child(name), at: key.mark, unknownKeyMessage(name, allowed: keys))
            return
        }
        entries[name] = (key, value)
    }

    private static func mergeSources(_ value: Node, walker: ConfigWalker, path: String) -> [(Node, Node)] {
        switch value {
        case .mapping(let mapping):
            return Array(mapping.map { ($0.key, $0.value) })
        case .sequence(let sequence) where sequence.allSatisfy({ $0.mapping != nil }):
            // Earlier mappings in a merge list win over later ones.
            var seen: Set<String> = []
            var pairs: [(Node, Node)] = []
            for case .mapping(let mapping) in sequence {
                for (key, value) in mapping where seen.insert(key.scalar?.string ?? "").inserted {
                    pairs.append((key, value))
                }
            }
            return pairs
        default:
            walker.report(.wrongType, path, at: value.mark, "a merge key (<<) needs a mapping or a list of mappings")
            return []
        }
    }

    /// The path of a key in this mapping.
    func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// Whether the key is present (whatever its value).
    func has(_ key: String) -> Bool { entries[key] != nil }

    /// The value of a key, if present.
    func value(_ key: String) -> Node? { entries[key]?.value }

    /// The position of a key itself, if present.
    func keyMark(_ key: String) -> Mark? { entries[key]?.key.mark }

    /// Decodes a key's value; nil when absent or invalid (the error is recorded).
    func read<T>(_ key: String, _ decode: (Node, String) -> T?) -> T? {
        guard let value = value(key) else { return nil }
        return decode(value, child(key))
    }

    /// Decodes a key that must be present; records a missing-key error pointing at this mapping.
    func required<T>(_ key: String, _ what: String, _ decode: (Node, String) -> T?) -> T? {
        guard has(key) else {
            walker.report(.missingKey, child(key), at: mark, "missing required key: \(what)")
            return nil
        }
        return read(key, decode)
    }

    /// The nested mapping under a key; nil when absent or not a mapping (the error is recorded).
    func section(_ key: String, keys: [String]) -> MappingReader? {
        guard let value = value(key) else { return nil }
        return MappingReader(walker, value, path: child(key), ownerMark: keyMark(key), keys: keys)
    }

    /// A nested mapping that must be present.
    func requiredSection(_ key: String, keys: [String], _ what: String) -> MappingReader? {
        guard has(key) else {
            walker.report(.missingKey, child(key), at: mark, "missing required section: \(what)")
            return nil
        }
        return section(key, keys: keys)
    }

    private func unknownKeyMessage(_ key: String, allowed: [String]) -> String {
        // Inline secrets get a pointed hint: they must live in files (STYLE rule 6).
        let secretFiles = ["password": "passwordFile", "bearerToken": "bearerTokenFile", "token": "tokenFile"]
        if let file = secretFiles[key], allowed.contains(file) {
            return "unknown key; secrets are only read from files: put it in a file and set \"\(file)\""
        }
        let close = allowed.map { (key: $0, distance: editDistance($0.lowercased(), key.lowercased())) }.min { $0.distance < $1.distance }
        if let close, close.distance <= max(1, min(2, key.count / 3)) {
            return "unknown key; did you mean \"\(close.key)\"?"
        }
        return "unknown key; expected one of: \(allowed.joined(separator: ", "))"
    }
}

/// Levenshtein distance, for "did you mean" hints on short key names.
private func editDistance(_ lhs: String, _ rhs: String) -> Int {
    let a = Array(lhs)
    let b = Array(rhs)
    guard !a.isEmpty else { return b.count }
    guard !b.isEmpty else { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}

extension Node {
    /// Whether this is a YAML null (`~`, `null`, or nothing at all).
    var isNull: Bool {
        if case .scalar = self { return tagName == .null }
        return false
    }

    /// The resolved tag's name (`Tag.name` itself is internal to Yams).
    var tagName: Tag.Name { Tag.Name(rawValue: tag.rawValue) }

    /// Whether this is a quoted (or block) scalar, which YAML always reads as a string.
    var isQuotedScalar: Bool {
        guard case .scalar(let scalar) = self else { return false }
        return scalar.style != .plain && scalar.style != .any
    }
}

/// Whether a value under this path may be a credential, so that messages describe it instead of quoting it.
private func isSensitive(_ path: String) -> Bool {
    let lowered = path.lowercased()
    return ["auth", "token", "password", "secret"].contains { lowered.contains($0) }
}

/// Bounds for durations.
enum DurationBound {
    /// Must be longer than zero.
    case positive
    /// Zero is allowed.
    case nonNegative
}

extension ConfigWalker {
    /// How a found value is named in a type error: `a mapping`, `a list`, `nothing`, `12`, `"one"`.
    func describe(_ node: Node, _ path: String) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            switch node.tagName {
            case .null: return scalar.string.isEmpty ? "nothing" : "null"
            case .bool: return isSensitive(path) ? "a boolean" : scalar.string
            case .int, .float: return isSensitive(path) ? "a number" : scalar.string
            default: return isSensitive(path) ? "a string" : quote(scalar.string)
            }
        }
    }

    /// A string in double quotes with quotes, backslashes and newlines escaped, cut to a readable length.
    func quote(_ text: String) -> String {
        let shown = text.count > 60 ? String(text.prefix(57)) + "…" : text
        var escaped = ""
        for character in shown {
            switch character {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\t": escaped += "\\t"
            default: escaped.append(character)
            }
        }
        return "\"\(escaped)\""
    }

    /// Records a type error: `expected <what>, got <found>`, with a hint when quotes made a number or boolean a string.
    private func wrongType(_ node: Node, _ path: String, expected: String, quotedLooksRight: (String) -> Bool = { _ in false }) {
        var message = "expected \(expected), got \(describe(node, path))"
        if node.isQuotedScalar, let text = node.scalar?.string, quotedLooksRight(text) {
            message += " (quoted, so it is a string: remove the quotes)"
        }
        report(.wrongType, path, at: node.mark, message)
    }

    /// Any non-null scalar, as written (`port: 8080` reads as `"8080"`, as in Go's yaml packages).
    func string(_ node: Node, _ path: String) -> String? {
        guard case .scalar(let scalar) = node, !node.isNull else {
            wrongType(node, path, expected: "a string")
            return nil
        }
        return scalar.string
    }

    /// A string that is not empty or only whitespace.
    func nonEmptyString(_ node: Node, _ path: String) -> String? {
        guard let text = string(node, path) else { return nil }
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            report(.invalidValue, path, at: node.mark, "must not be empty")
            return nil
        }
        return text
    }

    /// A path to a file, recorded and never read here.
    func filePath(_ node: Node, _ path: String) -> String? {
        nonEmptyString(node, path)
    }

    /// A YAML boolean (`true`/`false`; YAML 1.1's `yes`/`no`/`on`/`off` too).
    func bool(_ node: Node, _ path: String) -> Bool? {
        if case .scalar(let scalar) = node, node.tagName == .bool, let value = Bool.construct(from: scalar) { return value }
        let booleans: Set<String> = ["true", "false", "yes", "no", "on", "off"]
        wrongType(node, path, expected: "true or false") { booleans.contains($0.lowercased()) }
        return nil
    }

    /// A finite YAML number (integer or float).
    func number(_ node: Node, _ path: String) -> Double? {
        guard case .scalar(let scalar) = node, [.int, .float].contains(node.tagName),
            let value = Int.construct(from: scalar).map(Double.init) ?? Double.construct(from: scalar)
        else {
            wrongType(node, path, expected: "a number") { Double($0) != nil }
            return nil
        }
        guard value.isFinite else {
            report(.invalidValue, path, at: node.mark, "must be a finite number, got \(scalar.string)")
            return nil
        }
        return value
    }

    /// A finite number that is not negative.
    func nonNegativeNumber(_ node: Node, _ path: String) -> Double? {
        guard let value = number(node, path) else { return nil }
        guard value >= 0 else {
            report(.invalidValue, path, at: node.mark, "must not be negative, got \(formatNumber(value))")
            return nil
        }
        return value
    }

    /// A decoder for a whole number of at least `minimum`.
    func integer(atLeast minimum: Int) -> (Node, String) -> Int? {
        { node, path in
            guard case .scalar(let scalar) = node, node.tagName == .int, let value = Int.construct(from: scalar) else {
                self.wrongType(node, path, expected: "a whole number") { Int($0) != nil }
                return nil
            }
            guard value >= minimum else {
                self.report(.invalidValue, path, at: node.mark, "must be at least \(minimum), got \(value)")
                return nil
            }
            return value
        }
    }

    /// A decoder for a Prometheus duration (`30s`, `1h30m`), in seconds.
    func duration(_ bound: DurationBound) -> (Node, String) -> Double? {
        { node, path in
            guard case .scalar(let scalar) = node, !node.isNull else {
                self.wrongType(node, path, expected: "a duration such as \"30s\" or \"1h30m\"")
                return nil
            }
            let text = scalar.string
            guard let seconds = parsePrometheusDuration(text) else {
                let shown = self.describe(node, path)
                let why: String
                if Double(text) != nil {
                    why = "a duration needs a unit (ms, s, m, h, d, w, y), e.g. \"\(text)s\"; got \(shown)"
                } else if text.hasPrefix("-") {
                    why = "a duration cannot be negative, got \(shown)"
                } else if text.contains(".") {
                    why = "a duration cannot have fractions (write \"1m30s\", not \"1.5m\"), got \(shown)"
                } else {
                    why =
                        "expected a Prometheus duration such as \"30s\", \"5m\" or \"1h30m\" "
                        + "(units y, w, d, h, m, s, ms, largest first), got \(shown)"
                }
                self.report(.invalidValue, path, at: node.mark, why)
                return nil
            }
            if bound == .positive && seconds == 0 {
                self.report(.invalidValue, path, at: node.mark, "must be longer than 0s")
                return nil
            }
            return seconds
        }
    }

    /// A decoder for one of an enumeration's raw values.
    func choice<Value: RawRepresentable & CaseIterable>(_ type: Value.Type) -> (Node, String) -> Value? where Value.RawValue == String {
        { node, path in
            let options = Value.allCases.map(\.rawValue).joined(separator: ", ")
            guard case .scalar(let scalar) = node, !node.isNull else {
                self.wrongType(node, path, expected: "one of \(options)")
                return nil
            }
            guard let value = Value(rawValue: scalar.string) else {
                self.report(.invalidValue, path, at: node.mark, "expected one of \(options); got \(self.describe(node, path))")
                return nil
            }
            return value
        }
    }

    /// An `http` or `https` URL with a host, without credentials, query or fragment; trailing slashes are dropped.
    func url(_ node: Node, _ path: String) -> String? {
        guard var text = nonEmptyString(node, path) else { return nil }
        let components = URLComponents(string: text)
        // Never quote a URL that may carry credentials or a token in its query.
        let shown = text.contains("@") || text.contains("?") ? "a URL with credentials or a query" : describe(node, path)
        guard let components, let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty
        else {
            report(.invalidValue, path, at: node.mark, "expected an http:// or https:// URL with a host, got \(shown)")
            return nil
        }
        guard components.user == nil, components.password == nil else {
            report(.invalidValue, path, at: node.mark, "the URL must not contain credentials; use basicAuth with passwordFile, or a token file")
            return nil
        }
        guard components.query == nil, components.fragment == nil else {
            report(.invalidValue, path, at: node.mark, "the URL must not have a query or a fragment")
            return nil
        }
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }

    /// A DNS-1123 label: lowercase letters, digits and `-`, starting and ending with a letter or digit, ≤ 63.
    func dnsLabel(_ node: Node, _ path: String) -> String? {
        guard let text = string(node, path) else { return nil }
        guard isDNS1123Label(text) else {
            report(
                .invalidValue,
                path,
                at: node.mark,
                "must be a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit, "
                    + "at most 63 characters), got \(describe(node, path))"
            )
            return nil
        }
        return text
    }

    /// A list whose items are decoded one by one; a null node reads as an empty list.
    func list<T>(_ node: Node, _ path: String, what: String, _ item: (Node, String) -> T?) -> [T]? {
        if node.isNull { return [] }
        guard case .sequence(let sequence) = node else {
            wrongType(node, path, expected: "a list of \(what)")
            return nil
        }
        var items: [T] = []
        var failed = false
        for (index, element) in sequence.enumerated() {
            if let value = item(element, "\(path)[\(index)]") { items.append(value) } else { failed = true }
        }
        return failed ? nil : items
    }
}

/// Whether `text` is a DNS-1123 label (Kubernetes object and namespace names).
func isDNS1123Label(_ text: String) -> Bool {
    let scalars = Array(text.unicodeScalars)
    func allowed(_ scalar: Unicode.Scalar) -> Bool { ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "-" }
    guard let first = scalars.first, let last = scalars.last, scalars.count <= 63 else { return false }
    return scalars.allSatisfy(allowed) && first != "-" && last != "-"
}
