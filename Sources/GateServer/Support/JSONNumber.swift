/// A Double that survives JSON: finite values are numbers, NaN and ±Inf are the strings Prometheus
/// uses (`"NaN"`, `"+Inf"`, `"-Inf"`), so a report never fails to encode on a 0/0 error ratio.
public struct JSONNumber: Codable, Sendable, Equatable {
    /// The wrapped value.
    public var value: Double

    /// Wraps a value.
    public init(_ value: Double) { self.value = value }

    /// Encodes the number; a value that is not finite becomes `null`, since JSON has no NaN or infinity.
    /// Decodes a number, or one of Prometheus's spellings of NaN and the infinities.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Double.self) {
            value = number
            return
        }
        switch try container.decode(String.self) {
        case "NaN": value = .nan
        case "+Inf": value = .infinity
        case "-Inf": value = -.infinity
        case let other:
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\"\(other)\" is not a number, NaN, +Inf or -Inf")
        }
    }

    /// Encodes the number; NaN and the infinities as Prometheus spells them.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if value.isFinite {
            try container.encode(value)
        } else if value.isNaN {
            try container.encode("NaN")
        } else {
            try container.encode(value > 0 ? "+Inf" : "-Inf")
        }
    }
}

extension Optional where Wrapped == Double {
    /// The value as a JSON-safe number, or nil.
    var json: JSONNumber? { map(JSONNumber.init) }
}

extension Double {
    /// The value as a JSON-safe number.
    var json: JSONNumber { JSONNumber(self) }
}
