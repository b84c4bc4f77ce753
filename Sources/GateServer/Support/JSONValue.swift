import Foundation
import GateSources

extension JSONValue {
    /// Parses a request body; the 400 says where the JSON is broken.
    static func parseBody(_ bytes: some Collection<UInt8>) throws(APIError) -> JSONValue {
        do {
            return try JSONValue.parse(Array(bytes))
        } catch {
            throw .badRequest("the body is not valid JSON: \(error)")
        }
    }

    /// The JSON type name, for error messages.
    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// Reads the fields of one JSON object, recording which were seen so unknown fields can be
/// rejected by name, and throwing 400s that name the field and what was expected.
struct JSONObjectReader {
    private let fields: [String: JSONValue]
    private let prefix: String
    private var seen: Set<String> = []

    /// Wraps `value`, which must be an object; `path` prefixes field names in errors.
    init(_ value: JSONValue, path: String = "") throws(APIError) {
        guard case .object(let fields) = value else {
            throw .badRequest("expected a JSON object\(path.isEmpty ? "" : " at \(path)"), got \(value.typeName)", field: path.isEmpty ? nil : path)
        }
        self.fields = fields
        self.prefix = path.isEmpty ? "" : path + "."
    }

    func path(_ key: String) -> String { prefix + key }

    mutating func raw(_ key: String) -> JSONValue? {
        seen.insert(key)
        if case .null? = fields[key] { return nil }
        return fields[key]
    }

    mutating func string(_ key: String, required: Bool = false, maxLength: Int = 253) throws(APIError) -> String? {
        guard let value = raw(key) else {
            if required { throw .badRequest("\(path(key)) is required", field: path(key)) }
            return nil
        }
        guard case .string(let text) = value else { throw .badRequest("\(path(key)) must be a string, got \(value.typeName)", field: path(key)) }
        guard text.utf8.count <= maxLength else {
            throw .badRequest("\(path(key)) is longer than \(maxLength) bytes", field: path(key))
        }
        return text
    }

    mutating func bool(_ key: String) throws(APIError) -> Bool? {
        guard let value = raw(key) else { return nil }
        guard case .bool(let flag) = value else { throw .badRequest("\(path(key)) must be true or false, got \(value.typeName)", field: path(key)) }
        return flag
    }

    mutating func stringArray(_ key: String, maxCount: Int = 100) throws(APIError) -> [String]? {
        guard let value = raw(key) else { return nil }
        guard case .array(let items) = value else {
            throw .badRequest("\(path(key)) must be an array of strings, got \(value.typeName)", field: path(key))
        }
        guard items.count <= maxCount else { throw .badRequest("\(path(key)) has more than \(maxCount) entries", field: path(key)) }
        var result: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item else {
                throw .badRequest("\(path(key))[\(index)] must be a string, got \(item.typeName)", field: "\(path(key))[\(index)]")
            }
            result.append(text)
        }
        return result
    }

    mutating func stringMap(_ key: String, maxCount: Int = 100) throws(APIError) -> [String: String]? {
        guard let value = raw(key) else { return nil }
        guard case .object(let entries) = value else {
            throw .badRequest("\(path(key)) must be an object of strings, got \(value.typeName)", field: path(key))
        }
        guard entries.count <= maxCount else { throw .badRequest("\(path(key)) has more than \(maxCount) entries", field: path(key)) }
        var result: [String: String] = [:]
        for (name, item) in entries.sorted(by: { $0.key < $1.key }) {
            guard case .string(let text) = item else {
                throw .badRequest("\(path(key)).\(name) must be a string, got \(item.typeName)", field: "\(path(key)).\(name)")
            }
            result[name] = text
        }
        return result
    }

    /// Rejects every field that was not read.
    func rejectUnknown(allowed: [String]) throws(APIError) {
        if let unknown = fields.keys.sorted().first(where: { !seen.contains($0) }) {
            throw .badRequest(
                "unknown field \(path(unknown)); allowed: \(allowed.joined(separator: ", "))",
                field: path(unknown)
            )
        }
    }
}
