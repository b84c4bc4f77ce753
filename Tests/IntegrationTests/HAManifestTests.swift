import FakeKubernetes
import Foundation
import GateConfig
import Testing
import Yams

/// deploy/crds and deploy/ha, checked offline the way deploy/base is: rendered with kustomize, validated strictly,
/// plus what a cluster would check of the CRD (structural, bounded), the HA RBAC, the configuration, and the Argo CD
/// health check's decision table run by a real Lua interpreter.
@Suite struct HAManifestTests {
    typealias Deploy = DeployManifestTests

    // MARK: - The overlay

    @Test(.enabled(if: DeployManifestTests.hasKubectl, "kubectl is not installed"))
    func overlayRunsThreeReplicasWithPodNameAndNoSQLiteVolume() async throws {
        let objects = try await Self.renderOverlay()
        let byKind = Dictionary(grouping: objects) { $0["kind"]?.string ?? "?" }
        #expect(byKind["PersistentVolumeClaim"] == nil, "HA mode keeps no SQLite volume")
        #expect(byKind["CustomResourceDefinition"]?.first?["metadata"]?["name"]?.string == "upgradewindows.upgradegate.dev")
        let deployment = try #require(byKind["Deployment"]?.first)
        let spec = try #require(deployment["spec"])
        #expect(spec["replicas"]?.int == 3)
        #expect(spec["strategy"]?["type"]?.string == "RollingUpdate")
        let pod = try #require(spec["template"]?["spec"])
        let container = try #require(pod["containers"]?[0])
        #expect(container["args"]?.sequence?.compactMap(\.string) == ["serve", "--config", "/etc/upgrade-gate/config.yaml"])
        let env = try #require(container["env"]?.sequence?.first { $0["name"]?.string == "POD_NAME" })
        #expect(env["valueFrom"]?["fieldRef"]?["fieldPath"]?.string == "metadata.name")
        let mounts = (container["volumeMounts"]?.sequence ?? []).compactMap { $0["name"]?.string }
        #expect(Set(mounts) == ["config", "tokens", "tmp"])
        let volumes = (pod["volumes"]?.sequence ?? []).compactMap { $0["name"]?.string }
        #expect(Set(volumes) == ["config", "tokens", "tmp"])
        let terms = pod["affinity"]?["podAntiAffinity"]?["preferredDuringSchedulingIgnoredDuringExecution"]?.sequence ?? []
        let podLabels = spec["template"]?["metadata"]?["labels"]?.mapping ?? [:]
        #expect(terms.contains { $0["podAffinityTerm"]?["topologyKey"]?.string == "kubernetes.io/hostname" })
        for term in terms {
            let selector = term["podAffinityTerm"]?["labelSelector"]?["matchLabels"]?.mapping ?? [:]
            #expect(!selector.isEmpty && selector.allSatisfy { podLabels[$0.key] == $0.value }, "anti-affinity must select the gate's own pods")
        }
        let budget = try #require(byKind["PodDisruptionBudget"]?.first)
        #expect(budget["spec"]?["maxUnavailable"]?.int == 1)
        let budgetSelector = budget["spec"]?["selector"]?["matchLabels"]?.mapping ?? [:]
        #expect(!budgetSelector.isEmpty && budgetSelector.allSatisfy { podLabels[$0.key] == $0.value }, "the PDB must select the gate's pods")
        #expect(byKind["Role"]?.contains { $0["metadata"]?["name"]?.string == "upgrade-gate-ha" } == true)
        #expect(byKind["RoleBinding"]?.contains { $0["metadata"]?["name"]?.string == "upgrade-gate-ha" } == true)
    }

    @Test(.enabled(if: DeployManifestTests.hasKubectl, "kubectl is not installed"))
    func renderedOverlayValidatesStrictlyAgainstKubernetesSchemas() async throws {
        try await Deploy.requireValidator()
        let output = try await Deploy.run(["kubectl", "kustomize", Deploy.deploy.appendingPathComponent("ha").path])
        #expect(output.status == 0, "\(output.text)")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ha-overlay-\(UUID().uuidString).yaml")
        defer { try? FileManager.default.removeItem(at: file) }
        try output.text.write(to: file, atomically: true, encoding: .utf8)
        let validated = try await Deploy.validate([file.path])
        let lines = validated.text.split(separator: "\n").map(String.init)
        for line in lines where line.hasPrefix("ERROR") { Issue.record("kubernetes-validate: \(line)") }
        for line in lines where line.hasPrefix("WARN") {
            #expect(line.contains("PrometheusRule") || line.contains("ServiceMonitor"), "no schema for: \(line)")
        }
        // Namespace, CRD, ServiceAccount, 4 Roles/ClusterRoles, 4 bindings, 2 ConfigMaps (config, dashboard), Service,
        // Deployment, PDB.
        let passed = lines.filter { $0.hasPrefix("INFO") && $0.contains(" passed ") }
        #expect(passed.count == 16 * Deploy.kubernetesVersions.count, "\(validated.text)")
    }

