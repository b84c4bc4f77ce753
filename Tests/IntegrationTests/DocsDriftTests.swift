import Foundation
import GateConfig
import GateCore
import GateServer
import Testing
import Yams

// The user's reference in docs/ must not drift from the code. Each list below is derived from the code itself (the
// config loader's answers, the registered routes, the metric families, ArgumentParser's command tree, the rule
// files), never from a hand-kept list, and every failure names what is missing and the page to add it to.

/// The repository's root directory (this file is Tests/IntegrationTests/DocsDriftTests.swift).
private let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The text of a file under the repository root.
private func repositoryText(_ relativePath: String) throws -> String {
    try String(contentsOf: repositoryRoot.appendingPathComponent(relativePath), encoding: .utf8)
}

/// Every match of `pattern` in `text`, as the capture groups (or the whole match when there are none).
private func matches(_ pattern: String, in text: String, options: NSRegularExpression.Options = []) -> [[String]] {
    // The patterns are literals of this file: a bad one is a bug in the test, and `try!` says so at once.
    let regex = try! NSRegularExpression(pattern: pattern, options: options)
    let range = NSRange(text.startIndex..., in: text)
    return regex.matches(in: text, range: range).map { match in
        let groups = match.numberOfRanges > 1 ? Array(1..<match.numberOfRanges) : [0]
        return groups.map { index in Range(match.range(at: index), in: text).map { String(text[$0]) } ?? "" }
    }
}

