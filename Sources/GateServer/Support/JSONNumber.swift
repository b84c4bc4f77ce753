/// A Double that survives JSON: finite values are numbers, NaN and ±Inf are the strings Prometheus
/// uses (`"NaN"`, `"+Inf"`, `"-Inf"`), so a report never fails to encode on a 0/0 error ratio.
public struct JSONNumber: Encodable, Sendable, Equatable {
    /// The wrapped value.
    public var value: Double

    /// Wraps a value.
    public init(_ value: Double) { self.value = value }

    /// Encodes the number; a value that is not finite becomes `null`, since JSON has no NaN or infinity.
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
