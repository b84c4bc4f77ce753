import GateCore

// The configuration file as typed values (docs/configuration.md is the user's reference).
//
// Defaults live in exactly one place: the default arguments of these initialisers. The loader starts from
// `init(...)` with only the required values and overwrites what the file sets, so it never repeats a default.
// Every duration is a `Double` number of seconds (Prometheus syntax in the file, see `parsePrometheusDuration`).
// Secrets are only ever paths (`…File`); nothing here reads those files.

/// The whole validated configuration of upgrade-gate.
public struct GateConfig: Sendable, Equatable {
    /// Where the HTTP server listens. Default `0.0.0.0:8080`.
    public var listen: ListenAddress
    /// Path of the embedded SQLite state file. Default `./upgrade-gate.sqlite`.
    public var state: String
    /// The Prometheus that checks query. Required.
    public var prometheus: PrometheusConfig
    /// Where already-firing alerts are read and which alerts fail the gate; `nil` when the section is absent.
    public var alertmanager: AlertmanagerConfig?
    /// Who may change state: scoped tokens, or auth disabled on a loopback listen. The loader requires the section;
    /// the default (no tokens, not disabled) refuses every state-changing call.
    public var auth: AuthConfig
    /// The evaluation loop. Defaults: `interval: 15s`, `warmup: 1m`, `failAfter: 2`.
    public var evaluation: EvaluationConfig
    /// How baselines are captured. Defaults: `lookback: 30m`, `aggregate: mean`.
    public var baseline: BaselineConfig
    /// Window length and soak. Defaults: `duration: 4h`, `soak: 30m`, no per-bump policy.
    public var windows: WindowsConfig
    /// The checks, in file order, with unique names. Default: none.
    public var checks: [CheckConfig]
    /// The Kubernetes API; `nil` (the default) means the in-cluster configuration.
    public var kubernetes: KubernetesConfig?
    /// Velero backup and restore; `nil` (the default) means the gate only judges: no backup, no restore.
    public var velero: VeleroConfig?
    /// Flagger webhooks. Defaults: `autoOpen: true`, `requireToken: true`.
    public var flagger: FlaggerConfig
    /// Request, connection and window limits (see ``LimitsConfig`` for the defaults).
    public var limits: LimitsConfig
    /// How long closed windows, events and alert groups are kept (see ``RetentionConfig`` for the defaults).
    public var retention: RetentionConfig
    /// High availability (leader election, windows as Kubernetes objects); `nil` (the default) is one replica with SQLite.
    public var ha: HAConfig? = nil

    /// Creates a configuration; everything but `prometheus` has its documented default.
    public init(
        listen: ListenAddress = ListenAddress(),
        state: String = "./upgrade-gate.sqlite",
        prometheus: PrometheusConfig,
        alertmanager: AlertmanagerConfig? = nil,
        auth: AuthConfig = AuthConfig(),
        evaluation: EvaluationConfig = EvaluationConfig(),
        baseline: BaselineConfig = BaselineConfig(),
        windows: WindowsConfig = WindowsConfig(),
        checks: [CheckConfig] = [],
        kubernetes: KubernetesConfig? = nil,
        velero: VeleroConfig? = nil,
        flagger: FlaggerConfig = FlaggerConfig(),
        limits: LimitsConfig = LimitsConfig(),
        retention: RetentionConfig = RetentionConfig()
    ) {
        self.listen = listen
        self.state = state
        self.prometheus = prometheus
        self.alertmanager = alertmanager
        self.auth = auth
        self.evaluation = evaluation
        self.baseline = baseline
        self.windows = windows
        self.checks = checks
        self.kubernetes = kubernetes
        self.velero = velero
        self.flagger = flagger
        self.limits = limits
        self.retention = retention
    }
}

