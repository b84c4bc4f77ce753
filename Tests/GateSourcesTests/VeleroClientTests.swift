import FakeKubernetes
import Foundation
import Testing

@testable import GateSources

/// Polls `status` until Velero's phase is terminal.
func terminalStatus(timeout: Duration = .seconds(60), _ status: () async throws -> VeleroStatus) async throws -> VeleroStatus {
    var last = try await status()
    _ = try await eventually(timeout: timeout) {
        last = try await status()
        return last.phase.isTerminal
    }
    return last
}

@Suite("Velero adapter against the fake API server")
struct VeleroClientTests {
    static let certManager = FakeWorkload.Key(kind: .deployment, namespace: "cert-manager", name: "cert-manager")
    static let webhook = FakeWorkload.Key(kind: .deployment, namespace: "cert-manager", name: "cert-manager-webhook")

    static func backup(_ name: String, namespaces: [String] = ["cert-manager"], windowID: String = "7f3a9c") -> BackupSpec {
        BackupSpec(
            name: name,
            namespace: "velero",
            includedNamespaces: namespaces,
            ttl: 72 * 3600,
            storageLocation: "default",
            labels: ["app.kubernetes.io/managed-by": "upgrade-gate", "upgrade-gate/window": "cert-manager", "upgrade-gate.io/window-id": windowID]
        )
    }

    static func restore(_ name: String, from backup: String, policy: String? = "update") -> RestoreSpec {
        RestoreSpec(
            name: name,
            namespace: "velero",
            backupName: backup,
            includedNamespaces: ["cert-manager"],
            existingResourcePolicy: policy,
            restorePVs: false,
            labels: ["upgrade-gate/window": "cert-manager"]
        )
    }

    /// Seeds cert-manager v1.12.3 (two Deployments) and a Deployment in another namespace.
    static func seedCertManager(_ server: FakeKubernetesServer) {
        server.seed(
            deployment: "cert-manager",
            namespace: "cert-manager",
            containers: ["controller": "quay.io/jetstack/cert-manager-controller:v1.12.3"]
        )
        server.seed(
            deployment: "cert-manager-webhook",
            namespace: "cert-manager",
            containers: ["webhook": "quay.io/jetstack/cert-manager-webhook:v1.12.3"]
        )
        server.seed(deployment: "shop", namespace: "shop", containers: ["app": "shop:2.0"])
    }

    /// Upgrades both cert-manager Deployments to v1.13.1.
    static func upgrade(_ server: FakeKubernetesServer) {
        server.setImage("quay.io/jetstack/cert-manager-controller:v1.13.1", container: "controller", of: certManager)
        server.setImage("quay.io/jetstack/cert-manager-webhook:v1.13.1", container: "webhook", of: webhook)
    }

    @Test func backupBodyHasExactlyTheCRDFieldsAndValidates() async throws {
        try await withKubernetes { k8s in
            let velero = VeleroClient(kubernetes: k8s.client)
            try await velero.createBackup(Self.backup("cert-manager-7f3a9c-pre"))
            let stored = try #require(k8s.server.backups.first)
            #expect(stored["apiVersion"] == "velero.io/v1")
            #expect(stored["kind"] == "Backup")
            #expect(stored.value(at: "metadata.name") == "cert-manager-7f3a9c-pre")
            #expect(stored.value(at: "metadata.namespace") == "velero")
            #expect(stored["metadata"]?["labels"]?["upgrade-gate/window"] == "cert-manager")
            #expect(stored["spec"] == ["includedNamespaces": ["cert-manager"], "ttl": "72h0m0s", "storageLocation": "default"])
        }
    }

