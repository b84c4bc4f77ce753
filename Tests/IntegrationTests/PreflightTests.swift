import FakeKubernetes
import Foundation
import Testing
import Yams

/// Runs `upgrade-gate ARGUMENTS…` with `input` (if any) on standard input, as
/// `helm template … | upgrade-gate preflight --manifests -`.
///
/// Standard input, output and error are temporary files, not pipes: draining pipes takes blocking reads, and blocked
/// threads of the shared concurrency pool would starve the in-process fake API server the command talks to.
func runPreflightCLI(_ arguments: [String], input: String = "", timeout: Duration = .seconds(90)) async throws -> GateRun {
    let directory = try TemporaryDirectory(prefix: "preflight-cli")
    let inputPath = try directory.write("stdin", input)
    let outPath = try directory.write("stdout", "")
    let errPath = try directory.write("stderr", "")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try gateBinaryPath())
    process.arguments = arguments
    process.standardInput = FileHandle(forReadingAtPath: inputPath)
    process.standardOutput = FileHandle(forWritingAtPath: outPath)
    process.standardError = FileHandle(forWritingAtPath: errPath)
    try process.runSerialised()
    let deadline = ContinuousClock.now + timeout
    while process.isRunning {
        if ContinuousClock.now > deadline {
            process.terminate()
            throw HarnessError(description: "upgrade-gate \(arguments) did not finish within \(timeout)")
        }
        try await Task.sleep(for: .milliseconds(20))
    }
    return GateRun(
        exitCode: process.terminationStatus,
        stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
    )
}

/// What `helm template` prints for an upgrade of cert-manager to 1.7 in a cluster where 1.5 ran: the new CRD drops
/// every version but v1, and one release of the shop chart still has a CronJob in batch/v1beta1.
let certManagerUpgrade = """
    ---
    # Source: cert-manager/templates/crds.yaml
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: certificates.cert-manager.io
      labels: {app.kubernetes.io/name: cert-manager, app.kubernetes.io/version: v1.7.0}
    spec:
      group: cert-manager.io
      names: {kind: Certificate, plural: certificates}
      scope: Namespaced
      versions:
        - {name: v1, served: true, storage: true}
    ---
    # Source: shop/templates/cronjob.yaml
    apiVersion: batch/v1beta1
    kind: CronJob
    metadata: {name: report, namespace: shop}
    spec:
      schedule: "0 * * * *"
      jobTemplate:
        spec:
          template:
            spec:
              containers:
                - name: report
                  image: ghcr.io/example/report:2.1.0@sha256:9a1c3e5f7b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d1f3a
              restartPolicy: OnFailure

    """

@Suite struct PreflightCommandTests {
    @Test func readsHelmTemplateOutputFromStandardInputAndFailsOnARemovedAPI() async throws {
        let run = try await runPreflightCLI(
            ["preflight", "--manifests", "-", "--kubernetes-version", "1.25", "--output", "json"],
            input: certManagerUpgrade
        )
        #expect(run.exitCode == 1, "\(run)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(report["verdict"] as? String == "fail" && report["objects"] as? Int == 2 && report["kubernetesVersionSource"] as? String == "flag")
        let findings = try #require(report["findings"] as? [[String: Any]])
        let removed = try #require(findings.first { $0["rule"] as? String == "removed_api" })
        let object = try #require(removed["object"] as? [String: Any])
        #expect(object["kind"] as? String == "CronJob" && object["namespace"] as? String == "shop" && object["name"] as? String == "report")
        #expect(object["file"] as? String == "-" && object["document"] as? Int == 2 && object["line"] as? Int == 16)
    }

    @Test func warningsAloneExitZeroAndTheTableSaysWhy() async throws {
        let directory = try TemporaryDirectory(prefix: "preflight")
        let path = try directory.write("apf.yaml", "apiVersion: flowcontrol.apiserver.k8s.io/v1beta3\nkind: FlowSchema\nmetadata: {name: gate}\n")
        let run = try await runPreflightCLI(["preflight", "--manifests", path, "--kubernetes-version", "1.30"])
        #expect(run.exitCode == 0, "\(run)")
        #expect(run.stdout.contains("WARN        deprecated_api: FlowSchema gate (\(path)#1, line 1)"))
        #expect(run.stdout.contains("PASS: 0 failing, 0 inconclusive, 1 warning"))
    }

