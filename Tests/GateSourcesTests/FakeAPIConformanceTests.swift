import FakeKubernetes
import Foundation
import GateHTTP
import Testing

/// The fake API server against the wire contracts read from the Kubernetes source (Fixtures/kubernetes-ha): the
/// same Status bodies, resourceVersion and generation rules, status subresource, merge patch, list and watch.
///
/// Requests go out raw (GateHTTP, no KubernetesClient), so these tests see exactly what the fake sends.
@Suite struct FakeAPIConformanceTests {
    static let ns = "upgrade-gate"
    static let leases = "/apis/coordination.k8s.io/v1/namespaces/upgrade-gate/leases"
    static let windows = "/apis/upgradegate.dev/v1alpha1/namespaces/upgrade-gate/upgradewindows"
    static let events = "/api/v1/namespaces/upgrade-gate/events"

    // MARK: - Status bodies

    @Test func getOfAMissingLeaseIsTheContractsNotFound() async throws {
        try await withRawAPI { api in
            let answer = try await api.call("GET", Self.leases + "/upgrade-gate")
            #expect(answer.status == 404)
            #expect(answer.json == (try haFixture("status-404-notfound.json")))
        }
    }

    @Test func secondCreateIsAlreadyExistsAndStaleUpdateIsConflict() async throws {
        try await withRawAPI { api in
            let lease = try leaseBody()
            let created = try await api.call("POST", Self.leases, body: lease)
            #expect(created.status == 201)
            let again = try await api.call("POST", Self.leases, body: lease)
            #expect(again.status == 409)
            #expect(again.json == (try haFixture("status-409-alreadyexists.json")))

            var renewed = try #require(created.json)
            renewed["spec"]?["renewTime"] = "2026-12-03T14:37:02.112233Z"
            let first = try await api.call("PUT", Self.leases + "/upgrade-gate", body: renewed)
            #expect(first.status == 200)
            // The same body again carries the resourceVersion the first PUT replaced.
            renewed["spec"]?["renewTime"] = "2026-12-03T14:37:04.000001Z"
            let stale = try await api.call("PUT", Self.leases + "/upgrade-gate", body: renewed)
            #expect(stale.status == 409)
            #expect(stale.json == (try haFixture("status-409-conflict.json")))
        }
    }

    @Test func putWithoutResourceVersionIsTheContracts422() async throws {
        try await withRawAPI { api in
            var lease = try leaseBody()
            _ = try await api.call("POST", Self.leases, body: lease)
            lease["metadata"]?["resourceVersion"] = nil
            let answer = try await api.call("PUT", Self.leases + "/upgrade-gate", body: lease)
            #expect(answer.status == 422)
            #expect(answer.json == (try haFixture("status-422-invalid-missing-resourceversion.json")))
        }
    }

    @Test func anInvalidUpgradeWindowIsRejectedOnExactlyTheThreeFieldsOfTheContract() async throws {
        try await withRawAPI { api in
            let body: FakeJSON = [
                "apiVersion": "upgradegate.dev/v1alpha1", "kind": "UpgradeWindow",
                "metadata": ["name": "cert-manager-1-17-2", "namespace": "upgrade-gate"],
                "spec": ["fromVersion": "1.16.3", "toVersion": "1.17.2", "closed": "yes", "soak": "30 minutes"],
            ]
            let answer = try await api.call("POST", Self.windows, body: body)
            #expect(answer.status == 422)
            #expect(answer.json == (try haFixture("status-422-invalid.json")))
        }
    }

    @Test func strategicMergePatchOfACustomResourceIs415ButMergePatchWorks() async throws {
        try await withRawAPI { api in
            let created = try await api.call("POST", Self.windows, body: try windowBody("ingress-nginx-4-11-3"))
            #expect(created.status == 201)
            let patch: FakeJSON = ["spec": ["closed": true]]
            let strategic = try await api.call(
                "PATCH",
                Self.windows + "/ingress-nginx-4-11-3",
                body: patch,
                contentType: "application/strategic-merge-patch+json"
            )
            #expect(strategic.status == 415)
            #expect(strategic.json == (try haFixture("status-415-strategic-merge-patch-on-cr.json")))
            let merged = try await api.call("PATCH", Self.windows + "/ingress-nginx-4-11-3", body: patch, contentType: "application/merge-patch+json")
            #expect(merged.status == 200)
            #expect(merged.json?.value(at: "spec.closed") == true)
            #expect(merged.json?.value(at: "metadata.generation") == 2)
            #expect(merged.json?.value(at: "spec.component") == "ingress-nginx")
        }
    }

