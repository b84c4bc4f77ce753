import GateHTTP
import Synchronization

/// One entry of a watch stream, as the API server sends it (one JSON object per line).
public enum KubernetesWatchEvent: Sendable, Equatable {
    /// An object was created (or existed when a watch without a resourceVersion started).
    case added(KubernetesObject)
    /// An object changed.
    case modified(KubernetesObject)
    /// An object was deleted; the object as it was last.
    case deleted(KubernetesObject)
    /// Nothing changed, but the watch has seen everything up to this resourceVersion.
    case bookmark(resourceVersion: String)
    /// The resourceVersion the watch started from is too old (410 Gone, reason `Expired`): list again.
    case expired
}

/// A list's objects and the resourceVersion to watch from.
public struct KubernetesListSnapshot: Sendable, Equatable {
    /// Every object, in the API server's order.
    public var objects: [KubernetesObject]
    /// The list's `metadata.resourceVersion`: a watch from here sees every later change.
    public var resourceVersion: String
}

extension KubernetesClient {
    /// The longest line a watch stream may send: one object, which etcd caps at 1.5 MiB, plus the event's envelope.
    static let maxWatchLineBytes = 3 << 20

    /// Lists a resource in `namespace` (optionally by label selector) with the resourceVersion to watch from.
    public func snapshot(
        group: String,
        version: String,
        namespace: String,
        plural: String,
        labelSelector: String? = nil
    ) async throws(KubernetesError) -> KubernetesListSnapshot {
        let call = KubernetesCall(verb: "list", group: group, version: version, namespace: namespace, plural: plural, name: nil)
        var base = baseURL(group: group, version: version, namespace: namespace, plural: plural) + "?limit=\(options.listPageSize)"
        if let labelSelector { base += "&labelSelector=" + queryComponent(labelSelector) }
        var objects: [KubernetesObject] = []
        var next: String? = nil
        var resourceVersion = ""
        repeat {
            let url = base + (next.map { "&continue=" + queryComponent($0) } ?? "")
            let page = try await send(call, method: "GET", url: url, body: nil)
            guard let items = page["items"]?.arrayValue else {
                throw .undecodable(call, httpStatus: 200, why: "the list has no items array", attempts: 1)
            }
            objects += items.map(KubernetesObject.init)
            // Every page of one list is the same snapshot; the first page's version is the list's.
            if resourceVersion.isEmpty { resourceVersion = page["metadata"]?["resourceVersion"]?.stringValue ?? "" }
            next = page["metadata"]?["continue"]?.stringValue
        } while next?.isEmpty == false
        return KubernetesListSnapshot(objects: objects, resourceVersion: resourceVersion)
    }

    /// Watches a resource in `namespace` from `resourceVersion`, handing each event to `onEvent` as it arrives, until
    /// the server ends the stream (after about `timeoutSeconds`), `onEvent` returns `false`, or the task is cancelled.
    ///
    /// Asks for bookmarks. A 410 (the version was compacted) arrives as ``KubernetesWatchEvent/expired``, whether the
    /// server says it in the stream or as the answer's status. `onEvent` runs on an HTTP thread: keep it short.
    ///
    /// - Throws: a ``KubernetesError`` when the watch could not be started (401, 403, unreachable…) or a line could
    ///   not be read; the caller lists again and watches anew.
    public func watch(
        group: String,
        version: String,
        namespace: String,
        plural: String,
        labelSelector: String? = nil,
        resourceVersion: String,
        timeoutSeconds: Int = 300,
        onEvent: @escaping @Sendable (KubernetesWatchEvent) -> Bool
    ) async throws(KubernetesError) {
        let call = KubernetesCall(verb: "watch", group: group, version: version, namespace: namespace, plural: plural, name: nil)
        var url =
            baseURL(group: group, version: version, namespace: namespace, plural: plural)
            + "?watch=true&allowWatchBookmarks=true&timeoutSeconds=\(timeoutSeconds)&resourceVersion=" + queryComponent(resourceVersion)
        if let labelSelector { url += "&labelSelector=" + queryComponent(labelSelector) }
        let reader = WatchLineReader(onEvent: onEvent)
        let request = HTTPRequest(
            method: "GET",
            url: url,
            headers: [(name: "Accept", value: "application/json"), (name: "User-Agent", value: "upgrade-gate")],
            timeout: .seconds(timeoutSeconds + 30)
        )
        let response: HTTPResponse
        do throws(HTTPClientError) {
            response = try await http.stream(request) { chunk in reader.receive(chunk) }
        } catch {
            if reader.stoppedByConsumer { return }
            if let problem = reader.problem { throw .undecodable(call, httpStatus: 200, why: problem, attempts: 1) }
            if error == .timeout { return }  // the stream outlived its own timeout: a normal end
            throw .transport(call, error: error, attempts: 1, apiServer: connection.apiServer)
        }
        if (200..<300).contains(response.status) { return }
        if response.status == 410 {
            _ = onEvent(.expired)
            return
        }
        if response.status == 401 { http.refreshCredentials() }
        let body = reader.unread
        throw .answer(
            call,
            httpStatus: response.status,
            status: KubernetesStatus.decode(body),
            bodyText: String(decoding: body.prefix(200), as: UTF8.self),
            attempts: 1,
            tokenFile: connection.tokenFile
        )
    }

