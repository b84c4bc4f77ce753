import ArgumentParser
import Foundation
import GateConfig
import GatePreflight
import GateServer

/// `upgrade-gate preflight`: removed APIs, CRD stored versions and unpinned images, before the upgrade starts.
struct PreflightCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preflight",
        abstract: "Check the manifests an upgrade will apply: exit 0 clean (warnings allowed), 1 failing, 2 inconclusive, 64 usage/config error.",
        discussion: """
            Manifests are files, directories (*.yaml, *.yml, recursively) or - for standard input (helm template …, \
            kustomize build …). Findings: APIs the target Kubernetes release (or tool release) removes (fail) or deprecates \
            (warn); objects a CRD in the same manifests does not serve (fail); unpinned images, by the rules of lint (fail); \
            with --cluster, CRDs whose live status.storedVersions lists a version the new CRD drops (fail), and with the \
            config's Prometheus, clients still calling APIs the target removes (warn).
            """
    )

    @Option(help: "The configuration file (kubernetes and prometheus sections, for --cluster).")
    var config: String?

    @Option(name: .customLong("manifests"), help: "A manifest file, a directory, or - for standard input (repeatable).")
    var manifests: [String] = []

    @Option(help: "The Kubernetes release the upgrade targets, e.g. 1.32 (default: the cluster's with --cluster, else the newest the table knows).")
    var kubernetesVersion: String?

    @Option(name: .customLong("target-version"), help: "A tool release the upgrade installs, TOOL=VERSION, e.g. cert-manager=1.7 (repeatable).")
    var targetVersions: [String] = []

    @Flag(help: "Compare with the live cluster: CRD stored versions, its /version, and Prometheus's apiserver_requested_deprecated_apis.")
    var cluster = false

    @Option(help: "table or json.")
    var output: Check.OutputFormat = .table

    func validate() throws {
        if manifests.isEmpty { throw ValidationError("give at least one --manifests PATH (or - for standard input)") }
        _ = try options()
    }

    func options() throws -> PreflightOptions {
        try preflightOptions(kubernetesVersion: kubernetesVersion, targetVersions: targetVersions, cluster: cluster)
    }

    func run() async throws {
        let config = try self.config.map(loadConfigOrExit)
        let set: ManifestSet
        do {
            set = try readManifests(manifests)
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(usageExitCode)
        }
        let report = await runPreflight(set, options: try options(), config: config)
        print(output == .json ? report.renderJSON() : report.renderTable(), terminator: "")
        throw ExitCode(report.exitCode)
    }
}

/// Parses the preflight flags shared by `preflight` and `window open --preflight`.
func preflightOptions(kubernetesVersion: String?, targetVersions: [String], cluster: Bool) throws -> PreflightOptions {
    var options = PreflightOptions(cluster: cluster)
    if let kubernetesVersion {
        guard let version = ReleaseVersion(parsing: kubernetesVersion) else {
            throw ValidationError("--kubernetes-version \"\(kubernetesVersion)\" is not a release such as 1.32")
        }
        options.kubernetesVersion = version
    }
    for (tool, text) in try parseKeyValues(targetVersions, option: "--target-version") {
        guard let version = ReleaseVersion(parsing: text) else {
            throw ValidationError("--target-version \(tool)=\(text): \"\(text)\" is not a release such as 1.7")
        }
        options.toolVersions[tool] = version
    }
    return options
}

/// Reads manifests from paths, `-` meaning standard input (read up to the reader's size bound, never further).
func readManifests(_ paths: [String]) throws(PreflightInputError) -> ManifestSet {
    let reader = ManifestReader()
    return try reader.read(paths: paths) {
        var bytes: [UInt8] = []
        let limit = reader.limits.maxInputBytes
        while bytes.count <= limit {
            guard let chunk = try? FileHandle.standardInput.read(upToCount: 1 << 16), !chunk.isEmpty else { break }
            bytes += chunk
        }
        return bytes
    }
}