    @Test func haRBACGrantsExactlyLeasesWindowsStatusAndEvents() throws {
        let role = try #require(try Deploy.documents("ha/rbac.yaml").first { $0["kind"]?.string == "Role" })
        #expect(role["metadata"]?["namespace"]?.string == "upgrade-gate")
        var grants: Set<String> = []
        for rule in role["rules"]?.sequence ?? [] {
            let groups = rule["apiGroups"]?.sequence?.compactMap(\.string) ?? []
            let resources = rule["resources"]?.sequence?.compactMap(\.string) ?? []
            let verbs = rule["verbs"]?.sequence?.compactMap(\.string) ?? []
            let names = rule["resourceNames"]?.sequence?.compactMap(\.string) ?? []
            for value in groups + resources + verbs { #expect(value != "*", "no wildcards") }
            #expect(!resources.contains("secrets"))
            // The gate deletes only closed windows' objects (retention, a reused name), nothing else.
            if verbs.contains("delete") { #expect(resources == ["upgradewindows"], "delete is for closed UpgradeWindows only") }
            for group in groups {
                for resource in resources {
                    for verb in verbs { grants.insert("\(group)/\(resource) \(verb)" + (names.isEmpty ? "" : " \(names.joined(separator: ","))")) }
                }
            }
        }
        #expect(
            grants == [
                "coordination.k8s.io/leases create", "coordination.k8s.io/leases get upgrade-gate", "coordination.k8s.io/leases update upgrade-gate",
                "upgradegate.dev/upgradewindows get", "upgradegate.dev/upgradewindows list", "upgradegate.dev/upgradewindows watch",
                "upgradegate.dev/upgradewindows create", "upgradegate.dev/upgradewindows update", "upgradegate.dev/upgradewindows patch",
                "upgradegate.dev/upgradewindows delete", "/configmaps list", "/configmaps watch", "/configmaps create",
                "/configmaps get upgrade-gate-alert-groups", "/configmaps update upgrade-gate-alert-groups",
                "upgradegate.dev/upgradewindows/status get", "upgradegate.dev/upgradewindows/status update",
                "upgradegate.dev/upgradewindows/status patch", "/events create", "/events patch",
            ]
        )
        let binding = try #require(try Deploy.documents("ha/rbac.yaml").first { $0["kind"]?.string == "RoleBinding" })
        #expect(binding["roleRef"]?["name"]?.string == "upgrade-gate-ha")
        #expect(binding["subjects"]?[0]?["name"]?.string == "upgrade-gate")
    }

    @Test func haConfigIsTheBaseConfigWithTheHASectionInsteadOfState() throws {
        func config(_ file: String) throws -> GateConfig {
            let map = try #require(try Deploy.documents(file).first)
            let text = try #require(map["data"]?["config.yaml"]?.string)
            return try GateConfigLoader.parse(yaml: text, source: file)
        }
        let base = try config("base/configmap.yaml")
        var ha = try config("ha/configmap.yaml")
        let section = try #require(ha.ha)
        #expect(section.namespace == "upgrade-gate")
        #expect(section.lease == LeaseConfig())
        ha.ha = nil
        ha.state = base.state
        #expect(ha == base, "deploy/ha/configmap.yaml drifted from deploy/base/configmap.yaml")
    }

    @Test func serveWithAnHASectionAndNoReachableAPIServerSaysWhatIsMissing() async throws {
        let map = try #require(try Deploy.documents("ha/configmap.yaml").first)
        let text = try #require(map["data"]?["config.yaml"]?.string)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ha-config-\(UUID().uuidString).yaml")
        defer { try? FileManager.default.removeItem(at: file) }
        // Out of a cluster there is no service account: the replica cannot reach the Kubernetes API and says so.
        try text.write(to: file, atomically: true, encoding: .utf8)
        let run = try await runGate(["serve", "--config", file.path])
        #expect(run.exitCode == 1, "\(run)")
        #expect(
            run.stderr.contains("the ha section needs the Kubernetes API") || run.stdout.contains("the ha section needs the Kubernetes API"),
            "\(run)"
        )
    }

