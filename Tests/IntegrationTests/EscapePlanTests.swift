import FakeKubernetes
import Foundation
import GateTestKit
import Testing

/// The escape plan end to end: the daemon, a real Prometheus, and a fake Kubernetes API server that
/// validates every Backup and Restore against the real Velero CRDs and advances their phases.
@Suite struct EscapePlanTests {
    static let restoresPath = "/apis/velero.io/v1/namespaces/velero/restores"
    static let podinfo = FakeWorkload.Key(kind: .deployment, namespace: "prod", name: "podinfo")

    struct Escape {
        let fake: FakeKubernetesServer
        let account: FakeServiceAccount
        let stack: DaemonTests.Stack
        var gate: GateDaemon { stack.gate }

        static func run(mode: String = "auto", soak: String = "2s", _ body: (Escape) async throws -> Void) async throws {
            let account = try FakeServiceAccount(token: "sa-token-1")
            let fake = try await FakeKubernetesServer.start(token: "sa-token-1")
            fake.seed(deployment: "podinfo", namespace: "prod", containers: ["app": "ghcr.io/stefanprodan/podinfo:6.5.0"])
            let extra = """
                kubernetes:
                  apiServer: \(fake.url)
                  tokenFile: \(account.tokenFile)
                velero:
                  namespace: velero
                  backup: {waitTimeout: 30s, required: true}
                  restore: {mode: \(mode), existingResourcePolicy: update, verify: true}
                """
            try await withTeardown(
                {
                    try await DaemonTests.Stack.run(soak: soak, extra: extra) { stack in
                        try await body(Escape(fake: fake, account: account, stack: stack))
                    }
                },
                teardown: {
                    await fake.stop()
                    account.remove()
                }
            )
        }

        func open(_ name: String = "podinfo-upgrade") async throws -> GateDaemon.Answer {
            try await gate.call("POST", "/api/v1/windows", body: #"{"name":"\#(name)","namespaces":["prod"],"labels":{"job":"demo"}}"#)
        }

        /// The upgrade itself: the workload now runs the new image.
        func upgrade() {
            _ = fake.setImage("ghcr.io/stefanprodan/podinfo:6.6.0", container: "app", of: EscapePlanTests.podinfo)
        }

        func breakTarget() async throws {
            stack.worker.setHealthy(false)
            try await stack.prometheus.waitFor("up{instance=\"\(stack.worker.target)\"} == 0") { $0.count == 1 }
        }

        func restore(_ window: String) async throws -> [String: Any] {
            try await gate.gate(window)["restore"] as? [String: Any] ?? [:]
        }

        func waitForRestorePhase(_ window: String, _ phase: String, timeout: Duration = .seconds(30)) async throws {
            try await eventually(timeout: timeout, "restore of \(window) to reach \(phase)") {
                try await restore(window)["phase"] as? String == phase
            }
        }

        /// Waits until the images after the restore were compared with those recorded at open (a step of its own,
        /// after the Restore's final phase was seen).
        func waitForVerification(_ window: String, timeout: Duration = .seconds(60)) async throws -> [String: Any] {
            try await eventually(timeout: timeout, "the images after the restore of \(window) to be verified") {
                try await restore(window)["rolledBack"] != nil
            }
            return try await restore(window)
        }
    }

