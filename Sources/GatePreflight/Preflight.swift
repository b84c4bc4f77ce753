import Foundation
import GateLint

/// The preflight judgement: a pure function from manifests, targets and gathered evidence to a report.
///
/// It does no I/O: reading manifests is ``ManifestReader``'s job, asking the cluster and Prometheus an adapter's.
public enum Preflight {
    /// Judges `manifests` for an upgrade to `targets`, with what the cluster and Prometheus said, if they were asked.
    public static func evaluate(
        _ manifests: ManifestSet,
        targets: PreflightTargets,
        evidence: ClusterEvidence? = nil,
        table: APITable = .builtIn
    ) -> PreflightReport {
        var findings: [PreflightFinding] = []
        let tools = toolTargets(manifests, explicit: targets.tools, table: table)
        let crdsInManifests = Dictionary(manifests.crds.map { ("\($0.crd.group) \($0.crd.kind)", $0.crd) }, uniquingKeysWith: { first, _ in first })

        for object in manifests.objects {
            findings += apiFindings(object, targets: targets, tools: tools, table: table)
            if let crd = crdsInManifests["\(object.group) \(object.kind)"], !crd.versions.isEmpty, !crd.servedVersions.contains(object.version) {
                findings.append(
                    PreflightFinding(
                        severity: .fail,
                        rule: .crdVersionNotServed,
                        object: FindingObject(object),
                        message: "\(object.apiVersion) \(object.kind) is not served by the CRD \(crd.name) in these manifests (it serves "
                            + "\(crd.servedVersions.isEmpty ? "no version" : crd.servedVersions.joined(separator: ", "))): the API server will reject it",
                        fix: "rewrite the object as \(crd.group)/\(crd.servedVersions.last ?? "<a served version>")"
                    )
                )
            }
            for image in object.unpinnedImages {
                // The lint finding reads "file:line: path: what is wrong; how to fix it": keep the part after the path.
                let text = image.description
                let detail = text.range(of: "\(image.path): ").map { String(text[$0.upperBound...]) } ?? text
                findings.append(
                    PreflightFinding(
                        severity: .fail,
                        rule: .unpinnedImage,
                        object: FindingObject(object, line: image.line),
                        message: "\(image.path): \(detail)",
                        fix: "pin the image as upgrade-gate lint asks: a full version tag and a digest (@sha256:…)"
                    )
                )
            }
        }

        if let evidence {
            if let problem = evidence.clusterProblem {
                findings.append(
                    PreflightFinding(
                        severity: .inconclusive,
                        rule: .clusterUnreachable,
                        object: nil,
                        message: "the cluster could not be read, so CRD stored versions were not checked: \(problem)",
                        fix: "check kubernetes.apiServer, the token and RBAC (get and list on customresourcedefinitions), then run again"
                    )
                )
            } else {
                for (object, crd) in manifests.crds {
                    if let finding = storedVersionFinding(object, crd, live: evidence.crds[crd.name]) { findings.append(finding) }
                }
            }
            if let problem = evidence.prometheusProblem {
                findings.append(
                    PreflightFinding(
                        severity: .inconclusive,
                        rule: .prometheusUnreachable,
                        object: nil,
                        message: "Prometheus could not be read, so clients still calling removed APIs were not checked: \(problem)",
                        fix: "check prometheus.url and that it scrapes the API server (apiserver_requested_deprecated_apis)"
                    )
                )
            } else if let requests = evidence.deprecatedRequests {
                findings += removedAPICallFindings(requests, target: targets.kubernetes)
            }
        }
        return PreflightReport(
            targets: targets,
            tools: tools,
            documents: manifests.documents,
            objects: manifests.objects.count,
            findings: findings.sorted(by: reportOrder)
        )
    }

    // MARK: - Rules

    private static func apiFindings(
        _ object: ManifestObject,
        targets: PreflightTargets,
        tools: [String: ReleaseVersion],
        table: APITable
    ) -> [PreflightFinding] {
        var findings: [PreflightFinding] = []
        for row in table.rows(apiVersion: object.apiVersion, kind: object.kind) {
            let component = row.component == "kubernetes" ? "Kubernetes" : row.component
            let replacement = "migrate to \(row.replacement) (\(row.source))"
            guard let target = row.component == "kubernetes" ? targets.kubernetes : tools[row.component] else {
                // A tool release we cannot tell: say what is known without failing on a guess.
                let when =
                    row.removedIn.map { "removed in \(component) \($0)" } ?? "deprecated in \(component) \(row.deprecatedIn?.description ?? "?")"
                findings.append(
                    PreflightFinding(
                        severity: .warn,
                        rule: row.removedIn == nil ? .deprecatedAPI : .removedAPI,
                        object: FindingObject(object),
                        message: "\(object.apiVersion) \(object.kind) is \(when); the target \(component) release is unknown",
                        fix: "\(replacement); or pass --target-version \(row.component)=VERSION to judge it"
                    )
                )
                continue
            }
            if let removed = row.removedIn, target.minorRelease >= removed {
                findings.append(
                    PreflightFinding(
                        severity: .fail,
                        rule: .removedAPI,
                        object: FindingObject(object),
                        message: "\(object.apiVersion) \(object.kind) is no longer served as of \(component) \(removed) (target \(target))",
                        fix: replacement
                    )
                )
            } else if let deprecated = row.deprecatedIn, target.minorRelease >= deprecated {
                let removal = row.removedIn.map { "; it is removed in \($0)" } ?? "; no removal is scheduled yet"
                findings.append(
                    PreflightFinding(
                        severity: .warn,
                        rule: .deprecatedAPI,
                        object: FindingObject(object),
                        message: "\(object.apiVersion) \(object.kind) is deprecated since \(component) \(deprecated)\(removal) (target \(target))",
                        fix: replacement
                    )
                )
            }
        }
        return findings
    }

