import Foundation
import GateConfig
import GateStore
import Logging
import ServiceLifecycle

/// Keeps the state store bounded and honest about itself: prunes what `retention` allows at start and every hour
/// (never anything open), and probes every few seconds whether the store can still be written, for `/readyz`.
struct StoreMaintenanceService: Service {
    let store: any WindowStore
    let retention: RetentionConfig
    let readiness: Readiness
    let logger: Logger
    /// Room a write must have to count as writable: the largest body the daemon accepts.
    let headroomBytes: Int
    var probeEvery: Duration = .seconds(2)
    var pruneEvery: Duration = .seconds(3600)
    var now: @Sendable () -> Double = { Date().timeIntervalSince1970 }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            // Nothing is pruned from a store whose state is not loaded yet.
            await readiness.waitUntilResumed()
            let clock = ContinuousClock()
            var nextPrune = clock.now
            var lastProblem: String?
            while !Task.isCancelled {
                if clock.now >= nextPrune {
                    await prune()
                    nextPrune = clock.now.advanced(by: pruneEvery)
                }
                let health = await store.health(headroomBytes: headroomBytes)
                // The public answer stays generic; the detail (paths, SQLite's words) goes to the log.
                let problem = health.writable ? nil : "the state store cannot be written"
                readiness.setStoreProblem(problem)
                if health.reason != lastProblem ?? "" {
                    if health.writable {
                        logger.notice("the state store can be written again")
                    } else {
                        logger.error("not ready: \(health.reason)", metadata: ["gate.state": .string(store.location)])
                    }
                    lastProblem = health.writable ? nil : health.reason
                }
                do {
                    try await Task.sleep(for: probeEvery)
                } catch {
                    return
                }
            }
        }
    }

    /// One pruning pass; a failure is logged and retried at the next pass.
    func prune() async {
        let at = now()
        do {
            let report = try await store.prune(closedBefore: at - retention.closedWindows, alertGroupsBefore: at - retention.alertGroups)
            if report != PruneReport() {
                logger.notice(
                    "pruned the state store: \(report.closedWindows) closed window(s), \(report.events) event(s), \(report.alertGroups) alert group(s)",
                    metadata: [
                        "retention.closedWindows": .stringConvertible(report.closedWindows), "retention.events": .stringConvertible(report.events),
                        "retention.alertGroups": .stringConvertible(report.alertGroups),
                    ]
                )
            }
        } catch {
            logger.warning("pruning the state store failed; retrying in an hour: \(error)")
        }
    }
}
