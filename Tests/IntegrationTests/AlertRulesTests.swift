import Foundation
import Testing

/// The shipped Prometheus alert rules (`alert-rules/`): promtool accepts them, their unit tests
/// pass, and every alert carries what on-call engineers and Alertmanager routes rely on.
///
/// promtool comes from Debian's `prometheus` package, which `make test` installs. When it is
/// missing these tests fail (they never skip): a rule change must not ship untested.
@Suite("Alert rules")
struct AlertRulesTests {
    /// `promtool check rules` (with every lint, lint findings fatal) on every `alert-rules/*.rules.yml`.
    @Test func promtoolAcceptsEveryRuleFile() async throws {
        let promtool = try Self.promtool()
        let root = try Self.repositoryRoot()
        let files = try Self.files(in: root.appendingPathComponent("alert-rules"), suffix: ".rules.yml")
        let run = try await Self.run(promtool, ["check", "rules", "--lint=all", "--lint-fatal"] + files.map(\.path), in: root)
        #expect(run.status == 0, "promtool check rules exited \(run.status):\n\(run.output)")
    }

    /// `promtool test rules` on every `alert-rules/tests/*.test.yml`.
    @Test func promtoolRuleUnitTestsPass() async throws {
        let promtool = try Self.promtool()
        let root = try Self.repositoryRoot()
        let files = try Self.files(in: root.appendingPathComponent("alert-rules/tests"), suffix: ".test.yml")
        let run = try await Self.run(promtool, ["test", "rules"] + files.map(\.path), in: root)
        #expect(run.status == 0, "promtool test rules exited \(run.status):\n\(run.output)")
    }

