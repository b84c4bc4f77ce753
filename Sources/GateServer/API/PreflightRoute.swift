import GatePreflight
import Hummingbird

/// `POST /api/v1/preflight`: the body is the manifests (multi-document YAML, as `helm template` prints it); the
/// answer is the preflight report as JSON — 200 whatever the verdict, which is in the body.
///
/// Query parameters: `kubernetesVersion=1.32`, `targetVersion=TOOL=VERSION` (repeatable), `cluster=true` (compare
/// with the live CRDs through the daemon's `kubernetes` settings, and ask its Prometheus who still calls removed APIs).
/// Manifests that cannot be read are a 400 naming the document and line.
func preflightResponse(_ body: ByteBuffer, request: Request, api: APIContext) async throws(APIError) -> Response {
    let options = try preflightOptions(request.uri.queryParameters.map { (String($0.key), String($0.value)) })
    guard body.readableBytes > 0 else {
        throw .badRequest(
            "the body is empty: send the manifests (multi-document YAML, as helm template or kustomize build print them)",
            field: "body"
        )
    }
    guard let text = String(validating: body.readableBytesView, as: UTF8.self) else {
        throw .badRequest("the body is not UTF-8 text", field: "body")
    }
    let manifests: ManifestSet
    do {
        // The body is already bounded by limits.maxBodyBytes; the reader's other bounds (documents, alias expansion,
        // nesting) still apply.
        manifests = try ManifestReader().read(text: text, file: "body")
    } catch {
        throw .badRequest(error.description, field: error.field.map { "body.\($0)" } ?? "body")
    }
    let report = await runPreflight(manifests, options: options, config: api.config, now: api.now())
    return jsonResponse(.ok, Array(report.renderJSON().utf8))
}

private func preflightOptions(_ query: [(String, String)]) throws(APIError) -> PreflightOptions {
    var options = PreflightOptions()
    for (key, value) in query {
        switch key {
        case "kubernetesVersion":
            guard let version = ReleaseVersion(parsing: value) else {
                throw .badRequest("kubernetesVersion \"\(value.prefix(40))\" is not a release such as 1.32", field: "kubernetesVersion")
            }
            options.kubernetesVersion = version
        case "targetVersion":
            guard let equals = value.firstIndex(of: "="), let version = ReleaseVersion(parsing: String(value[value.index(after: equals)...])) else {
                throw .badRequest("targetVersion \"\(value.prefix(60))\" must be TOOL=VERSION, such as cert-manager=1.7", field: "targetVersion")
            }
            options.toolVersions[String(value[..<equals])] = version
        case "cluster":
            guard let flag = Bool(value.lowercased()) else { throw .badRequest("cluster must be true or false", field: "cluster") }
            options.cluster = flag
        default:
            throw .badRequest(
                "unknown query parameter \"\(key.prefix(40))\"; known: kubernetesVersion, targetVersion, cluster",
                field: String(key.prefix(40))
            )
        }
    }
    return options
}