    @Test func badYAMLExits64NamingFileDocumentAndLine() async throws {
        let run = try await runPreflightCLI(
            ["preflight", "--manifests", "-"],
            input: "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\nkind: [unclosed\n"
        )
        #expect(run.exitCode == 64, "\(run)")
        #expect(run.stderr.hasPrefix("-: document 2, line "), "\(run)")
    }

    @Test(arguments: [
        ["preflight"], ["preflight", "--manifests", "x.yaml", "--kubernetes-version", "latest"],
        ["preflight", "--manifests", "x.yaml", "--target-version", "istio"],
    ])
    func unusableFlagsExit64(arguments: [String]) async throws {
        let run = try await runPreflightCLI(arguments)
        #expect(run.exitCode == 64, "\(run)")
    }

    @Test func theShippedRBACLetsTheGateReadCRDs() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("deploy/base/rbac.yaml"), encoding: .utf8)
        let rules = try Yams.load_all(yaml: text).compactMap { $0 as? [String: Any] }.filter { $0["kind"] as? String == "ClusterRole" }
            .flatMap { ($0["rules"] as? [[String: Any]]) ?? [] }
        #expect(
            rules.contains {
                ($0["apiGroups"] as? [String]) == ["apiextensions.k8s.io"] && ($0["resources"] as? [String]) == ["customresourcedefinitions"]
                    && Set(($0["verbs"] as? [String]) ?? []) == ["get", "list"]
            }
        )
    }
}

/// `--cluster` against the fake API server (CRDs with status.storedVersions, /version) and a real Prometheus that
/// scraped the API server's `apiserver_requested_deprecated_apis`.
@Suite struct PreflightClusterTests {
    struct Cluster {
        let fake: FakeKubernetesServer
        let account: FakeServiceAccount
        let exporter: Exporter
        let prometheus: PrometheusServer
        let directory: TemporaryDirectory

        static let deprecatedCall =
            #"apiserver_requested_deprecated_apis{group="flowcontrol.apiserver.k8s.io",removed_release="1.32",resource="flowschemas",subresource="",version="v1beta3"}"#

        static func run(_ body: (Cluster) async throws -> Void) async throws {
            let account = try FakeServiceAccount(token: "preflight-token")
            let fake = try await FakeKubernetesServer.start(token: "preflight-token")
            // What the API server of a cluster still running 1.31 exposes: a client using the v1beta3 flow-control API.
            let exporter = try await Exporter.start([
                deprecatedCall: 1,
                #"apiserver_requested_deprecated_apis{group="",removed_release="",resource="endpoints",subresource="",version="v1"}"#: 1,
            ])
            let prometheus = try await PrometheusServer.start(targets: [exporter.target])
            let cluster = Cluster(
                fake: fake,
                account: account,
                exporter: exporter,
                prometheus: prometheus,
                directory: try TemporaryDirectory(prefix: "preflight")
            )
            try await withTeardown(
                {
                    try await prometheus.waitFor("apiserver_requested_deprecated_apis") { $0.count == 2 }
                    try await body(cluster)
                },
                teardown: {
                    await prometheus.stop()
                    await exporter.stop()
                    await fake.stop()
                    account.remove()
                }
            )
        }

        func config(prometheusURL: String? = nil) throws -> String {
            try directory.write(
                "gate.yaml",
                """
                prometheus:
                  url: \(prometheusURL ?? prometheus.url)
                  timeout: 3s
                kubernetes:
                  apiServer: \(fake.url)
                  tokenFile: \(account.tokenFile)
                listen: 127.0.0.1:0
                auth: {disabled: true}
                """
            )
        }

        func manifests() throws -> String { try directory.write("upgrade.yaml", certManagerUpgrade) }
    }