    @Test func deleteAnswersTheContractsSuccessStatus() async throws {
        try await withRawAPI { api in
            let created = try await api.call("POST", Self.windows, body: try windowBody("kube-prometheus-stack-66-2-1"))
            let uid = try #require(created.json?.value(at: "metadata.uid"))
            let answer = try await api.call("DELETE", Self.windows + "/kube-prometheus-stack-66-2-1")
            #expect(answer.status == 200)
            var expected = try haFixture("status-200-delete-success.json")
            expected["details"]?["uid"] = uid
            #expect(answer.json == expected)
            #expect(try await api.call("GET", Self.windows + "/kube-prometheus-stack-66-2-1").status == 404)
        }
    }

    // MARK: - Objects

    @Test func leasesKeepTheirSpecAsWrittenIncludingAnEmptyHolder() async throws {
        try await withRawAPI { api in
            let created = try await api.call("POST", Self.leases, body: try leaseBody())
            let fixture = try haFixture("lease-coordination-v1.json")
            #expect(created.json?["spec"] == fixture["spec"])
            #expect(created.json?.value(at: "metadata.generation") == nil, "the API server does not maintain generation for Leases")
            for field in ["uid", "resourceVersion", "creationTimestamp"] {
                #expect(created.json?["metadata"]?[field]?.stringValue?.isEmpty == false, "metadata.\(field)")
            }
            var released = try #require(created.json)
            released["spec"] = try haFixture("lease-coordination-v1-released.json")["spec"]
            let answer = try await api.call("PUT", Self.leases + "/upgrade-gate", body: released)
            #expect(answer.status == 200)
            #expect(answer.json?.value(at: "spec.holderIdentity") == "")
            #expect(answer.json?["spec"] == released["spec"])
        }
    }

    @Test func leaseTimesNeedSixFractionalDigitsAndPutCreatesAMissingLease() async throws {
        try await withRawAPI { api in
            var lease = try leaseBody()
            lease["spec"]?["renewTime"] = "2026-12-03T14:36:52Z"
            #expect(try await api.call("POST", Self.leases, body: lease).status == 400)
            lease["spec"]?["renewTime"] = "2026-12-03T14:36:52.904113Z"
            lease["spec"]?["leaseDurationSeconds"] = 0
            let zero = try await api.call("POST", Self.leases, body: lease)
            #expect(zero.status == 422)
            #expect(zero.json?.value(at: "details.causes")?.arrayValue?.first?["field"] == "spec.leaseDurationSeconds")
            lease["spec"]?["leaseDurationSeconds"] = 15
            let created = try await api.call("PUT", Self.leases + "/upgrade-gate", body: lease)
            #expect(created.status == 201, "PUT of a missing Lease creates it")
        }
    }

