import FakeKubernetes
import Foundation
import Testing

@testable import GateSources

/// The fake API server's CRD validation, checked on its own: the client tests trust it to reject what a real
/// API server rejects, so it must read the real Velero schemas correctly.
@Suite("Fake API server: Velero CRD validation")
struct VeleroCRDValidationTests {
    let crds: [CustomResourceDefinition]
    let backupCRD: CustomResourceDefinition
    let restoreCRD: CustomResourceDefinition

    init() throws {
        crds = try CustomResourceDefinition.bundledVelero()
        backupCRD = try #require(crds.first { $0.kind == "Backup" })
        restoreCRD = try #require(crds.first { $0.kind == "Restore" })
    }

    /// The causes and unknown fields of validating `object` (metadata excluded, as the API server does).
    static func problems(_ object: FakeJSON, against crd: CustomResourceDefinition) -> (causes: [FieldCause], unknown: [String]) {
        var causes: [FieldCause] = []
        var unknown: [String] = []
        crd.schema.validate(object, path: "", causes: &causes, unknown: &unknown, skipping: ["metadata"])
        return (causes, unknown)
    }

    static func backup(spec: FakeJSON, status: FakeJSON? = nil) -> FakeJSON {
        var object: FakeJSON = ["apiVersion": "velero.io/v1", "kind": "Backup", "metadata": ["name": "b"], "spec": spec]
        if let status { object["status"] = status }
        return object
    }

    @Test func bundledCRDsAreBackupAndRestore() {
        #expect(crds.map(\.kind) == ["Backup", "Restore"])
        #expect(crds.map(\.plural) == ["backups", "restores"])
        #expect(crds.allSatisfy { $0.apiVersion == "velero.io/v1" })
    }

    @Test func theGatesOwnBodiesValidateWithoutProblems() throws {
        let backup = VeleroClient.backupObject(
            BackupSpec(
                name: "w-1-pre",
                namespace: "velero",
                includedNamespaces: ["a", "b"],
                ttl: 3600,
                storageLocation: "default",
                labels: ["k": "v"]
            )
        )
        let restore = VeleroClient.restoreObject(
            RestoreSpec(
                name: "w-1-rollback",
                namespace: "velero",
                backupName: "w-1-pre",
                includedNamespaces: ["a"],
                existingResourcePolicy: "update",
                restorePVs: true
            )
        )
        let backupProblems = Self.problems(try FakeJSON.parse(backup.encoded()), against: backupCRD)
        let restoreProblems = Self.problems(try FakeJSON.parse(restore.encoded()), against: restoreCRD)
        #expect(backupProblems.causes.isEmpty && backupProblems.unknown.isEmpty)
        #expect(restoreProblems.causes.isEmpty && restoreProblems.unknown.isEmpty)
    }

    @Test func nullableFieldsAcceptNullAndOthersDoNot() {
        let accepted = Self.problems(
            Self.backup(spec: ["labelSelector": nil, "includedNamespaces": nil, "snapshotVolumes": nil]),
            against: backupCRD
        )
        #expect(accepted.causes.isEmpty)
        let rejected = Self.problems(Self.backup(spec: ["ttl": nil]), against: backupCRD)
        #expect(rejected.causes.map(\.field) == ["spec.ttl"])
        #expect(rejected.causes.first?.reason == "FieldValueTypeInvalid")
    }

    @Test func minItemsIsEnforcedOnHookCommands() {
        let hooks: FakeJSON = ["resources": [["name": "h", "pre": [["exec": ["command": []]]]]]]
        let result = Self.problems(Self.backup(spec: ["hooks": hooks]), against: backupCRD)
        #expect(result.causes.map(\.field) == ["spec.hooks.resources[0].pre[0].exec.command"])
        #expect(result.causes.first?.message.contains("should have at least 1 items") == true)
    }

    @Test func additionalPropertiesSchemaAppliesToEveryMapValue() {
        let result = Self.problems(Self.backup(spec: ["orderedResources": ["pods": "ns/a,ns/b", "secrets": 1]]), against: backupCRD)
        #expect(result.causes.map(\.field) == ["spec.orderedResources.secrets"])
    }

