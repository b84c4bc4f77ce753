import Foundation
import GateCore
import GateYAML
import Yams

/// Reads the YAML configuration (docs/configuration.md) into a validated ``GateConfig``.
///
/// One walk over the file finds every problem: unknown keys, wrong types, bad values and contradictions, each with
/// its key path and line.
///
/// - Important: Nothing is read but the configuration file itself: secret files are only recorded as paths, and
///   error messages describe values under credential keys (and URLs with credentials) instead of quoting them.
public enum GateConfigLoader {
    /// Reads and validates a configuration file.
    ///
    /// - Throws: ``ConfigErrors`` with every problem; a file that cannot be read gives one error with path `""`
    ///   that names the file.
    public static func load(path: String) throws(ConfigErrors) -> GateConfig {
        let text: String
        do {
            text = try readFile(path)
        } catch {
            throw ConfigErrors(source: path, errors: [error])
        }
        return try parse(yaml: text, source: path)
    }

    /// Validates configuration text; `source` names it in ``ConfigErrors/description``.
    ///
    /// - Throws: ``ConfigErrors`` with every problem, sorted by line; a YAML syntax error is reported alone, at the
    ///   line and column Yams gives.
    public static func parse(yaml: String, source: String = "<config>") throws(ConfigErrors) -> GateConfig {
        // Before Yams builds a tree: an alias bomb costs nothing to compose but everything to walk and hash.
        do {
            try YAMLBudget.configuration.check(yaml)
        } catch {
            throw ConfigErrors(
                source: source,
                errors: [ConfigError(path: "", line: error.line, column: nil, message: error.description, kind: .yamlLimit)]
            )
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigErrors(source: source, errors: [syntaxError(error)])
        }
        let walker = ConfigWalker()
        let config = walker.gateConfig(root ?? Node([(Node, Node)]()))
        guard let config, walker.errors.isEmpty else {
            throw ConfigErrors(source: source, errors: walker.sortedErrors)
        }
        return config
    }

    private static func readFile(_ path: String) throws(ConfigError) -> String {
        func unreadable(_ why: String) -> ConfigError {
            ConfigError(path: "", line: nil, column: nil, message: "cannot read configuration file \"\(path)\": \(why)", kind: .unreadable)
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw unreadable("no such file") }
        guard !isDirectory.boolValue else { throw unreadable("it is a directory") }
        // Refuse a huge file before reading it into memory; the text itself is checked again by `parse`.
        let limit = YAMLBudget.configuration.maxBytes
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > limit {
            throw unreadable("it is \(size) bytes, more than the \(limit) a configuration may have")
        }
        guard FileManager.default.isReadableFile(atPath: path), let data = FileManager.default.contents(atPath: path) else {
            throw unreadable("permission denied")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw unreadable("it is not UTF-8 text") }
        return text
    }

    /// Turns a Yams error into one located error, without the source snippet (which might hold a secret).
    private static func syntaxError(_ error: any Error) -> ConfigError {
        guard let yamlError = error as? YamlError else {
            return ConfigError(path: "", line: nil, column: nil, message: "YAML error: \(error)", kind: .syntax)
        }
        switch yamlError {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            var message = "YAML syntax error: \(problem)"
            if let context {
                message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
            }
            return ConfigError(path: "", line: mark.line, column: mark.column, message: message, kind: .syntax)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "\"\($0)\"" }.joined(separator: ", ")
            return ConfigError(
                path: "",
                line: context.mark.line,
                column: context.mark.column,
                message: "duplicate key \(keys) in one mapping; YAML keys must be unique",
                kind: .duplicate
            )
        case .reader(let problem, let offset, _, let yaml):
            var line: Int?
            var column: Int?
            if let offset {
                let prefix = yaml.prefix(offset)
                line = prefix.filter { $0 == "\n" }.count + 1
                column = prefix.count - (prefix.lastIndex(of: "\n").map { prefix.distance(from: prefix.startIndex, to: $0) + 1 } ?? 0) + 1
            }
            return ConfigError(path: "", line: line, column: column, message: "the file is not readable YAML text: \(problem)", kind: .syntax)
        default:
            return ConfigError(path: "", line: nil, column: nil, message: "YAML error: \(yamlError)", kind: .syntax)
        }
    }
}

