import Foundation
import GateCore
import GateHTTP

/// `upgrade-gate status`: reads the daemon's API and renders a table for people.
public enum StatusReport {
    /// Fetches `/api/v1/windows` (or one window) from `url` and renders it; the error says what
    /// failed and how to reach the daemon.
    public static func render(url: String, window: String?) async throws(StatusError) -> String {
        let http = HTTPClient()
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        let path = window.map { "/api/v1/windows/\(percentEncodePathSegment($0))" } ?? "/api/v1/windows"
        let result: Result<HTTPResponse, HTTPClientError>
        do {
            result = .success(try await http.execute(HTTPRequest(url: base + path, timeout: .seconds(10))))
        } catch {
            result = .failure(error)
        }
        await http.shutdown()
        let response: HTTPResponse
        switch result {
        case .success(let value): response = value
        case .failure(let error): throw StatusError(description: "upgrade-gate at \(base) did not answer: \(error.description) (pass --url)")
        }
        guard response.status == 200 else {
            throw StatusError(description: "upgrade-gate answered HTTP \(response.status): \(response.bodyText)")
        }
        guard let json = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
            throw StatusError(description: "upgrade-gate at \(base) answered something that is not JSON")
        }
        return window == nil ? renderList(json) : renderDetail(json)
    }

    static func renderList(_ json: [String: Any]) -> String {
        let windows = json["windows"] as? [[String: Any]] ?? []
        guard !windows.isEmpty else { return "no windows\n" }
        var table = TextTable("WINDOW", "STATE", "VERDICT", "COMPONENT", "VERSIONS", "SOAK LEFT", "FAILING")
        for window in windows {
            let versions = [window["fromVersion"] as? String, window["toVersion"] as? String].compactMap { $0 }.joined(separator: " → ")
            let soak = (window["soakRemaining"] as? String).map { $0 == "0s" ? "done" : $0 } ?? "-"
            table.add(
                window["name"] as? String ?? "?",
                window["state"] as? String ?? "?",
                (window["verdict"] as? String ?? "?").uppercased(),
                window["component"] as? String ?? "-",
                versions.isEmpty ? "-" : versions,
                window["state"] as? String == "open" ? soak : "-",
                (window["failing"] as? [String])?.joined(separator: ", ") ?? ""
            )
        }
        return table.render()
    }

    static func renderDetail(_ json: [String: Any]) -> String {
        let gate = json["gate"] as? [String: Any] ?? [:]
        var out = ""
        out += "window:    \(json["name"] as? String ?? "?") (\(json["state"] as? String ?? "?"), id \(json["id"] as? String ?? "?"))\n"
        if let component = json["component"] as? String {
            let versions = [json["fromVersion"] as? String, json["toVersion"] as? String].compactMap { $0 }.joined(separator: " → ")
            out += "upgrade:   \(component) \(versions)\n"
        }
        out += "verdict:   \((json["verdict"] as? String ?? "?").uppercased())\n"
        out += "opened:    \(json["openedAt"] as? String ?? "?")   closes: \(json["closesAt"] as? String ?? "?")\n"
        if let soak = gate["soakRemaining"] as? String, json["state"] as? String == "open" {
            out += "soak:      \(soak == "0s" ? "complete" : soak + " remaining")\n"
        }
        out += "evaluated: \(gate["evaluatedAt"] as? String ?? "not yet")\n"
        if let reasons = gate["reasons"] as? [String], !reasons.isEmpty {
            out += "\nwhy:\n" + reasons.map { "  - \($0)\n" }.joined()
        }
        let checks = gate["checks"] as? [[String: Any]] ?? []
        if !checks.isEmpty {
            var table = TextTable("CHECK", "CRITICAL", "STATUS", "SERIES", "VALUE", "BASELINE", "RULE")
            for check in checks {
                let series = check["series"] as? [[String: Any]] ?? []
                let name = check["name"] as? String ?? "?"
                let status = (check["status"] as? String ?? "?").uppercased()
                let critical = (check["critical"] as? Bool ?? true) ? "yes" : "no"
                // Fine series are listed in the gate body too; the table shows the ones that need a look.
                let notFine = series.filter { $0["reason"] is String }
                if notFine.isEmpty {
                    table.add(name, critical, status, "all \(check["seriesTotal"] as? Int ?? 0) ok", "", "", "")
                }
                for (index, item) in notFine.enumerated() {
                    let labels = (item["labels"] as? [String: String] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }
                    table.add(
                        index == 0 ? name : "",
                        index == 0 ? critical : "",
                        index == 0 ? status : "",
                        "{" + labels.joined(separator: ", ") + "}",
                        describe(item["value"]),
                        describe(item["baseline"]),
                        item["rule"] as? String ?? ""
                    )
                }
            }
            out += "\n" + table.render()
        }
        return out
    }

    private static func describe(_ value: Any?) -> String {
        switch value {
        case let number as Double: return formatNumber(number)
        case let text as String: return text
        default: return "-"
        }
    }
}

/// `upgrade-gate status` could not reach or read the daemon.
public struct StatusError: Error, CustomStringConvertible {
    /// What failed and how to fix it.
    public var description: String
}

/// Percent-encodes one URL path segment.
func percentEncodePathSegment(_ text: String) -> String {
    text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
}
