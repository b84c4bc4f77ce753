import Testing

@testable import GateSources

@Suite("Velero object names, durations and phases")
struct VeleroNamesTests {
    @Test(arguments: [
        ("cert-manager", "7f3a9c", "pre", "cert-manager-7f3a9c-pre"),
        ("cert-manager", "7f3a9c", "rollback", "cert-manager-7f3a9c-rollback"),
        ("etcd", "a1", "rollback", "etcd-a1-rollback"),
    ])
    func shortWindowNamesAreKeptWhole(window: String, id: String, suffix: String, expected: String) {
        #expect(veleroObjectName(window: window, id: id, suffix: suffix) == expected)
    }

    @Test func longestWindowNameIsTruncatedToFitSixtyThreeCharacters() {
        let window = String(repeating: "a", count: 63)
        let name = veleroObjectName(window: window, id: "7f3a9c", suffix: "rollback")
        #expect(name.count == 63)
        #expect(name == String(repeating: "a", count: 47) + "-7f3a9c-rollback")
        #expect(isDNS1123Label(name))
    }

    @Test func truncationNeverLeavesTheWindowPartEndingInADash() {
        // 47 characters fit before "-7f3a9c-rollback"; the 47th is a dash.
        let window = String(repeating: "b", count: 46) + "-" + String(repeating: "c", count: 16)
        let name = veleroObjectName(window: window, id: "7f3a9c", suffix: "rollback")
        #expect(name == String(repeating: "b", count: 46) + "-7f3a9c-rollback")
        #expect(!name.contains("--"))
        #expect(isDNS1123Label(name))

        let dashes = "x" + String(repeating: "-", count: 62)
        #expect(veleroObjectName(window: dashes, id: "id", suffix: "pre") == "x-id-pre")
    }

    @Test func preAndRollbackNamesOfOneWindowShareTheirPrefix() {
        let window = "kube-prometheus-stack-upgrade-to-the-next-major-release-v58"
        let backup = veleroObjectName(window: window, id: "0c1d2e", suffix: "pre")
        let restore = veleroObjectName(window: window, id: "0c1d2e", suffix: "rollback")
        #expect(backup.count <= 63 && restore.count <= 63)
        #expect(isDNS1123Label(backup) && isDNS1123Label(restore))
        #expect(restore.hasSuffix("-0c1d2e-rollback"))
        #expect(backup.hasSuffix("-0c1d2e-pre"))
    }

    @Test func charactersALabelCannotHoldBecomeDashes() {
        #expect(veleroObjectName(window: "Cert_Manager", id: "ID.1", suffix: "pre") == "cert-manager-id-1-pre")
        #expect(veleroObjectName(window: "", id: "7f3a9c", suffix: "pre") == "7f3a9c-pre")
    }

    @Test(arguments: [
        (259_200.0, "72h0m0s"), (3600, "1h0m0s"), (90, "1m30s"), (60, "1m0s"), (5, "5s"), (1.5, "1.5s"), (0.25, "250ms"),
        (0, "0s"), (0.000_001_5, "1.5µs"), (5400.5, "1h30m0.5s"),
    ])
    func ttlIsFormattedAsAGoDuration(seconds: Double, expected: String) {
        #expect(goDuration(seconds: seconds) == expected)
    }

    @Test(arguments: VeleroPhase.allCases)
    func onlyFinalPhasesAreTerminalAndOnlyCompletedIsSuccess(_ phase: VeleroPhase) {
        let terminal: Set<VeleroPhase> = [.completed, .partiallyFailed, .failed, .failedValidation, .deleting]
        #expect(phase.isTerminal == terminal.contains(phase))
        #expect(phase.isSuccess == (phase == .completed))
    }

    @Test func everyPhaseTheCRDsEnumerateIsKnown() {
        let backupPhases = [
            "New", "Queued", "ReadyToStart", "FailedValidation", "InProgress", "WaitingForPluginOperations",
            "WaitingForPluginOperationsPartiallyFailed", "Finalizing", "FinalizingPartiallyFailed", "Completed", "PartiallyFailed", "Failed",
            "Deleting",
        ]
        for phase in backupPhases { #expect(VeleroPhase(phase: phase) != .unknown, "\(phase)") }
        #expect(VeleroPhase(phase: nil) == .unknown)
        #expect(VeleroPhase(phase: "SomethingNew") == .unknown)
        #expect(!VeleroPhase.unknown.isTerminal)
    }

    @Test func statusWithoutPhaseIsUnknownAndCountsDefaultToZero() {
        let object = KubernetesObject(["metadata": ["name": "b"], "spec": [:]])
        #expect(VeleroClient.status(of: object) == VeleroStatus(phase: .unknown))
        let failed = KubernetesObject([
            "status": ["phase": "FailedValidation", "validationErrors": ["Invalid included/excluded namespace lists"], "failureReason": ""]
        ])
        #expect(
            VeleroClient.status(of: failed) == VeleroStatus(phase: .failedValidation, validationErrors: ["Invalid included/excluded namespace lists"])
        )
    }
}

/// Whether `text` is a DNS-1123 label.
private func isDNS1123Label(_ text: String) -> Bool {
    guard let first = text.first, let last = text.last, text.count <= 63 else { return false }
    return text.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" } && first != "-" && last != "-"
}
