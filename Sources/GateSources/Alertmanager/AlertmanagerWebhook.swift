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
        let payload: Payload
        do {
            payload = try JSONDecoder().decode(Payload.self, from: Data(bytes))
        } catch let error as WebhookError {
            throw error
        } catch let DecodingError.keyNotFound(key, context) {
            throw WebhookError(field: fieldPath(context.codingPath + [key]), message: "is required")
        } catch let DecodingError.typeMismatch(type, context) {
            throw WebhookError(field: fieldPath(context.codingPath), message: "must be \(describe(type))")
        } catch let DecodingError.valueNotFound(type, context) {
            throw WebhookError(field: fieldPath(context.codingPath), message: "must be \(describe(type)), got null")
        } catch let DecodingError.dataCorrupted(context) {
            if context.codingPath.isEmpty {
                throw WebhookError(field: nil, message: "the body is not valid JSON")
            }
            throw WebhookError(field: fieldPath(context.codingPath), message: context.debugDescription)
        } catch {
            throw WebhookError(field: nil, message: "the body could not be read: \(error)")
        }
        guard payload.version == "4" else {
            throw WebhookError(field: "version", message: "is \"\(payload.version)\"; only webhook payload version \"4\" is understood")
        }
        return AlertNotification(
            groupKey: payload.groupKey, receiver: payload.receiver, alerts: payload.alerts.map(\.alert),
            truncatedAlerts: payload.truncatedAlerts ?? 0)
    }

    private struct Payload: Decodable {
        var version: String
        var groupKey: String
        var receiver: String
        var alerts: [WireAlert]
        var truncatedAlerts: Int?
    }

    private struct WireAlert: Decodable {
        var alert: Alert

        private enum Keys: String, CodingKey { case status, labels, annotations, startsAt, endsAt, generatorURL, fingerprint }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            let status = try container.decode(String.self, forKey: .status)
            guard status == "firing" || status == "resolved" else {
                throw WebhookError(field: fieldPath(container.codingPath + [Keys.status]), message: "is \"\(status)\"; expected firing or resolved")
            }
            let labels = try container.decode([String: String].self, forKey: .labels)
            let annotations = try container.decodeIfPresent([String: String].self, forKey: .annotations) ?? [:]
            func time(_ key: Keys, required: Bool) throws -> Double? {
                guard let text = try container.decodeIfPresent(String.self, forKey: key) else {
                    if required { throw WebhookError(field: fieldPath(container.codingPath + [key]), message: "is required") }
                    return nil
                }
                guard let seconds = parseRFC3339(text) else {
                    throw WebhookError(field: fieldPath(container.codingPath + [key]), message: "\"\(text)\" is not an RFC 3339 time")
                }
                // Go's zero time (0001-01-01T00:00:00Z) means "not set".
                return seconds < 0 ? nil : seconds
            }
            alert = Alert(
                labels: Labels(labels), annotations: annotations, startsAt: try time(.startsAt, required: true) ?? 0,
                endsAt: try time(.endsAt, required: false), firing: status == "firing",
                generatorURL: try container.decodeIfPresent(String.self, forKey: .generatorURL),
                fingerprint: try container.decodeIfPresent(String.self, forKey: .fingerprint))
        }
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

    public var description: String { field.map { "\($0) \(message)" } ?? message }
}

func fieldPath(_ path: [any CodingKey]) -> String {
    var text = ""
    for key in path {
        if let index = key.intValue {
            text += "[\(index)]"
        } else {
            text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
        }
    }
    return text
}

private func describe(_ type: Any.Type) -> String {
    switch type {
    case is String.Type: return "a string"
    case is [String: String].Type: return "an object of strings"
    case is Double.Type, is Int.Type: return "a number"
    case is Bool.Type: return "a boolean"
    default:
        let name = "\(type)"
        if name.hasPrefix("Array") { return "an array" }
        if name.hasPrefix("Dictionary") { return "an object" }
        return "an object"
    }
}
