import Foundation
import GateCore
import GateHTTP

/// The narrow port for "which alerts are firing right now", read when a window opens so that
/// alerts already firing are baseline, not news.
public protocol FiringAlertsSource: Sendable {
    /// Every alert firing at `time`.
    func firingAlerts(at time: Double) async throws(AlertSourceError) -> [Alert]
}

/// Why the firing alerts could not be read: says which source and why.
/// - Important: without this list a window cannot tell old alerts from new ones, so the window
///   is not opened (better than failing every upgrade on yesterday's alerts).
public struct AlertSourceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What failed.
    public var description: String
}

/// Alertmanager's API v2: `GET /api/v2/alerts?active=true&silenced=false&inhibited=false`.
public struct AlertmanagerAPIClient: FiringAlertsSource {
    private let baseURL: String
    private let http: HTTPClient
    private let timeout: Duration

    /// Creates a client for the Alertmanager at `url`.
    public init(url: String, http: HTTPClient, timeout: Duration = .seconds(10)) {
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.http = http
        self.timeout = timeout
    }

    /// The alerts firing now, from Alertmanager's API v2 (`GET /api/v2/alerts`, active and not silenced or inhibited).
    public func firingAlerts(at time: Double) async throws(AlertSourceError) -> [Alert] {
        let url = baseURL + "/api/v2/alerts?active=true&silenced=false&inhibited=false&unprocessed=false"
        let response: HTTPResponse
        do {
            response = try await http.execute(HTTPRequest(url: url, headers: [(name: "Accept", value: "application/json")], timeout: timeout))
        } catch {
            throw AlertSourceError(description: "Alertmanager at \(baseURL) is unreachable: \(error.description)")
        }
        guard response.status == 200 else {
            throw AlertSourceError(
                description: "Alertmanager at \(baseURL) answered HTTP \(response.status): \(String(response.bodyText.prefix(300)))"
            )
        }
        do {
            return try JSONDecoder().decode([GettableAlert].self, from: Data(response.body)).map(\.alert)
        } catch {
            throw AlertSourceError(description: "Alertmanager at \(baseURL) answered something that is not an alert list: \(error)")
        }
    }

    /// `gettableAlert` of the v2 API (only the fields the gate uses).
    private struct GettableAlert: Decodable {
        var labels: [String: String]
        var annotations: [String: String]?
        var startsAt: String
        var endsAt: String?
        var fingerprint: String?
        var generatorURL: String?

        var alert: Alert {
            Alert(
                labels: Labels(labels),
                annotations: annotations ?? [:],
                startsAt: parseRFC3339(startsAt) ?? 0,
                endsAt: endsAt.flatMap(parseRFC3339).flatMap { $0 < 0 ? nil : $0 },
                firing: true,
                generatorURL: generatorURL,
                fingerprint: fingerprint
            )
        }
    }
}

/// Without an Alertmanager URL: Prometheus's own `ALERTS{alertstate="firing"}` series.
public struct PrometheusAlertsSource<Source: MetricsSource>: FiringAlertsSource {
    private let source: Source

    /// Reads firing alerts through `source`.
    public init(source: Source) {
        self.source = source
    }

    /// The alerts firing at `time`, from Prometheus's `ALERTS{alertstate="firing"}` series.
    public func firingAlerts(at time: Double) async throws(AlertSourceError) -> [Alert] {
        let query = #"ALERTS{alertstate="firing"}"#
        let answer: QueryResponse
        do {
            answer = try await source.instant(query, at: time)
        } catch {
            throw AlertSourceError(description: error.description)
        }
        return (answer.result.instantSeries ?? []).map { series in
            // ALERTS carries the alert's labels plus its own bookkeeping labels.
            var labels = series.labels.dictionary
            labels.removeValue(forKey: "__name__")
            labels.removeValue(forKey: "alertstate")
            return Alert(labels: Labels(labels), annotations: [:], startsAt: time, endsAt: nil, firing: true, generatorURL: nil, fingerprint: nil)
        }
    }
}