    @Test func failsOnAStoredVersionTheNewCRDDropsAndWarnsOnRemovedAPIsStillCalled() async throws {
        try await Cluster.run { cluster in
            cluster.fake.setServerVersion("v1.32.2")
            cluster.fake.install(
                FakeInstalledCRD(
                    group: "cert-manager.io",
                    kind: "Certificate",
                    plural: "certificates",
                    versions: [.init("v1alpha2"), .init("v1alpha3"), .init("v1beta1"), .init("v1", storage: true)],
                    storedVersions: ["v1alpha2", "v1"],
                    objects: 1234
                )
            )
            let run = try await runPreflightCLI([
                "preflight", "--config", try cluster.config(), "--manifests", try cluster.manifests(), "--cluster", "--output", "json",
            ])
            #expect(run.exitCode == 1, "\(run)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            // No --kubernetes-version: the target is the cluster's own /version.
            #expect(report["kubernetesVersion"] as? String == "1.32.2" && report["kubernetesVersionSource"] as? String == "cluster", "\(run)")
            let findings = try #require(report["findings"] as? [[String: Any]])
            let stored = try #require(findings.first { $0["rule"] as? String == "crd_stored_version" })
            let message = try #require(stored["message"] as? String)
            #expect(message.contains("v1alpha2") && message.contains("1234 Certificate objects"), "\(message)")
            #expect((stored["fix"] as? String)?.contains("kubectl patch crd certificates.cert-manager.io --subresource=status") == true)
            let called = try #require(findings.first { $0["rule"] as? String == "removed_api_called" })
            #expect(
                called["severity"] as? String == "warn"
                    && (called["message"] as? String)?.contains("flowcontrol.apiserver.k8s.io/v1beta3 flowschemas") == true
            )
            #expect(findings.contains { $0["rule"] as? String == "removed_api" }, "batch/v1beta1 CronJob against 1.32")
            // The object count came from a one-item list, not a full one.
            #expect(cluster.fake.requests.contains { $0.path == "/apis/cert-manager.io/v1/certificates" && $0.query["limit"] == "1" })
            #expect(cluster.fake.requests.contains { $0.path == "/version" })
        }
    }

    @Test func aNewCRDWithEveryStoredVersionStillListedPasses() async throws {
        try await Cluster.run { cluster in
            cluster.fake.install(
                FakeInstalledCRD(
                    group: "cert-manager.io",
                    kind: "Certificate",
                    plural: "certificates",
                    versions: [.init("v1", storage: true)],
                    storedVersions: ["v1"],
                    objects: 3
                )
            )
            let text = certManagerUpgrade.replacingOccurrences(of: "batch/v1beta1", with: "batch/v1")
            let path = try cluster.directory.write("clean.yaml", text)
            let run = try await runPreflightCLI([
                "preflight", "--config", try cluster.config(), "--manifests", path, "--cluster", "--kubernetes-version", "1.31",
            ])
            #expect(run.exitCode == 0, "\(run)")
            #expect(run.stdout.contains("against Kubernetes 1.31 (flag)"))
        }
    }

    @Test func missingRBACOnCRDsIsInconclusiveAndExitsTwo() async throws {
        try await Cluster.run { cluster in
            cluster.fake.forbid(verb: "get", plural: "customresourcedefinitions")
            let path = try cluster.directory.write("crd-only.yaml", String(certManagerUpgrade.split(separator: "---\n# Source: shop")[0]))
            let run = try await runPreflightCLI([
                "preflight", "--config", try cluster.config(), "--manifests", path, "--cluster", "--kubernetes-version", "1.31",
            ])
            #expect(run.exitCode == 2, "\(run)")
            #expect(run.stdout.contains("cluster_unreachable") && run.stdout.contains("customresourcedefinitions"), "\(run)")
        }
    }

    @Test func anUnreachablePrometheusIsInconclusiveAndExitsTwo() async throws {
        try await Cluster.run { cluster in
            let closed = "http://127.0.0.1:\(try freeLoopbackPort())"
            let path = try cluster.directory.write("crd-only.yaml", String(certManagerUpgrade.split(separator: "---\n# Source: shop")[0]))
            let run = try await runPreflightCLI([
                "preflight", "--config", try cluster.config(prometheusURL: closed), "--manifests", path, "--cluster", "--kubernetes-version", "1.31",
            ])
            #expect(run.exitCode == 2, "\(run)")
            #expect(run.stdout.contains("prometheus_unreachable"), "\(run)")
        }
    }
}

