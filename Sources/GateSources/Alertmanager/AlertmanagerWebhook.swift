import Foundation
import GateCore

/// Decodes Alertmanager's webhook payload (version "4") into an `AlertNotification`.
///
/// Fields newer Alertmanagers add (`truncatedAlerts`, `notification_reason`, `routeLabels`, …) are
/// accepted and ignored; anything malformed is an error naming the field, so the sender gets a
/// 400 it will not retry.
public enum AlertmanagerWebhook {
    /// Decodes one payload.
    public static func decode(_ bytes: some Collection<UInt8>) throws(WebhookError) -> AlertNotification {
        let document: JSONValue
        do {
            document = try JSONValue.parse(Array(bytes))
        } catch {
            throw WebhookError(field: nil, message: "the body is not valid JSON (\(error))")
        }
        guard case .object(let payload) = document else { throw WebhookError(field: nil, message: "the body must be a JSON object") }
        let version = try string(payload, "version", path: "version")
        guard version == "4" else {
            throw WebhookError(field: "version", message: "is \"\(version)\"; only webhook payload version \"4\" is understood")
        }
        let groupKey = try string(payload, "groupKey", path: "groupKey")
        let receiver = try string(payload, "receiver", path: "receiver")
        guard case .array(let items)? = payload["alerts"] else {
            throw WebhookError(field: "alerts", message: payload["alerts"] == nil ? "is required" : "must be an array")
        }
        var alerts: [Alert] = []
        alerts.reserveCapacity(items.count)
        for (position, item) in items.enumerated() {
            alerts.append(try alert(item, path: "alerts[\(position)]"))
        }
        var truncated = 0
        if case .number(let count)? = payload["truncatedAlerts"] { truncated = Int(exactly: count) ?? 0 }
        return AlertNotification(groupKey: groupKey, receiver: receiver, alerts: alerts, truncatedAlerts: truncated)
    }

    private static func alert(_ item: JSONValue, path: String) throws(WebhookError) -> Alert {
        guard case .object(let fields) = item else { throw WebhookError(field: path, message: "must be an object") }
        let status = try string(fields, "status", path: "\(path).status")
        guard status == "firing" || status == "resolved" else {
            throw WebhookError(field: "\(path).status", message: "is \"\(status)\"; expected firing or resolved")
        }
        let labels = try stringMap(fields["labels"], path: "\(path).labels", required: true)
        let annotations = try stringMap(fields["annotations"], path: "\(path).annotations", required: false)
        guard let startsAt = try time(fields, "startsAt", path: path, required: true) else {
            throw WebhookError(field: "\(path).startsAt", message: "is required")
        }
        return Alert(
            labels: Labels(labels),
            annotations: annotations,
            startsAt: startsAt,
            endsAt: try time(fields, "endsAt", path: path, required: false),
            firing: status == "firing",
            generatorURL: try optionalString(fields, "generatorURL", path: "\(path).generatorURL"),
            fingerprint: try optionalString(fields, "fingerprint", path: "\(path).fingerprint")
        )
    }

    private static func string(_ object: [String: JSONValue], _ key: String, path: String) throws(WebhookError) -> String {
        guard let value = object[key], value != .null else { throw WebhookError(field: path, message: "is required") }
        guard case .string(let text) = value else { throw WebhookError(field: path, message: "must be a string") }
        return text
    }

    private static func optionalString(_ object: [String: JSONValue], _ key: String, path: String) throws(WebhookError) -> String? {
        guard let value = object[key], value != .null else { return nil }
        guard case .string(let text) = value else { throw WebhookError(field: path, message: "must be a string") }
        return text
    }

    private static func stringMap(_ value: JSONValue?, path: String, required: Bool) throws(WebhookError) -> [String: String] {
        guard let value, value != .null else {
            if required { throw WebhookError(field: path, message: "is required") }
            return [:]
        }
        guard case .object(let members) = value else { throw WebhookError(field: path, message: "must be an object of strings") }
        var map: [String: String] = [:]
        map.reserveCapacity(members.count)
        for (key, member) in members {
            guard case .string(let text) = member else { throw WebhookError(field: "\(path).\(key)", message: "must be a string") }
            map[key] = text
        }
        return map
    }

    private static func time(_ object: [String: JSONValue], _ key: String, path: String, required: Bool) throws(WebhookError) -> Double? {
        guard let text = required ? try string(object, key, path: "\(path).\(key)") : try optionalString(object, key, path: "\(path).\(key)") else {
            return nil
        }
        guard let seconds = parseRFC3339(text) else {
            throw WebhookError(field: "\(path).\(key)", message: "\"\(text)\" is not an RFC 3339 time")
        }
        // Go's zero time (0001-01-01T00:00:00Z) means "not set".
        return seconds < 0 ? nil : seconds
    }
}

/// A malformed webhook payload: which field and what is wrong with it.
public struct WebhookError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The offending field (`alerts[2].startsAt`), when there is one.
    public var field: String?
    /// What is wrong.
    public var message: String

    /// Creates an error.
    public init(field: String?, message: String) {
        self.field = field
        self.message = message
    }

    /// The field (when known) and what is wrong with it.
    public var description: String { field.map { "\($0) \(message)" } ?? message }
}
