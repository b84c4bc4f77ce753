import Foundation  // tests only: JSONEncoder/JSONDecoder for the Codable round trips
import Testing

@testable import GateCore

/// One row: samples of one series and the summary expected from them.
struct AggregateCase: Sendable, CustomTestStringConvertible {
    var name: String
    var values: [Double]
    var aggregate: BaselineAggregate
    var counter: Bool = false
    var value: Double
    var min: Double
    var max: Double
    var samples: Int
    var testDescription: String { name }
}

/// Samples one second apart, oldest first.
private func range(_ values: [Double], labels: Labels = Labels()) -> RangeSeries {
    RangeSeries(labels: labels, samples: values.enumerated().map { Sample(time: 1000 + Double($0.offset), value: $0.element) })
}

@Suite struct BaselineSummaries {
    static let aggregateCases: [AggregateCase] = [
        .init(name: "mean of 1 2 3 4 is 2.5", values: [1, 2, 3, 4], aggregate: .mean, value: 2.5, min: 1, max: 4, samples: 4),
        .init(name: "mean of a single sample is that sample", values: [7], aggregate: .mean, value: 7, min: 7, max: 7, samples: 1),
        .init(
            name: "mean of a flat series does not drift",
            values: Array(repeating: 0.1, count: 1000),
            aggregate: .mean,
            value: 0.1,
            min: 0.1,
            max: 0.1,
            samples: 1000
        ),
        .init(name: "median of an odd count is the middle sample", values: [9, 1, 5], aggregate: .median, value: 5, min: 1, max: 9, samples: 3),
        .init(
            name: "median of an even count averages the middle two",
            values: [4, 1, 3, 10],
            aggregate: .median,
            value: 3.5,
            min: 1,
            max: 10,
            samples: 4
        ),
        .init(
            name: "p90 of 0...10 is exactly rank 9",
            values: (0...10).map(Double.init).reversed(),
            aggregate: .p90,
            value: 9,
            min: 0,
            max: 10,
            samples: 11
        ),
        .init(name: "p90 interpolates linearly between ranks", values: [0, 10], aggregate: .p90, value: 9, min: 0, max: 10, samples: 2),
        .init(name: "p90 of 1 2 3 4 5 interpolates to 4.6", values: [5, 4, 3, 2, 1], aggregate: .p90, value: 4.6, min: 1, max: 5, samples: 5),
        .init(name: "p90 next to +Inf is +Inf", values: [1, .infinity], aggregate: .p90, value: .infinity, min: 1, max: .infinity, samples: 2),
        .init(name: "max is the largest sample", values: [3, 8, 2], aggregate: .max, value: 8, min: 2, max: 8, samples: 3),
        .init(name: "NaN samples are skipped", values: [.nan, 2, .nan, 4], aggregate: .mean, value: 3, min: 2, max: 4, samples: 2),
        .init(
            name: "counter takes the last sample, not the mean",
            values: [1, 2, 3, 9],
            aggregate: .mean,
            counter: true,
            value: 9,
            min: 1,
            max: 9,
            samples: 4
        ),
        .init(name: "counter skips a trailing NaN", values: [1, 2, .nan], aggregate: .max, counter: true, value: 2, min: 1, max: 2, samples: 2),
        .init(
            name: "counter ignores the aggregate entirely",
            values: [10, 0, 3],
            aggregate: .p90,
            counter: true,
            value: 3,
            min: 0,
            max: 10,
            samples: 3
        ),
    ]

    @Test(arguments: aggregateCases)
    func summarisesEachSeriesWithTheConfiguredAggregate(_ row: AggregateCase) {
        let summary = summarizeBaseline([range(row.values)], aggregate: row.aggregate, counter: row.counter)
        #expect(summary == [BaselineSeries(labels: Labels(), value: row.value, min: row.min, max: row.max, samples: row.samples)])
    }

    @Test func p90UsesPromQLInterpolationNotNearestRank() {
        // Nearest-rank would give 10 for 1...10; quantile_over_time(0.9, …) gives 9.1.
        let value = summarizeBaseline([range((1...10).map(Double.init))], aggregate: .p90, counter: false)[0].value
        #expect(abs(value - 9.1) < 1e-12)
    }

    @Test(arguments: [[], [Double.nan], [Double.nan, .nan]])
    func dropsSeriesWithNoUsableSamples(_ values: [Double]) {
        let summary = summarizeBaseline(
            [range(values, labels: labels(["job": "gone"])), range([1], labels: labels(["job": "kept"]))],
            aggregate: .mean,
            counter: false
        )
        #expect(summary.map(\.labels) == [labels(["job": "kept"])])
    }

    @Test func counterTakesTheLatestSampleByTime() {
        let series = RangeSeries(labels: Labels(), samples: [Sample(time: 30, value: 3), Sample(time: 10, value: 1), Sample(time: 20, value: 2)])
        #expect(summarizeBaseline([series], aggregate: .mean, counter: true)[0].value == 3)
    }

    @Test func outputIsSortedByLabels() {
        let input = ["c", "a", "b"].map { range([1], labels: labels(["instance": $0])) }
        let summary = summarizeBaseline(input, aggregate: .max, counter: false)
        #expect(summary.map { $0.labels["instance"] } == ["a", "b", "c"])
    }

    static let nonFiniteCases: [(Double, String)] = [(.infinity, "\"+Inf\""), (-.infinity, "\"-Inf\""), (2.5, "2.5")]

    @Test(arguments: nonFiniteCases)
    func encodesNonFiniteNumbersAsPrometheusStrings(_ number: Double, _ json: String) throws {
        let series = BaselineSeries(labels: labels(["job": "x"]), value: number, min: number, max: number, samples: 3)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let text = String(decoding: try encoder.encode(series), as: UTF8.self)
        #expect(text == #"{"labels":{"job":"x"},"max":\#(json),"min":\#(json),"samples":3,"value":\#(json)}"#)
        #expect(try JSONDecoder().decode(BaselineSeries.self, from: Data(text.utf8)) == series)
    }

    @Test(arguments: [
        (#"{"labels":{},"value":"NaN","min":"-Inf","max":"+Inf","samples":1}"#, "NaN"),
        (#"{"labels":{},"value":"0.5","min":0,"max":1,"samples":1}"#, "0.5"),
        (#"{"labels":{},"value":0.5,"min":0,"max":"Inf","samples":1}"#, "0.5"),
    ])
    func decodesNumbersWrittenEitherWay(_ json: String, _ value: String) throws {
        let series = try JSONDecoder().decode(BaselineSeries.self, from: Data(json.utf8))
        #expect(formatNumber(series.value) == value)
        #expect(series.min <= 1)
    }

    @Test func rejectsANumberThatIsNotOne() {
        let json = #"{"labels":{},"value":"lots","min":0,"max":1,"samples":1}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(BaselineSeries.self, from: Data(json.utf8)) }
    }
}
