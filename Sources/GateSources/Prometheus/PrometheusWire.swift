import Foundation
import GateCore

// Wire types of the Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`). They stay private
// to this folder: the rest of the project sees `QueryResponse` and `PrometheusError` only.

/// Decodes one HTTP answer of the query API into a response or a precise error.
///
/// - Important: anything that is not a `"status":"success"` envelope becomes an error, never an
///   empty result: an empty vector means "no data", which checks treat by their `noData` policy,
///   and must not be confused with "Prometheus did not answer".
func decodeQueryAnswer(status: Int, contentType: String?, body: [UInt8], query: String) throws(PrometheusError) -> QueryResponse {
    let envelope: Envelope
    do {
        envelope = try JSONDecoder().decode(Envelope.self, from: Data(body))
    } catch {
        throw nonEnvelopeError(status: status, body: body, query: query, decodingError: error)
    }
    if envelope.status == "success" {
        guard let data = envelope.data else {
            throw .badResponse(query: query, why: "status success without data", status: status)
        }
        return QueryResponse(result: data.result, warnings: envelope.warnings ?? [], infos: envelope.infos ?? [])
    }
    let message = envelope.error ?? "no error message"
    switch envelope.errorType ?? "" {
    case "bad_data": throw .badData(query: query, message: message)
    case "execution": throw .execution(query: query, message: message)
    case "timeout": throw .timeout(query: query, message: message, status: status)
    case "canceled": throw .canceled(query: query, message: message, status: status)
    case "unavailable": throw .unavailable(query: query, message: message, status: status)
    case "not_found": throw .notFound(query: query, message: message)
    case "internal": throw .internal(query: query, message: message, status: status)
    default:
        throw .badResponse(query: query, why: "error type \(envelope.errorType ?? "missing"): \(message)", status: status)
    }
}

private func nonEnvelopeError(status: Int, body: [UInt8], query: String, decodingError: any Error) -> PrometheusError {
    let text = String(decoding: body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    switch status {
    // Before the TSDB is open Prometheus answers every API call with a plain-text 503.
    case 503: return .notReady(query: query, message: text.isEmpty ? "Service Unavailable" : text)
    case 404: return .notFound(query: query, message: text.isEmpty ? "404 page not found" : text)
    case 500...599: return .unavailable(query: query, message: text.isEmpty ? "HTTP \(status)" : text, status: status)
    default:
        let why = (200..<300).contains(status) ? "the body is not valid query API JSON (\(describe(decodingError)))" : "HTTP \(status): \(text)"
        return .badResponse(query: query, why: why, status: status)
    }
}

private func describe(_ error: any Error) -> String {
    switch error {
    case DecodingError.dataCorrupted(let context), DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
        return context.debugDescription + at(context.codingPath)
    case DecodingError.keyNotFound(let key, let context):
        return "missing key \(key.stringValue)" + at(context.codingPath)
    default:
        return "\(error)"
    }
}

private func at(_ path: [any CodingKey]) -> String {
    path.isEmpty ? "" : " at " + path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
}

/// Parses a Prometheus sample value: decimal, exponent form, `NaN`, `+Inf`, `-Inf`.
func parseSampleValue(_ text: String) -> Double? {
    switch text {
    case "NaN": return .nan
    case "+Inf", "Inf": return .infinity
    case "-Inf": return -.infinity
    default: return Double(text)
    }
}

private struct Envelope: Decodable {
    var status: String
    var data: ResultData?
    var errorType: String?
    var error: String?
    var warnings: [String]?
    var infos: [String]?
}

private struct ResultData: Decodable {
    var result: QueryResult

    private enum CodingKeys: String, CodingKey { case resultType, result }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = try container.decode(String.self, forKey: .resultType)
        switch type {
        case "vector":
            let items = try container.decode([WireVectorItem].self, forKey: .result)
            var floats: [InstantSeries] = []
            var histograms: [HistogramSeries] = []
            for item in items {
                if let value = item.value {
                    floats.append(InstantSeries(labels: Labels(item.metric), value: value.value))
                } else if let histogram = item.histogram {
                    histograms.append(HistogramSeries(labels: Labels(item.metric), samples: [(histogram.time, histogram.histogram)]))
                }
            }
            result = .vector(floats, histograms: histograms)
        case "matrix":
            let items = try container.decode([WireMatrixItem].self, forKey: .result)
            var floats: [RangeSeries] = []
            var histograms: [HistogramSeries] = []
            for item in items {
                if let values = item.values {
                    floats.append(RangeSeries(labels: Labels(item.metric), samples: values.map { Sample(time: $0.time, value: $0.value) }))
                }
                if let points = item.histograms {
                    histograms.append(HistogramSeries(labels: Labels(item.metric), samples: points.map { ($0.time, $0.histogram) }))
                }
            }
            result = .matrix(floats, histograms: histograms)
        case "scalar":
            let point = try container.decode(WirePoint.self, forKey: .result)
            result = .scalar(Sample(time: point.time, value: point.value))
        case "string":
            var pair = try container.nestedUnkeyedContainer(forKey: .result)
            let time = try pair.decode(Double.self)
            result = .string(time: time, value: try pair.decode(String.self))
        default:
            throw DecodingError.dataCorruptedError(forKey: .resultType, in: container, debugDescription: "unknown resultType \(type)")
        }
    }
}

