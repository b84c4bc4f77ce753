import ArgumentParser
import Foundation
import GateConfig
import GateLint
import GatePreflight
import GateServer
import Hummingbird
import Logging

/// `upgrade-gate`: the monitoring sidecar and alert gate for upgrades of third-party cluster tooling.
@main
struct UpgradeGate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upgrade-gate",
        abstract: "Gate upgrades of cluster tooling on Prometheus metrics and Alertmanager alerts compared with a pinned baseline.",
        subcommands: [Serve.self, Check.self, Status.self, Window.self, Lint.self, PreflightCommand.self, ConfigCommand.self]
    )
}

/// Exit code for usage and configuration errors (BSD `EX_USAGE`), the convention CI scripts know.
let usageExitCode: Int32 = 64

/// Loads a config file or exits 64 with every error, one per line.
func loadConfigOrExit(_ path: String) throws -> GateConfig {
    do {
        return try GateConfigLoader.load(path: path)
    } catch {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        throw ExitCode(usageExitCode)
    }
}

/// `upgrade-gate check`: a one-shot gate for CI.
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Judge every check once against a baseline and exit 0 pass, 1 fail, 2 inconclusive, 64 usage/config error.",
        discussion: """
            The baseline is summarised over baseline.lookback ending at --baseline-at (RFC 3339 or Unix seconds), \
            or --baseline-offset before now (default 0s: the most recent lookback). Current values are queried now. \
            Checks with a compare block compare the samples of --window before now (default: their compare.window; \
            never reaching back before the baseline's end) with the baseline range's samples. \
            Soak, warm-up and failAfter do not apply.
            """
    )

    @Option(help: "The configuration file.")
    var config: String

    @Option(help: "When the baseline ends: RFC 3339 (2026-11-25T10:00:00Z) or Unix seconds.")
    var baselineAt: String?

    @Option(help: "How long before now the baseline ends, in Prometheus duration syntax (1h, 30m).")
    var baselineOffset: String?

    @Option(name: .customLong("label"), help: "A template label for queries, NAME=VALUE (repeatable): fills {{NAME}}.")
    var labels: [String] = []

    @Option(help: "Recent samples for compare checks: this long before now, in Prometheus duration syntax (10m).")
    var window: String?

    @Option(help: "table or json.")
    var output: OutputFormat = .table

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    func validate() throws {
        if baselineAt != nil, baselineOffset != nil {
            throw ValidationError("--baseline-at and --baseline-offset exclude each other: give one")
        }
        if let baselineAt, parseTimestamp(baselineAt) == nil {
            throw ValidationError("--baseline-at \"\(baselineAt)\" is neither RFC 3339 (2026-11-25T10:00:00Z) nor Unix seconds")
        }
        if let baselineOffset, parsePrometheusDuration(baselineOffset) == nil {
            throw ValidationError("--baseline-offset \"\(baselineOffset)\" is not a Prometheus duration (like 30m or 1h30m)")
        }
        if let window, (parsePrometheusDuration(window) ?? 0) <= 0 {
            throw ValidationError("--window \"\(window)\" is not a positive Prometheus duration (like 10m or 1h)")
        }
        _ = try parsedLabels()
    }

    func parsedLabels() throws -> [String: String] {
        try parseKeyValues(labels, option: "--label")
    }

    func run() async throws {
        let config = try loadConfigOrExit(self.config)
        let now = Date().timeIntervalSince1970
        let baselineEnd: Double
        if let baselineAt, let time = parseTimestamp(baselineAt) {
            baselineEnd = time
        } else {
            baselineEnd = now - (baselineOffset.flatMap(parsePrometheusDuration) ?? 0)
        }
        let report: CheckReport
        do {
            report = try await runOneShotCheck(
                config: config,
                labels: try parsedLabels(),
                baselineAt: baselineEnd,
                now: now,
                window: window.flatMap(parsePrometheusDuration)
            )
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(usageExitCode)
        }
        print(output == .json ? report.renderJSON() : report.renderTable(), terminator: "")
        throw ExitCode(report.exitCode)
    }
}