/// `POST /api/v1/preflight` and `window open --preflight` against the real daemon.
@Suite struct PreflightAPITests {
    @Test func answersTheReportAndRefusesBadInput() async throws {
        try await DaemonTests.Stack.run(extra: "limits:\n  maxBodyBytes: 8192") { stack in
            let answer = try await stack.gate.call("POST", "/api/v1/preflight?kubernetesVersion=1.25", body: certManagerUpgrade)
            #expect(answer.status == 200, "\(answer)")
            #expect(answer.json["verdict"] as? String == "fail" && answer.json["kubernetesVersion"] as? String == "1.25")
            let findings = answer.json["findings"] as? [[String: Any]] ?? []
            #expect((findings.first?["object"] as? [String: Any])?["file"] as? String == "body")

            let clean = try await stack.gate.call(
                "POST",
                "/api/v1/preflight?kubernetesVersion=1.31",
                body: "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n"
            )
            #expect(clean.status == 200 && clean.json["verdict"] as? String == "pass", "\(clean)")

            let unauthorized = try await stack.gate.call("POST", "/api/v1/preflight", body: certManagerUpgrade, token: .some(nil))
            #expect(unauthorized.status == 401, "\(unauthorized)")

            let tooLarge = try await stack.gate.call("POST", "/api/v1/preflight", body: String(repeating: "# x\n", count: 4096))
            #expect(tooLarge.status == 413, "\(tooLarge)")

            let malformed = try await stack.gate.call("POST", "/api/v1/preflight", body: "apiVersion: v1\nkind: Namespace\n---\nmetadata: [a\n")
            #expect(malformed.status == 400, "\(malformed)")
            let error = malformed.json["error"] as? [String: Any] ?? [:]
            #expect(
                error["field"] as? String == "body" && (error["message"] as? String)?.hasPrefix("body: document 2, line ") == true,
                "\(malformed)"
            )

            let wrongType = try await stack.gate.call("POST", "/api/v1/preflight", body: "apiVersion: v1\nkind: Namespace\nmetadata: 5\n")
            #expect(wrongType.status == 400 && (wrongType.json["error"] as? [String: Any])?["field"] as? String == "body.metadata", "\(wrongType)")

            let badQuery = try await stack.gate.call("POST", "/api/v1/preflight?kubernetesVersion=soon", body: "apiVersion: v1\nkind: Namespace\n")
            #expect(badQuery.status == 400 && (badQuery.json["error"] as? [String: Any])?["field"] as? String == "kubernetesVersion")

            // The daemon keeps serving after all of that.
            #expect(try await stack.gate.call("GET", "/readyz").status == 200)
        }
    }

    @Test func windowOpenRefusesToOpenWhenPreflightFails() async throws {
        try await DaemonTests.Stack.run { stack in
            let directory = try TemporaryDirectory(prefix: "preflight")
            let failing = try directory.write("failing.yaml", certManagerUpgrade)
            let refused = try await runPreflightCLI(
                [
                    "window", "open", "cert-manager", "--url", stack.gate.url, "--token-file", stack.gate.tokenPath, "--label", "job=demo",
                    "--preflight", failing, "--kubernetes-version", "1.25",
                ])
            #expect(refused.exitCode == 1, "\(refused)")
            #expect(refused.stderr.contains("window cert-manager not opened: preflight fail"), "\(refused)")
            let windows = try await stack.gate.call("GET", "/api/v1/windows")
            #expect((windows.json["windows"] as? [Any])?.isEmpty == true, "nothing may be created: \(windows)")

            let passing = try directory.write("passing.yaml", certManagerUpgrade.replacingOccurrences(of: "batch/v1beta1", with: "batch/v1"))
            let opened = try await runPreflightCLI(
                [
                    "window", "open", "cert-manager", "--url", stack.gate.url, "--token-file", stack.gate.tokenPath, "--label", "job=demo",
                    "--preflight", passing, "--kubernetes-version", "1.25",
                ])
            #expect(opened.exitCode == 0, "\(opened)")
            let after = try await stack.gate.call("GET", "/api/v1/windows")
            #expect((after.json["windows"] as? [Any])?.count == 1, "\(after)")
        }
    }
}
