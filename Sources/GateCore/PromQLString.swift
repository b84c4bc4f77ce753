/// Double-quoted string literals as PromQL and Alertmanager matchers read them: the project's one escaper.
///
/// Everything that writes a label value between double quotes (query templates, selectors in reasons, matcher
/// descriptions) goes through here, so a value is data and can never end the literal it sits in.
///
/// - Important: Escaping works per Unicode scalar, never per `Character`. A Swift `Character` is a grapheme
///   cluster: a quote followed by a combining mark (`"` + U+0301 is one `Character`), or preceded by U+0600
///   ARABIC NUMBER SIGN (a "prepend" scalar that glues itself to what follows), is part of a larger `Character`
///   that does not compare equal to `"`, yet PromQL's lexer, reading runes, sees a plain quote.
public enum PromQLString {
    /// `value` escaped for the inside of a double-quoted literal: `\` → `\\`, `"` → `\"`, newline → `\n`,
    /// tab → `\t`, carriage return → `\r`, any other control character → `\u00XX`; everything else as is.
    ///
    /// PromQL unquotes with Go's rules and Alertmanager's matcher parser with the same escapes, so unquoting the
    /// result gives back exactly `value`.
    public static func escape(_ value: String) -> String {
        var escaped = String.UnicodeScalarView()
        escaped.reserveCapacity(value.unicodeScalars.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": escaped.append(contentsOf: #"\\"#.unicodeScalars)
            case "\"": escaped.append(contentsOf: #"\""#.unicodeScalars)
            case "\n": escaped.append(contentsOf: #"\n"#.unicodeScalars)
            case "\t": escaped.append(contentsOf: #"\t"#.unicodeScalars)
            case "\r": escaped.append(contentsOf: #"\r"#.unicodeScalars)
            case _ where isControl(scalar):
                let hex = String(scalar.value, radix: 16)
                escaped.append(contentsOf: (#"\u"# + String(repeating: "0", count: 4 - hex.count) + hex).unicodeScalars)
            default: escaped.append(scalar)
            }
        }
        return String(escaped)
    }

    /// `value` escaped and between double quotes, e.g. `"say \"hi\""`.
    public static func quote(_ value: String) -> String {
        "\"" + escape(value) + "\""
    }

    /// The first control character in `value` (Unicode category Cc: U+0000–U+001F and U+007F–U+009F), if any.
    ///
    /// Template values with one are refused rather than escaped: no label value a user means holds a newline or a
    /// NUL, and refusing keeps logs, reasons and the API free of them.
    public static func firstControlCharacter(in value: String) -> Unicode.Scalar? {
        value.unicodeScalars.first(where: isControl)
    }

    /// How a control character is named in an error, e.g. `U+000A`.
    public static func name(of scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.generalCategory == .control
    }
}