/// `upgrade-gate config …`
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Work with configuration files.",
        subcommands: [Validate.self]
    )

    /// `upgrade-gate config validate FILE`: every error with key path and line; exit 64 on any.
    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate a configuration file and list every error with its key path and line.")

        @Argument(help: "The configuration file.")
        var file: String

        func run() async throws {
            let config = try loadConfigOrExit(file)
            print("\(file): valid (\(config.checks.count) checks)")
        }
    }
}

/// `upgrade-gate serve`: the daemon.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the gate daemon: upgrade windows, evaluation loop, gate API, Alertmanager and Flagger webhooks."
    )

    @Option(help: "The configuration file.")
    var config: String

    @Option(help: "Listen address, host:port (overrides listen:).")
    var listen: String?

    @Option(help: "State file, SQLite (overrides state:).")
    var state: String?

    @Option(help: "json (one object per line, for log pipelines) or text (for a terminal).")
    var logFormat: LogFormat = .json

    @Option(help: "Lowest level logged: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        if let listen {
            do {
                _ = try ListenAddress(parsing: listen)
            } catch {
                throw ValidationError("--listen: \(error.message)")
            }
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level \"\(logLevel)\" is not a log level") }
    }

    func run() async throws {
        bootstrapLogging(format: logFormat, level: Logger.Level(rawValue: logLevel) ?? .info)
        let logger = Logger(label: "upgrade-gate")
        let config = try loadConfigOrExit(self.config)
        let options = ServeOptions(listen: try listen.map { try ListenAddress(parsing: $0) }, state: state)
        do {
            let app = try await buildApplication(config: config, options: options, logger: logger)
            try await app.runService()
        } catch let error as StartupError {
            logger.critical("upgrade-gate could not start: \(error)")
            throw ExitCode(1)
        }
    }
}

extension LogFormat: ExpressibleByArgument {}

