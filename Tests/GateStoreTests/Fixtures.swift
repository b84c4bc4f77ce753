import Foundation
import GRDB
import GateCore
import Testing

@testable import GateStore

// Builders shared by the suites, so each test reads as the situation it describes.

/// A fresh directory under the system's temporary directory; `remove()` deletes it and everything in it.
struct ScratchDirectory {
    /// The directory.
    let url: URL

    /// Creates a new, empty directory.
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("gate-store-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// A path inside the directory.
    func path(_ name: String = "state.sqlite") -> String {
        url.appendingPathComponent(name).path
    }

    /// Deletes the directory.
    func remove() {
        try? FileManager.default.removeItem(at: url)
    }
}

/// Opens a store in a fresh scratch directory, runs `body`, closes the store and deletes the directory.
func withStore<T>(_ body: (GateStore, ScratchDirectory) async throws -> T) async throws -> T {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let store = try GateStore(path: scratch.path())
    defer { try? store.close() }
    return try await body(store, scratch)
}

/// A second, raw SQLite connection to a store's file, as an operator's `sqlite3` would be.
func rawConnection(_ path: String) throws -> DatabaseQueue {
    var configuration = Configuration()
    configuration.busyMode = .timeout(5)
    return try DatabaseQueue(path: path, configuration: configuration)
}

/// Runs `body`, expecting it to throw a store error with this label; returns the error for further checks.
func expectStoreError(
    _ label: String,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async -> StoreError? {
    do {
        try await body()
        Issue.record("expected a \(label) error, got success", sourceLocation: sourceLocation)
        return nil
    } catch let error as StoreError {
        #expect(error.label == label, "\(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected a StoreError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Windows, baselines, evaluations and events as the daemon would store them.
enum Fixture {
    /// A fixed "now": 2023-11-14 22:13:20 UTC.
    static let t0 = 1_700_000_000.0

    /// Checks covering every rule kind, `Delta` in both forms included.
    static let checks: [CheckSpec] = [
        CheckSpec(name: "critical-targets-up", query: #"up{namespace="cert-manager"}"#, min: 1, missingSeries: .fail, critical: true),
        CheckSpec(name: "etcd-leader-changes", query: "etcd_server_leader_changes_seen_total", maxIncrease: .absolute(1), counter: true),
        CheckSpec(
            name: "apiserver-error-ratio",
            query: #"sum(rate(apiserver_request_total{code=~"5.."}[2m])) / sum(rate(apiserver_request_total[2m]))"#,
            max: 0.05,
            maxIncrease: .percent(50),
            maxDecrease: .absolute(0.002),
            floor: 0.001,
            noData: .inconclusive,
            critical: false
        ),
    ]

    /// A window record opened at `openedAt`.
    static func record(id: String, name: String, openedAt: Double = t0, closedAt: Double? = nil) -> WindowRecord {
        WindowRecord(
            id: id,
            request: WindowRequest(
                name: name,
                component: "cert-manager",
                fromVersion: "v1.12.3",
                toVersion: "v1.13.1",
                namespaces: ["cert-manager"],
                labels: ["team": "platform"],
                matchers: [#"namespace="cert-manager""#],
                checks: nil,
                soak: 900
            ),
            checks: checks,
            openedAt: openedAt,
            soak: 900,
            duration: 14_400,
            closedAt: closedAt,
            closeReason: closedAt == nil ? nil : "closed by API"
        )
    }

    /// A baseline whose values include NaN, +Inf and -Inf, as real Prometheus data can.
    static func baseline(openedAt: Double = t0) -> WindowBaseline {
        WindowBaseline(
            capturedAt: openedAt,
            start: openedAt - 1800,
            end: openedAt,
            checks: [
                "critical-targets-up": [
                    BaselineSeries(labels: Labels(["instance": "10.0.0.1:9402", "job": "cert-manager"]), value: 1, min: 1, max: 1, samples: 120),
                    BaselineSeries(labels: Labels(["instance": "10.0.0.2:9402", "job": "cert-manager"]), value: 0.5, min: 0, max: 1, samples: 119),
                ],
                "etcd-leader-changes": [BaselineSeries(labels: Labels(["member": "etcd-0"]), value: 3, min: 3, max: 3, samples: 120)],
                "apiserver-error-ratio": [
                    BaselineSeries(labels: Labels(), value: .nan, min: .nan, max: .infinity, samples: 0),
                    BaselineSeries(labels: Labels(["verb": "LIST"]), value: .infinity, min: -.infinity, max: .infinity, samples: 3),
                ],
            ]
        )
    }

    /// An evaluation at `at`, one broken series with a non-finite value included.
    static func evaluation(at: Double, verdict: Verdict = .pending) -> EvaluationRecord {
        let broken = SeriesOutcome(
            labels: Labels(["verb": "LIST"]),
            value: .infinity,
            baseline: 0.01,
            rule: "max 0.05",
            reason: #"check "apiserver-error-ratio": series {verb="LIST"} value +Inf is above max 0.05"#,
            result: .broken
        )
        return EvaluationRecord(
            at: at,
            duration: 0.042,
            verdict: verdict,
            statuses: ["critical-targets-up": .pass, "apiserver-error-ratio": .warn],
            reasons: ["soak: 10m left"],
            soakRemaining: 600,
            outcomes: [CheckOutcome(check: "apiserver-error-ratio", critical: false, result: .broken, series: [broken], reasons: [broken.reason!])]
        )
    }

    /// An event at `at`.
    static func event(at: Double = t0, _ kind: EventKind = .opened, _ message: String = "window opened") -> WindowEvent {
        WindowEvent(at: at, kind: kind, message: message, details: ["by": "api"])
    }
}

/// JSON with NaN spelled out, to compare values that hold NaN (which is never `==` to itself).
func canonicalJSON(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "+Inf", negativeInfinity: "-Inf", nan: "NaN")
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
