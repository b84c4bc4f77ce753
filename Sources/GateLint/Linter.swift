import Foundation
import GateYAML
import Yams

/// The version-pinning policy behind `upgrade-gate lint`: never `latest`, never a floating tag without a digest.
///
/// It reads Kubernetes manifests (any kind, multi-document), Helm values files, kustomizations and Dockerfiles, and
/// reports every image reference that is not pinned. YAML without images (configs, rules, CI files) yields nothing.
/// Exit codes and printing are the CLI's job: one finding per line, 1 on findings, 0 when clean, 64 on ``LintError``.
public enum Linter {
    /// Lints files and directories; directories are walked recursively.
    ///
    /// In a directory, `*.yaml` and `*.yml` files are read as YAML and `Dockerfile`, `Containerfile`, `*.Dockerfile`
    /// and `Dockerfile.*` as Dockerfiles; hidden entries (`.git`, `.build`) are skipped. A file named explicitly is
    /// always linted, as a Dockerfile when its name says so and as YAML otherwise. Files are visited in sorted order.
    ///
    /// A Helm template that is not valid YAML before rendering (`{{- if … }}` lines) is scanned line by line for
    /// `image:` values instead of failing; placeholders in it are skipped.
    ///
    /// - Throws: ``LintError`` for the first path that is missing or unreadable, or the first file that is not
    ///   well-formed YAML (naming the file, line and column).
    public static func lint(paths: [String]) throws(LintError) -> [LintFinding] {
        var findings: [LintFinding] = []
        for path in paths {
            for file in try files(at: path) {
                let text = try read(file)
                if isDockerfile(name: (file as NSString).lastPathComponent) {
                    findings += lint(dockerfile: text, file: file)
                } else {
                    let result = scan(yaml: text, file: file)
                    if let error = result.error { throw error }
                    findings += result.findings
                }
            }
        }
        return findings
    }

    /// Lints the YAML text of one file (one or more documents); `file` only labels the findings.
    ///
    /// - Important: YAML that cannot be parsed yields only the findings of the documents before the error (a Helm
    ///   template is scanned line by line instead); ``lint(paths:)`` reports the error itself as a ``LintError``.
    public static func lint(yaml: String, file: String) -> [LintFinding] {
        scan(yaml: yaml, file: file).findings
    }

    /// Lints one parsed YAML document (a manifest already read by another command, such as `preflight`), so every
    /// command judges images by the same rules; `file` only labels the findings.
    public static func lint(document: Node, file: String) -> [LintFinding] {
        var walker = ImageWalker(file: file)
        walker.walk(document: document)
        return walker.findings
    }

    /// Lints a Dockerfile's base images: every `FROM` and `COPY --from=` that names an image rather than a stage.
    public static func lint(dockerfile: String, file: String) -> [LintFinding] {
        DockerfileScanner.references(in: dockerfile).compactMap {
            ImageWalker.judge($0.image, file: file, path: $0.instruction, line: $0.line)
        }
    }

    // MARK: - YAML

    private static func scan(yaml: String, file: String) -> (findings: [LintFinding], error: LintError?) {
        var walker = ImageWalker(file: file)
        // Before Yams builds a tree, and never excused as a Helm template: an alias bomb costs nothing to compose but
        // everything to walk.
        do {
            try YAMLBudget.lint.check(yaml)
        } catch {
            return ([], .limit(file, line: error.line, error.description))
        }
        do {
            let parser = try Parser(yaml: yaml)
            while let root = try parser.nextRoot() {
                walker.walk(document: root)
            }
            return (walker.findings, nil)
        } catch {
            if yaml.contains("{{") { return (templateScan(yaml, file: file), nil) }
            return (walker.findings, syntaxError(error, file: file))
        }
    }

    /// A Helm template's `image:` lines, for templates that only become YAML once rendered.
    private static func templateScan(_ text: String, file: String) -> [LintFinding] {
        var findings: [LintFinding] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var rest = line.trimmingWhitespace()[...]
            if rest.hasPrefix("- ") { rest = rest.dropFirst(2).trimmingWhitespace()[...] }
            guard rest.hasPrefix("image:") else { continue }
            var value = String(rest.dropFirst("image:".count))
            if let comment = value.range(of: " #") { value = String(value[..<comment.lowerBound]) }
            value = value.trimmingWhitespace()
            if value.count >= 2, let first = value.first, first == value.last, first == "\"" || first == "'" {
                value = String(value.dropFirst().dropLast())
            }
            if let finding = ImageWalker.judge(value, file: file, path: "image", line: index + 1) { findings.append(finding) }
        }
        return findings
    }

    /// One located error from a Yams error, without the source snippet (which might hold a secret).
    private static func syntaxError(_ error: any Error, file: String) -> LintError {
        guard let yamlError = error as? YamlError else {
            return .syntax(file, line: nil, column: nil, "YAML error: \(error)")
        }
        switch yamlError {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            var message = "YAML syntax error: \(problem)"
            if let context {
                message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
            }
            return .syntax(file, line: mark.line, column: mark.column, message)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "\"\($0)\"" }.joined(separator: ", ")
            return .syntax(file, line: context.mark.line, column: context.mark.column, "duplicate key \(keys) in one mapping")
        case .reader(let problem, let offset, _, let yaml):
            let line = offset.map { yaml.prefix($0).filter { $0 == "\n" }.count + 1 }
            return .syntax(file, line: line, column: nil, "the file is not readable YAML text: \(problem)")
        default:
            return .syntax(file, line: nil, column: nil, "YAML error: \(yamlError)")
        }
    }

    // MARK: - Files

    /// The files to read at `path` (see `filesToRead(at:include:)`).
    private static func files(at path: String) throws(LintError) -> [String] {
        do {
            return try filesToRead(at: path) { isYAML(name: $0) || isDockerfile(name: $0) }
        } catch {
            throw .unreadable(error.path, error.reason)
        }
    }

    private static func read(_ file: String) throws(LintError) -> String {
        let limit = YAMLBudget.lint.maxBytes
        if let size = (try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? Int, size > limit {
            throw .limit(file, line: nil, "the file is \(size) bytes, more than the \(limit) lint reads")
        }
        guard FileManager.default.isReadableFile(atPath: file), let data = FileManager.default.contents(atPath: file) else {
            throw .unreadable(file, "permission denied, or not a regular file")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw .unreadable(file, "it is not UTF-8 text") }
        return text
    }

    private static func isYAML(name: String) -> Bool {
        let lowered = name.lowercased()
        return lowered.hasSuffix(".yaml") || lowered.hasSuffix(".yml")
    }

    private static func isDockerfile(name: String) -> Bool {
        if name.hasSuffix(".dockerignore") { return false }
        return name == "Dockerfile" || name == "Containerfile" || name.hasPrefix("Dockerfile.") || name.lowercased().hasSuffix(".dockerfile")
    }
}
