import Testing

@testable import GateConfig

/// Prometheus duration syntax, both ways.
@Suite struct PrometheusDurations {
    static let valid: [(text: String, seconds: Double)] = [
        ("0", 0), ("0s", 0), ("30s", 30), ("5m", 300), ("1h30m", 5400), ("500ms", 0.5), ("1m500ms", 60.5), ("2d", 172_800),
        ("2w", 1_209_600), ("1y", 31_536_000), ("336h", 1_209_600), ("90m", 5400), ("0h0m1s", 1),
        ("1y2w3d4h5m6s7ms", 31_536_000 + 1_209_600 + 259_200 + 14_400 + 306.007),
    ]

    static let invalid: [String] = [
        "", "10", "1.5h", "-5m", "+5m", "5 m", "5M", "m", "1m1h", "1h1h", "1s1ms1s", "5sec", "1hm", "1h 30m", "ms",
        "99999999999999999999s", "300y",
    ]

    static let formatted: [(seconds: Double, text: String)] = [
        (0, "0s"), (30, "30s"), (5400, "1h30m"), (0.5, "500ms"), (1_209_600, "2w"), (7_776_000, "90d"), (31_536_000, "1y"),
        (86_401, "1d1s"), (-90, "-1m30s"), (0.0004, "0s"), (60.5, "1m500ms"),
    ]

    @Test(arguments: valid)
    func parsesPrometheusSyntax(text: String, seconds: Double) {
        #expect(parsePrometheusDuration(text) == seconds)
    }

    @Test(arguments: invalid)
    func rejectsAnythingElse(text: String) {
        #expect(parsePrometheusDuration(text) == nil)
    }

    @Test(arguments: formatted)
    func formatsAsPrometheusDoes(seconds: Double, text: String) {
        #expect(formatPrometheusDuration(seconds) == text)
    }

    @Test(arguments: ["30s", "1h30m", "500ms", "2w", "90d", "1y", "1d1s", "15m", "72h"])
    func formattingAParsedDurationGivesItBackExactly(text: String) throws {
        let seconds = try #require(parsePrometheusDuration(text))
        #expect(parsePrometheusDuration(formatPrometheusDuration(seconds)) == seconds)
    }
}
