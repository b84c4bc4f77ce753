import Foundation
import GateCore
import Testing

@testable import GateSources

/// Reads a wire fixture (a captured Prometheus answer) from Fixtures/.
func fixture(_ name: String) throws -> [UInt8] {
    let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures/prometheus"))
    return Array(try Data(contentsOf: url))
}

@Suite struct PrometheusDecodingTests {
    @Test func decodesVectorWithLabelsTimesAndValues() throws {
        let answer = try decodeQueryAnswer(status: 200, contentType: "application/json", body: fixture("query-vector.json"), query: "up")
        let series = try #require(answer.result.instantSeries)
        #expect(series.count == 2)
        #expect(series[0].labels == Labels(["__name__": "up", "instance": "10.0.0.11:6443", "job": "apiserver"]))
        #expect(series[0].value == 1)
        #expect(series[1].value == 0)
        #expect(answer.warnings.isEmpty)
    }

    @Test func decodesSpecialValuesExponentsWarningsAndInfos() throws {
        let answer = try decodeQueryAnswer(
            status: 200,
            contentType: "application/json",
            body: fixture("query-vector-special-values-and-annotations.json"),
            query: "q"
        )
        let values = try #require(answer.result.instantSeries).map(\.value)
        #expect(values[0].isNaN)
        #expect(values[1] == .infinity)
        #expect(values[2] == -.infinity)
        #expect(values[3] == 1e-07)
        #expect(values[4] == 0.0123)
        #expect(answer.warnings == ["PromQL warning: quantile value should be between 0 and 1, got 1.5 (1:1)"])
        #expect(answer.infos.count == 1)
    }

    @Test func decodesEmptyVectorAsNoSeriesNotAsError() throws {
        let answer = try decodeQueryAnswer(status: 200, contentType: nil, body: fixture("query-vector-empty.json"), query: "absent")
        #expect(answer.result.instantSeries == [])
    }

    @Test func decodesScalarAsOneUnlabelledSeries() throws {
        let answer = try decodeQueryAnswer(status: 200, contentType: nil, body: fixture("query-scalar.json"), query: "scalar(1)")
        #expect(answer.result == .scalar(Sample(time: 1787221800.5, value: 3)))
        #expect(answer.result.instantSeries == [InstantSeries(labels: Labels(), value: 3)])
    }

    @Test func decodesStringButRefusesToJudgeIt() throws {
        let answer = try decodeQueryAnswer(status: 200, contentType: nil, body: fixture("query-string.json"), query: "\"x\"")
        #expect(answer.result == .string(time: 1787221800.5, value: "upgrade-window"))
        #expect(answer.result.instantSeries == nil)
        #expect(answer.result.rangeSeries == nil)
    }

    @Test func decodesMatrixWithGapsAndSeparatesNativeHistograms() throws {
        let answer = try decodeQueryAnswer(status: 200, contentType: nil, body: fixture("query_range-matrix.json"), query: "q")
        guard case .matrix(let floats, let histograms) = answer.result else {
            Issue.record("expected a matrix, got \(answer.result.typeName)")
            return
        }
        #expect(floats.count == 2)
        #expect(floats[0].samples.map(\.value) == [0, 0, 1, 2.0000000000000004])
        #expect(floats[1].samples.map(\.time) == [1_787_221_800, 1_787_221_830, 1_787_221_890])
        #expect(histograms.count == 1)
        #expect(histograms[0].samples.map(\.histogram.count) == [3, 5])
        #expect(histograms[0].samples[1].histogram.buckets == [.init(boundaryRule: 0, lower: 0.25, upper: 0.5, count: 5)])
    }

    @Test func decodesNativeHistogramVectorWithoutPretendingItIsAFloat() throws {
        let answer = try decodeQueryAnswer(status: 200, contentType: nil, body: fixture("query-vector-native-histogram.json"), query: "h")
        guard case .vector(let floats, let histograms) = answer.result else {
            Issue.record("expected a vector")
            return
        }
        #expect(floats.isEmpty)
        #expect(histograms.count == 2)
        let first = histograms[0].samples[0].histogram
        #expect(first.count == 12 && first.sum == 3.217)
        #expect(first.buckets.first == .init(boundaryRule: 3, lower: -0.001, upper: 0.001, count: 2))
        #expect(histograms[1].samples[0].histogram.buckets.isEmpty)
    }

