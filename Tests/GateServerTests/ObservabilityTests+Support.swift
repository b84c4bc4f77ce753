import Foundation
import Logging
import Testing

@testable import GateServer

// Helpers shared by every GateServerTests file that asserts on gate logs or on /metrics.

extension MemoryLogSink {
    /// Every line parsed as a JSON object; records an issue (and skips the line) for a line that is not one.
    func jsonObjects(sourceLocation: SourceLocation = #_sourceLocation) -> [[String: Any]] {
        self.lines.compactMap { line in
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            if object == nil {
                Issue.record("log line is not a JSON object: \(line)", sourceLocation: sourceLocation)
            }
            return object
        }
    }
}

/// A `Logger` writing JSON lines into `sink`, without touching the global logging system.
func memoryLogger(
    _ sink: MemoryLogSink,
    label: String = "test",
    level: Logger.Level = .trace,
    format: LogFormat = .json,
    metadataProvider: Logger.MetadataProvider? = nil
) -> Logger {
    Logger(label: label) { label in
        makeLogHandler(label: label, format: format, level: level, sink: .memory(sink), metadataProvider: metadataProvider)
    }
}

/// One sample line of a Prometheus text exposition.
struct ExpositionSample: Equatable, CustomStringConvertible {
    var name: String
    var labels: [String: String]
    var value: Double

    var description: String { "\(self.name)\(self.labels.sorted { $0.key < $1.key }) \(self.value)" }
}

/// Why a line of text exposition did not parse.
struct ExpositionParseError: Error, CustomStringConvertible {
    var line: String
    var why: String

    var description: String { "\(self.why): \(self.line)" }
}

/// Parses the sample lines of a Prometheus text exposition (`name{label="value",…} value`), strictly: a line that
/// is neither a comment nor a well-formed sample throws.
func parseExposition(_ text: String) throws -> [ExpositionSample] {
    var samples: [ExpositionSample] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
        if line.isEmpty || line.hasPrefix("#") { continue }
        samples.append(try parseSampleLine(line))
    }
    return samples
}

private func parseSampleLine(_ line: String) throws -> ExpositionSample {
    let characters = Array(line.unicodeScalars)
    var index = 0
    func isNameCharacter(_ scalar: Unicode.Scalar, first: Bool) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "_", ":": true
        case "0"..."9": !first
        default: false
        }
    }
    var name = ""
    while index < characters.count, isNameCharacter(characters[index], first: name.isEmpty) {
        name.unicodeScalars.append(characters[index])
        index += 1
    }
    guard !name.isEmpty else { throw ExpositionParseError(line: line, why: "no metric name") }

    var labels: [String: String] = [:]
    if index < characters.count, characters[index] == "{" {
        index += 1
        while index < characters.count, characters[index] != "}" {
            var key = ""
            while index < characters.count, isNameCharacter(characters[index], first: key.isEmpty), characters[index] != ":" {
                key.unicodeScalars.append(characters[index])
                index += 1
            }
            guard !key.isEmpty, index + 1 < characters.count, characters[index] == "=", characters[index + 1] == "\"" else {
                throw ExpositionParseError(line: line, why: "bad label name")
            }
            index += 2
            var value = ""
            while true {
                guard index < characters.count else { throw ExpositionParseError(line: line, why: "unterminated label value") }
                let scalar = characters[index]
                index += 1
                if scalar == "\"" { break }
                if scalar == "\\" {
                    guard index < characters.count else { throw ExpositionParseError(line: line, why: "dangling escape") }
                    switch characters[index] {
                    case "\\": value.append("\\")
                    case "\"": value.append("\"")
                    case "n": value.append("\n")
                    default: throw ExpositionParseError(line: line, why: "bad escape")
                    }
                    index += 1
                } else {
                    value.unicodeScalars.append(scalar)
                }
            }
            guard labels.updateValue(value, forKey: key) == nil else { throw ExpositionParseError(line: line, why: "duplicate label") }
            if index < characters.count, characters[index] == "," { index += 1 }
        }
        guard index < characters.count else { throw ExpositionParseError(line: line, why: "unterminated labels") }
        index += 1
    }
    guard index < characters.count, characters[index] == " " else { throw ExpositionParseError(line: line, why: "no space before value") }
    index += 1
    let rest = String(String.UnicodeScalarView(characters[index...]))
    guard !rest.contains(" "), let value = Double(rest) else { throw ExpositionParseError(line: line, why: "bad value") }
    return ExpositionSample(name: name, labels: labels, value: value)
}

/// Runs `promtool check metrics` on `exposition`, fed through stdin.
///
/// - Returns: `nil` when `/usr/bin/promtool` does not exist, else its exit status and combined output.
func promtoolCheckMetrics(_ exposition: [UInt8]) async throws -> (status: Int32, output: String)? {
    let promtool = URL(fileURLWithPath: "/usr/bin/promtool")
    guard FileManager.default.isExecutableFile(atPath: promtool.path) else { return nil }
    let process = Process()
    process.executableURL = promtool
    process.arguments = ["check", "metrics"]
    let input = Pipe()
    let output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = output
    try process.run()
    // Read concurrently with writing, so a chatty promtool can never block on a full pipe while we write. The read and
    // the wait block, so they run on threads of their own: on Swift's cooperative pool (two threads on a 2-core
    // machine) they would stall every other test of the process meanwhile.
    let data = await withCheckedContinuation { (continuation: CheckedContinuation<Data, Never>) in
        Thread.detachNewThread { continuation.resume(returning: output.fileHandleForReading.readDataToEndOfFile()) }
        input.fileHandleForWriting.write(Data(exposition))
        try? input.fileHandleForWriting.close()
    }
    let status = await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
        Thread.detachNewThread {
            process.waitUntilExit()
            continuation.resume(returning: process.terminationStatus)
        }
    }
    return (status, String(decoding: data, as: UTF8.self))
}
