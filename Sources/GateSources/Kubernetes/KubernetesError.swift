import GateHTTP

/// Why a Kubernetes API call failed: a closed set of reasons with a bounded ``label`` for metrics.
///
/// Compare with the static values (`error == .alreadyExists`): equality looks at the kind only. The
/// ``description`` names the verb, the resource and object, the HTTP status, the API server's `Status`
/// reason and message, and how to fix it (an RBAC hint on 403). It never contains the bearer token: the
/// token lives in ``GateHTTP``'s credential store and no error text is built from request headers.
public struct KubernetesError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Kind: String, Sendable {
        case alreadyExists = "already_exists"
        case notFound = "not_found"
        case unauthorized
        case forbidden
        case invalid
        case conflict
        case throttled
        case serverError = "server_error"
        case timeout
        case unreachable
        case badResponse = "bad_response"
        case configuration
        case cancelled
    }

    /// One entry of a `Status`'s `details.causes`: which field is wrong and why.
    public struct Cause: Sendable, Equatable {
        /// The field path as the API server spells it, e.g. `spec.ttl` or `metadata.name`.
        public var field: String
        /// The machine reason, e.g. `FieldValueInvalid`, `FieldValueRequired`.
        public var reason: String
        /// The human message.
        public var message: String

        /// Creates a cause.
        public init(field: String, reason: String, message: String) {
            self.field = field
            self.reason = reason
            self.message = message
        }
    }

    private let kind: Kind
    /// The Kubernetes verb, e.g. `create`, `get`, `list`; empty for configuration errors.
    public let verb: String
    /// The resource as `plural.group` (`backups.velero.io`, `deployments.apps`), or `plural` for the core group.
    public let resource: String
    /// `namespace/name`, `namespace` (for lists and creates without a name), or empty.
    public let object: String
    /// The HTTP status of the answer, when there was one.
    public let httpStatus: Int?
    /// The `Status.reason` of the answer (`AlreadyExists`, `Forbidden`, …), when the body was a `Status`.
    public let statusReason: String?
    /// The `Status.message` (or a short transport or decoding reason), bounded in length.
    public let message: String
    /// `Status.details.causes`: the fields an `Invalid` answer names.
    public let causes: [Cause]
    /// How many requests were sent before giving up (1 when the first answer was final).
    public let attempts: Int
    // How to fix it, chosen where the error is made; built from configuration values only.
    private let fix: String?

    private init(
        _ kind: Kind,
        verb: String = "",
        resource: String = "",
        object: String = "",
        httpStatus: Int? = nil,
        statusReason: String? = nil,
        message: String = "",
        causes: [Cause] = [],
        attempts: Int = 1,
        fix: String? = nil
    ) {
        self.kind = kind
        self.verb = verb
        self.resource = resource
        self.object = object
        self.httpStatus = httpStatus
        self.statusReason = statusReason
        self.message = message.count > 600 ? String(message.prefix(600)) + "…" : message
        self.causes = causes
        self.attempts = attempts
        self.fix = fix
    }

    /// An object of that name exists (HTTP 409, reason `AlreadyExists`): success for deterministic names.
    public static let alreadyExists = KubernetesError(.alreadyExists)
    /// The object does not exist, or the API server does not serve the resource at all (CRD not installed).
    public static let notFound = KubernetesError(.notFound)
    /// The token was rejected (HTTP 401), also after re-reading the token file.
    public static let unauthorized = KubernetesError(.unauthorized)
    /// RBAC denies the verb on the resource (HTTP 403).
    public static let forbidden = KubernetesError(.forbidden)
    /// The object failed validation (HTTP 422 `Invalid`, or 400 `BadRequest`); ``causes`` name the fields.
    public static let invalid = KubernetesError(.invalid)
    /// A write conflicted with another (HTTP 409 other than `AlreadyExists`).
    public static let conflict = KubernetesError(.conflict)
    /// The API server kept answering HTTP 429 Too Many Requests until the deadline.
    public static let throttled = KubernetesError(.throttled)
    /// The API server kept failing (HTTP 5xx) until the deadline.
    public static let serverError = KubernetesError(.serverError)
    /// Requests kept timing out (on our side, or HTTP 504 / `Timeout`) until the deadline.
    public static let timeout = KubernetesError(.timeout)
    /// The API server could not be reached (connection refused or reset, host not resolved) until the deadline.
    public static let unreachable = KubernetesError(.unreachable)
    /// The answer was not what the Kubernetes API sends (not JSON, wrong shape, unexpected status).
    public static let badResponse = KubernetesError(.badResponse)
    /// The connection settings are unusable: not in a cluster and no `kubernetes.apiServer`, no readable token, or a CA
    /// that does not verify the API server's certificate.
    public static let configuration = KubernetesError(.configuration)
    /// The calling task was cancelled.
    public static let cancelled = KubernetesError(.cancelled)

    /// A short, bounded name of the kind, safe as a metric label (e.g. `already_exists`, `forbidden`).
    public var label: String { kind.rawValue }

    /// Whether the object already exists: for deterministic names, the create has happened (maybe by an earlier try).
    public var isAlreadyExists: Bool { kind == .alreadyExists }

    /// Whether the object (or the resource type) does not exist.
    public var isNotFound: Bool { kind == .notFound }

    /// Whether the same call may succeed later: server errors, throttling, timeouts and unreachable servers.
    ///
    /// The client has already retried these until its deadline; a caller with a longer horizon (a reconciler)
    /// may try again on its next round. Client errors (4xx) are never retryable.
    public var isRetryable: Bool {
        switch kind {
        case .serverError, .throttled, .timeout, .unreachable: true
        case .alreadyExists, .notFound, .unauthorized, .forbidden, .invalid, .conflict, .badResponse, .configuration, .cancelled: false
        }
    }

    /// What happened, to which object, why, and how to fix it; never contains the token.
    public var description: String {
        var text = "\(label): "
        if verb.isEmpty {
            text += "Kubernetes connection"
        } else {
            text += "\(verb) \(resource)"
            if verb == "list" {
                text += object.isEmpty ? " in all namespaces" : " in namespace \"\(object)\""
            } else if !object.isEmpty {
                text += " \"\(object)\""
            }
        }
        text += " failed"
        if let httpStatus { text += " with HTTP \(httpStatus)" }
        if let statusReason, !statusReason.isEmpty { text += " (\(statusReason))" }
        if attempts > 1 { text += " after \(attempts) attempts" }
        if !message.isEmpty { text += ": \(message)" }
        let fields = causes.filter { !$0.field.isEmpty && !message.contains($0.field) }
        if !fields.isEmpty {
            text += "; fields: " + fields.map { "\($0.field) (\($0.message))" }.joined(separator: "; ")
        }
        if !text.hasSuffix(".") { text += "." }
        if let fix { text += " To fix: \(fix)." }
        return text
    }

    /// Whether both errors are of the same kind; the details are not compared.
    public static func == (lhs: KubernetesError, rhs: KubernetesError) -> Bool { lhs.kind == rhs.kind }
}

