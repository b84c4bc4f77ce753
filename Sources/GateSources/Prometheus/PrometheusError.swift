/// Why a Prometheus query produced no usable answer.
///
/// A closed set of reasons with a bounded `label` for metrics; the description names the query and
/// says what went wrong and what to try, and never contains credentials.
/// - Important: every one of these is *missing evidence*: the gate turns it into `inconclusive`,
///   never into `pass`, and never into a restore.
public struct PrometheusError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Kind: Sendable, Equatable {
        case unreachable(String)
        case badData(String)
        case execution(String)
        case timeout(String)
        case canceled(String)
        case unavailable(String)
        case notReady(String)
        case `internal`(String)
        case notFound(String)
        case badResponse(String)
        case unexpectedType(String)
    }

    private let kind: Kind
    /// The PromQL query that failed.
    public let query: String
    /// HTTP status of the answer, when there was one.
    public let status: Int?

    private init(_ kind: Kind, query: String, status: Int?) {
        self.kind = kind
        self.query = query
        self.status = status
    }

    /// Prometheus could not be reached (connection, TLS, timeout on our side).
    public static func unreachable(query: String, why: String) -> PrometheusError { .init(.unreachable(why), query: query, status: nil) }
    /// Prometheus rejected the query or its parameters (HTTP 400, `bad_data`).
    public static func badData(query: String, message: String) -> PrometheusError { .init(.badData(message), query: query, status: 400) }
    /// The query failed while it ran (HTTP 422, `execution`).
    public static func execution(query: String, message: String) -> PrometheusError { .init(.execution(message), query: query, status: 422) }
    /// Prometheus gave up on the query (HTTP 503, `timeout`).
    public static func timeout(query: String, message: String, status: Int?) -> PrometheusError {
        .init(.timeout(message), query: query, status: status)
    }
    /// The query was canceled inside Prometheus (`canceled`).
    public static func canceled(query: String, message: String, status: Int?) -> PrometheusError {
        .init(.canceled(message), query: query, status: status)
    }
    /// Prometheus said it is unavailable (HTTP 503/500, `unavailable`).
    public static func unavailable(query: String, message: String, status: Int?) -> PrometheusError {
        .init(.unavailable(message), query: query, status: status)
    }
    /// Prometheus is starting and not ready yet (plain-text 503).
    public static func notReady(query: String, message: String) -> PrometheusError { .init(.notReady(message), query: query, status: 503) }
    /// Prometheus reported an internal error (HTTP 500, `internal`).
    public static func `internal`(query: String, message: String, status: Int?) -> PrometheusError {
        .init(.internal(message), query: query, status: status)
    }
    /// The API path does not exist (HTTP 404): the URL is probably not a Prometheus.
    public static func notFound(query: String, message: String) -> PrometheusError { .init(.notFound(message), query: query, status: 404) }
    /// The answer was not the Prometheus API envelope.
    public static func badResponse(query: String, why: String, status: Int?) -> PrometheusError {
        .init(.badResponse(why), query: query, status: status)
    }
    /// The query answered with a result type the caller cannot use (e.g. a string for a check).
    public static func unexpectedType(query: String, got: String, want: String) -> PrometheusError {
        .init(.unexpectedType("the query returned a \(got), but a \(want) is needed"), query: query, status: nil)
    }

    /// A bounded, metric-safe name of the reason.
    public var label: String {
        switch kind {
        case .unreachable: return "unreachable"
        case .badData: return "bad_data"
        case .execution: return "execution"
        case .timeout: return "timeout"
        case .canceled: return "canceled"
        case .unavailable: return "unavailable"
        case .notReady: return "not_ready"
        case .internal: return "internal"
        case .notFound: return "not_found"
        case .badResponse: return "bad_response"
        case .unexpectedType: return "unexpected_type"
        }
    }

    /// True when retrying the same query later may succeed (the query itself is not at fault).
    public var isTransient: Bool {
        switch kind {
        case .unreachable, .timeout, .canceled, .unavailable, .notReady, .internal: return true
        case .badData, .execution, .notFound, .badResponse, .unexpectedType: return false
        }
    }

    /// What failed, for which query, and how to fix it; never a credential.
    public var description: String {
        let statusText = status.map { " (HTTP \($0))" } ?? ""
        let subject = "Prometheus query \(quoted(query))"
        switch kind {
        case .unreachable(let why):
            return "\(subject) failed: Prometheus is unreachable: \(why)"
        case .badData(let message):
            return "\(subject) was rejected as bad data\(statusText): \(message); fix the query or its parameters"
        case .execution(let message):
            return "\(subject) failed while executing\(statusText): \(message)"
        case .timeout(let message):
            return "\(subject) timed out in Prometheus\(statusText): \(message); simplify the query or raise prometheus.timeout"
        case .canceled(let message):
            return "\(subject) was canceled by Prometheus\(statusText): \(message)"
        case .unavailable(let message):
            return "\(subject) failed: Prometheus is unavailable\(statusText): \(message)"
        case .notReady(let message):
            return "\(subject) failed: Prometheus is not ready yet\(statusText): \(message)"
        case .internal(let message):
            return "\(subject) failed with an internal Prometheus error\(statusText): \(message)"
        case .notFound(let message):
            return "\(subject) failed\(statusText): the query API was not found (\(message)); check that prometheus.url points at Prometheus"
        case .badResponse(let why):
            return "\(subject) got an answer that is not a Prometheus API response\(statusText): \(why)"
        case .unexpectedType(let why):
            return "\(subject) cannot be judged: \(why)"
        }
    }
}

private func quoted(_ query: String) -> String {
    let oneLine = query.split(whereSeparator: \.isNewline).joined(separator: " ")
    let short = oneLine.count > 200 ? String(oneLine.prefix(200)) + "…" : oneLine
    return "`\(short)`"
}