    @Test func aFailedWindowIsRestoredExactlyOnceFromItsBackupAndVerified() async throws {
        try await Escape.run { escape in
            let opened = try await escape.open()
            #expect(opened.status == 201, "\(opened)")
            #expect(escape.fake.backups.count == 1, "the backup is created before the window answers")
            let backupName = try #require(escape.fake.backups.first?.value(at: "metadata.name")?.stringValue)
            #expect(backupName.hasSuffix("-pre") && backupName.hasPrefix("podinfo-upgrade-"))
            #expect(escape.fake.backups.first?.value(at: "spec.includedNamespaces")?.arrayValue?.first?.stringValue == "prod")
            try await escape.gate.waitForVerdict("podinfo-upgrade", "pass")
            #expect((try await escape.gate.gate("podinfo-upgrade")["backup"] as? [String: Any])?["phase"] as? String == "Completed")

            escape.upgrade()
            try await escape.breakTarget()
            try await escape.gate.waitForVerdict("podinfo-upgrade", "fail")
            try await escape.waitForRestorePhase("podinfo-upgrade", "Completed")
            #expect(escape.fake.restores.count == 1)
            let restore = try #require(escape.fake.restores.first)
            #expect(restore.value(at: "metadata.name")?.stringValue?.hasSuffix("-rollback") == true)
            #expect(restore.value(at: "spec.backupName")?.stringValue == backupName)
            #expect(restore.value(at: "spec.existingResourcePolicy")?.stringValue == "update")
            let body = try await escape.waitForVerification("podinfo-upgrade")
            #expect((body["rolledBack"] as? [String])?.first?.contains("Deployment prod/podinfo container app") == true, "\(body)")
            #expect((body["notRolledBack"] as? [String])?.isEmpty == true, "\(body)")
            #expect(escape.fake.workload(EscapePlanTests.podinfo)?.image(of: "app") == "ghcr.io/stefanprodan/podinfo:6.5.0")
            // The fail → Restore request latency is a benchmark target; the audit trail has both times (reported, not asserted).
            let trail = try await escape.gate.call("GET", "/api/v1/windows/podinfo-upgrade/events").json["events"] as? [[String: Any]] ?? []
            let failedAt = trail.last { $0["kind"] as? String == "verdict" && $0["to"] as? String == "fail" }?["at"] as? String
            let createdAt = trail.last { ($0["message"] as? String)?.hasSuffix("created") == true }?["at"] as? String
            if let failedAt, let createdAt, let fail = parseRFC3339Test(failedAt), let created = parseRFC3339Test(createdAt) {
                print("fail → Restore created (201 received): \(Int((created - fail) * 1000)) ms")
            }

            // Still failing, reset and failing again: never a second Restore.
            try await Task.sleep(for: .seconds(2))
            #expect(try await escape.gate.call("POST", "/api/v1/windows/podinfo-upgrade/reset").status == 200)
            try await escape.gate.waitForVerdict("podinfo-upgrade", "fail")
            try await Task.sleep(for: .seconds(2))
            #expect(escape.fake.restores.count == 1, "once, never twice")
            let events = try await escape.gate.call("GET", "/api/v1/windows/podinfo-upgrade/events").body
            #expect(events.contains("restore intent") && events.contains("back to the ones recorded at open"), "\(events)")
        }
    }

    @Test func anImageVeleroDidNotRevertIsReportedAsNotRolledBack() async throws {
        try await Escape.run { escape in
            #expect(try await escape.open().status == 201)
            try await escape.gate.waitForVerdict("podinfo-upgrade", "pass")
            escape.upgrade()
            escape.fake.markWontRevert(EscapePlanTests.podinfo)
            try await escape.breakTarget()
            try await escape.waitForRestorePhase("podinfo-upgrade", "Completed")
            let body = try await escape.waitForVerification("podinfo-upgrade")
            let notRolledBack = (body["notRolledBack"] as? [String] ?? []).joined()
            #expect(notRolledBack.contains("podinfo") && notRolledBack.contains("6.6.0") && notRolledBack.contains("6.5.0"), "\(body)")
            #expect(escape.gate.log.contains("NOT rolled back"), "the gate log says what was not rolled back")
        }
    }

    @Test func aFailedBackupFailsTheWindowAndNothingIsRestored() async throws {
        try await Escape.run { escape in
            escape.fake.scriptBackupPhases(["InProgress", "Failed"], failureReason: "backup storage location default is unavailable")
            #expect(try await escape.open().status == 201)
            try await escape.gate.waitForVerdict("podinfo-upgrade", "fail")
            let gate = try await escape.gate.gate("podinfo-upgrade")
            #expect((gate["reasons"] as? [String])?.contains { $0.contains("pre-upgrade backup failed") } == true, "\(gate)")
            try await Task.sleep(for: .seconds(2))
            #expect(escape.fake.restores.isEmpty, "no usable backup: no restore")
        }
    }

    @Test func confirmRolloutWaitsForTheBackup() async throws {
        try await Escape.run { escape in
            // Each Velero phase lasts 8 s: longer than a loaded machine needs to answer the first hook, which must see
            // the backup still in progress.
            escape.fake.setPhaseStep(.seconds(8))
            let payload =
                #"{"name":"podinfo","namespace":"prod","phase":"Waiting","checksum":"abc","metadata":{"window":"canary","label.job":"demo"}}"#
            let first = try await escape.gate.call("POST", "/api/v1/flagger/confirm-rollout", body: payload)
            #expect(first.status == 403 && first.body.contains("waiting for pre-upgrade backup"), "\(first)")
            try await eventually(timeout: .seconds(120), "confirm-rollout to allow once the backup completed") {
                try await escape.gate.call("POST", "/api/v1/flagger/confirm-rollout", body: payload).status == 200
            }
        }
    }

    @Test func inconclusiveNeverRestores() async throws {
        try await Escape.run { escape in
            #expect(try await escape.open().status == 201)
            try await escape.gate.waitForVerdict("podinfo-upgrade", "pass")
            await escape.stack.prometheus.process.stop()
            try await escape.gate.waitForVerdict("podinfo-upgrade", "inconclusive")
            try await Task.sleep(for: .seconds(3))
            #expect(escape.fake.restores.isEmpty)
        }
    }

