import Foundation
import Testing

@testable import GateSources

/// Reads a Kubernetes wire fixture.
func kubernetesFixture(_ name: String) throws -> [UInt8] {
    let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures/kubernetes"))
    return Array(try Data(contentsOf: url))
}

/// How each `Status` fixture must be decoded and classified.
struct StatusCase: Sendable, CustomTestStringConvertible {
    var file: String
    var httpStatus: Int
    var label: String
    var reason: String?
    var retryable: Bool
    var messagePart: String

    var testDescription: String { file }
}

@Suite("Kubernetes Status decoding")
struct KubernetesStatusTests {
    static let cases: [StatusCase] = [
        StatusCase(
            file: "status-409-already-exists.json",
            httpStatus: 409,
            label: "already_exists",
            reason: "AlreadyExists",
            retryable: false,
            messagePart: "backups.velero.io \"cert-manager-7f3a9c-pre\" already exists"
        ),
        StatusCase(
            file: "status-409-conflict.json",
            httpStatus: 409,
            label: "conflict",
            reason: "Conflict",
            retryable: false,
            messagePart: "the object has been modified"
        ),
        StatusCase(
            file: "status-404-not-found.json",
            httpStatus: 404,
            label: "not_found",
            reason: "NotFound",
            retryable: false,
            messagePart: "\"cert-manager-7f3a9c-rollback\" not found"
        ),
        StatusCase(
            file: "status-404-page-not-found.txt",
            httpStatus: 404,
            label: "not_found",
            reason: nil,
            retryable: false,
            messagePart: "body: 404 page not found"
        ),
        StatusCase(
            file: "status-401-unauthorized.json",
            httpStatus: 401,
            label: "unauthorized",
            reason: "Unauthorized",
            retryable: false,
            messagePart: "Unauthorized"
        ),
        StatusCase(
            file: "status-403-forbidden.json",
            httpStatus: 403,
            label: "forbidden",
            reason: "Forbidden",
            retryable: false,
            messagePart: "cannot create resource \"restores\" in API group \"velero.io\""
        ),
        StatusCase(
            file: "status-422-invalid.json",
            httpStatus: 422,
            label: "invalid",
            reason: "Invalid",
            retryable: false,
            messagePart: "spec.ttl in body must be of type string"
        ),
        StatusCase(
            file: "status-400-strict-unknown-field.json",
            httpStatus: 400,
            label: "invalid",
            reason: "BadRequest",
            retryable: false,
            messagePart: "unknown field \"spec.includedNamespace\""
        ),
        StatusCase(
            file: "status-429-too-many-requests.json",
            httpStatus: 429,
            label: "throttled",
            reason: "TooManyRequests",
            retryable: true,
            messagePart: "Too many requests"
        ),
        StatusCase(
            file: "status-500-internal-error.json",
            httpStatus: 500,
            label: "server_error",
            reason: "InternalError",
            retryable: true,
            messagePart: "resource quota evaluation timed out"
        ),
        StatusCase(
            file: "status-503-service-unavailable.json",
            httpStatus: 503,
            label: "server_error",
            reason: "ServiceUnavailable",
            retryable: true,
            messagePart: "unable to handle the request"
        ),
        StatusCase(
            file: "status-504-timeout.json",
            httpStatus: 504,
            label: "timeout",
            reason: "Timeout",
            retryable: true,
            messagePart: "request did not complete"
        ),
    ]

    static let call = KubernetesCall(verb: "create", group: "velero.io", version: "v1", namespace: "velero", plural: "backups", name: "b")

    @Test(arguments: cases)
    func everyFixtureDecodesIntoItsError(_ fixture: StatusCase) throws {
        let body = try kubernetesFixture(fixture.file)
        let status = KubernetesStatus.decode(body)
        if fixture.file.hasSuffix(".json") {
            let decoded = try #require(status)
            #expect(decoded.code == fixture.httpStatus)
            #expect(decoded.status == "Failure")
            #expect(decoded.reason == fixture.reason)
        } else {
            #expect(status == nil)
        }
        let text = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let error = KubernetesError.answer(Self.call, httpStatus: fixture.httpStatus, status: status, bodyText: text, attempts: 1, tokenFile: "/t")
        #expect(error.label == fixture.label)
        #expect(error.isRetryable == fixture.retryable)
        #expect(error.httpStatus == fixture.httpStatus)
        #expect(error.statusReason == fixture.reason)
        #expect(error.description.contains(fixture.messagePart), "\(error.description)")
        #expect(error.description.hasPrefix("\(fixture.label): create backups.velero.io \"velero/b\" failed with HTTP \(fixture.httpStatus)"))
    }