    @Test func restoreBodyHasExactlyTheCRDFieldsAndValidates() async throws {
        try await withKubernetes { k8s in
            let velero = VeleroClient(kubernetes: k8s.client)
            try await velero.createRestore(Self.restore("cert-manager-7f3a9c-rollback", from: "cert-manager-7f3a9c-pre"))
            let stored = try #require(k8s.server.restores.first)
            #expect(stored["kind"] == "Restore")
            #expect(
                stored["spec"] == [
                    "backupName": "cert-manager-7f3a9c-pre", "includedNamespaces": ["cert-manager"], "existingResourcePolicy": "update",
                    "restorePVs": false,
                ]
            )
            let withoutPolicy = VeleroClient.restoreObject(Self.restore("r", from: "b", policy: nil))
            #expect(withoutPolicy["spec"]?["existingResourcePolicy"] == nil)
        }
    }

    @Test func creatingTheSameBackupTwiceSucceedsAndMakesOne() async throws {
        try await withKubernetes { k8s in
            let velero = VeleroClient(kubernetes: k8s.client)
            try await velero.createBackup(Self.backup("w-1-pre"))
            try await velero.createBackup(Self.backup("w-1-pre"))
            #expect(k8s.server.backups.count == 1)
            // The second create finds the name taken and reads the Backup: it is this window's (same window id).
            #expect(k8s.server.requests.map(\.status) == [201, 409, 200])
        }
    }

    @Test func aBackupSomeoneElsePutUnderTheNameIsNotTakenForTheWindows() async throws {
        try await withKubernetes { k8s in
            let velero = VeleroClient(kubernetes: k8s.client)
            // The name is derived from the window's id, which is visible before the leader creates the Backup.
            try await velero.createBackup(Self.backup("w-1-pre", namespaces: ["kube-system"], windowID: "planted"))
            await #expect(throws: KubernetesError.self) { try await velero.createBackup(Self.backup("w-1-pre")) }
            #expect(k8s.server.backups.count == 1)
        }
    }

    @Test func restoreRetriedAfterALostAnswerIsCreatedExactlyOnce() async throws {
        // A normal answer never times out on a loaded machine; the stalled one (it ends when the server stops) always does.
        let options = KubernetesClient.Options(
            requestTimeout: .seconds(3),
            initialBackoff: .milliseconds(20),
            maxBackoff: .milliseconds(100),
            deadline: .seconds(60)
        )
        try await withKubernetes(options: options) { k8s in
            let velero = VeleroClient(kubernetes: k8s.client)
            k8s.server.stall(for: .seconds(120), afterHandling: true)
            try await velero.createRestore(Self.restore("w-1-rollback", from: "w-1-pre"))
            // And once more, as after a crash between the request and persisting its outcome.
            try await velero.createRestore(Self.restore("w-1-rollback", from: "w-1-pre"))
            #expect(k8s.server.restores.count == 1)
            // The first create can only have succeeded through a retry (its first answer never came); on a loaded machine
            // the stalled attempt may not be counted yet, so the count proves only that both creates reached the server.
            #expect(k8s.server.requestCount(method: "POST") >= 2)
        }
    }

    @Test func restoreNameTakenByAnotherBackupIsAConflict() async throws {
        try await withKubernetes { k8s in
            let velero = VeleroClient(kubernetes: k8s.client)
            try await velero.createRestore(Self.restore("w-1-rollback", from: "w-1-pre"))
            let error = await kubernetesFailure { try await velero.createRestore(Self.restore("w-1-rollback", from: "other-pre")) }
            #expect(error == .conflict)
            #expect(error?.description.contains("restores backup \"w-1-pre\", not \"other-pre\"") == true)
            #expect(k8s.server.restores.count == 1)
        }
    }

    @Test func backupMovesThroughVeleroPhasesToCompleted() async throws {
        // Steps long enough that the first read, right after the create, sees a phase before the last even on a machine
        // so loaded that one request takes seconds.
        try await withKubernetes(phaseStep: .seconds(10)) { k8s in
            let velero = VeleroClient(kubernetes: k8s.client)
            try await velero.createBackup(Self.backup("b-pre"))
            let first = try await velero.backupStatus(name: "b-pre")
            #expect(!first.phase.isTerminal)
            let final = try await terminalStatus(timeout: .seconds(120)) { try await velero.backupStatus(name: "b-pre") }
            #expect(final == VeleroStatus(phase: .completed))
            #expect(final.phase.isSuccess)
        }
    }

    @Test func failedBackupReportsVelerosReason() async throws {
        try await withKubernetes { k8s in
            k8s.server.scriptBackupPhases(
                ["New", "InProgress", "Failed"],
                failureReason: "error getting backup storage location: not found",
                errors: 1
            )
            let velero = VeleroClient(kubernetes: k8s.client)
            try await velero.createBackup(Self.backup("b-pre"))
            let final = try await terminalStatus { try await velero.backupStatus(name: "b-pre") }
            #expect(final.phase == .failed)
            #expect(!final.phase.isSuccess)
            #expect(final.failureReason == "error getting backup storage location: not found")
            #expect(final.errors == 1)
        }
    }

    @Test func statusOfAMissingBackupIsNotFound() async throws {
        try await withKubernetes { k8s in
            let error = await kubernetesFailure { try await VeleroClient(kubernetes: k8s.client).backupStatus(name: "nope") }
            #expect(error == .notFound)
        }
    }

    @Test func restoreWithUpdatePolicyRollsImagesBack() async throws {
        try await withKubernetes { k8s in
            Self.seedCertManager(k8s.server)
            let velero = VeleroClient(kubernetes: k8s.client)
            let before = try await velero.workloadImages(namespaces: ["cert-manager"])
            try await velero.createBackup(Self.backup("w-1-pre"))
            // Not `#expect(try await terminalStatus { … })`: inside a closure, Swift 6.3.1 then runs this closure again
            // in place of the next trailing closure (a closure-discriminator miscompile; see the report).
            let backup = try await terminalStatus { try await velero.backupStatus(name: "w-1-pre") }
            #expect(backup.phase == .completed)
            Self.upgrade(k8s.server)
            #expect(try await velero.workloadImages(namespaces: ["cert-manager"]) != before)

            try await velero.createRestore(Self.restore("w-1-rollback", from: "w-1-pre"))
            let final = try await terminalStatus { try await velero.restoreStatus(name: "w-1-rollback") }
            #expect(final == RestoreStatus(phase: .completed))
            let after = try await velero.workloadImages(namespaces: ["cert-manager"])
            #expect(after == before)
        }
    }

    @Test func workloadVeleroCouldNotUpdateKeepsItsNewImageAndCountsAWarning() async throws {
        try await withKubernetes { k8s in
            Self.seedCertManager(k8s.server)
            let velero = VeleroClient(kubernetes: k8s.client)
            let before = try await velero.workloadImages(namespaces: ["cert-manager"])
            try await velero.createBackup(Self.backup("w-1-pre"))
            _ = try await terminalStatus { try await velero.backupStatus(name: "w-1-pre") }
            Self.upgrade(k8s.server)
            k8s.server.markWontRevert(Self.webhook)

            try await velero.createRestore(Self.restore("w-1-rollback", from: "w-1-pre"))
            let final = try await terminalStatus { try await velero.restoreStatus(name: "w-1-rollback") }
            #expect(final.phase == .completed)
            #expect(final.warnings == 1)
            let after = try await velero.workloadImages(namespaces: ["cert-manager"])
            let notRolledBack = Set(after).subtracting(before)
            #expect(notRolledBack.map(\.name) == ["cert-manager-webhook"])
            #expect(notRolledBack.first?.image == "quay.io/jetstack/cert-manager-webhook:v1.13.1")
        }
    }

    @Test func restoreWithoutUpdatePolicyLeavesExistingWorkloadsUpgraded() async throws {
        try await withKubernetes { k8s in
            Self.seedCertManager(k8s.server)
            let velero = VeleroClient(kubernetes: k8s.client)
            try await velero.createBackup(Self.backup("w-1-pre"))
            _ = try await terminalStatus { try await velero.backupStatus(name: "w-1-pre") }
            Self.upgrade(k8s.server)
            let upgraded = try await velero.workloadImages(namespaces: ["cert-manager"])

            try await velero.createRestore(Self.restore("w-1-rollback", from: "w-1-pre", policy: nil))
            let final = try await terminalStatus { try await velero.restoreStatus(name: "w-1-rollback") }
            #expect(final.phase == .completed)
            #expect(final.warnings == 2)
            #expect(try await velero.workloadImages(namespaces: ["cert-manager"]) == upgraded)
        }
    }

    @Test func partiallyFailedRestoreReportsItsCounts() async throws {
        try await withKubernetes { k8s in
            k8s.server.scriptRestorePhases(["New", "InProgress", "PartiallyFailed"], warnings: 3, errors: 2)
            let velero = VeleroClient(kubernetes: k8s.client)
            try await velero.createBackup(Self.backup("w-1-pre"))
            _ = try await terminalStatus { try await velero.backupStatus(name: "w-1-pre") }
            try await velero.createRestore(Self.restore("w-1-rollback", from: "w-1-pre"))
            let final = try await terminalStatus { try await velero.restoreStatus(name: "w-1-rollback") }
            #expect(final == RestoreStatus(phase: .partiallyFailed, warnings: 3, errors: 2))
            #expect(final.phase.isTerminal && !final.phase.isSuccess)
        }
    }

    @Test func restoreOfAMissingBackupFailsValidation() async throws {
        try await withKubernetes { k8s in
            let velero = VeleroClient(kubernetes: k8s.client)
            try await velero.createRestore(Self.restore("w-1-rollback", from: "never-taken"))
            let final = try await terminalStatus { try await velero.restoreStatus(name: "w-1-rollback") }
            #expect(final.phase == .failedValidation)
            #expect(final.validationErrors.first?.contains("\"never-taken\" not found") == true)
        }
    }

    @Test func workloadImagesListsEveryKindInTheGivenNamespacesSorted() async throws {
        try await withKubernetes { k8s in
            k8s.server.seed(deployment: "api", namespace: "shop", containers: ["app": "shop/api:1.0", "proxy": "envoy:1.30"])
            k8s.server.seed(statefulSet: "db", namespace: "shop", containers: ["postgres": "postgres:16.2"])
            k8s.server.seed(
                FakeWorkload(
                    kind: .daemonSet,
                    namespace: "monitoring",
                    name: "node-exporter",
                    containers: [FakeContainer(name: "exporter", image: "node-exporter:1.8")],
                    initContainers: [FakeContainer(name: "init", image: "busybox:1.36")]
                )
            )
            k8s.server.seed(deployment: "elsewhere", namespace: "other", containers: ["app": "other:1"])
            let velero = VeleroClient(kubernetes: k8s.client)
            let images = try await velero.workloadImages(namespaces: ["shop", "monitoring"])
            #expect(
                images == [
                    WorkloadImage(
                        kind: "DaemonSet",
                        namespace: "monitoring",
                        name: "node-exporter",
                        container: "init",
                        image: "busybox:1.36",
                        isInitContainer: true
                    ),
                    WorkloadImage(
                        kind: "DaemonSet",
                        namespace: "monitoring",
                        name: "node-exporter",
                        container: "exporter",
                        image: "node-exporter:1.8"
                    ),
                    WorkloadImage(kind: "Deployment", namespace: "shop", name: "api", container: "app", image: "shop/api:1.0"),
                    WorkloadImage(kind: "Deployment", namespace: "shop", name: "api", container: "proxy", image: "envoy:1.30"),
                    WorkloadImage(kind: "StatefulSet", namespace: "shop", name: "db", container: "postgres", image: "postgres:16.2"),
                ]
            )
            let everywhere = try await velero.workloadImages(namespaces: [])
            #expect(everywhere.count == 6)
            #expect(k8s.server.requests.last?.path == "/apis/apps/v1/daemonsets")
        }
    }

    @Test func forbiddenWorkloadListSaysWhichPermissionIsMissing() async throws {
        try await withKubernetes { k8s in
            k8s.server.forbid(verb: "list", plural: "statefulsets")
            let error = await kubernetesFailure { try await VeleroClient(kubernetes: k8s.client).workloadImages(namespaces: ["shop"]) }
            #expect(error == .forbidden)
            #expect(error?.description.contains("\"list\" verb on \"statefulsets\" in group apps in namespace shop") == true)
        }
    }
}

@Suite("Velero CRD contract copies")
struct VeleroCRDContractTests {
    static let names = ["velero.io_backups.yaml", "velero.io_restores.yaml"]

    @Test(arguments: names)
    func fakeServesTheSameCRDsAsTheFixtures(_ name: String) throws {
        let fixture = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures/velero"))
        let bundledPath = CustomResourceDefinition.bundledVeleroPaths().first(where: { $0.hasSuffix("/" + name) })
        let bundled = try #require(bundledPath)
        #expect(try Data(contentsOf: fixture) == Data(contentsOf: URL(fileURLWithPath: bundled)))
    }

    @Test func fixtureCRDsLoadWithTheFieldsTheGateSends() throws {
        for name in Self.names {
            let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures/velero"))
            let crd = try CustomResourceDefinition(contentsOf: url.path)
            #expect(crd.group == "velero.io")
            #expect(crd.version == "v1")
            let spec = try #require(crd.schema.property("spec"))
            let fields =
                name.contains("backups")
                ? ["includedNamespaces", "ttl", "storageLocation"] : ["backupName", "includedNamespaces", "existingResourcePolicy", "restorePVs"]
            for field in fields { #expect(spec.property(field) != nil, "\(name) lacks spec.\(field)") }
        }
    }
}