    @Test func resourceVersionsComeFromOneCounterAndNoOpWritesKeepThem() async throws {
        try await withRawAPI { api in
            let lease = try await api.call("POST", Self.leases, body: try leaseBody())
            let window = try await api.call("POST", Self.windows, body: try windowBody("ingress-nginx-4-11-3"))
            let leaseRV = try #require(lease.json?.value(at: "metadata.resourceVersion")?.stringValue.flatMap(Int.init))
            let windowRV = try #require(window.json?.value(at: "metadata.resourceVersion")?.stringValue.flatMap(Int.init))
            #expect(windowRV > leaseRV)
            let same = try await api.call("PUT", Self.windows + "/ingress-nginx-4-11-3", body: try #require(window.json))
            #expect(same.status == 200)
            #expect(same.json?.value(at: "metadata.resourceVersion") == window.json?.value(at: "metadata.resourceVersion"))
            let list = try await api.call("GET", Self.leases)
            #expect(list.json?.value(at: "metadata.resourceVersion")?.stringValue == String(windowRV))
        }
    }

    @Test func statusSubresourceChangesOnlyStatusAndTheMainResourceIgnoresStatus() async throws {
        try await withRawAPI { api in
            var body = try windowBody("ingress-nginx-4-11-3")
            body["status"] = ["verdict": "pass"]
            let created = try #require(try await api.call("POST", Self.windows, body: body).json)
            #expect(created["status"] == nil, "create drops status")
            #expect(created.value(at: "metadata.generation") == 1)
            #expect(created.value(at: "spec.closed") == false, "the CRD's default is applied")

            let ready = try haFixture("upgradewindow-status-ready.json")
            var statusWrite = created
            statusWrite["status"] = ready["status"]
            statusWrite["spec"]?["toVersion"] = "9.9.9"
            statusWrite["metadata"]?["labels"] = ["sneaky": "yes"]
            let written = try #require(try await api.call("PUT", Self.windows + "/ingress-nginx-4-11-3/status", body: statusWrite).json)
            #expect(written["status"] == ready["status"])
            #expect(written.value(at: "spec.toVersion") == "4.11.3", "/status ignores spec")
            #expect(written.value(at: "metadata.labels") == created.value(at: "metadata.labels"), "/status ignores labels")
            #expect(written.value(at: "metadata.generation") == 1, "status writes never bump generation")

            var mainWrite = written
            mainWrite["status"] = ["verdict": "fail"]
            mainWrite["spec"]?["closed"] = true
            let main = try #require(try await api.call("PUT", Self.windows + "/ingress-nginx-4-11-3", body: mainWrite).json)
            #expect(main.value(at: "status.verdict") == "pass", "the main resource ignores status")
            #expect(main.value(at: "metadata.generation") == 2, "a spec change bumps generation")

            var badStatus = main
            badStatus["status"]?["verdict"] = "maybe"
            let rejected = try await api.call("PUT", Self.windows + "/ingress-nginx-4-11-3/status", body: badStatus)
            #expect(rejected.status == 422)
            #expect(rejected.json?.value(at: "details.causes")?.arrayValue?.first?["field"] == "status.verdict")
            var missing = main
            missing["metadata"]?["name"] = "missing"
            #expect(try await api.call("PUT", Self.windows + "/missing/status", body: missing).status == 404, "/status never creates")
        }
    }

    @Test func everyUpgradeWindowInTheContractsValidatesAgainstTheShippedCRD() async throws {
        try await withRawAPI { api in
            var objects = try haFixture("list-upgradewindows.json")["items"]?.arrayValue ?? []
            objects.append(try haFixture("upgradewindow-status-ready.json"))
            for object in objects {
                var body = object
                for field in ["resourceVersion", "uid", "creationTimestamp", "generation", "managedFields"] { body["metadata"]?[field] = nil }
                let name = try #require(body.value(at: "metadata.name")?.stringValue)
                _ = try await api.call("DELETE", Self.windows + "/" + name)
                let created = try await api.call("POST", Self.windows, body: body)
                #expect(created.status == 201, "\(name): \(created.json?.text ?? "")")
                var withStatus = try #require(created.json)
                withStatus["status"] = object["status"]
                let status = try await api.call("PUT", Self.windows + "/\(name)/status", body: withStatus)
                #expect(status.status == 200, "\(name) status: \(status.json?.text ?? "")")
            }
        }
    }

    @Test func listHasTheContractsShape() async throws {
        try await withRawAPI { api in
            for name in ["ingress-nginx-4-11-3", "kube-prometheus-stack-66-2-1"] {
                _ = try await api.call("POST", Self.windows, body: try windowBody(name))
            }
            let list = try #require(try await api.call("GET", Self.windows).json)
            let fixture = try haFixture("list-upgradewindows.json")
            #expect(list["kind"] == fixture["kind"])
            #expect(list["apiVersion"] == fixture["apiVersion"])
            #expect(keys(list["metadata"]) == keys(fixture["metadata"]))
            #expect(list.value(at: "metadata.continue") == "")
            let items = list["items"]?.arrayValue ?? []
            #expect(items.map { $0.value(at: "metadata.name") } == ["ingress-nginx-4-11-3", "kube-prometheus-stack-66-2-1"])
            #expect(items.allSatisfy { $0["kind"] == "UpgradeWindow" && $0["apiVersion"] == "upgradegate.dev/v1alpha1" })
            // Built-in list items carry no kind.
            _ = try await api.call("POST", Self.leases, body: try leaseBody())
            let leases = try #require(try await api.call("GET", Self.leases).json)
            #expect(leases["kind"] == "LeaseList")
            #expect(leases["items"]?.arrayValue?.first?["kind"] == nil)
        }
    }

    // MARK: - Watch

    @Test func watchStreamsTheContractsSequenceOfEvents() async throws {
        try await withRawAPI { api in
            _ = try await api.call("POST", Self.windows, body: try windowBody("ingress-nginx-4-11-3"))
            let failing = try #require(try await api.call("POST", Self.windows, body: try windowBody("kube-prometheus-stack-66-2-1")).json)
            let start = try #require(try await api.call("GET", Self.windows).json?.value(at: "metadata.resourceVersion")?.stringValue)

            async let streamed = api.call("GET", Self.windows + "?watch=1&resourceVersion=\(start)&allowWatchBookmarks=true&timeoutSeconds=60")
            #expect(try await eventually(timeout: .seconds(30)) { api.server.objects.watchCount == 1 })

            // The contract's story: a status write, spec.closed (generation 2), the status catching up, the delete.
            let ready = try haFixture("upgradewindow-status-ready.json")
            var passing = try #require(try await api.call("GET", Self.windows + "/ingress-nginx-4-11-3").json)
            passing["status"] = ready["status"]
            _ = try await api.call("PUT", Self.windows + "/ingress-nginx-4-11-3/status", body: passing)
            let closed = try #require(
                try await api.call(
                    "PATCH",
                    Self.windows + "/kube-prometheus-stack-66-2-1",
                    body: ["spec": ["closed": true]],
                    contentType: "application/merge-patch+json"
                ).json
            )
            var caughtUp = closed
            caughtUp["status"] = ["observedGeneration": 2, "verdict": "fail", "phase": "Closed"]
            _ = try await api.call("PUT", Self.windows + "/kube-prometheus-stack-66-2-1/status", body: caughtUp)
            _ = try await api.call("DELETE", Self.windows + "/kube-prometheus-stack-66-2-1")
            // A patch that changes nothing sends no event.
            _ = try await api.call(
                "PATCH",
                Self.windows + "/ingress-nginx-4-11-3",
                body: ["spec": ["closed": false]],
                contentType: "application/merge-patch+json"
            )
            api.server.objects.closeWatches()

            let answer = try await streamed
            #expect(answer.status == 200)
            let events = answer.lines.compactMap { try? FakeJSON.parse(Array($0.utf8)) }.filter { $0["type"] != "BOOKMARK" }
            #expect(events.map { $0["type"]?.stringValue ?? "" } == ["MODIFIED", "MODIFIED", "MODIFIED", "DELETED"])
            #expect(events.map { $0.value(at: "object.metadata.generation") } == [1, 2, 2, 2])
            #expect(events[safe: 2]?.value(at: "object.status.observedGeneration") == 2)
            let rvs = events.compactMap { $0.value(at: "object.metadata.resourceVersion")?.stringValue.flatMap(Int.init) }
            #expect(rvs == rvs.sorted() && Set(rvs).count == 4, "every change has a new, larger resourceVersion: \(rvs)")
            #expect(events.last?.value(at: "object.metadata.uid") == failing.value(at: "metadata.uid"))
        }
    }

