import Foundation
import GateConfig
import GateCore
import GateSources
import GateStore
import Hummingbird
import Logging

/// Everything the routes need, built once by the composition root.
struct APIContext: Sendable {
    let config: GateConfig
    let engine: GateEngine
    let board: GateBoard
    let metrics: GateMetrics
    let authenticator: TokenAuthenticator
    let now: @Sendable () -> Double
    /// The state store, for reads that need no engine (window summaries).
    let store: any WindowStore
    /// What `/readyz` answers.
    let readiness: Readiness
    /// For refused calls (never with a token's value).
    let logger: Logger
}

/// Adds every route of the HTTP API (docs/http-api.md) to `router`.
func addRoutes(to router: Router<BasicRequestContext>, api: APIContext) {
    router.add(middleware: RequestMetricsMiddleware(metrics: api.metrics))
    router.add(middleware: LoadingMiddleware(readiness: api.readiness))

    router.get("/healthz") { _, _ in jsonResponse(.ok, Array(#"{"status":"ok"}"#.utf8)) }
    router.get("/readyz") { _, _ in
        if let reason = api.readiness.notReadyReason {
            return jsonResponse(.serviceUnavailable, encodeJSON(["status": "not ready", "reason": reason]))
        }
        return jsonResponse(.ok, Array(#"{"status":"ready"}"#.utf8))
    }
    router.get("/metrics") { _, _ in
        Response(
            status: .ok,
            headers: [.contentType: GateMetrics.contentType],
            body: .init(byteBuffer: ByteBuffer(bytes: api.metrics.render()))
        )
    }

    // The poller's endpoint: served from memory, never a query or a database read.
    router.get("/api/v1/gate/:name") { _, context in
        let name = try context.parameters.require("name")
        guard let entry = api.board.entry(name) else { throw APIError.windowNotFound(name) }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: entry.body))
    }

    router.post("/api/v1/windows") { request, context in
        let (body, caller) = try await authorizedBody(request, scope: .windows, api: api)
        let windowRequest = try decodeWindowRequest(try JSONValue.parseBody(body.readableBytesView), config: api.config)
        let window = try await api.engine.open(windowRequest, by: .pipeline(auditName(caller)))
        return jsonResponse(.created, await api.engine.detailJSON(window))
    }

    // Preflight: the manifests an upgrade will apply, judged before it starts (windows scope, like opening a window).
    router.post("/api/v1/preflight") { request, _ in
        let (body, _) = try await authorizedBody(request, scope: .windows, api: api)
        return try await preflightResponse(body, request: request, api: api)
    }

    router.post("/api/v1/alertmanager") { request, _ in
        let (body, _) = try await authorizedBody(request, scope: .alerts, api: api)
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
                .notFound,
                code: .notFound,
                message: "unknown Flagger hook \"\(hookName)\"; known: \(FlaggerHook.allCases.map(\.rawValue).joined(separator: ", "))",
                field: "hook"
            )
        }
        // Size, then token, then the rest of the body: an unauthenticated caller gets nothing parsed beyond JSON.
        let body = try await hookBody(request, api: api)
        _ = try authorizeHook(body, request: request, api: api)
        var payload = try decodeFlaggerPayload(body)
        payload.metadata["token"] = nil
        // Event messages are stored and logged: never whole when they are long.
        if let message = payload.metadata["eventMessage"] {
            payload.metadata["eventMessage"] = truncatedMessage(message, maxBytes: api.config.limits.maxEventMessageBytes)
        }
        let answer = await api.engine.flagger(hook, payload)
        return plainResponse(answer.allowed ? .ok : .forbidden, answer.message)
    }

    // Summaries straight from the store's window rows: no baseline or evaluation is decoded.
    router.get("/api/v1/windows") { request, _ in
        let parameters = request.uri.queryParameters
        let state: WindowStateFilter?
        switch parameters.get("state") {
        case nil: state = nil
        case "open": state = .open
        case "closed": state = .closed
        case let other?:
            throw APIError.badRequest("state must be open or closed, got \"\(other.prefix(40))\"", field: "state")
        }
        let limit = try listLimit(parameters.get("limit"))
        let summaries: [WindowSummary]
        do {
            summaries = try await api.store.windowSummaries(state: state, limit: limit)
        } catch {
            api.logger.warning("the window list could not be read: \(error)")
            throw APIError.storage("the window list could not be read")
        }
        let now = api.now()
        return jsonResponse(.ok, encodeJSON(WindowListBody(windows: summaries.map { WindowSummaryBody($0, now: now) })))
    }

    router.get("/api/v1/windows/:name") { _, context in
        let name = try context.parameters.require("name")
        guard let window = try await api.engine.window(named: name) else { throw APIError.windowNotFound(name) }
        return jsonResponse(.ok, await api.engine.detailJSON(window))
    }

    router.post("/api/v1/windows/:name/close") { request, context in
        let name = try context.parameters.require("name")
        let (body, caller) = try await authorizedBody(request, scope: .windows, api: api)
        let reason = try optionalReason(body) ?? "closed through the API"
        let window = try await api.engine.close(name, reason: reason, by: .pipeline(auditName(caller)))
        return jsonResponse(.ok, await api.engine.detailJSON(window))
    }

    router.post("/api/v1/windows/:name/reset") { request, context in
        let name = try context.parameters.require("name")
        let (body, caller) = try await authorizedBody(request, scope: .windows, api: api)
        let window = try await api.engine.reset(name, by: .pipeline(auditName(caller)), note: try optionalReason(body))
        return jsonResponse(.ok, await api.engine.detailJSON(window))
    }

    router.post("/api/v1/windows/:name/restore") { request, context in
        let name = try context.parameters.require("name")
        let (_, caller) = try await authorizedBody(request, scope: .windows, api: api)
        let restore = try await api.engine.requestManualRestore(name, by: .pipeline(auditName(caller)))
        return jsonResponse(
            .accepted,
            encodeJSON([
                "restore": [
                    "name": restore.name, "phase": restore.phase.rawValue, "mode": restore.mode.rawValue, "lastError": restore.lastError ?? "",
                ]
            ])
        )
    }

    router.get("/api/v1/windows/:name/events") { request, context in
        let name = try context.parameters.require("name")
        let limit = try listLimit(request.uri.queryParameters.get("limit"))
        guard let window = try await api.engine.window(named: name),
            let events = try await api.engine.events(named: name, limit: limit)
        else { throw APIError.windowNotFound(name) }
        // How many of the oldest events `retention.eventsPerWindow` dropped, so a reader knows the trail is cut.
        let dropped = (try? await api.store.eventsDropped(windowID: window.record.id)) ?? 0
        return jsonResponse(.ok, encodeJSON(EventsBody(events: events.map(EventBody.init), dropped: dropped)))
    }
}

/// `GET /api/v1/windows/{name}/events`: newest first, and how many older ones were dropped.
struct EventsBody: Codable {
    var events: [EventBody]
    var dropped: Int
}

/// A plain-text response (what Flagger shows in its events).
func plainResponse(_ status: HTTPResponse.Status, _ text: String) -> Response {
    Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text + "\n")))
}