/// A `host:port` listen address; IPv6 hosts are written in brackets (`[::1]:8080`) and stored without them.
public struct ListenAddress: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The host or IP address to bind, without brackets; `:8080` in the file means `0.0.0.0`.
    public var host: String
    /// The TCP port, 0–65535 (0 asks the system for a free port, handy in tests).
    public var port: Int

    /// Creates an address; the default is `0.0.0.0:8080`.
    public init(host: String = "0.0.0.0", port: Int = 8080) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`, `[ipv6]:port` or `:port`.
    ///
    /// - Throws: a ``ConfigError`` with path `listen` and no line, so a command-line `--listen` can reuse it.
    public init(parsing text: String) throws(ConfigError) {
        func fail(_ why: String) -> ConfigError {
            ConfigError(
                path: "listen",
                line: nil,
                column: nil,
                message: "\(why); expected \"host:port\", \"[ipv6]:port\" or \":port\", got \"\(text)\"",
                kind: .invalidValue
            )
        }
        let host: String
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw fail("\"[\" without \"]\"") }
            host = String(text[text.index(after: text.startIndex)..<close])
            let after = text[text.index(after: close)...]
            guard after.hasPrefix(":") else { throw fail("missing \":port\" after the bracketed host") }
            portText = after.dropFirst()
            guard host.contains(":") else { throw fail("brackets are only for IPv6 addresses") }
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw fail("missing port") }
            host = String(text[..<colon])
            portText = text[text.index(after: colon)...]
            guard !host.contains(":") else { throw fail("an IPv6 host must be in brackets") }
        }
        guard !host.contains(where: { $0.isWhitespace || $0 == "/" || $0 == "[" || $0 == "]" }) else {
            throw fail("the host contains characters a host cannot have")
        }
        guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }), let port = Int(portText),
            port <= 65535
        else { throw fail("the port must be a number from 0 to 65535") }
        self.init(host: host.isEmpty ? "0.0.0.0" : host, port: port)
    }

    /// The address as it would be written in the file: `0.0.0.0:8080`, `[::1]:8080`.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Whether only this machine can reach the address: `localhost`, `127.0.0.0/8` or `::1`.
    public var isLoopback: Bool {
        let host = host.lowercased()
        if host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }
}

/// The `prometheus` section: where checks' queries go.
public struct PrometheusConfig: Sendable, Equatable {
    /// Base URL, `http` or `https` with a host (and optionally a path prefix), without a trailing slash. Required.
    public var url: String
    /// Timeout of one query, in seconds. Default 10 s.
    public var timeout: Double
    /// File holding a bearer token, re-read by the client; excludes `basicAuth`.
    public var bearerTokenFile: String?
    /// HTTP basic authentication; excludes `bearerTokenFile`.
    public var basicAuth: BasicAuthConfig?
    /// TLS settings. Default: the system trust store, no client certificate.
    public var tls: TLSConfig

    /// Creates a Prometheus configuration with the defaults for everything but the URL.
    public init(
        url: String,
        timeout: Double = 10,
        bearerTokenFile: String? = nil,
        basicAuth: BasicAuthConfig? = nil,
        tls: TLSConfig = TLSConfig()
    ) {
        self.url = url
        self.timeout = timeout
        self.bearerTokenFile = bearerTokenFile
        self.basicAuth = basicAuth
        self.tls = tls
    }
}

/// HTTP basic authentication with the password kept in a file.
public struct BasicAuthConfig: Sendable, Equatable {
    /// The user name (not a secret).
    public var username: String
    /// File holding the password.
    public var passwordFile: String

    /// Creates basic-auth settings.
    public init(username: String, passwordFile: String) {
        self.username = username
        self.passwordFile = passwordFile
    }
}

/// TLS settings for an outgoing connection.
public struct TLSConfig: Sendable, Equatable {
    /// CA bundle to trust instead of the system store.
    public var caFile: String?
    /// Client certificate (PEM); requires `keyFile`.
    public var certFile: String?
    /// Client private key (PEM); requires `certFile`.
    public var keyFile: String?
    /// Skip server certificate verification. Default `false`.
    public var insecureSkipVerify: Bool

    /// Creates TLS settings; by default the system trust store and no client certificate.
    public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil, insecureSkipVerify: Bool = false) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.insecureSkipVerify = insecureSkipVerify
    }
}

/// The `alertmanager` section: which alerts fail the gate, and where already-firing ones are read at open.
public struct AlertmanagerConfig: Sendable, Equatable {
    /// Alertmanager's base URL for API v2; `nil` means already-firing alerts are read from Prometheus `ALERTS`.
    public var url: String?
    /// Matchers an alert must all satisfy to count (ANDed; each list entry may hold several, comma-separated).
    /// Default: none, so every alert counts.
    public var matchers: [LabelMatcher]
    /// Alerts to ignore: one entry per `ignore` string, an alert is ignored when it satisfies every matcher of any
    /// entry. Default: none.
    public var ignore: [[LabelMatcher]]
    /// How long, in seconds, a new alert must fire before it fails the gate. Default 0.
    public var grace: Double

    /// Creates Alertmanager settings; by default no URL, no matchers, nothing ignored, no grace.
    public init(url: String? = nil, matchers: [LabelMatcher] = [], ignore: [[LabelMatcher]] = [], grace: Double = 0) {
        self.url = url
        self.matchers = matchers
        self.ignore = ignore
        self.grace = grace
    }
}

/// What a token may do. Each state-changing route needs exactly one scope.
public enum TokenScope: String, Sendable, Equatable, Hashable, CaseIterable, Comparable {
    /// Open, close, reset and restore windows through the API and the CLI.
    case windows
    /// Post Alertmanager webhooks.
    case alerts
    /// Call the Flagger hooks (the token travels in `metadata.token`).
    case flagger

    /// Orders scopes as they are declared, for stable messages.
    public static func < (lhs: TokenScope, rhs: TokenScope) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// One entry of `auth.tokens`: a named caller, the file holding its token, and what it may do.
public struct TokenConfig: Sendable, Equatable {
    /// The caller's name (DNS-1123 label, unique); it is what audit events and logs show, never the token.
    public var name: String
    /// File holding the token, re-read at least every minute and whenever it changes.
    public var file: String
    /// What the token may do; never empty.
    public var scopes: Set<TokenScope>

    /// Creates a token entry.
    public init(name: String, file: String, scopes: Set<TokenScope>) {
        self.name = name
        self.file = file
        self.scopes = scopes
    }
}

/// The `auth` section: which tokens may change state, each limited to its scopes.
///
/// - Important: Fail closed. The loader refuses a file without this section; `disabled: true` is accepted only
///   with a loopback `listen`, and an empty token list (the initialiser's default) refuses every state-changing call.
public struct AuthConfig: Sendable, Equatable {
    /// The tokens; `auth.tokenFile: F` in the file is one token named `default` with every scope.
    public var tokens: [TokenConfig]
    /// Every call is allowed without a token. Only valid with a loopback `listen`. Default `false`.
    public var disabled: Bool

    /// Creates auth settings; by default no token and not disabled, so every state-changing call is refused.
    public init(tokens: [TokenConfig] = [], disabled: Bool = false) {
        self.tokens = tokens
        self.disabled = disabled
    }

    /// The shorthand `auth.tokenFile`: one token, named `default`, with every scope.
    public init(tokenFile: String) {
        self.init(tokens: [TokenConfig(name: "default", file: tokenFile, scopes: Set(TokenScope.allCases))])
    }
}

/// The `evaluation` section: the loop that queries and judges open windows.
public struct EvaluationConfig: Sendable, Equatable {
    /// Seconds between evaluations; > 0. Default 15 s.
    public var interval: Double
    /// Seconds after open during which failures are reported but not acted on; ≥ 0. Default 60 s.
    public var warmup: Double
    /// Consecutive failing evaluations before a critical check fails; ≥ 1. Default 2.
    public var failAfter: Int

    /// Creates evaluation settings with the documented defaults.
    public init(interval: Double = 15, warmup: Double = 60, failAfter: Int = 2) {
        self.interval = interval
        self.warmup = warmup
        self.failAfter = failAfter
    }
}

/// The `baseline` section: the snapshot pinned when a window opens.
public struct BaselineConfig: Sendable, Equatable {
    /// Seconds of history, ending at open, summarised into the baseline; > 0. Default 1800 s (30m).
    public var lookback: Double
    /// How each series is summarised. Default `mean`.
    public var aggregate: BaselineAggregate

    /// Creates baseline settings with the documented defaults.
    public init(lookback: Double = 1800, aggregate: BaselineAggregate = .mean) {
        self.lookback = lookback
        self.aggregate = aggregate
    }
}

/// The size of a version change, used to pick a soak from `windows.policy` (GateCore's semver bump).
public typealias VersionBump = SemverBump

/// The `windows` section: how long windows stay open and how long they soak.
public struct WindowsConfig: Sendable, Equatable {
    /// Seconds after which an open window closes itself; > 0. Default 14400 s (4h).
    public var duration: Double
    /// Seconds of clean evaluations needed before `pass`, unless the policy says otherwise; ≥ 0. Default 1800 s.
    public var soak: Double
    /// Per-bump overrides of `soak`. Default: none.
    public var policy: WindowPolicy

    /// Creates window settings with the documented defaults.
    public init(duration: Double = 14_400, soak: Double = 1800, policy: WindowPolicy = WindowPolicy()) {
        self.duration = duration
        self.soak = soak
        self.policy = policy
    }

    /// The soak, in seconds, for a version change of this size: the policy's if it has one, else `soak`.
    public func soak(for bump: VersionBump?) -> Double {
        guard let bump, let rule = policy[bump] else { return soak }
        return rule.soak
    }
}

/// The versioning policy: settings that depend on the size of the version change.
public struct WindowPolicy: Sendable, Equatable {
    /// Settings for patch bumps.
    public var patch: BumpPolicy?
    /// Settings for minor bumps.
    public var minor: BumpPolicy?
    /// Settings for major bumps.
    public var major: BumpPolicy?

    /// Creates a policy; by default nothing is overridden.
    public init(patch: BumpPolicy? = nil, minor: BumpPolicy? = nil, major: BumpPolicy? = nil) {
        self.patch = patch
        self.minor = minor
        self.major = major
    }

    /// The settings for one kind of bump, if any.
    public subscript(bump: VersionBump) -> BumpPolicy? {
        switch bump {
        case .patch: return patch
        case .minor: return minor
        case .major: return major
        }
    }
}

/// Window settings for one size of version change.
public struct BumpPolicy: Sendable, Equatable {
    /// Soak in seconds for this kind of bump; ≥ 0. Required in the file.
    public var soak: Double

    /// Creates a per-bump setting.
    public init(soak: Double) {
        self.soak = soak
    }
}

/// One entry of `checks`: a named PromQL query template and its rules.
///
/// Turn it into a ``GateCore/CheckSpec`` for one window with ``spec(labels:)``.
///
/// - Important: The loader refuses a check without any of `min`, `max`, `maxIncrease`, `maxDecrease`: such a check
///   could only ever pass, which is the wrong way for a gate to fail.
public struct CheckConfig: Sendable, Equatable {
    /// DNS-1123 label (lowercase letters, digits, `-`; ≤ 63), unique in the file. Required.
    public var name: String
    /// The `query` as written, possibly with `{{label}}` placeholders filled from window labels. Required.
    public var queryTemplate: String
    /// Absolute lower bound per series.
    public var min: Double?
    /// Absolute upper bound per series; ≥ `min`.
    public var max: Double?
    /// Largest allowed rise over the baseline series (`"50%"` or an absolute delta); not negative.
    public var maxIncrease: Delta?
    /// Largest allowed fall below the baseline series (`"50%"` or an absolute delta); not negative.
    public var maxDecrease: Delta?
    /// Relative rules never fail a value at or below this; ≥ 0, and only with `maxIncrease` or `maxDecrease`.
    public var floor: Double?
    /// Judge the increase since open (resets handled) instead of the value. Default `false`.
    public var counter: Bool
    /// Policy for a baseline series that has vanished. Default `fail`.
    public var missingSeries: MissingSeriesPolicy
    /// Policy for a query that returns nothing. Default `inconclusive`.
    public var noData: NoDataPolicy
    /// Whether breaking a rule fails the gate (`true`, the default) or only warns.
    public var critical: Bool
    /// Statistical judging against the baseline range's samples; `step` already defaults to `evaluation.interval`.
    public var compare: CompareSpec?

    /// Creates a check; rules default to none and policies to the documented defaults.
    public init(
        name: String,
        queryTemplate: String,
        min: Double? = nil,
        max: Double? = nil,
        maxIncrease: Delta? = nil,
        maxDecrease: Delta? = nil,
        floor: Double? = nil,
        counter: Bool = false,
        missingSeries: MissingSeriesPolicy = .fail,
        noData: NoDataPolicy = .inconclusive,
        critical: Bool = true,
        compare: CompareSpec? = nil
    ) {
        self.name = name
        self.queryTemplate = queryTemplate
        self.compare = compare
        self.min = min
        self.max = max
        self.maxIncrease = maxIncrease
        self.maxDecrease = maxDecrease
        self.floor = floor
        self.counter = counter
        self.missingSeries = missingSeries
        self.noData = noData
        self.critical = critical
    }
}

/// The `kubernetes` section, for out-of-cluster use and tests; each absent key falls back to the in-cluster value.
public struct KubernetesConfig: Sendable, Equatable {
    /// API server URL, e.g. `https://127.0.0.1:6443`.
    public var apiServer: String?
    /// File holding the bearer token; re-read regularly because tokens rotate.
    public var tokenFile: String?
    /// CA bundle for the API server.
    public var caFile: String?

    /// Creates Kubernetes settings; by default every value comes from the in-cluster configuration.
    public init(apiServer: String? = nil, tokenFile: String? = nil, caFile: String? = nil) {
        self.apiServer = apiServer
        self.tokenFile = tokenFile
        self.caFile = caFile
    }
}

