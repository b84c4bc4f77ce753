import FakeKubernetes
import Foundation
import Testing

@testable import GateSources

/// A fake API server, a service-account directory holding its token, and a client using both.
struct KubernetesHarness {
    /// A recognisable token; no error description may contain it.
    let token: String
    let server: FakeKubernetesServer
    let account: FakeServiceAccount
    let client: KubernetesClient

    /// Fast retries so failure tests take well under a second or two.
    /// Short backoffs, and timeouts no loaded machine reaches: the fake server's handlers run on Swift's cooperative
    /// pool, which the other tests of the process share, so an answer can take many seconds under load.
    static let fastOptions = KubernetesClient.Options(
        requestTimeout: .seconds(60),
        initialBackoff: .milliseconds(20),
        maxBackoff: .milliseconds(200),
        deadline: .seconds(120)
    )

    static func start(options: KubernetesClient.Options = fastOptions, phaseStep: Duration = .milliseconds(30)) async throws -> KubernetesHarness {
        let token = "sa-token-SECRET-\(UUID().uuidString)"
        let server = try await FakeKubernetesServer.start(token: token, phaseStep: phaseStep)
        let account = try FakeServiceAccount(token: token)
        let connection = KubernetesConnection(apiServer: server.url, tokenFile: account.tokenFile)
        return KubernetesHarness(token: token, server: server, account: account, client: KubernetesClient(connection: connection, options: options))
    }

    func close() async {
        await client.shutdown()
        await server.stop()
        account.remove()
    }
}

/// Runs `body` with a fresh harness, always torn down afterwards.
func withKubernetes<T>(
    options: KubernetesClient.Options = KubernetesHarness.fastOptions,
    phaseStep: Duration = .milliseconds(30),
    _ body: (KubernetesHarness) async throws -> T
) async throws -> T {
    let harness = try await KubernetesHarness.start(options: options, phaseStep: phaseStep)
    do {
        let result = try await body(harness)
        await harness.close()
        return result
    } catch {
        await harness.close()
        throw error
    }
}

