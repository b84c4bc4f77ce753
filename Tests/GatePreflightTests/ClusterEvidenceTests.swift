import GatePreflight
import Testing

@Suite struct StoredVersionTests {
    static let newCRD = """
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata: {name: certificates.cert-manager.io}
        spec:
          group: cert-manager.io
          names: {kind: Certificate, plural: certificates}
          scope: Namespaced
          versions:
            - {name: v1, served: true, storage: true}
        """

    @Test func failsWhenTheLiveCRDStillStoresAVersionTheNewCRDDrops() throws {
        let live = ClusterEvidence.LiveCRD(
            name: "certificates.cert-manager.io",
            storedVersions: ["v1alpha2", "v1"],
            servedVersions: ["v1"],
            objectCount: 42
        )
        let report = try judge(Self.newCRD, evidence: ClusterEvidence(crds: [live.name: live]))
        let finding = try #require(report.findings(.crdStoredVersion).first)
        #expect(finding.severity == .fail && report.exitCode == 1)
        #expect(finding.message.contains("v1alpha2") && finding.message.contains("42 Certificate objects"))
        #expect(finding.fix.contains("--subresource=status") && finding.fix.contains(#"{"storedVersions":["v1"]}"#))
        #expect(finding.object?.kind == "CustomResourceDefinition" && finding.object?.document == 1)
    }

    @Test func aVersionStillListedButNoLongerServedIsAccepted() throws {
        let crd = Self.newCRD.replacingOccurrences(
            of: "- {name: v1, served: true, storage: true}",
            with: "- {name: v1alpha2, served: false, storage: false}\n    - {name: v1, served: true, storage: true}"
        )
        let live = ClusterEvidence.LiveCRD(name: "certificates.cert-manager.io", storedVersions: ["v1alpha2", "v1"])
        let report = try judge(crd, evidence: ClusterEvidence(crds: [live.name: live]))
        #expect(report.findings(.crdStoredVersion).isEmpty)
    }

    @Test func aCRDNotInstalledYetHasNothingStored() throws {
        let report = try judge(Self.newCRD, evidence: ClusterEvidence(crds: [:]))
        #expect(report.findings.isEmpty && report.verdict == "pass")
    }

    @Test func saysSoWhenTheObjectCountIsUnknown() throws {
        let live = ClusterEvidence.LiveCRD(name: "certificates.cert-manager.io", storedVersions: ["v1beta1"], objectCount: nil)
        let report = try judge(Self.newCRD, evidence: ClusterEvidence(crds: [live.name: live]))
        #expect(report.findings(.crdStoredVersion).first?.message.contains("could not be read") == true)
    }

    @Test func anUnreachableClusterIsInconclusiveNeverAPass() throws {
        let report = try judge(Self.newCRD, evidence: ClusterEvidence(clusterProblem: "connection refused"))
        #expect(report.verdict == "inconclusive" && report.exitCode == 2)
        #expect(report.findings(.clusterUnreachable).first?.message.contains("connection refused") == true)
    }

    @Test func aFailingFindingOutweighsAnInconclusiveOne() throws {
        let report = try judge(
            "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: x}\n",
            kubernetes: "1.25",
            evidence: ClusterEvidence(clusterProblem: "timeout")
        )
        #expect(report.verdict == "fail" && report.exitCode == 1 && report.summary.inconclusive == 1)
    }
}

@Suite struct RemovedAPICallTests {
    static let requests = [
        ClusterEvidence.DeprecatedRequest(
            group: "flowcontrol.apiserver.k8s.io",
            version: "v1beta3",
            resource: "flowschemas",
            removedRelease: ReleaseVersion(1, 32)
        ),
        ClusterEvidence.DeprecatedRequest(
            group: "flowcontrol.apiserver.k8s.io",
            version: "v1beta3",
            resource: "flowschemas",
            removedRelease: ReleaseVersion(1, 32)
        ),
        ClusterEvidence.DeprecatedRequest(group: "", version: "v1", resource: "endpoints", removedRelease: nil),
        ClusterEvidence.DeprecatedRequest(group: "example.io", version: "v1beta1", resource: "widgets", removedRelease: ReleaseVersion(1, 40)),
    ]

    @Test func warnsOncePerAPITheTargetRemoves() throws {
        let report = try judge("", kubernetes: "1.32", evidence: ClusterEvidence(deprecatedRequests: Self.requests))
        let warnings = report.findings(.removedAPICalled)
        #expect(warnings.count == 1 && warnings[0].severity == .warn && report.exitCode == 0)
        #expect(warnings[0].message.contains("flowcontrol.apiserver.k8s.io/v1beta3 flowschemas"))
        #expect(warnings[0].fix.contains(#"k8s.io/removed-release="1.32""#))
    }

    @Test func saysNothingBeforeTheRemovalRelease() throws {
        let report = try judge("", kubernetes: "1.31", evidence: ClusterEvidence(deprecatedRequests: Self.requests))
        #expect(report.findings.isEmpty)
    }

    @Test func anUnreachablePrometheusIsInconclusive() throws {
        let report = try judge("", evidence: ClusterEvidence(prometheusProblem: "503"))
        #expect(report.findings(.prometheusUnreachable).count == 1 && report.exitCode == 2)
    }
}
