import Foundation
import GateTestKit
import Testing

@testable import GateSources

/// Mutates `input`: flips, inserts, deletes or duplicates bytes, and splices in JSON tokens.
func mutate(_ input: [UInt8], using rng: inout SplitMix64) -> [UInt8] {
    var bytes = input
    let tokens: [[UInt8]] = ["null", "true", "[]", "{}", "\"", "-1e999", "\"\\u0000\"", "9999999999999999999999", ",", ":", "\"NaN\""].map {
        Array($0.utf8)
    }
    for _ in 0..<Int.random(in: 1...8, using: &rng) {
        guard !bytes.isEmpty else { break }
        let at = Int.random(in: 0..<bytes.count, using: &rng)
        switch Int.random(in: 0..<5, using: &rng) {
        case 0: bytes[at] = UInt8.random(in: 0...255, using: &rng)
        case 1: bytes.remove(at: at)
        case 2: bytes.insert(contentsOf: tokens.randomElement(using: &rng)!, at: at)
        case 3: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + 16)], at: at)
        default: bytes = Array(bytes[..<at])
        }
    }
    return bytes
}

/// Decoders are fuzzed: every mutation of every contract payload must decode or fail with
/// an error — never trap, hang or accept garbage as data.
@Suite struct DecoderFuzzTests {
    static let iterations = 1500

    func corpus(_ folder: String) throws -> [[UInt8]] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/\(folder)", withExtension: nil))
        return try FileManager.default.contentsOfDirectory(atPath: url.path).filter { $0.hasSuffix(".json") }.sorted().map {
            Array(try Data(contentsOf: url.appendingPathComponent($0)))
        }
    }

    @Test func prometheusAnswersNeverTrap() throws {
        let inputs = try corpus("prometheus")
        var rng = SplitMix64(state: 42)
        var decoded = 0
        for _ in 0..<Self.iterations {
            let body = mutate(inputs.randomElement(using: &rng)!, using: &rng)
            let status = [200, 400, 422, 500, 503].randomElement(using: &rng)!
            if (try? decodeQueryAnswer(status: status, contentType: nil, body: body, query: "up")) != nil { decoded += 1 }
        }
        #expect(decoded < Self.iterations, "mutations must be rejected, not all accepted")
    }

    @Test func alertmanagerWebhooksNeverTrapAndErrorsSayWhy() throws {
        let inputs = try corpus("alertmanager")
        var rng = SplitMix64(state: 7)
        var rejected = 0
        for _ in 0..<Self.iterations {
            let body = mutate(inputs.randomElement(using: &rng)!, using: &rng)
            do {
                _ = try AlertmanagerWebhook.decode(body)
            } catch {
                rejected += 1
                #expect(!error.message.isEmpty)
            }
        }
        #expect(rejected > 0)
    }

    @Test func kubernetesJSONNeverTraps() throws {
        let inputs = try corpus("kubernetes")
        var rng = SplitMix64(state: 99)
        for _ in 0..<Self.iterations {
            let body = mutate(inputs.randomElement(using: &rng)!, using: &rng)
            if let value = try? JSONValue.parse(body) {
                // Whatever parses must survive a round trip.
                #expect((try? JSONValue.parse(value.encoded())) == value)
            }
        }
    }

    @Test func rfc3339ParserNeverTraps() {
        var rng = SplitMix64(state: 3)
        let seed = Array("2026-08-20T10:15:30.123456789+02:00".utf8)
        for _ in 0..<Self.iterations {
            _ = parseRFC3339(String(decoding: mutate(seed, using: &rng), as: UTF8.self))
        }
    }
}
