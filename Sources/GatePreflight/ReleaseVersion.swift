/// A release number as Kubernetes and the tools in the API table spell it: `1.32`, `v1.32.4`, `v1.32.4-gke.1200`.
///
/// Only major, minor and patch take part in comparisons; a pre-release or vendor suffix is ignored, because API
/// removals happen at minor releases.
public struct ReleaseVersion: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    /// The major number.
    public var major: Int
    /// The minor number.
    public var minor: Int
    /// The patch number (0 when not given).
    public var patch: Int

    /// Creates a version.
    public init(_ major: Int, _ minor: Int, _ patch: Int = 0) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// Parses `1.32`, `v1.32`, `1.32.4`, `v1.32.4-eks-1234` or `1.32+`; nil when there is no `MAJOR.MINOR`.
    public init?(parsing text: String) {
        var rest = Substring(text.trimmingSpaces())
        if rest.first == "v" || rest.first == "V" { rest = rest.dropFirst() }
        var numbers: [Int] = []
        while numbers.count < 3 {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            // Bounded so that a hostile value cannot overflow Int.
            guard !digits.isEmpty, digits.count <= 6, let number = Int(digits) else { break }
            numbers.append(number)
            rest = rest.dropFirst(digits.count)
            guard rest.first == "." else { break }
            rest = rest.dropFirst()
        }
        guard numbers.count >= 2 else { return nil }
        self.init(numbers[0], numbers[1], numbers.count > 2 ? numbers[2] : 0)
    }

    /// `1.32` when the patch is 0, else `1.32.4`.
    /// The short text form.
    public var description: String { patch == 0 ? "\(major).\(minor)" : "\(major).\(minor).\(patch)" }

    /// The same release line without the patch: removals apply to a whole minor release.
    public var minorRelease: ReleaseVersion { ReleaseVersion(major, minor) }

    /// Orders by severity or version, lowest first.
    public static func < (lhs: ReleaseVersion, rhs: ReleaseVersion) -> Bool {
        (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
    }

    /// Decodes the text form this type encodes to.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let version = ReleaseVersion(parsing: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\"\(text)\" is not a version"))
        }
        self = version
    }

    /// Encodes the short text form.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs and line breaks.
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