// The schema: the keys of each section and how each is read. Defaults come from the types' initialisers.
extension ConfigWalker {
    /// Reads the whole document; nil only when the top level is not a mapping. Check ``errors`` either way.
    func gateConfig(_ root: Node) -> GateConfig? {
        let keys = [
            "listen", "state", "prometheus", "alertmanager", "auth", "evaluation", "baseline", "windows", "checks",
            "kubernetes", "velero", "flagger", "limits", "retention", "ha",
        ]
        guard let map = MappingReader(self, root, path: "", ownerMark: root.mark, keys: keys) else { return nil }
        var config = GateConfig(prometheus: PrometheusConfig(url: ""))
        config.listen = map.read("listen", listenAddress) ?? config.listen
        config.state = map.read("state", filePath) ?? config.state
        let prometheusKeys = ["url", "timeout", "bearerTokenFile", "basicAuth", "tls"]
        if let section = map.requiredSection("prometheus", keys: prometheusKeys, "the Prometheus that checks query (at least url)") {
            config.prometheus = prometheus(section)
        }
        config.alertmanager = map.section("alertmanager", keys: ["url", "matchers", "ignore", "grace"]).map(alertmanager)
        // Fail closed: without an auth section the gate would have to choose between refusing everything and
        // accepting anyone, so it refuses to start and says how to choose.
        if let section = map.requiredSection(
            "auth",
            keys: ["tokens", "tokenFile", "disabled"],
            "auth (tokens: one per caller with its scopes, or tokenFile: one token with every scope; disabled: true only on a loopback listen)"
        ) {
            config.auth = auth(section, listen: config.listen, listenMark: map.value("listen")?.mark)
        }
        config.evaluation = map.section("evaluation", keys: ["interval", "warmup", "failAfter"]).map(evaluation) ?? config.evaluation
        config.baseline = map.section("baseline", keys: ["lookback", "aggregate"]).map(baseline) ?? config.baseline
        config.windows = map.section("windows", keys: ["duration", "soak", "policy"]).map(windows) ?? config.windows
        let sampling = CompareSampling(interval: config.evaluation.interval, lookback: config.baseline.lookback)
        config.checks = map.read("checks") { checks($0, $1, sampling: sampling) } ?? config.checks
        config.kubernetes = map.section("kubernetes", keys: ["apiServer", "tokenFile", "caFile"]).map(kubernetes)
        config.velero = map.section("velero", keys: ["namespace", "backup", "restore"]).map(velero)
        if let section = map.section("flagger", keys: ["autoOpen", "requireToken"]) {
            config.flagger = flagger(section)
        }
        // A required token that no configured token can provide would lock Flagger out of every hook.
        if config.flagger.requireToken, !config.auth.disabled, !config.auth.tokens.isEmpty,
            !config.auth.tokens.contains(where: { $0.scopes.contains(.flagger) })
        {
            let section = map.section("flagger", keys: ["autoOpen", "requireToken"])
            report(
                .conflict,
                "flagger.requireToken",
                at: section?.value("requireToken")?.mark ?? map.keyMark("auth"),
                "Flagger hooks need a token with the flagger scope (requireToken defaults to true), but no auth.tokens entry has it; "
                    + "add one, or set flagger.requireToken: false"
            )
        }
        let limitKeys = ["maxBodyBytes", "maxHookBodyBytes", "maxOpenWindows", "idleTimeout", "maxConnections", "maxEventMessageBytes"]
        config.limits = map.section("limits", keys: limitKeys).map(limits) ?? config.limits
        config.retention = map.section("retention", keys: ["closedWindows", "eventsPerWindow", "alertGroups"]).map(retention) ?? config.retention
        config.ha = map.section("ha", keys: ["namespace", "lease"]).map { ha($0, line: map.keyMark("ha")?.line) }
        return config
    }

    private func listenAddress(_ node: Node, _ path: String) -> ListenAddress? {
        guard let text = string(node, path) else { return nil }
        do {
            return try ListenAddress(parsing: text)
        } catch {
            report(error.kind, path, at: node.mark, error.message)
            return nil
        }
    }