    struct ErrorCase: Sendable, CustomTestStringConvertible {
        var file: String
        var status: Int
        var label: String
        var mentions: String
        var testDescription: String { file }
    }

    @Test(arguments: [
        ErrorCase(file: "error-400-bad_data.json", status: 400, label: "bad_data", mentions: "unclosed left parenthesis"),
        ErrorCase(file: "error-400-bad_data-step.json", status: 400, label: "bad_data", mentions: "11,000 points"),
        ErrorCase(file: "error-422-execution.json", status: 422, label: "execution", mentions: "many-to-many matching"),
        ErrorCase(file: "error-503-timeout.json", status: 503, label: "timeout", mentions: "query timed out"),
    ])
    func errorEnvelopesBecomeErrorsNamingTheQueryAndCause(_ errorCase: ErrorCase) throws {
        let query = "sum(rate(apiserver_request_total[5m]))"
        let body = try fixture(errorCase.file)
        do {
            _ = try decodeQueryAnswer(status: errorCase.status, contentType: "application/json", body: body, query: query)
            Issue.record("an error envelope decoded as success")
        } catch {
            #expect(error.label == errorCase.label)
            #expect(error.status == errorCase.status)
            #expect(error.description.contains(query))
            #expect(error.description.contains(errorCase.mentions))
        }
    }

    @Test func unavailableEnvelopeWithStatus500() throws {
        let body = Array(#"{"status":"error","errorType":"unavailable","error":"TSDB not ready"}"#.utf8)
        #expect(throws: PrometheusError.unavailable(query: "up", message: "TSDB not ready", status: 500)) {
            try decodeQueryAnswer(status: 500, contentType: "application/json", body: body, query: "up")
        }
    }

    @Test func plainText503BeforeReadyIsNotReady() {
        let body = Array("Service Unavailable\n".utf8)
        do {
            _ = try decodeQueryAnswer(status: 503, contentType: "text/plain", body: body, query: "up")
            Issue.record("plain text decoded")
        } catch {
            #expect(error.label == "not_ready")
            #expect(error.isTransient)
            #expect(error.description.contains("Service Unavailable"))
        }
    }

    @Test(arguments: [
        (200, "<html>not prometheus</html>", "bad_response"),
        (404, "404 page not found", "not_found"),
        (502, "Bad Gateway", "unavailable"),
        (200, #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"one"]}]}}"#, "bad_response"),
        (200, #"{"status":"success","data":{"resultType":"tensor","result":[]}}"#, "bad_response"),
        (200, #"{"status":"success"}"#, "bad_response"),
    ])
    func anythingThatIsNotTheEnvelopeIsAnErrorNeverEmptyData(status: Int, body: String, label: String) {
        do {
            _ = try decodeQueryAnswer(status: status, contentType: nil, body: Array(body.utf8), query: "up")
            Issue.record("decoded \(body) as success")
        } catch {
            #expect(error.label == label)
        }
    }

    @Test(arguments: [
        ("NaN", Double.nan), ("+Inf", .infinity), ("-Inf", -.infinity), ("1e-07", 1e-07), ("2.0000000000000004", 2.0000000000000004), ("-0.5", -0.5),
    ])
    func parsesEverySampleValueSpelling(text: String, expected: Double) throws {
        let value = try #require(parseSampleValue(text))
        if expected.isNaN { #expect(value.isNaN) } else { #expect(value == expected) }
    }

    @Test func formEncodingKeepsPromQLIntact() {
        #expect(formEncode(#"sum(rate(x{code=~"5.."}[2m])) / 2 + 1"#) == "sum%28rate%28x%7Bcode%3D~%225..%22%7D%5B2m%5D%29%29%20%2F%202%20%2B%201")
    }
}