    /// Every alert has a `severity` label of `critical` or `warning` and `summary`, `description`
    /// and `runbook` annotations.
    ///
    /// Foundation reads no YAML, so the rule files are read by `RuleFileScanner`, which knows only
    /// the block style these files are written in; to be sure it missed no rule, its rule count is
    /// compared with the count promtool reports for the same file.
    @Test func everyAlertHasSeverityAndAnnotations() async throws {
        let promtool = try Self.promtool()
        let root = try Self.repositoryRoot()
        let files = try Self.files(in: root.appendingPathComponent("alert-rules"), suffix: ".rules.yml")
        for file in files {
            let scanned = try RuleFileScanner.scan(try String(contentsOf: file, encoding: .utf8), file: file.lastPathComponent)
            let check = try await Self.run(promtool, ["check", "rules", file.path], in: root)
            let reported = Self.ruleCount(inPromtoolOutput: check.output)
            #expect(
                reported == scanned.ruleCount,
                "\(file.lastPathComponent): promtool found \(reported.map(String.init) ?? "no") rules, the scanner \(scanned.ruleCount):\n\(check.output)"
            )
            #expect(!scanned.alerts.isEmpty, "\(file.lastPathComponent) defines no alert")
            for alert in scanned.alerts {
                let severity = alert.labels["severity"]
                #expect(
                    severity == "critical" || severity == "warning",
                    "\(alert.location) \(alert.name): severity is \(severity.map { "\"\($0)\"" } ?? "missing"), expected critical or warning"
                )
                for annotation in ["summary", "description", "runbook"] {
                    #expect(alert.annotations.contains(annotation), "\(alert.location) \(alert.name): no \(annotation) annotation")
                }
            }
        }
    }

    /// Every alert has a promtool test case where it fires and one where it must not.
    @Test func everyAlertIsTestedFiringAndQuiet() async throws {
        let root = try Self.repositoryRoot()
        var alerts: [String] = []
        for file in try Self.files(in: root.appendingPathComponent("alert-rules"), suffix: ".rules.yml") {
            alerts += try RuleFileScanner.scan(try String(contentsOf: file, encoding: .utf8), file: file.lastPathComponent).alerts.map(\.name)
        }
        var firing = Set<String>()
        var quiet = Set<String>()
        for file in try Self.files(in: root.appendingPathComponent("alert-rules/tests"), suffix: ".test.yml") {
            let cases = RuleFileScanner.alertTestCases(try String(contentsOf: file, encoding: .utf8))
            for testCase in cases {
                if testCase.expectsAlerts { firing.insert(testCase.alertname) } else { quiet.insert(testCase.alertname) }
            }
        }
        for alert in alerts {
            let testedFiring = firing.contains(alert)
            let testedQuiet = quiet.contains(alert)
            #expect(testedFiring, "\(alert) has no promtool test case in alert-rules/tests where it fires")
            #expect(testedQuiet, "\(alert) has no promtool test case in alert-rules/tests where it must not fire (exp_alerts: [])")
        }
    }

    // MARK: Harness

    /// `PROMTOOL` if set, else promtool on `PATH`, else `/usr/bin/promtool`; a failed requirement
    /// when there is none.
    private static func promtool() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        let candidates: [String]
        if let override = environment["PROMTOOL"], !override.isEmpty {
            candidates = [override]
        } else {
            candidates = (environment["PATH"] ?? "").split(separator: ":").map { "\($0)/promtool" } + ["/usr/bin/promtool"]
        }
        let found = candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
        return try #require(
            found,
            "promtool is not installed (looked at \(candidates.joined(separator: ", "))); run the test command from README.md, which installs it (Debian package prometheus)"
        )
    }

    /// The repository root: `UPGRADE_GATE_ROOT` if set (and then only it), else three levels above
    /// this file (Tests/IntegrationTests/AlertRulesTests.swift) as compiled, or with symlinks
    /// resolved: a scratch package compiling a symlink to this file still finds the real tree.
    private static func repositoryRoot() throws -> URL {
        let candidates: [URL]
        if let override = ProcessInfo.processInfo.environment["UPGRADE_GATE_ROOT"], !override.isEmpty {
            candidates = [URL(fileURLWithPath: override)]
        } else {
            let source = URL(fileURLWithPath: #filePath)
            candidates = [source, source.resolvingSymlinksInPath()].map {
                $0.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            }
        }
        let found = candidates.first { root in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: root.appendingPathComponent("alert-rules").path, isDirectory: &isDirectory)
                && isDirectory.boolValue
        }
        return try #require(
            found,
            "no alert-rules directory in \(candidates.map(\.path).joined(separator: " or ")); set UPGRADE_GATE_ROOT to the repository root"
        )
    }

    /// The files in `directory` whose names end with `suffix`, sorted; at least one.
    private static func files(in directory: URL, suffix: String) throws -> [URL] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        let files = names.filter { $0.hasSuffix(suffix) }.sorted().map { directory.appendingPathComponent($0) }
        try #require(!files.isEmpty, "no *\(suffix) file in \(directory.path)")
        return files
    }

    /// Runs `executable` to completion in `directory`; its exit status and its stdout and stderr together.
    private static func run(_ executable: String, _ arguments: [String], in directory: URL) async throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        return try await runToCompletion(process)
    }

    /// N from promtool's "SUCCESS: N rules found" for one file.
    private static func ruleCount(inPromtoolOutput output: String) -> Int? {
        for line in output.split(separator: "\n") {
            let words = line.split(separator: " ")
            if words.count >= 4, words[0] == "SUCCESS:", words[2] == "rules", words[3] == "found" { return Int(words[1]) }
        }
        return nil
    }
}

extension AlertRulesTests {
    /// A line-based reader of Prometheus rule files and promtool test files, for the block-style YAML
    /// of `alert-rules/` only: `- alert:` items whose `labels:` and `annotations:` are block mappings.
    /// Flow mappings (`labels: {…}`) are rejected rather than misread.
    enum RuleFileScanner {
        struct Alert {
            var name: String
            var location: String
            var labels: [String: String] = [:]
            var annotations: Set<String> = []
        }

        struct AlertTestCase {
            var alertname: String
            var expectsAlerts: Bool
        }

        struct UnsupportedYAML: Error, CustomStringConvertible {
            var description: String
        }