    @Test func invalidStatusCarriesEveryCauseWithItsField() throws {
        let status = try #require(KubernetesStatus.decode(try kubernetesFixture("status-422-invalid.json")))
        #expect(status.name == "cert-manager-7f3a9c-pre")
        #expect(status.kind == "Backup")
        #expect(status.causes.map(\.field) == ["spec.ttl", "spec.includedNamespaces[0]"])
        #expect(status.causes.map(\.reason) == ["FieldValueTypeInvalid", "FieldValueTypeInvalid"])
    }

    @Test func retryAfterComesFromTheHeaderOrTheBody() throws {
        let status = KubernetesStatus.decode(try kubernetesFixture("status-429-too-many-requests.json"))
        #expect(status?.retryAfterSeconds == 1)
        #expect(KubernetesClient.retryAfter(header: "3", status: status) == .seconds(3))
        #expect(KubernetesClient.retryAfter(header: nil, status: status) == .seconds(1))
        #expect(KubernetesClient.retryAfter(header: "Wed, 21 Oct 2015 07:28:00 GMT", status: nil) == nil)
    }

    @Test func forbiddenOnAClusterWideListAsksForAClusterRole() throws {
        let call = KubernetesCall(verb: "list", group: "apps", version: "v1", namespace: nil, plural: "deployments", name: nil)
        let error = KubernetesError.answer(call, httpStatus: 403, status: nil, bodyText: "", attempts: 1, tokenFile: nil)
        #expect(error.description.contains("\"list\" verb on \"deployments\" in group apps cluster-wide with a ClusterRole and ClusterRoleBinding"))
    }

    @Test func unauthorizedWithoutTokenFileSaysHowToConfigureOne() {
        let error = KubernetesError.answer(Self.call, httpStatus: 401, status: nil, bodyText: "", attempts: 2, tokenFile: nil)
        #expect(error.description.contains("set kubernetes.tokenFile"))
    }

    @Test func bodiesThatAreNotStatusAreNotDecodedAsOne() {
        #expect(KubernetesStatus.decode(Array("not json".utf8)) == nil)
        #expect(KubernetesStatus.decode(Array(#"{"kind":"Backup"}"#.utf8)) == nil)
        #expect(KubernetesStatus.decode([]) == nil)
    }

    @Test func unexpectedStatusIsBadResponse() {
        let error = KubernetesError.answer(Self.call, httpStatus: 415, status: nil, bodyText: "unsupported media type", attempts: 1, tokenFile: nil)
        #expect(error == .badResponse)
        #expect(!error.isRetryable)
    }
}

@Suite("Kubernetes JSON values")
struct KubernetesJSONTests {
    @Test func encodingIsCompactSortedAndKeepsIntegersIntegral() {
        let value: JSONValue = ["b": [1, 2.5, true, nil], "a": "x\"y\n", "c": ["z": 72]]
        #expect(String(decoding: value.encoded(), as: UTF8.self) == #"{"a":"x\"y\n","b":[1,2.5,true,null],"c":{"z":72}}"#)
    }

    @Test func parsingRoundTrips() throws {
        let text = #"{"metadata":{"name":"n","labels":{"a":"b"}},"spec":{"n":3,"list":["x"],"flag":false,"none":null}}"#
        let value = try JSONValue.parse(Array(text.utf8))
        #expect(value["spec"]?["n"]?.intValue == 3)
        #expect(value["metadata"]?["labels"]?.stringMap == ["a": "b"])
        #expect(value["spec"]?["flag"]?.boolValue == false)
        #expect(value["spec"]?["none"] == .null)
        #expect(try JSONValue.parse(value.encoded()) == value)
    }

    @Test func brokenJSONSaysWhereWithoutQuotingContent() {
        do {
            _ = try JSONValue.parse(Array(#"{"token": "#.utf8))
            Issue.record("expected a parse error")
        } catch {
            #expect(!error.reason.isEmpty)
        }
    }
}
