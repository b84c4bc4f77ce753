extension KubernetesError {
    /// The error a client reports for an API server answer with `httpStatus` to `verb` on `plural.group` (test
    /// fakes of the ports use it to answer like the real client: 404 is ``isNotFound``, 409 AlreadyExists, 5xx).
    public static func apiAnswer(
        verb: String,
        group: String,
        version: String,
        namespace: String?,
        plural: String,
        name: String?,
        httpStatus: Int,
        message: String
    ) -> KubernetesError {
        answer(
            KubernetesCall(verb: verb, group: group, version: version, namespace: namespace, plural: plural, name: name),
            httpStatus: httpStatus,
            status: nil,
            bodyText: message,
            attempts: 1,
            tokenFile: nil
        )
    }
}