    @Test func watchFromACompactedResourceVersionIsOneErrorEventWith410() async throws {
        try await withRawAPI { api in
            _ = try await api.call("POST", Self.windows, body: try windowBody("ingress-nginx-4-11-3"))
            let old = try #require(try await api.call("GET", Self.windows).json?.value(at: "metadata.resourceVersion")?.stringValue)
            _ = try await api.call(
                "PATCH",
                Self.windows + "/ingress-nginx-4-11-3",
                body: ["spec": ["closed": true]],
                contentType: "application/merge-patch+json"
            )
            api.server.objects.compact()
            let answer = try await api.call("GET", Self.windows + "?watch=true&resourceVersion=\(old)&allowWatchBookmarks=true")
            #expect(answer.status == 200, "past admission, a watch fails inside the stream")
            #expect(answer.lines.count == 1)
            let event = try #require(answer.lines.first.flatMap { try? FakeJSON.parse(Array($0.utf8)) })
            #expect(event["type"] == "ERROR")
            let fixture = try #require(try haFixture("watch-stream-upgradewindows.jsonl", line: 9)["object"])
            var object = try #require(event["object"])
            #expect(object["message"]?.stringValue?.hasPrefix("too old resource version: \(old) (") == true)
            object["message"] = fixture["message"]
            #expect(object == fixture)
            #expect(object == (try haFixture("status-410-gone-expired.json")))
        }
    }

