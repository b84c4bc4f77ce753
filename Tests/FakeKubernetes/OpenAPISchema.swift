import Foundation

/// One field the API server names in an `Invalid` answer (`Status.details.causes[]`).
public struct FieldCause: Sendable, Equatable, CustomStringConvertible {
    /// `FieldValueInvalid`, `FieldValueRequired`, `FieldValueNotSupported`, `FieldValueTooLong`, `FieldValueTypeInvalid`…
    public var reason: String
    /// The human message, e.g. `Invalid value: "integer": spec.ttl in body must be of type string: "integer"`.
    public var message: String
    /// The field path, e.g. `spec.ttl`, `spec.hooks.resources[0].name`.
    public var field: String

    /// `field: message`, as the API server joins them into `Status.message`.
    public var description: String { "\(field): \(message)" }
}

/// The subset of an OpenAPI v3 (structural) schema that CustomResourceDefinitions use, and its validation.
///
/// Supported: `type` (object, array, string, integer, number, boolean), `properties`, `required`, `items`,
/// `additionalProperties` (schema or boolean), `enum`, `nullable`, `format` (date-time, int32, int64; others
/// accepted), `maxLength`, `minLength`, `pattern`, `minItems`, `maxItems`, `minimum`, `maximum`,
/// `x-kubernetes-preserve-unknown-fields`. `description` and the list/map-type markers are ignored.
///
/// Fields a structural schema does not declare are reported separately as unknown: a real API server drops them
/// (or rejects them with `fieldValidation=Strict`); the fake always rejects them, so a misspelt field fails a test.
public final class OpenAPISchema: Sendable {
    let type: String?
    let properties: [String: OpenAPISchema]
    let required: [String]
    let items: OpenAPISchema?
    let additionalProperties: OpenAPISchema?
    let allowsAnyAdditionalProperty: Bool
    let enumValues: [FakeJSON]?
    let nullable: Bool
    let format: String?
    let maxLength: Int?
    let minLength: Int?
    let pattern: String?
    let minItems: Int?
    let maxItems: Int?
    let minimum: Double?
    let maximum: Double?
    let preservesUnknownFields: Bool
    let maxProperties: Int?
    let defaultValue: FakeJSON?

    /// Reads a schema from its JSON form (converted from the CRD YAML).
    public init(_ json: FakeJSON) {
        type = json["type"]?.stringValue
        properties = (json["properties"]?.objectValue ?? [:]).mapValues(OpenAPISchema.init)
        required = json["required"]?.arrayValue?.compactMap(\.stringValue) ?? []
        items = json["items"].map(OpenAPISchema.init)
        switch json["additionalProperties"] {
        case .bool(let allowed)?:
            additionalProperties = nil
            allowsAnyAdditionalProperty = allowed
        case let schema?:
            additionalProperties = OpenAPISchema(schema)
            allowsAnyAdditionalProperty = false
        case nil:
            additionalProperties = nil
            allowsAnyAdditionalProperty = false
        }
        enumValues = json["enum"]?.arrayValue
        nullable = json["nullable"]?.boolValue ?? false
        format = json["format"]?.stringValue
        maxLength = json["maxLength"]?.numberValue.map { Int($0) }
        minLength = json["minLength"]?.numberValue.map { Int($0) }
        pattern = json["pattern"]?.stringValue
        minItems = json["minItems"]?.numberValue.map { Int($0) }
        maxItems = json["maxItems"]?.numberValue.map { Int($0) }
        minimum = json["minimum"]?.numberValue
        maximum = json["maximum"]?.numberValue
        preservesUnknownFields = json["x-kubernetes-preserve-unknown-fields"]?.boolValue ?? false
        maxProperties = json["maxProperties"]?.numberValue.map { Int($0) }
        defaultValue = json["default"]
    }

    /// `value` with the schema's `default`s filled in where a property is absent from an object that is present.
    public func applyingDefaults(to value: FakeJSON) -> FakeJSON {
        switch value {
        case .object(var members):
            for (name, schema) in properties {
                if let member = members[name] {
                    members[name] = schema.applyingDefaults(to: member)
                } else if let defaultValue = schema.defaultValue {
                    members[name] = defaultValue
                }
            }
            if let additionalProperties {
                for (name, member) in members where properties[name] == nil { members[name] = additionalProperties.applyingDefaults(to: member) }
            }
            return .object(members)
        case .array(let elements):
            guard let items else { return value }
            return .array(elements.map(items.applyingDefaults))
        default:
            return value
        }
    }

    /// The schema of property `name`, if declared.
    public func property(_ name: String) -> OpenAPISchema? { properties[name] }

