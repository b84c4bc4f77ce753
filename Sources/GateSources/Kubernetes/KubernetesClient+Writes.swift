import GateHTTP

// Writes with optimistic concurrency: PUT and merge PATCH carry the object's resourceVersion, and a stale one is a
// 409 the caller answers by reading again (``KubernetesError/conflict``). Neither is retried on a 409.
extension KubernetesClient {
    /// Replaces an object (PUT) with `object`, which must carry the `metadata.resourceVersion` it was read at.
    ///
    /// `subresource` is `status` to write only the status (the API server then ignores everything else).
    ///
    /// - Throws: ``KubernetesError/conflict`` when the object changed since it was read (re-read and decide again),
    ///   ``KubernetesError/notFound`` when it no longer exists, ``KubernetesError/invalid`` when the body is
    ///   rejected (a missing resourceVersion included).
    public func replace(
        group: String,
        version: String,
        namespace: String,
        plural: String,
        name: String,
        subresource: String? = nil,
        object: JSONValue
    ) async throws(KubernetesError) -> KubernetesObject {
        let call = KubernetesCall(verb: "update", group: group, version: version, namespace: namespace, plural: plural, name: name)
        var url = baseURL(group: group, version: version, namespace: namespace, plural: plural) + "/" + pathSegment(name)
        if let subresource { url += "/" + pathSegment(subresource) }
        return KubernetesObject(try await send(call, method: "PUT", url: url + "?fieldValidation=Strict", body: object.encoded()))
    }

    /// Applies an RFC 7386 merge patch (`application/merge-patch+json`) to an object or its `status`.
    ///
    /// A patch that sets `metadata.resourceVersion` is applied only to that version (else
    /// ``KubernetesError/conflict``); without it the patch applies to whatever is stored.
    public func mergePatch(
        group: String,
        version: String,
        namespace: String,
        plural: String,
        name: String,
        subresource: String? = nil,
        patch: JSONValue
    ) async throws(KubernetesError) -> KubernetesObject {
        let call = KubernetesCall(verb: "patch", group: group, version: version, namespace: namespace, plural: plural, name: name)
        var url = baseURL(group: group, version: version, namespace: namespace, plural: plural) + "/" + pathSegment(name)
        if let subresource { url += "/" + pathSegment(subresource) }
        let json = try await send(
            call,
            method: "PATCH",
            url: url + "?fieldValidation=Strict",
            body: patch.encoded(),
            contentType: "application/merge-patch+json"
        )
        return KubernetesObject(json)
    }
}