/// The first cell of every row, without its backticks, of the Markdown tables whose first header cell is `header`
/// (`| key | type | …`); rows whose first cell is not one backticked token are skipped.
private func tableKeys(_ markdown: String, header: String) -> [String] {
    var keys: [String] = []
    var inTable = false
    for line in markdown.components(separatedBy: "\n") {
        let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard line.hasPrefix("|"), cells.count > 2 else {
            inTable = false
            continue
        }
        if !inTable {
            inTable = cells[1].lowercased() == header
            continue
        }
        if let key = matches(#"^`([^`]+)`$"#, in: cells[1]).first?[0] { keys.append(key) }
    }
    return keys
}

/// Every `.swift` file under a folder of the repository, with its path relative to the root.
private func swiftSources(under folder: String) -> [(path: String, text: String)] {
    let base = repositoryRoot.appendingPathComponent(folder)
    guard let enumerator = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else { return [] }
    var files: [(String, String)] = []
    for case let url as URL in enumerator where url.pathExtension == "swift" {
        if let text = try? String(contentsOf: url, encoding: .utf8) {
            files.append((url.path.replacingOccurrences(of: repositoryRoot.path + "/", with: ""), text))
        }
    }
    return files.sorted { $0.0 < $1.0 }
}

@Suite("docs/ match the code")
struct DocsDriftTests {
    // MARK: Configuration

    /// A key name no configuration key is close to, so the loader answers "expected one of: …" instead of a hint.
    static let probeKey = "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"

    /// The YAML (flow style) that puts `value` at `path`, where `[]` after a segment means "the first item of a list".
    static func yaml(at path: [String], value: String) -> String {
        guard let first = path.first else { return value }
        let inner = yaml(at: Array(path.dropFirst()), value: value)
        if first.hasSuffix("[]") { return "{\"\(first.dropLast(2))\": [\(inner)]}" }
        return "{\"\(first)\": \(inner)}"
    }

    /// The keys the loader accepts in the mapping at `path`, from its own "unknown key; expected one of: …" answer;
    /// nil when the value at `path` is not read as a mapping.
    static func acceptedKeys(at path: [String]) -> [String]? {
        let document = yaml(at: path + [probeKey], value: "1")
        let probePath = (path + [probeKey]).joined(separator: ".").replacingOccurrences(of: "[]", with: "[0]")
        do {
            _ = try GateConfigLoader.parse(yaml: document)
        } catch {
            for problem in error.errors where problem.kind == .unknownKey && problem.path == probePath {
                guard let list = problem.message.components(separatedBy: "expected one of: ").last, list != problem.message else { continue }
                return list.components(separatedBy: ", ")
            }
        }
        return nil
    }

    /// Every key path the loader accepts, sections included, as `section.key`, with `[]` for the items of a list of
    /// mappings (`checks`, `checks[].name`). Found by asking the loader itself, section by section.
    static func loaderKeyPaths() -> [String] {
        var found: [String] = []
        func walk(_ path: [String]) {
            guard let keys = acceptedKeys(at: path) else { return }
            for key in keys {
                let child = path + [key]
                found.append(child.joined(separator: "."))
                if acceptedKeys(at: child) != nil {
                    walk(child)
                } else if acceptedKeys(at: path + [key + "[]"]) != nil {
                    // A list of mappings: the key itself, then its items' keys as `key[].child`.
                    walk(path + [key + "[]"])
                }
            }
        }
        walk([])
        return found
    }

    @Test func everyClosedSetIsDocumented() throws {
        let api = try repositoryText("docs/http-api.md")
        for code in APIErrorCode.allCases where !api.contains("`\(code.rawValue)`") {
            Issue.record("docs/http-api.md does not document the error code \(code.rawValue): add it to the Errors table")
        }
        let metrics = try repositoryText("docs/metrics.md")
        for reason in DenialReason.allCases where !metrics.contains("`\(reason.rawValue)`") {
            Issue.record("docs/metrics.md does not document the denial reason \(reason.rawValue) of upgrade_gate_denials_total")
        }
        for kind in EventKind.allCases where !api.contains("`\(kind.rawValue)`") {
            Issue.record("docs/http-api.md does not document the event kind \(kind.rawValue): add it where the events endpoint is described")
        }
    }

    @Test func theLoaderProbeFindsTheKnownSections() {
        // Guards the probe itself: if the loader's wording changed, the drift test below would find nothing.
        let keys = Self.loaderKeyPaths()
        #expect(keys.contains("prometheus.url"), "the probe found \(keys)")
        #expect(keys.contains("checks[].query"), "the probe found \(keys)")
        #expect(keys.contains("velero.restore.mode"), "the probe found \(keys)")
    }

    @Test func everyConfigKeyTheLoaderAcceptsIsDocumentedAndNothingElse() throws {
        let page = try repositoryText("docs/configuration.md")
        let documented = Set(tableKeys(page, header: "key"))
        let accepted = Self.loaderKeyPaths()
        for key in accepted where !documented.contains(key) {
            Issue.record(
                "docs/configuration.md does not document the config key `\(key)`, which the loader accepts: add a table row | `\(key)` | type | default | rule | example | to its section"
            )
        }
        for key in documented.subtracting(accepted).sorted() {
            Issue.record(
                "docs/configuration.md documents the config key `\(key)`, which the loader rejects as unknown: remove its row or teach the loader the key"
            )
        }
    }

    @Test func theCommentedExampleInConfigurationMdIsAValidConfig() throws {
        // The page's full example must load: a reader copies it.
        let page = try repositoryText("docs/configuration.md")
        let blocks = matches(#"(?s)```yaml\n# full example\n(.*?)```"#, in: page)
        let example = try #require(blocks.first?.first, "docs/configuration.md has no ```yaml block starting with '# full example'")
        do {
            _ = try GateConfigLoader.parse(yaml: example, source: "docs/configuration.md full example")
        } catch {
            Issue.record("the full example of docs/configuration.md does not load: \(error)")
        }
    }

    // MARK: HTTP API

    /// Every route registered on the router: `METHOD /path` with `{name}` for parameters, from the
    /// `router.get("/…")`-style registrations in Sources.
    static func registeredRoutes() -> [String] {
        var routes: Set<String> = []
        for file in swiftSources(under: "Sources") {
            for match in matches(#"\b(?:router|group)\.(get|post|put|patch|delete|head)\(\s*"([^"]*)""#, in: file.text) {
                let path = matches(#":([A-Za-z_][A-Za-z0-9_]*)"#, in: match[1]).reduce(match[1]) { path, parameter in
                    path.replacingOccurrences(of: ":" + parameter[0], with: "{\(parameter[0])}")
                }
                routes.insert("\(match[0].uppercased()) \(path)")
            }
        }
        return routes.sorted()
    }

    @Test func everyRegisteredRouteHasASectionInHttpApiMd() throws {
        let page = try repositoryText("docs/http-api.md")
        let routes = Self.registeredRoutes()
        #expect(routes.contains("GET /healthz"), "the route scan found \(routes)")
        let headings = Set(matches(#"(?m)^#{2,4} `?((?:GET|POST|PUT|PATCH|DELETE|HEAD) /[^`\s]*)`?"#, in: page).map { $0[0] })
        for route in routes where !headings.contains(route) {
            Issue.record("docs/http-api.md has no section for the registered route \(route): add a heading `### \(route)`")
        }
        for heading in headings.subtracting(routes).sorted() {
            Issue.record("docs/http-api.md has a section `\(heading)`, but no such route is registered in Sources: remove or rename it")
        }
    }

    // MARK: Metrics

    /// Every metric family name in Sources: the `upgrade_gate_…` string literals.
    static func metricNames() -> [String] {
        var names: Set<String> = []
        for file in swiftSources(under: "Sources") {
            for match in matches(#""(upgrade_gate_[a-z0-9_]+)""#, in: file.text) { names.insert(match[0]) }
        }
        return names.sorted()
    }

    @Test func everyMetricIsDocumentedInMetricsMdAndNothingElse() throws {
        let page = try repositoryText("docs/metrics.md")
        let names = Self.metricNames()
        #expect(names.contains("upgrade_gate_window_verdict"), "the metric scan found \(names)")
        let documented = Set(tableKeys(page, header: "metric"))
        for name in names where !documented.contains(name) {
            Issue.record("docs/metrics.md does not document the metric \(name): add a row | `\(name)` | type | labels | meaning | to its table")
        }
        for name in documented.subtracting(names).sorted() {
            Issue.record("docs/metrics.md documents the metric \(name), which no code emits: remove its row")
        }
    }

    @Test func alertRulesAndTheDashboardOnlyUseMetricsTheGateEmits() throws {
        let names = Set(Self.metricNames())
        func known(_ name: String) -> Bool {
            names.contains(name) || ["_bucket", "_sum", "_count"].contains { name.hasSuffix($0) && names.contains(String(name.dropLast($0.count))) }
        }
        let files = ["alert-rules/upgrade-gate.rules.yml", "deploy/base/prometheusrule.yaml", "deploy/base/grafana-dashboard.yaml"]
        for file in files {
            for name in Set(matches(#"\bupgrade_gate_[a-z0-9_]+"#, in: try repositoryText(file)).map { $0[0] }).sorted() where !known(name) {
                Issue.record("\(file) uses the metric \(name), which upgrade-gate does not emit")
            }
        }
    }

    // MARK: CLI

    /// One command of the CLI with the long names of its options and flags (help and version excepted).
    struct Command: CustomStringConvertible {
        var path: String
        var flags: [String]
        var description: String { "\(path) \(flags)" }
    }

    /// The command tree, from ArgumentParser's own dump of the built binary.
    static func commands() async throws -> [Command] {
        let run = try await runGate(["--experimental-dump-help"])
        let root = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        guard let command = root?["command"] as? [String: Any] else {
            throw HarnessError(description: "upgrade-gate --experimental-dump-help printed no command tree: \(run)")
        }
        var commands: [Command] = []
        func walk(_ node: [String: Any], prefix: String) {
            let path = prefix.isEmpty ? (node["commandName"] as? String ?? "?") : "\(prefix) \(node["commandName"] as? String ?? "?")"
            var flags: [String] = []
            for argument in node["arguments"] as? [[String: Any]] ?? [] where argument["shouldDisplay"] as? Bool ?? true {
                for name in argument["names"] as? [[String: Any]] ?? [] where name["kind"] as? String == "long" {
                    if let long = name["name"] as? String, !["help", "version", "experimental-dump-help"].contains(long) {
                        flags.append("--" + long)
                    }
                }
            }
            commands.append(Command(path: path, flags: flags))
            for child in node["subcommands"] as? [[String: Any]] ?? [] where child["commandName"] as? String != "help" {
                walk(child, prefix: path)
            }
        }
        walk(command, prefix: "")
        return commands
    }

    /// The sections of a page, by the backticked command in their heading (`## `upgrade-gate window open``).
    static func commandSections(_ page: String) -> [String: String] {
        var sections: [String: String] = [:]
        var current: String?
        for line in page.components(separatedBy: "\n") {
            if line.hasPrefix("#") {
                current = matches(#"^#+ `(upgrade-gate[a-z -]*?)`"#, in: line).first?[0]
                if let current { sections[current] = "" }
                continue
            }
            if let current { sections[current, default: ""] += line + "\n" }
        }
        return sections
    }

    @Test func everyCommandAndFlagIsDocumentedInCliMdAndNothingElse() async throws {
        let page = try repositoryText("docs/cli.md")
        let sections = Self.commandSections(page)
        let commands = try await Self.commands()
        #expect(commands.contains { $0.path == "upgrade-gate check" && $0.flags.contains("--config") }, "the command dump gave \(commands)")
        for command in commands where command.path != "upgrade-gate" {
            guard let section = sections[command.path] else {
                Issue.record("docs/cli.md has no section for the command `\(command.path)`: add a heading ## `\(command.path)` with its flags")
                continue
            }
            let documented = Set(matches(#"(?<![A-Za-z0-9-])--[a-z][a-z0-9-]*"#, in: section).map { $0[0] }).subtracting(["--help"])
            for flag in command.flags where !documented.contains(flag) {
                Issue.record("docs/cli.md does not document the flag \(flag) of `\(command.path)`: add it to that command's section")
            }
            for flag in documented.subtracting(command.flags).sorted() {
                Issue.record("docs/cli.md documents the flag \(flag) for `\(command.path)`, which the command does not accept")
            }
        }
        let known = Set(commands.map(\.path))
        for documented in sections.keys.sorted() where !known.contains(documented) {
            Issue.record("docs/cli.md has a section for `\(documented)`, which is not a command of the binary")
        }
    }

    // MARK: Alert rules

    /// Every alert of the shipped rule files, by file.
    static func alertNames() throws -> [String] {
        let folder = repositoryRoot.appendingPathComponent("alert-rules")
        var names: [String] = []
        for file in try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() where file.hasSuffix(".rules.yml") {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            let document = try Yams.load(yaml: text) as? [String: Any]
            for group in document?["groups"] as? [[String: Any]] ?? [] {
                for rule in group["rules"] as? [[String: Any]] ?? [] {
                    if let alert = rule["alert"] as? String { names.append(alert) }
                }
            }
        }
        return names
    }

    @Test func everyShippedAlertRuleHasARunbookEntryInOperationsMd() throws {
        let page = try repositoryText("docs/operations.md")
        let names = try Self.alertNames()
        #expect(names.contains("UpgradeGateDown"), "the rule files gave \(names)")
        let headings = Set(matches(#"(?m)^#{3,4} `?([A-Z][A-Za-z0-9]+)`?\s*$"#, in: page).map { $0[0] })
        for name in names where !headings.contains(name) {
            Issue.record(
                "docs/operations.md has no runbook entry for the shipped alert \(name): add a heading ### \(name) saying what it means and what to do"
            )
        }
        for heading in headings.subtracting(names).sorted() where heading.hasPrefix("Upgrade") {
            Issue.record("docs/operations.md has a runbook entry for \(heading), which no file in alert-rules/ defines")
        }
    }

    // MARK: The repository stands alone

    /// Every text file of the repository (what `git ls-files` would list, without build output).
    static func repositoryFiles() -> [(path: String, text: String)] {
        guard let enumerator = FileManager.default.enumerator(at: repositoryRoot, includingPropertiesForKeys: [.isDirectoryKey]) else { return [] }
        var files: [(String, String)] = []
        for case let url as URL in enumerator {
            let name = url.lastPathComponent
            if name == ".build" || name == ".git" || name == ".swiftpm" || name == "Package.resolved" {
                enumerator.skipDescendants()
                continue
            }
            guard let data = FileManager.default.contents(atPath: url.path), !data.contains(0), let text = String(data: data, encoding: .utf8) else {
                continue
            }
            files.append((url.path.replacingOccurrences(of: repositoryRoot.path + "/", with: ""), text))
        }
        return files
    }

    @Test func noFilePointsOutsideTheRepositoryOrCitesTheSpecification() {
        // Spelled in pieces so that this file does not match itself.
        let forbidden = ["../" + "shared", "shared/" + "SPEC", "SPEC" + " §", "SPEC" + ".md"]
        let files = Self.repositoryFiles()
        #expect(files.contains { $0.path == "README.md" }, "the repository walk found \(files.count) files")
        for file in files {
            for (number, line) in file.text.components(separatedBy: "\n").enumerated() {
                for pattern in forbidden where line.contains(pattern) {
                    Issue.record("\(file.path):\(number + 1) points outside the repository (\(pattern)); say it in the project's own words: \(line)")
                }
            }
        }
    }

    @Test func readmeLinksEveryReferencePageAndEveryRelativeLinkResolves() throws {
        let pages = ["configuration", "http-api", "cli", "metrics", "operations", "architecture"].map { "docs/\($0).md" }
        let readme = try repositoryText("README.md")
        for page in pages where !readme.contains("(\(page))") {
            Issue.record("README.md does not link \(page): add [\(page)](\(page))")
        }
        for file in ["README.md", "deploy/README.md"] + pages {
            let text = try repositoryText(file)
            let folder = (file as NSString).deletingLastPathComponent
            for link in matches(#"\]\(([^)#\s]+)(?:#[^)]*)?\)"#, in: text).map({ $0[0] }) where !link.contains("://") {
                let target = repositoryRoot.appendingPathComponent(folder.isEmpty ? link : "\(folder)/\(link)").standardized
                if !FileManager.default.fileExists(atPath: target.path) {
                    Issue.record("\(file) links \(link), which does not exist in the repository")
                }
            }
        }
    }
}
