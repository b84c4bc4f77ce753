import CCurl

/// A URL checked with libcurl's own parser, plus the redacted form used in every error message.
struct CheckedURL: Sendable {
    /// The URL exactly as given, passed to libcurl unchanged.
    let raw: String
    /// `scheme://host[:port]/path[?name=REDACTED...]`: no user info, no fragment, no query values.
    let redacted: String
    /// The parts of the URL that may be credentials (password, query), scrubbed from libcurl's messages.
    let secrets: [String]

    /// Parses `raw`; returns `nil` unless it is an absolute `http` or `https` URL with a host.
    init?(_ raw: String) {
        guard let handle = curl_url() else { return nil }
        defer { curl_url_cleanup(handle) }
        guard curl_url_set(handle, CURLUPART_URL, raw, 0) == CURLUE_OK,
            let scheme = Self.part(handle, CURLUPART_SCHEME)?.lowercased(), scheme == "http" || scheme == "https",
            let host = Self.part(handle, CURLUPART_HOST), !host.isEmpty
        else { return nil }
        var text = "\(scheme)://\(host)"
        if let port = Self.part(handle, CURLUPART_PORT) { text += ":\(port)" }
        text += Self.part(handle, CURLUPART_PATH) ?? "/"
        if let query = Self.part(handle, CURLUPART_QUERY), !query.isEmpty { text += "?" + URLRedaction.redactQuery(query) }
        self.raw = raw
        self.redacted = URLRedaction.bounded(text)
        self.secrets = [Self.part(handle, CURLUPART_PASSWORD), Self.part(handle, CURLUPART_QUERY)].compactMap { $0 }
    }

    private static func part(_ handle: OpaquePointer, _ what: CURLUPart) -> String? {
        var out: UnsafeMutablePointer<CChar>?
        guard curl_url_get(handle, what, &out, 0) == CURLUE_OK, let out else { return nil }
        defer { curl_free(out) }
        return String(cString: out)
    }
}

/// Redaction of URLs for error messages: user info and query values can carry credentials.
enum URLRedaction {
    /// The longest URL shown in an error message; longer ones are cut with an ellipsis.
    static let maxLength = 200

    /// Keeps each query parameter's name and replaces its value, since any value may be a credential.
    static func redactQuery(_ query: String) -> String {
        query.split(separator: "&", omittingEmptySubsequences: false).map { pair in
            guard let equals = pair.firstIndex(of: "=") else { return String(pair) }
            return pair[..<equals] + "=REDACTED"
        }.joined(separator: "&")
    }

    /// A best-effort redaction of a string libcurl could not parse: drops the query, fragment and user info.
    static func redactUnparsed(_ raw: String) -> String {
        var text = Substring(raw)
        if let cut = text.firstIndex(where: { $0 == "?" || $0 == "#" }) { text = text[..<cut] }
        let authorityStart = text.firstRange(of: "://")?.upperBound ?? text.startIndex
        if let at = text[authorityStart...].lastIndex(of: "@") {
            text = text[..<authorityStart] + "REDACTED@" + text[text.index(after: at)...]
        }
        let printable = String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "\u{FFFD}" : Character($0) })
        return bounded(printable)
    }

    /// Cuts `text` to ``maxLength`` characters so a huge URL cannot flood logs.
    static func bounded(_ text: String) -> String {
        text.count <= maxLength ? text : text.prefix(maxLength) + "…"
    }
}
