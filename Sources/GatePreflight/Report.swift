import Foundation

/// The answer of `upgrade-gate preflight` and `POST /api/v1/preflight`.
public struct PreflightReport: Sendable, Codable, Equatable {
    /// The overall outcome: `fail` (a failing finding), `inconclusive` (evidence asked for was missing) or `pass`
    /// (warnings allowed).
    public var verdict: String
    /// The Kubernetes release judged against.
    public var kubernetesVersion: String
    /// Where it came from: `flag`, `cluster`, or `table` (the newest release the table knows).
    public var kubernetesVersionSource: PreflightTargets.Source
    /// Tool releases judged against, given or read from the tools' CRD labels.
    public var toolVersions: [String: String]
    /// YAML documents read.
    public var documents: Int
    /// Objects judged (a `List` counts its items).
    public var objects: Int
    /// Counts by severity.
    public var summary: Summary
    /// Every finding, failing first, then by file and document.
    public var findings: [PreflightFinding]

    /// Counts by severity.
    public struct Summary: Sendable, Codable, Equatable {
        /// Failing findings.
        public var fail: Int
        /// Inconclusive findings.
        public var inconclusive: Int
        /// Warnings.
        public var warn: Int
    }

    /// Builds a report; the verdict follows from the findings.
    public init(targets: PreflightTargets, tools: [String: ReleaseVersion], documents: Int, objects: Int, findings: [PreflightFinding]) {
        let summary = Summary(
            fail: findings.count { $0.severity == .fail },
            inconclusive: findings.count { $0.severity == .inconclusive },
            warn: findings.count { $0.severity == .warn }
        )
        verdict = summary.fail > 0 ? "fail" : summary.inconclusive > 0 ? "inconclusive" : "pass"
        kubernetesVersion = targets.kubernetes.description
        kubernetesVersionSource = targets.kubernetesSource
        toolVersions = tools.mapValues(\.description)
        self.documents = documents
        self.objects = objects
        self.summary = summary
        self.findings = findings
    }

    /// 0 pass (warnings allowed), 1 a failing finding, 2 inconclusive.
    public var exitCode: Int32 {
        switch verdict {
        case "fail": return 1
        case "inconclusive": return 2
        default: return 0
        }
    }

    /// The report as JSON, keys sorted, for pipelines and the API.
    public func renderJSON() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "{}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// The report for people: one line per finding with the object and location, then how to fix it, then a summary.
    public func renderTable() -> String {
        var lines: [String] = []
        let tools = toolVersions.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        let against = (["Kubernetes \(kubernetesVersion) (\(kubernetesVersionSource.rawValue))"] + tools).joined(separator: ", ")
        lines.append(
            "preflight: \(objects) object\(objects == 1 ? "" : "s") in \(documents) document\(documents == 1 ? "" : "s"), against \(against)"
        )
        for finding in findings {
            let subject = finding.object.map { "\($0.description): " } ?? ""
            lines.append(
                "\(finding.severity.label.uppercased().padding(toLength: 12, withPad: " ", startingAt: 0))\(finding.rule.label): \(subject)\(finding.message)"
            )
            lines.append("            fix: \(finding.fix)")
        }
        lines.append(
            "\(verdict.uppercased()): \(summary.fail) failing, \(summary.inconclusive) inconclusive, \(summary.warn) warning\(summary.warn == 1 ? "" : "s")"
        )
        return lines.joined(separator: "\n") + "\n"
    }
}
