import Foundation
import GateCore
import Testing

@testable import GateConfig

/// Configurations that load, and the values they load to.
@Suite struct ValidConfigs {
    @Test func specExampleParsesToTheValuesItSpells() throws {
        let config = try loadFixture("config-full.yaml")

        #expect(config.listen == ListenAddress(host: "0.0.0.0", port: 8080))
        #expect(config.state == "./upgrade-gate.sqlite")

        #expect(config.prometheus.url == "http://prometheus.monitoring.svc:9090")
        #expect(config.prometheus.timeout == 10)
        #expect(config.prometheus.bearerTokenFile == "...")
        #expect(config.prometheus.basicAuth == nil)
        #expect(config.prometheus.tls == TLSConfig(caFile: "...", certFile: "...", keyFile: "...", insecureSkipVerify: false))

        let alertmanager = try #require(config.alertmanager)
        #expect(alertmanager.url == "http://alertmanager.monitoring.svc:9093")
        #expect(alertmanager.matchers == [LabelMatcher(name: "severity", op: .regexMatch, value: "critical|warning")])
        #expect(
            alertmanager.ignore == [
                [LabelMatcher(name: "alertname", op: .equal, value: "Watchdog")],
                [LabelMatcher(name: "alertname", op: .equal, value: "KubeVersionMismatch")],
            ]
        )
        #expect(alertmanager.grace == 0)

