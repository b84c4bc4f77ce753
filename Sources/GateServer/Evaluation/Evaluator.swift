import GateCore
import GateSources

/// The baseline of one check: the summarised series, the range they cover, or why it could not be
/// captured.
public struct BaselineCapture: Sendable, Equatable {
    /// The check's name.
    public var check: String
    /// The summarised baseline series (empty when the query had no data in the range).
    public var series: [BaselineSeries]
    /// Why the baseline is missing, when the range query failed.
    public var error: String?

    /// Creates a capture.
    public init(check: String, series: [BaselineSeries], error: String? = nil) {
        self.check = check
        self.series = series
        self.error = error
    }
}

/// Runs checks' queries against a `MetricsSource`, concurrently but bounded, and judges them.
///
/// It holds no state: the one-shot `check` command and the daemon's evaluation loop share it.
public struct Evaluator<Source: MetricsSource>: Sendable {
    private let source: Source
    private let maxConcurrentQueries: Int
    private let onQueryError: @Sendable (PrometheusError) -> Void
    private let detailedReasons: Bool

    /// Creates an evaluator that runs at most `maxConcurrentQueries` queries at a time and tells
    /// `onQueryError` about every failed query (for metrics and logs).
    ///
    /// - Parameter detailedReasons: put the upstream error text in a failed check's reason (the one-shot `check`
    ///   report); the daemon passes `false`, because its reasons reach pollers without a token.
    public init(
        source: Source, maxConcurrentQueries: Int = 8, detailedReasons: Bool = true,
        onQueryError: @escaping @Sendable (PrometheusError) -> Void = { _ in }
    ) {
        self.detailedReasons = detailedReasons
        self.source = source
        self.maxConcurrentQueries = max(1, maxConcurrentQueries)
        self.onQueryError = onQueryError
    }

    /// Captures every check's baseline over `[end − lookback, end]` with range queries.
    ///
    /// - Important: a failed range query yields a capture with `error` set, never an empty baseline
    ///   (an empty baseline would make every series "new" and silently weaken the check).
    public func captureBaselines(
        _ checks: [CheckSpec], end: Double, lookback: Double, step: Double, aggregate: BaselineAggregate
    ) async -> [String: BaselineCapture] {
        let captures = await boundedMap(checks, limit: maxConcurrentQueries) { check -> BaselineCapture in
            do throws(PrometheusError) {
                let answer = try await source.range(check.query, start: end - lookback, end: end, step: step)
                guard answer.warnings.isEmpty else {
                    // A partial baseline would make every series it lacks look new: not a baseline to pin.
                    return BaselineCapture(
                        check: check.name, series: [], error: "partial answer from Prometheus (warnings: \(answer.warnings.prefix(3).joined(separator: "; ")))")
                }
                guard let series = answer.result.rangeSeries else {
                    let error = PrometheusError.unexpectedType(query: check.query, got: answer.result.typeName, want: "range vector")
                    return BaselineCapture(check: check.name, series: [], error: String(describing: error))
                }
                return BaselineCapture(check: check.name, series: summarizeBaseline(series, aggregate: aggregate, counter: check.counter))
            } catch {
                onQueryError(error)
                return BaselineCapture(check: check.name, series: [], error: error.description)
            }
        }
        return Dictionary(captures.map { ($0.check, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Runs every check's instant query at the one pinned time `at` and judges it against its
    /// baseline; the outcomes come back in the order of `checks`.
    ///
    /// - Important: a failed query, or a check whose baseline could not be captured, is judged on
    ///   `.unavailable` evidence: inconclusive, never pass.
    public func evaluate(_ checks: [CheckSpec], at time: Double, baselines: [String: BaselineCapture]) async -> [CheckOutcome] {
        await boundedMap(checks, limit: maxConcurrentQueries) { check -> CheckOutcome in
            let baseline = baselines[check.name]
            if let error = baseline?.error {
                return judge(check, evidence: .unavailable("no baseline: \(error)"), baseline: [])
            }
            let evidence: Evidence
            do throws(PrometheusError) {
                let answer = try await source.instant(check.query, at: time)
                if !answer.warnings.isEmpty {
                    // A partial answer lacks series it should hold; judging it would turn them into missing
                    // (failing) series. Missing evidence is inconclusive.
                    evidence = .unavailable("partial answer from Prometheus (warnings: \(answer.warnings.prefix(3).joined(separator: "; ")))")
                } else if let series = answer.result.instantSeries {
                    evidence = .series(series)
                } else {
                    evidence = .unavailable(
                        PrometheusError.unexpectedType(query: check.query, got: answer.result.typeName, want: "instant vector").description)
                }
            } catch {
                onQueryError(error)
                evidence = .unavailable(detailedReasons ? error.description : "the Prometheus query failed (\(error.label))")
            }
            return judge(check, evidence: evidence, baseline: baseline?.series ?? [])
        }
    }
}

/// The step of a baseline range query: the evaluation interval, coarsened so that no series
/// exceeds Prometheus's 11,000-points limit (with margin).
public func baselineStep(lookback: Double, interval: Double) -> Double {
    max(1, interval, (lookback / 10_000).rounded(.up))
}
