import FakeKubernetes
import Foundation
import GateHTTP
import Synchronization
import Testing

@testable import GateSources

/// Leader election against the fake API server (which keeps Leases as the real one does), with short timings.
///
/// Nothing here asserts how long anything took: every outcome is awaited with a generous deadline. Takeover times are
/// printed (`takeover after …`) for the record.
@Suite(.serialized) struct LeaseElectorTests {
    /// Test timings: lease 2 s, renew deadline 1.2 s, retry 200 ms (client-go's proportions, about 8× faster).
    static func timings(_ config: inout LeaseElectionConfig) {
        config.leaseDuration = .seconds(2)
        config.renewDeadline = .milliseconds(1200)
        config.retryPeriod = .milliseconds(200)
    }

    @Test func threeCandidatesElectExactlyOneLeaderAndNeverTwo() async throws {
        try await withElection(replicas: 3) { election in
            #expect(try await election.eventuallyOneLeader() != nil)
            // Safety, sampled for a while: never two replicas that both believe they lead.
            let clock = ContinuousClock()
            let end = clock.now.advanced(by: .seconds(3))
            var samples = 0
            while clock.now < end {
                let leaders = election.electors.filter(\.isLeader)
                #expect(leaders.count <= 1, "two leaders: \(leaders.map(\.identity))")
                samples += 1
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(samples > 0)
            let lease = try #require(election.lease())
            #expect(election.electors.contains { $0.identity == lease.value(at: "spec.holderIdentity")?.stringValue })
            #expect(lease.value(at: "spec.leaseDurationSeconds") == 2)
        }
    }

    @Test func aCrashedLeaderIsReplacedAfterTheLeaseDuration() async throws {
        var takeovers: [Duration] = []
        for _ in 0..<3 {
            try await withElection(replicas: 3, releaseOnCancel: false) { election in
                let leader = try #require(try await election.eventuallyOneLeader())
                let before = try #require(election.lease())
                let transitions = before.value(at: "spec.leaseTransitions")?.numberValue ?? -1
                // kill -9: the leader stops renewing and releases nothing.
                let crashed = ContinuousClock.now
                await election.stop(leader)
                #expect(election.lease()?.value(at: "spec.holderIdentity")?.stringValue == leader.identity, "a crash releases nothing")
                let next = try #require(try await election.eventuallyOneLeader(excluding: leader))
                takeovers.append(crashed.duration(to: .now))
                #expect(next.identity != leader.identity)
                let after = try #require(election.lease())
                #expect(after.value(at: "spec.holderIdentity")?.stringValue == next.identity)
                #expect(after.value(at: "spec.leaseTransitions")?.numberValue == transitions + 1)
                #expect(!leader.isLeader)
            }
        }
        print("lease elector takeover after crash (lease 2s/renew 1.2s/retry 200ms), ms: \(takeovers.map(milliseconds))")
    }

    @Test func aGracefulStopReleasesTheLeaseForAnImmediateTakeover() async throws {
        // A 60 s lease: a takeover within the 30 s deadline below is only possible because the lease was released.
        try await withElection(replicas: 2, releaseOnCancel: true, leaseDuration: .seconds(60)) { election in
            let leader = try #require(try await election.eventuallyOneLeader())
            let transitions = try #require(election.lease()?.value(at: "spec.leaseTransitions")?.numberValue)
            let stopped = ContinuousClock.now
            await election.stop(leader)
            #expect(!leader.isLeader)
            let next = try #require(try await election.eventuallyOneLeader(excluding: leader, timeout: .seconds(30)))
            print("lease elector takeover after release, ms: \(milliseconds(stopped.duration(to: .now)))")
            #expect(next.identity != leader.identity)
            // Released (transitions unchanged), then acquired by the next one (+1).
            #expect(election.lease()?.value(at: "spec.leaseTransitions")?.numberValue == transitions + 1)
        }
    }

    @Test func releaseWritesTheShapeClientGoWrites() async throws {
        try await withElection(replicas: 1, releaseOnCancel: true) { election in
            let leader = try #require(try await election.eventuallyOneLeader())
            let held = try #require(election.lease())
            await election.stop(leader)
            let released = try #require(election.lease())
            let fixture = try haFixture("lease-coordination-v1-released.json")
            #expect(released.value(at: "spec.holderIdentity") == fixture.value(at: "spec.holderIdentity"))
            #expect(released.value(at: "spec.leaseDurationSeconds") == fixture.value(at: "spec.leaseDurationSeconds"))
            #expect(released.value(at: "spec.leaseTransitions") == held.value(at: "spec.leaseTransitions"))
            #expect(released.value(at: "spec.acquireTime") == released.value(at: "spec.renewTime"))
            #expect(keys(released["spec"]) == keys(fixture["spec"]))
        }
    }

    @Test func aConflictingWriteIsReadAgainAndTheLeaderKeepsLeading() async throws {
        try await withElection(replicas: 1) { election in
            let leader = try #require(try await election.eventuallyOneLeader())
            // Another writer touches the Lease (a label): the leader's next renewal carries a stale resourceVersion.
            // (Retried: the leader may renew between this read and this write.)
            var touched: FakeJSON?
            _ = try await eventually(timeout: .seconds(30)) {
                guard var lease = election.lease() else { return false }
                lease["metadata"]?["labels"] = ["touched": "yes"]
                let answer = try await election.raw.call("PUT", FakeAPIConformanceTests.leases + "/upgrade-gate", body: lease)
                touched = answer.status == 200 ? answer.json : nil
                return touched != nil
            }
            let touchedRV = try #require(touched?.value(at: "metadata.resourceVersion")?.stringValue.flatMap(Int.init))
            #expect(
                try await eventually(timeout: .seconds(30)) {
                    let rv = election.lease()?.value(at: "metadata.resourceVersion")?.stringValue.flatMap(Int.init) ?? 0
                    return rv > touchedRV && election.lease()?.value(at: "metadata.labels.touched") == "yes"
                }
            )
            let puts = election.server.requests.filter { $0.method == "PUT" && $0.path.hasSuffix("/leases/upgrade-gate") }
            #expect(puts.contains { $0.status == 409 }, "the stale renewal met a 409: \(puts)")
            let conflict = try #require(election.server.requests.lastIndex { $0.method == "PUT" && $0.status == 409 })
            let after = election.server.requests[(conflict + 1)...]
            #expect(after.contains { $0.method == "GET" && $0.path.hasSuffix("/leases/upgrade-gate") }, "after a 409 the elector reads again")
            #expect(leader.isLeader || election.electors.contains(where: \.isLeader))
            #expect(election.lease()?.value(at: "spec.holderIdentity")?.stringValue == leader.identity)
        }
    }

