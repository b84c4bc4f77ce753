import CCurl
import Synchronization

/// A flag set from another thread (a task's cancellation handler, or `shutdown()`) and polled by libcurl callbacks.
final class CancellationFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    /// Creates a flag that is not set.
    init() {}

    /// Sets the flag; the transfer notices it at the next progress or write callback.
    func set() { flag.store(true, ordering: .releasing) }

    /// Sets the flag and returns whether it was already set.
    func exchange() -> Bool { flag.exchange(true, ordering: .acquiringAndReleasing) }

    /// Whether the flag is set.
    var isSet: Bool { flag.load(ordering: .acquiring) }
}

/// One request, validated on the calling task, performed on a thread-pool thread with a pooled easy handle.
struct CurlTransfer: Sendable {
    /// The request as the caller gave it (method and headers already validated).
    let request: HTTPRequest
    /// The parsed URL and its redacted form.
    let url: CheckedURL
    /// The owning client's settings.
    let configuration: HTTPClientConfiguration
    /// Where the easy handle comes from and goes back to.
    let handles: CurlHandlePool
    /// Where the credential comes from.
    let credentials: CredentialStore
    /// Set when the calling task is cancelled.
    let taskCancelled: CancellationFlag
    /// Set when the client shuts down; aborts every transfer in flight.
    let clientClosing: CancellationFlag
    /// For a streamed transfer, where body chunks go as they arrive.
    var forward: (@Sendable (UnsafeRawBufferPointer) -> Bool)? = nil

    /// `METHOD redacted-url`, the only way a request is named in an error.
    var target: String { "\(request.method) \(url.redacted)" }

    /// Runs the transfer to completion; blocks the calling thread, so it must run on a thread pool.
    func run() -> Result<HTTPResponse, HTTPClientError> {
        if let stopped = stoppedError() { return .failure(stopped) }
        let credential: ResolvedCredential
        switch credentials.resolve() {
        case .success(let resolved): credential = resolved
        case .failure(let failure): return .failure(credentialError(failure))
        }
        let sink = TransferSink(
            limit: configuration.maxResponseBytes,
            taskCancelled: taskCancelled,
            clientClosing: clientClosing,
            forward: forward
        )
        var headerList: UnsafeMutablePointer<curl_slist>?
        // Declared before the check-in below, so it runs after it: the list is freed only once the handle is reset.
        defer { curl_slist_free_all(headerList) }
        guard let handle = handles.checkOut() else {
            return .failure(clientClosing.isSet ? shutdownError() : transportError("libcurl could not create a handle (out of memory?)"))
        }
        // The sink (buffers libcurl points into) lives until the handle is reset and no longer refers to it.
        defer { withExtendedLifetime(sink) { handles.checkIn(handle) } }

        do {
            headerList = try configure(handle.raw, sink: sink, credential: credential)
        } catch {
            return .failure(error)
        }
        let code = performWithBody(handle.raw)
        guard code == CURLE_OK else { return .failure(failure(code, handle: handle.raw, sink: sink, secrets: credential.secrets)) }

        var status = 0
        _ = gate_curl_getinfo_long(handle.raw, CURLINFO_RESPONSE_CODE, &status)
        return .success(HTTPResponse(status: status, headers: sink.headers, body: sink.body))
    }

    // MARK: - Options

