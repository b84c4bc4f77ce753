import GateConfig
import GateCore
import GateSources

/// The fields `POST /api/v1/windows` accepts.
let windowRequestFields = [
    "name", "component", "fromVersion", "toVersion", "namespaces", "labels", "matchers", "checks", "soak", "duration", "backup",
]

/// Validates an open-window body against the API's rules and the configuration; every error is a 400 that
/// names the field.
func decodeWindowRequest(_ body: JSONValue, config: GateConfig) throws(APIError) -> WindowRequest {
    var reader = try JSONObjectReader(body)
    guard let name = try reader.string("name", required: true, maxLength: 63), isDNS1123Label(name) else {
        throw .badRequest("name must be a DNS-1123 label: 1-63 lowercase letters, digits or '-', starting and ending alphanumeric", field: "name")
    }
    var request = WindowRequest(name: name)
    request.component = try reader.string("component")
    request.fromVersion = try reader.string("fromVersion", maxLength: 128)
    request.toVersion = try reader.string("toVersion", maxLength: 128)
    request.namespaces = try reader.stringArray("namespaces") ?? []
    for (index, namespace) in request.namespaces.enumerated() where !isDNS1123Label(namespace) {
        throw .badRequest("namespaces[\(index)] \"\(namespace)\" is not a valid namespace name (DNS-1123 label)", field: "namespaces[\(index)]")
    }
    request.labels = try reader.stringMap("labels") ?? [:]
    for name in request.labels.keys.sorted() where !Labels.isValidName(name) {
        throw .badRequest("labels.\(name): label names match [a-zA-Z_][a-zA-Z0-9_]*", field: "labels.\(name)")
    }
    try rejectControlCharacters(in: request.labels, fieldPrefix: "labels.")
    request.matchers = try reader.stringArray("matchers") ?? []
    for (index, matcher) in request.matchers.enumerated() {
        do {
            _ = try LabelMatcher.parseList(matcher)
        } catch {
            throw .badRequest("matchers[\(index)]: \(error)", field: "matchers[\(index)]")
        }
    }
    if let checks = try reader.stringArray("checks") {
        let known = Set(config.checks.map(\.name))
        for (index, check) in checks.enumerated() where !known.contains(check) {
            throw .badRequest(
                "checks[\(index)]: no check named \"\(check)\" in the configuration (known: \(config.checks.map(\.name).joined(separator: ", ")))",
                field: "checks[\(index)]"
            )
        }
        guard Set(checks).count == checks.count else { throw .badRequest("checks lists a check twice", field: "checks") }
        guard !checks.isEmpty else { throw .badRequest("checks is empty: omit it to run every configured check", field: "checks") }
        request.checks = checks
    }
    request.soak = try duration(&reader, "soak")
    request.duration = try duration(&reader, "duration")
    if let soak = request.soak, let duration = request.duration, soak > duration {
        throw .badRequest(
            "soak (\(formatPrometheusDuration(soak))) is longer than duration (\(formatPrometheusDuration(duration))): the window would close before it could pass",
            field: "soak"
        )
    }
    if let backup = reader.raw("backup") {
        var backupReader = try JSONObjectReader(backup, path: "backup")
        let create = try backupReader.bool("create")
        let existing = try backupReader.string("name")
        try backupReader.rejectUnknown(allowed: ["create", "name"])
        if create != nil, existing != nil { throw .badRequest("backup takes either {create} or {name}, not both", field: "backup") }
        if config.velero == nil, create == true || existing != nil {
            throw .badRequest("backup was requested but the configuration has no velero section", field: "backup")
        }
        if let existing {
            guard isDNS1123Subdomain(existing) else {
                throw .badRequest("backup.name \"\(existing)\" is not a valid Backup name", field: "backup.name")
            }
            request.backup = .existing(existing)
        } else if let create {
            request.backup = .create(create)
        }
    }
    if let velero = config.velero, request.namespaces.isEmpty {
        let backs = { () -> Bool in
            switch request.backup {
            case .create(let create)?: return create
            case .existing?: return true
            case nil: return velero.backup.onOpen
            }
        }()
        if backs {
            throw .badRequest(
                "namespaces is required when a pre-upgrade backup is taken: it scopes the Velero Backup and Restore (or send \"backup\": {\"create\": false})",
                field: "namespaces"
            )
        }
    }
    try reader.rejectUnknown(allowed: windowRequestFields)
    return request
}

private func duration(_ reader: inout JSONObjectReader, _ key: String) throws(APIError) -> Double? {
    guard let text = try reader.string(key, maxLength: 32) else { return nil }
    guard let seconds = parsePrometheusDuration(text), seconds > 0 else {
        throw .badRequest("\(key) \"\(text)\" is not a positive Prometheus duration (like 30m or 1h30m)", field: key)
    }
    return seconds
}

/// True for a DNS-1123 subdomain (Kubernetes object names): labels joined by dots, ≤ 253 chars.
func isDNS1123Subdomain(_ name: String) -> Bool {
    name.utf8.count <= 253 && name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isDNS1123Label(String($0)) }
}

/// Refuses label values with control characters: they fill `{{label}}` placeholders in queries, where a value is
/// always data (escaped per Unicode scalar), and no label value a user means holds a newline or a NUL.
func rejectControlCharacters(in labels: [String: String], fieldPrefix: String) throws(APIError) {
    for (name, value) in labels.sorted(by: { $0.key < $1.key }) {
        if let control = PromQLString.firstControlCharacter(in: value) {
            throw .badRequest(
                "\(fieldPrefix)\(name) holds the control character \(PromQLString.name(of: control)); label values may not hold control characters",
                field: "\(fieldPrefix)\(name)"
            )
        }
    }
}
