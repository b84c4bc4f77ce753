import GateCore
import GateSources
import Testing

@testable import GateServer

@Suite struct FlaggerPayloadTests {
    private func payload(name: String, namespace: String = "prod", checksum: String, labels: String = "") throws -> FlaggerPayload {
        let body = #"{"name":"\#(name)","namespace":"\#(namespace)","phase":"Progressing","checksum":"\#(checksum)","metadata":{\#(labels)}}"#
        return try decodeFlaggerPayload(try JSONValue.parse(Array(body.utf8)))
    }

    @Test func shortNamesAreNameNamespaceChecksum() throws {
        #expect(try payload(name: "podinfo", checksum: "85d557f47b").autoWindowName == "podinfo-prod-85d557f47b")
    }

    @Test func longNamesKeepRevisionsAndCanariesApart() throws {
        let long = String(repeating: "a", count: 50)
        let first = try payload(name: long, namespace: "payments-production", checksum: "85d557f47b").autoWindowName
        let next = try payload(name: long, namespace: "payments-production", checksum: "6c9f0d1e2a").autoWindowName
        let other = try payload(name: long + "-b", namespace: "payments-production", checksum: "85d557f47b").autoWindowName
        #expect(first != next, "a new revision gets a new window even when the checksum would be cut off")
        #expect(first != other)
        for label in [first, next, other] {
            #expect(label.count <= 63 && isDNS1123Label(label), "\(label)")
        }
        #expect(first == (try payload(name: long, namespace: "payments-production", checksum: "85d557f47b").autoWindowName), "stable")
    }

    @Test func aHookMayNotJudgeAnotherNamespaceThanItsCanarys() throws {
        #expect(throws: APIError.self) { try payload(name: "podinfo", checksum: "a", labels: #""label.namespace":"kube-system""#) }
        #expect(try payload(name: "podinfo", checksum: "a", labels: #""label.namespace":"prod""#).namespace == "prod")
    }
}