    private func prometheus(_ map: MappingReader) -> PrometheusConfig {
        var config = PrometheusConfig(url: map.required("url", "the Prometheus base URL, e.g. http://prometheus:9090", url) ?? "")
        config.timeout = map.read("timeout", duration(.positive)) ?? config.timeout
        config.bearerTokenFile = map.read("bearerTokenFile", filePath)
        if let section = map.section("basicAuth", keys: ["username", "passwordFile"]) {
            let username = section.required("username", "the basic-auth user name", nonEmptyString)
            let passwordFile = section.required("passwordFile", "the file holding the basic-auth password", filePath)
            if let username, let passwordFile {
                config.basicAuth = BasicAuthConfig(username: username, passwordFile: passwordFile)
            }
        }
        if map.has("bearerTokenFile"), map.has("basicAuth") {
            report(
                .conflict,
                map.child("basicAuth"),
                at: map.keyMark("basicAuth"),
                "bearerTokenFile and basicAuth cannot both be set; keep one"
            )
        }
        if let section = map.section("tls", keys: ["caFile", "certFile", "keyFile", "insecureSkipVerify"]) {
            config.tls.caFile = section.read("caFile", filePath)
            config.tls.certFile = section.read("certFile", filePath)
            config.tls.keyFile = section.read("keyFile", filePath)
            config.tls.insecureSkipVerify = section.read("insecureSkipVerify", bool) ?? config.tls.insecureSkipVerify
            if section.has("certFile"), !section.has("keyFile") {
                report(.conflict, section.child("certFile"), at: section.keyMark("certFile"), "certFile needs keyFile (the client certificate's key)")
            }
            if section.has("keyFile"), !section.has("certFile") {
                report(.conflict, section.child("keyFile"), at: section.keyMark("keyFile"), "keyFile needs certFile (the client certificate)")
            }
        }
        return config
    }

    private func alertmanager(_ map: MappingReader) -> AlertmanagerConfig {
        var config = AlertmanagerConfig()
        config.url = map.read("url", url)
        config.matchers = map.read("matchers") { list($0, $1, what: "matcher strings", matcherList) }?.flatMap { $0 } ?? config.matchers
        config.ignore = map.read("ignore") { list($0, $1, what: "matcher strings", matcherList) } ?? config.ignore
        config.grace = map.read("grace", duration(.nonNegative)) ?? config.grace
        return config
    }

    private func matcherList(_ node: Node, _ path: String) -> [LabelMatcher]? {
        guard let text = nonEmptyString(node, path) else { return nil }
        do {
            return try LabelMatcher.parseList(text)
        } catch {
            report(.invalidValue, path, at: node.mark, "invalid matcher '\(text)': \(error)")
            return nil
        }
    }

    private func auth(_ map: MappingReader, listen: ListenAddress, listenMark: Mark?) -> AuthConfig {
        var config = AuthConfig()
        config.disabled = map.read("disabled", bool) ?? false
        let given = ["tokens", "tokenFile"].filter(map.has)
        if given.count == 2 {
            report(.conflict, map.child("tokenFile"), at: map.keyMark("tokenFile"), "tokens and tokenFile cannot both be set; keep one")
        }
        if config.disabled {
            if let key = given.first {
                report(
                    .conflict,
                    map.child(key),
                    at: map.keyMark(key),
                    "auth.disabled: true accepts every call, so \(key) would never be used; remove one"
                )
            }
            if !listen.isLoopback {
                report(
                    .conflict,
                    map.child("disabled"),
                    at: map.value("disabled")?.mark,
                    "auth.disabled: true is only allowed when listen is a loopback address (127.0.0.1, [::1], localhost), "
                        + "but listen is \(listen); anyone who can reach the gate could switch it off"
                )
            }
            return config
        }
        if given.isEmpty {
            report(
                .missingKey,
                map.child("tokens"),
                at: map.mark,
                "missing required key: tokens (one {name, file, scopes} per caller) or tokenFile (one token with every scope)"
            )
            return config
        }
        if let file = map.read("tokenFile", filePath) {
            config = AuthConfig(tokenFile: file)
        }
        if let tokens = map.read("tokens", tokenList) {
            config.tokens = tokens
        }
        return config
    }