        #expect(
            config.auth.tokens == [
                TokenConfig(name: "pipelines", file: "/var/run/secrets/upgrade-gate/pipelines", scopes: [.windows]),
                TokenConfig(name: "alertmanager", file: "/var/run/secrets/upgrade-gate/alertmanager", scopes: [.alerts]),
                TokenConfig(name: "flagger", file: "/var/run/secrets/upgrade-gate/flagger", scopes: [.flagger]),
            ]
        )
        #expect(!config.auth.disabled)
        #expect(config.evaluation == EvaluationConfig(interval: 15, warmup: 60, failAfter: 2))
        #expect(config.baseline == BaselineConfig(lookback: 1800, aggregate: .mean))

        #expect(config.windows.duration == 4 * 3600)
        #expect(config.windows.soak == 30 * 60)
        #expect(config.windows.policy.patch?.soak == 900.0)
        #expect(config.windows.policy.minor?.soak == 3600)
        #expect(config.windows.policy.major?.soak == 1_209_600.0)
        #expect(config.windows.soak(for: .major) == 336 * 3600)
        #expect(config.windows.soak(for: nil) == 30 * 60)

        #expect(config.checks.map(\.name) == ["critical-targets-up", "etcd-leader-changes", "apiserver-error-ratio"])
        let targets = config.checks[0]
        #expect(targets.queryTemplate == #"up{namespace="{{namespace}}"}"#)
        #expect(targets.templateLabels == ["namespace"])
        #expect(targets.min == 1 && targets.max == nil)
        #expect(targets.missingSeries == .fail && targets.critical)
        let etcd = config.checks[1]
        #expect(etcd.counter && etcd.maxIncrease == .absolute(1) && etcd.critical)
        let ratio = config.checks[2]
        #expect(ratio.queryTemplate == #"sum(rate(apiserver_request_total{code=~"5.."}[2m])) / sum(rate(apiserver_request_total[2m]))"#)
        #expect(ratio.templateLabels.isEmpty)
        #expect(ratio.maxIncrease == .percent(50))
        #expect(ratio.max == 0.05 && ratio.floor == 0.001)
        #expect(ratio.noData == .inconclusive && !ratio.critical && !ratio.counter)

        #expect(config.kubernetes == KubernetesConfig(apiServer: "https://127.0.0.1:6443", tokenFile: "...", caFile: "..."))
        let velero = try #require(config.velero)
        #expect(velero.namespace == "velero")
        #expect(
            velero.backup
                == VeleroBackupConfig(onOpen: true, ttl: 72 * 3600, storageLocation: "default", waitTimeout: 15 * 60, required: true)
        )
        #expect(velero.restore == VeleroRestoreConfig(mode: .auto, existingResourcePolicy: .update, restorePVs: false, verify: true))
        #expect(config.flagger == FlaggerConfig(autoOpen: true, requireToken: true))
        #expect(
            config.limits
                == LimitsConfig(maxBodyBytes: 1_048_576, maxHookBodyBytes: 65_536, maxOpenWindows: 50, idleTimeout: 60, maxEventMessageBytes: 4096)
        )
        #expect(config.retention == RetentionConfig(closedWindows: 30 * 86_400, eventsPerWindow: 1000, alertGroups: 7 * 86_400))
    }

    @Test func minimalConfigGetsEveryDefault() throws {
        let config = try loadFixture("config-minimal.yaml")
        let expected = GateConfig(
            prometheus: PrometheusConfig(url: "http://prometheus:9090"),
            auth: AuthConfig(tokenFile: "/var/run/secrets/upgrade-gate/token"),
            checks: [CheckConfig(name: "targets-up", queryTemplate: "up", min: 1)]
        )
        #expect(config == expected)

        // The defaults themselves, spelled out as docs/configuration.md lists them (they live in the initialisers).
        #expect(config.listen.description == "0.0.0.0:8080")
        #expect(config.state == "./upgrade-gate.sqlite")
        #expect(config.prometheus.timeout == 10)
        #expect(config.prometheus.bearerTokenFile == nil && config.prometheus.basicAuth == nil)
        #expect(config.prometheus.tls == TLSConfig(caFile: nil, certFile: nil, keyFile: nil, insecureSkipVerify: false))
        #expect(config.alertmanager == nil && config.kubernetes == nil && config.velero == nil)
        #expect(config.evaluation.interval == 15 && config.evaluation.warmup == 60 && config.evaluation.failAfter == 2)
        #expect(config.baseline.lookback == 1800 && config.baseline.aggregate == .mean)
        #expect(config.windows.duration == 14_400 && config.windows.soak == 1800 && config.windows.policy == WindowPolicy())
        #expect(config.flagger.autoOpen && config.flagger.requireToken)
        #expect(config.limits.maxBodyBytes == 1_048_576 && config.limits.maxOpenWindows == 50)
        #expect(config.limits.maxHookBodyBytes == 65_536 && config.limits.idleTimeout == 60 && config.limits.maxConnections == 1024)
        #expect(config.limits.maxEventMessageBytes == 4096)
        #expect(config.retention.closedWindows == 2_592_000 && config.retention.eventsPerWindow == 1000 && config.retention.alertGroups == 604_800)
        let check = config.checks[0]
        #expect(check.max == nil && check.maxIncrease == nil && check.maxDecrease == nil && check.floor == nil)
        #expect(!check.counter && check.missingSeries == .fail && check.noData == .inconclusive && check.critical)
    }

    @Test func emptySectionsEnableTheirDefaults() throws {
        let config = try GateConfigLoader.parse(yaml: minimalYAML("velero:\nalertmanager: {}\nkubernetes:\n"))
        #expect(config.velero == VeleroConfig())
        #expect(config.velero?.backup.onOpen == true && config.velero?.restore.mode == .auto)
        #expect(config.alertmanager == AlertmanagerConfig())
        #expect(config.kubernetes == KubernetesConfig())
    }

    @Test func veleroSectionOverridesOnlyWhatItSets() throws {
        let yaml = minimalYAML(
            """
            velero:
              namespace: backups
              backup: {onOpen: false, ttl: 1d}
              restore: {mode: dry-run, existingResourcePolicy: none}
            """
        )
        let velero = try #require(try GateConfigLoader.parse(yaml: withAuth(yaml)).velero)
        #expect(velero.namespace == "backups")
        #expect(velero.backup == VeleroBackupConfig(onOpen: false, ttl: 86_400))
        #expect(velero.restore == VeleroRestoreConfig(mode: .dryRun, existingResourcePolicy: ExistingResourcePolicy.none))
    }

    @Test func basicAuthAndClientCertificateAreRecordedAsPaths() throws {
        let yaml = """
            prometheus:
              url: https://prometheus.example:9090/prom/
              basicAuth: {username: gate, passwordFile: /secrets/password}
              tls: {certFile: /tls/client.pem, keyFile: /tls/client.key, insecureSkipVerify: true}
            """
        let prometheus = try GateConfigLoader.parse(yaml: withAuth(yaml)).prometheus
        #expect(prometheus.url == "https://prometheus.example:9090/prom")
        #expect(prometheus.basicAuth == BasicAuthConfig(username: "gate", passwordFile: "/secrets/password"))
        #expect(prometheus.tls == TLSConfig(certFile: "/tls/client.pem", keyFile: "/tls/client.key", insecureSkipVerify: true))
    }

    @Test func yamlMergeKeysShareSettingsBetweenChecks() throws {
        let yaml = """
            prometheus: {url: http://prometheus:9090}
            checks:
              - &errors
                name: api-errors
                query: job:errors:ratio5m
                maxIncrease: 50%
                floor: 0.001
                critical: false
              - <<: *errors
                name: web-errors
                query: web:errors:ratio5m
            """
        let checks = try GateConfigLoader.parse(yaml: withAuth(yaml)).checks
        #expect(checks.count == 2)
        #expect(
            checks[1]
                == CheckConfig(name: "web-errors", queryTemplate: "web:errors:ratio5m", maxIncrease: .percent(50), floor: 0.001, critical: false)
        )
    }

    @Test func checksMayBeLeftOutForAnAlertsOnlyGate() throws {
        let config = try GateConfigLoader.parse(yaml: withAuth("prometheus: {url: http://prometheus:9090}\n"))
        #expect(config.checks.isEmpty)
    }

    static let deltas: [(written: String, expected: Delta)] = [
        ("50%", .percent(50)), ("0%", .percent(0)), ("12.5%", .percent(12.5)), ("\"0.002\"", .absolute(0.002)),
        ("0.002", .absolute(0.002)), ("1", .absolute(1)), ("'3'", .absolute(3)),
    ]

    @Test(arguments: deltas)
    func relativeRulesAcceptPercentagesAndAbsoluteDeltas(written: String, expected: Delta) throws {
        let yaml = "prometheus: {url: http://p:9090}\nchecks:\n  - {name: c, query: q, maxDecrease: \(written)}\n"
        #expect(try GateConfigLoader.parse(yaml: withAuth(yaml)).checks[0].maxDecrease == expected)
    }

    static let listenForms: [(text: String, host: String, port: Int)] = [
        ("0.0.0.0:8080", "0.0.0.0", 8080), (":9000", "0.0.0.0", 9000), ("[::1]:8080", "::1", 8080), ("localhost:0", "localhost", 0),
        ("127.0.0.1:65535", "127.0.0.1", 65535), ("[::]:80", "::", 80),
    ]

    @Test(arguments: listenForms)
    func listenAcceptsHostPortForms(text: String, host: String, port: Int) throws {
        let address = try ListenAddress(parsing: text)
        #expect(address == ListenAddress(host: host, port: port))
        #expect(try ListenAddress(parsing: address.description) == address)
    }

    @Test(arguments: ["8080", "localhost", "0.0.0.0:65536", "0.0.0.0:-1", "::1:8080", "[::1]8080", "[::1", "host:http", "a b:80", "[127.0.0.1]:80"])
    func listenRejectsMalformedAddresses(text: String) {
        #expect(throws: ConfigError.self) { try ListenAddress(parsing: text) }
    }
}

