import GateCore
import Yams

/// What a `compare` block's defaults and point limits depend on elsewhere in the file.
struct CompareSampling {
    /// `evaluation.interval`: the default `step`.
    var interval: Double
    /// `baseline.lookback`: the baseline range re-queried at `step`.
    var lookback: Double
}

/// The keys of a check's `compare` block.
let compareKeys = ["test", "window", "step", "confidence", "allowedIncrease", "allowedDecrease", "minSamples"]

/// Prometheus refuses range queries of more than 11,000 points per series.
let maxPointsPerSeries = 11_000

extension ConfigWalker {
    /// Reads a `compare` block; nil when a required value is missing or invalid (the errors are recorded).
    func compare(_ map: MappingReader, sampling: CompareSampling) -> CompareSpec? {
        let test = map.read("test", choice(ComparisonTest.self)) ?? .mannWhitney
        let window = map.required("window", "how much recent data to compare, e.g. 10m", duration(.positive))
        let step = map.read("step", duration(.positive)) ?? sampling.interval
        let confidence = map.read("confidence", openUnitInterval)
        let increase = map.read("allowedIncrease", allowance)
        let decrease = map.read("allowedDecrease", allowance)
        let minSamples = map.read("minSamples", integer(atLeast: 3))

        // `nil` means absent or invalid (already reported); `.some(nil)` is an explicit `none`.
        let increaseInvalid = map.has("allowedIncrease") && increase == nil
        let decreaseInvalid = map.has("allowedDecrease") && decrease == nil
        if !map.has("allowedIncrease"), !map.has("allowedDecrease") {
            report(
                .missingKey,
                map.path,
                at: map.mark,
                "compare needs allowedIncrease or allowedDecrease (e.g. allowedIncrease: 10%), else it could never fail"
            )
        } else if !increaseInvalid, !decreaseInvalid, (increase ?? nil) == nil, (decrease ?? nil) == nil {
            report(
                .conflict,
                map.path,
                at: map.mark,
                "allowedIncrease and allowedDecrease are both none, so the comparison could never fail; allow a finite change in one direction"
            )
        }
        guard let window else { return nil }
        var spec = CompareSpec(test: test, window: window, step: step)
        spec.confidence = confidence ?? spec.confidence
        spec.allowedIncrease = increase ?? nil
        spec.allowedDecrease = decrease ?? nil
        spec.minSamples = minSamples ?? spec.minSamples

        // Points per series for each range, counting both ends as Prometheus does.
        let recentPoints = Int((window / step).rounded(.down)) + 1
        let baselinePoints = Int((sampling.lookback / step).rounded(.down)) + 1
        let stepPath = map.has("step") ? map.child("step") : map.child("window")
        let stepMark = map.has("step") ? map.value("step")?.mark : map.value("window")?.mark
        if recentPoints > maxPointsPerSeries {
            report(
                .invalidValue,
                stepPath,
                at: stepMark,
                "window \(formatDuration(window)) at step \(formatDuration(step)) is \(recentPoints) points per series, above "
                    + "Prometheus's limit of \(maxPointsPerSeries); use a longer step or a shorter window"
            )
        } else if baselinePoints > maxPointsPerSeries {
            report(
                .invalidValue,
                stepPath,
                at: stepMark,
                "baseline.lookback \(formatDuration(sampling.lookback)) at step \(formatDuration(step)) is \(baselinePoints) points "
                    + "per series, above Prometheus's limit of \(maxPointsPerSeries); use a longer step"
            )
        } else if recentPoints < spec.minSamples {
            report(
                .conflict,
                map.child("window"),
                at: map.value("window")?.mark,
                "window \(formatDuration(window)) at step \(formatDuration(step)) gives at most \(recentPoints) samples, fewer than "
                    + "minSamples \(spec.minSamples): every comparison would be inconclusive"
            )
        }
        return spec
    }

    /// A number strictly between 0 and 1 (a confidence).
    private func openUnitInterval(_ node: Node, _ path: String) -> Double? {
        guard let value = number(node, path) else { return nil }
        guard value > 0, value < 1 else {
            report(.invalidValue, path, at: node.mark, "must be between 0 and 1 (e.g. 0.95), got \(formatNumber(value))")
            return nil
        }
        return value
    }

    /// `none`, or a delta as for `maxIncrease`: `.some(nil)` for `none`.
    private func allowance(_ node: Node, _ path: String) -> Delta?? {
        if case .scalar(let scalar) = node, node.tagName == .str, scalar.string == "none" { return .some(nil) }
        return delta(node, path).map { .some($0) }
    }
}

/// A duration as Prometheus writes it (`90s` → `1m30s`), for messages.
func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 1, seconds == seconds.rounded() else { return "\(formatNumber(seconds))s" }
    var rest = Int(seconds)
    var text = ""
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] where rest >= size {
        text += "\(rest / size)\(unit)"
        rest %= size
    }
    return text
}
