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
    request.labels = try reader.stringMap("labels") ?? [:]
    request.matchers = try reader.stringArray("matchers") ?? []
    request.checks = try reader.stringArray("checks")
    request.soak = try duration(&reader, "soak")
    request.duration = try duration(&reader, "duration")
    if let backup = reader.raw("backup") {
        var backupReader = try JSONObjectReader(backup, path: "backup")
        let create = try backupReader.bool("create")
        let existing = try backupReader.string("name")
        try backupReader.rejectUnknown(allowed: ["create", "name"])
        if create != nil, existing != nil { throw .badRequest("backup takes either {create} or {name}, not both", field: "backup") }
        if let existing {
            request.backup = .existing(existing)
        } else if let create {
            request.backup = .create(create)
        }
    }
    try reader.rejectUnknown(allowed: windowRequestFields)
    try validateWindowRequest(request, config: config)
    return request
}

/// The rules every window passes, whoever opens it (API, CLI, Flagger hook): what the API refuses, a hook cannot
/// get through. Every error is a 400 that names the field.
func validateWindowRequest(_ request: WindowRequest, config: GateConfig) throws(APIError) {
    guard isDNS1123Label(request.name) else {
        throw .badRequest("name must be a DNS-1123 label: 1-63 lowercase letters, digits or '-', starting and ending alphanumeric", field: "name")
    }
    for (field, value) in [("component", request.component), ("fromVersion", request.fromVersion), ("toVersion", request.toVersion)] {
        guard let value else { continue }
        guard value.utf8.count <= 128, !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .badRequest("\(field) must be at most 128 characters without control characters", field: field)
        }
    }
    guard request.namespaces.count <= 100 else { throw .badRequest("namespaces lists more than 100 namespaces", field: "namespaces") }
    // A DNS-1123 label has no `*`, no `.` and no `/`: a namespace can never widen a Backup beyond itself.
    for (index, namespace) in request.namespaces.enumerated() where !isDNS1123Label(namespace) {
        throw .badRequest("namespaces[\(index)] \"\(namespace)\" is not a valid namespace name (DNS-1123 label)", field: "namespaces[\(index)]")
    }
    guard request.labels.count <= 64 else { throw .badRequest("labels has more than 64 entries", field: "labels") }
    for name in request.labels.keys.sorted() {
        guard Labels.isValidName(name) else { throw .badRequest("labels.\(name): label names match [a-zA-Z_][a-zA-Z0-9_]*", field: "labels.\(name)") }
        guard (request.labels[name] ?? "").utf8.count <= 1024 else {
            throw .badRequest("labels.\(name): values are at most 1024 bytes", field: "labels.\(name)")
        }
    }
    try rejectControlCharacters(in: request.labels, fieldPrefix: "labels.")
    guard request.matchers.count <= 32 else { throw .badRequest("matchers has more than 32 entries", field: "matchers") }
    for (index, matcher) in request.matchers.enumerated() {
        do {
            _ = try LabelMatcher.parseList(matcher)
        } catch {
            throw .badRequest("matchers[\(index)]: \(error)", field: "matchers[\(index)]")
        }
    }
    if let checks = request.checks {
        let known = Set(config.checks.map(\.name))
        for (index, check) in checks.enumerated() where !known.contains(check) {
            throw .badRequest(
                "checks[\(index)]: no check named \"\(check)\" in the configuration (known: \(config.checks.map(\.name).joined(separator: ", ")))",
                field: "checks[\(index)]"
            )
        }
        guard Set(checks).count == checks.count else { throw .badRequest("checks lists a check twice", field: "checks") }
        guard !checks.isEmpty else { throw .badRequest("checks is empty: omit it to run every configured check", field: "checks") }
    }
    for (field, value) in [("soak", request.soak), ("duration", request.duration)] {
        guard let value else { continue }
        guard value.isFinite, value > 0 else { throw .badRequest("\(field) is not a positive duration", field: field) }
    }
    if let soak = request.soak, let duration = request.duration, soak > duration {
        throw .badRequest(
            "soak (\(formatPrometheusDuration(soak))) is longer than duration (\(formatPrometheusDuration(duration))): the window would close before it could pass",
            field: "soak"
        )
    }
    switch request.backup {
    case .existing(let name)?:
        guard config.velero != nil else { throw .badRequest("backup was requested but the configuration has no velero section", field: "backup") }
        guard isDNS1123Subdomain(name) else { throw .badRequest("backup.name \"\(name)\" is not a valid Backup name", field: "backup.name") }
    case .create(true)?:
        guard config.velero != nil else { throw .badRequest("backup was requested but the configuration has no velero section", field: "backup") }
    case .create(false)?, nil:
        break
    }
    if let velero = config.velero, request.namespaces.isEmpty {
        let backs: Bool
        switch request.backup {
        case .create(let create)?: backs = create
        case .existing?: backs = true
        case nil: backs = velero.backup.onOpen
        }
        if backs {
            throw .badRequest(
                "namespaces is required when a pre-upgrade backup is taken: it scopes the Velero Backup and Restore (or send \"backup\": {\"create\": false})",
                field: "namespaces"
            )
        }
    }
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
