import GateCore
import GateSources
import Synchronization

/// A metrics source whose answers a test scripts: a value for every query (one series), Prometheus down, or a
/// partial answer (with warnings). Range queries answer the same value over the whole range.
public final class ScriptedMetricsSource: MetricsSource {
    /// What the next queries get.
    public enum Answer: Sendable, Equatable {
        /// One series `{job="demo"}` with this value.
        case value(Double)
        /// No series.
        case empty
        /// Prometheus cannot be reached.
        case down
        /// Only part of the data, with a warning (as Thanos answers with partial responses).
        case partial
        /// The query does not answer until cancelled.
        case hang
        /// The query waits until ``release(with:)`` says what it answers.
        case blocked
    }

    private let state = Mutex<(answer: Answer, instantQueries: Int, rangeQueries: Int)>((.value(1), 0, 0))

    /// A source answering `answer`.
    public init(_ answer: Answer = .value(1)) {
        state.withLock { $0.answer = answer }
    }

    /// Changes what the next queries get.
    public func set(_ answer: Answer) {
        state.withLock { $0.answer = answer }
    }

    /// How many instant and range queries were asked.
    public var queries: (instant: Int, range: Int) { state.withLock { ($0.instantQueries, $0.rangeQueries) } }

    static let series = Labels(["job": "demo"])

    /// Lets blocked queries answer `answer` (and later ones too).
    public func release(with answer: Answer) {
        set(answer)
    }

    /// Answers from the script: the scripted value for every query, or the scripted failure.
    public func instant(_ query: String, at time: Double) async throws(PrometheusError) -> QueryResponse {
        var answer = state.withLock { state -> Answer in
            state.instantQueries += 1
            return state.answer
        }
        while answer == .blocked {
            try? await Task.sleep(for: .milliseconds(2))
            answer = state.withLock { $0.answer }
        }
        switch answer {
        case .value(let value): return QueryResponse(result: .vector([InstantSeries(labels: Self.series, value: value)], histograms: []))
        case .empty: return QueryResponse(result: .vector([], histograms: []))
        case .down, .blocked: throw .unreachable(query: query, why: "connection refused (scripted)")
        case .partial: return QueryResponse(result: .vector([], histograms: []), warnings: ["partial response: store eu-1 unavailable"])
        case .hang:
            try? await Task.sleep(for: .seconds(3600))
            throw .unreachable(query: query, why: "cancelled (scripted hang)")
        }
    }

    /// Answers a range query from the script, one sample per step.
    public func range(_ query: String, start: Double, end: Double, step: Double) async throws(PrometheusError) -> QueryResponse {
        let answer = state.withLock { state -> Answer in
            state.rangeQueries += 1
            return state.answer
        }
        switch answer {
        case .value(let value):
            let samples = stride(from: start, through: end, by: max(step, (end - start) / 10)).map { Sample(time: $0, value: value) }
            return QueryResponse(result: .matrix([RangeSeries(labels: Self.series, samples: samples)], histograms: []))
        case .empty: return QueryResponse(result: .matrix([], histograms: []))
        case .down, .blocked: throw .unreachable(query: query, why: "connection refused (scripted)")
        case .partial: return QueryResponse(result: .matrix([], histograms: []), warnings: ["partial response: store eu-1 unavailable"])
        case .hang:
            try? await Task.sleep(for: .seconds(3600))
            throw .unreachable(query: query, why: "cancelled (scripted hang)")
        }
    }
}

/// An alert source with nothing firing.
public struct NoFiringAlerts: FiringAlertsSource {
    /// Creates the source.
    public init() {}

    /// The scripted firing alerts.
    public func firingAlerts(at time: Double) async throws(AlertSourceError) -> [Alert] { [] }
}
