import Foundation
import GateLint
import Testing

/// `upgrade-gate lint` on YAML built to exhaust it: alias bombs and deep nesting stop the lint with an error naming
/// the file and line (exit 64), instead of walking billions of nodes.
@Suite struct HostileYAMLLintTests {
    private func withFile(_ name: String, _ text: String, _ body: (String) throws -> Void) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("gatelint-hostile-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: "\(root)/\(name)"))
        try body("\(root)/\(name)")
    }

    /// A Pod whose annotations hold nine levels of nine aliases: about 387 million nodes once expanded.
    static let podWithLaughs: String = {
        var yaml = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n"
        yaml += "    a: &a [" + Array(repeating: "lol", count: 9).joined(separator: ", ") + "]\n"
        for (previous, name) in zip("abcdefgh", "bcdefghi") {
            yaml += "    \(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ", ") + "]\n"
        }
        return yaml + "spec:\n  containers: [{name: a, image: nginx:latest}]\n"
    }()

    @Test func anAliasBombStopsTheLintNamingFileAndLine() throws {
        try withFile("bomb.yaml", Self.podWithLaughs) { path in
            let error = #expect(throws: LintError.self) { try Linter.lint(paths: [path]) }
            #expect(error?.label == "yaml_limit")
            #expect(error?.file == path)
            #expect(error?.line == 12)
            #expect(error?.description.hasPrefix("\(path):12: YAML aliases expand to more than 2000000 nodes") == true)
        }
    }

    @Test func anAliasBombIsNotExcusedAsAHelmTemplate() throws {
        // Text with `{{` that fails to parse is scanned line by line as a Helm template; a bomb never gets there.
        try withFile("template.yaml", "# {{ .Values.image }}\n" + Self.podWithLaughs) { path in
            let error = #expect(throws: LintError.self) { try Linter.lint(paths: [path]) }
            #expect(error?.label == "yaml_limit")
            #expect(error?.line == 13)
        }
    }

    @Test func deepNestingStopsTheLint() throws {
        let deep = "apiVersion: v1\nkind: ConfigMap\ndata: " + String(repeating: "{a: ", count: 300) + "1" + String(repeating: "}", count: 300) + "\n"
        try withFile("deep.yaml", deep) { path in
            let error = #expect(throws: LintError.self) { try Linter.lint(paths: [path]) }
            #expect(error?.label == "yaml_limit")
            #expect(error?.description == "\(path):3: the YAML document nests deeper than 256 levels")
        }
    }

    @Test func aLargeOrdinaryManifestIsStillLinted() throws {
        // 2,000 Deployments in one stream (about 60,000 nodes), one of them unpinned.
        var yaml = ""
        for index in 0..<2000 {
            let image = index == 1234 ? "nginx:latest" : "nginx:1.25.3@sha256:" + String(repeating: "0", count: 64)
            yaml += """
                ---
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: d\(index), labels: {app: d\(index), tier: web}}
                spec:
                  selector: {matchLabels: {app: d\(index)}}
                  template:
                    metadata: {labels: {app: d\(index)}}
                    spec:
                      containers: [{name: web, image: "\(image)", ports: [{containerPort: 80}]}]

                """
        }
        try withFile("many.yaml", yaml) { path in
            let findings = try Linter.lint(paths: [path])
            #expect(findings.map(\.problem) == [.latest])
        }
    }
}
