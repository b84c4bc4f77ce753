import NIOPosix
import Synchronization

/// The project's only HTTP client: libcurl transfers on a thread pool, with pooled connections, hard timeouts,
/// cancellation, a response size limit, TLS options and file-based credentials.
///
/// A non-2xx status is returned as an ``HTTPResponse``; ``HTTPClientError`` is for requests that got no response.
/// Call ``shutdown()`` when done.
public final class HTTPClient: Sendable {
    /// Threads of the pool a client creates for itself; each request in flight holds one for its whole duration.
    public static let ownedThreadPoolSize = 8
    /// Idle easy handles (each with its connection cache) kept between requests.
    static let maxIdleHandles = 8

    private let configuration: HTTPClientConfiguration
    private let threadPool: NIOThreadPool
    private let ownsThreadPool: Bool
    private let handles: CurlHandlePool
    private let credentials: CredentialStore
    // Set once by shutdown() or deinit; every transfer polls it, so transfers in flight abort promptly.
    private let closing = CancellationFlag()

    /// Creates a client; with no `threadPool` it starts and owns one of ``ownedThreadPoolSize`` threads.
    ///
    /// A pool passed in must be started, and stays the caller's to shut down (after this client).
    public init(configuration: HTTPClientConfiguration = .init(), threadPool: NIOThreadPool? = nil) {
        // curl_global_init before any other libcurl call, including the URL parser used by `execute`.
        _ = CurlGlobal.initialised
        self.configuration = configuration
        if let threadPool {
            self.threadPool = threadPool
            self.ownsThreadPool = false
        } else {
            let pool = NIOThreadPool(numberOfThreads: Self.ownedThreadPoolSize)
            pool.start()
            self.threadPool = pool
            self.ownsThreadPool = true
        }
        self.handles = CurlHandlePool(maxIdle: Self.maxIdleHandles)
        self.credentials = CredentialStore(credentials: configuration.credentials, refreshInterval: configuration.credentialRefresh)
    }

    deinit {
        // A forgotten shutdown() must not leak threads: an owned pool is stopped without waiting.
        if !closing.exchange(), ownsThreadPool {
            threadPool.shutdownGracefully { _ in }
        }
        handles.close()
    }

    /// Sends `request` and returns the response of any status; throws ``HTTPClientError`` when there is none.
    ///
    /// The transfer runs on the thread pool, never on the cooperative pool. Cancelling the calling task aborts it
    /// within about a second with ``HTTPClientError/cancelled``.
    public func execute(_ request: HTTPRequest) async throws(HTTPClientError) -> HTTPResponse {
        try await perform(try prepare(request))
    }

    /// Sends `request` and hands each body chunk to `onBody` as it arrives, on a thread-pool thread, instead of
    /// collecting it: for long-lived streams such as a Kubernetes watch. `onBody` returning `false` stops the
    /// transfer (reported as ``HTTPClientError/cancelled``).
    ///
    /// Returns the response's status and headers (the body is empty: it went to `onBody`) when the server ends the
    /// stream or ``HTTPRequest/timeout`` passes. The stream has no size limit: `onBody` must bound what it keeps.
    public func stream(
        _ request: HTTPRequest,
        onBody: @escaping @Sendable (UnsafeRawBufferPointer) -> Bool
    ) async throws(HTTPClientError) -> HTTPResponse {
        var transfer = try prepare(request)
        transfer.forward = onBody
        return try await perform(transfer)
    }

    private func perform(_ transfer: CurlTransfer) async throws(HTTPClientError) -> HTTPResponse {
        if let stopped = transfer.stoppedError() { throw stopped }
        let outcome: Result<HTTPResponse, HTTPClientError>
        do {
            outcome = try await withTaskCancellationHandler {
                try await threadPool.runIfActive { transfer.run() }
            } onCancel: {
                transfer.taskCancelled.set()
            }
        } catch {
            // runIfActive throws CancellationError when its work item was dropped before it ran: because the task was
            // cancelled, or because the pool is shutting down or was never started.
            if let stopped = transfer.stoppedError() { throw stopped }
            // The pool may drop the work item before this task's own cancellation handler has set the flag.
            if Task.isCancelled { throw transfer.cancelledError() }
            throw .make(
                .shutdown,
                target: transfer.target,
                reason: "the thread pool did not run the transfer (\(type(of: error)))",
                fix: "start the NIOThreadPool given to HTTPClient and shut it down only after the client"
            )
        }
        return try outcome.get()
    }

    /// Drops the cached token or password so the next request reads the file again (e.g. after a 401).
    public func refreshCredentials() {
        credentials.invalidate()
    }

    /// Aborts transfers in flight, releases idle connections and stops an owned thread pool; idempotent.
    ///
    /// Requests made afterwards fail with ``HTTPClientError/shutdown``.
    public func shutdown() async {
        guard !closing.exchange() else { return }
        handles.close()
        if ownsThreadPool {
            // Waits for transfers in flight, which notice `closing` at their next progress callback.
            try? await threadPool.shutdownGracefully()
        }
    }

    /// Validates everything that can be checked without I/O, so bad input fails before using a thread.
    private func prepare(_ request: HTTPRequest) throws(HTTPClientError) -> CurlTransfer {
        guard let url = CheckedURL(request.url) else {
            throw .make(
                .invalidURL,
                target: URLRedaction.redactUnparsed(request.url),
                reason: "libcurl cannot parse it as an absolute http or https URL with a host",
                fix: "use a URL such as https://host:port/path"
            )
        }
        let transfer = CurlTransfer(
            request: request,
            url: url,
            configuration: configuration,
            handles: handles,
            credentials: credentials,
            taskCancelled: CancellationFlag(),
            clientClosing: closing
        )
        func invalid(_ reason: String) -> HTTPClientError {
            .make(.invalidRequest, target: transfer.target, reason: reason, fix: "remove line breaks and control characters")
        }
        guard Self.isToken(request.method) else {
            throw .make(
                .invalidRequest,
                target: URLRedaction.bounded(url.redacted),
                reason: "the method is not an HTTP token",
                fix: "use a method such as GET or POST"
            )
        }
        for (index, header) in request.headers.enumerated() {
            // Neither the name nor the value is quoted: a malformed header may well hold a secret.
            guard Self.isToken(header.name) else { throw invalid("the name of header #\(index + 1) is not an HTTP token") }
            guard !header.value.utf8.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) else {
                throw invalid("the value of header \(header.name) contains a line break or another control character")
            }
        }
        return transfer
    }

    /// Whether `text` is an RFC 9110 token, as methods and header names must be.
    private static func isToken(_ text: String) -> Bool {
        !text.isEmpty
            && text.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    true
                default:
                    "!#$%&'*+-.^_`|~".utf8.contains(byte)
                }
            }
    }
}
