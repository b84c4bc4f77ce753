// Times label matching against catastrophic patterns: RE2 (what the gate uses) and, for comparison, Swift `Regex`
// (the backtracking engine it used before). Run by Benchmarks/regex.sh; release build.
//
//   regex-benchmark                                   the RE2 table: every pattern × 1 kB, 10 kB, 100 kB
//   regex-benchmark --engine swift-regex --pattern P --size N [--runs R]
//                                                     one case on one engine (the script wraps the backtracking
//                                                     engine in `timeout`, since it may never finish)
import Foundation
import GateCore

/// A catastrophic pattern and the text that makes a backtracking engine explode on it: a long run of one letter
/// that the pattern cannot match in the end.
struct Case {
    var pattern: String
    var letter: Character
}

let cases = [
    Case(pattern: "(a*)*b", letter: "a"),
    Case(pattern: "(.*.*)*x", letter: "a"),
    Case(pattern: "((a+)+)+b", letter: "a"),
    Case(pattern: "(a|aa)*c", letter: "a"),
    Case(pattern: "(x+x+)+y", letter: "x"),
    Case(pattern: "(.*a){20}", letter: "b"),
]

/// The median of the durations, in seconds.
func median(_ samples: [Duration]) -> Double {
    let seconds = samples.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 }.sorted()
    return seconds.count % 2 == 1 ? seconds[seconds.count / 2] : (seconds[seconds.count / 2 - 1] + seconds[seconds.count / 2]) / 2
}

/// Times `match` `runs` times (after one warm-up), returning the median and the answer.
func time(runs: Int, _ match: () -> Bool) -> (seconds: Double, matched: Bool) {
    var matched = match()
    var samples: [Duration] = []
    let clock = ContinuousClock()
    for _ in 0..<runs {
        samples.append(clock.measure { matched = match() })
    }
    return (median(samples), matched)
}

func re2(_ pattern: String, _ text: String, runs: Int) -> (seconds: Double, matched: Bool) {
    let matcher = LabelMatcher(name: "alertname", op: .regexMatch, value: pattern)
    precondition(matcher.compileError == nil, "RE2 refused \(pattern): \(matcher.compileError ?? "")")
    let labels = Labels(["alertname": text])
    return time(runs: runs) { matcher.matches(labels) }
}

func swiftRegex(_ pattern: String, _ text: String, runs: Int) -> (seconds: Double, matched: Bool) {
    // Exactly how the gate compiled and matched before: a group, whole-match anchoring, scalar semantics.
    let regex = try! Regex("(?:\(pattern))").matchingSemantics(.unicodeScalar)
    return time(runs: runs) { (try? regex.wholeMatch(in: text)) != nil }
}

func format(_ seconds: Double) -> String {
    seconds < 1e-3 ? String(format: "%.1f µs", seconds * 1e6) : String(format: "%.2f ms", seconds * 1e3)
}

let arguments = CommandLine.arguments.dropFirst()
func option(_ name: String) -> String? {
    guard let index = arguments.firstIndex(of: name), arguments.index(after: index) < arguments.endIndex else { return nil }
    return arguments[arguments.index(after: index)]
}

if let engine = option("--engine") {
    guard let pattern = option("--pattern"), let size = option("--size").flatMap(Int.init),
        let known = cases.first(where: { $0.pattern == pattern })
    else {
        FileHandle.standardError.write(Data("usage: regex-benchmark --engine re2|swift-regex --pattern P --size N [--runs R]\n".utf8))
        exit(64)
    }
    let runs = option("--runs").flatMap(Int.init) ?? 5
    let text = String(repeating: known.letter, count: size)
    let result = engine == "re2" ? re2(pattern, text, runs: runs) : swiftRegex(pattern, text, runs: runs)
    print("\(engine)\t\(pattern)\t\(size)\t\(format(result.seconds))\tmatched=\(result.matched)")
    exit(0)
}

// The RE2 table: per pattern and size, the median of 9 runs, and time per kB to show linear growth.
print("RE2 (the gate's engine): median of 9 matches of a non-matching run of one letter, per value size")
print(
    "pattern".padding(toLength: 12, withPad: " ", startingAt: 0),
    "1 kB".padding(toLength: 12, withPad: " ", startingAt: 0),
    "10 kB".padding(toLength: 12, withPad: " ", startingAt: 0),
    "100 kB".padding(toLength: 12, withPad: " ", startingAt: 0),
    "per kB at 100 kB"
)
for known in cases {
    var cells: [String] = []
    var last = 0.0
    for size in [1_000, 10_000, 100_000] {
        let result = re2(known.pattern, String(repeating: known.letter, count: size), runs: 9)
        precondition(!result.matched, "\(known.pattern) matched")
        cells.append(format(result.seconds).padding(toLength: 12, withPad: " ", startingAt: 0))
        last = result.seconds
    }
    print(known.pattern.padding(toLength: 12, withPad: " ", startingAt: 0), cells.joined(separator: " "), format(last / 100))
}
