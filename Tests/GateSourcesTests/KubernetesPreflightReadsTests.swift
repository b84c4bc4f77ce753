import FakeKubernetes
import Foundation
import Testing

@testable import GateSources

/// The reads preflight makes: the server version, a cluster-scoped CRD, and an object count from a one-item list.
@Suite struct KubernetesPreflightReadsTests {
    @Test func readsTheServerVersion() async throws {
        try await withKubernetes { harness in
            harness.server.setServerVersion("v1.32.5-eks-1234")
            let version = try await harness.client.serverVersion()
            #expect(version == "v1.32.5-eks-1234")
        }
    }

    @Test func readsAnInstalledCRDWithItsStoredVersionsAndCountsItsObjects() async throws {
        try await withKubernetes { harness in
            harness.server.install(
                FakeInstalledCRD(
                    group: "cert-manager.io",
                    kind: "Certificate",
                    plural: "certificates",
                    versions: [.init("v1alpha2", served: false), .init("v1", storage: true)],
                    storedVersions: ["v1alpha2", "v1"],
                    objects: 1234
                )
            )
            let crd = try await harness.client.getClusterScoped(
                group: "apiextensions.k8s.io",
                version: "v1",
                plural: "customresourcedefinitions",
                name: "certificates.cert-manager.io"
            )
            #expect(crd.status?["storedVersions"]?.arrayValue?.compactMap(\.stringValue) == ["v1alpha2", "v1"])
            let count = try await harness.client.count(group: "cert-manager.io", version: "v1", plural: "certificates")
            #expect(count == 1234)
            #expect(harness.server.requests.last?.query["limit"] == "1")
        }
    }

    @Test func aMissingCRDIsNotFoundAndAForbiddenOneSaysWhichRole() async throws {
        try await withKubernetes { harness in
            let missing = await kubernetesFailure {
                try await harness.client.getClusterScoped(
                    group: "apiextensions.k8s.io",
                    version: "v1",
                    plural: "customresourcedefinitions",
                    name: "nope.example.com"
                )
            }
            #expect(missing == .notFound)
            harness.server.forbid(verb: "get", plural: "customresourcedefinitions")
            let forbidden = await kubernetesFailure {
                try await harness.client.getClusterScoped(
                    group: "apiextensions.k8s.io",
                    version: "v1",
                    plural: "customresourcedefinitions",
                    name: "x.y"
                )
            }
            #expect(forbidden == .forbidden && "\(forbidden.map { "\($0)" } ?? "")".contains("customresourcedefinitions"))
        }
    }

    @Test func countsSmallListsWithoutARemainder() async throws {
        try await withKubernetes { harness in
            harness.server.install(
                FakeInstalledCRD(
                    group: "example.io",
                    kind: "Widget",
                    plural: "widgets",
                    versions: [.init("v1", storage: true)],
                    storedVersions: ["v1"],
                    objects: 1
                )
            )
            let one = try await harness.client.count(group: "example.io", version: "v1", plural: "widgets")
            #expect(one == 1)
            harness.server.install(
                FakeInstalledCRD(
                    group: "example.io",
                    kind: "Widget",
                    plural: "widgets",
                    versions: [.init("v1", storage: true)],
                    storedVersions: ["v1"],
                    objects: 0
                )
            )
            let none = try await harness.client.count(group: "example.io", version: "v1", plural: "widgets")
            #expect(none == 0)
        }
    }
}
