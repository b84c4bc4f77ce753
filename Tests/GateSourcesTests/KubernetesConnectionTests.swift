import FakeKubernetes
import Foundation
import Testing

@testable import GateSources

@Suite("Kubernetes connection settings")
struct KubernetesConnectionTests {
    static let environment = ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"]

    @Test func inClusterUsesServiceEnvironmentTokenAndCA() throws {
        let account = try FakeServiceAccount(token: "t", withCA: true)
        defer { account.remove() }
        let connection = try KubernetesConnection.inCluster(environment: Self.environment, serviceAccountDirectory: account.directory)
        #expect(connection == KubernetesConnection(apiServer: "https://10.96.0.1:443", tokenFile: account.tokenFile, caFile: account.caFile))
    }

    @Test(arguments: [
        ("fd00:10:96::1", "https://[fd00:10:96::1]:6443"), ("[fd00::1]", "https://[fd00::1]:6443"),
        ("kubernetes.default.svc", "https://kubernetes.default.svc:6443"),
    ])
    func inClusterHostIsBracketedOnlyWhenItIsBareIPv6(host: String, url: String) throws {
        let account = try FakeServiceAccount(token: "t")
        defer { account.remove() }
        let connection = try KubernetesConnection.inCluster(
            environment: ["KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": "6443"],
            serviceAccountDirectory: account.directory
        )
        #expect(connection.apiServer == url)
    }

    @Test func inClusterWithoutCAUsesTheSystemTrustStore() throws {
        let account = try FakeServiceAccount(token: "t", withCA: false)
        defer { account.remove() }
        let connection = try KubernetesConnection.inCluster(environment: Self.environment, serviceAccountDirectory: account.directory)
        #expect(connection.caFile == nil)
    }

    @Test func outsideAClusterWithoutApiServerIsAConfigurationError() {
        do {
            _ = try KubernetesConnection.inCluster(environment: [:], serviceAccountDirectory: "/nonexistent")
            Issue.record("expected an error")
        } catch {
            #expect(error == .configuration)
            #expect(error.description.contains("KUBERNETES_SERVICE_HOST"))
            #expect(error.description.contains("set kubernetes.apiServer"))
        }
    }

    @Test func inClusterWithoutTokenIsAConfigurationErrorNamingThePath() {
        do {
            _ = try KubernetesConnection.inCluster(environment: Self.environment, serviceAccountDirectory: "/nonexistent/sa")
            Issue.record("expected an error")
        } catch {
            #expect(error == .configuration)
            #expect(error.description.contains("/nonexistent/sa/token"))
        }
    }

    @Test func badServicePortIsAConfigurationError() {
        #expect(throws: KubernetesError.configuration) {
            try KubernetesConnection.inCluster(environment: ["KUBERNETES_SERVICE_HOST": "h", "KUBERNETES_SERVICE_PORT": "https"])
        }
    }

    @Test func explicitSettingsWinAndMissingOnesFallBackToInCluster() throws {
        let account = try FakeServiceAccount(token: "t", withCA: true)
        defer { account.remove() }
        let onlyServer = try KubernetesConnection.resolve(
            apiServer: "https://127.0.0.1:6443/",
            tokenFile: nil,
            caFile: nil,
            environment: [:],
            serviceAccountDirectory: account.directory
        )
        #expect(onlyServer == KubernetesConnection(apiServer: "https://127.0.0.1:6443", tokenFile: account.tokenFile, caFile: account.caFile))

        let onlyToken = try KubernetesConnection.resolve(
            apiServer: nil,
            tokenFile: "/etc/gate/token",
            caFile: nil,
            environment: Self.environment,
            serviceAccountDirectory: account.directory
        )
        #expect(onlyToken == KubernetesConnection(apiServer: "https://10.96.0.1:443", tokenFile: "/etc/gate/token", caFile: account.caFile))

        let all = try KubernetesConnection.resolve(
            apiServer: "https://k:1",
            tokenFile: "/t",
            caFile: "/ca",
            environment: [:],
            serviceAccountDirectory: "/nonexistent"
        )
        #expect(all == KubernetesConnection(apiServer: "https://k:1", tokenFile: "/t", caFile: "/ca"))
    }

    @Test func explicitApiServerWithoutAnyTokenSendsNone() throws {
        let connection = try KubernetesConnection.resolve(
            apiServer: "http://127.0.0.1:8001",
            tokenFile: nil,
            caFile: nil,
            environment: [:],
            serviceAccountDirectory: "/nonexistent"
        )
        #expect(connection.tokenFile == nil)
        #expect(connection.caFile == nil)
    }

    @Test func clientFromInClusterSettingsTalksToTheServer() async throws {
        let token = "in-cluster-SECRET"
        let server = try await FakeKubernetesServer.start(token: token)
        let account = try FakeServiceAccount(token: token)
        let connection = try KubernetesConnection.resolve(
            apiServer: server.url,
            tokenFile: nil,
            caFile: nil,
            environment: [:],
            serviceAccountDirectory: account.directory
        )
        let client = KubernetesClient(connection: connection)
        let backups = try await client.list(group: "velero.io", version: "v1", namespace: "velero", plural: "backups")
        await client.shutdown()
        await server.stop()
        account.remove()
        #expect(backups.isEmpty)
    }
}