/// One bad-config fixture and the single error it must produce.
struct BadFixture: Sendable, CustomTestStringConvertible {
    /// The fixture's file name.
    var file: String
    /// The key path the error must name.
    var path: String
    /// The line the error must point at.
    var line: Int?
    /// The column the error must point at.
    var column: Int?
    /// The kind of the error.
    var kind: ConfigError.Kind
    /// The exact message.
    var message: String

    /// The file name, so that each test case is named after its fixture.
    var testDescription: String { file }
}

/// Configurations that must be refused, each error with its path, line and message.
@Suite struct InvalidConfigs {
    static let fixtures: [BadFixture] =
        compareBadFixtures + [
            BadFixture(
                file: "config-unknown-top-level-key.yaml",
                path: "listne",
                line: 2,
                column: 1,
                kind: .unknownKey,
                message: "unknown key; did you mean \"listen\"?"
            ),
            BadFixture(
                file: "config-unknown-nested-key.yaml",
                path: "prometheus.tiemout",
                line: 4,
                column: 3,
                kind: .unknownKey,
                message: "unknown key; did you mean \"timeout\"?"
            ),
            BadFixture(
                file: "config-bad-duration.yaml",
                path: "evaluation.interval",
                line: 5,
                column: 13,
                kind: .invalidValue,
                message:
                    "expected a Prometheus duration such as \"30s\", \"5m\" or \"1h30m\" (units y, w, d, h, m, s, ms, largest first), got \"15sec\""
            ),
            BadFixture(
                file: "config-wrong-type.yaml",
                path: "checks[0].min",
                line: 7,
                column: 10,
                kind: .wrongType,
                message: "expected a number, got \"one\""
            ),
            BadFixture(
                file: "config-missing-prometheus-url.yaml",
                path: "prometheus.url",
                line: 2,
                column: 1,
                kind: .missingKey,
                message: "missing required key: the Prometheus base URL, e.g. http://prometheus:9090"
            ),
            BadFixture(
                file: "config-duplicate-check-name.yaml",
                path: "checks[1].name",
                line: 8,
                column: 11,
                kind: .duplicate,
                message: "duplicate check name \"targets-up\"; checks[0] on line 5 already uses it"
            ),
            BadFixture(
                file: "config-check-without-rules.yaml",
                path: "checks[0]",
                line: 5,
                column: 5,
                kind: .missingKey,
                message: "a check without a rule can only pass; add at least one of min, max, maxIncrease, maxDecrease, compare"
            ),
            BadFixture(
                file: "config-bad-matcher-regex.yaml",
                path: "alertmanager.matchers[0]",
                line: 5,
                column: 14,
                kind: .invalidValue,
                message: "invalid matcher 'severity=~\"(critical|warning\"': the regular expression \"(critical|warning\" is not valid RE2: "
                    + "missing ): (critical|warning"
            ),
            BadFixture(
                file: "config-bad-matcher-backreference.yaml",
                path: "alertmanager.ignore[0]",
                line: 5,
                column: 12,
                kind: .invalidValue,
                message: #"invalid matcher 'alertname=~"(a+)\\1"': the regular expression "(a+)\1" is not valid RE2: invalid escape sequence: \1"#
            ),
            BadFixture(
                file: "config-alias-bomb.yaml",
                path: "",
                line: 10,
                column: nil,
                kind: .yamlLimit,
                message: "YAML aliases expand to more than 100000 nodes (an alias bomb?); expand anchors by hand or simplify the document"
            ),
            BadFixture(
                file: "config-bad-percent.yaml",
                path: "checks[0].maxIncrease",
                line: 7,
                column: 18,
                kind: .invalidValue,
                message: "a percentage cannot be negative (the rule's name gives the direction), got \"-10%\""
            ),
            BadFixture(
                file: "config-min-greater-than-max.yaml",
                path: "checks[0].min",
                line: 7,
                column: 10,
                kind: .conflict,
                message: "min (10) is greater than max (5); no value could pass"
            ),
            BadFixture(
                file: "config-bad-restore-mode.yaml",
                path: "velero.restore.mode",
                line: 10,
                column: 11,
                kind: .invalidValue,
                message: "expected one of auto, manual, dry-run; got \"automatic\""
            ),
            BadFixture(
                file: "config-bearer-and-basic-auth.yaml",
                path: "prometheus.basicAuth",
                line: 5,
                column: 3,
                kind: .conflict,
                message: "bearerTokenFile and basicAuth cannot both be set; keep one"
            ),
            BadFixture(
                file: "config-bad-listen-port.yaml",
                path: "listen",
                line: 2,
                column: 9,
                kind: .invalidValue,
                message: "the port must be a number from 0 to 65535; expected \"host:port\", \"[ipv6]:port\" or \":port\", got \"0.0.0.0:80800\""
            ),
            BadFixture(
                file: "config-yaml-syntax-error.yaml",
                path: "",
                line: 3,
                column: 7,
                kind: .syntax,
                message: "YAML syntax error: did not find expected ',' or '}' (while parsing a flow mapping at line 2, column 13)"
            ),
            BadFixture(
                file: "config-cert-without-key.yaml",
                path: "prometheus.tls.certFile",
                line: 6,
                column: 5,
                kind: .conflict,
                message: "certFile needs keyFile (the client certificate's key)"
            ),
            BadFixture(
                file: "config-bad-url.yaml",
                path: "prometheus.url",
                line: 3,
                column: 8,
                kind: .invalidValue,
                message: "expected an http:// or https:// URL with a host, got \"prometheus.monitoring.svc:9090\""
            ),
            BadFixture(
                file: "config-fail-after-zero.yaml",
                path: "evaluation.failAfter",
                line: 5,
                column: 14,
                kind: .invalidValue,
                message: "must be at least 1, got 0"
            ),
            BadFixture(
                file: "config-require-token-without-flagger-scope.yaml",
                path: "flagger.requireToken",
                line: 8,
                column: 1,
                kind: .conflict,
                message: "Flagger hooks need a token with the flagger scope (requireToken defaults to true), but no auth.tokens entry has it; "
                    + "add one, or set flagger.requireToken: false"
            ),
            BadFixture(
                file: "config-unclosed-placeholder.yaml",
                path: "checks[0].query",
                line: 6,
                column: 12,
                kind: .invalidValue,
                message: "\"{{\" is never closed with \"}}\" in the query"
            ),
            BadFixture(
                file: "config-bad-check-name.yaml",
                path: "checks[0].name",
                line: 5,
                column: 11,
                kind: .invalidValue,
                message: "must be a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit, "
                    + "at most 63 characters), got \"Targets_Up\""
            ),
            BadFixture(
                file: "config-floor-without-relative-rule.yaml",
                path: "checks[0].floor",
                line: 8,
                column: 5,
                kind: .conflict,
                message: "floor only exempts values from maxIncrease and maxDecrease; add one of them or remove floor"
            ),
            BadFixture(
                file: "config-bad-no-data-policy.yaml",
                path: "checks[0].noData",
                line: 8,
                column: 13,
                kind: .invalidValue,
                message: "expected one of fail, inconclusive, pass, zero; got \"skip\""
            ),
            BadFixture(
                file: "config-zero-max-body-bytes.yaml",
                path: "limits.maxBodyBytes",
                line: 8,
                column: 24,
                kind: .invalidValue,
                message: "must be at least 1, got 0"
            ),
            BadFixture(
                file: "config-checks-not-a-list.yaml",
                path: "checks",
                line: 5,
                column: 3,
                kind: .wrongType,
                message: "expected a list of checks, got a mapping"
            ),
        ]

