import GateCore
import Logging

extension SeriesComparison {
    /// The comparison's numbers for a gate log line: medians, shift, interval, effect and allowance, as text
    /// (numbers as the reason prints them, so log and reason agree).
    var logMetadata: Logger.MetadataValue {
        var entry: Logger.Metadata = [
            "recent_samples": .stringConvertible(recentSamples), "baseline_samples": .stringConvertible(baselineSamples),
            "confidence": .string(formatNumber(confidence)), "allowance": .string(allowance), "effect_unit": .string(effectUnit),
        ]
        let numbers: [(String, Double?)] = [
            ("recent_median", recentMedian), ("baseline_median", baselineMedian), ("shift", shift), ("lower", lower), ("upper", upper),
            ("effect", effect), ("p_value", pValue),
        ]
        for (key, value) in numbers {
            if let value { entry[key] = .string(formatNumber(value)) }
        }
        return .dictionary(entry)
    }
}
