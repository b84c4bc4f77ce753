import Foundation
import GateLint
import Testing

/// `Linter.lint(paths:)`: walking directories, Dockerfiles, and the errors that stop a lint.
@Suite struct PathLintTests {
    /// A fresh directory with the given files (relative path → text), removed by `body`'s end.
    private func withTree(_ files: [String: String], _ body: (String) throws -> Void) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("gatelint-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        for (path, text) in files {
            let url = URL(fileURLWithPath: root).appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        try body(root)
    }

    private static let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: IMAGE}]\n"

    @Test func walksDirectoriesRecursivelyInSortedOrderAndSkipsHiddenAndOtherFiles() throws {
        try withTree([
            "b/pod.yml": Self.pod.replacingOccurrences(of: "IMAGE", with: "nginx:stable"),
            "a/deep/pod.yaml": Self.pod.replacingOccurrences(of: "IMAGE", with: "nginx"),
            "a/pinned.yaml": Self.pod.replacingOccurrences(of: "IMAGE", with: "nginx:1.25.3"),
            "a/README.md": "image: nginx:latest\n",
            ".git/config.yaml": Self.pod.replacingOccurrences(of: "IMAGE", with: "nginx:latest"),
            "c/Dockerfile": "FROM alpine\n",
        ]) { root in
            let findings = try Linter.lint(paths: [root + "/"])
            #expect(findings.map(\.file) == ["\(root)/a/deep/pod.yaml", "\(root)/b/pod.yml", "\(root)/c/Dockerfile"])
            #expect(findings.map(\.problem) == [.noTag, .mutableTag, .noTag])
        }
    }

    @Test func aFileNamedExplicitlyIsLintedWhateverItsName() throws {
        try withTree(["manifest.txt": Self.pod.replacingOccurrences(of: "IMAGE", with: "nginx:latest")]) { root in
            let findings = try Linter.lint(paths: ["\(root)/manifest.txt"])
            #expect(findings.map(\.problem) == [.latest])
            #expect(findings.first?.description.hasPrefix("\(root)/manifest.txt:5: spec.containers[0].image: nginx:latest") == true)
        }
    }

    @Test func aCleanTreeHasNoFindings() throws {
        try withTree([
            "pod.yaml": Self.pod.replacingOccurrences(of: "IMAGE", with: "nginx:1.25.3@sha256:" + String(repeating: "0", count: 64)),
            "config.yaml": "listen: 0.0.0.0:8080\n",
        ]) { root in
            let findings = try Linter.lint(paths: [root])
            #expect(findings.isEmpty)
        }
    }

    @Test func aYAMLSyntaxErrorNamesTheFileAndLine() throws {
        let broken = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {app: [unclosed}\n"
        try withTree(["ok.yaml": "a: 1\n", "broken.yaml": broken]) { root in
            let error = #expect(throws: LintError.self) { try Linter.lint(paths: [root]) }
            #expect(error?.file == "\(root)/broken.yaml")
            #expect(error?.line == 5)
            #expect(error?.label == "yaml_syntax")
            #expect(error?.description.hasPrefix("\(root)/broken.yaml:5:") == true)
            #expect(error?.description.contains("unclosed") == false, "the error must not quote the file's text")
        }
    }

    @Test func aSyntaxErrorInALaterDocumentIsStillAnError() throws {
        let text = Self.pod.replacingOccurrences(of: "IMAGE", with: "nginx:latest") + "---\nkey: [1, 2\nother: 3\n"
        try withTree(["multi.yaml": text]) { root in
            let error = #expect(throws: LintError.self) { try Linter.lint(paths: [root]) }
            #expect(error?.line == 8)
            // The lenient string entry point keeps what it found before the error.
            #expect(Linter.lint(yaml: text, file: "multi.yaml").map(\.problem) == [.latest])
        }
    }

    @Test func duplicateKeysAreAnError() throws {
        try withTree(["dup.yaml": "image: nginx:1.2.3\nimage: nginx:latest\n"]) { root in
            let error = #expect(throws: LintError.self) { try Linter.lint(paths: [root]) }
            #expect(error?.description.contains("duplicate key \"image\"") == true)
        }
    }

    @Test func aMissingPathIsAnError() {
        let error = #expect(throws: LintError.self) { try Linter.lint(paths: ["/nonexistent/deploy"]) }
        #expect(error?.label == "unreadable")
        #expect(error?.description == "cannot read \"/nonexistent/deploy\": no such file or directory")
    }

    @Test func dockerfileBaseImagesAreLinted() {
        let dockerfile = """
            # syntax=docker/dockerfile:1
            ARG SWIFT_IMAGE=swift:6.3.1-bookworm
            ARG RUNTIME="debian:bookworm-slim@sha256:\(String(repeating: "0", count: 64))"
            FROM ${SWIFT_IMAGE} AS build
            RUN swift build
            FROM --platform=$BUILDPLATFORM golang AS tools
            FROM build AS test
            FROM $RUNTIME
            COPY --from=build /app /app
            COPY --from=0 /x /x
            COPY --from=ghcr.io/org/tools:main \\
                 /bin/tool /bin/tool
            FROM scratch
            FROM ubuntu:latest
            """
        let findings = Linter.lint(dockerfile: dockerfile, file: "Dockerfile")
        #expect(findings.map(\.path) == ["FROM", "COPY --from", "FROM"])
        #expect(findings.map(\.line) == [6, 11, 14])
        #expect(findings.map(\.image) == ["golang", "ghcr.io/org/tools:main", "ubuntu:latest"])
        #expect(findings.map(\.problem) == [.noTag, .mutableTag, .latest])
    }
}
