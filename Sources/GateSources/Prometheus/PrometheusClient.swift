import GateCore
import GateHTTP

/// The live `MetricsSource`: Prometheus's HTTP API over the project's libcurl transport.
///
/// Queries are POSTed form-encoded (long PromQL never hits URL length limits) with an explicit
/// `time`, so every query of one evaluation cycle is pinned to the same instant.
public struct PrometheusClient: MetricsSource {
    private let baseURL: String
    private let http: HTTPClient
    private let timeout: Duration

    /// Creates a client for the Prometheus at `url` (a path prefix such as `/prometheus` is kept).
    ///
    /// `timeout` bounds each request on our side and is passed to Prometheus as its query timeout.
    public init(url: String, http: HTTPClient, timeout: Duration) {
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.http = http
        self.timeout = timeout
    }

    /// Runs `query` at `time` through `/api/v1/query`.
    public func instant(_ query: String, at time: Double) async throws(PrometheusError) -> QueryResponse {
        try await post(path: "/api/v1/query", query: query, parameters: [("query", query), ("time", formatTime(time))])
    }

    /// Runs `query` from `start` to `end` every `step` seconds through `/api/v1/query_range`.
    public func range(_ query: String, start: Double, end: Double, step: Double) async throws(PrometheusError) -> QueryResponse {
        try await post(
            path: "/api/v1/query_range",
            query: query,
            parameters: [("query", query), ("start", formatTime(start)), ("end", formatTime(end)), ("step", formatTime(step))]
        )
    }

    private func post(path: String, query: String, parameters: [(String, String)]) async throws(PrometheusError) -> QueryResponse {
        // Prometheus stops evaluating at its own timeout slightly before ours, so its answer
        // (a clear `timeout` error) wins over a bare transport timeout.
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        // The API takes a Prometheus duration here, which has no fractions: send whole milliseconds.
        let millis = max(Int64((seconds * 900).rounded(.down)), 1)
        let form = (parameters + [("timeout", "\(millis)ms")])
            .map { "\(formEncode($0.0))=\(formEncode($0.1))" }
            .joined(separator: "&")
        let request = HTTPRequest(
            method: "POST",
            url: baseURL + path,
            headers: [(name: "Content-Type", value: "application/x-www-form-urlencoded"), (name: "Accept", value: "application/json")],
            body: Array(form.utf8),
            timeout: timeout
        )
        let response: HTTPResponse
        do {
            response = try await http.execute(request)
        } catch {
            throw .unreachable(query: query, why: error.description)
        }
        return try decodeQueryAnswer(status: response.status, contentType: response.headers["content-type"], body: response.body, query: query)
    }
}

/// Unix seconds with millisecond precision, as the API accepts them.
private func formatTime(_ time: Double) -> String {
    let millis = (time * 1000).rounded()
    let whole = Int64(millis / 1000)
    let fraction = Int64(abs(millis.truncatingRemainder(dividingBy: 1000)))
    if fraction == 0 { return String(whole) }
    let digits = String(fraction)
    return "\(whole)." + String(repeating: "0", count: 3 - digits.count) + digits
}

/// `application/x-www-form-urlencoded` encoding of one key or value.
func formEncode(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            out.append(Character(Unicode.Scalar(byte)))
        default:
            let hex = Array("0123456789ABCDEF")
            out += "%\(hex[Int(byte >> 4)])\(hex[Int(byte & 0xF)])"
        }
    }
    return out
}
