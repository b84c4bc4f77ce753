import Foundation
import GateCore
import Yams

/// Reads the YAML configuration of SPEC §3 into a validated ``GateConfig``.
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
            "kubernetes", "velero", "flagger", "limits", "ha",
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
        config.auth = map.section("auth", keys: ["tokenFile"]).flatMap(auth)
        config.evaluation = map.section("evaluation", keys: ["interval", "warmup", "failAfter"]).map(evaluation) ?? config.evaluation
        config.baseline = map.section("baseline", keys: ["lookback", "aggregate"]).map(baseline) ?? config.baseline
        config.windows = map.section("windows", keys: ["duration", "soak", "policy"]).map(windows) ?? config.windows
        config.checks = map.read("checks", checks) ?? config.checks
        config.kubernetes = map.section("kubernetes", keys: ["apiServer", "tokenFile", "caFile"]).map(kubernetes)
        config.velero = map.section("velero", keys: ["namespace", "backup", "restore"]).map(velero)
        if let section = map.section("flagger", keys: ["autoOpen", "requireToken"]) {
            config.flagger = flagger(section)
            // A required token with no token configured would lock Flagger out of every hook.
            if config.flagger.requireToken, !map.has("auth") {
                report(
                    .conflict,
                    section.child("requireToken"),
                    at: section.value("requireToken")?.mark,
                    "requireToken needs the auth section (auth.tokenFile) to know the token"
                )
            }
        }
        config.limits = map.section("limits", keys: ["maxBodyBytes", "maxOpenWindows"]).map(limits) ?? config.limits
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

    private func auth(_ map: MappingReader) -> AuthConfig? {
        map.required("tokenFile", "the file holding the API bearer token", filePath).map(AuthConfig.init(tokenFile:))
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

    private func checks(_ node: Node, _ path: String) -> [CheckConfig]? {
        if node.isNull { return [] }
        guard case .sequence(let sequence) = node else {
            report(.wrongType, path, at: node.mark, "expected a list of checks, got \(describe(node, path))")
            return nil
        }
        let keys = [
            "name", "query", "min", "max", "maxIncrease", "maxDecrease", "floor", "counter", "missingSeries", "noData", "critical",
        ]
        var checks: [CheckConfig] = []
        var firstUse: [String: (index: Int, line: Int?)] = [:]
        for (index, item) in sequence.enumerated() {
            guard let map = MappingReader(self, item, path: "\(path)[\(index)]", ownerMark: item.mark, keys: keys) else { continue }
            guard let check = self.check(map) else { continue }
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
    private func check(_ map: MappingReader) -> CheckConfig? {
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

        // Contradictions are judged on the keys present, so that one bad value is not reported twice.
        if !["min", "max", "maxIncrease", "maxDecrease"].contains(where: map.has) {
            report(
                .missingKey,
                map.path,
                at: map.mark,
                "a check without a rule can only pass; add at least one of min, max, maxIncrease, maxDecrease"
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
    private func delta(_ node: Node, _ path: String) -> Delta? {
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
        config.maxOpenWindows = map.read("maxOpenWindows", integer(atLeast: 1)) ?? config.maxOpenWindows
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
                .invalidValue, section.child("duration"), at: section.value("duration")?.mark,
                "the lease duration must be a whole number of seconds, at least 1s (the Lease records whole seconds)")
        } else if lease.renewDeadline >= lease.duration {
            // The leader must stop acting before any follower may take over: that gap is what fences it.
            let key = section.has("renewDeadline") ? "renewDeadline" : "duration"
            report(
                .conflict, section.child(key), at: section.value(key)?.mark,
                "renewDeadline (\(formatPrometheusDuration(lease.renewDeadline))) must be shorter than duration (\(formatPrometheusDuration(lease.duration)))")
        }
        if lease.retryPeriod >= lease.renewDeadline {
            let key = section.has("retryPeriod") ? "retryPeriod" : "renewDeadline"
            report(
                .conflict, section.child(key), at: section.value(key)?.mark,
                "retryPeriod (\(formatPrometheusDuration(lease.retryPeriod))) must be shorter than renewDeadline (\(formatPrometheusDuration(lease.renewDeadline))): the leader needs several renewal attempts before it gives up")
        }
        return config
    }
}
