// The `meta/v1 Status` body the API server sends with every error answer (and with some successes of
// deletes). Private to this folder: callers see `KubernetesError`.

/// The parts of a `Status` the client uses.
struct KubernetesStatus: Sendable, Equatable {
    /// `Failure` or `Success`.
    var status: String?
    /// Machine reason: `AlreadyExists`, `NotFound`, `Forbidden`, `Invalid`, `Unauthorized`, `InternalError`, …
    var reason: String?
    /// Human message.
    var message: String?
    /// The HTTP code the server meant.
    var code: Int?
    /// `details.name` of the object concerned.
    var name: String?
    /// `details.kind` (for RBAC answers, the resource plural).
    var kind: String?
    /// `details.causes`.
    var causes: [KubernetesError.Cause]
    /// `details.retryAfterSeconds`, the body's own Retry-After.
    var retryAfterSeconds: Int?

    /// Decodes `body` as a `Status`; `nil` when it is not JSON or not `kind: Status` (e.g. "404 page not found").
    static func decode(_ body: [UInt8]) -> KubernetesStatus? {
        guard let json = try? JSONValue.parse(body), json["kind"]?.stringValue == "Status" else { return nil }
        let details = json["details"]
        let causes = (details?["causes"]?.arrayValue ?? []).map { cause in
            KubernetesError.Cause(
                field: cause["field"]?.stringValue ?? "",
                reason: cause["reason"]?.stringValue ?? "",
                message: cause["message"]?.stringValue ?? ""
            )
        }
        return KubernetesStatus(
            status: json["status"]?.stringValue,
            reason: json["reason"]?.stringValue,
            message: json["message"]?.stringValue,
            code: json["code"]?.intValue,
            name: details?["name"]?.stringValue,
            kind: details?["kind"]?.stringValue,
            causes: causes,
            retryAfterSeconds: details?["retryAfterSeconds"]?.intValue
        )
    }
}