    /// Sets every option except the body; returns the header list, which must outlive the transfer.
    private func configure(
        _ easy: UnsafeMutableRawPointer,
        sink: TransferSink,
        credential: ResolvedCredential
    ) throws(HTTPClientError) -> UnsafeMutablePointer<curl_slist>? {
        func check(_ code: CURLcode, _ name: StaticString) throws(HTTPClientError) {
            guard code == CURLE_OK else { throw transportError("libcurl rejected \(name): \(Self.curlMessage(code))") }
        }
        let context = Unmanaged.passUnretained(sink).toOpaque()

        try check(gate_curl_setopt_string(easy, CURLOPT_URL, url.raw), "CURLOPT_URL")
        try check(gate_curl_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https"), "CURLOPT_PROTOCOLS_STR")
        // Signals cannot be used for timeouts in a multi-threaded process.
        try check(gate_curl_setopt_long(easy, CURLOPT_NOSIGNAL, 1), "CURLOPT_NOSIGNAL")
        try check(gate_curl_setopt_long(easy, CURLOPT_TIMEOUT_MS, Self.milliseconds(request.timeout)), "CURLOPT_TIMEOUT_MS")
        try check(
            gate_curl_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(configuration.connectTimeout)),
            "CURLOPT_CONNECTTIMEOUT_MS"
        )
        try check(gate_curl_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0), "CURLOPT_FOLLOWLOCATION")
        try check(gate_curl_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1), "CURLOPT_TCP_KEEPALIVE")
        // An empty string asks for every encoding this libcurl can decode; the body handed back is decoded.
        try check(gate_curl_setopt_string(easy, CURLOPT_ACCEPT_ENCODING, ""), "CURLOPT_ACCEPT_ENCODING")
        try check(gate_curl_setopt_pointer(easy, CURLOPT_ERRORBUFFER, sink.errorBuffer), "CURLOPT_ERRORBUFFER")
        // Rejects early when the server announces a Content-Length over the limit; the write callback covers the rest.
        // A streamed body has no overall limit (its consumer bounds each piece), only the transfer's timeout.
        if forward == nil {
            try check(gate_curl_setopt_off(easy, CURLOPT_MAXFILESIZE_LARGE, configuration.maxResponseBytes), "CURLOPT_MAXFILESIZE_LARGE")
        }

        try check(
            gate_curl_setopt_write_function(easy, CURLOPT_WRITEFUNCTION) { data, size, count, context in
                guard let context else { return 0 }
                let sink = Unmanaged<TransferSink>.fromOpaque(context).takeUnretainedValue()
                return sink.receiveBody(UnsafeRawBufferPointer(start: data, count: size * count)) ? size * count : 0
            },
            "CURLOPT_WRITEFUNCTION"
        )
        try check(gate_curl_setopt_pointer(easy, CURLOPT_WRITEDATA, context), "CURLOPT_WRITEDATA")
        try check(
            gate_curl_setopt_write_function(easy, CURLOPT_HEADERFUNCTION) { data, size, count, context in
                guard let context else { return 0 }
                let sink = Unmanaged<TransferSink>.fromOpaque(context).takeUnretainedValue()
                return sink.receiveHeader(UnsafeRawBufferPointer(start: data, count: size * count)) ? size * count : 0
            },
            "CURLOPT_HEADERFUNCTION"
        )
        try check(gate_curl_setopt_pointer(easy, CURLOPT_HEADERDATA, context), "CURLOPT_HEADERDATA")
        // libcurl calls this at least about once a second even while the connection is idle, so a cancelled
        // transfer stops within a second; a non-zero return aborts with CURLE_ABORTED_BY_CALLBACK.
        try check(gate_curl_setopt_long(easy, CURLOPT_NOPROGRESS, 0), "CURLOPT_NOPROGRESS")
        try check(
            gate_curl_setopt_xferinfo_function(easy) { context, _, _, _, _ in
                guard let context else { return 0 }
                return Unmanaged<TransferSink>.fromOpaque(context).takeUnretainedValue().shouldAbort() ? 1 : 0
            },
            "CURLOPT_XFERINFOFUNCTION"
        )
        try check(gate_curl_setopt_pointer(easy, CURLOPT_XFERINFODATA, context), "CURLOPT_XFERINFODATA")

        let tls = configuration.tls
        if let caFile = tls.caFile { try check(gate_curl_setopt_string(easy, CURLOPT_CAINFO, caFile), "CURLOPT_CAINFO") }
        if let certFile = tls.certFile { try check(gate_curl_setopt_string(easy, CURLOPT_SSLCERT, certFile), "CURLOPT_SSLCERT") }
        if let keyFile = tls.keyFile { try check(gate_curl_setopt_string(easy, CURLOPT_SSLKEY, keyFile), "CURLOPT_SSLKEY") }
        if tls.insecureSkipVerify {
            try check(gate_curl_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 0), "CURLOPT_SSL_VERIFYPEER")
            try check(gate_curl_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 0), "CURLOPT_SSL_VERIFYHOST")
        }

        switch (request.method, request.body) {
        case ("GET", nil): try check(gate_curl_setopt_long(easy, CURLOPT_HTTPGET, 1), "CURLOPT_HTTPGET")
        case ("HEAD", nil): try check(gate_curl_setopt_long(easy, CURLOPT_NOBODY, 1), "CURLOPT_NOBODY")
        case ("POST", _), (_, .some): break  // the body (possibly empty) is set by `performWithBody`
        case (let method, nil): try check(gate_curl_setopt_string(easy, CURLOPT_CUSTOMREQUEST, method), "CURLOPT_CUSTOMREQUEST")
        }
        if request.body != nil, request.method != "POST" {
            try check(gate_curl_setopt_string(easy, CURLOPT_CUSTOMREQUEST, request.method), "CURLOPT_CUSTOMREQUEST")
        }

        // Headers: the caller's own Authorization wins over the configured credentials.
        let callerAuthorizes = request.headers.contains { $0.name.lowercased() == "authorization" }
        var lines = request.headers.map { $0.value.isEmpty ? "\($0.name);" : "\($0.name): \($0.value)" }
        if !request.headers.contains(where: { $0.name.lowercased() == "expect" }) {
            // "Expect:" with no value stops libcurl from sending `Expect: 100-continue` and waiting for the reply.
            lines.append("Expect:")
        }
        if !callerAuthorizes {
            switch credential {
            case .none: break
            case .bearer(let token): lines.append("Authorization: Bearer \(token)")
            case .basic(let username, let password):
                try check(gate_curl_setopt_long(easy, CURLOPT_HTTPAUTH, 1), "CURLOPT_HTTPAUTH")  // CURLAUTH_BASIC
                try check(gate_curl_setopt_string(easy, CURLOPT_USERNAME, username), "CURLOPT_USERNAME")
                try check(gate_curl_setopt_string(easy, CURLOPT_PASSWORD, password), "CURLOPT_PASSWORD")
            }
        }
        var list: UnsafeMutablePointer<curl_slist>?
        for line in lines {
            guard let appended = curl_slist_append(list, line) else {
                curl_slist_free_all(list)
                throw transportError("libcurl could not build the header list (out of memory?)")
            }
            list = appended
        }
        do {
            try check(gate_curl_setopt_slist(easy, CURLOPT_HTTPHEADER, list), "CURLOPT_HTTPHEADER")
        } catch {
            curl_slist_free_all(list)
            throw error
        }
        return list
    }

    /// Runs `curl_easy_perform`, with the body set for exactly as long as libcurl may read it (it is not copied).
    private func performWithBody(_ easy: UnsafeMutableRawPointer) -> CURLcode {
        guard request.body != nil || request.method == "POST" else { return curl_easy_perform(easy) }
        // A non-nil pointer even for an empty body: a NULL CURLOPT_POSTFIELDS makes libcurl read stdin instead.
        let bytes = request.body.flatMap { $0.isEmpty ? nil : $0 } ?? [0]
        let count = request.body?.count ?? 0
        return bytes.withUnsafeBytes { buffer in
            let sizeCode = gate_curl_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, count)
            guard sizeCode == CURLE_OK else { return sizeCode }
            let dataCode = gate_curl_setopt_pointer(easy, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: buffer.baseAddress))
            guard dataCode == CURLE_OK else { return dataCode }
            return curl_easy_perform(easy)
        }
    }
}
