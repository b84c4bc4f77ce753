import Foundation
import Testing

@testable import GateCore

/// One reference case computed by SciPy (see `Fixtures/mann-whitney-corpus.py`).
struct ReferenceCase: Decodable, Sendable {
    var recent: [Double]
    var baseline: [Double]
    var confidence: Double
    var u: Double
    var p: Double
    var method: String
    var shift: Double
    var k: Int
    var lower: Double?
    var upper: Double?
}

/// A file of reference cases and the SciPy version that produced them.
struct ReferenceCorpus: Decodable, Sendable {
    var generator: String
    var scipy: String
    var cases: [ReferenceCase]
}

/// The largest difference between the judge and SciPy over a set of cases, per quantity.
struct Disagreement: CustomStringConvertible {
    var u = 0.0
    var p = 0.0
    var shift = 0.0
    var bounds = 0.0
    var description: String {
        "U \(u), p \(p), shift \(shift), interval bounds \(bounds) (absolute; shift and bounds relative to max(1, |value|))"
    }
}

/// Compares every case with `compareSamples`; returns the largest disagreements.
func checkAgainstReference(_ cases: [ReferenceCase], sourceLocation: SourceLocation = #_sourceLocation) -> Disagreement {
    var worst = Disagreement()
    for (index, reference) in cases.enumerated() {
        guard let result = compareSamples(recent: reference.recent, baseline: reference.baseline, confidence: reference.confidence) else {
            Issue.record("case \(index): no comparison", sourceLocation: sourceLocation)
            continue
        }
        let relative = { (a: Double, b: Double) in abs(a - b) / max(1, abs(b)) }
        worst.u = max(worst.u, abs(result.test.u - reference.u))
        worst.p = max(worst.p, abs(result.test.pValue - reference.p))
        worst.shift = max(worst.shift, relative(result.shift, reference.shift))
        #expect(result.test.method.rawValue == reference.method, "case \(index)", sourceLocation: sourceLocation)
        #expect(
            shiftIntervalRank(reference.recent.count, reference.baseline.count, confidence: reference.confidence) == reference.k,
            "case \(index): interval rank",
            sourceLocation: sourceLocation
        )
        #expect(abs(result.test.u - reference.u) <= 1e-9, "case \(index): U", sourceLocation: sourceLocation)
        #expect(
            abs(result.test.pValue - reference.p) <= 1e-9,
            "case \(index): p \(result.test.pValue) vs \(reference.p)",
            sourceLocation: sourceLocation
        )
        #expect(relative(result.shift, reference.shift) <= 1e-9, "case \(index): shift", sourceLocation: sourceLocation)
        if let lower = reference.lower, let upper = reference.upper {
            worst.bounds = max(worst.bounds, relative(result.lower, lower), relative(result.upper, upper))
            #expect(relative(result.lower, lower) <= 1e-9, "case \(index): lower \(result.lower) vs \(lower)", sourceLocation: sourceLocation)
            #expect(relative(result.upper, upper) <= 1e-9, "case \(index): upper \(result.upper) vs \(upper)", sourceLocation: sourceLocation)
        } else {
            #expect(result.lower == -.infinity && result.upper == .infinity, "case \(index): unbounded", sourceLocation: sourceLocation)
        }
    }
    return worst
}

/// Whether `python3` can import SciPy here (CI machines without it skip the live comparison).
let sciPyAvailable: Bool = {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", "import scipy, numpy"]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    do {
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus == 0
    } catch {
        return false
    }
}()

@Suite("Mann-Whitney agrees with SciPy")
struct MannWhitneyCorpusTests {
    @Test func committedCorpusAgreesWithSciPyToOneBillionth() throws {
        let url = try #require(Bundle.module.url(forResource: "mann-whitney-corpus", withExtension: "json", subdirectory: "Fixtures"))
        let corpus = try JSONDecoder().decode(ReferenceCorpus.self, from: Data(contentsOf: url))
        #expect(corpus.cases.count >= 200)
        let worst = checkAgainstReference(corpus.cases)
        print("Mann-Whitney corpus: \(corpus.cases.count) cases from SciPy \(corpus.scipy); largest disagreement: \(worst)")
    }

    @Test(.enabled(if: sciPyAvailable, "SciPy is not installed for python3 (pip install scipy): live comparison skipped"))
    func freshSciPyCasesAgreeToOneBillionth() throws {
        let script = try #require(Bundle.module.url(forResource: "mann-whitney-corpus", withExtension: "py", subdirectory: "Fixtures"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // A seed the committed corpus does not use, so these are new samples.
        process.arguments = ["python3", script.path, "--seed", "7", "--cases", "24"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let corpus = try JSONDecoder().decode(ReferenceCorpus.self, from: data)
        #expect(corpus.cases.count >= 20)
        let worst = checkAgainstReference(corpus.cases)
        print("Mann-Whitney live SciPy \(corpus.scipy): \(corpus.cases.count) cases; largest disagreement: \(worst)")
    }
}
