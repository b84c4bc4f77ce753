import Testing

@testable import GateConfig

/// The `auth`, `limits` and `retention` sections: fail closed, scoped tokens, bounded resources.
@Suite struct AuthConfigTests {
    static let base = "prometheus: {url: http://prometheus:9090}\n"

    func errors(_ yaml: String) -> [ConfigError] {
        do {
            _ = try GateConfigLoader.parse(yaml: yaml)
            Issue.record("parsed without errors: \(yaml)")
            return []
        } catch {
            return error.errors
        }
    }

    @Test func withoutAnAuthSectionTheGateRefusesToStart() {
        let found = errors(Self.base)
        #expect(found.map(\.path) == ["auth"])
        #expect(found.first?.kind == .missingKey)
        #expect(found.first?.message.contains("disabled: true only on a loopback listen") == true)
    }

    @Test func scopedTokensAreReadWithTheirNamesAndScopes() throws {
        let config = try GateConfigLoader.parse(
            yaml: Self.base + """
                auth:
                  tokens:
                    - {name: pipelines, file: /s/pipelines, scopes: [windows]}
                    - {name: ops, file: /s/ops, scopes: [windows, alerts, flagger]}
                """
        )
        #expect(
            config.auth.tokens == [
                TokenConfig(name: "pipelines", file: "/s/pipelines", scopes: [.windows]),
                TokenConfig(name: "ops", file: "/s/ops", scopes: [.windows, .alerts, .flagger]),
            ]
        )
    }

    @Test func tokenFileIsOneTokenWithEveryScope() throws {
        let config = try GateConfigLoader.parse(yaml: Self.base + "auth: {tokenFile: /s/token}\n")
        #expect(config.auth.tokens == [TokenConfig(name: "default", file: "/s/token", scopes: Set(TokenScope.allCases))])
    }

    @Test(arguments: ["127.0.0.1:8080", "[::1]:8080", "localhost:9000", "127.1.2.3:80"])
    func authCanBeDisabledOnlyOnALoopbackListen(listen: String) throws {
        let config = try GateConfigLoader.parse(yaml: Self.base + "listen: \"\(listen)\"\nauth: {disabled: true}\n")
        #expect(config.auth.disabled && config.auth.tokens.isEmpty)
    }

    @Test(arguments: ["0.0.0.0:8080", ":8080", "10.0.0.1:8080", "[::]:8080", "127.0.0.1.example.com:80"])
    func disablingAuthOnANetworkListenIsAConfigError(listen: String) {
        let found = errors(Self.base + "listen: \"\(listen)\"\nauth: {disabled: true}\n")
        #expect(found.map(\.path) == ["auth.disabled"], "\(found)")
        #expect(found.first?.kind == .conflict)
    }

    @Test func badTokenEntriesNameTheirField() {
        let cases: [(String, String)] = [
            ("auth: {tokens: [{name: a, file: /s/a, scopes: [admin]}]}", "auth.tokens[0].scopes[0]"),
            ("auth: {tokens: [{name: a, file: /s/a, scopes: []}]}", "auth.tokens[0].scopes"),
            ("auth: {tokens: [{name: a, scopes: [windows]}]}", "auth.tokens[0].file"),
            ("auth: {tokens: [{name: Bad_Name, file: /s/a, scopes: [windows]}]}", "auth.tokens[0].name"),
            ("auth: {tokens: [{name: a, file: /s/a, scopes: [windows]}, {name: a, file: /s/b, scopes: [alerts]}]}", "auth.tokens[1].name"),
            ("auth: {tokens: [], tokenFile: /s/t}", "auth.tokens"),
            ("auth: {tokenFile: /s/t, tokens: [{name: a, file: /s/a, scopes: [windows]}]}", "auth.tokenFile"),
            ("auth: {}", "auth.tokens"),
            ("auth: {token: abc}", "auth.token"),
        ]
        for (yaml, path) in cases {
            let found = errors(Self.base + "flagger: {requireToken: false}\n" + yaml + "\n")
            #expect(found.map(\.path).contains(path), "\(yaml): \(found)")
        }
    }

    @Test func requireTokenNeedsATokenWithTheFlaggerScope() throws {
        let yaml = Self.base + "auth: {tokens: [{name: a, file: /s/a, scopes: [windows]}]}\n"
        #expect(errors(yaml).map(\.path) == ["flagger.requireToken"])
        #expect(try GateConfigLoader.parse(yaml: yaml + "flagger: {requireToken: false}\n").flagger.requireToken == false)
    }

    @Test func limitsAndRetentionAreReadAndBounded() throws {
        let config = try GateConfigLoader.parse(
            yaml: Self.base + """
                auth: {tokenFile: /s/t}
                limits: {maxHookBodyBytes: 1024, idleTimeout: 5s, maxConnections: 10, maxEventMessageBytes: 256}
                retention: {closedWindows: 1d, eventsPerWindow: 5, alertGroups: 1h}
                """
        )
        #expect(config.limits.maxHookBodyBytes == 1024 && config.limits.idleTimeout == 5 && config.limits.maxConnections == 10)
        #expect(config.limits.maxEventMessageBytes == 256)
        #expect(config.retention == RetentionConfig(closedWindows: 86_400, eventsPerWindow: 5, alertGroups: 3600))
        let bad = errors(
            Self.base + "auth: {tokenFile: /s/t}\nlimits: {idleTimeout: 0s, maxEventMessageBytes: 10}\nretention: {eventsPerWindow: 0}\n"
        )
        #expect(bad.map(\.path) == ["limits.idleTimeout", "limits.maxEventMessageBytes", "retention.eventsPerWindow"])
    }

    @Test func insecureSettingsAreNamedInStartupWarnings() throws {
        let config = try GateConfigLoader.parse(
            yaml: """
                prometheus: {url: http://prometheus:9090, bearerTokenFile: /s/p, tls: {insecureSkipVerify: true}}
                kubernetes: {apiServer: http://127.0.0.1:6443}
                auth: {tokenFile: /s/t}
                """
        )
        let warnings = config.securityWarnings
        #expect(warnings.count == 3, "\(warnings)")
        #expect(warnings.contains { $0.contains("insecureSkipVerify") })
        #expect(warnings.contains { $0.contains("bearerTokenFile") && $0.contains("plain http") })
        #expect(warnings.contains { $0.contains("kubernetes.apiServer") })
        let quiet = try GateConfigLoader.parse(yaml: "prometheus: {url: https://p:9090, bearerTokenFile: /s/p}\nauth: {tokenFile: /s/t}\n")
        #expect(quiet.securityWarnings.isEmpty)
    }
}