    /// Deletes an object; a missing one is not an error (it is gone either way).
    ///
    /// With `preconditions`, only that object at that version is deleted (its `uid` and `resourceVersion`): a newer
    /// version, or another object of the same name, is a ``KubernetesError/conflict``.
    public func delete(
        group: String,
        version: String,
        namespace: String,
        plural: String,
        name: String,
        preconditions: KubernetesObject? = nil
    ) async throws(KubernetesError) {
        let call = KubernetesCall(verb: "delete", group: group, version: version, namespace: namespace, plural: plural, name: name)
        let url = baseURL(group: group, version: version, namespace: namespace, plural: plural) + "/" + pathSegment(name)
        var body: [UInt8]? = nil
        if let preconditions {
            var fields: [String: JSONValue] = [:]
            if let uid = preconditions.uid { fields["uid"] = .string(uid) }
            if let version = preconditions.resourceVersion { fields["resourceVersion"] = .string(version) }
            body = JSONValue.object([
                "apiVersion": .string("v1"), "kind": .string("DeleteOptions"), "preconditions": .object(fields),
            ]).encoded()
        }
        do {
            _ = try await send(call, method: "DELETE", url: url, body: body)
        } catch  where error == .notFound {
            return
        }
    }
}

/// Splits a watch stream into lines and decodes each one; bounded by ``KubernetesClient/maxWatchLineBytes``.
private final class WatchLineReader: Sendable {
    private struct State {
        var buffer: [UInt8] = []
        var problem: String?
        var stoppedByConsumer = false
    }

    private let state = Mutex(State())
    private let onEvent: @Sendable (KubernetesWatchEvent) -> Bool

    init(onEvent: @escaping @Sendable (KubernetesWatchEvent) -> Bool) {
        self.onEvent = onEvent
    }

    var problem: String? { state.withLock { $0.problem } }
    var stoppedByConsumer: Bool { state.withLock { $0.stoppedByConsumer } }
    /// Bytes not ending in a line break: an error answer's body.
    var unread: [UInt8] { state.withLock { $0.buffer } }

    /// Takes one chunk; `false` stops the transfer.
    func receive(_ chunk: UnsafeRawBufferPointer) -> Bool {
        var lines: [[UInt8]] = []
        let tooLong = state.withLock { state -> Bool in
            for byte in chunk {
                if byte == UInt8(ascii: "\n") {
                    if !state.buffer.isEmpty { lines.append(state.buffer) }
                    state.buffer.removeAll(keepingCapacity: true)
                } else {
                    state.buffer.append(byte)
                }
            }
            if state.buffer.count > KubernetesClient.maxWatchLineBytes {
                state.problem = "a watch line is longer than \(KubernetesClient.maxWatchLineBytes) bytes"
                return true
            }
            return false
        }
        if tooLong { return false }
        for line in lines {
            if let json = try? JSONValue.parse(line), json["kind"]?.stringValue == "Status", json["type"] == nil {
                // An error answer (401, 403…), not a stream: kept for the caller to report.
                state.withLock { $0.buffer = line }
                return false
            }
            guard let event = decode(line) else {
                state.withLock { $0.problem = "a watch line is not a watch event" }
                return false
            }
            if !onEvent(event) {
                state.withLock { $0.stoppedByConsumer = true }
                return false
            }
        }
        return true
    }

    private func decode(_ line: [UInt8]) -> KubernetesWatchEvent? {
        guard let json = try? JSONValue.parse(line), let type = json["type"]?.stringValue, let object = json["object"] else { return nil }
        switch type {
        case "ADDED": return .added(KubernetesObject(object))
        case "MODIFIED": return .modified(KubernetesObject(object))
        case "DELETED": return .deleted(KubernetesObject(object))
        case "BOOKMARK": return .bookmark(resourceVersion: object["metadata"]?["resourceVersion"]?.stringValue ?? "")
        case "ERROR":
            // A Status: 410 Expired/Gone means the version is too old; anything else ends this watch the same way.
            return .expired
        default: return nil
        }
    }
}
