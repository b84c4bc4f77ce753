import Foundation
import Testing

@testable import GateConfig

/// YAML built to exhaust the loader: alias bombs, deep nesting, huge files. Each is refused before Yams builds a tree,
/// with one error naming the line, and the loader stays fast.
@Suite struct HostileYAML {
    /// Nine levels of nine aliases: about 387 million nodes once expanded, in under 600 bytes.
    static func laughs(levels: Int = 9, asKey: Bool = false) -> String {
        let names = (0..<levels).map { String(UnicodeScalar(UInt8(ascii: "a") + UInt8($0))) }
        var yaml = "prometheus: {url: http://prometheus:9090}\nx-laughs:\n"
        yaml += "  \(names[0]): &\(names[0]) [" + Array(repeating: "lol", count: 9).joined(separator: ", ") + "]\n"
        for (previous, name) in zip(names, names.dropFirst()) {
            yaml += "  \(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ", ") + "]\n"
        }
        if asKey {
            // An alias as a mapping key: Yams hashes every key to find duplicates, which walks the whole expansion.
            yaml += "x-keys:\n  ? *\(names[levels - 1])\n  : 1\n"
        }
        return yaml
    }

    @Test func anAliasBombIsOneErrorNamingTheLineWhereItExplodes() {
        let errors = parseErrors(Self.laughs())
        #expect(errors.count == 1)
        #expect(errors.first?.kind == .yamlLimit)
        #expect(errors.first?.line == 8)
        #expect(errors.first?.message.contains("aliases expand to more than 100000 nodes") == true)
    }

    @Test func anAliasBombUsedAsAMappingKeyIsRefusedBeforeYamsHashesIt() {
        // The anchors alone stay within the budget; the key counts as all it stands for, as a hash of it would.
        let errors = parseErrors(Self.laughs(levels: 5, asKey: true))
        #expect(errors.map(\.kind) == [.yamlLimit])
        #expect(errors.first?.line == 9)
    }

    @Test func deepNestingIsRefusedBeforeARecursiveWalkCouldOverflowTheStack() {
        let deep =
            "prometheus: {url: http://prometheus:9090}\nx-deep: " + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "\n"
        let errors = parseErrors(deep)
        #expect(errors.map(\.kind) == [.yamlLimit])
        #expect(errors.first?.line == 2)
        #expect(errors.first?.message == "the YAML document nests deeper than 64 levels")
    }

    @Test func nestingPastLibyamlsOwnLimitIsASyntaxErrorAtItsLine() {
        // libyaml stops at 1,000 levels while it scans ahead, before any event reaches the budget.
        let deep =
            "prometheus: {url: http://prometheus:9090}\nx-deep: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
            + "\n"
        let errors = parseErrors(deep)
        #expect(errors.map(\.kind) == [.syntax])
        #expect(errors.first?.line == 2)
    }

    @Test func aliasesThatNestDeepOnlyOnceExpandedAreRefused() {
        // Each anchor is 20 levels deep and holds the previous one: shallow as written, 200 levels once expanded.
        var yaml = "prometheus: {url: http://prometheus:9090}\n"
        yaml += "x0: &x0 " + String(repeating: "[", count: 20) + "1" + String(repeating: "]", count: 20) + "\n"
        for index in 1..<10 {
            yaml += "x\(index): &x\(index) " + String(repeating: "[", count: 20) + "*x\(index - 1)" + String(repeating: "]", count: 20) + "\n"
        }
        let errors = parseErrors(yaml)
        #expect(errors.map(\.kind) == [.yamlLimit])
        #expect(errors.first?.message == "YAML aliases nest deeper than 64 levels once expanded; simplify the anchors")
        #expect(errors.first?.line == 5)
    }

    @Test func aConfigurationLargerThanOneMebibyteIsNotRead() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-yaml-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("gate.yaml").path
        try (minimalYAML() + "# " + String(repeating: "x", count: 1 << 20) + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let error = #expect(throws: ConfigErrors.self) { try GateConfigLoader.load(path: path) }
        #expect(error?.errors.map(\.kind) == [.unreadable])
        #expect(error?.description.contains("more than the 1048576 a configuration may have") == true)
        // The same text given directly is refused by size too.
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(parseErrors(text).map(\.kind) == [.yamlLimit])
    }

    @Test func ordinaryAnchorsAndMergeKeysStayWellWithinTheBudget() throws {
        // A hundred checks sharing the first one's rules through a merge key, as a large real configuration might.
        var yaml = "prometheus: {url: http://prometheus:9090}\nchecks:\n"
        yaml += "  - &rules {name: check-0, query: 'rate(errors_total[5m])', maxIncrease: 50%, floor: 0.001, critical: false}\n"
        for index in 1..<100 {
            yaml += "  - {<<: *rules, name: check-\(index), query: 'rate(errors_total{job=\"j\(index)\"}[5m])'}\n"
        }
        let config = try GateConfigLoader.parse(yaml: withAuth(yaml))
        #expect(config.checks.count == 100)
        #expect(config.checks.allSatisfy { $0.floor == 0.001 })
    }
}
