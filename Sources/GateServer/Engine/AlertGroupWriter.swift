import GateStore

/// Group commit for Alertmanager notifications: payloads that arrive while a transaction is being
/// written are committed together in the next one, and every caller returns only once its own
/// payload is committed (so the webhook's 200 still means "durable").
actor AlertGroupWriter {
    private let store: any WindowStore
    private var pending: [(group: StoredAlertGroup, done: CheckedContinuation<StoreError?, Never>)] = []
    private var flushing = false

    init(store: any WindowStore) {
        self.store = store
    }

    /// Persists `group`; returns when it is committed.
    func write(_ group: StoredAlertGroup) async throws(StoreError) {
        let failure = await withCheckedContinuation { (continuation: CheckedContinuation<StoreError?, Never>) in
            pending.append((group, continuation))
            if !flushing {
                flushing = true
                // The flush runs on this actor; it ends as soon as nothing is pending.
                Task { await self.flush() }
            }
        }
        if let failure { throw failure }
    }

    private func flush() async {
        while !pending.isEmpty {
            let batch = pending
            pending = []
            var failure: StoreError?
            do {
                try await store.recordAlertGroups(batch.map(\.group))
            } catch {
                failure = error
            }
            for entry in batch { entry.done.resume(returning: failure) }
        }
        flushing = false
    }
}
