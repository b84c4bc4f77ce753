import ServiceLifecycle

/// The evaluation loop as a Service: every `interval`, one cycle over all open windows.
///
/// Ticks are scheduled on a fixed cadence (a slow cycle delays the next tick, it does not pile up
/// ticks). On graceful shutdown the loop stops; a cycle cut short is discarded, not recorded.
struct EvaluationService: Service {
    let engine: GateEngine
    let interval: Duration
    /// No cycle runs before the state is loaded.
    let readiness: Readiness

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await readiness.waitUntilResumed()
            let clock = ContinuousClock()
            var next = clock.now
            while !Task.isCancelled {
                await engine.evaluateAll()
                next = next.advanced(by: interval)
                if next < clock.now { next = clock.now }
                do {
                    try await Task.sleep(until: next, clock: clock)
                } catch {
                    return
                }
            }
        }
    }
}

/// The escape loop as a Service: creates, polls and verifies Velero objects, closes windows whose duration ended and
/// republishes stale verdicts, beside the evaluation loop so that neither waits on the other.
///
/// It runs every `interval`, and at once when a machine has new Kubernetes work (a restore intent).
struct EscapeService: Service {
    let engine: GateEngine
    let interval: Duration
    /// Nothing is reconciled before the state is loaded.
    let readiness: Readiness

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await readiness.waitUntilResumed()
            await withDiscardingTaskGroup { group in
                let wake = engine.escapeWake
                group.addTask {
                    while !Task.isCancelled {
                        wake.yield()
                        do { try await Task.sleep(for: interval) } catch { return }
                    }
                }
                for await _ in engine.escapeWakes {
                    if Task.isCancelled { break }
                    await engine.reconcile()
                }
                group.cancelAll()
            }
        }
    }
}