    @Test func preserveUnknownFieldsAllowsArbitraryInitContainers() {
        let initContainer: FakeJSON = ["name": "restore-wait", "image": "velero/velero-restore-helper:v1.16", "anything": ["goes": true]]
        let hooks: FakeJSON = ["resources": [["name": "h", "postHooks": [["init": ["initContainers": [initContainer]]]]]]]
        let restore: FakeJSON = ["apiVersion": "velero.io/v1", "kind": "Restore", "spec": ["backupName": "b", "hooks": hooks]]
        let result = Self.problems(restore, against: restoreCRD)
        #expect(result.causes.isEmpty)
        #expect(result.unknown.isEmpty)
    }

    @Test func undeclaredFieldsAreReportedWithTheirPath() {
        let result = Self.problems(
            Self.backup(spec: ["ttl": "1h", "includedNamespace": ["a"], "hooks": ["resources": [["name": "h", "extra": 1]]]]),
            against: backupCRD
        )
        #expect(result.unknown == ["spec.hooks.resources[0].extra", "spec.includedNamespace"])
        #expect(result.causes.isEmpty)
    }

    @Test func statusPhaseAndTimestampsFollowTheSchema() {
        let bad = Self.problems(
            Self.backup(spec: [:], status: ["phase": "Exploded", "completionTimestamp": "yesterday", "startTimestamp": "2026-08-20T10:15:30Z"]),
            against: backupCRD
        )
        #expect(bad.causes.map(\.field) == ["status.completionTimestamp", "status.phase"])
        #expect(bad.causes.last?.reason == "FieldValueNotSupported")
        let queued = Self.problems(Self.backup(spec: [:], status: ["phase": "Queued", "queuePosition": 2]), against: backupCRD)
        #expect(queued.causes.isEmpty)
        let restoreQueued = Self.problems(["apiVersion": "velero.io/v1", "kind": "Restore", "status": ["phase": "Queued"]], against: restoreCRD)
        #expect(restoreQueued.causes.map(\.field) == ["status.phase"])
    }

    @Test func integersMustBeWholeNumbers() {
        let result = Self.problems(Self.backup(spec: ["uploaderConfig": ["parallelFilesUpload": 1.5]]), against: backupCRD)
        #expect(result.causes.map(\.field) == ["spec.uploaderConfig.parallelFilesUpload"])
    }

    @Test func requiredFieldsOfResourceReferencesAreEnforced() {
        let result = Self.problems(Self.backup(spec: ["resourcePolicy": ["kind": "ConfigMap"]]), against: backupCRD)
        #expect(result.causes.map(\.field) == ["spec.resourcePolicy.name"])
        #expect(result.causes.first?.reason == "FieldValueRequired")
    }

    @Test func serverChecksObjectMetaKindAndNamespaceBeforeTheSchema() async throws {
        try await withKubernetes { k8s in
            func create(_ body: JSONValue) async -> KubernetesError? {
                await kubernetesFailure {
                    try await k8s.client.create(group: "velero.io", version: "v1", namespace: "velero", plural: "backups", object: body)
                }
            }
            let badLabel = await create([
                "apiVersion": "velero.io/v1", "kind": "Backup", "metadata": ["name": "b", "labels": ["window": "not a label value!"]], "spec": [:],
            ])
            #expect(badLabel?.causes.map(\.field) == ["metadata.labels"])
            let otherNamespace = await create(backupBody("b", namespace: "default"))
            #expect(otherNamespace?.httpStatus == 400)
            #expect(otherNamespace?.message.contains("does not match the namespace sent on the request") == true)
            let wrongKind = await create(["apiVersion": "velero.io/v1", "kind": "Restore", "metadata": ["name": "b"], "spec": [:]])
            #expect(wrongKind?.httpStatus == 400)
            let noName = await create(["apiVersion": "velero.io/v1", "kind": "Backup", "metadata": [:], "spec": [:]])
            #expect(noName?.causes.map(\.field) == ["metadata.name"])
            #expect(k8s.server.backups.isEmpty)
        }
    }

    @Test func coreGroupPathsUseApiV1() async throws {
        try await withKubernetes { k8s in
            let error = await kubernetesFailure { try await k8s.client.list(group: "", version: "v1", namespace: "velero", plural: "pods") }
            #expect(error == .notFound)
            #expect(error?.resource == "pods")
            #expect(k8s.server.requests.first?.path == "/api/v1/namespaces/velero/pods")
        }
    }
}
