import Foundation
import GateConfig
import GateCore
import GateHTTP
import GateSources

/// The result of `upgrade-gate check`: every check judged once against a pinned baseline.
public struct CheckReport: Sendable {
    /// The one-shot verdict (pass, fail or inconclusive; never pending).
    public var verdict: Verdict
    /// The pinned evaluation time of the "current" queries.
    public var evaluatedAt: Double
    /// The baseline range `[start, end]`.
    public var baselineStart: Double
    /// The end of the baseline range.
    public var baselineEnd: Double
    /// One outcome per check, in config order.
    public var outcomes: [CheckOutcome]

    /// The process exit code for this verdict: 0 pass, 1 fail, 2 inconclusive (docs/cli.md).
    public var exitCode: Int32 {
        switch verdict {
        case .pass: return 0
        case .fail: return 1
        case .inconclusive, .pending: return 2
        }
    }

    /// The reasons behind the verdict, most important first.
    public var reasons: [String] {
        let critical = outcomes.filter(\.critical)
        switch verdict {
        case .fail: return critical.filter { $0.result == .broken }.flatMap(\.reasons)
        case .inconclusive, .pending: return critical.filter { $0.result == .inconclusive }.flatMap(\.reasons)
        case .pass: return ["all \(outcomes.count) checks pass"]
        }
    }
}

/// Why a one-shot check could not even start (exit 64): a template label missing, and the like.
public struct CheckUsageError: Error, Sendable, CustomStringConvertible {
    /// What is wrong and how to fix it.
    public var description: String
}

/// Runs `upgrade-gate check`: baseline from range queries ending at `baselineAt`, current values
/// at `now`, each check judged once (no soak, warm-up or failAfter).
///
/// Checks with a `compare` block compare the samples of `window` seconds before `now` (their own
/// `compare.window` when `nil`) with the samples of the baseline range.
public func runOneShotCheck(
    config: GateConfig,
    labels: [String: String],
    baselineAt: Double,
    now: Double,
    window: Double? = nil
) async throws(CheckUsageError) -> CheckReport {
    var specs: [CheckSpec] = []
    var problems: [String] = []
    for check in config.checks {
        do {
            var spec = try check.spec(labels: labels)
            if let window { spec.compare?.window = window }
            specs.append(spec)
        } catch {
            problems.append("\(error)")
        }
    }
    guard problems.isEmpty else {
        throw CheckUsageError(description: problems.joined(separator: "\n") + "\n(pass template labels with --label NAME=VALUE)")
    }
    let http = HTTPClient(configuration: httpConfiguration(for: config.prometheus))
    let source = PrometheusClient(url: config.prometheus.url, http: http, timeout: .milliseconds(Int64(config.prometheus.timeout * 1000)))
    let evaluator = Evaluator(source: source)
    let lookback = config.baseline.lookback
    let baselines = await evaluator.captureBaselines(
        specs,
        end: baselineAt,
        lookback: lookback,
        step: baselineStep(lookback: lookback, interval: config.evaluation.interval),
        aggregate: config.baseline.aggregate
    )
    let outcomes = await evaluator.evaluate(
        specs,
        at: now,
        baselines: baselines,
        baselineRange: BaselineRange(start: baselineAt - lookback, end: baselineAt)
    )
    await http.shutdown()
    return CheckReport(
        verdict: oneShotVerdict(outcomes),
        evaluatedAt: now,
        baselineStart: baselineAt - lookback,
        baselineEnd: baselineAt,
        outcomes: outcomes
    )
}

/// The transport settings for talking to Prometheus.
func httpConfiguration(for prometheus: PrometheusConfig) -> HTTPClientConfiguration {
    var credentials = Credentials.none
    if let tokenFile = prometheus.bearerTokenFile {
        credentials = .bearerTokenFile(tokenFile)
    } else if let basic = prometheus.basicAuth {
        credentials = .basic(username: basic.username, passwordFile: basic.passwordFile)
    }
    let tls = TLSOptions(
        caFile: prometheus.tls.caFile,
        certFile: prometheus.tls.certFile,
        keyFile: prometheus.tls.keyFile,
        insecureSkipVerify: prometheus.tls.insecureSkipVerify
    )
    return HTTPClientConfiguration(tls: tls, credentials: credentials)
}
