import Foundation
import GateConfig
import GateLint
import Testing
import Yams

/// Everything under deploy/ is what a user applies to a cluster; these tests check it offline, the way a cluster would.
///
/// - Core kinds (Namespace, Deployment, RBAC, …) are validated strictly (unknown fields are errors) against the
///   Kubernetes OpenAPI schemas bundled in the PyPI package `kubernetes-validate`, for the oldest and newest versions
///   we claim. Install it with `python3 -m pip install kubernetes-validate==1.37.0`.
/// - Custom resources (Flagger, Argo Rollouts, Prometheus Operator) are not in those schemas. Each is checked against
///   the fields of its CRD that we use, hand-copied below from the upstream CRDs and Go types (unknown fields are
///   errors: a structural CRD would silently prune a misspelt one), plus what a real tool can say: the Rollout's pod
///   template goes through `kubernetes-validate` as a Deployment, the PrometheusRule's groups through `promtool`.
/// - The Alertmanager snippet goes through `amtool check-config`; the gate's own config.yaml through GateConfig.
/// - `deploy/local/` (the local demo, not cluster manifests) is left out of validation, and only of that.
@Suite struct DeployManifestTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let deploy = root.appendingPathComponent("deploy").resolvingSymlinksInPath()
    static let kubernetesVersions = ["1.30", "1.37"]
    static let validatorInstall = "python3 -m pip install kubernetes-validate==1.37.0"

    /// Custom resource kinds, checked by shape here because `kubernetes-validate` has no schema for them.
    static let customKinds: [String: Shape] = [
        "flagger.app/v1beta1 Canary": CRDShapes.canary,
        "argoproj.io/v1alpha1 AnalysisTemplate": CRDShapes.analysisTemplate,
        "argoproj.io/v1alpha1 Rollout": CRDShapes.rollout,
        "monitoring.coreos.com/v1 PrometheusRule": CRDShapes.prometheusRule,
        "monitoring.coreos.com/v1 ServiceMonitor": CRDShapes.serviceMonitor,
        "monitoring.coreos.com/v1alpha1 AlertmanagerConfig": CRDShapes.alertmanagerConfig,
    ]
    /// Files that are YAML but not Kubernetes objects, each with the tool that checks it instead.
    static let notKubernetes: [String: String] = [
        "examples/alertmanager/receiver.yaml": "an alertmanager.yml snippet, checked by amtool",
        "base/kustomization.yaml": "a kustomize input, checked by kubectl kustomize and the resource-list test",
        "crds/kustomization.yaml": "a kustomize input, rendered as part of deploy/ha by HAManifestTests",
        "ha/kustomization.yaml": "a kustomize input, rendered and validated by HAManifestTests",
    ]

    // MARK: - Every manifest

    @Test func everyManifestIsAKubernetesObjectOrAccountedFor() async throws {
        let files = try Self.manifestFiles()
        #expect(files.count >= 14, "deploy/ lost files: \(files)")
        for file in files where Self.notKubernetes[file] == nil {
            for (index, document) in try Self.documents(file).enumerated() {
                let where_ = "\(file) document \(index)"
                #expect(document["apiVersion"]?.string?.isEmpty == false, "\(where_): no apiVersion")
                #expect(document["kind"]?.string?.isEmpty == false, "\(where_): no kind")
                #expect(document["metadata"]?["name"]?.string?.isEmpty == false, "\(where_): no metadata.name")
            }
        }
    }

    @Test func coreKindsValidateStrictlyAgainstKubernetesSchemas() async throws {
        try await Self.requireValidator()
        let files = try Self.manifestFiles().filter { Self.notKubernetes[$0] == nil }
        let output = try await Self.validate(files.map { Self.deploy.appendingPathComponent($0).path })
        let lines = output.text.split(separator: "\n").map(String.init)
        for line in lines where line.hasPrefix("ERROR") {
            Issue.record("kubernetes-validate: \(line)")
        }
        // A kind without a schema is allowed only if it is a custom kind this suite checks by shape.
        for line in lines where line.hasPrefix("WARN") {
            let known = Self.customKinds.keys.contains { key in
                let parts = key.split(separator: " ")
                return line.contains("kind \(parts[1]) with api version \(parts[0])")
            }
            if !known { Issue.record("no schema and no shape check: \(line)") }
        }
        let passed = lines.filter { $0.hasPrefix("INFO") && $0.contains(" passed ") }
        // base: namespace, serviceaccount, 6 RBAC objects, configmap, pvc, deployment, service, the dashboard's configmap;
        // crds: the CRD; ha: Role, RoleBinding, PDB, ConfigMap, the argocd-cm patch — per version.
        #expect(passed.count == 19 * Self.kubernetesVersions.count, "\(output.text)")
    }

    @Test func customResourcesMatchTheFieldsOfTheirCRDs() async throws {
        var checked: [String] = []
        for file in try Self.manifestFiles() where Self.notKubernetes[file] == nil {
            for document in try Self.documents(file) {
                let key = "\(document["apiVersion"]?.string ?? "") \(document["kind"]?.string ?? "")"
                guard let shape = Self.customKinds[key] else { continue }
                let problems = shape.problems(in: document, at: "")
                #expect(problems.isEmpty, "\(file) (\(key)):\n\(problems.joined(separator: "\n"))")
                checked.append(key)
            }
        }
        #expect(Set(checked) == Set(Self.customKinds.keys), "every custom kind has an example: \(checked)")
    }

    @Test func everyImageIsPinnedByTheGatesOwnLinter() async throws {
        let findings = try Linter.lint(paths: [Self.deploy.path])
        #expect(findings.isEmpty, "upgrade-gate lint deploy/:\n\(findings.map(\.description).joined(separator: "\n"))")
        // And it does look into the Dockerfile: with its digest broken, the runtime image (an ARG default) is reported.
        let dockerfile = try String(contentsOf: Self.deploy.appendingPathComponent("Dockerfile"), encoding: .utf8)
        #expect(dockerfile.contains("ARG BUILDER_IMAGE=swift:6.3.1-bookworm\n"))
        #expect(Linter.lint(dockerfile: dockerfile.replacingOccurrences(of: "@sha256:", with: "@"), file: "Dockerfile").count == 1)
    }

    @Test func noSecretIsShipped() async throws {
        for file in try Self.manifestFiles() where Self.notKubernetes[file] == nil {
            for document in try Self.documents(file) {
                #expect(document["kind"]?.string != "Secret", "\(file) ships a Secret; document the kubectl command instead")
            }
        }
    }

    // MARK: - The base

    @Test func kustomizationListsEveryBaseFileAndOnlyExistingOnes() async throws {
        let base = Self.deploy.appendingPathComponent("base")
        let kustomization = try #require(try Self.documents("base/kustomization.yaml").first)
        let listed = (kustomization["resources"]?.sequence ?? []).compactMap(\.string)
        #expect(kustomization["namespace"] == nil, "a kustomize namespace would move the Velero Role out of velero")
        for resource in listed {
            #expect(FileManager.default.fileExists(atPath: base.appendingPathComponent(resource).path), "listed but missing: \(resource)")
        }
        let present = try FileManager.default.contentsOfDirectory(atPath: base.path)
            .filter { ($0.hasSuffix(".yaml") || $0.hasSuffix(".yml")) && $0 != "kustomization.yaml" }
        #expect(Set(present) == Set(listed), "present \(present.sorted()), listed \(listed.sorted())")
        #expect(listed.count == Set(listed).count, "listed twice: \(listed)")
    }

    @Test(.enabled(if: DeployManifestTests.hasKubectl, "kubectl is not installed: the resource-list test above stands in"))
    func kustomizeRendersTheBaseWithEveryObjectInItsNamespace() async throws {
        let output = try await Self.run(["kubectl", "kustomize", Self.deploy.appendingPathComponent("base").path])
        #expect(output.status == 0, "kubectl kustomize deploy/base:\n\(output.text)")
        let objects = try Self.parse(output.text)
        var places: [String: String] = [:]
        for object in objects {
            let kind = object["kind"]?.string ?? "?"
            let name = object["metadata"]?["name"]?.string ?? "?"
            places["\(kind)/\(name)"] = object["metadata"]?["namespace"]?.string ?? "-"
        }
        #expect(
            places == [
                "Namespace/upgrade-gate": "-", "ServiceAccount/upgrade-gate": "upgrade-gate", "Role/upgrade-gate-velero": "velero",
                "RoleBinding/upgrade-gate-velero": "velero", "ClusterRole/upgrade-gate-workload-reader": "-",
                "ClusterRoleBinding/upgrade-gate-workload-reader": "-", "ClusterRole/upgrade-gate-preflight-reader": "-",
                "ClusterRoleBinding/upgrade-gate-preflight-reader": "-", "ConfigMap/upgrade-gate-config": "upgrade-gate",
                "PersistentVolumeClaim/upgrade-gate-state": "upgrade-gate", "Deployment/upgrade-gate": "upgrade-gate",
                "Service/upgrade-gate": "upgrade-gate", "ServiceMonitor/upgrade-gate": "upgrade-gate",
                "PrometheusRule/upgrade-gate": "upgrade-gate", "ConfigMap/upgrade-gate-dashboard": "upgrade-gate",
            ]
        )
    }

    @Test func theShippedConfigIsAcceptedByTheGate() async throws {
        let configMap = try #require(try Self.documents("base/configmap.yaml").first)
        let text = try #require(configMap["data"]?["config.yaml"]?.string)
        let config: GateConfig
        do {
            config = try GateConfigLoader.parse(yaml: text, source: "deploy/base/configmap.yaml config.yaml")
        } catch {
            Issue.record("the gate would refuse this config: \(error)")
            return
        }
        #expect(
            config.auth.tokens == [
                TokenConfig(name: "pipelines", file: "/var/run/secrets/upgrade-gate/pipelines", scopes: [.windows]),
                TokenConfig(name: "alertmanager", file: "/var/run/secrets/upgrade-gate/alertmanager", scopes: [.alerts]),
                TokenConfig(name: "flagger", file: "/var/run/secrets/upgrade-gate/flagger", scopes: [.flagger]),
            ]
        )
        #expect(config.flagger.requireToken && !config.auth.disabled)
        #expect(config.state == "/var/lib/upgrade-gate/state.sqlite")
        #expect(config.listen.port == 8080)
        #expect(config.velero?.namespace == "velero")
        #expect(!config.checks.isEmpty)
    }

    @Test func theDeploymentIsASingleWriterWithPersistentStateAndNoPrivileges() async throws {
        let deployment = try #require(try Self.documents("base/deployment.yaml").first)
        let spec = try #require(deployment["spec"])
        #expect(spec["replicas"]?.int == 1)
        #expect(spec["strategy"]?["type"]?.string == "Recreate")
        let pod = try #require(spec["template"]?["spec"])
        #expect(pod["serviceAccountName"]?.string == "upgrade-gate")
        #expect(pod["automountServiceAccountToken"]?.bool == true)
        let container = try #require(pod["containers"]?[0])
        #expect(container["image"]?.string?.hasPrefix("ghcr.io/upgrade-gate/upgrade-gate:0.1.0@sha256:") == true)
        #expect(
            container["args"]?.sequence?.compactMap(\.string)
                == ["serve", "--config", "/etc/upgrade-gate/config.yaml", "--state", "/var/lib/upgrade-gate/state.sqlite"]
        )
        #expect(container["ports"]?[0]?["containerPort"]?.int == 8080)
        #expect(container["ports"]?[0]?["name"]?.string == "http")
        #expect(container["livenessProbe"]?["httpGet"]?["path"]?.string == "/healthz")
        #expect(container["readinessProbe"]?["httpGet"]?["path"]?.string == "/readyz")
        #expect(container["resources"]?["requests"]?["cpu"]?.string == "50m")
        #expect(container["resources"]?["requests"]?["memory"]?.string == "32Mi")
        #expect(container["resources"]?["limits"]?["memory"]?.string == "128Mi")
        let security = try #require(container["securityContext"])
        #expect(security["runAsNonRoot"]?.bool == true)
        #expect(security["runAsUser"]?.int == 65532)
        #expect(security["readOnlyRootFilesystem"]?.bool == true)
        #expect(security["allowPrivilegeEscalation"]?.bool == false)
        #expect(security["capabilities"]?["drop"]?.sequence?.compactMap(\.string) == ["ALL"])
        #expect(security["seccompProfile"]?["type"]?.string == "RuntimeDefault")
        let volumes = Dictionary(
            uniqueKeysWithValues: (pod["volumes"]?.sequence ?? []).compactMap { volume in volume["name"]?.string.map { ($0, volume) } }
        )
        #expect(volumes["state"]?["persistentVolumeClaim"]?["claimName"]?.string == "upgrade-gate-state")
        // One Secret per caller, projected into the directory the configured token files live in.
        let sources = volumes["tokens"]?["projected"]?["sources"]?.sequence ?? []
        #expect(
            sources.compactMap { $0["secret"]?["name"]?.string } == ["upgrade-gate-pipelines", "upgrade-gate-alertmanager", "upgrade-gate-flagger"]
        )
        #expect(sources.compactMap { $0["secret"]?["items"]?[0]?["path"]?.string } == ["pipelines", "alertmanager", "flagger"])
        #expect(volumes["config"]?["configMap"]?["name"]?.string == "upgrade-gate-config")
        let mounts = Dictionary(
            uniqueKeysWithValues: (container["volumeMounts"]?.sequence ?? []).compactMap { mount in
                mount["name"]?.string.map { ($0, mount["mountPath"]?.string ?? "") }
            }
        )
        #expect(mounts["tokens"] == "/var/run/secrets/upgrade-gate")
        #expect(mounts["state"] == "/var/lib/upgrade-gate")
        #expect(mounts["config"] == "/etc/upgrade-gate")
    }

    @Test func rbacHasNoWildcardsAndNoSecrets() async throws {
        for document in try Self.documents("base/rbac.yaml") where ["Role", "ClusterRole"].contains(document["kind"]?.string) {
            for rule in document["rules"]?.sequence ?? [] {
                let values = ["apiGroups", "resources", "verbs"].flatMap { rule[$0]?.sequence?.compactMap(\.string) ?? [] }
                #expect(!values.contains("*"), "wildcard in \(document["metadata"]?["name"]?.string ?? "")")
                #expect(!values.contains("secrets"))
                let verbs = Set(rule["verbs"]?.sequence?.compactMap(\.string) ?? [])
                #expect(verbs.isSubset(of: ["get", "list", "watch", "create"]))
            }
        }
    }

    @Test func thePrometheusRuleIsGeneratedFromAlertRulesAndPassesPromtool() async throws {
        let rule = try #require(try Self.documents("base/prometheusrule.yaml").first)
        let groups = try #require(rule["spec"]?["groups"])
        let sources = try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("alert-rules").path)
            .filter { $0.hasSuffix(".rules.yml") }.sorted()
        #expect(!sources.isEmpty)
        var expected: [Node] = []
        for source in sources {
            let text = try String(contentsOf: Self.root.appendingPathComponent("alert-rules/\(source)"), encoding: .utf8)
            expected += try #require(try Self.parse(text).first?["groups"]?.sequence).map { $0 }
        }
        #expect(
            Canonical.text(groups) == Canonical.text(Node(expected)),
            "deploy/base/prometheusrule.yaml is stale: run deploy/hack/generate-prometheusrule.sh"
        )
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("prometheusrule-\(UUID().uuidString).rules.yml")
        defer { try? FileManager.default.removeItem(at: file) }
        try Yams.serialize(node: Node([(Node("groups"), groups)])).write(to: file, atomically: true, encoding: .utf8)
        let output = try await Self.run(["promtool", "check", "rules", file.path])
        #expect(output.status == 0, "promtool check rules (prometheus package; `make deps`):\n\(output.text)")
    }

    // MARK: - The examples

    @Test func flaggerCanaryWiresEveryHookToTheGate() async throws {
        let canary = try #require(try Self.documents("examples/flagger/canary.yaml").first)
        let hooks = canary["spec"]?["analysis"]?["webhooks"]?.sequence ?? []
        let types = [
            "confirm-rollout", "pre-rollout", "rollout", "confirm-traffic-increase", "confirm-promotion", "post-rollout", "rollback", "event",
        ]
        #expect(hooks.compactMap { $0["type"]?.string } == types)
        for hook in hooks {
            let type = hook["type"]?.string ?? ""
            #expect(hook["url"]?.string == "http://upgrade-gate.upgrade-gate:8080/api/v1/flagger/\(type)")
            #expect(hook["metadata"]?["window"]?.string?.isEmpty == false, "\(type) names no window")
            #expect(hook["metadata"]?["token"] != nil, "\(type) shows no metadata.token")
        }
    }

    @Test func argoAnalysisCannotSucceedWithoutAPass() async throws {
        let template = try #require(try Self.documents("examples/argo-rollouts/analysistemplate.yaml").first)
        let metric = try #require(template["spec"]?["metrics"]?[0])
        #expect(metric["provider"]?["web"]?["url"]?.string == "http://upgrade-gate.upgrade-gate.svc:8080/api/v1/gate/{{args.window}}")
        #expect(metric["provider"]?["web"]?["jsonPath"]?.string == "{$.verdict}")
        #expect(metric["successCondition"]?.string == "result == \"pass\"")
        #expect(metric["failureCondition"]?.string == "result == \"fail\"")
        let count = try #require(metric["count"]?.int)
        let inconclusiveLimit = try #require(metric["inconclusiveLimit"]?.int)
        // Argo calls a metric Successful once `count` measurements are taken, unless a limit was exceeded: with
        // inconclusiveLimit ≥ count, a gate that only ever said "pending" would pass the analysis.
        #expect(inconclusiveLimit < count)
        #expect(metric["failureLimit"]?.int == 0)
        #expect(metric["interval"]?.string != nil)

        let rollout = try #require(try Self.documents("examples/argo-rollouts/rollout.yaml").first)
        let canary = try #require(rollout["spec"]?["strategy"]?["canary"])
        #expect(canary["analysis"]?["templates"]?[0]?["templateName"]?.string == "upgrade-gate")
        let inline = (canary["steps"]?.sequence ?? []).compactMap { $0["analysis"] }
        #expect(inline.count == 1)
        #expect(inline.first?["templates"]?[0]?["templateName"]?.string == "upgrade-gate")
    }

    @Test func theRolloutPodTemplateIsAValidPodTemplate() async throws {
        try await Self.requireValidator()
        let rollout = try #require(try Self.documents("examples/argo-rollouts/rollout.yaml").first)
        let spec = try #require(rollout["spec"])
        // A Rollout's selector and template are a Deployment's: validate them as one.
        let deployment: Node = [
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "rollout-template"],
            "spec": Node([(Node("selector"), try #require(spec["selector"])), (Node("template"), try #require(spec["template"]))]),
        ]
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("rollout-template-\(UUID().uuidString).yaml")
        defer { try? FileManager.default.removeItem(at: file) }
        try Yams.serialize(node: deployment).write(to: file, atomically: true, encoding: .utf8)
        let output = try await Self.validate([file.path])
        #expect(output.status == 0, "\(output.text)")
        #expect(output.text.components(separatedBy: " passed ").count - 1 == Self.kubernetesVersions.count, "\(output.text)")
    }

    @Test func alertmanagerReceiverPassesAmtoolAndSendsResolvedWithTheToken() async throws {
        let file = Self.deploy.appendingPathComponent("examples/alertmanager/receiver.yaml")
        let output = try await Self.run(["amtool", "check-config", file.path])
        #expect(output.status == 0, "amtool check-config (prometheus-alertmanager package; `make deps`):\n\(output.text)")
        let config = try #require(try Self.documents("examples/alertmanager/receiver.yaml").first)
        let receiver = try #require(config["receivers"]?.sequence?.first { $0["name"]?.string == "upgrade-gate" })
        let webhook = try #require(receiver["webhook_configs"]?[0])
        #expect(webhook["url"]?.string == "http://upgrade-gate.upgrade-gate:8080/api/v1/alertmanager")
        #expect(webhook["send_resolved"]?.bool == true)
        #expect(webhook["max_alerts"]?.int == 0)
        #expect(webhook["http_config"]?["authorization"]?["type"]?.string == "Bearer")
        #expect(
            webhook["http_config"]?["authorization"]?["credentials_file"]?.string == "/etc/alertmanager/secrets/upgrade-gate-alertmanager/token"
        )
    }

    // MARK: - Helpers

    /// YAML files under deploy/, relative to it, sorted; deploy/local/ is the local demo, not cluster manifests.
    static func manifestFiles() throws -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: deploy.path) else { throw Failure("cannot list \(deploy.path)") }
        return walker.compactMap { $0 as? String }
            .filter { ($0.hasSuffix(".yaml") || $0.hasSuffix(".yml")) && !$0.hasPrefix("local/") }
            .sorted()
    }

    static func documents(_ file: String) throws -> [Node] {
        try parse(String(contentsOf: deploy.appendingPathComponent(file), encoding: .utf8))
    }

    /// Every document of a YAML stream; unlike `compose_all`'s sequence, a syntax error throws.
    static func parse(_ text: String) throws -> [Node] {
        let parser = try Parser(yaml: text)
        var nodes: [Node] = []
        while let node = try parser.nextRoot() { nodes.append(node) }
        return nodes
    }

    static var hasKubectl: Bool { findExecutable("kubectl") != nil }

    /// Fails the test with the install command when the validator is missing; never skips silently.
    static func requireValidator() async throws {
        let probe = try await run(["python3", "-c", "import kubernetes_validate"])
        if probe.status != 0 {
            throw Failure("kubernetes-validate is not installed: run `\(validatorInstall)` (deploy/README.md, \"Testing the manifests\")")
        }
    }

    static func validate(_ paths: [String]) async throws -> (status: Int32, text: String) {
        try await run(["python3", "-m", "kubernetes_validate", "--strict"] + kubernetesVersions.flatMap { ["-k", $0] } + paths)
    }

    /// Runs a command found on PATH, with stdout and stderr together, off the cooperative pool.
    static func run(_ arguments: [String]) async throws -> (status: Int32, text: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let result = try await runToCompletion(process)
        return (result.status, result.output)
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

extension DeployManifestTests {
    /// A comparable rendering of a YAML tree: mappings with sorted keys, scalars by value, no positions or styles.
    enum Canonical {
        static func text(_ node: Node) -> String {
            switch node {
            case .scalar(let scalar): return "\"\(scalar.string)\""
            case .sequence(let sequence): return "[" + sequence.map(text).joined(separator: ",") + "]"
            case .mapping(let mapping):
                let pairs = mapping.map { (text($0.key), text($0.value)) }.sorted { $0.0 < $1.0 }
                return "{" + pairs.map { "\($0.0):\($0.1)" }.joined(separator: ",") + "}"
            case .alias: return "*"
            }
        }
    }

    /// What a custom resource may contain: the fields of its CRD that matter here, strict about unknown keys.
    indirect enum Shape: Sendable {
        case string
        case int
        case bool
        /// An integer or a string (Kubernetes' IntOrString).
        case intOrString
        /// A string matching one of the values.
        case oneOf([String])
        /// A Go duration as Flagger's CRD requires: digits, then `s` or `m`.
        case flaggerDuration
        case list(Shape)
        /// A mapping of string keys to values of one shape (labels, annotations, metadata).
        case map(Shape)
        case object([String: Shape], required: Set<String> = [], exactlyOneOf: Set<String> = [])
        /// Anything: a part of the CRD this suite does not look into.
        case any

        func problems(in node: Node, at path: String) -> [String] {
            let here = path.isEmpty ? "(root)" : path
            switch self {
            case .any:
                return []
            case .string:
                return node.scalar == nil ? ["\(here): expected a string"] : []
            case .int:
                return node.int == nil ? ["\(here): expected an integer, got \(node.scalar?.string ?? "a collection")"] : []
            case .bool:
                return node.bool == nil ? ["\(here): expected true or false"] : []
            case .intOrString:
                return node.scalar == nil ? ["\(here): expected an integer or a string"] : []
            case .oneOf(let values):
                guard let text = node.string, values.contains(text) else { return ["\(here): expected one of \(values)"] }
                return []
            case .flaggerDuration:
                guard let text = node.string, text.wholeMatch(of: /[0-9]+(m|s)/) != nil else {
                    return ["\(here): expected a duration like 30s or 1m"]
                }
                return []
            case .list(let element):
                guard let items = node.sequence else { return ["\(here): expected a list"] }
                return items.enumerated().flatMap { element.problems(in: $0.element, at: "\(path)[\($0.offset)]") }
            case .map(let value):
                guard let mapping = node.mapping else { return ["\(here): expected a mapping"] }
                return mapping.flatMap { value.problems(in: $0.value, at: "\(path).\($0.key.string ?? "?")") }
            case .object(let fields, let required, let exactlyOneOf):
                guard let mapping = node.mapping else { return ["\(here): expected a mapping"] }
                var problems: [String] = []
                var seen: Set<String> = []
                for (key, value) in mapping {
                    let name = key.string ?? "?"
                    seen.insert(name)
                    let child = path.isEmpty ? name : "\(path).\(name)"
                    guard let shape = fields[name] else {
                        problems.append("\(child): not a field of the CRD (it would be pruned); known: \(fields.keys.sorted())")
                        continue
                    }
                    problems += shape.problems(in: value, at: child)
                }
                for name in required.subtracting(seen).sorted() { problems.append("\(here): missing required field \(name)") }
                if !exactlyOneOf.isEmpty, seen.intersection(exactlyOneOf).count != 1 {
                    problems.append("\(here): needs exactly one of \(exactlyOneOf.sorted())")
                }
                return problems
            }
        }
    }

    /// The CRD fields used by deploy/, copied by hand from the upstream definitions:
    /// Flagger `charts/flagger/crds/crd.yaml` (canaries.flagger.app v1beta1), Argo Rollouts `pkg/apis/rollouts/v1alpha1`
    /// (Rollout, AnalysisTemplate), Prometheus Operator `pkg/apis/monitoring/v1` and `v1alpha1` (PrometheusRule,
    /// ServiceMonitor, AlertmanagerConfig). Parts we do not use are `.any`.
    enum CRDShapes {
        static let labels = Shape.map(.string)
        static let objectMeta = Shape.object(
            ["name": .string, "namespace": .string, "labels": labels, "annotations": labels],
            required: ["name"]
        )
        static func resource(_ spec: Shape) -> Shape {
            .object(
                ["apiVersion": .string, "kind": .string, "metadata": objectMeta, "spec": spec],
                required: ["apiVersion", "kind", "metadata", "spec"]
            )
        }

        static let canary = resource(
            .object(
                [
                    "provider": .string, "metricsServer": .string, "progressDeadlineSeconds": .int, "skipAnalysis": .bool, "revertOnDeletion": .bool,
                    "suspend": .bool, "autoscalerRef": .any, "ingressRef": .any, "routeRef": .any, "upstreamRef": .any,
                    "targetRef": .object(
                        ["apiVersion": .string, "kind": .oneOf(["DaemonSet", "Deployment", "Service"]), "name": .string],
                        required: ["apiVersion", "kind", "name"]
                    ),
                    "service": .object(
                        [
                            "name": .string, "port": .int, "portName": .string, "appProtocol": .string, "targetPort": .intOrString,
                            "portDiscovery": .bool, "timeout": .string, "gateways": .list(.string), "hosts": .list(.string), "match": .any,
                            "retries": .any, "headers": .any, "corsPolicy": .any, "trafficPolicy": .any, "apex": .any, "primary": .any,
                            "canary": .any, "delegation": .bool, "meshName": .string, "backends": .list(.string), "rewrite": .any,
                        ],
                        required: ["port"]
                    ),
                    "analysis": .object(
                        [
                            "interval": .flaggerDuration, "iterations": .int, "threshold": .int, "maxWeight": .int, "stepWeight": .int,
                            "stepWeights": .list(.int), "stepWeightPromotion": .int, "mirror": .bool, "mirrorWeight": .int,
                            "primaryReadyThreshold": .int, "canaryReadyThreshold": .int, "match": .any, "metrics": .any, "alerts": .any,
                            "sessionAffinity": .any,
                            "webhooks": .list(
                                .object(
                                    [
                                        "name": .string, "url": .string, "muteAlert": .bool, "timeout": .flaggerDuration, "retries": .int,
                                        "metadata": .map(.string),
                                        "type": .oneOf([
                                            "", "confirm-rollout", "pre-rollout", "rollout", "confirm-promotion", "post-rollout", "event", "rollback",
                                            "confirm-traffic-increase",
                                        ]),
                                    ],
                                    required: ["name", "url"]
                                )
                            ),
                        ],
                        // The CRD's oneOf: interval and threshold, and one of iterations, stepWeight, stepWeights.
                        required: ["interval", "threshold"],
                        exactlyOneOf: ["iterations", "stepWeight", "stepWeights"]
                    ),
                ],
                required: ["targetRef", "service", "analysis"]
            )
        )

        static let argoArgument = Shape.object(["name": .string, "value": .string, "valueFrom": .any], required: ["name"])
        static let analysisTemplate = resource(
            .object(
                [
                    "args": .list(argoArgument), "dryRun": .any, "measurementRetention": .any,
                    "metrics": .list(
                        .object(
                            [
                                "name": .string, "interval": .string, "initialDelay": .string, "count": .intOrString,
                                "successCondition": .string, "failureCondition": .string, "failureLimit": .intOrString,
                                "inconclusiveLimit": .intOrString, "consecutiveErrorLimit": .intOrString,
                                "provider": .object([
                                    "web": .object(
                                        [
                                            "method": .oneOf(["GET", "POST", "PUT"]), "url": .string,
                                            "headers": .list(.object(["key": .string, "value": .string])),
                                            "body": .string, "jsonBody": .any, "timeoutSeconds": .int, "jsonPath": .string, "insecure": .bool,
                                            "authentication": .any,
                                        ],
                                        required: ["url"]
                                    )
                                ]),
                            ],
                            required: ["name", "provider"]
                        )
                    ),
                ],
                required: ["metrics"]
            )
        )

        static let rolloutAnalysis = Shape.object(
            [
                "templates": .list(.object(["templateName": .string, "clusterScope": .bool], required: ["templateName"])),
                "args": .list(argoArgument), "startingStep": .int, "dryRun": .any, "measurementRetention": .any, "analysisRunMetadata": .any,
            ],
            required: ["templates"]
        )
        static let rollout = resource(
            .object(
                [
                    "replicas": .int, "selector": .any, "template": .any, "minReadySeconds": .int, "revisionHistoryLimit": .int, "paused": .bool,
                    "progressDeadlineSeconds": .int, "progressDeadlineAbort": .bool, "restartAt": .string, "workloadRef": .any, "analysis": .any,
                    "strategy": .object([
                        "blueGreen": .any,
                        "canary": .object([
                            "canaryService": .string, "stableService": .string, "trafficRouting": .any, "maxSurge": .intOrString,
                            "maxUnavailable": .intOrString, "analysis": rolloutAnalysis, "canaryMetadata": .any, "stableMetadata": .any,
                            "scaleDownDelaySeconds": .int, "abortScaleDownDelaySeconds": .int, "dynamicStableScale": .bool, "antiAffinity": .any,
                            "steps": .list(
                                .object(
                                    [
                                        "setWeight": .int, "pause": .object(["duration": .intOrString]), "analysis": rolloutAnalysis,
                                        "experiment": .any, "setCanaryScale": .any, "setHeaderRoute": .any, "setMirrorRoute": .any, "plugin": .any,
                                    ],
                                    exactlyOneOf: [
                                        "setWeight", "pause", "analysis", "experiment", "setCanaryScale", "setHeaderRoute", "setMirrorRoute",
                                        "plugin",
                                    ]
                                )
                            ),
                        ]),
                    ]),
                ],
                required: ["selector", "template"]
            )
        )

        static let prometheusRule = resource(
            .object([
                "groups": .list(
                    .object(
                        [
                            "name": .string, "interval": .string, "limit": .int, "query_offset": .string, "partial_response_strategy": .string,
                            "labels": labels,
                            "rules": .list(
                                .object(
                                    [
                                        "alert": .string, "record": .string, "expr": .intOrString, "for": .string, "keep_firing_for": .string,
                                        "labels": labels, "annotations": labels,
                                    ],
                                    required: ["expr"],
                                    exactlyOneOf: ["alert", "record"]
                                )
                            ),
                        ],
                        required: ["name", "rules"]
                    )
                )
            ])
        )

        static let serviceMonitor = resource(
            .object(
                [
                    "selector": .object(["matchLabels": labels, "matchExpressions": .any]), "namespaceSelector": .any, "jobLabel": .string,
                    "targetLabels": .list(.string), "podTargetLabels": .list(.string), "sampleLimit": .int,
                    "endpoints": .list(
                        .object([
                            "port": .string, "targetPort": .intOrString, "path": .string, "scheme": .oneOf(["http", "https"]), "interval": .string,
                            "scrapeTimeout": .string, "honorLabels": .bool, "relabelings": .any, "metricRelabelings": .any, "tlsConfig": .any,
                            "authorization": .any, "params": .any,
                        ])
                    ),
                ],
                required: ["selector", "endpoints"]
            )
        )

        static let alertmanagerConfig = resource(
            .object([
                "route": .object([
                    "receiver": .string, "groupBy": .list(.string), "groupWait": .string, "groupInterval": .string, "repeatInterval": .string,
                    "matchers": .list(
                        .object(
                            ["name": .string, "value": .string, "matchType": .oneOf(["=", "!=", "=~", "!~"]), "regex": .bool],
                            required: ["name"]
                        )
                    ),
                    "continue": .bool, "routes": .any, "muteTimeIntervals": .list(.string), "activeTimeIntervals": .list(.string),
                ]),
                "receivers": .list(
                    .object(
                        [
                            "name": .string,
                            "webhookConfigs": .list(
                                .object([
                                    "url": .string, "urlSecret": .any, "sendResolved": .bool, "maxAlerts": .int, "timeout": .string,
                                    "httpConfig": .object([
                                        "authorization": .object([
                                            "type": .string,
                                            "credentials": .object(["name": .string, "key": .string, "optional": .bool], required: ["key"]),
                                        ]),
                                        "basicAuth": .any, "oauth2": .any, "bearerTokenSecret": .any, "tlsConfig": .any, "proxyURL": .string,
                                        "followRedirects": .bool, "enableHttp2": .bool,
                                    ]),
                                ])
                            ),
                            "opsgenieConfigs": .any, "pagerdutyConfigs": .any, "slackConfigs": .any, "emailConfigs": .any,
                        ],
                        required: ["name"]
                    )
                ),
                "inhibitRules": .any, "muteTimeIntervals": .any,
            ])
        )
    }
}
