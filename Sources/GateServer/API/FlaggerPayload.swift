import GateCore
import GateSources

/// The hooks Flagger calls, one URL each (the hook type is not in the body).
enum FlaggerHook: String, CaseIterable, Sendable {
    case confirmRollout = "confirm-rollout"
    case preRollout = "pre-rollout"
    case rollout
    case confirmTrafficIncrease = "confirm-traffic-increase"
    case confirmPromotion = "confirm-promotion"
    case postRollout = "post-rollout"
    case rollback
    case event
}

/// Flagger's `CanaryWebhookPayload`: the canary, its phase and checksum, and the user's metadata.
struct FlaggerPayload: Sendable, Equatable {
    var name: String
    var namespace: String
    var phase: String
    var checksum: String
    var metadata: [String: String]

    /// The window a hook asks about: `metadata.window` (or `metadata.gate`), else the one
    /// auto-opened for this canary and checksum (a new checksum is a new window).
    var windowName: String {
        metadata["window"] ?? metadata["gate"] ?? autoWindowName
    }

    /// True when the hook names its window explicitly.
    var namesWindow: Bool { metadata["window"] != nil || metadata["gate"] != nil }

    /// `<name>-<namespace>-<checksum>`, made a DNS-1123 label. When that is longer than 63 characters it is cut and
    /// ends in a hash of the whole triple instead, so two canaries (or two revisions) never share a window because
    /// their names were cut at the same place.
    var autoWindowName: String {
        let raw = "\(name)-\(namespace)-\(checksum)".lowercased()
        var label = String(raw.map { ($0.isLetter && $0.isASCII) || ($0.isNumber && $0.isASCII) || $0 == "-" ? $0 : "-" })
        if label.count > 63 {
            let hash = stableHash("\(namespace)/\(name)/\(checksum)")
            let suffix = String(String(hash, radix: 16).suffix(12))
            label = String(label.prefix(63 - 1 - suffix.count))
            while label.hasSuffix("-") { label.removeLast() }
            label += "-" + suffix
        }
        while label.hasSuffix("-") { label.removeLast() }
        while label.hasPrefix("-") { label.removeFirst() }
        return label.isEmpty ? "flagger-canary" : label
    }

    /// `namespace/name`, as people say it.
    var canary: String { "\(namespace)/\(name)" }
}

/// Validates a Flagger body; 400 naming the field for anything malformed.
func decodeFlaggerPayload(_ body: JSONValue) throws(APIError) -> FlaggerPayload {
    var reader = try JSONObjectReader(body)
    let name = try reader.string("name", required: true) ?? ""
    let namespace = try reader.string("namespace", required: true) ?? ""
    let phase = try reader.string("phase") ?? ""
    let checksum = try reader.string("checksum") ?? ""
    // Flagger copies the user's metadata verbatim (a map of strings) and adds event fields.
    let metadata = try reader.stringMap("metadata", maxCount: 200) ?? [:]
    if let window = metadata["window"] ?? metadata["gate"], !isDNS1123Label(window) {
        throw .badRequest("metadata.window \"\(window)\" is not a valid window name (DNS-1123 label)", field: "metadata.window")
    }
    // The namespace, the canary's name and `label.*` metadata fill `{{label}}` placeholders in queries.
    guard isDNS1123Label(namespace) else {
        throw .badRequest("namespace is not a valid Kubernetes namespace name (DNS-1123 label)", field: "namespace")
    }
    guard isDNS1123Subdomain(name) else {
        throw .badRequest("name is not a valid Kubernetes object name (DNS-1123 subdomain)", field: "name")
    }
    var labels: [String: String] = [:]
    for (key, value) in metadata where key.hasPrefix("label.") { labels[String(key.dropFirst(6))] = value }
    // The canary's namespace is what the window backs up and restores: a check must judge that namespace, not
    // another one a hook names (which could make a `noData: fail` check fail and restore the canary's namespace).
    if let judged = labels["namespace"], judged != namespace {
        throw .badRequest(
            "metadata.label.namespace \"\(judged.prefix(63))\" differs from the canary's namespace \(namespace); a hook judges its own namespace",
            field: "metadata.label.namespace"
        )
    }
    try rejectControlCharacters(in: labels, fieldPrefix: "metadata.label.")
    if let matchers = metadata["matchers"] {
        do {
            _ = try LabelMatcher.parseList(matchers)
        } catch {
            throw .badRequest("metadata.matchers: \(error)", field: "metadata.matchers")
        }
    }
    return FlaggerPayload(name: name, namespace: namespace, phase: phase, checksum: checksum, metadata: metadata)
}
