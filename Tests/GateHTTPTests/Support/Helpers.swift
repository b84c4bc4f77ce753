import Foundation
import GateHTTP
import Testing

/// Runs `body` with a fresh client and always shuts the client down afterwards.
func withClient<T>(
    _ configuration: HTTPClientConfiguration = .init(),
    _ body: (HTTPClient) async throws -> T
) async throws -> T {
    let client = HTTPClient(configuration: configuration)
    do {
        let result = try await body(client)
        await client.shutdown()
        return result
    } catch {
        await client.shutdown()
        throw error
    }
}

/// The error `request` fails with, or `nil` (recorded as a test failure) when it succeeds.
func failure(
    of request: HTTPRequest,
    on client: HTTPClient,
    sourceLocation: SourceLocation = #_sourceLocation
) async -> HTTPClientError? {
    do {
        let response = try await client.execute(request)
        Issue.record("expected an error, got status \(response.status)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

/// Fails the test if any rendering of `error` (description, label, debug text, dump) contains one of `secrets`.
func expectNoSecrets(in error: HTTPClientError?, _ secrets: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    guard let error else { return }
    var dumped = ""
    dump(error, to: &dumped)
    let anyError: any Error = error
    let renderings = [
        error.description, error.label, String(describing: error), String(reflecting: error), "\(anyError)", dumped,
        anyError.localizedDescription,
    ]
    for secret in secrets {
        for rendering in renderings where rendering.contains(secret) {
            Issue.record("an error leaks a secret (\(error.label)): \(rendering)", sourceLocation: sourceLocation)
        }
    }
}
