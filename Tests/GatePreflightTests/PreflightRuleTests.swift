import GatePreflight
import Testing

@Suite struct RemovedAPITests {
    static let releases = ["1.16", "1.17", "1.22", "1.25", "1.26", "1.27", "1.29", "1.32"]

    @Test(arguments: releases)
    func everyObjectFailsAtTheReleaseThatRemovesItsAPI(release: String) throws {
        let text = try fixture("kubernetes-\(release)-removed.yaml")
        let report = try judge(text, kubernetes: release)
        let objects = try manifests(text).objects
        #expect(report.verdict == "fail" && report.exitCode == 1)
        #expect(report.findings(.removedAPI).count == objects.count, "\(report.renderTable())")
        for finding in report.findings(.removedAPI) {
            #expect(finding.severity == .fail)
            #expect(finding.message.contains("no longer served as of Kubernetes \(release)"))
            #expect(finding.object?.file == "test.yaml" && finding.object?.name != nil && finding.object?.line != nil)
        }
    }

    @Test(arguments: releases)
    func theReleaseBeforeOnlyWarns(release: String) throws {
        let version = ReleaseVersion(parsing: release)!
        let report = try judge(try fixture("kubernetes-\(release)-removed.yaml"), kubernetes: "\(version.major).\(version.minor - 1)")
        #expect(report.findings(.removedAPI).isEmpty)
        #expect(report.verdict == "pass" && report.exitCode == 0)
        #expect(report.findings.allSatisfy { $0.severity == .warn })
    }

    @Test func aDeprecatedAPIWarnsWithItsRemovalRelease() throws {
        let report = try judge(
            """
            apiVersion: flowcontrol.apiserver.k8s.io/v1beta3
            kind: FlowSchema
            metadata: {name: gate}
            """,
            kubernetes: "1.30"
        )
        let warning = try #require(report.findings(.deprecatedAPI).first)
        #expect(warning.severity == .warn && warning.message.contains("removed in 1.32") && warning.fix.contains("flowcontrol.apiserver.k8s.io/v1"))
        #expect(report.exitCode == 0)
    }

    @Test func aPatchTargetCountsAsItsMinorRelease() throws {
        let report = try judge("apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: nightly, namespace: ops}\n", kubernetes: "v1.25.9")
        #expect(report.findings(.removedAPI).count == 1)
    }

    @Test func currentAPIsPass() throws {
        let report = try judge(
            """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web, namespace: shop}
            spec:
              template:
                spec:
                  containers: [{name: web, image: "nginx:1.27.3@sha256:0000000000000000000000000000000000000000000000000000000000000000"}]
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: shop}
            """,
            kubernetes: "1.33"
        )
        #expect(report.findings.isEmpty, "\(report.renderTable())")
        #expect(report.verdict == "pass" && report.objects == 2 && report.documents == 2)
    }
}

@Suite struct ThirdPartyToolTests {
    @Test func certManagerTargetIsReadFromTheChartsCRDAndOldVersionsFail() throws {
        let report = try judge(try fixture("cert-manager-1.7-upgrade.yaml"))
        #expect(report.toolVersions["cert-manager"] == "1.7")
        let removed = report.findings(.removedAPI)
        #expect(Set(removed.compactMap(\.object?.kind)) == ["Issuer", "Certificate"])
        #expect(removed.allSatisfy { $0.message.contains("cert-manager 1.6") })
        // The CRD in the same manifests serves only v1: the API server would reject both objects outright.
        let notServed = report.findings(.crdVersionNotServed)
        #expect(notServed.map(\.object?.name) == ["shop-tls"], "only Certificate's CRD is in the manifests")
        #expect(notServed.first?.message.contains("certificates.cert-manager.io") == true)
        #expect(report.exitCode == 1)
    }

    @Test func istioRemovalsNeedTheTargetRelease() throws {
        let text = try fixture("istio-1.6-upgrade.yaml")
        let unknown = try judge(text)
        #expect(unknown.findings(.removedAPI).count == 2 && unknown.findings.allSatisfy { $0.severity == .warn })
        #expect(unknown.findings.first?.fix.contains("--target-version istio=VERSION") == true)
        let known = try judge(text, tools: ["istio": "1.6"])
        #expect(known.findings(.removedAPI).filter { $0.severity == .fail }.count == 2 && known.exitCode == 1)
        let before = try judge(text, tools: ["istio": "1.5"])
        #expect(before.findings(.deprecatedAPI).count == 2 && before.exitCode == 0)
    }

    @Test func flaggerCanaryV1alpha3FailsAgainstFlagger1() throws {
        let report = try judge(try fixture("flagger-1.0-upgrade.yaml"))
        #expect(report.toolVersions["flagger"] == "1.0")
        #expect(report.findings(.removedAPI).first?.object?.kind == "Canary")
        #expect(report.findings(.crdVersionNotServed).first?.fix.contains("flagger.app/v1beta1") == true)
    }

    @Test func veleroResticRepositoryFailsAgainstVelero110() throws {
        let report = try judge(try fixture("velero-1.10-upgrade.yaml"), tools: ["velero": "1.10"])
        #expect(report.findings(.removedAPI).map(\.object?.kind) == ["ResticRepository"])
        #expect(report.findings(.removedAPI).first?.fix.contains("BackupRepository") == true)
    }

    @Test func prometheusOperatorV1alpha1Fails() throws {
        let report = try judge(try fixture("prometheus-operator-0.12-upgrade.yaml"), tools: ["prometheus-operator": "0.79"])
        #expect(report.findings(.removedAPI).map(\.object?.kind) == ["ServiceMonitor"])
    }

    @Test func argoObjectsAreClean() throws {
        let report = try judge(try fixture("argo-clean.yaml"), kubernetes: "1.33")
        #expect(report.findings.isEmpty, "\(report.renderTable())")
        #expect(report.objects == 4)
    }
}

@Suite struct ImagePinningTests {
    @Test func unpinnedImagesFailWithTheLintRulesAndTheirLine() throws {
        let report = try judge(
            """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web, namespace: shop}
            spec:
              template:
                spec:
                  initContainers:
                    - name: init
                      image: busybox
                  containers:
                    - name: web
                      image: nginx:latest
                    - name: side
                      image: envoyproxy/envoy:v1.31
            """
        )
        let images = report.findings(.unpinnedImage)
        #expect(images.count == 3)
        #expect(images.map(\.object?.line) == [9, 12, 14])
        #expect(images.contains { $0.message.contains("nginx:latest") && $0.message.contains("\"latest\"") })
        #expect(images.allSatisfy { $0.severity == .fail && $0.object?.name == "web" })
    }

    @Test func imagesInsideAListItemNameTheItemPath() throws {
        let report = try judge(
            """
            apiVersion: v1
            kind: List
            items:
              - apiVersion: v1
                kind: Pod
                metadata: {name: ok}
                spec: {containers: [{name: a, image: "redis:7.4.1"}]}
              - apiVersion: v1
                kind: Pod
                metadata: {name: bad}
                spec: {containers: [{name: a, image: redis}]}
            """
        )
        let image = try #require(report.findings(.unpinnedImage).first)
        #expect(image.object?.item == 1 && image.object?.name == "bad")
        #expect(image.message.hasPrefix("items[1].spec.containers[0].image"))
    }
}