/// The `velero` section: pre-upgrade backups and rollback restores.
public struct VeleroConfig: Sendable, Equatable {
    /// Namespace of Velero's custom resources. Default `velero`.
    public var namespace: String
    /// The Backup taken when a window opens.
    public var backup: VeleroBackupConfig
    /// The Restore created when a window fails.
    public var restore: VeleroRestoreConfig

    /// Creates Velero settings with the documented defaults: back up on open, restore automatically.
    public init(
        namespace: String = "velero",
        backup: VeleroBackupConfig = VeleroBackupConfig(),
        restore: VeleroRestoreConfig = VeleroRestoreConfig()
    ) {
        self.namespace = namespace
        self.backup = backup
        self.restore = restore
    }
}

/// `velero.backup`: the Backup created when a window opens.
public struct VeleroBackupConfig: Sendable, Equatable {
    /// Create a Backup when a window opens. Default `true`.
    public var onOpen: Bool
    /// The Backup's time to live, in seconds; > 0. Default 259200 s (72h).
    public var ttl: Double
    /// Velero BackupStorageLocation name. Default `default`.
    public var storageLocation: String
    /// Seconds to wait for the Backup to complete; > 0. Default 900 s (15m).
    public var waitTimeout: Double
    /// A failed or unusable Backup fails the window. Default `true`.
    public var required: Bool