/// The error `body` throws, or nil (recorded as a failure) when it succeeds.
func kubernetesFailure<T>(sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> T) async -> KubernetesError? {
    do {
        let value = try await body()
        Issue.record("expected a KubernetesError, got \(value)", sourceLocation: sourceLocation)
        return nil
    } catch let error as KubernetesError {
        return error
    } catch {
        Issue.record("expected a KubernetesError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Fails the test if any rendering of `error` contains `secret`.
func expectNoSecret(_ secret: String, in error: KubernetesError?, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let error else { return }
    var dumped = ""
    dump(error, to: &dumped)
    let anyError: any Error = error
    for text in [error.description, error.label, error.message, String(reflecting: error), "\(anyError)", dumped, anyError.localizedDescription]
    where text.contains(secret) {
        Issue.record("the error leaks the token (\(error.label)): \(text)", sourceLocation: sourceLocation)
    }
}

/// Polls `condition` until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let clock = ContinuousClock()
    let end = clock.now.advanced(by: timeout)
    while clock.now < end {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// A Backup body valid against the CRD.
func backupBody(
    _ name: String,
    namespace: String = "velero",
    spec: JSONValue = ["ttl": "1h0m0s", "storageLocation": "default"]
) -> JSONValue {
    ["apiVersion": "velero.io/v1", "kind": "Backup", "metadata": ["name": .string(name), "namespace": .string(namespace)], "spec": spec]
}

@Suite("Kubernetes client against the fake API server")
struct KubernetesClientTests {
    @Test func createdObjectComesBackWithServerAssignedMetadata() async throws {
        try await withKubernetes { k8s in
            let created = try await k8s.client.create(
                group: "velero.io",
                version: "v1",
                namespace: "velero",
                plural: "backups",
                object: backupBody("b1")
            )
            #expect(created.name == "b1")
            #expect(created.namespace == "velero")
            #expect(created.uid?.isEmpty == false)
            #expect(created.resourceVersion?.isEmpty == false)
            #expect(created.json["metadata"]?["creationTimestamp"]?.stringValue.flatMap(parseRFC3339) != nil)
            #expect(k8s.server.requests.first?.status == 201)
            #expect(k8s.server.requests.first?.query["fieldValidation"] == "Strict")

            let read = try await k8s.client.get(group: "velero.io", version: "v1", namespace: "velero", plural: "backups", name: "b1")
            #expect(read.uid == created.uid)
            let listed = try await k8s.client.list(group: "velero.io", version: "v1", namespace: "velero", plural: "backups")
            #expect(listed.map(\.name) == ["b1"])
            #expect(k8s.server.backups.count == 1)
        }
    }

    @Test func duplicateCreateIsAlreadyExistsAndStoresNothingNew() async throws {
        try await withKubernetes { k8s in
            _ = try await k8s.client.create(group: "velero.io", version: "v1", namespace: "velero", plural: "backups", object: backupBody("dup"))
            let error = await kubernetesFailure {
                try await k8s.client.create(group: "velero.io", version: "v1", namespace: "velero", plural: "backups", object: backupBody("dup"))
            }
            #expect(error == .alreadyExists)
            #expect(error?.isAlreadyExists == true)
            #expect(error?.isRetryable == false)
            #expect(error?.httpStatus == 409)
            #expect(error?.statusReason == "AlreadyExists")
            #expect(k8s.server.backups.count == 1)
            #expect(k8s.server.requestCount(method: "POST") == 2)
        }
    }

    @Test func bodyViolatingTheCRDIsInvalidNamingTheFieldAndIsNotRetried() async throws {
        try await withKubernetes { k8s in
            let body = backupBody("bad-ttl", spec: ["ttl": 72, "storageLocation": "default", "includedNamespaces": [true]])
            let error = await kubernetesFailure {
                try await k8s.client.create(group: "velero.io", version: "v1", namespace: "velero", plural: "backups", object: body)
            }
            #expect(error == .invalid)
            #expect(error?.httpStatus == 422)
            #expect(error?.statusReason == "Invalid")
            #expect(error?.causes.map(\.field) == ["spec.includedNamespaces[0]", "spec.ttl"])
            #expect(error?.description.contains("spec.ttl in body must be of type string") == true)
            #expect(error?.description.contains("create backups.velero.io \"velero/bad-ttl\"") == true)
            #expect(k8s.server.requestCount(method: "POST") == 1)
            #expect(k8s.server.backups.isEmpty)
        }
    }

    @Test func enumAndRequiredViolationsNameTheirFields() async throws {
        try await withKubernetes { k8s in
            let hooks: JSONValue = [
                "resources": [["pre": [["exec": ["command": ["true"], "onError": "Explode"]]]]]
            ]
            let body = backupBody("bad-hooks", spec: ["ttl": "1h", "hooks": hooks])
            let error = await kubernetesFailure {
                try await k8s.client.create(group: "velero.io", version: "v1", namespace: "velero", plural: "backups", object: body)
            }
            let fields = error?.causes.map(\.field) ?? []
            #expect(fields.contains("spec.hooks.resources[0].name"))
            #expect(fields.contains("spec.hooks.resources[0].pre[0].exec.onError"))
            // Closures are kept out of #expect inside a closure: Swift 6.3.1 can then run the wrong closure (see report).
            let onError = error?.causes.first(where: { $0.field.hasSuffix("onError") })
            #expect(onError?.reason == "FieldValueNotSupported")
        }
    }

    @Test func misspeltFieldIsRejectedUnderStrictFieldValidation() async throws {
        try await withKubernetes { k8s in
            let body = backupBody("typo", spec: ["ttl": "1h", "includedNamespace": ["cert-manager"]])
            let error = await kubernetesFailure {
                try await k8s.client.create(group: "velero.io", version: "v1", namespace: "velero", plural: "backups", object: body)
            }
            #expect(error == .invalid)
            #expect(error?.httpStatus == 400)
            #expect(error?.statusReason == "BadRequest")
            #expect(error?.description.contains("unknown field \"spec.includedNamespace\"") == true)
        }
    }

    @Test func invalidObjectNameIsInvalid() async throws {
        try await withKubernetes { k8s in
            let error = await kubernetesFailure {
                try await k8s.client.create(group: "velero.io", version: "v1", namespace: "velero", plural: "backups", object: backupBody("Not_DNS"))
            }
            #expect(error?.causes.map(\.field) == ["metadata.name"])
        }
    }

    @Test func serverErrorsAreRetriedUntilTheCreateSucceeds() async throws {
        try await withKubernetes { k8s in
            k8s.server.failNext(2, status: 500)
            let created = try await k8s.client.create(
                group: "velero.io",
                version: "v1",
                namespace: "velero",
                plural: "backups",
                object: backupBody("r")
            )
            #expect(created.name == "r")
            #expect(k8s.server.requests.map(\.status) == [500, 500, 201])
        }
    }

    @Test func throttlingIsRetriedHonouringRetryAfter() async throws {
        try await withKubernetes { k8s in
            k8s.server.failNext(1, status: 429, retryAfter: 1)
            let clock = ContinuousClock()
            let start = clock.now
            _ = try await k8s.client.list(group: "velero.io", version: "v1", namespace: "velero", plural: "backups")
            #expect(start.duration(to: clock.now) >= .milliseconds(950))
            #expect(k8s.server.requests.map(\.status) == [429, 200])
        }
    }

    @Test func unavailableForeverGivesUpWithinTheDeadline() async throws {
        // Roomy timeouts: on a cold, loaded machine one answer of the fake server can take many seconds. What is
        // asserted is the outcome (the client stops, and says what the server said), never how long it took.
        let options = KubernetesClient.Options(
            requestTimeout: .seconds(60),
            initialBackoff: .milliseconds(20),
            maxBackoff: .seconds(1),
            deadline: .seconds(30)
        )
        try await withKubernetes(options: options) { k8s in
            k8s.server.failNext(.max, status: 503)
            let error = await kubernetesFailure {
                try await k8s.client.create(group: "velero.io", version: "v1", namespace: "velero", plural: "backups", object: backupBody("x"))
            }
            // It gave up (rather than retrying forever), reporting the server's answer even when the deadline cut
            // its last attempt short.
            #expect(error == .serverError)
            #expect(error?.isRetryable == true)
            #expect((error?.attempts ?? 0) >= 2)
            #expect(error?.attempts == k8s.server.requestCount(method: "POST"))
            #expect(error?.description.contains("after \(error?.attempts ?? 0) attempts") == true)
            #expect(error?.description.contains("HTTP 503 (ServiceUnavailable)") == true)
        }
    }

    @Test func anAttemptCutShortByTheDeadlineReportsTheServersLastAnswer() async throws {
        // The first answer is a 503 asking for a 1 s pause; once it was seen, every later request stalls past the 30 s
        // deadline, so the client's last attempt is cut short. The caller must still learn that the server said 503.
        let options = KubernetesClient.Options(
            requestTimeout: .seconds(120),
            initialBackoff: .milliseconds(20),
            maxBackoff: .milliseconds(20),
            deadline: .seconds(30)
        )
        try await withKubernetes(options: options) { k8s in
            k8s.server.failNext(1, status: 503, retryAfter: 1)
            let call = Task {
                await kubernetesFailure {
                    try await k8s.client.list(group: "velero.io", version: "v1", namespace: "velero", plural: "backups")
                }
            }
            let answered = await eventually(timeout: .seconds(60)) { k8s.server.requests.first?.status == 503 }
            #expect(answered, "the first request never got its 503")
            k8s.server.stall(for: .seconds(300), requests: 10)
            let error = await call.value
            #expect(error == .serverError)
            #expect(error?.description.contains("HTTP 503 (ServiceUnavailable)") == true)
        }
    }

    @Test func stalledRequestTimesOutAndTheRetrySucceeds() async throws {
        // The stalled attempt must time out while a normal answer never does, even on a loaded machine: a 3 s request
        // timeout, a stall far longer than that (it ends when the server stops) and a deadline with room for retries.
        let options = KubernetesClient.Options(
            requestTimeout: .seconds(3),
            initialBackoff: .milliseconds(20),
            maxBackoff: .milliseconds(100),
            deadline: .seconds(60)
        )
        try await withKubernetes(options: options) { k8s in
            k8s.server.stall(for: .seconds(120))
            let listed = try await k8s.client.list(group: "velero.io", version: "v1", namespace: "velero", plural: "backups")
            #expect(listed.isEmpty)
            // The stalled request is still open (status 0); a later one answered.
            #expect(k8s.server.requests.first?.status == 0)
            #expect(k8s.server.requests.last?.status == 200)
        }
    }

    @Test func createWhoseAnswerWasLostMeetsAlreadyExistsOnItsRetry() async throws {
        // The stalled attempt must time out while a normal answer never does, even on a loaded machine: a 3 s request
        // timeout, a stall far longer than that (it ends when the server stops) and a deadline with room for retries.
        let options = KubernetesClient.Options(
            requestTimeout: .seconds(3),
            initialBackoff: .milliseconds(20),
            maxBackoff: .milliseconds(100),
            deadline: .seconds(60)
        )
        try await withKubernetes(options: options) { k8s in
            k8s.server.stall(for: .seconds(120), afterHandling: true)
            let error = await kubernetesFailure {
                try await k8s.client.create(group: "velero.io", version: "v1", namespace: "velero", plural: "backups", object: backupBody("lost"))
            }
            #expect(error?.isAlreadyExists == true)
            #expect((error?.attempts ?? 0) >= 2)
            #expect(k8s.server.backups.count == 1)
        }
    }

    @Test func rotatedTokenIsReadAgainAfterA401AndTheRetrySucceeds() async throws {
        try await withKubernetes { k8s in
            _ = try await k8s.client.list(group: "velero.io", version: "v1", namespace: "velero", plural: "backups")
            let rotated = "sa-token-SECRET-rotated-\(UUID().uuidString)"
            k8s.server.rotateToken(rotated)
            try k8s.account.write(token: rotated)
            // The cached token is younger than a minute, so only the 401 makes the client read the file again.
            _ = try await k8s.client.list(group: "velero.io", version: "v1", namespace: "velero", plural: "backups")
            #expect(k8s.server.requests.map(\.status) == [200, 401, 200])
            #expect(k8s.server.requests.last?.authorized == true)
        }
    }

    @Test func rejectedTokenIsUnauthorizedAfterExactlyOneReread() async throws {
        try await withKubernetes { k8s in
            k8s.server.rotateToken("a-token-the-client-does-not-have")
            let error = await kubernetesFailure {
                try await k8s.client.get(group: "velero.io", version: "v1", namespace: "velero", plural: "backups", name: "b")
            }
            #expect(error == .unauthorized)
            #expect(error?.isRetryable == false)
            #expect(k8s.server.requestCount() == 2)
            #expect(error?.description.contains(k8s.account.tokenFile) == true)
            expectNoSecret(k8s.token, in: error)
        }
    }

    @Test func forbiddenNamesTheMissingPermission() async throws {
        try await withKubernetes { k8s in
            k8s.server.forbid(verb: "create", plural: "restores")
            let body: JSONValue = [
                "apiVersion": "velero.io/v1", "kind": "Restore", "metadata": ["name": "r", "namespace": "velero"], "spec": ["backupName": "b"],
            ]
            let error = await kubernetesFailure {
                try await k8s.client.create(group: "velero.io", version: "v1", namespace: "velero", plural: "restores", object: body)
            }
            #expect(error == .forbidden)
            #expect(error?.httpStatus == 403)
            let text = error?.description ?? ""
            #expect(text.contains("grant the gate's service account the \"create\" verb on \"restores\" in group velero.io in namespace velero"))
            #expect(text.contains("Role and RoleBinding"))
            #expect(text.contains("kubectl auth can-i create restores.velero.io -n velero"))
            #expect(k8s.server.requestCount() == 1)
        }
    }

    @Test func missingObjectIsNotFound() async throws {
        try await withKubernetes { k8s in
            let error = await kubernetesFailure {
                try await k8s.client.get(group: "velero.io", version: "v1", namespace: "velero", plural: "restores", name: "nope")
            }
            #expect(error == .notFound)
            #expect(error?.isNotFound == true)
            #expect(error?.statusReason == "NotFound")
            #expect(error?.description.contains("restores.velero.io \"nope\" not found") == true)
        }
    }

    @Test func unservedResourceIsNotFoundWithAnInstallHint() async throws {
        try await withKubernetes { k8s in
            let error = await kubernetesFailure {
                try await k8s.client.list(group: "velero.io", version: "v1", namespace: "velero", plural: "schedules")
            }
            #expect(error == .notFound)
            #expect(error?.statusReason == nil)
            #expect(error?.description.contains("install Velero and its CRDs") == true)
        }
    }

    @Test func listFollowsContinuePages() async throws {
        var options = KubernetesHarness.fastOptions
        options.listPageSize = 2
        try await withKubernetes(options: options) { k8s in
            for index in 1...5 {
                k8s.server.seed(deployment: "web-\(index)", namespace: "shop", containers: ["app": "shop/web:1.\(index)"])
            }
            let listed = try await k8s.client.list(group: "apps", version: "v1", namespace: "shop", plural: "deployments")
            #expect(listed.map(\.name) == ["web-1", "web-2", "web-3", "web-4", "web-5"])
            #expect(k8s.server.requestCount() == 3)
            let continueTokens = k8s.server.requests.map(\.query).map { $0["continue"] }
            #expect(continueTokens == [nil, "2", "4"])
        }
    }

    @Test func unreachableServerGivesUpAsUnreachable() async throws {
        // A port that was free a moment ago: nothing listens there.
        let server = try await FakeKubernetesServer.start(token: "t")
        let url = server.url
        await server.stop()
        let options = KubernetesClient.Options(
            requestTimeout: .milliseconds(300),
            initialBackoff: .milliseconds(20),
            maxBackoff: .milliseconds(50),
            deadline: .milliseconds(400)
        )
        let client = KubernetesClient(connection: KubernetesConnection(apiServer: url), options: options)
        let error = await kubernetesFailure {
            try await client.list(group: "velero.io", version: "v1", namespace: "velero", plural: "backups")
        }
        await client.shutdown()
        #expect(error == .unreachable)
        #expect(error?.isRetryable == true)
        #expect(error?.description.contains("check kubernetes.apiServer") == true)
    }

    @Test func tlsFailureIsAConfigurationErrorReportedWithoutRetrying() async throws {
        try await withKubernetes { k8s in
            // The fake speaks plain HTTP, so a TLS handshake with it fails as with an untrusted certificate.
            let https = k8s.server.url.replacingOccurrences(of: "http://", with: "https://")
            let client = KubernetesClient(
                connection: KubernetesConnection(apiServer: https, tokenFile: k8s.account.tokenFile),
                options: KubernetesHarness.fastOptions
            )
            let error = await kubernetesFailure {
                try await client.list(group: "velero.io", version: "v1", namespace: "velero", plural: "backups")
            }
            await client.shutdown()
            #expect(error == .configuration)
            #expect(error?.attempts == 1)
            #expect(error?.description.contains("kubernetes.caFile") == true)
        }
    }

    @Test func tokenNeverAppearsInAnyError() async throws {
        // Answers that must arrive get the harness's roomy timeouts; only the 503 and the stalled call get short
        // deadlines, from clients of their own (a stalled call times out however loaded the machine is).
        try await withKubernetes { k8s in
            func client(requestTimeout: Duration, deadline: Duration) -> KubernetesClient {
                KubernetesClient(
                    connection: KubernetesConnection(apiServer: k8s.server.url, tokenFile: k8s.account.tokenFile),
                    options: .init(requestTimeout: requestTimeout, initialBackoff: .milliseconds(10), maxBackoff: .seconds(1), deadline: deadline)
                )
            }
            let retrying = client(requestTimeout: .seconds(60), deadline: .seconds(15))
            let impatient = client(requestTimeout: .seconds(1), deadline: .milliseconds(1500))
            var errors: [KubernetesError?] = []
            let group = "velero.io"
            errors.append(
                await kubernetesFailure { try await k8s.client.get(group: group, version: "v1", namespace: "velero", plural: "backups", name: "x") }
            )
            _ = try await k8s.client.create(group: group, version: "v1", namespace: "velero", plural: "backups", object: backupBody("y"))
            errors.append(
                await kubernetesFailure {
                    try await k8s.client.create(group: group, version: "v1", namespace: "velero", plural: "backups", object: backupBody("y"))
                }
            )
            errors.append(
                await kubernetesFailure {
                    try await k8s.client.create(
                        group: group,
                        version: "v1",
                        namespace: "velero",
                        plural: "backups",
                        object: backupBody("z", spec: ["ttl": 1, "x": 1])
                    )
                }
            )
            k8s.server.forbid(verb: "list", plural: "backups")
            errors.append(await kubernetesFailure { try await k8s.client.list(group: group, version: "v1", namespace: "velero", plural: "backups") })
            k8s.server.failNext(.max, status: 503, retryAfter: 0)
            errors.append(
                await kubernetesFailure { try await retrying.get(group: group, version: "v1", namespace: "velero", plural: "backups", name: "y") }
            )
            k8s.server.clearFailures()
            k8s.server.stall(for: .seconds(300), requests: 10)
            errors.append(
                await kubernetesFailure { try await impatient.get(group: group, version: "v1", namespace: "velero", plural: "backups", name: "y") }
            )
            await retrying.shutdown()
            await impatient.shutdown()
            k8s.server.clearFailures()
            k8s.server.rotateToken("other")
            errors.append(
                await kubernetesFailure { try await k8s.client.get(group: group, version: "v1", namespace: "velero", plural: "backups", name: "y") }
            )
            k8s.account.remove()
            errors.append(
                await kubernetesFailure { try await k8s.client.get(group: group, version: "v1", namespace: "velero", plural: "backups", name: "y") }
            )

            let labels = errors.compactMap { $0?.label }
            #expect(
                labels == [
                    "not_found", "already_exists", "invalid", "forbidden", "server_error", "timeout", "unauthorized", "configuration",
                ]
            )
            for error in errors { expectNoSecret(k8s.token, in: error) }
        }
    }
}
