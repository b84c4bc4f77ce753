/// An image reference split into its parts: `[registry[:port]/]repository[:tag][@digest]`.
///
/// Parsing is lenient about what a registry accepts and strict only where the pinning policy needs it: a `:` before
/// the last `/` belongs to a registry port (`localhost:5000/app`), never to a tag.
struct ImageReference: Equatable, Sendable {
    /// Registry and repository, without tag or digest.
    var name: String
    /// The tag after the last `:` of the last path component, if any.
    var tag: String?
    /// Everything after `@`, if any (`sha256:…`).
    var digest: String?

    /// Splits `text`, or returns nil when it cannot be an image reference (empty, spaces, a URL, stray characters).
    init?(parsing text: String) {
        let text = text.trimmingWhitespace()
        guard !text.isEmpty, !text.contains("://"),
            text.unicodeScalars.allSatisfy({ $0.isASCII && Self.allowed.contains(Character($0)) })
        else { return nil }
        var rest = Substring(text)
        if let at = rest.firstIndex(of: "@") {
            digest = String(rest[rest.index(after: at)...])
            rest = rest[..<at]
        }
        let lastSlash = rest.lastIndex(of: "/")
        let lastComponent = lastSlash.map { rest[rest.index(after: $0)...] } ?? rest
        if let colon = lastComponent.lastIndex(of: ":") {
            tag = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
        }
        guard !rest.isEmpty, !rest.hasSuffix("/") else { return nil }
        name = String(rest)
    }

    private static let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:@+")

    /// What the pinning policy says about this reference, or nil when it is pinned.
    ///
    /// `latest` is flagged even with a digest: the policy is "never latest", and a reader cannot tell which version a
    /// digest stands for. A valid digest pins every other tag, and a full version tag pins without one.
    var problem: LintProblem? {
        if tag?.lowercased() == "latest" { return .latest }
        if let digest { return Self.isValidDigest(digest) ? nil : .invalidDigest }
        guard let tag, !tag.isEmpty else { return .noTag }
        return Self.isFullVersion(tag) ? nil : .mutableTag
    }

    /// `sha256:` and 64 lowercase hex digits, or `sha512:` and 128 (the OCI registered algorithms).
    static func isValidDigest(_ digest: String) -> Bool {
        let parts = digest.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        let expectedLength: Int
        switch parts[0] {
        case "sha256": expectedLength = 64
        case "sha512": expectedLength = 128
        default: return false
        }
        return parts[1].count == expectedLength && parts[1].allSatisfy { "0123456789abcdef".contains($0) }
    }

    /// A version with at least major, minor and patch (`1.13.1`, `v1.13.1`, `1.13.1-alpine`, `2.42.0+ds`, `1.2.3.4`).
    ///
    /// Floating tags that move with every release (`1`, `1.2`, `v1`, `stable`, `alpine`, `main`) are not.
    static func isFullVersion(_ tag: String) -> Bool {
        var text = Substring(tag)
        if text.first == "v" || text.first == "V" { text = text.dropFirst() }
        var components = 0
        var index = text.startIndex
        while true {
            let start = index
            while index < text.endIndex, text[index].isASCIIDigit { index = text.index(after: index) }
            guard index > start else { return false }
            components += 1
            let next = index < text.endIndex ? text.index(after: index) : index
            if index < text.endIndex, text[index] == ".", next < text.endIndex, text[next].isASCIIDigit {
                index = next
                continue
            }
            break
        }
        guard components >= 3 else { return false }
        guard index < text.endIndex else { return true }
        // A suffix qualifies a fixed version (a base image, a distribution revision); it cannot un-pin it.
        guard "-+_.".contains(text[index]) else { return false }
        let suffix = text[text.index(after: index)...]
        return !suffix.isEmpty && suffix.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-+".contains($0)) }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs and line breaks.
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}

extension String {
    /// Whether the text holds a template or variable placeholder (`{{ .Values.image.tag }}`, `${TAG}`).
    var hasPlaceholder: Bool { contains("{{") || contains("${") }
}