    @Test func watchWithoutResourceVersionStartsWithSyntheticAddsAndWatchListEndsThemWithABookmark() async throws {
        try await withRawAPI { api in
            for name in ["ingress-nginx-4-11-3", "kube-prometheus-stack-66-2-1"] {
                _ = try await api.call("POST", Self.windows, body: try windowBody(name))
            }
            let plain = try await api.call("GET", Self.windows + "?watch=1&timeoutSeconds=1")
            #expect(plain.lines.compactMap { try? FakeJSON.parse(Array($0.utf8))["type"] } == ["ADDED", "ADDED"])

            let refused = try await api.call("GET", Self.windows + "?watch=1&sendInitialEvents=true")
            #expect(refused.status == 422)
            let list = try await api.call(
                "GET",
                Self.windows + "?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1"
            )
            let types = list.lines.compactMap { try? FakeJSON.parse(Array($0.utf8))["type"] }
            #expect(Array(types.prefix(3)) == ["ADDED", "ADDED", "BOOKMARK"], "\(list.text)")
            let objects = list.lines.compactMap { try? FakeJSON.parse(Array($0.utf8))["object"] }
            let bookmark = try #require(objects[safe: 2])
            let fixture = try #require(try haFixture("watch-stream-upgradewindows.jsonl", line: 3)["object"])
            #expect(bookmark.value(at: "metadata.annotations") == fixture.value(at: "metadata.annotations"))
            #expect(keys(bookmark) == keys(fixture))
            #expect(bookmark["kind"] == "UpgradeWindow")
        }
    }

    @Test func periodicBookmarksCarryOnlyAResourceVersion() async throws {
        try await withRawAPI { api in
            api.server.objects.configure { $0.bookmarkInterval = .milliseconds(100) }
            let answer = try await api.call("GET", Self.windows + "?watch=1&resourceVersion=1&allowWatchBookmarks=true&timeoutSeconds=1")
            let bookmarks = answer.lines.compactMap { try? FakeJSON.parse(Array($0.utf8)) }.filter { $0["type"] == "BOOKMARK" }
            #expect(!bookmarks.isEmpty)
            let fixture = try haFixture("watch-stream-upgradewindows.jsonl", line: 8)
            for bookmark in bookmarks {
                #expect(keys(bookmark["object"]) == keys(fixture["object"]))
                #expect(bookmark.value(at: "object.metadata")?.objectValue?.keys.sorted() == ["resourceVersion"])
            }
        }
    }

    // MARK: - Events

