import Foundation
import GateConfig
import GateCore
import GateHTTP
import GatePreflight
import GateSources

/// What a preflight run is asked to do, beyond reading the manifests.
public struct PreflightOptions: Sendable, Equatable {
    /// `--kubernetes-version`: the release the upgrade targets; without it the cluster's `/version` (with ``cluster``),
    /// else the newest release the API table knows.
    public var kubernetesVersion: ReleaseVersion?
    /// `--target-version TOOL=VERSION`: the release of a tool the upgrade installs.
    public var toolVersions: [String: ReleaseVersion]
    /// `--cluster`: compare with the live CRDs and, with a Prometheus configured, ask who still calls removed APIs.
    public var cluster: Bool

    /// Creates options.
    public init(kubernetesVersion: ReleaseVersion? = nil, toolVersions: [String: ReleaseVersion] = [:], cluster: Bool = false) {
        self.kubernetesVersion = kubernetesVersion
        self.toolVersions = toolVersions
        self.cluster = cluster
    }
}

/// Runs preflight: gathers the evidence the options ask for (cluster, Prometheus), then the pure judgement.
///
/// - Important: a source that was asked for and failed makes the report inconclusive; it is never skipped silently.
public func runPreflight(
    _ manifests: ManifestSet,
    options: PreflightOptions,
    config: GateConfig?,
    now: Double = Date().timeIntervalSince1970
) async -> PreflightReport {
    let table = APITable.builtIn
    var evidence: ClusterEvidence?
    if options.cluster {
        evidence = await gatherClusterEvidence(manifests, config: config, askVersion: options.kubernetesVersion == nil, now: now)
    }
    let targets: PreflightTargets
    if let flag = options.kubernetesVersion {
        targets = PreflightTargets(kubernetes: flag, kubernetesSource: .flag, tools: options.toolVersions)
    } else if let server = evidence?.serverVersion {
        targets = PreflightTargets(kubernetes: server, kubernetesSource: .cluster, tools: options.toolVersions)
    } else {
        targets = PreflightTargets(kubernetes: table.newestKubernetesRelease, kubernetesSource: .table, tools: options.toolVersions)
    }
    return Preflight.evaluate(manifests, targets: targets, evidence: evidence, table: table)
}

/// Reads the live CRDs the manifests name (stored versions, object counts), the server version, and — with a
/// Prometheus configured — `apiserver_requested_deprecated_apis`.
func gatherClusterEvidence(_ manifests: ManifestSet, config: GateConfig?, askVersion: Bool, now: Double) async -> ClusterEvidence {
    var evidence = ClusterEvidence()
    let connection: KubernetesConnection
    do {
        connection = try KubernetesConnection.resolve(
            apiServer: config?.kubernetes?.apiServer,
            tokenFile: config?.kubernetes?.tokenFile,
            caFile: config?.kubernetes?.caFile
        )
    } catch {
        evidence.clusterProblem = "\(error)"
        return evidence
    }
    // A preflight is interactive or a pipeline step: give up on a dead API server within seconds, not minutes.
    let client = KubernetesClient(connection: connection, options: .init(requestTimeout: .seconds(10), deadline: .seconds(20)))
    do throws(KubernetesError) {
        if askVersion {
            let text = try await client.serverVersion()
            evidence.serverVersion = ReleaseVersion(parsing: text)
            if evidence.serverVersion == nil {
                evidence.clusterProblem =
                    "the API server reports the version \"\(text.prefix(40))\", which is not a release number; pass --kubernetes-version"
            }
        }
        for (_, crd) in manifests.crds where !crd.name.isEmpty && evidence.crds[crd.name] == nil {
            let live: KubernetesObject
            do {
                live = try await client.getClusterScoped(
                    group: "apiextensions.k8s.io",
                    version: "v1",
                    plural: "customresourcedefinitions",
                    name: crd.name
                )
            } catch  where error == .notFound {
                continue  // a new CRD: nothing stored yet
            }
            let stored = live.status?["storedVersions"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let served = (live.spec?["versions"]?.arrayValue ?? []).filter { $0["served"]?.boolValue == true }.compactMap { $0["name"]?.stringValue }
            var record = ClusterEvidence.LiveCRD(name: crd.name, storedVersions: stored, servedVersions: served)
            // Count only when it matters (a stored version the new CRD drops): one request per such CRD.
            if stored.contains(where: { !crd.listedVersions.contains($0) }), let version = served.last,
                let group = live.spec?["group"]?.stringValue, let plural = live.spec?["names"]?["plural"]?.stringValue
            {
                record.objectCount = try? await client.count(group: group, version: version, plural: plural)
            }
            evidence.crds[crd.name] = record
        }
    } catch {
        evidence.clusterProblem = "\(error)"
    }
    await client.shutdown()

    if let prometheus = config?.prometheus {
        let http = HTTPClient(configuration: httpConfiguration(for: prometheus))
        let source = PrometheusClient(url: prometheus.url, http: http, timeout: .milliseconds(Int64(prometheus.timeout * 1000)))
        do {
            let response = try await source.instant("apiserver_requested_deprecated_apis", at: now)
            evidence.deprecatedRequests = (response.result.instantSeries ?? []).map { series in
                ClusterEvidence.DeprecatedRequest(
                    group: series.labels["group"] ?? "",
                    version: series.labels["version"] ?? "",
                    resource: series.labels["resource"] ?? "",
                    subresource: series.labels["subresource"] ?? "",
                    removedRelease: series.labels["removed_release"].flatMap(ReleaseVersion.init(parsing:))
                )
            }
        } catch {
            evidence.prometheusProblem = "\(error)"
        }
        await http.shutdown()
    }
    return evidence
}
