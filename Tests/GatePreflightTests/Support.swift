import Foundation
import GatePreflight

/// The text of a fixture in this target's `Fixtures` folder.
func fixture(_ name: String) throws -> String {
    guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
        throw FixtureMissing(name: name)
    }
    return try String(contentsOf: url, encoding: .utf8)
}

struct FixtureMissing: Error, CustomStringConvertible {
    var name: String
    var description: String { "no fixture \(name)" }
}

/// Reads YAML text as the CLI reads a file.
func manifests(_ text: String, file: String = "test.yaml") throws -> ManifestSet {
    try ManifestReader().read(text: text, file: file)
}

/// Judges `text` against Kubernetes `kubernetes` (and tool releases), with optional cluster evidence.
func judge(
    _ text: String,
    kubernetes: String = "1.31",
    tools: [String: String] = [:],
    evidence: ClusterEvidence? = nil
) throws -> PreflightReport {
    let targets = PreflightTargets(
        kubernetes: ReleaseVersion(parsing: kubernetes)!,
        kubernetesSource: .flag,
        tools: tools.compactMapValues(ReleaseVersion.init(parsing:))
    )
    return Preflight.evaluate(try manifests(text), targets: targets, evidence: evidence)
}

extension PreflightReport {
    /// The findings of one rule.
    func findings(_ rule: PreflightRule) -> [PreflightFinding] { findings.filter { $0.rule == rule } }
}
