/// A call that did not answer within its time limit.
struct DeadlineExceeded: Error, CustomStringConvertible {
    /// The limit.
    let limit: Duration

    var description: String { "no answer within \(limit.components.seconds)s" }
}

/// Runs `body`, cancelling it and throwing ``DeadlineExceeded`` once `limit` has passed.
///
/// The escape plan's Kubernetes calls run through this, so a slow API server delays only its own step.
func withDeadline<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw DeadlineExceeded(limit: limit)
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw CancellationError() }
        return first
    }
}

/// Maps `items` concurrently with at most `limit` in flight, keeping their order: the one bounded task-group map
/// of the project.
func boundedMap<Item: Sendable, Output: Sendable>(
    _ items: [Item],
    limit: Int,
    _ transform: @escaping @Sendable (Item) async -> Output
) async -> [Output] {
    await withTaskGroup(of: (Int, Output).self) { group in
        var results = [Output?](repeating: nil, count: items.count)
        var next = 0
        for _ in 0..<min(max(1, limit), items.count) {
            let index = next
            group.addTask { (index, await transform(items[index])) }
            next += 1
        }
        while let (index, output) = await group.next() {
            results[index] = output
            if next < items.count {
                let index = next
                group.addTask { (index, await transform(items[index])) }
                next += 1
            }
        }
        return results.map { $0! }
    }
}