    /// Creates backup settings with the documented defaults.
    public init(
        onOpen: Bool = true,
        ttl: Double = 259_200,
        storageLocation: String = "default",
        waitTimeout: Double = 900,
        required: Bool = true
    ) {
        self.onOpen = onOpen
        self.ttl = ttl
        self.storageLocation = storageLocation
        self.waitTimeout = waitTimeout
        self.required = required
    }
}

/// Velero's `existingResourcePolicy` for a Restore.
public enum ExistingResourcePolicy: String, Sendable, Equatable, Hashable, CaseIterable {
    /// Velero skips objects that already exist: nothing upgraded is rolled back.
    case none
    /// Velero updates existing objects (best effort).
    case update
}

/// `velero.restore`: the Restore created when a window fails.
public struct VeleroRestoreConfig: Sendable, Equatable {
    /// When to restore. Default `auto`.
    public var mode: RestoreMode
    /// What Velero does with objects that exist. Default `update`: without it nothing is rolled back.
    public var existingResourcePolicy: ExistingResourcePolicy
    /// Restore persistent volumes too. Default `false`.
    public var restorePVs: Bool
    /// After the Restore completes, re-run the checks and compare images. Default `true`.
    public var verify: Bool

    /// Creates restore settings with the documented defaults.
    public init(
        mode: RestoreMode = .auto,
        existingResourcePolicy: ExistingResourcePolicy = .update,
        restorePVs: Bool = false,
        verify: Bool = true
    ) {
        self.mode = mode
        self.existingResourcePolicy = existingResourcePolicy
        self.restorePVs = restorePVs
        self.verify = verify
    }
}

