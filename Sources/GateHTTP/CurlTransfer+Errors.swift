import CCurl

/// Turning libcurl results into ``HTTPClientError`` values that say what, why and how to fix, without secrets.
extension CurlTransfer {
    /// The error for a transfer that must not start: the client is closing or the task was cancelled.
    func stoppedError() -> HTTPClientError? {
        if clientClosing.isSet { return shutdownError() }
        if taskCancelled.isSet { return cancelledError() }
        return nil
    }

    /// The calling task was cancelled.
    func cancelledError() -> HTTPClientError {
        .make(.cancelled, target: target, reason: "the calling task was cancelled", fix: nil)
    }

    /// The client was shut down before or during the transfer.
    func shutdownError() -> HTTPClientError {
        .make(
            .shutdown,
            target: target,
            reason: "the client was shut down",
            fix: "do not use an HTTPClient after shutdown(); create a new one"
        )
    }

    /// A failure with no better kind; `reason` must hold no secret.
    func transportError(_ reason: String) -> HTTPClientError {
        .make(.transport, target: target, reason: reason, fix: nil)
    }

    /// A credential file could not be used; names the path, never the content.
    func credentialError(_ failure: CredentialFailure) -> HTTPClientError {
        .make(
            .credentialsUnreadable,
            target: target,
            reason: "cannot use the \(failure.role) \(failure.path): \(failure.reason)",
            fix: "make sure the secret is mounted at that path, holds the credential, and is readable by this process"
        )
    }

    /// The error for a failed `curl_easy_perform`.
    func failure(_ code: CURLcode, handle easy: UnsafeMutableRawPointer, sink: TransferSink, secrets: [String]) -> HTTPClientError {
        let libcurl = "libcurl error \(code.rawValue): " + scrub(sink.errorMessage ?? Self.curlMessage(code), secrets: secrets)
        let limits = "request timeout \(Self.format(request.timeout)), connect timeout \(Self.format(configuration.connectTimeout))"

        switch sink.abort {
        case .cancelled:
            return clientClosing.isSet ? shutdownError() : cancelledError()
        case .bodyTooLarge:
            return tooLarge("the body grew past the limit of \(configuration.maxResponseBytes) bytes")
        case .headersTooLarge:
            return tooLarge("the headers grew past the limit of \(TransferSink.maxHeaderBytes) bytes")
        case nil:
            break
        }

        switch code {
        case CURLE_ABORTED_BY_CALLBACK:
            return clientClosing.isSet ? shutdownError() : cancelledError()
        case CURLE_FILESIZE_EXCEEDED:
            // libcurl stops at the Content-Length header, before the info field or the header callback sees it.
            var announced = -1
            _ = gate_curl_getinfo_off(easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &announced)
            let size = announced >= 0 ? "\(announced) bytes" : "a Content-Length"
            return tooLarge("the server announced \(size), over the limit of \(configuration.maxResponseBytes) bytes")
        case CURLE_OPERATION_TIMEDOUT:
            return .make(
                .timeout,
                target: target,
                reason: "\(libcurl) (\(limits))",
                fix: "check that the server is reachable and not overloaded, or raise the request timeout or connectTimeout"
            )
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return .make(
                .connectFailed,
                target: target,
                reason: libcurl,
                fix: "check the host name and port, that the server is running, and that network policies allow the connection"
            )
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            return .make(.invalidURL, target: target, reason: libcurl, fix: "use an absolute http:// or https:// URL")
        case _ where Self.isTLSFailure(code, message: sink.errorMessage):
            return .make(
                .tlsFailed,
                target: target,
                reason: libcurl,
                fix: "set tls.caFile to the CA that signed the server certificate and make sure the URL's host is in it; "
                    + "if the server wants a client certificate, set tls.certFile and tls.keyFile"
            )
        default:
            var fix = "check that the server speaks HTTP on that port and look at its logs for why it closed the connection"
            if url.redacted.hasPrefix("https:") {
                // With TLS 1.3 a server rejects a missing client certificate after the handshake; libcurl may only
                // see the connection drop (e.g. error 55 from getpeername) instead of the TLS alert.
                fix += "; a server that requires a client certificate also drops the connection like this: set tls.certFile and tls.keyFile"
            }
            return .make(.transport, target: target, reason: libcurl, fix: fix)
        }
    }

    private func tooLarge(_ reason: String) -> HTTPClientError {
        .make(
            .responseTooLarge,
            target: target,
            reason: reason,
            fix: "ask for less (narrow the query or its time range), or raise maxResponseBytes"
        )
    }

    /// Replaces every secret this transfer knows of in `text`, as defence in depth over libcurl's messages.
    private func scrub(_ text: String, secrets: [String]) -> String {
        let sensitiveHeader = ["auth", "token", "cookie", "secret", "key", "password"]
        var all = secrets + url.secrets
        all += request.headers.filter { header in sensitiveHeader.contains { header.name.lowercased().contains($0) } }.map(\.value)
        return all.filter { !$0.isEmpty }.reduce(text) { $0.replacing($1, with: "REDACTED") }
    }

    /// Whether libcurl failed in TLS: a TLS error code, or a TLS alert while reading (TLS 1.3 rejects a client
    /// certificate after the handshake, so that surfaces as a receive error).
    static func isTLSFailure(_ code: CURLcode, message: String?) -> Bool {
        switch code {
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
            CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ENGINE_INITFAILED,
            CURLE_SSL_SHUTDOWN_FAILED, CURLE_SSL_CRL_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
            CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT, CURLE_USE_SSL_FAILED:
            return true
        case CURLE_RECV_ERROR, CURLE_SEND_ERROR:
            return message.map { $0.contains("SSL") && $0.contains("alert") } ?? false
        default:
            return false
        }
    }

    /// libcurl's generic text for `code`.
    static func curlMessage(_ code: CURLcode) -> String {
        curl_easy_strerror(code).map { String(cString: $0) } ?? "unknown error"
    }

    /// `duration` in whole milliseconds for libcurl, at least 1 (0 would mean "no timeout").
    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0, seconds > 0 || attoseconds > 0 else { return 1 }
        // Beyond a day the exact value no longer matters, and capping avoids overflow.
        guard seconds < 86_400 else { return 86_400_000 }
        let rounded = (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return max(1, Int(seconds) * 1000 + Int(rounded))
    }

    /// A duration as people write it in config: `10 s` or `250 ms`.
    static func format(_ duration: Duration) -> String {
        let ms = milliseconds(duration)
        return ms % 1000 == 0 ? "\(ms / 1000) s" : "\(ms) ms"
    }
}