private struct WireVectorItem: Decodable {
    var metric: [String: String]
    var value: WirePoint?
    var histogram: WireHistogramPoint?
}

private struct WireMatrixItem: Decodable {
    var metric: [String: String]
    var values: [WirePoint]?
    var histograms: [WireHistogramPoint]?
}

/// `[ <unix time>, "<value>" ]`
private struct WirePoint: Decodable {
    var time: Double
    var value: Double

    init(from decoder: any Decoder) throws {
        var pair = try decoder.unkeyedContainer()
        time = try pair.decode(Double.self)
        let text = try pair.decode(String.self)
        guard let value = parseSampleValue(text) else {
            throw DecodingError.dataCorruptedError(in: pair, debugDescription: "sample value \"\(text)\" is not a number")
        }
        self.value = value
    }
}

/// `[ <unix time>, { "count": "…", "sum": "…", "buckets": [ [rule, "lo", "hi", "count"], … ] } ]`
private struct WireHistogramPoint: Decodable {
    var time: Double
    var histogram: NativeHistogram

    private struct Body: Decodable {
        var count: String
        var sum: String
        var buckets: [WireBucket]?
    }

    private struct WireBucket: Decodable {
        var bucket: NativeHistogram.Bucket

        init(from decoder: any Decoder) throws {
            var fields = try decoder.unkeyedContainer()
            let rule = try fields.decode(Int.self)
            let numbers = [try fields.decode(String.self), try fields.decode(String.self), try fields.decode(String.self)]
            let parsed = numbers.compactMap(parseSampleValue)
            guard parsed.count == 3 else {
                throw DecodingError.dataCorruptedError(in: fields, debugDescription: "histogram bucket has a non-numeric bound or count")
            }
            bucket = NativeHistogram.Bucket(boundaryRule: rule, lower: parsed[0], upper: parsed[1], count: parsed[2])
        }
    }

    init(from decoder: any Decoder) throws {
        var pair = try decoder.unkeyedContainer()
        time = try pair.decode(Double.self)
        let body = try pair.decode(Body.self)
        guard let count = parseSampleValue(body.count), let sum = parseSampleValue(body.sum) else {
            throw DecodingError.dataCorruptedError(in: pair, debugDescription: "histogram count or sum is not a number")
        }
        histogram = NativeHistogram(count: count, sum: sum, buckets: (body.buckets ?? []).map(\.bucket))
    }
}