    @Test(arguments: fixtures)
    func eachBadFixtureReportsExactlyItsOneProblem(_ fixture: BadFixture) throws {
        let errors = try loadErrors(fixture.file).errors
        try #require(errors.count == 1, "\(fixture.file): \(errors)")
        let error = errors[0]
        #expect(error.path == fixture.path)
        #expect(error.line == fixture.line)
        #expect(error.column == fixture.column)
        #expect(error.kind == fixture.kind)
        #expect(error.message == fixture.message)
    }

    @Test func everyBadFixtureIsInTheTable() throws {
        let folder = try #require(Bundle.module.resourceURL?.appendingPathComponent("Fixtures"))
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("config-") }
        let valid: Set = ["config-full.yaml", "config-minimal.yaml", "config-three-problems.yaml"]
        #expect(Set(files).subtracting(valid) == Set(Self.fixtures.map(\.file)))
    }

    @Test func aFileWithThreeProblemsReportsAllThreeInFileOrder() throws {
        let errors = try loadErrors("config-three-problems.yaml")
        #expect(errors.errors.map(\.path) == ["prometheus.timeout", "evaluation.warmpu", "checks[0].min"])
        #expect(errors.errors.map(\.line) == [4, 7, 11])
        #expect(errors.errors.map(\.kind) == [.invalidValue, .unknownKey, .wrongType])
        let lines = errors.description.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[2].hasSuffix("config-three-problems.yaml: line 11, column 10: checks[0].min: expected a number, got \"one\""))
    }

    @Test func anUnreadableFileIsOneErrorNamingTheFile() {
        let path = "/nonexistent/upgrade-gate.yaml"
        let errors = #expect(throws: ConfigErrors.self) { try GateConfigLoader.load(path: path) }
        let message = "cannot read configuration file \"\(path)\": no such file"
        #expect(errors?.errors == [ConfigError(path: "", line: nil, column: nil, message: message, kind: .unreadable)])
        #expect(errors?.source == path)
    }

    @Test func aDirectoryIsNotAConfigFile() throws {
        let folder = try #require(Bundle.module.resourceURL?.appendingPathComponent("Fixtures"))
        let errors = #expect(throws: ConfigErrors.self) { try GateConfigLoader.load(path: folder.path) }
        #expect(errors?.errors.map(\.message) == ["cannot read configuration file \"\(folder.path)\": it is a directory"])
    }

    @Test func errorDescriptionsNameLineColumnPathAndMessage() {
        let error = ConfigError(path: "checks[0].min", line: 12, column: 5, message: "expected a number, got \"one\"", kind: .wrongType)
        #expect(error.description == "line 12, column 5: checks[0].min: expected a number, got \"one\"")
        #expect(ConfigError(path: "prometheus", line: nil, column: nil, message: "missing").description == "prometheus: missing")
        #expect(ConfigError(path: "", line: 3, column: nil, message: "bad").description == "line 3: bad")
        #expect(ConfigError.Kind.unknownKey.label == "unknown_key")
        let all = ConfigErrors(source: "gate.yaml", errors: [error, error])
        #expect(all.description == [String](repeating: "gate.yaml: " + error.description, count: 2).joined(separator: "\n"))
    }

    @Test func anEmptyFileOnlyMissesPrometheus() {
        let errors = parseErrors("# nothing yet\n")
        #expect(errors.map(\.path) == ["prometheus"])
        #expect(errors.first?.kind == .missingKey)
    }

    @Test func aTopLevelListIsOneTypeError() {
        let errors = parseErrors("- prometheus\n")
        #expect(
            errors == [
                ConfigError(
                    path: "",
                    line: 1,
                    column: 1,
                    message: "expected a mapping of configuration keys at the top level, got a list",
                    kind: .wrongType
                )
            ]
        )
    }

    @Test func duplicateYAMLKeysAreReported() {
        let errors = parseErrors(minimalYAML("state: a.sqlite\nstate: b.sqlite\n"))
        #expect(errors.count == 1)
        #expect(errors.first?.kind == .duplicate)
        #expect(errors.first?.message.contains("\"state\"") == true)
    }

    static let badDurations: [(line: String, message: String)] = [
        ("timeout: 10", "a duration needs a unit (ms, s, m, h, d, w, y), e.g. \"10s\"; got 10"),
        ("timeout: 1.5m", "a duration cannot have fractions (write \"1m30s\", not \"1.5m\"), got \"1.5m\""),
        ("timeout: -5s", "a duration cannot be negative, got \"-5s\""),
        ("timeout: 0s", "must be longer than 0s"),
        ("timeout: [10s]", "expected a duration such as \"30s\" or \"1h30m\", got a list"),
        ("timeout:", "expected a duration such as \"30s\" or \"1h30m\", got nothing"),
    ]

    @Test(arguments: badDurations)
    func badDurationsSayWhatIsWrong(line: String, message: String) {
        let errors = parseErrors("prometheus:\n  url: http://p:9090\n  \(line)\n")
        #expect(errors.map(\.message) == [message])
        #expect(errors.first?.path == "prometheus.timeout")
    }

    static let badCheckValues: [(line: String, path: String, message: String)] = [
        ("critical: \"yes\"", "checks[0].critical", "expected true or false, got \"yes\" (quoted, so it is a string: remove the quotes)"),
        ("min: \"1\"", "checks[0].min", "expected a number, got \"1\" (quoted, so it is a string: remove the quotes)"),
        ("min: .inf", "checks[0].min", "must be a finite number, got .inf"),
        ("max: {value: 1}", "checks[0].max", "expected a number, got a mapping"),
        ("maxDecrease: lots", "checks[0].maxDecrease", "expected a percentage such as \"50%\" or an absolute delta such as 0.002, got \"lots\""),
        ("maxDecrease: x%", "checks[0].maxDecrease", "expected a percentage such as \"50%\" or an absolute delta such as 0.002, got \"x%\""),
        ("floor: -1", "checks[0].floor", "must not be negative, got -1"),
        ("missingSeries: keep", "checks[0].missingSeries", "expected one of fail, ignore; got \"keep\""),
    ]

    @Test(arguments: badCheckValues)
    func checkValuesOfTheWrongKindAreNamed(line: String, path: String, message: String) {
        let yaml = "prometheus: {url: http://p:9090}\nchecks:\n  - name: c\n    query: q\n    maxIncrease: 1\n    \(line)\n"
        let errors = parseErrors(yaml)
        #expect(errors.map(\.path) == [path])
        #expect(errors.map(\.message) == [message])
        #expect(errors.map(\.line) == [6])
    }

    static let badTemplates: [(query: String, message: String)] = [
        ("'up{job=\"x\"}} > 0'", "\"}}\" without a matching \"{{\" in the query"),
        ("up{a=\"{{ 1st }}\"}", "placeholder \"{{ 1st }}\" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)"),
        ("up{a=\"{{a{{b}}\"}", "\"{{\" is never closed with \"}}\" before the next \"{{\" in the query"),
        ("'  '", "must not be empty"),
    ]

    @Test(arguments: badTemplates)
    func malformedQueryTemplatesAreRejected(query: String, message: String) {
        let yaml = "prometheus: {url: http://p:9090}\nchecks:\n  - name: c\n    min: 1\n    query: \(query)\n"
        let errors = parseErrors(yaml)
        #expect(errors.map(\.path) == ["checks[0].query"])
        #expect(errors.map(\.message) == [message])
    }

    @Test func unknownKeysFarFromAnyKnownKeyListTheAllowedKeys() {
        let errors = parseErrors(minimalYAML("retention: {keepForever: 10}\n"))
        #expect(errors.map(\.message) == ["unknown key; expected one of: closedWindows, eventsPerWindow, alertGroups"])
        #expect(errors.map(\.path) == ["retention.keepForever"])
    }

    @Test func windowPolicyEntriesNeedASoak() {
        let errors = parseErrors(minimalYAML("windows:\n  policy:\n    major: {}\n    huge: {soak: 1w}\n"))
        #expect(errors.map(\.path) == ["windows.policy.major.soak", "windows.policy.huge"])
        #expect(errors.map(\.line) == [9, 10])
    }

    @Test func matchersAreParsedInAlertmanagerSyntax() throws {
        let yaml = minimalYAML(
            """
            alertmanager:
              matchers: ['severity =~ "critical|warning"', 'team=platform, env!="dev"']
              ignore: ['{alertname="Watchdog"}', 'alertname="CPUThrottlingHigh", namespace=~"kube-.*"']
              grace: 2m
            """
        )
        let alertmanager = try #require(try GateConfigLoader.parse(yaml: withAuth(yaml)).alertmanager)
        #expect(
            alertmanager.matchers == [
                LabelMatcher(name: "severity", op: .regexMatch, value: "critical|warning"),
                LabelMatcher(name: "team", op: .equal, value: "platform"),
                LabelMatcher(name: "env", op: .notEqual, value: "dev"),
            ]
        )
        #expect(alertmanager.ignore.count == 2)
        #expect(
            alertmanager.ignore[1] == [
                LabelMatcher(name: "alertname", op: .equal, value: "CPUThrottlingHigh"),
                LabelMatcher(name: "namespace", op: .regexMatch, value: "kube-.*"),
            ]
        )
        #expect(alertmanager.grace == 120)
    }

    static let badMatchers: [(text: String, label: String)] = [
        ("", "empty"), ("1abc=\"x\"", "bad_label_name"), ("severity", "bad_operator"), ("severity==\"x\"", "bad_quoting"),
        ("severity=\"x", "bad_quoting"), ("severity=\"a\\qb\"", "bad_quoting"), ("severity=~\"[\"", "bad_regex"),
        ("severity!~\"(?<\"", "bad_regex"), ("{a=\"b\"", "unbalanced_braces"), ("a=\"b\" c=\"d\"", "trailing_text"),
    ]

    @Test(arguments: badMatchers)
    func malformedMatchersAreRejectedWithAReason(text: String, label: String) {
        let error = #expect(throws: MatcherError.self) { try LabelMatcher.parseList(text) }
        #expect(error?.label == label)
    }

    @Test func matcherValuesRoundTripThroughTheirDescription() throws {
        let matcher = LabelMatcher(name: "path", op: .notEqual, value: "C:\\dir \"quoted\"")
        #expect(matcher.description == #"path!="C:\\dir \"quoted\"""#)
        #expect(try LabelMatcher(parsing: matcher.description) == matcher)
        #expect(try LabelMatcher(parsing: "job = node") == LabelMatcher(name: "job", op: .equal, value: "node"))
    }

    @Test func urlsMustBeHTTPWithAHost() {
        for url in ["ftp://p:21", "http://", "/prometheus", "http://p:9090/?x=1"] {
            let errors = parseErrors("prometheus: {url: '\(url)'}\n")
            #expect(errors.map(\.path) == ["prometheus.url"], "\(url)")
        }
    }

    @Test func secretsNeverAppearInErrors() {
        let secret = "s3cr3t-T0ken-value"
        let cases = [
            "prometheus: {url: 'http://gate:\(secret)@prometheus:9090'}\n",
            "prometheus: {url: 'http://prometheus:9090/?token=\(secret)'}\n",
            "prometheus:\n  url: http://p:9090\n  basicAuth: 'gate:\(secret)'\n",
            "prometheus:\n  url: http://p:9090\n  basicAuth: {username: gate, password: \(secret)}\n",
            "prometheus:\n  url: http://p:9090\n  bearerToken: \(secret)\n",
            "prometheus:\n  url: http://p:9090\n  bearerTokenFile: [\(secret)]\n",
            "prometheus: {url: http://p:9090}\nauth: \(secret)\n",
            "prometheus: {url: http://p:9090}\nauth: {token: \(secret)}\n",
            "prometheus: {url: http://p:9090}\nauth: {tokenFile: \"\(secret)\n",
        ]
        for yaml in cases {
            do {
                _ = try GateConfigLoader.parse(yaml: yaml)
                Issue.record("parsed without errors: \(yaml)")
            } catch {
                expectNoSecret(secret, in: error)
            }
        }
        // Numbers under credential keys are not quoted either.
        let numeric = "prometheus:\n  url: http://p:9090\n  basicAuth: 987654321\n"
        let errors = #expect(throws: ConfigErrors.self) { try GateConfigLoader.parse(yaml: numeric) }
        if let errors { expectNoSecret("987654321", in: errors) }
    }

    @Test func inlineSecretsPointToTheirFileKey() {
        let errors = parseErrors("prometheus:\n  url: http://p:9090\n  bearerToken: abc\n")
        #expect(errors.map(\.message) == ["unknown key; secrets are only read from files: put it in a file and set \"bearerTokenFile\""])
    }

    @Test func oneBadValueIsNotReportedTwice() {
        // A check whose only rule is malformed has a rule: only the malformed value is reported.
        let errors = parseErrors("prometheus: {url: http://p:9090}\nchecks:\n  - {name: c, query: q, max: high, floor: 1, maxIncrease: x}\n")
        #expect(errors.map(\.path) == ["checks[0].max", "checks[0].maxIncrease"])
    }
}