    @Test func coreEventsAreCreatedAndFoundByTheSelectorKubectlDescribeUses() async throws {
        try await withRawAPI { api in
            var event = try haFixture("event-core-v1.json")
            for field in ["uid", "resourceVersion", "creationTimestamp"] { event["metadata"]?[field] = nil }
            let created = try await api.call("POST", Self.events, body: event)
            #expect(created.status == 201)
            let selector =
                "involvedObject.name=ingress-nginx-4-11-3,involvedObject.namespace=upgrade-gate,involvedObject.kind=UpgradeWindow,"
                + "involvedObject.uid=18c1f3b5-3ed1-41be-98ec-30123857ba3f"
            let found = try await api.call(
                "GET",
                Self.events + "?fieldSelector=\(selector.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")&limit=500"
            )
            #expect(found.json?["items"]?.arrayValue?.count == 1)
            let other = try await api.call("GET", Self.events + "?fieldSelector=involvedObject.uid%3Dsomeone-else")
            #expect(other.json?["items"]?.arrayValue?.isEmpty == true)

            var elsewhere = event
            elsewhere["metadata"]?["name"] = "elsewhere.1"
            elsewhere["involvedObject"]?["namespace"] = "default"
            let rejected = try await api.call("POST", Self.events, body: elsewhere)
            #expect(rejected.status == 422)
            #expect(rejected.json?.value(at: "details.causes")?.arrayValue?.first?["field"] == "involvedObject.namespace")

            let counted = try await api.call(
                "PATCH",
                Self.events + "/ingress-nginx-4-11-3.18edc519a1503109",
                body: ["count": 2],
                contentType: "application/strategic-merge-patch+json"
            )
            #expect(counted.status == 200, "built-in kinds accept strategic merge (client-go's recorder counts repeats with it)")
            #expect(counted.json?["count"] == 2)
        }
    }
}

// MARK: - Support

/// A fake API server and a raw HTTP client with its token.
struct RawAPI: Sendable {
    let server: FakeKubernetesServer
    let http: HTTPClient

    struct Answer {
        var status: Int
        var json: FakeJSON?
        var text: String

        /// The non-empty lines of a watch body.
        var lines: [String] { text.split(separator: "\n").map(String.init).filter { !$0.isEmpty } }
    }

    func call(_ method: String, _ path: String, body: FakeJSON? = nil, contentType: String = "application/json") async throws -> Answer {
        var headers: [(name: String, value: String)] = [("Authorization", "Bearer \(server.token)"), ("Accept", "application/json")]
        if body != nil { headers.append(("Content-Type", contentType)) }
        let response = try await http.execute(
            HTTPRequest(method: method, url: server.url + path, headers: headers, body: body?.encoded(), timeout: .seconds(120))
        )
        return Answer(status: response.status, json: try? FakeJSON.parse(response.body), text: response.bodyText)
    }
}

func withRawAPI(_ body: (RawAPI) async throws -> Void) async throws {
    let server = try await FakeKubernetesServer.start(token: "raw-\(UUID().uuidString)")
    let api = RawAPI(server: server, http: HTTPClient())
    do {
        try await body(api)
    } catch {
        await api.http.shutdown()
        await server.stop()
        throw error
    }
    await api.http.shutdown()
    await server.stop()
}

/// A contract fixture (Fixtures/kubernetes-ha); `line` picks one line (1-based) of a JSON-lines file.
func haFixture(_ name: String, line: Int? = nil) throws -> FakeJSON {
    let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures/kubernetes-ha"))
    let data = try Data(contentsOf: url)
    guard let line else { return try FakeJSON.parse(Array(data)) }
    let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
    return try FakeJSON.parse(Array(try #require(lines[safe: line - 1]).utf8))
}

/// The contract's Lease as a create body (server-set metadata removed).
func leaseBody() throws -> FakeJSON {
    var lease = try haFixture("lease-coordination-v1.json")
    for field in ["uid", "resourceVersion", "creationTimestamp", "managedFields"] { lease["metadata"]?[field] = nil }
    return lease
}

/// A contract UpgradeWindow (from the list fixture) as a create body.
func windowBody(_ name: String) throws -> FakeJSON {
    let items = try haFixture("list-upgradewindows.json")["items"]?.arrayValue ?? []
    var window = try #require(items.first { $0.value(at: "metadata.name")?.stringValue == name })
    window["status"] = nil
    for field in ["uid", "resourceVersion", "creationTimestamp", "generation"] { window["metadata"]?[field] = nil }
    return window
}

/// The member names of an object.
func keys(_ json: FakeJSON?) -> Set<String> {
    Set(json?.objectValue?.keys.map { $0 } ?? [])
}

extension Collection {
    subscript(safe index: Index) -> Element? { indices.contains(index) ? self[index] : nil }
}
