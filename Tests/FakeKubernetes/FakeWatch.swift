import Foundation
import Hummingbird

/// One open watch: the lines to stream, and what the stream does on its own (bookmarks, the timeout).
struct FakeWatchStream: Sendable {
    var lines: AsyncStream<[UInt8]>
    var continuation: AsyncStream<[UInt8]>.Continuation
    /// The empty object of the watched kind for BOOKMARK events, without its resourceVersion.
    var bookmarkKind: (apiVersion: String, kind: String)
    var bookmarks: Bool
    var timeout: Duration
    var store: FakeObjectStore

    /// A chunked 200 response that writes one JSON line per event, flushed per event, until the stream ends.
    func response() -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        let stream = self
        return Response(
            status: .ok,
            headers: headers,
            body: ResponseBody { writer in
                // Structured: the timer child (bookmarks, timeout) ends with the stream, and the stream ends with it.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        let clock = ContinuousClock()
                        let end = clock.now.advanced(by: stream.timeout)
                        let interval = stream.store.settings.withLock { $0.bookmarkInterval }
                        while !Task.isCancelled {
                            let nextTick = stream.bookmarks ? min(clock.now.advanced(by: interval), end) : end
                            try? await Task.sleep(until: nextTick, clock: clock)
                            if Task.isCancelled { return }
                            if clock.now >= end {
                                // Like the watch cache, one last bookmark before a timeout, then a clean end.
                                if stream.bookmarks { stream.continuation.yield(stream.bookmarkLine()) }
                                stream.continuation.finish()
                                return
                            }
                            if stream.bookmarks { stream.continuation.yield(stream.bookmarkLine()) }
                        }
                    }
                    for await line in stream.lines {
                        try await writer.write(ByteBuffer(bytes: line))
                    }
                    group.cancelAll()
                }
                try await writer.finish(nil)
            }
        )
    }

    func bookmarkLine(annotations: [String: FakeJSON]? = nil) -> [UInt8] {
        var metadata: [String: FakeJSON] = ["resourceVersion": .string(String(store.latestResourceVersion))]
        if let annotations { metadata["annotations"] = .object(annotations) }
        return FakeWatch.line(
            type: "BOOKMARK",
            object: ["apiVersion": .string(bookmarkKind.apiVersion), "kind": .string(bookmarkKind.kind), "metadata": .object(metadata)]
        )
    }
}

/// Watch-event encoding.
enum FakeWatch {
    /// `{"type":…,"object":…}` and a newline: one event of a JSON watch stream.
    static func line(type: String, object: FakeJSON) -> [UInt8] {
        FakeJSON.object(["type": .string(type), "object": object]).encoded() + [UInt8(ascii: "\n")]
    }
}

extension FakeObjectStore {
    /// The newest resourceVersion the store has seen.
    var latestResourceVersion: Int { state.withLock { $0.latest } }

    /// Opens a watch: replays what the client missed (or synthetic ADDED events), then streams changes.
    func watch(_ state: inout State, route: StoreRoute, query: [String: String]) -> FakeKubernetesServer.Reply {
        let resource = route.resource
        let selector: Selector
        do {
            selector = try Selector(labels: query["labelSelector"], fields: query["fieldSelector"])
        } catch {
            return Self.failure(400, "BadRequest", error.message)
        }
        let sendInitialEvents = isTrue(query["sendInitialEvents"])
        if sendInitialEvents, query["resourceVersionMatch"] != "NotOlderThan" {
            return Self.failure(
                422,
                "Invalid",
                "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                details: [
                    "group": "meta.k8s.io", "kind": "ListOptions",
                    "causes": [
                        [
                            "reason": "FieldValueForbidden", "field": "resourceVersionMatch",
                            "message": "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                        ]
                    ],
                ]
            )
        }
        let tuning = settings.withLock { $0 }
        let (lines, continuation) = AsyncStream.makeStream(of: [UInt8].self, bufferingPolicy: .bufferingOldest(max(tuning.watchBuffer, 1)))
        let timeout = query["timeoutSeconds"].flatMap(Int.init).map { Duration.seconds(max($0, 0)) } ?? .seconds(1800)
        let stream = FakeWatchStream(
            lines: lines,
            continuation: continuation,
            bookmarkKind: (resource.apiVersion, resource.kind),
            bookmarks: isTrue(query["allowWatchBookmarks"]),
            timeout: timeout,
            store: self
        )
        if state.closed {
            continuation.finish()
            return FakeKubernetesServer.Reply(status: 200, watch: stream)
        }
        let matches = { (namespace: String, object: FakeJSON) -> Bool in
            (route.namespace == nil || route.namespace == namespace) && selector.matches(object)
        }
        let requested = query["resourceVersion"].flatMap { $0.isEmpty || $0 == "0" ? nil : Int($0) }
        if let requested, !sendInitialEvents {
            guard requested >= state.compactedThrough else {
                // Past authentication and admission a watch fails inside the stream: HTTP 200, one ERROR event, the end.
                let oldest = (state.history.first?.resourceVersion ?? state.latest + 1) - 1
                continuation.yield(
                    FakeWatch.line(
                        type: "ERROR",
                        object: FakeKubernetesServer.status(
                            code: 410,
                            reason: "Expired",
                            message: "too old resource version: \(requested) (\(oldest))"
                        )
                    )
                )
                continuation.finish()
                return FakeKubernetesServer.Reply(status: 200, watch: stream)
            }
            for entry in state.history where entry.resource == resource.resource && entry.resourceVersion > requested {
                guard matches(entry.namespace, entry.object) else { continue }
                continuation.yield(FakeWatch.line(type: entry.type, object: entry.object))
            }
        } else {
            // No resourceVersion (or "0", or a watch-list): every current object as a synthetic ADDED first.
            for (key, object) in (state.objects[resource.resource] ?? [:]).sorted(by: { $0.key < $1.key }) {
                let namespace = String(key.split(separator: "/").first ?? "")
                guard matches(namespace, object) else { continue }
                continuation.yield(FakeWatch.line(type: "ADDED", object: object))
            }
            if sendInitialEvents, stream.bookmarks {
                var metadata: [String: FakeJSON] = ["resourceVersion": .string(String(state.latest))]
                metadata["annotations"] = ["k8s.io/initial-events-end": "true"]
                continuation.yield(
                    FakeWatch.line(
                        type: "BOOKMARK",
                        object: ["apiVersion": .string(resource.apiVersion), "kind": .string(resource.kind), "metadata": .object(metadata)]
                    )
                )
            }
        }
        let id = state.nextWatcher
        state.nextWatcher += 1
        state.watchers[id] = Watcher(resource: resource.resource, namespace: route.namespace, selector: selector, continuation: continuation)
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.watchers.removeValue(forKey: id) }
        }
        return FakeKubernetesServer.Reply(status: 200, watch: stream)
    }
}
