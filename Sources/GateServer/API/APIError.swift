import Foundation
import Hummingbird

/// Every `code` an error answer of the HTTP API can carry: a closed set, documented in docs/http-api.md.
public enum APIErrorCode: String, Sendable, CaseIterable, Codable {
    /// 400: malformed request; `field` says where.
    case badRequest = "bad_request"
    /// 401: no bearer token, or not one the gate knows.
    case unauthorized
    /// 403: a known token without the scope the call needs.
    case forbidden
    /// 403: the window belongs to another owner (a pipeline, a canary, an object).
    case notOwner = "not_owner"
    /// 404: no such window (or route parameter).
    case notFound = "not_found"
    /// 409: the window is closed, already restored, or otherwise in the way.
    case conflict
    /// 413: the body is larger than the configured limit.
    case tooLarge = "too_large"
    /// 429: `limits.maxOpenWindows` windows are open.
    case tooManyWindows = "too_many_windows"
    /// 503: an upstream the call depends on failed, or the gate is not ready; retrying later may work.
    case unavailable
    /// 500/503: the state store failed; nothing was changed.
    case storage
}

/// An error answer of the HTTP API: `{"error":{"code":"…","message":"…","field":"…"}}`.
///
/// `code` is bounded and stable (clients and metrics may switch on it); `message` says what is
/// wrong and how to fix it; `field` names the offending request field when there is one.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible, HTTPResponseError {
    /// The HTTP status.
    public var status: HTTPResponse.Status
    /// A bounded, stable code: clients and metrics may switch on it.
    public var code: APIErrorCode
    /// What is wrong, for people.
    public var message: String
    /// The request field at fault, if any (`name`, `labels.namespace`, `soak`).
    public var field: String?

    /// Creates an error answer.
    public init(_ status: HTTPResponse.Status, code: APIErrorCode, message: String, field: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
    }

    /// The status, code, message and field, for logs.
    public var description: String { "\(status.code) \(code.rawValue): \(message)" + (field.map { " (field \($0))" } ?? "") }

    /// 400: the request is malformed; `field` says where.
    public static func badRequest(_ message: String, field: String? = nil) -> APIError {
        APIError(.badRequest, code: .badRequest, message: message, field: field)
    }
    /// 401: the bearer token is missing or wrong.
    public static let unauthorized = APIError(
        .unauthorized,
        code: .unauthorized,
        message: "this call changes state: send Authorization: Bearer <token from auth.tokenFile>"
    )
    /// 404: no such window.
    public static func windowNotFound(_ name: String) -> APIError {
        APIError(.notFound, code: .notFound, message: "no window named \"\(name)\"", field: "name")
    }
    /// 409: the window is already open (or in another conflicting state).
    public static func conflict(_ message: String, field: String? = nil) -> APIError {
        APIError(.conflict, code: .conflict, message: message, field: field)
    }
    /// 413: the body is larger than `limits.maxBodyBytes`.
    public static func tooLarge(limit: Int) -> APIError {
        APIError(.contentTooLarge, code: .tooLarge, message: "the request body is larger than limits.maxBodyBytes (\(limit) bytes)")
    }
    /// 429: opening another window would exceed `limits.maxOpenWindows`.
    public static func tooManyWindows(limit: Int) -> APIError {
        APIError(
            .tooManyRequests,
            code: .tooManyWindows,
            message: "\(limit) windows are open, the limit (limits.maxOpenWindows); close one first"
        )
    }
    /// 503: an upstream the call depends on failed; retrying later may work.
    public static func unavailable(_ message: String) -> APIError {
        APIError(.serviceUnavailable, code: .unavailable, message: message)
    }
    /// 500: the state store failed; nothing was changed.
    public static func storage(_ message: String) -> APIError {
        APIError(.internalServerError, code: .storage, message: message)
    }

    /// The error envelope `{"error":{"code","message","field"}}` with this error's status.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: encodedBody()))
        )
    }

    /// The JSON body.
    public func encodedBody() -> [UInt8] {
        struct Envelope: Encodable {
            struct Body: Encodable {
                var code: APIErrorCode
                var message: String
                var field: String?
            }
            var error: Body
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(Envelope(error: .init(code: code, message: message, field: field)))) ?? Data())
    }
}
