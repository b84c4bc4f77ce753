/// TLS settings for every request of one ``HTTPClient``; all paths are PEM files.
public struct TLSOptions: Sendable, Equatable {
    /// The CA bundle that verifies servers; `nil` uses the system's trust store.
    public var caFile: String?
    /// The client certificate presented when a server asks for one (mutual TLS).
    public var certFile: String?
    /// The private key of ``certFile``; must not be encrypted.
    public var keyFile: String?
    /// Skips verification of the server's certificate chain and host name.
    ///
    /// - Important: This removes all protection against an impostor server; use it for tests only.
    public var insecureSkipVerify: Bool

    /// Creates TLS settings; the defaults verify servers against the system trust store.
    public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil, insecureSkipVerify: Bool = false) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.insecureSkipVerify = insecureSkipVerify
    }
}

/// How requests authenticate; secrets are only ever given as paths to files, never inline.
public enum Credentials: Sendable, Equatable {
    /// No authentication is added.
    case none
    /// `Authorization: Bearer <token>` with the token read from this path (whitespace trimmed).
    ///
    /// The file is read again once the cached copy is older than
    /// ``HTTPClientConfiguration/credentialRefresh``, so rotated Kubernetes service-account tokens are picked up.
    case bearerTokenFile(String)
    /// HTTP Basic authentication with the password read from `passwordFile` (trailing newline removed).
    case basic(username: String, passwordFile: String)
}

/// Settings shared by every request of one ``HTTPClient``.
public struct HTTPClientConfiguration: Sendable {
    /// TLS trust, client certificate and verification settings.
    public var tls: TLSOptions
    /// The authentication added to requests that carry no `Authorization` header of their own.
    public var credentials: Credentials
    /// The largest response body accepted; a larger one fails with ``HTTPClientError/responseTooLarge``.
    public var maxResponseBytes: Int
    /// The limit for establishing a connection, including the TLS handshake.
    public var connectTimeout: Duration
    /// How long a secret read from a file is reused before the file is read again.
    public var credentialRefresh: Duration

    /// Creates a configuration; the defaults are 16 MiB responses, a 5 s connect timeout and 30 s credential cache.
    public init(
        tls: TLSOptions = .init(),
        credentials: Credentials = .none,
        maxResponseBytes: Int = 16 << 20,
        connectTimeout: Duration = .seconds(5),
        credentialRefresh: Duration = .seconds(30)
    ) {
        self.tls = tls
        self.credentials = credentials
        self.maxResponseBytes = maxResponseBytes
        self.connectTimeout = connectTimeout
        self.credentialRefresh = credentialRefresh
    }
}
