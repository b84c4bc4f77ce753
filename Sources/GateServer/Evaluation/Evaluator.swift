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
        source: Source,
        maxConcurrentQueries: Int = 8,
        detailedReasons: Bool = true,
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
        _ checks: [CheckSpec],
        end: Double,
        lookback: Double,
        step: Double,
        aggregate: BaselineAggregate
    ) async -> [String: BaselineCapture] {
        let captures = await boundedMap(checks, limit: maxConcurrentQueries) { check -> BaselineCapture in
            do throws(PrometheusError) {
                let answer = try await source.range(check.query, start: end - lookback, end: end, step: step)
                guard answer.warnings.isEmpty else {
                    // A partial baseline would make every series it lacks look new: not a baseline to pin.
                    return BaselineCapture(
                        check: check.name,
                        series: [],
                        error: "partial answer from Prometheus (warnings: \(answer.warnings.prefix(3).joined(separator: "; ")))"
                    )
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
    /// A check with a `compare` block also gets its samples: the baseline's over `baselineRange` (the
    /// pinned range, re-queried rather than stored) and the recent ones over `compare.window` ending at
    /// `at`, both at `compare.step` (see ``comparisonEvidence(_:at:baselineRange:)``).
    ///
    /// - Important: a failed query, or a check whose baseline could not be captured, is judged on
    ///   `.unavailable` evidence: inconclusive, never pass.
    public func evaluate(
        _ checks: [CheckSpec],
        at time: Double,
        baselines: [String: BaselineCapture],
        baselineRange: BaselineRange? = nil
    ) async -> [CheckOutcome] {
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
                    evidence = .unavailable(
                        detailedReasons
                            ? "partial answer from Prometheus (warnings: \(answer.warnings.prefix(3).joined(separator: "; ")))"
                            : "partial answer from Prometheus (\(answer.warnings.count) warning(s))"
                    )
                } else if let series = answer.result.instantSeries {
                    evidence = .series(series)
                } else {
                    evidence = .unavailable(
                        PrometheusError.unexpectedType(query: check.query, got: answer.result.typeName, want: "instant vector").description
                    )
                }
            } catch {
                onQueryError(error)
                evidence = .unavailable(detailedReasons ? error.description : "the Prometheus query failed (\(error.label))")
            }
            guard check.compare != nil else { return judge(check, evidence: evidence, baseline: baseline?.series ?? []) }
            let comparison = await comparisonEvidence(check, at: time, baselineRange: baselineRange)
            return judge(check, evidence: evidence, baseline: baseline?.series ?? [], comparison: comparison)
        }
    }

    /// The samples a `compare` block judges: the check's series over the pinned baseline range and over
    /// the last `compare.window` before `at` (never reaching back before the baseline's end, the time the
    /// window opened, so recent samples are all from inside the window), both every `compare.step`.
    ///
    /// - Important: a range that would exceed Prometheus's per-series point limit is not queried; it is
    ///   missing evidence with a message saying which range and step, as is a failed query or an answer
    ///   with warnings (a partial answer).
    public func comparisonEvidence(_ check: CheckSpec, at time: Double, baselineRange: BaselineRange?) async -> ComparisonEvidence? {
        guard let compare = check.compare else { return nil }
        guard let baselineRange else {
            let missing = RangeEvidence.unavailable("no pinned baseline range to compare with")
            return ComparisonEvidence(recent: missing, baseline: missing)
        }
        let recentStart = max(time - compare.window, baselineRange.end)
        // Sequential on purpose: the evaluator's bound on queries in flight stays a bound on queries.
        let baseline = await samples(check.query, start: baselineRange.start, end: baselineRange.end, step: compare.step, what: "baseline")
        let recent: RangeEvidence
        if recentStart < time {
            recent = await samples(check.query, start: recentStart, end: time, step: compare.step, what: "recent")
        } else {
            recent = .series([])
        }
        return ComparisonEvidence(recent: recent, baseline: baseline)
    }

    /// One bounded range query for a comparison.
    private func samples(_ query: String, start: Double, end: Double, step: Double, what: String) async -> RangeEvidence {
        let points = Int(((end - start) / step).rounded(.down)) + 1
        guard points <= maxRangePoints else {
            return .unavailable(
                "the \(what) range (\(Int(end - start))s at step \(formatNumber(step))s) would be \(points) points per series, above "
                    + "Prometheus's limit of \(maxRangePoints); use a longer compare.step"
            )
        }
        do throws(PrometheusError) {
            let answer = try await source.range(query, start: start, end: end, step: step)
            guard answer.warnings.isEmpty else {
                return .unavailable(
                    detailedReasons
                        ? "the \(what) range query answered with warnings (a partial answer): \(answer.warnings.prefix(3).joined(separator: "; "))"
                        : "the \(what) range query answered with \(answer.warnings.count) warning(s) (a partial answer)"
                )
            }
            guard let series = answer.result.rangeSeries else {
                return .unavailable(
                    PrometheusError.unexpectedType(query: query, got: answer.result.typeName, want: "range vector").description
                )
            }
            return .series(series)
        } catch {
            onQueryError(error)
            return .unavailable(detailedReasons ? "\(what) samples: \(error.description)" : "the \(what) range query failed (\(error.label))")
        }
    }
}

/// The pinned baseline range of a window: Unix seconds, `start ≤ end`, `end` being when the window opened.
public struct BaselineRange: Sendable, Equatable {
    /// The first second of the range.
    public var start: Double
    /// The last second of the range: when the window opened.
    public var end: Double

    /// Creates a range.
    public init(start: Double, end: Double) {
        self.start = start
        self.end = end
    }
}

/// Prometheus refuses a range query returning more points than this per series.
public let maxRangePoints = 11_000

/// The step of a baseline range query: the evaluation interval, coarsened so that no series
/// exceeds Prometheus's 11,000-points limit (with margin).
public func baselineStep(lookback: Double, interval: Double) -> Double {
    max(1, interval, (lookback / 10_000).rounded(.up))
}