/// The `flagger` section: how Flagger webhooks are treated.
public struct FlaggerConfig: Sendable, Equatable {
    /// `confirm-rollout` and `pre-rollout` open a window when none is open. Default `true`.
    public var autoOpen: Bool
    /// Hooks must carry a `flagger`-scoped token in `metadata.token` (refused otherwise). Default `true`.
    public var requireToken: Bool

    /// Creates Flagger settings with the defaults.
    public init(autoOpen: Bool = true, requireToken: Bool = true) {
        self.autoOpen = autoOpen
        self.requireToken = requireToken
    }
}

/// The `limits` section: every resource a caller can make the daemon hold is bounded.
public struct LimitsConfig: Sendable, Equatable {
    /// Largest accepted body of an authenticated POST, in bytes (413 above); > 0. Default 1048576.
    public var maxBodyBytes: Int
    /// Largest accepted Flagger hook body, in bytes (413 above), enforced before any token is checked, so nothing
    /// beyond it is ever buffered for an unauthenticated caller; > 0. Default 65536.
    public var maxHookBodyBytes: Int
    /// Most windows open at once (429 above); > 0. Default 50.
    public var maxOpenWindows: Int
    /// Seconds a connection may stay idle, and the most a request may take to arrive whole (slow senders are
    /// closed); > 0. Default 60 s.
    public var idleTimeout: Double
    /// Most connections served at once; further connections wait in the listen backlog; > 0. Default 1024.
    public var maxConnections: Int
    /// Longest stored event message, in UTF-8 bytes; longer messages are truncated; ≥ 64. Default 4096.
    public var maxEventMessageBytes: Int