/// A JSON response.
func jsonResponse(_ status: HTTPResponse.Status, _ bytes: [UInt8]) -> Response {
    Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
}

/// `?limit=N` of a list: 1–1000, default 100; anything else is a 400 naming `limit`.
func listLimit(_ text: String?) throws(APIError) -> Int {
    guard let text else { return 100 }
    guard let limit = Int(text), (1...1000).contains(limit) else {
        throw .badRequest("limit must be a whole number from 1 to 1000, got \"\(text.prefix(40))\"", field: "limit")
    }
    return limit
}

/// `{"reason": "…"}` or an empty body, for close and reset.
private func optionalReason(_ body: ByteBuffer) throws(APIError) -> String? {
    guard body.readableBytes > 0 else { return nil }
    var reader = try JSONObjectReader(try JSONValue.parseBody(body.readableBytesView))
    let reason = try reader.string("reason", maxLength: 1024)
    try reader.rejectUnknown(allowed: ["reason"])
    return reason
}

/// Who made a call, for the audit trail and the logs: the token's configured name, never a credential.
private func auditName(_ caller: String) -> String {
    "token \(caller)"
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

/// Answers every call but the probes and metrics with 503 until the state is loaded: before that the gate knows no window, and an answer
/// such as "no such window" or an open that ignores one already stored would be wrong. Probes and metrics are served.
///
/// With one replica the daemon listens only once its state is loaded, so this matters for replicas, which listen at
/// once (the liveness probe must be answered) and list the UpgradeWindow objects meanwhile.
struct LoadingMiddleware<Context: RequestContext>: RouterMiddleware {
    let readiness: Readiness

    /// What is served while loading. The router ignores empty path segments (`//api/…` is `/api/…`), so the path
    /// is compared by its segments, and everything else is refused.
    static var servedWhileLoading: Set<[Substring]> { [["healthz"], ["readyz"], ["metrics"]] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if !readiness.isResumed, !Self.servedWhileLoading.contains(request.uri.path.split(separator: "/")) {
            throw APIError.unavailable("not ready: \(readiness.notReadyReason ?? "loading"); retry shortly")
        }
        return try await next(request, context)
    }
}