        /// The alerts of a rule file, and how many rules (alerting and recording) it has.
        static func scan(_ text: String, file: String) throws -> (alerts: [Alert], ruleCount: Int) {
            var alerts: [Alert] = []
            var ruleCount = 0
            var current: Alert?  // the alert being read (nil inside a recording rule)
            var ruleKeyIndent: Int?  // indentation of the current rule's keys
            var section: String?  // "labels" or "annotations"
            var sectionKeyIndent: Int?
            var blockScalarIndent: Int?  // skip lines indented deeper than this (a `|` or `>` scalar's text)

            func finishRule() {
                if let alert = current { alerts.append(alert) }
                current = nil
                ruleKeyIndent = nil
                section = nil
                sectionKeyIndent = nil
            }

            for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = String(rawLine)
                let content = line.trimmingCharacters(in: .whitespaces)
                if content.isEmpty { continue }
                let indent = line.prefix { $0 == " " }.count
                if let scalarIndent = blockScalarIndent {
                    if indent > scalarIndent { continue }
                    blockScalarIndent = nil
                }
                if content.hasPrefix("#") { continue }

                if content.hasPrefix("- alert:") || content.hasPrefix("- record:") {
                    finishRule()
                    ruleCount += 1
                    ruleKeyIndent = indent + 2
                    if content.hasPrefix("- alert:") {
                        current = Alert(name: unquote(value(of: String(content.dropFirst(2)))), location: "\(file):\(index + 1)")
                    }
                    continue
                }
                guard let keyIndent = ruleKeyIndent else { continue }
                if indent < keyIndent {
                    finishRule()
                    continue
                }
                guard let key = key(of: content) else { continue }
                let value = value(of: content)
                if indent == keyIndent {
                    section = (key == "labels" || key == "annotations") ? key : nil
                    sectionKeyIndent = nil
                    if section != nil, value.hasPrefix("{") {
                        throw UnsupportedYAML(description: "\(file):\(index + 1): write \(key) as a block mapping, one key a line")
                    }
                } else if let section, indent == (sectionKeyIndent ?? indent) {
                    sectionKeyIndent = indent
                    if section == "labels" { current?.labels[key] = unquote(value) } else { current?.annotations.insert(key) }
                }
                if isBlockScalarIndicator(value) { blockScalarIndent = indent }
            }
            finishRule()
            return (alerts, ruleCount)
        }

        /// The `alert_rule_test` cases of a promtool test file: each `alertname:` and whether the
        /// `exp_alerts:` after it lists alerts (`exp_alerts: []` expects none).
        static func alertTestCases(_ text: String) -> [AlertTestCase] {
            var cases: [AlertTestCase] = []
            var pending: String?
            for rawLine in text.split(separator: "\n") {
                var content = rawLine.trimmingCharacters(in: .whitespaces)
                if content.hasPrefix("- ") { content = String(content.dropFirst(2)) }
                if content.hasPrefix("alertname:") {
                    pending = unquote(value(of: content))
                } else if content.hasPrefix("exp_alerts:"), let alertname = pending {
                    let expected = value(of: content).replacingOccurrences(of: " ", with: "")
                    cases.append(AlertTestCase(alertname: alertname, expectsAlerts: expected != "[]"))
                    pending = nil
                }
            }
            return cases
        }

        /// `key` of a `key: value` or `key:` line.
        private static func key(of content: String) -> String? {
            guard let colon = content.range(of: ": ") ?? (content.hasSuffix(":") ? content.range(of: ":", options: .backwards) : nil)
            else { return nil }
            return String(content[..<colon.lowerBound])
        }

        /// The text after the first `: ` (or nothing), without a trailing ` # comment`.
        private static func value(of content: String) -> String {
            guard let colon = content.range(of: ": ") else { return "" }
            var value = String(content[colon.upperBound...]).trimmingCharacters(in: .whitespaces)
            if !value.hasPrefix("'"), !value.hasPrefix("\""), let comment = value.range(of: " #") {
                value = String(value[..<comment.lowerBound]).trimmingCharacters(in: .whitespaces)
            }
            return value
        }

        private static func unquote(_ value: String) -> String {
            for quote in ["'", "\""] where value.count >= 2 && value.hasPrefix(quote) && value.hasSuffix(quote) {
                return String(value.dropFirst().dropLast())
            }
            return value
        }

        /// `|`, `>`, `|-`, `>+`, `|2`…: the value continues on the following, deeper lines.
        private static func isBlockScalarIndicator(_ value: String) -> Bool {
            guard let first = value.first, first == "|" || first == ">" else { return false }
            return value.dropFirst().allSatisfy { $0 == "-" || $0 == "+" || $0.isNumber }
        }
    }
}