    @Test func killNineBetweenIntentAndRequestStillMakesExactlyOneRestore() async throws {
        try await Escape.run { escape in
            #expect(try await escape.open().status == 201)
            try await escape.gate.waitForVerdict("podinfo-upgrade", "pass")
            // The create hangs on the wire: the intent is persisted, the request not answered.
            escape.fake.stall(for: .seconds(120), requests: 1, path: Self.restoresPath)
            try await escape.breakTarget()
            try await eventually("the restore intent to be recorded") { try await escape.restore("podinfo-upgrade")["phase"] as? String == "intent" }
            escape.gate.kill9()
            #expect(escape.fake.restores.isEmpty)
            try await escape.gate.launch()
            try await escape.waitForRestorePhase("podinfo-upgrade", "Completed")
            #expect(escape.fake.restores.count == 1)
        }
    }

    @Test func killNineBetweenRequestAndRecordStillMakesExactlyOneRestore() async throws {
        try await Escape.run { escape in
            #expect(try await escape.open().status == 201)
            try await escape.gate.waitForVerdict("podinfo-upgrade", "pass")
            // The API stores the Restore but the answer never arrives: the retry after restart gets 409.
            escape.fake.stall(for: .seconds(120), requests: 1, afterHandling: true, path: Self.restoresPath)
            try await escape.breakTarget()
            try await eventually("the Restore to exist in the API") { escape.fake.restores.count == 1 }
            escape.gate.kill9()
            try await escape.gate.launch()
            try await escape.waitForRestorePhase("podinfo-upgrade", "Completed")
            #expect(escape.fake.restores.count == 1)
            let conflicts = escape.fake.requests.filter { $0.method == "POST" && $0.path == Self.restoresPath && $0.status == 409 }
            #expect(!conflicts.isEmpty, "the retry was answered 409 AlreadyExists: \(escape.fake.requests)")
        }
    }

    @Test func apiServerErrorsAreRetriedAndARotatedTokenIsPickedUp() async throws {
        try await Escape.run { escape in
            #expect(try await escape.open().status == 201)
            try await escape.gate.waitForVerdict("podinfo-upgrade", "pass")
            escape.fake.rotateToken("sa-token-2")
            try escape.account.write(token: "sa-token-2")
            escape.fake.failNext(3, status: 500, path: Self.restoresPath, method: "POST")
            try await escape.breakTarget()
            try await escape.waitForRestorePhase("podinfo-upgrade", "Completed")
            #expect(escape.fake.restores.count == 1)
            #expect(escape.fake.requests.contains { $0.status == 401 }, "the old token was refused once, then re-read")
            #expect(!escape.gate.log.contains("sa-token"), "tokens never reach the log")
        }
    }

    @Test func dryRunRecordsTheObjectItWouldCreate() async throws {
        try await Escape.run(mode: "dry-run") { escape in
            #expect(try await escape.open().status == 201)
            try await escape.gate.waitForVerdict("podinfo-upgrade", "pass")
            try await escape.breakTarget()
            try await escape.waitForRestorePhase("podinfo-upgrade", "dry-run")
            let events = try await escape.gate.call("GET", "/api/v1/windows/podinfo-upgrade/events").body
            #expect(events.contains("would create Restore") && events.contains("existingResourcePolicy: update"), "\(events)")
            #expect(escape.fake.restores.isEmpty)
            #expect(try await escape.gate.call("POST", "/api/v1/windows/podinfo-upgrade/restore").status == 409)
        }
    }

    @Test func manualModeWaitsForTheOperator() async throws {
        try await Escape.run(mode: "manual") { escape in
            #expect(try await escape.open().status == 201)
            try await escape.gate.waitForVerdict("podinfo-upgrade", "pass")
            try await escape.breakTarget()
            try await escape.gate.waitForVerdict("podinfo-upgrade", "fail")
            try await Task.sleep(for: .seconds(2))
            #expect(escape.fake.restores.isEmpty, "manual: nothing until asked")
            #expect(try await escape.gate.call("POST", "/api/v1/windows/podinfo-upgrade/restore", token: .some(nil)).status == 401)
            let accepted = try await escape.gate.call("POST", "/api/v1/windows/podinfo-upgrade/restore")
            #expect(accepted.status == 202, "\(accepted)")
            try await escape.waitForRestorePhase("podinfo-upgrade", "Completed")
            #expect(try await escape.gate.call("POST", "/api/v1/windows/podinfo-upgrade/restore").status == 409)
            #expect(escape.fake.restores.count == 1)
            #expect(try await escape.gate.call("POST", "/api/v1/windows/nope/restore").status == 404)
        }
    }
}

private func parseRFC3339Test(_ text: String) -> Double? {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.date(from: text)?.timeIntervalSince1970
}
