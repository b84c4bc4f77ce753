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
        let decoder = JSONDecoder()
        do {
            if window == nil {
                return renderList(try decoder.decode(WindowListBody.self, from: Data(response.body)))
            }
            return renderDetail(try decoder.decode(WindowDetailBody.self, from: Data(response.body)))
        } catch {
            throw StatusError(description: "upgrade-gate at \(base) answered something this version cannot read: \(error)")
        }
    }

    static func renderList(_ list: WindowListBody) -> String {
        guard !list.windows.isEmpty else { return "no windows\n" }
        var table = TextTable("WINDOW", "STATE", "VERDICT", "COMPONENT", "VERSIONS", "SOAK LEFT", "FAILING")
        for window in list.windows {
            let versions = [window.fromVersion, window.toVersion].compactMap { $0 }.joined(separator: " → ")
            let soak = window.soakRemaining == "0s" ? "done" : window.soakRemaining
            table.add(
                window.name,
                window.state,
                window.verdict.uppercased(),
                window.component ?? "-",
                versions.isEmpty ? "-" : versions,
                window.state == "open" ? soak : "-",
                window.failing.joined(separator: ", ")
            )
        }
        return table.render()
    }

    static func renderDetail(_ window: WindowDetailBody) -> String {
        let gate = window.gate
        var out = ""
        out += "window:    \(window.name) (\(window.state), id \(window.id))\n"
        if let component = window.component {
            let versions = [window.fromVersion, window.toVersion].compactMap { $0 }.joined(separator: " → ")
            out += "upgrade:   \(component) \(versions)\n"
        }
        out += "verdict:   \(window.verdict.uppercased())\n"
        out += "opened:    \(window.openedAt)   closes: \(window.closesAt)\n"
        if window.state == "open" {
            out += "soak:      \(gate.soakRemaining == "0s" ? "complete" : gate.soakRemaining + " remaining")\n"
        }
        out += "evaluated: \(gate.evaluatedAt ?? "not yet")\(gate.stale ? " (stale)" : "")\n"
        if !gate.reasons.isEmpty {
            out += "\nwhy:\n" + gate.reasons.map { "  - \($0)\n" }.joined()
        }
        if !gate.checks.isEmpty {
            var table = TextTable("CHECK", "CRITICAL", "STATUS", "SERIES", "VALUE", "BASELINE", "RULE")
            for check in gate.checks {
                let critical = check.critical ? "yes" : "no"
                let status = check.status.uppercased()
                // Fine series are listed in the gate body too; the table shows the ones that need a look.
                let notFine = check.series.filter { $0.reason != nil }
                if notFine.isEmpty {
                    table.add(check.name, critical, status, "all \(check.seriesTotal) ok", "", "", "")
                }
                for (index, item) in notFine.enumerated() {
                    let labels = item.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }
                    table.add(
                        index == 0 ? check.name : "",
                        index == 0 ? critical : "",
                        index == 0 ? status : "",
                        "{" + labels.joined(separator: ", ") + "}",
                        describe(item.value),
                        describe(item.baseline),
                        item.rule ?? ""
                    )
                }
            }
            out += "\n" + table.render()
        }
        return out
    }

    private static func describe(_ number: JSONNumber?) -> String {
        number.map { formatNumber($0.value) } ?? "-"
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