/// The request an error is about, for its description.
struct KubernetesCall: Sendable {
    /// Kubernetes verb: create, get, list.
    var verb: String
    /// API group; empty for the core group.
    var group: String
    /// API version.
    var version: String
    /// Namespace, or nil for cluster-wide lists.
    var namespace: String?
    /// Resource plural.
    var plural: String
    /// Object name, when the call names one.
    var name: String?

    /// `plural.group` or `plural`.
    var resource: String { group.isEmpty ? plural : "\(plural).\(group)" }

    /// `namespace/name`, `namespace`, or empty.
    var object: String {
        switch (namespace, name) {
        case (let namespace?, let name?): "\(namespace)/\(name)"
        case (let namespace?, nil): namespace
        case (nil, let name?): name
        case (nil, nil): ""
        }
    }
}

extension KubernetesError {
    /// An error for an answer the API server gave: `status` with the decoded `Status` body, if any.
    static func answer(
        _ call: KubernetesCall,
        httpStatus: Int,
        status: KubernetesStatus?,
        bodyText: String,
        attempts: Int,
        tokenFile: String?
    ) -> KubernetesError {
        let reason = status?.reason
        let message = status?.message ?? (bodyText.isEmpty ? "no body" : "body: \(bodyText)")
        let causes = status?.causes ?? []
        func make(_ kind: Kind, fix: String? = nil) -> KubernetesError {
            KubernetesError(
                kind,
                verb: call.verb,
                resource: call.resource,
                object: call.object,
                httpStatus: httpStatus,
                statusReason: reason,
                message: message,
                causes: causes,
                attempts: attempts,
                fix: fix
            )
        }
        switch httpStatus {
        case 409 where reason == "AlreadyExists":
            return make(.alreadyExists)
        case 409:
            return make(.conflict, fix: "another writer changed the object; read it again and retry")
        case 404 where status == nil:
            return make(
                .notFound,
                fix: "the API server does not serve \(call.resource) \(call.group.isEmpty ? "" : "\(call.group)/")\(call.version): "
                    + (call.group == "velero.io" ? "install Velero and its CRDs" : "check the kind is installed on this cluster")
            )
        case 404:
            return make(.notFound)
        case 401:
            let source = tokenFile.map { "the token file \($0) was re-read and the request retried once; check it holds a valid, unexpired token" }
            return make(
                .unauthorized,
                fix: source ?? "no token file is configured: set kubernetes.tokenFile or run in a cluster with a service account"
            )
        case 403:
            let scope =
                call.namespace.map { "in namespace \($0) with a Role and RoleBinding" } ?? "cluster-wide with a ClusterRole and ClusterRoleBinding"
            let group = call.group.isEmpty ? "the core group (\"\")" : "group \(call.group)"
            return make(
                .forbidden,
                fix: "grant the gate's service account the \"\(call.verb)\" verb on \"\(call.plural)\" in \(group) \(scope) "
                    + "(kubectl auth can-i \(call.verb) \(call.resource)\(call.namespace.map { " -n \($0)" } ?? "")"
                    + " --as=system:serviceaccount:NS:NAME)"
            )
        case 400, 422:
            return make(
                .invalid,
                fix: "the API server's schema for \(call.resource) rejects the named fields: check the installed CRD version serves them"
            )
        case 429:
            return make(.throttled, fix: "the API server is overloaded or rate-limits this client; the gate retries on its next round")
        case 504:
            return make(.timeout)
        case 500...599 where reason == "Timeout" || reason == "ServerTimeout":
            return make(.timeout)
        case 500...599:
            let webhooks = call.group == "velero.io" ? " (and Velero's admission webhooks, if any)" : ""
            return make(.serverError, fix: "check the API server\(webhooks) is healthy")
        default:
            return make(.badResponse)
        }
    }

