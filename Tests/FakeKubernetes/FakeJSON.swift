import Foundation
import Yams

/// A JSON value as the fake API server stores and serves it.
///
/// The fake deliberately shares no code with the client under test (``GateSources``), so a wire mistake in one is
/// not hidden by the same mistake in the other.
public enum FakeJSON: Sendable, Hashable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number; integral values count as JSON integers, as Kubernetes' own decoder treats them.
    case number(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([FakeJSON])
    /// An object.
    case object([String: FakeJSON])

    /// The member `key` of an object.
    public subscript(key: String) -> FakeJSON? {
        get {
            guard case .object(let members) = self else { return nil }
            return members[key]
        }
        set {
            guard case .object(var members) = self else { return }
            members[key] = newValue
            self = .object(members)
        }
    }

    /// The value at a dotted path such as `spec.backupName` (no array indexes).
    public func value(at path: String) -> FakeJSON? {
        var current: FakeJSON? = self
        for key in path.split(separator: ".") { current = current?[String(key)] }
        return current
    }

    /// The string, when this is one.
    public var stringValue: String? {
        guard case .string(let text) = self else { return nil }
        return text
    }

    /// The number, when this is one.
    public var numberValue: Double? {
        guard case .number(let value) = self else { return nil }
        return value
    }

    /// The boolean, when this is one.
    public var boolValue: Bool? {
        guard case .bool(let value) = self else { return nil }
        return value
    }

    /// The elements, when this is an array.
    public var arrayValue: [FakeJSON]? {
        guard case .array(let elements) = self else { return nil }
        return elements
    }

    /// The members, when this is an object.
    public var objectValue: [String: FakeJSON]? {
        guard case .object(let members) = self else { return nil }
        return members
    }

    /// The JSON type name as the API server's validation messages spell it.
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number(let value): value.rounded() == value ? "integer" : "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// Parses a JSON document.
    public static func parse(_ bytes: [UInt8]) throws -> FakeJSON {
        try JSONDecoder().decode(FakeJSON.self, from: Data(bytes))
    }

    /// Converts a YAML node (a CRD document) to JSON, resolving plain scalars as YAML 1.1 does.
    static func fromYAML(_ node: Node) -> FakeJSON {
        switch node {
        case .scalar:
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .null: return .null
            case .bool: return node.bool.map(FakeJSON.bool) ?? .string(node.string ?? "")
            case .int: return node.int.map { .number(Double($0)) } ?? .string(node.string ?? "")
            case .float: return node.float.map(FakeJSON.number) ?? .string(node.string ?? "")
            default: return .string(node.string ?? "")
            }
        case .mapping(let mapping):
            var members: [String: FakeJSON] = [:]
            for (key, value) in mapping { members[key.string ?? ""] = fromYAML(value) }
            return .object(members)
        case .sequence(let sequence):
            return .array(sequence.map(fromYAML))
        case .alias:
            return .null
        }
    }

    /// Compact JSON text, object keys sorted.
    public func encoded() -> [UInt8] {
        var out = ""
        write(to: &out)
        return Array(out.utf8)
    }

    /// The JSON text, for messages and debugging.
    public var text: String { String(decoding: encoded(), as: UTF8.self) }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .number(let value):
            if !value.isFinite {
                out += "null"
            } else if value.rounded() == value, abs(value) < 9e15 {
                out += String(Int64(value))
            } else {
                out += "\(value)"
            }
        case .string(let text): Self.quote(text, into: &out)
        case .array(let elements):
            out += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { out += "," }
                element.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                Self.quote(key, into: &out)
                out += ":"
                members[key, default: .null].write(to: &out)
            }
            out += "}"
        }
    }

    private static func quote(_ text: String, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

extension FakeJSON: Codable {
    /// Decodes any JSON value.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([FakeJSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: FakeJSON].self))
        }
    }

    /// Encodes the value.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

extension FakeJSON: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    /// A string literal.
    public init(stringLiteral value: String) { self = .string(value) }
    /// A boolean literal.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An integer literal.
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    /// A float literal.
    public init(floatLiteral value: Double) { self = .number(value) }
    /// An array literal.
    public init(arrayLiteral elements: FakeJSON...) { self = .array(elements) }
    /// An object literal.
    public init(dictionaryLiteral elements: (String, FakeJSON)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    /// `nil` is `null`.
    public init(nilLiteral: ()) { self = .null }
}
