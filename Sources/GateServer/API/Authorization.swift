import GateConfig
import GateSources
import Hummingbird
import Logging

// Every state-changing route goes through one of the two functions below, so that the order of the checks is the
// same everywhere: size (before anything is buffered), then token (before anything is parsed), then scope.

/// For a state-changing call with an `Authorization` header: 413 above `limits.maxBodyBytes` (by Content-Length,
/// before reading), 401 without a valid token, 403 without `scope`, then the body collected up to the limit.
///
/// Returns the body and the caller's name for the audit trail (the token's configured name, never its value).
func authorizedBody(_ request: Request, scope: TokenScope, api: APIContext) async throws(APIError) -> (body: ByteBuffer, caller: String) {
    let limit = api.config.limits.maxBodyBytes
    if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
        throw .tooLarge(limit: limit, key: "limits.maxBodyBytes")
    }
    let caller = try decide(api.authenticator.authorize(header: request.headers[.authorization], scope: scope), request: request, api: api)
    do {
        return (try await request.body.collect(upTo: limit), caller)
    } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
        throw .tooLarge(limit: limit, key: "limits.maxBodyBytes")
    } catch {
        throw .badRequest("the request body could not be read")
    }
}

/// A Flagger hook's body: 413 above `limits.maxHookBodyBytes` (by Content-Length at once, else as soon as more
/// arrives, so nothing beyond the limit is ever buffered), then parsed as JSON.
func hookBody(_ request: Request, api: APIContext) async throws(APIError) -> JSONValue {
    let limit = api.config.limits.maxHookBodyBytes
    if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
        throw .tooLarge(limit: limit, key: "limits.maxHookBodyBytes")
    }
    let body: ByteBuffer
    do {
        body = try await request.body.collect(upTo: limit)
    } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
        throw .tooLarge(limit: limit, key: "limits.maxHookBodyBytes")
    } catch {
        throw .badRequest("the request body could not be read")
    }
    return try JSONValue.parseBody(body.readableBytesView)
}

/// With `flagger.requireToken`, the `flagger` scope from `metadata.token`, decided before the rest of the body is
/// validated; returns the caller's name, or `nil` when no token is required.
func authorizeHook(_ body: JSONValue, request: Request, api: APIContext) throws(APIError) -> String? {
    guard api.config.flagger.requireToken else { return nil }
    let token = body["metadata"]?["token"]?.stringValue
    return try decide(api.authenticator.authorize(token: token, scope: .flagger), request: request, api: api, viaMetadata: true)
}

/// Turns a decision into the caller's name or a 401/403, logging refusals with the route and the token's name.
private func decide(_ decision: AuthDecision, request: Request, api: APIContext, viaMetadata: Bool = false) throws(APIError) -> String {
    switch decision {
    case .allowed(let caller):
        return caller
    case .unauthenticated:
        // Debug only: an unauthenticated caller must not be able to fill the log.
        api.metrics.countDenial(.unauthenticated)
        api.logger.debug("refused a call without a valid token", metadata: ["http.path": .string(String(request.uri.path.prefix(200)))])
        throw viaMetadata ? .unauthorizedHook : .unauthorized
    case .forbidden(let caller, let scope):
        api.metrics.countDenial(.missingScope)
        api.logger.notice(
            "refused a call: token \(caller) lacks the \(scope.rawValue) scope",
            metadata: [
                "auth.token": .string(caller), "auth.scope": .string(scope.rawValue), "http.path": .string(String(request.uri.path.prefix(200))),
            ]
        )
        throw .forbidden(caller: caller, scope: scope)
    }
}

extension APIError {
    /// 403 on a Flagger hook: `metadata.token` is missing or matches no configured token. Hooks answer 403 rather
    /// than 401 because Flagger knows no authentication challenge: a refusal is a decision it records as the reason.
    static let unauthorizedHook = APIError(
        .forbidden,
        code: .unauthorized,
        message: "metadata.token is missing or wrong: Flagger hooks need a token with the flagger scope",
        field: "metadata.token"
    )

    /// 403: the token is valid but lacks the scope this call needs.
    static func forbidden(caller: String, scope: TokenScope) -> APIError {
        APIError(.forbidden, code: .forbidden, message: "token \(caller) does not have the \(scope.rawValue) scope this call needs")
    }

    /// 413 naming the limit that was exceeded.
    static func tooLarge(limit: Int, key: String) -> APIError {
        APIError(.contentTooLarge, code: .tooLarge, message: "the request body is larger than \(key) (\(limit) bytes)")
    }
}