    @Test func theFencingTimestampTracksRenewalsAndLapses() async throws {
        try await withElection(replicas: 1, releaseOnCancel: false) { election in
            let leader = try #require(try await election.eventuallyOneLeader())
            let first = try #require(leader.lastRenewal)
            #expect(try await eventually(timeout: .seconds(30)) { (leader.lastRenewal ?? first) > first }, "renewals move lastRenewal forward")
            // The API server stops answering: no renewal succeeds, so the fencing value stops and leadership lapses.
            election.server.failNext(Int.max, status: 503, path: "/apis/coordination.k8s.io")
            #expect(try await eventually(timeout: .seconds(30)) { !leader.isLeader }, "isLeader turns false once renewDeadline passes")
            let end = try await election.end(of: leader)
            #expect(end == .lost, "a leader that cannot renew stops leading and says so")
            election.server.clearFailures()
        }
    }

    @Test func leadershipChangesAreStreamed() async throws {
        try await withElection(replicas: 2, releaseOnCancel: true, subscribe: true) { election in
            let leader = try #require(try await election.eventuallyOneLeader())
            #expect(try await eventually(timeout: .seconds(30)) { election.events(of: leader).contains(.started) })
            let follower = try #require(election.electors.first { $0 !== leader })
            #expect(try await eventually(timeout: .seconds(30)) { election.events(of: follower).contains(.observedLeader(leader.identity)) })
            await election.stop(leader)
            #expect(try await eventually(timeout: .seconds(30)) { election.events(of: leader).last == .stopped })
            #expect(try await eventually(timeout: .seconds(30)) { election.events(of: follower).contains(.started) })
        }
    }

    @Test func identityComesFromPodNameElseHostNameWithARandomSuffix() {
        let fromPod = LeaseElectionConfig.defaultIdentity(environment: ["POD_NAME": "upgrade-gate-6c8d9f7b4-q2x7m"], hostName: "node-1")
        #expect(fromPod.hasPrefix("upgrade-gate-6c8d9f7b4-q2x7m_"))
        let fromHost = LeaseElectionConfig.defaultIdentity(environment: [:], hostName: "node-1")
        #expect(fromHost.hasPrefix("node-1_"))
        #expect(fromHost != LeaseElectionConfig.defaultIdentity(environment: [:], hostName: "node-1"), "every process is a new holder")
        #expect(UUID(uuidString: String(fromHost.dropFirst("node-1_".count))) != nil)
    }

    @Test(
        arguments: [
            (15, 10_000, 2_000, nil),
            (15, 15_000, 2_000, "renewDeadline must be shorter than leaseDuration"),
            (15, 10_000, 10_000, "retryPeriod must be shorter than renewDeadline"),
            (0, 500, 100, "leaseDuration must be at least 1s (the Lease records whole seconds)"),
        ] as [(Int, Int, Int, String?)]
    )
    func timingsThatCannotWorkAreRefused(lease: Int, renew: Int, retry: Int, problem: String?) {
        let config = LeaseElectionConfig(
            namespace: "upgrade-gate",
            name: "upgrade-gate",
            identity: "a",
            leaseDuration: .seconds(lease),
            renewDeadline: .milliseconds(renew),
            retryPeriod: .milliseconds(retry)
        )
        #expect(config.problem == problem)
    }

