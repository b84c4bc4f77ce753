import GateCore
import GateSources
import Testing

@testable import GateServer

/// What a replica accepts as a window's state from an UpgradeWindow's status: only what the gate itself could have
/// written there. Anyone with `upgradewindows/status` RBAC can write that field.
@Suite struct UpgradeWindowCodingTests {
    static let id = "a1b2c3d4e5"

    static func record(name: String = "podinfo-upgrade", id: String = Self.id, backup: String? = nil, created: Bool = true) -> WindowRecord {
        WindowRecord(
            id: id,
            request: WindowRequest(name: name, namespaces: ["prod"]),
            checks: [],
            openedAt: 1_800_000_000,
            soak: 60,
            duration: 3600,
            backup: BackupState(
                name: backup ?? veleroObjectName(window: name, id: id, suffix: "pre"),
                created: created,
                requestedAt: 1_800_000_000
            )
        )
    }

    /// An object named `podinfo-upgrade` with status id `id`, whose `status.gate` holds `record`.
    static func object(holding record: WindowRecord, specBackup: String? = nil) -> KubernetesObject {
        let baseline = WindowBaseline(capturedAt: 0, start: 0, end: 0, checks: [:])
        return KubernetesObject(
            .object([
                "metadata": .object(["name": .string("podinfo-upgrade")]),
                "spec": .object(specBackup.map { ["backup": .object(["name": .string($0)])] } ?? [:]),
                "status": .object([
                    "id": .string(Self.id),
                    "gate": .object([
                        "record": .string(UpgradeWindowCoding.json(record)),
                        "baseline": .string(UpgradeWindowCoding.json(baseline)),
                    ]),
                ]),
            ])
        )
    }

    @Test func theGatesOwnStateIsRead() throws {
        let window = try UpgradeWindowCoding.storedWindow(Self.object(holding: Self.record()))
        #expect(window?.record.name == "podinfo-upgrade")
        // An existing Backup the request named keeps its own name.
        let existing = try UpgradeWindowCoding.storedWindow(
            Self.object(holding: Self.record(backup: "nightly-2026-12-03", created: false), specBackup: "nightly-2026-12-03")
        )
        #expect(existing?.record.backup?.name == "nightly-2026-12-03")
    }

    @Test(arguments: [
        ("another window's record", Self.record(name: "other")),
        ("another id", Self.record(id: "zzzzzzzzzz")),
        ("a Backup the gate would not name so", Self.record(backup: "someone-elses-backup")),
        ("an existing Backup the spec does not name", Self.record(backup: "kube-system-2025", created: false)),
    ])
    func aStatusTheGateCouldNotHaveWrittenIsRefused(_ row: (String, WindowRecord)) {
        #expect(throws: UpgradeWindowCoding.UnreadableWindow.self, "\(row.0)") {
            try UpgradeWindowCoding.storedWindow(Self.object(holding: row.1))
        }
    }

    @Test func statusAlertsAreBoundedFailingFirstAndAlwaysHaveAFingerprint() {
        let long = String(repeating: "x", count: 5000)
        let findings = (0..<300).map { index in
            AlertFinding(
                alert: Alert(labels: Labels(["alertname": "A\(index)", "pod": long]), startsAt: 1_800_000_000),
                inGrace: index % 2 == 0,
                reason: "r"
            )
        }
        let entries = UpgradeWindowCoding.alertEntries(findings)
        #expect(!entries.isEmpty && entries.count <= 200)
        #expect(entries.reduce(0) { $0 + $1.encoded().count } <= 100_000)
        #expect(entries.first?["failing"]?.boolValue == true, "failing alerts first")
        #expect(entries.allSatisfy { ($0["labels"]?["pod"]?.stringValue?.unicodeScalars.count ?? 0) <= 1024 }, "the CRD counts characters")
        #expect(entries.allSatisfy { ($0["fingerprint"]?.stringValue?.isEmpty ?? true) == false })
        // The API server counts code points: a value of combining characters is cut by those, not by what Swift
        // counts as characters, or every status write of the window would be refused.
        let combining = String(repeating: "e\u{301}", count: 1024)
        let odd = UpgradeWindowCoding.alertEntries([
            AlertFinding(alert: Alert(labels: Labels(["alertname": combining, "x": combining]), startsAt: 0), inGrace: false, reason: "r")
        ])
        #expect((odd.first?["labels"]?["x"]?.stringValue?.unicodeScalars.count ?? .max) <= 1024)
        #expect((odd.first?["alertname"]?.stringValue?.unicodeScalars.count ?? .max) <= 256)
        // Without Alertmanager's fingerprint, the label set's: the same alert gets the same one every write.
        #expect(UpgradeWindowCoding.alertEntries(findings).first?["fingerprint"] == entries.first?["fingerprint"])
    }
}
