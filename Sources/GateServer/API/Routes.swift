import Foundation
import GateConfig
import GateCore
import GateSources
import Hummingbird

/// Everything the routes need, built once by the composition root.
struct APIContext: Sendable {
    let config: GateConfig
    let engine: GateEngine
    let board: GateBoard
    let metrics: GateMetrics
    let authenticator: TokenAuthenticator
    let now: @Sendable () -> Double
}

/// Adds SPEC §5's routes to `router`.
func addRoutes(to router: Router<BasicRequestContext>, api: APIContext) {
    router.add(middleware: RequestMetricsMiddleware(metrics: api.metrics))

    router.get("/healthz") { _, _ in jsonResponse(.ok, Array(#"{"status":"ok"}"#.utf8)) }
    router.get("/readyz") { _, _ in jsonResponse(.ok, Array(#"{"status":"ready"}"#.utf8)) }
    router.get("/metrics") { _, _ in
        Response(
            status: .ok, headers: [.contentType: GateMetrics.contentType],
            body: .init(byteBuffer: ByteBuffer(bytes: api.metrics.render())))
    }

    // The poller's endpoint: served from memory, never a query or a database read.
    router.get("/api/v1/gate/:name") { _, context in
        let name = try context.parameters.require("name")
        guard let entry = api.board.entry(name) else { throw APIError.windowNotFound(name) }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: entry.body))
    }

    router.post("/api/v1/windows") { request, context in
        let body = try await authorizedBody(request, api: api)
        let windowRequest = try decodeWindowRequest(try JSONValue.parseBody(body.readableBytesView), config: api.config)
        let window = try await api.engine.open(windowRequest, by: .pipeline(caller(request)))
        return jsonResponse(.created, await api.engine.detailJSON(window))
    }

    router.post("/api/v1/alertmanager") { request, _ in
        let body = try await authorizedBody(request, api: api)
        let notification: AlertNotification
        do throws(WebhookError) {
            notification = try AlertmanagerWebhook.decode(body.readableBytesView)
        } catch {
            api.metrics.countAlertNotification(outcome: "malformed")
            throw APIError.badRequest("malformed Alertmanager webhook payload: \(error)", field: error.field)
        }
        try await api.engine.receiveAlerts(notification, payload: Array(body.readableBytesView))
        return jsonResponse(.ok, Array(#"{"status":"accepted"}"#.utf8))
    }

    // Flagger sends no headers: a token, if required, comes in metadata.token. Decisions are 200
    // or 403 with a plain sentence (Flagger puts the body in its events), never 5xx.
    router.post("/api/v1/flagger/:hook") { request, context in
        let hookName = try context.parameters.require("hook")
        guard let hook = FlaggerHook(rawValue: hookName) else {
            throw APIError(
                .notFound, code: "not_found", message: "unknown Flagger hook \"\(hookName)\"; known: \(FlaggerHook.allCases.map(\.rawValue).joined(separator: ", "))",
                field: "hook")
        }
        let limit = api.config.limits.maxBodyBytes
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch {
            throw APIError.tooLarge(limit: limit)
        }
        let payload = try decodeFlaggerPayload(try JSONValue.parseBody(body.readableBytesView))
        if api.config.flagger.requireToken, !api.authenticator.authorizes(payload.metadata["token"].map { "Bearer \($0)" }) {
            return plainResponse(.forbidden, "metadata.token is missing or wrong (flagger.requireToken is on)")
        }
        let answer = await api.engine.flagger(hook, payload)
        return plainResponse(answer.allowed ? .ok : .forbidden, answer.message)
    }

    router.get("/api/v1/windows") { request, _ in
        let includeClosed = request.uri.queryParameters.get("state") != "open"
        let windows = try await api.engine.windows(includeClosed: includeClosed)
        let now = api.now()
        return jsonResponse(.ok, encodeJSON(["windows": windows.map { WindowSummaryBody($0, now: now) }]))
    }

    router.get("/api/v1/windows/:name") { _, context in
        let name = try context.parameters.require("name")
        guard let window = try await api.engine.window(named: name) else { throw APIError.windowNotFound(name) }
        return jsonResponse(.ok, await api.engine.detailJSON(window))
    }

    router.post("/api/v1/windows/:name/close") { request, context in
        let name = try context.parameters.require("name")
        let body = try await authorizedBody(request, api: api)
        let reason = try optionalReason(body) ?? "closed through the API"
        let window = try await api.engine.close(name, reason: reason, by: .pipeline(caller(request)))
        return jsonResponse(.ok, await api.engine.detailJSON(window))
    }

    router.post("/api/v1/windows/:name/reset") { request, context in
        let name = try context.parameters.require("name")
        let body = try await authorizedBody(request, api: api)
        let window = try await api.engine.reset(name, by: .pipeline(caller(request)), note: try optionalReason(body))
        return jsonResponse(.ok, await api.engine.detailJSON(window))
    }

    router.post("/api/v1/windows/:name/restore") { request, context in
        let name = try context.parameters.require("name")
        _ = try await authorizedBody(request, api: api)
        let restore = try await api.engine.requestManualRestore(name, by: .pipeline(caller(request)))
        return jsonResponse(
            .accepted,
            encodeJSON(["restore": ["name": restore.name, "phase": restore.phase.rawValue, "mode": restore.mode.rawValue, "lastError": restore.lastError ?? ""]]))
    }

    router.get("/api/v1/windows/:name/events") { request, context in
        let name = try context.parameters.require("name")
        let limit = min(max(request.uri.queryParameters.get("limit").flatMap { Int($0) } ?? 200, 1), 1000)
        guard let events = try await api.engine.events(named: name, limit: limit) else { throw APIError.windowNotFound(name) }
        return jsonResponse(.ok, encodeJSON(["events": events.map(EventBody.init)]))
    }
}

/// A plain-text response (what Flagger shows in its events).
func plainResponse(_ status: HTTPResponse.Status, _ text: String) -> Response {
    Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text + "\n")))
}

/// A JSON response.
func jsonResponse(_ status: HTTPResponse.Status, _ bytes: [UInt8]) -> Response {
    Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
}

/// For a state-changing call: 413 above the size limit (before reading), 401 without the token,
/// then the body, collected up to the limit.
func authorizedBody(_ request: Request, api: APIContext) async throws(APIError) -> ByteBuffer {
    let limit = api.config.limits.maxBodyBytes
    if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
        throw .tooLarge(limit: limit)
    }
    guard api.authenticator.authorizes(request.headers[.authorization]) else { throw .unauthorized }
    do {
        return try await request.body.collect(upTo: limit)
    } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
        throw .tooLarge(limit: limit)
    } catch {
        throw .badRequest("the request body could not be read: \(error)")
    }
}

/// `{"reason": "…"}` or an empty body, for close and reset.
private func optionalReason(_ body: ByteBuffer) throws(APIError) -> String? {
    guard body.readableBytes > 0 else { return nil }
    var reader = try JSONObjectReader(try JSONValue.parseBody(body.readableBytesView))
    let reason = try reader.string("reason", maxLength: 1024)
    try reader.rejectUnknown(allowed: ["reason"])
    return reason
}

/// Who made a call, for the audit trail: never a credential, only the client's own name.
private func caller(_ request: Request) -> String {
    let agent = request.headers[.userAgent].map { String($0.prefix(100)) } ?? "unknown client"
    return "api (\(agent))"
}

/// Counts requests by route pattern (never the raw path) and status.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: GateMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            let response = try await next(request, context)
            metrics.countHTTPRequest(route: context.endpointPath ?? "unmatched", status: Int(response.status.code))
            return response
        } catch let error as any HTTPResponseError {
            metrics.countHTTPRequest(route: context.endpointPath ?? "unmatched", status: Int(error.status.code))
            throw error
        } catch {
            metrics.countHTTPRequest(route: context.endpointPath ?? "unmatched", status: 500)
            throw error
        }
    }
}
