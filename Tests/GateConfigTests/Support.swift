import Foundation
import Testing

@testable import GateConfig

/// The path of a file in the test target's `Fixtures` folder.
func fixturePath(_ name: String) throws -> String {
    let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil), "fixture \(name) is missing")
    return url.path
}

/// Loads a fixture that must be valid.
func loadFixture(_ name: String) throws -> GateConfig {
    try GateConfigLoader.load(path: fixturePath(name))
}

/// Loads a fixture that must be invalid and returns its errors.
func loadErrors(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> ConfigErrors {
    let path = try fixturePath(name)
    do {
        let config = try GateConfigLoader.load(path: path)
        Issue.record("\(name) loaded without errors: \(config)", sourceLocation: sourceLocation)
        return ConfigErrors(source: path, errors: [])
    } catch {
        return error
    }
}

/// `yaml` with the required `auth` section appended when it has none, so a test shows only the problem it is about.
func withAuth(_ yaml: String) -> String {
    // Only a top-level mapping can take another key; a list or a scalar document is left as it is.
    let first = yaml.split(separator: "\n").first { !$0.hasPrefix("#") && !$0.trimmingCharacters(in: .whitespaces).isEmpty }
    let isMapping = first.map { !$0.hasPrefix("-") && !$0.hasPrefix("[") && $0.contains(":") } ?? true
    return yaml.hasPrefix("auth") || yaml.contains("\nauth") || !isMapping
        ? yaml : yaml + "\nauth: {tokenFile: /var/run/secrets/upgrade-gate/token}\n"
}

/// Parses YAML text (with `auth` added when it has none) that must be invalid and returns its errors.
func parseErrors(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) -> [ConfigError] {
    do {
        let config = try GateConfigLoader.parse(yaml: withAuth(yaml))
        Issue.record("the YAML parsed without errors: \(config)", sourceLocation: sourceLocation)
        return []
    } catch {
        return error.errors
    }
}

/// Asserts that a secret appears nowhere in the errors: not in a message, a path, or the whole description.
func expectNoSecret(_ secret: String, in errors: ConfigErrors, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(!errors.description.contains(secret), "secret leaked: \(errors)", sourceLocation: sourceLocation)
    for error in errors.errors {
        #expect(!error.message.contains(secret) && !error.path.contains(secret), "secret leaked: \(error)", sourceLocation: sourceLocation)
    }
}

/// The minimal valid configuration as YAML, with `extra` appended at the top level.
func minimalYAML(_ extra: String = "") -> String {
    """
    prometheus:
      url: http://prometheus:9090
    checks:
      - name: targets-up
        query: up
        min: 1

    """ + withAuth(extra)
}