    // MARK: - The CRD

    @Test func theCRDIsStructuralBoundedAndShowsTheAgreedColumns() throws {
        let crd = try #require(try Deploy.documents("crds/upgradegate.dev_upgradewindows.yaml").first)
        let spec = try #require(crd["spec"])
        #expect(crd["metadata"]?["name"]?.string == "upgradewindows.upgradegate.dev")
        #expect(spec["group"]?.string == "upgradegate.dev")
        #expect(spec["scope"]?.string == "Namespaced")
        #expect(spec["names"]?["kind"]?.string == "UpgradeWindow")
        #expect(spec["names"]?["shortNames"]?.sequence?.compactMap(\.string) == ["uw"])
        let versions = spec["versions"]?.sequence ?? []
        #expect(versions.count == 1)
        let version = try #require(versions.first)
        #expect(version["name"]?.string == "v1alpha1")
        #expect(version["subresources"]?["status"] != nil)
        let columns = (version["additionalPrinterColumns"]?.sequence ?? []).map {
            "\($0["name"]?.string ?? "") \($0["type"]?.string ?? "") \($0["jsonPath"]?.string ?? "")"
        }
        #expect(
            columns == [
                "Verdict string .status.verdict", "Component string .spec.component", "From string .spec.fromVersion", "To string .spec.toVersion",
                "Soak-Left string .status.soakRemaining", "Age date .metadata.creationTimestamp",
            ]
        )
        let schema = try #require(version["schema"]?["openAPIV3Schema"])
        var problems: [String] = []
        Self.checkStructural(schema, path: "", problems: &problems)
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        let specFields = Set(schema["properties"]?["spec"]?["properties"]?.mapping?.keys.compactMap(\.string) ?? [])
        #expect(
            specFields == [
                "component", "fromVersion", "toVersion", "namespaces", "labels", "matchers", "checks", "soak", "duration", "backup", "closed",
            ]
        )
        let statusFields = Set(schema["properties"]?["status"]?["properties"]?.mapping?.keys.compactMap(\.string) ?? [])
        for field in [
            "id", "phase", "verdict", "stale", "reasons", "openedAt", "closesAt", "evaluatedAt", "baseline", "streaks", "alerts", "backup", "restore",
            "owner", "observedGeneration", "conditions", "events",
        ] {
            #expect(statusFields.contains(field), "status.\(field)")
        }
    }

    /// What the API server demands of a structural schema, plus this project's rule that every string, list and map
    /// is bounded.
    static func checkStructural(_ node: Node, path: String, problems: inout [String]) {
        let here = path.isEmpty ? "(root)" : path
        let type = node["type"]?.string
        if type == nil, node["x-kubernetes-preserve-unknown-fields"]?.bool != true { problems.append("\(here): no type") }
        if node["properties"] != nil, node["additionalProperties"] != nil { problems.append("\(here): properties and additionalProperties") }
        switch type {
        case "string" where path != "apiVersion" && path != "kind":
            if node["maxLength"] == nil, node["enum"] == nil, node["format"]?.string != "date-time" { problems.append("\(here): unbounded string") }
        case "array":
            if node["maxItems"] == nil { problems.append("\(here): unbounded list") }
            if node["x-kubernetes-list-type"]?.string == "map" {
                let required = Set(node["items"]?["required"]?.sequence?.compactMap(\.string) ?? [])
                for key in node["x-kubernetes-list-map-keys"]?.sequence?.compactMap(\.string) ?? [] where !required.contains(key) {
                    problems.append("\(here): list-map key \(key) is not required")
                }
            }
            if let items = node["items"] {
                checkStructural(items, path: "\(path)[]", problems: &problems)
            } else {
                problems.append("\(here): no items")
            }
        case "object":
            if let additional = node["additionalProperties"] {
                if node["maxProperties"] == nil { problems.append("\(here): unbounded map") }
                checkStructural(additional, path: "\(path).*", problems: &problems)
            }
            for (key, child) in node["properties"]?.mapping ?? [:] {
                let name = key.string ?? "?"
                // At the root only metadata.name/generateName may be constrained: metadata stays a bare object.
                if path.isEmpty, name == "metadata" { continue }
                checkStructural(child, path: path.isEmpty ? name : "\(path).\(name)", problems: &problems)
            }
        default:
            break
        }
    }

    // MARK: - Argo CD health check

    static let luaScript = Deploy.deploy.appendingPathComponent("ha/argocd-health-upgradewindow.lua")

    @Test func theArgoCDPatchCarriesTheLuaScriptVerbatim() throws {
        let patch = try #require(try Deploy.documents("ha/argocd-cm-patch.yaml").first)
        #expect(patch["metadata"]?["name"]?.string == "argocd-cm")
        let embedded = try #require(patch["data"]?["resource.customizations.health.upgradegate.dev_UpgradeWindow"]?.string)
        #expect(embedded == (try String(contentsOf: Self.luaScript, encoding: .utf8)))
    }

    @Test func healthCheckDecisionTableRunsInLua() async throws {
        guard (try? await Deploy.run(["lua5.4", "-v"]).status) == 0 else {
            throw HarnessError(description: "lua5.4 is not installed: `make deps` installs it (Makefile APT_PACKAGES)")
        }
        let ready = try FakeJSON.parse(Array(try fixtureText("kubernetes-ha/upgradewindow-status-ready.json").utf8))
        let listed = try FakeJSON.parse(Array(try fixtureText("kubernetes-ha/list-upgradewindows.json").utf8))["items"]?.arrayValue ?? []
        let watched = try fixtureText("kubernetes-ha/watch-stream-upgradewindows.jsonl").split(separator: "\n").map { line in
            (try? FakeJSON.parse(Array(line.utf8)))?["object"] ?? [:]
        }
        var deleting = ready
        deleting["metadata"]?["deletionTimestamp"] = "2026-12-03T15:00:00Z"
        var unjudged = ready
        unjudged["status"] = nil

        let cases: [(String, FakeJSON, String, String?)] = [
            ("Ready=True (pass)", ready, "Healthy", "soak complete and the last evaluation was clean"),
            ("Ready=False while soaking", listed[0], "Progressing", "soak not complete: 4m45s remaining"),
            ("Stalled=True (sticky fail)", listed[1], "Degraded", "critical check prometheus-rule-evaluations failed 2 consecutive evaluations"),
            // spec.closed raised generation to 2 while status still says 1: not judged yet, whatever it says.
            (
                "generation ahead of observedGeneration", watched[4], "Progressing",
                "UpgradeWindow generation is 2, but latest observed generation is 1"
            ),
            ("caught up after closing (fail)", watched[5], "Degraded", nil),
            ("no status yet", unjudged, "Progressing", nil),
            ("being deleted", deleting, "Progressing", "The window is being deleted"),
        ]
        for (name, object, status, message) in cases {
            let (gotStatus, gotMessage) = try await Self.runHealthCheck(object)
            #expect(gotStatus == status, "\(name): \(gotStatus) \(gotMessage)")
            if let message { #expect(gotMessage == message, "\(name)") }
        }
    }

    /// Runs the shipped Lua as Argo CD does (global `obj`, the script's return value is `hs`).
    static func runHealthCheck(_ object: FakeJSON) async throws -> (status: String, message: String) {
        let harness = """
            obj = \(lua(object))
            local check = assert(loadfile(\(luaString(luaScript.path))))
            local hs = check()
            io.write(hs.status, "\\t", hs.message or "")
            """
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("health-\(UUID().uuidString).lua")
        defer { try? FileManager.default.removeItem(at: file) }
        try harness.write(to: file, atomically: true, encoding: .utf8)
        let output = try await Deploy.run(["lua5.4", file.path])
        guard output.status == 0 else { throw HarnessError(description: "lua5.4 failed: \(output.text)") }
        let parts = output.text.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        return (parts.first ?? "", parts.count > 1 ? parts[1] : "")
    }

    /// A Lua table constructor for a JSON value (arrays 1-based, as Argo CD's JSON-to-Lua conversion makes them).
    static func lua(_ value: FakeJSON) -> String {
        switch value {
        case .null: return "nil"
        case .bool(let flag): return flag ? "true" : "false"
        case .number: return value.text
        case .string(let text): return luaString(text)
        case .array(let elements): return "{" + elements.map(lua).joined(separator: ", ") + "}"
        case .object(let members):
            return "{" + members.sorted { $0.key < $1.key }.map { "[\(luaString($0.key))] = \(lua($0.value))" }.joined(separator: ", ") + "}"
        }
    }

    static func luaString(_ text: String) -> String {
        "\""
            + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(
                of: "\n",
                with: "\\n"
            ) + "\""
    }

    static func renderOverlay() async throws -> [Node] {
        let output = try await Deploy.run(["kubectl", "kustomize", Deploy.deploy.appendingPathComponent("ha").path])
        guard output.status == 0 else { throw HarnessError(description: "kubectl kustomize deploy/ha:\n\(output.text)") }
        return try Deploy.parse(output.text)
    }
}