    private func tokenList(_ node: Node, _ path: String) -> [TokenConfig]? {
        guard case .sequence(let sequence) = node, !sequence.isEmpty else {
            report(.wrongType, path, at: node.mark, "expected a non-empty list of {name, file, scopes}, got \(describe(node, path))")
            return nil
        }
        var tokens: [TokenConfig] = []
        var names: [String: Int] = [:]
        for (index, item) in sequence.enumerated() {
            guard let map = MappingReader(self, item, path: "\(path)[\(index)]", ownerMark: item.mark, keys: ["name", "file", "scopes"]) else {
                continue
            }
            let name = map.required("name", "the caller's name, shown in audit events and logs, e.g. pipelines", dnsLabel)
            let file = map.required("file", "the file holding this caller's token", filePath)
            let scopes = map.required("scopes", "what the token may do: a list of \(TokenScope.allCases.map(\.rawValue).joined(separator: ", "))") {
                self.scopeList($0, $1)
            }
            guard let name, let file, let scopes else { continue }
            if let first = names[name] {
                report(
                    .duplicate,
                    map.child("name"),
                    at: map.value("name")?.mark,
                    "duplicate token name \"\(name)\"; \(path)[\(first)] already uses it"
                )
                continue
            }
            names[name] = index
            tokens.append(TokenConfig(name: name, file: file, scopes: scopes))
        }
        return tokens
    }

    private func scopeList(_ node: Node, _ path: String) -> Set<TokenScope>? {
        guard let scopes = list(node, path, what: "scopes", choice(TokenScope.self)) else { return nil }
        guard !scopes.isEmpty else {
            report(
                .invalidValue,
                path,
                at: node.mark,
                "a token needs at least one scope: \(TokenScope.allCases.map(\.rawValue).joined(separator: ", "))"
            )
            return nil
        }
        return Set(scopes)
    }

    private func evaluation(_ map: MappingReader) -> EvaluationConfig {
        var config = EvaluationConfig()
        config.interval = map.read("interval", duration(.positive)) ?? config.interval
        config.warmup = map.read("warmup", duration(.nonNegative)) ?? config.warmup
        config.failAfter = map.read("failAfter", integer(atLeast: 1)) ?? config.failAfter
        return config
    }

    private func baseline(_ map: MappingReader) -> BaselineConfig {
        var config = BaselineConfig()
        config.lookback = map.read("lookback", duration(.positive)) ?? config.lookback
        config.aggregate = map.read("aggregate", choice(BaselineAggregate.self)) ?? config.aggregate
        return config
    }

    private func windows(_ map: MappingReader) -> WindowsConfig {
        var config = WindowsConfig()
        config.duration = map.read("duration", duration(.positive)) ?? config.duration
        config.soak = map.read("soak", duration(.nonNegative)) ?? config.soak
        if let policy = map.section("policy", keys: VersionBump.allCases.map(\.rawValue)) {
            func bump(_ bump: VersionBump) -> BumpPolicy? {
                guard let section = policy.section(bump.rawValue, keys: ["soak"]) else { return nil }
                return section.required("soak", "the soak for \(bump.rawValue) bumps, e.g. 1h", duration(.nonNegative)).map(BumpPolicy.init(soak:))
            }
            config.policy = WindowPolicy(patch: bump(.patch), minor: bump(.minor), major: bump(.major))
        }
        return config
    }

    private func checks(_ node: Node, _ path: String, sampling: CompareSampling) -> [CheckConfig]? {
        if node.isNull { return [] }
        guard case .sequence(let sequence) = node else {
            report(.wrongType, path, at: node.mark, "expected a list of checks, got \(describe(node, path))")
            return nil
        }
        let keys = [
            "name", "query", "min", "max", "maxIncrease", "maxDecrease", "floor", "counter", "missingSeries", "noData", "critical",
            "compare",
        ]
        var checks: [CheckConfig] = []
        var firstUse: [String: (index: Int, line: Int?)] = [:]
        for (index, item) in sequence.enumerated() {
            guard let map = MappingReader(self, item, path: "\(path)[\(index)]", ownerMark: item.mark, keys: keys) else { continue }
            guard let check = self.check(map, sampling: sampling) else { continue }
            if let first = firstUse[check.name] {
                let at = first.line.map { " on line \($0)" } ?? ""
                report(
                    .duplicate,
                    map.child("name"),
                    at: map.value("name")?.mark,
                    "duplicate check name \"\(check.name)\"; \(path)[\(first.index)]\(at) already uses it"
                )
            } else {
                firstUse[check.name] = (index, map.value("name")?.mark?.line)
            }
            checks.append(check)
        }
        return checks
    }

