import Testing

@testable import GateConfig

/// The `ha` section: defaults, overrides, and timings that could not keep one leader.
@Suite struct HAConfigTests {
    static let prometheus = "prometheus: {url: http://127.0.0.1:9090}\nauth: {tokenFile: /var/run/secrets/upgrade-gate/token}\n"

    @Test func absentSectionMeansOneReplica() throws {
        #expect(try GateConfigLoader.parse(yaml: Self.prometheus).ha == nil)
    }

    @Test func emptySectionGetsClientGoDefaults() throws {
        let ha = try #require(try GateConfigLoader.parse(yaml: Self.prometheus + "ha: {}\n").ha)
        #expect(ha.namespace == "upgrade-gate")
        #expect(ha.lease == LeaseConfig(name: "upgrade-gate", duration: 15, renewDeadline: 10, retryPeriod: 2))
        #expect(ha.line == 3)
    }

    @Test func everyKeyIsRead() throws {
        let yaml =
            Self.prometheus + """
                ha:
                  namespace: gates
                  lease: {name: gate-leader, duration: 30s, renewDeadline: 20s, retryPeriod: 500ms}
                """
        let ha = try #require(try GateConfigLoader.parse(yaml: yaml).ha)
        #expect(ha.namespace == "gates")
        #expect(ha.lease == LeaseConfig(name: "gate-leader", duration: 30, renewDeadline: 20, retryPeriod: 0.5))
    }

    @Test(arguments: [
        ("lease: {renewDeadline: 15s}", "ha.lease.renewDeadline", 5, "renewDeadline (15s) must be shorter than duration (15s)"),
        ("lease: {duration: 8s}", "ha.lease.duration", 5, "renewDeadline (10s) must be shorter than duration (8s)"),
        ("lease: {retryPeriod: 10s}", "ha.lease.retryPeriod", 5, "retryPeriod (10s) must be shorter than renewDeadline (10s)"),
        ("lease: {duration: 1500ms}", "ha.lease.duration", 5, "the lease duration must be a whole number of seconds"),
        ("namespace: Upgrade_Gate", "ha.namespace", 5, "DNS"),
        ("lease: {nmae: x}", "ha.lease.nmae", 5, "unknown key"),
    ])
    func badSettingsNameTheirKeyAndLine(setting: String, path: String, line: Int, message: String) throws {
        let errors = parseErrors(Self.prometheus + "\nha:\n  \(setting)\n")
        #expect(errors.count == 1, "\(errors)")
        let error = try #require(errors.first)
        #expect(error.path == path)
        #expect(error.line == line)
        #expect(error.message.contains(message), "\(error.message)")
    }
}
