import Foundation

/// Where the Kubernetes API server is and how to trust and authenticate to it.
///
/// Secrets are paths only: the token file is read by ``GateHTTP`` when requests are sent, and re-read
/// regularly because projected service-account tokens rotate (about hourly).
public struct KubernetesConnection: Sendable, Equatable {
    /// The directory a pod's service-account token, CA and namespace are mounted in.
    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// The API server's base URL, e.g. `https://10.96.0.1:443`, without a trailing slash.
    public var apiServer: String
    /// The file holding the bearer token; `nil` sends no token (the server will answer 401 for most calls).
    public var tokenFile: String?
    /// The CA bundle that verifies the API server; `nil` uses the system's trust store.
    public var caFile: String?

    /// Creates connection settings.
    public init(apiServer: String, tokenFile: String? = nil, caFile: String? = nil) {
        var base = apiServer
        while base.hasSuffix("/") { base.removeLast() }
        self.apiServer = base
        self.tokenFile = tokenFile
        self.caFile = caFile
    }

    /// The in-cluster settings, as client-go's `rest.InClusterConfig` builds them.
    ///
    /// The URL is `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT` (an IPv6 host in brackets); the token
    /// is `token` in `serviceAccountDirectory`, which must be readable; the CA is `ca.crt` there when it exists.
    public static func inCluster(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        serviceAccountDirectory: String = KubernetesConnection.serviceAccountDirectory
    ) throws(KubernetesError) -> KubernetesConnection {
        try resolve(apiServer: nil, tokenFile: nil, caFile: nil, environment: environment, serviceAccountDirectory: serviceAccountDirectory)
    }

    /// Settings from the optional `kubernetes:` keys, each missing key falling back to its in-cluster value.
    ///
    /// - Without `apiServer`, the service environment variables must be set (the gate runs in a pod).
    /// - Without `tokenFile`, the service-account token is used; with an explicit `apiServer` it may be absent
    ///   (then no token is sent), otherwise it must be readable.
    /// - Without `caFile`, the service-account `ca.crt` is used when it exists, else the system trust store.
    public static func resolve(
        apiServer: String?,
        tokenFile: String?,
        caFile: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        serviceAccountDirectory: String = KubernetesConnection.serviceAccountDirectory
    ) throws(KubernetesError) -> KubernetesConnection {
        let directory = serviceAccountDirectory.hasSuffix("/") ? String(serviceAccountDirectory.dropLast()) : serviceAccountDirectory
        let server: String
        if let apiServer {
            server = apiServer
        } else {
            let host = environment["KUBERNETES_SERVICE_HOST"] ?? ""
            let port = environment["KUBERNETES_SERVICE_PORT"] ?? ""
            guard !host.isEmpty, !port.isEmpty else {
                throw .configuration(
                    "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not both set",
                    fix: "run the gate in a pod, or set kubernetes.apiServer (and kubernetes.tokenFile) for out-of-cluster use"
                )
            }
            guard port.allSatisfy(\.isASCIIDigit) else {
                throw .configuration(
                    "KUBERNETES_SERVICE_PORT is not a port number",
                    fix: "set kubernetes.apiServer explicitly, or fix the pod's environment"
                )
            }
            // An IPv6 literal needs brackets in a URL (client-go uses net.JoinHostPort).
            let isBareIPv6 = host.contains(":") && !host.hasPrefix("[")
            server = "https://\(isBareIPv6 ? "[\(host)]" : host):\(port)"
        }

        var token = tokenFile
        if token == nil {
            let inClusterToken = directory + "/token"
            if FileManager.default.isReadableFile(atPath: inClusterToken) {
                token = inClusterToken
            } else if apiServer == nil {
                throw .configuration(
                    "the service-account token \(inClusterToken) is missing or unreadable",
                    fix: "mount a service-account token (automountServiceAccountToken: true), or set kubernetes.tokenFile"
                )
            }
        }

        var ca = caFile
        if ca == nil {
            let inClusterCA = directory + "/ca.crt"
            if FileManager.default.fileExists(atPath: inClusterCA) { ca = inClusterCA }
        }
        return KubernetesConnection(apiServer: server, tokenFile: token, caFile: ca)
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
