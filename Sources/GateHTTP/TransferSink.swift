import CCurl

/// Receives libcurl's callbacks for one transfer: collects the body and headers and enforces the limits.
///
/// It is created, called back and read on the one thread that runs `curl_easy_perform`; libcurl reaches it through
/// an unretained pointer while the transfer keeps it alive.
final class TransferSink {
    /// Why a callback stopped the transfer.
    enum Abort {
        /// The body passed ``TransferSink/limit``.
        case bodyTooLarge
        /// The headers passed ``TransferSink/maxHeaderBytes``.
        case headersTooLarge
        /// The task was cancelled or the client is shutting down.
        case cancelled
    }

    /// The most header bytes accepted for one response, on top of the body limit.
    static let maxHeaderBytes = 1 << 20

    /// The most body bytes accepted.
    let limit: Int
    private let taskCancelled: CancellationFlag
    private let clientClosing: CancellationFlag
    /// The body received so far.
    private(set) var body: [UInt8] = []
    /// The headers of the latest response, names lowercased; reset when a new status line arrives.
    private(set) var headers: [String: String] = [:]
    private var headerBytes = 0
    /// Set when a callback stopped the transfer, which then fails with a libcurl error.
    private(set) var abort: Abort?
    /// libcurl's CURLOPT_ERRORBUFFER: a human-readable reason for the last failure.
    let errorBuffer: UnsafeMutablePointer<CChar>
    /// For a streamed transfer: receives every body chunk as it arrives (nothing is collected); `false` stops it.
    private let forward: (@Sendable (UnsafeRawBufferPointer) -> Bool)?

    /// Creates a sink for one transfer that accepts at most `limit` body bytes, or forwards them to `forward`.
    init(
        limit: Int,
        taskCancelled: CancellationFlag,
        clientClosing: CancellationFlag,
        forward: (@Sendable (UnsafeRawBufferPointer) -> Bool)? = nil
    ) {
        self.forward = forward
        self.limit = limit
        self.taskCancelled = taskCancelled
        self.clientClosing = clientClosing
        self.errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        self.errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
    }

    deinit {
        errorBuffer.deallocate()
    }

    /// libcurl's error message for the failed transfer, or `nil` when it left none.
    var errorMessage: String? {
        let text = String(cString: errorBuffer)
        return text.isEmpty ? nil : text
    }

    /// Whether the transfer must stop now because the task was cancelled or the client is shutting down.
    func shouldAbort() -> Bool {
        guard taskCancelled.isSet || clientClosing.isSet else { return false }
        abort = .cancelled
        return true
    }

    /// Appends body bytes; returns `false` (which makes libcurl fail with CURLE_WRITE_ERROR) to stop the transfer.
    func receiveBody(_ chunk: UnsafeRawBufferPointer) -> Bool {
        if shouldAbort() { return false }
        if let forward {
            guard forward(chunk) else {
                abort = .cancelled
                return false
            }
            return true
        }
        guard chunk.count <= limit - body.count else {
            abort = .bodyTooLarge
            return false
        }
        body.append(contentsOf: chunk)
        return true
    }

    /// Records one header line; a status line starts a new response, so only the last response's headers remain.
    func receiveHeader(_ line: UnsafeRawBufferPointer) -> Bool {
        headerBytes += line.count
        guard headerBytes <= Self.maxHeaderBytes else {
            abort = .headersTooLarge
            return false
        }
        let text = String(decoding: line, as: UTF8.self)
        if text.hasPrefix("HTTP/") {
            headers.removeAll()
            return true
        }
        guard let colon = text.firstIndex(of: ":") else { return true }  // the blank line ending the headers
        let name = text[..<colon].trimmingHTTPWhitespace().lowercased()
        guard !name.isEmpty else { return true }
        headers[name] = String(text[text.index(after: colon)...].trimmingHTTPWhitespace())
        return true
    }
}

extension StringProtocol {
    /// The string without leading and trailing spaces, tabs, CRs and LFs.
    func trimmingHTTPWhitespace() -> SubSequence {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return self[endIndex...]
        }
        return self[first...last]
    }
}
