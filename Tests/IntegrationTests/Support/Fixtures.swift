import Foundation

/// A wire fixture (a payload captured from the real upstream) from this target's Fixtures/.
func fixtureText(_ path: String) throws -> String {
    guard let url = Bundle.module.url(forResource: "Fixtures/\(path)", withExtension: nil) else {
        throw HarnessError(description: "fixture \(path) is not in Tests/IntegrationTests/Fixtures")
    }
    return try String(contentsOf: url, encoding: .utf8)
}

/// Every fixture file in one Fixtures/ subfolder, sorted.
func fixtureNames(_ folder: String) throws -> [String] {
    guard let url = Bundle.module.url(forResource: "Fixtures/\(folder)", withExtension: nil) else {
        throw HarnessError(description: "fixture folder \(folder) is missing")
    }
    return try FileManager.default.contentsOfDirectory(atPath: url.path).filter { $0.hasSuffix(".json") }.sorted()
}