    /// One check; nil when its name or query is missing or invalid (the errors are recorded).
    private func check(_ map: MappingReader, sampling: CompareSampling) -> CheckConfig? {
        let name = map.required("name", "a DNS-1123 name for the check, e.g. apiserver-errors", dnsLabel)
        let query = map.required("query", "the PromQL query", queryTemplate)
        var check = CheckConfig(name: name ?? "", queryTemplate: query ?? "")
        check.min = map.read("min", number)
        check.max = map.read("max", number)
        check.maxIncrease = map.read("maxIncrease", delta)
        check.maxDecrease = map.read("maxDecrease", delta)
        check.floor = map.read("floor", nonNegativeNumber)
        check.counter = map.read("counter", bool) ?? check.counter
        check.missingSeries = map.read("missingSeries", choice(MissingSeriesPolicy.self)) ?? check.missingSeries
        check.noData = map.read("noData", choice(NoDataPolicy.self)) ?? check.noData
        check.critical = map.read("critical", bool) ?? check.critical
        if let section = map.section("compare", keys: compareKeys) {
            check.compare = compare(section, sampling: sampling)
            if check.counter {
                report(
                    .conflict,
                    section.path,
                    at: map.keyMark("compare"),
                    "compare judges the samples themselves, and a counter's samples only grow; compare a rate() query instead of counter: true"
                )
            }
        }

        // Contradictions are judged on the keys present, so that one bad value is not reported twice.
        if !["min", "max", "maxIncrease", "maxDecrease", "compare"].contains(where: map.has) {
            report(
                .missingKey,
                map.path,
                at: map.mark,
                "a check without a rule can only pass; add at least one of min, max, maxIncrease, maxDecrease, compare"
            )
        }
        if let min = check.min, let max = check.max, min > max {
            report(
                .conflict,
                map.child("min"),
                at: map.value("min")?.mark,
                "min (\(formatNumber(min))) is greater than max (\(formatNumber(max))); no value could pass"
            )
        }
        if map.has("floor"), !map.has("maxIncrease"), !map.has("maxDecrease") {
            report(
                .conflict,
                map.child("floor"),
                at: map.keyMark("floor"),
                "floor only exempts values from maxIncrease and maxDecrease; add one of them or remove floor"
            )
        }
        guard name != nil, query != nil else { return nil }
        return check
    }

    private func queryTemplate(_ node: Node, _ path: String) -> String? {
        guard let text = nonEmptyString(node, path) else { return nil }
        if case .failure(let error) = parseQueryTemplate(text) {
            report(.invalidValue, path, at: node.mark, error.message)
            return nil
        }
        return text
    }

    /// `"50%"` → `.percent(50)`; `0.002` or `"0.002"` → `.absolute(0.002)`; never negative.
    func delta(_ node: Node, _ path: String) -> Delta? {
        let expected = "a percentage such as \"50%\" or an absolute delta such as 0.002"
        guard case .scalar(let scalar) = node, [.int, .float, .str].contains(node.tagName) else {
            report(.wrongType, path, at: node.mark, "expected \(expected), got \(describe(node, path))")
            return nil
        }
        let text = scalar.string.trimmingCharacters(in: .whitespaces)
        let isPercent = text.hasSuffix("%")
        let numberText = isPercent ? String(text.dropLast()).trimmingCharacters(in: .whitespaces) : text
        guard numberText.allSatisfy({ "0123456789.eE+-_".contains($0) }), let value = Double(numberText.replacingOccurrences(of: "_", with: "")),
            value.isFinite
        else {
            report(isPercent ? .invalidValue : .wrongType, path, at: node.mark, "expected \(expected), got \(describe(node, path))")
            return nil
        }
        guard value >= 0 else {
            let what = isPercent ? "a percentage" : "a delta"
            report(.invalidValue, path, at: node.mark, "\(what) cannot be negative (the rule's name gives the direction), got \(quote(text))")
            return nil
        }
        return isPercent ? .percent(value) : .absolute(value)
    }

    private func kubernetes(_ map: MappingReader) -> KubernetesConfig {
        KubernetesConfig(apiServer: map.read("apiServer", url), tokenFile: map.read("tokenFile", filePath), caFile: map.read("caFile", filePath))
    }