    /// Creates limits with the defaults.
    public init(
        maxBodyBytes: Int = 1_048_576,
        maxHookBodyBytes: Int = 65_536,
        maxOpenWindows: Int = 50,
        idleTimeout: Double = 60,
        maxConnections: Int = 1024,
        maxEventMessageBytes: Int = 4096
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.maxHookBodyBytes = maxHookBodyBytes
        self.maxOpenWindows = maxOpenWindows
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.maxEventMessageBytes = maxEventMessageBytes
    }
}

/// The `retention` section: what is pruned, at start and hourly. Nothing open is ever pruned.
public struct RetentionConfig: Sendable, Equatable {
    /// Seconds a closed window (with its baseline, evaluations and events) is kept after it closed; > 0.
    /// Default 2592000 s (30d).
    public var closedWindows: Double
    /// Most events kept per window; older ones are dropped and counted; ≥ 1. Default 1000.
    public var eventsPerWindow: Int
    /// Seconds an Alertmanager group is kept after its last notification; > 0. Default 604800 s (7d).
    public var alertGroups: Double

    /// Creates retention settings with the defaults.
    public init(closedWindows: Double = 2_592_000, eventsPerWindow: Int = 1000, alertGroups: Double = 604_800) {
        self.closedWindows = closedWindows
        self.eventsPerWindow = eventsPerWindow
        self.alertGroups = alertGroups
    }
}

extension GateConfig {
    /// Settings that are valid but weaken security, one sentence each, for warnings at startup: TLS verification
    /// switched off, or credentials sent over plain http.
    public var securityWarnings: [String] {
        var warnings: [String] = []
        if prometheus.tls.insecureSkipVerify {
            warnings.append("prometheus.tls.insecureSkipVerify is on: the Prometheus server's certificate is not verified")
        }
        let plainPrometheus = prometheus.url.lowercased().hasPrefix("http://")
        if plainPrometheus, prometheus.bearerTokenFile != nil {
            warnings.append("prometheus.bearerTokenFile is sent over plain http (\(prometheus.url)); use https")
        }
        if plainPrometheus, prometheus.basicAuth != nil {
            warnings.append("prometheus.basicAuth is sent over plain http (\(prometheus.url)); use https")
        }
        if let apiServer = kubernetes?.apiServer, apiServer.lowercased().hasPrefix("http://") {
            warnings.append("kubernetes.apiServer is plain http (\(apiServer)): the service-account token travels unencrypted; use https")
        }
        if auth.disabled {
            warnings.append("auth.disabled is on: every state-changing call is accepted without a token (loopback listen only)")
        }
        return warnings
    }
}

/// The `ha` section: several replicas sharing state through the Kubernetes API, one leader elected with a Lease.
public struct HAConfig: Sendable, Equatable {
    /// Where the Lease and the UpgradeWindow objects live. Default `upgrade-gate`.
    public var namespace: String
    /// The leader-election Lease.
    public var lease: LeaseConfig
    /// The line of the `ha` key in the file, for messages about the section as a whole.
    public var line: Int?

    /// Creates HA settings with the defaults.
    public init(namespace: String = "upgrade-gate", lease: LeaseConfig = LeaseConfig(), line: Int? = nil) {
        self.namespace = namespace
        self.lease = lease
        self.line = line
    }
}

/// `ha.lease`: the Lease's name and client-go's leader-election timings, in seconds.
public struct LeaseConfig: Sendable, Equatable {
    /// The Lease's name. Default `upgrade-gate`.
    public var name: String
    /// How long followers wait for an unrenewed lease before taking over; whole seconds. Default 15.
    public var duration: Double
    /// How long the leader keeps leading without a successful renewal; below `duration`. Default 10.
    public var renewDeadline: Double
    /// How often the leader renews and followers retry; below `renewDeadline`. Default 2.
    public var retryPeriod: Double

    /// Creates Lease settings; the defaults are client-go's (15 s / 10 s / 2 s).
    public init(name: String = "upgrade-gate", duration: Double = 15, renewDeadline: Double = 10, retryPeriod: Double = 2) {
        self.name = name
        self.duration = duration
        self.renewDeadline = renewDeadline
        self.retryPeriod = retryPeriod
    }
}