/// `upgrade-gate status`: windows and verdicts as a table for people.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show windows, verdicts, failing checks and soak remaining.")

    @Option(help: "The daemon's URL.")
    var url: String = "http://127.0.0.1:8080"

    @Argument(help: "One window to show in detail.")
    var window: String?

    func run() async throws {
        do {
            print(try await StatusReport.render(url: url, window: window), terminator: "")
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// Parses repeated `NAME=VALUE` options.
func parseKeyValues(_ items: [String], option: String) throws -> [String: String] {
    var result: [String: String] = [:]
    for item in items {
        guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
            throw ValidationError("\(option) \"\(item)\" must be NAME=VALUE")
        }
        result[String(item[..<equals])] = String(item[item.index(after: equals)...])
    }
    return result
}

/// `upgrade-gate window open|close|reset NAME`: the HTTP API from a pipeline step.
struct Window: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Open, close or reset an upgrade window through the daemon's API.",
        subcommands: [Open.self, Close.self, Reset.self]
    )

    struct Connection: ParsableArguments {
        @Option(help: "The daemon's URL.")
        var url: String = "http://127.0.0.1:8080"

        @Option(help: "File holding the bearer token (auth.tokenFile of the daemon).")
        var tokenFile: String?
    }

    static func perform(_ action: WindowClient.Action, _ connection: Connection) async throws {
        do {
            print(try await WindowClient.perform(action, url: connection.url, tokenFile: connection.tokenFile))
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    struct Open: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open a window: captures the baseline, answers once it is persisted.")

        @Argument(help: "The window's name (DNS-1123 label).") var name: String
        @OptionGroup var connection: Connection
        @Option(help: "The component being upgraded.") var component: String?
        @Option(name: .customLong("from"), help: "Version before the upgrade.") var fromVersion: String?
        @Option(name: .customLong("to"), help: "Version after the upgrade.") var toVersion: String?
        @Option(name: .customLong("namespace"), help: "A namespace of the component (repeatable).") var namespaces: [String] = []
        @Option(name: .customLong("label"), help: "A template label NAME=VALUE (repeatable).") var labels: [String] = []
        @Option(name: .customLong("check"), help: "Run only this check (repeatable).") var checks: [String] = []
        @Option(help: "Soak override, e.g. 30m.") var soak: String?
        @Option(help: "Duration override, e.g. 4h.") var duration: String?
        @Option(help: "Run preflight on these manifests first (file, directory or -) and open nothing when it fails.") var preflight: String?
        @Option(help: "With --preflight: the Kubernetes release the upgrade targets, e.g. 1.32.") var kubernetesVersion: String?
        @Flag(help: "Return once the pre-upgrade backup is Completed; exit 1 if it failed.") var wait = false
        @Option(help: "How long --wait waits, in seconds.") var waitTimeout: Int = 1800

        func validate() throws {
            _ = try parseKeyValues(labels, option: "--label")
            if kubernetesVersion != nil, preflight == nil { throw ValidationError("--kubernetes-version needs --preflight PATH") }
            _ = try preflightOptions(kubernetesVersion: kubernetesVersion, targetVersions: [], cluster: false)
        }

        func run() async throws {
            if let preflight {
                // Checked before anything is sent: a failing preflight creates no window.
                let set: ManifestSet
                do {
                    set = try readManifests([preflight])
                } catch {
                    FileHandle.standardError.write(Data("preflight: \(error)\n".utf8))
                    throw ExitCode(usageExitCode)
                }
                let options = try preflightOptions(kubernetesVersion: kubernetesVersion, targetVersions: [], cluster: false)
                let report = await runPreflight(set, options: options, config: nil)
                if report.exitCode != 0 {
                    FileHandle.standardError.write(Data((report.renderTable() + "window \(name) not opened: preflight \(report.verdict)\n").utf8))
                    throw ExitCode(1)
                }
            }
            let request = WindowClient.OpenRequest(
                name: name,
                component: component,
                fromVersion: fromVersion,
                toVersion: toVersion,
                namespaces: namespaces,
                labels: try parseKeyValues(labels, option: "--label"),
                checks: checks,
                soak: soak,
                duration: duration
            )
            try await Window.perform(.open(request), connection)
            guard wait else { return }
            let outcome: WindowClient.BackupWait
            do {
                outcome = try await WindowClient.waitForBackup(name: name, url: connection.url, timeout: .seconds(waitTimeout))
            } catch {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                throw ExitCode(1)
            }
            switch outcome {
            case .ready(let message): print(message)
            case .failed(let message):
                FileHandle.standardError.write(Data("\(message)\n".utf8))
                throw ExitCode(1)
            }
        }
    }

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close a window and record its final verdict.")
        @Argument(help: "The window's name.") var name: String
        @OptionGroup var connection: Connection
        @Option(help: "Why, for the audit trail.") var reason: String?
        func run() async throws { try await Window.perform(.close(name: name, reason: reason), connection) }
    }

    struct Reset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Clear a sticky fail (audited).")
        @Argument(help: "The window's name.") var name: String
        @OptionGroup var connection: Connection
        @Option(help: "Why, for the audit trail.") var reason: String?
        func run() async throws { try await Window.perform(.reset(name: name, reason: reason), connection) }
    }
}

/// `upgrade-gate lint PATH…`: the version-pinning policy (never `latest`).
struct Lint: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Flag container images without a pinned tag or digest, `latest`, and mutable tags; exit 1 on findings.",
        discussion: "Reads Kubernetes manifests, Helm values files, kustomizations and Dockerfiles (files or directories, recursively)."
    )

    @Argument(help: "Files or directories to check.")
    var paths: [String]

    func run() async throws {
        let findings: [LintFinding]
        do {
            findings = try Linter.lint(paths: paths)
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(usageExitCode)
        }
        for finding in findings { print(finding) }
        if !findings.isEmpty {
            FileHandle.standardError.write(Data("\(findings.count) image(s) not pinned\n".utf8))
            throw ExitCode(1)
        }
    }
}
