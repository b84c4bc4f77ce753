import Foundation
import GateConfig
import GateSources
import GateTestKit
import Testing

@testable import GateServer

/// Every request decoder of the API, fed mutated bodies, answers with a 400 that names a
/// field or the JSON error — never a trap.
@Suite struct RequestDecoderFuzzTests {
    static let config: GateConfig = {
        // The minimal config of the config tests, with one check that needs a label.
        try! GateConfigLoader.parse(
            yaml: """
                prometheus: {url: "http://127.0.0.1:9090"}
                auth: {tokenFile: /var/run/secrets/upgrade-gate/token}
                checks:
                  - {name: targets-up, query: 'up{job="{{job}}"}', min: 1}
                """
        )
    }()

    static let seeds = [
        #"{"name":"cert-manager","component":"cert-manager","fromVersion":"v1.12.3","toVersion":"v1.13.1","namespaces":["cert-manager"],"labels":{"job":"cm"},"matchers":["severity=\"critical\""],"checks":["targets-up"],"soak":"30m","duration":"4h"}"#,
        #"{"name":"podinfo","namespace":"prod","phase":"Progressing","checksum":"85d557f47b","metadata":{"window":"w","eventMessage":"x"}}"#,
    ]

    @Test func windowAndFlaggerBodiesNeverTrap() {
        var rng = SplitMix64(state: 11)
        var badRequests = 0
        for index in 0..<3000 {
            let seed = Array(Self.seeds[index % 2].utf8)
            let body = mutateServer(seed, using: &rng)
            do {
                let value = try JSONValue.parseBody(body)
                if index % 2 == 0 {
                    _ = try decodeWindowRequest(value, config: Self.config)
                } else {
                    _ = try decodeFlaggerPayload(value)
                }
            } catch {
                badRequests += 1
                #expect(error.status == .badRequest, "\(error)")
                #expect(!error.message.isEmpty)
            }
        }
        #expect(badRequests > 0)
    }
}

func mutateServer(_ input: [UInt8], using rng: inout SplitMix64) -> [UInt8] {
    var bytes = input
    let tokens: [[UInt8]] = ["null", "true", "[]", "{}", "\"", "1e999", ",", ":", "\"\\u0000\"", "-"].map { Array($0.utf8) }
    for _ in 0..<Int.random(in: 1...6, using: &rng) {
        guard !bytes.isEmpty else { break }
        let at = Int.random(in: 0..<bytes.count, using: &rng)
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: bytes[at] = UInt8.random(in: 0...255, using: &rng)
        case 1: bytes.remove(at: at)
        case 2: bytes.insert(contentsOf: tokens.randomElement(using: &rng)!, at: at)
        default: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + 12)], at: at)
        }
    }
    return bytes
}