    /// An error for a request that got no answer.
    static func transport(_ call: KubernetesCall, error: HTTPClientError, attempts: Int, apiServer: String) -> KubernetesError {
        func make(_ kind: Kind, fix: String? = nil) -> KubernetesError {
            KubernetesError(
                kind,
                verb: call.verb,
                resource: call.resource,
                object: call.object,
                // GateHTTP's own advice is generic; the fix below names the gate's configuration keys instead.
                message: error.description.firstRange(of: " To fix: ").map { String(error.description[..<$0.lowerBound]) } ?? error.description,
                attempts: attempts,
                fix: fix
            )
        }
        switch error {
        case .timeout:
            return make(.timeout, fix: "check the API server at \(apiServer) is responsive")
        case .connectFailed, .transport:
            return make(.unreachable, fix: "check kubernetes.apiServer (\(apiServer)) and the network path to it")
        case .tlsFailed:
            // Not retried: a CA that does not match will not start matching within the deadline.
            return make(.configuration, fix: "check kubernetes.caFile holds the CA that signed the API server's certificate")
        case .credentialsUnreadable:
            return make(.configuration, fix: "check kubernetes.tokenFile exists and is readable by the gate")
        case .responseTooLarge:
            return make(.badResponse, fix: "lower the list page size; the answer exceeds the HTTP client's response limit")
        case .cancelled, .shutdown:
            return make(.cancelled)
        default:
            return make(.configuration, fix: "check kubernetes.apiServer is an absolute http or https URL")
        }
    }

    /// A 2xx answer whose body is not what the API sends.
    static func undecodable(_ call: KubernetesCall, httpStatus: Int, why: String, attempts: Int) -> KubernetesError {
        KubernetesError(
            .badResponse,
            verb: call.verb,
            resource: call.resource,
            object: call.object,
            httpStatus: httpStatus,
            message: why,
            attempts: attempts,
            fix: "check kubernetes.apiServer points at a Kubernetes API server"
        )
    }

    /// The calling task was cancelled while waiting to retry.
    static func cancelled(_ call: KubernetesCall, attempts: Int) -> KubernetesError {
        KubernetesError(
            .cancelled,
            verb: call.verb,
            resource: call.resource,
            object: call.object,
            message: "the task was cancelled",
            attempts: attempts
        )
    }

    /// Incomplete or unusable connection settings.
    static func configuration(_ message: String, fix: String) -> KubernetesError {
        KubernetesError(.configuration, message: message, fix: fix)
    }

    /// An object that exists under the name but was made for something else (a name collision).
    static func conflict(_ call: KubernetesCall, message: String, fix: String) -> KubernetesError {
        KubernetesError(
            .conflict,
            verb: call.verb,
            resource: call.resource,
            object: call.object,
            httpStatus: 409,
            statusReason: "AlreadyExists",
            message: message,
            fix: fix
        )
    }

    /// A 2xx object whose content is unusable (e.g. an unknown phase type).
    static func unusable(_ call: KubernetesCall, why: String) -> KubernetesError {
        KubernetesError(.badResponse, verb: call.verb, resource: call.resource, object: call.object, httpStatus: 200, message: why)
    }

    /// This error with the final attempt count (for "gave up after N attempts").
    func after(attempts: Int) -> KubernetesError {
        KubernetesError(
            kind,
            verb: verb,
            resource: resource,
            object: object,
            httpStatus: httpStatus,
            statusReason: statusReason,
            message: message,
            causes: causes,
            attempts: attempts,
            fix: fix
        )
    }
}