    /// The check the API server makes on a CRD update: every version in the live `status.storedVersions` must still be
    /// listed in `spec.versions`, or the update is refused half-way through the upgrade.
    private static func storedVersionFinding(_ object: ManifestObject, _ crd: CRDManifest, live: ClusterEvidence.LiveCRD?) -> PreflightFinding? {
        guard let live else { return nil }  // not installed yet: nothing is stored
        let missing = live.storedVersions.filter { !crd.listedVersions.contains($0) }
        guard !missing.isEmpty else { return nil }
        let versions = missing.joined(separator: ", ")
        let storage = crd.versions.first(where: \.storage)?.name ?? crd.versions.last?.name ?? "the new storage version"
        let count: String
        switch live.objectCount {
        case .some(0): count = "no \(crd.kind) objects exist now"
        case .some(let n):
            count = "\(n) \(crd.kind) object\(n == 1 ? "" : "s") exist\(n == 1 ? "s" : ""), any of which may still be stored as \(versions)"
        case .none: count = "the number of \(crd.kind) objects could not be read"
        }
        let kept = live.storedVersions.filter { crd.listedVersions.contains($0) }
        let remaining = (kept.isEmpty ? [storage] : kept).map { "\"\($0)\"" }.joined(separator: ",")
        return PreflightFinding(
            severity: .fail,
            rule: .crdStoredVersion,
            object: FindingObject(object),
            message: "the live CRD \(crd.name) still lists \(versions) in status.storedVersions, and this CRD's spec.versions no longer "
                + "does: the API server will refuse the CRD update; \(count)",
            fix: "before upgrading, apply a CRD that serves both \(versions) and \(storage) with \(storage) as the storage version, rewrite every "
                + "object so it is stored as \(storage) (kubectl get \(crd.name) -A -o json | kubectl replace -f -, or the storage version "
                + "migrator; for cert-manager, cmctl upgrade migrate-api-version), then drop the old version from the status: "
                + "kubectl patch crd \(crd.name) --subresource=status --type=merge -p '{\"status\":{\"storedVersions\":[\(remaining)]}}'"
        )
    }

    private static func removedAPICallFindings(_ requests: [ClusterEvidence.DeprecatedRequest], target: ReleaseVersion) -> [PreflightFinding] {
        var seen: Set<String> = []
        var findings: [PreflightFinding] = []
        for request in requests {
            guard let removed = request.removedRelease, target.minorRelease >= removed else { continue }
            let resource = request.subresource.isEmpty ? request.resource : "\(request.resource)/\(request.subresource)"
            guard seen.insert("\(request.apiVersion) \(resource)").inserted else { continue }
            findings.append(
                PreflightFinding(
                    severity: .warn,
                    rule: .removedAPICalled,
                    object: nil,
                    message: "clients still request \(request.apiVersion) \(resource), which Kubernetes \(removed) removes (target \(target)); "
                        + "the API server reports it in apiserver_requested_deprecated_apis",
                    fix: "find the callers in the API server audit log (annotation k8s.io/removed-release=\"\(removed)\") and move them to the "
                        + "replacement API before upgrading"
                )
            )
        }
        return findings
    }

    /// Tool releases: explicit ones, else the `app.kubernetes.io/version` (or `helm.sh/chart` suffix) on the tool's CRDs
    /// in the manifests, which is the release being installed.
    static func toolTargets(_ manifests: ManifestSet, explicit: [String: ReleaseVersion], table: APITable) -> [String: ReleaseVersion] {
        var targets = explicit
        for component in table.components where component != "kubernetes" && targets[component] == nil {
            let groups = table.groups(of: component)
            for (object, crd) in manifests.crds where groups.contains(crd.group) {
                var found = object.labels["app.kubernetes.io/version"].flatMap(ReleaseVersion.init(parsing:))
                if found == nil, let chart = object.labels["helm.sh/chart"], let dash = chart.lastIndex(of: "-") {
                    found = ReleaseVersion(parsing: String(chart[chart.index(after: dash)...]))
                }
                if let found { targets[component] = max(targets[component] ?? found, found) }
            }
        }
        return targets
    }

    private static func reportOrder(_ a: PreflightFinding, _ b: PreflightFinding) -> Bool {
        if a.severity != b.severity { return a.severity > b.severity }
        let left = (a.object?.file ?? "", a.object?.document ?? 0, a.object?.item ?? -1)
        let right = (b.object?.file ?? "", b.object?.document ?? 0, b.object?.item ?? -1)
        if left != right { return left < right }
        return a.rule.label < b.rule.label
    }
}