    @Test func microTimeHasExactlySixFractionalDigits() {
        #expect(microTime(Date(timeIntervalSince1970: 1_796_308_612.5)) == "2026-12-03T14:36:52.500000Z")
        #expect(microTime(Date(timeIntervalSince1970: 1_796_308_612)) == "2026-12-03T14:36:52.000000Z")
        let now = microTime(Date())
        #expect(now.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z/) != nil, "\(now)")
    }
}

// MARK: - Support

/// N electors, each with its own client, campaigning for one Lease on one fake API server.
final class Election: Sendable {
    let server: FakeKubernetesServer
    let account: FakeServiceAccount
    let raw: RawAPI
    let clients: [KubernetesClient]
    let electors: [LeaseElector]
    private let tasks: Mutex<[ObjectIdentifier: Task<ElectionEnd, Never>]>
    private let seen: Mutex<[ObjectIdentifier: [LeadershipEvent]]>

    init(server: FakeKubernetesServer, account: FakeServiceAccount, raw: RawAPI, clients: [KubernetesClient], electors: [LeaseElector]) {
        self.server = server
        self.account = account
        self.raw = raw
        self.clients = clients
        self.electors = electors
        self.tasks = Mutex([:])
        self.seen = Mutex([:])
    }

    func start(subscribe: Bool) {
        for elector in electors {
            let id = ObjectIdentifier(elector)
            if subscribe {
                let stream = elector.events()
                Task {
                    for await event in stream { self.seen.withLock { $0[id, default: []].append(event) } }
                }
            }
            tasks.withLock { $0[id] = Task { await elector.run() } }
        }
    }

    func events(of elector: LeaseElector) -> [LeadershipEvent] { seen.withLock { $0[ObjectIdentifier(elector)] ?? [] } }

    /// The Lease as the fake stores it.
    func lease() -> FakeJSON? { server.objects.object(.leases, namespace: "upgrade-gate", name: "upgrade-gate") }

    /// Waits until exactly one elector (not `excluding`) leads, and returns it.
    func eventuallyOneLeader(excluding: LeaseElector? = nil, timeout: Duration = .seconds(30)) async throws -> LeaseElector? {
        var found: LeaseElector?
        _ = await eventually(timeout: timeout) {
            let leaders = self.electors.filter { $0.isLeader && $0 !== excluding }
            found = leaders.count == 1 ? leaders[0] : nil
            return found != nil
        }
        return found
    }

    /// Cancels an elector's campaign and waits until it has returned (after releasing, if configured).
    func stop(_ elector: LeaseElector) async {
        guard let task = tasks.withLock({ $0[ObjectIdentifier(elector)] }) else { return }
        task.cancel()
        _ = await task.value
    }

    /// How an elector's campaign ended (waits for it).
    func end(of elector: LeaseElector) async throws -> ElectionEnd {
        let task = try #require(tasks.withLock { $0[ObjectIdentifier(elector)] })
        return await task.value
    }

    func close() async {
        for elector in electors { await stop(elector) }
        for client in clients { await client.shutdown() }
        await raw.http.shutdown()
        await server.stop()
        account.remove()
    }
}

func withElection(
    replicas: Int,
    releaseOnCancel: Bool = true,
    leaseDuration: Duration? = nil,
    subscribe: Bool = false,
    _ body: (Election) async throws -> Void
) async throws {
    let token = "lease-token-\(UUID().uuidString)"
    let server = try await FakeKubernetesServer.start(token: token)
    let account = try FakeServiceAccount(token: token)
    // Each call gives up well within a retry period; the elector retries on its own schedule.
    let options = KubernetesClient.Options(
        requestTimeout: .seconds(1),
        initialBackoff: .milliseconds(20),
        maxBackoff: .milliseconds(50),
        deadline: .milliseconds(400)
    )
    var clients: [KubernetesClient] = []
    var electors: [LeaseElector] = []
    for index in 0..<replicas {
        let client = KubernetesClient(connection: KubernetesConnection(apiServer: server.url, tokenFile: account.tokenFile), options: options)
        var config = LeaseElectionConfig(
            namespace: "upgrade-gate",
            name: "upgrade-gate",
            identity: LeaseElectionConfig.defaultIdentity(environment: ["POD_NAME": "upgrade-gate-\(index)"]),
            releaseOnCancel: releaseOnCancel
        )
        LeaseElectorTests.timings(&config)
        if let leaseDuration { config.leaseDuration = leaseDuration }
        clients.append(client)
        electors.append(try LeaseElector(config: config, store: KubernetesLeaseStore(client: client)))
    }
    let election = Election(
        server: server,
        account: account,
        raw: RawAPI(server: server, http: GateHTTP.HTTPClient()),
        clients: clients,
        electors: electors
    )
    election.start(subscribe: subscribe)
    do {
        try await body(election)
    } catch {
        await election.close()
        throw error
    }
    await election.close()
}

/// A duration in whole milliseconds, for the printed measurements.
func milliseconds(_ duration: Duration) -> Int {
    Int(duration.components.seconds) * 1000 + Int(duration.components.attoseconds / 1_000_000_000_000_000)
}