    /// Validates `value` at `path`; schema violations go to `causes`, undeclared fields to `unknown`.
    ///
    /// `skipping` names top-level properties validated elsewhere (the root's `metadata`, which the API server
    /// checks as ObjectMeta, not by the CRD schema).
    public func validate(_ value: FakeJSON, path: String, causes: inout [FieldCause], unknown: inout [String], skipping: Set<String> = []) {
        if case .null = value {
            if nullable { return }
            if type != nil {
                causes.append(typeCause(path, value))
                return
            }
        }
        if let enumValues, !enumValues.contains(value) {
            let supported = enumValues.map(\.text).joined(separator: ", ")
            causes.append(
                FieldCause(reason: "FieldValueNotSupported", message: "Unsupported value: \(value.text): supported values: \(supported)", field: path)
            )
            return
        }
        switch (type, value) {
        case ("object", .object(let members)), (nil, .object(let members)):
            validateObject(members, path: path, causes: &causes, unknown: &unknown, skipping: skipping)
        case ("array", .array(let elements)), (nil, .array(let elements)):
            if let minItems, elements.count < minItems {
                causes.append(
                    FieldCause(
                        reason: "FieldValueInvalid",
                        message: "Invalid value: \(elements.count): \(path) in body should have at least \(minItems) items",
                        field: path
                    )
                )
            }
            if let maxItems, elements.count > maxItems {
                causes.append(
                    FieldCause(reason: "FieldValueTooMany", message: "Too many: \(elements.count): must have at most \(maxItems) items", field: path)
                )
            }
            if let items {
                for (index, element) in elements.enumerated() {
                    items.validate(element, path: "\(path)[\(index)]", causes: &causes, unknown: &unknown)
                }
            }
        case ("string", .string(let text)):
            validateString(text, path: path, causes: &causes)
        case ("integer", .number(let number)) where number.rounded() == number:
            validateNumber(number, path: path, causes: &causes)
            if format == "int32", !(Double(Int32.min)...Double(Int32.max)).contains(number) {
                causes.append(
                    FieldCause(
                        reason: "FieldValueInvalid",
                        message: "Invalid value: \(value.text): \(path) in body must be of type int32",
                        field: path
                    )
                )
            }
        case ("number", .number(let number)):
            validateNumber(number, path: path, causes: &causes)
        case ("boolean", .bool):
            break
        case (nil, _):
            break
        default:
            causes.append(typeCause(path, value))
        }
    }

    private func validateObject(
        _ members: [String: FakeJSON],
        path: String,
        causes: inout [FieldCause],
        unknown: inout [String],
        skipping: Set<String>
    ) {
        if let maxProperties, members.count > maxProperties {
            causes.append(
                FieldCause(reason: "FieldValueTooMany", message: "Too many: \(members.count): must have at most \(maxProperties) items", field: path)
            )
        }
        for name in required where members[name] == nil {
            causes.append(FieldCause(reason: "FieldValueRequired", message: "Required value", field: join(path, name)))
        }
        for (name, member) in members.sorted(by: { $0.key < $1.key }) where !skipping.contains(name) {
            if let schema = properties[name] {
                schema.validate(member, path: join(path, name), causes: &causes, unknown: &unknown)
            } else if let additionalProperties {
                additionalProperties.validate(member, path: join(path, name), causes: &causes, unknown: &unknown)
            } else if !(preservesUnknownFields || allowsAnyAdditionalProperty) {
                unknown.append(join(path, name))
            }
        }
    }

    private func validateString(_ text: String, path: String, causes: inout [FieldCause]) {
        if let maxLength, text.count > maxLength {
            causes.append(FieldCause(reason: "FieldValueTooLong", message: "Too long: may not be longer than \(maxLength)", field: path))
        }
        if let minLength, text.count < minLength {
            causes.append(
                FieldCause(
                    reason: "FieldValueInvalid",
                    message: "Invalid value: \"\(text)\": \(path) in body should be at least \(minLength) chars long",
                    field: path
                )
            )
        }
        if let pattern, text.range(of: pattern, options: .regularExpression) == nil {
            causes.append(
                FieldCause(reason: "FieldValueInvalid", message: "Invalid value: \"\(text)\": \(path) in body should match '\(pattern)'", field: path)
            )
        }
        if format == "date-time", !isDateTime(text) {
            causes.append(
                FieldCause(
                    reason: "FieldValueInvalid",
                    message: "Invalid value: \"\(text)\": \(path) in body must be of type date-time: \"\(text)\"",
                    field: path
                )
            )
        }
    }

    private func validateNumber(_ number: Double, path: String, causes: inout [FieldCause]) {
        if let minimum, number < minimum {
            causes.append(
                FieldCause(
                    reason: "FieldValueInvalid",
                    message: "Invalid value: \(number): \(path) in body should be greater than or equal to \(minimum)",
                    field: path
                )
            )
        }
        if let maximum, number > maximum {
            causes.append(
                FieldCause(
                    reason: "FieldValueInvalid",
                    message: "Invalid value: \(number): \(path) in body should be less than or equal to \(maximum)",
                    field: path
                )
            )
        }
    }

    private func typeCause(_ path: String, _ value: FakeJSON) -> FieldCause {
        let wanted = type ?? "object"
        return FieldCause(
            reason: "FieldValueTypeInvalid",
            message: "Invalid value: \"\(value.typeName)\": \(path) in body must be of type \(wanted): \"\(value.typeName)\"",
            field: path
        )
    }
}

private func join(_ path: String, _ name: String) -> String {
    path.isEmpty ? name : "\(path).\(name)"
}

/// RFC 3339 date-time, loosely: `2006-01-02T15:04:05Z` with optional fraction and offset.
private func isDateTime(_ text: String) -> Bool {
    text.range(of: #"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"#, options: .regularExpression) != nil
}