    private func velero(_ map: MappingReader) -> VeleroConfig {
        var config = VeleroConfig()
        config.namespace = map.read("namespace", dnsLabel) ?? config.namespace
        if let section = map.section("backup", keys: ["onOpen", "ttl", "storageLocation", "waitTimeout", "required"]) {
            config.backup.onOpen = section.read("onOpen", bool) ?? config.backup.onOpen
            config.backup.ttl = section.read("ttl", duration(.positive)) ?? config.backup.ttl
            config.backup.storageLocation = section.read("storageLocation", nonEmptyString) ?? config.backup.storageLocation
            config.backup.waitTimeout = section.read("waitTimeout", duration(.positive)) ?? config.backup.waitTimeout
            config.backup.required = section.read("required", bool) ?? config.backup.required
        }
        if let section = map.section("restore", keys: ["mode", "existingResourcePolicy", "restorePVs", "verify"]) {
            config.restore.mode = section.read("mode", choice(RestoreMode.self)) ?? config.restore.mode
            config.restore.existingResourcePolicy =
                section.read("existingResourcePolicy", choice(ExistingResourcePolicy.self)) ?? config.restore.existingResourcePolicy
            config.restore.restorePVs = section.read("restorePVs", bool) ?? config.restore.restorePVs
            config.restore.verify = section.read("verify", bool) ?? config.restore.verify
        }
        return config
    }

    private func flagger(_ map: MappingReader) -> FlaggerConfig {
        var config = FlaggerConfig()
        config.autoOpen = map.read("autoOpen", bool) ?? config.autoOpen
        config.requireToken = map.read("requireToken", bool) ?? config.requireToken
        return config
    }

    private func limits(_ map: MappingReader) -> LimitsConfig {
        var config = LimitsConfig()
        config.maxBodyBytes = map.read("maxBodyBytes", integer(atLeast: 1)) ?? config.maxBodyBytes
        config.maxHookBodyBytes = map.read("maxHookBodyBytes", integer(atLeast: 1)) ?? config.maxHookBodyBytes
        config.maxOpenWindows = map.read("maxOpenWindows", integer(atLeast: 1)) ?? config.maxOpenWindows
        config.idleTimeout = map.read("idleTimeout", duration(.positive)) ?? config.idleTimeout
        config.maxConnections = map.read("maxConnections", integer(atLeast: 1)) ?? config.maxConnections
        config.maxEventMessageBytes = map.read("maxEventMessageBytes", integer(atLeast: 64)) ?? config.maxEventMessageBytes
        return config
    }

    private func retention(_ map: MappingReader) -> RetentionConfig {
        var config = RetentionConfig()
        config.closedWindows = map.read("closedWindows", duration(.positive)) ?? config.closedWindows
        config.eventsPerWindow = map.read("eventsPerWindow", integer(atLeast: 1)) ?? config.eventsPerWindow
        config.alertGroups = map.read("alertGroups", duration(.positive)) ?? config.alertGroups
        return config
    }

    private func ha(_ map: MappingReader, line: Int?) -> HAConfig {
        var config = HAConfig(line: line)
        config.namespace = map.read("namespace", dnsLabel) ?? config.namespace
        guard let section = map.section("lease", keys: ["name", "duration", "renewDeadline", "retryPeriod"]) else { return config }
        config.lease.name = section.read("name", dnsLabel) ?? config.lease.name
        config.lease.duration = section.read("duration", duration(.positive)) ?? config.lease.duration
        config.lease.renewDeadline = section.read("renewDeadline", duration(.positive)) ?? config.lease.renewDeadline
        config.lease.retryPeriod = section.read("retryPeriod", duration(.positive)) ?? config.lease.retryPeriod
        let lease = config.lease
        // The Lease records its duration in whole seconds, and followers wait exactly that long.
        if section.has("duration"), lease.duration.rounded() != lease.duration || lease.duration < 1 {
            report(
                .invalidValue,
                section.child("duration"),
                at: section.value("duration")?.mark,
                "the lease duration must be a whole number of seconds, at least 1s (the Lease records whole seconds)"
            )
        } else if lease.renewDeadline >= lease.duration {
            // The leader must stop acting before any follower may take over: that gap is what fences it.
            let key = section.has("renewDeadline") ? "renewDeadline" : "duration"
            report(
                .conflict,
                section.child(key),
                at: section.value(key)?.mark,
                "renewDeadline (\(formatPrometheusDuration(lease.renewDeadline))) must be shorter than duration (\(formatPrometheusDuration(lease.duration)))"
            )
        }
        if lease.retryPeriod >= lease.renewDeadline {
            let key = section.has("retryPeriod") ? "retryPeriod" : "renewDeadline"
            report(
                .conflict,
                section.child(key),
                at: section.value(key)?.mark,
                "retryPeriod (\(formatPrometheusDuration(lease.retryPeriod))) must be shorter than renewDeadline (\(formatPrometheusDuration(lease.renewDeadline))): the leader needs several renewal attempts before it gives up"
            )
        }
        return config
    }
}
