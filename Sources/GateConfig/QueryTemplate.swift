import Foundation
import GateCore

/// One piece of a query template: literal PromQL, or a `{{label}}` placeholder.
enum TemplatePart: Equatable {
    /// PromQL text copied as is.
    case literal(String)
    /// A `{{label}}` placeholder, by label name.
    case placeholder(String)
}

/// Why a query template is malformed, with the offending text; worded for config errors.
struct TemplateSyntaxError: Error, Equatable {
    var message: String
}

/// Splits a query template into literal parts and `{{label}}` placeholders (spaces inside the braces are allowed).
///
/// Every `{{` must be closed by `}}` before the next `{{`, every `}}` must close a `{{`, and each placeholder must be
/// a Prometheus label name.
func parseQueryTemplate(_ template: String) -> Result<[TemplatePart], TemplateSyntaxError> {
    var parts: [TemplatePart] = []
    var rest = Substring(template)
    while !rest.isEmpty {
        let open = rest.range(of: "{{")
        let close = rest.range(of: "}}")
        if let close, close.lowerBound < (open?.lowerBound ?? rest.endIndex) {
            return .failure(TemplateSyntaxError(message: "\"}}\" without a matching \"{{\" in the query"))
        }
        guard let open else {
            parts.append(.literal(String(rest)))
            break
        }
        if open.lowerBound > rest.startIndex { parts.append(.literal(String(rest[..<open.lowerBound]))) }
        let afterOpen = rest[open.upperBound...]
        guard let end = afterOpen.range(of: "}}") else {
            return .failure(TemplateSyntaxError(message: "\"{{\" is never closed with \"}}\" in the query"))
        }
        let inner = afterOpen[..<end.lowerBound]
        if inner.contains("{{") {
            return .failure(TemplateSyntaxError(message: "\"{{\" is never closed with \"}}\" before the next \"{{\" in the query"))
        }
        let name = inner.trimmingCharacters(in: .whitespaces)
        guard Labels.isValidName(name) else {
            return .failure(
                TemplateSyntaxError(message: "placeholder \"{{\(inner)}}\" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)")
            )
        }
        parts.append(.placeholder(name))
        rest = afterOpen[end.upperBound...]
    }
    return .success(parts)
}

extension CheckConfig {
    /// The window labels the query needs, in order of first use, e.g. `["namespace"]` for `up{namespace="{{namespace}}"}`.
    ///
    /// Empty for a query without placeholders, and for a malformed template (which the loader rejects).
    public var templateLabels: [String] {
        guard case .success(let parts) = parseQueryTemplate(queryTemplate) else { return [] }
        var seen: Set<String> = []
        return parts.compactMap { part in
            guard case .placeholder(let name) = part, seen.insert(name).inserted else { return nil }
            return name
        }
    }

    /// The check with its `{{label}}` placeholders filled from a window's labels, ready to judge.
    ///
    /// - Important: Every substituted value is escaped for a double-quoted PromQL string literal, one Unicode scalar
    ///   at a time (``GateCore/PromQLString``), so no label value can end the literal and inject PromQL, whatever
    ///   scalars surround its quotes. Placeholders are therefore meant to sit inside double quotes, e.g.
    ///   `up{namespace="{{namespace}}"}`. Values are not regex-escaped: inside `=~"…"` a value's regex
    ///   metacharacters keep their meaning.
    /// - Throws: ``TemplateError`` naming the check and every label the query uses that `labels` lacks, or the
    ///   first used label whose value holds a control character (refused, never escaped).
    public func spec(labels: [String: String]) throws(TemplateError) -> CheckSpec {
        let parts: [TemplatePart]
        switch parseQueryTemplate(queryTemplate) {
        case .success(let parsed): parts = parsed
        case .failure(let error): throw TemplateError(check: name, reason: .malformed(error.message))
        }
        var query = ""
        var missing: [String] = []
        for part in parts {
            switch part {
            case .literal(let text):
                query += text
            case .placeholder(let label):
                if let value = labels[label] {
                    if let control = PromQLString.firstControlCharacter(in: value) {
                        throw TemplateError(check: name, reason: .controlCharacter(label: label, control))
                    }
                    query += PromQLString.escape(value)
                } else if !missing.contains(label) {
                    missing.append(label)
                }
            }
        }
        guard missing.isEmpty else {
            throw TemplateError(check: name, reason: .unknownLabels(missing, available: labels.keys.sorted()))
        }
        return CheckSpec(
            name: name,
            query: query,
            min: min,
            max: max,
            maxIncrease: maxIncrease,
            maxDecrease: maxDecrease,
            floor: floor,
            counter: counter,
            missingSeries: missingSeries,
            noData: noData,
            critical: critical,
            compare: compare
        )
    }
}

/// A check's query could not be filled in for a window: it names the check and the labels the window lacks.
///
/// The API answers this with 400 when a window is opened (a query naming a label the window does not set cannot be judged).
public struct TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    fileprivate enum Reason: Sendable, Equatable {
        case unknownLabels([String], available: [String])
        case malformed(String)
        case controlCharacter(label: String, Unicode.Scalar)
    }

    /// The name of the check whose query could not be filled.
    public var check: String
    fileprivate var reason: Reason

    fileprivate init(check: String, reason: Reason) {
        self.check = check
        self.reason = reason
    }

    /// The labels the query uses but the window does not set, in order of use; empty for a malformed template.
    public var missingLabels: [String] {
        if case .unknownLabels(let missing, _) = reason { return missing }
        return []
    }

    /// The window label whose value was refused because it holds a control character; `nil` for other problems.
    public var refusedLabel: String? {
        if case .controlCharacter(let label, _) = reason { return label }
        return nil
    }

    /// A short snake_case name for the kind of problem, usable as a metric label.
    public var label: String {
        switch reason {
        case .unknownLabels: return "unknown_label"
        case .malformed: return "malformed_template"
        case .controlCharacter: return "control_character"
        }
    }

    /// E.g. `check "critical-targets-up": the query uses {{namespace}}, but the window has no label "namespace" …`.
    public var description: String {
        switch reason {
        case .unknownLabels(let missing, let available):
            let uses = missing.map { "{{\($0)}}" }.joined(separator: ", ")
            let names = missing.map { "\"\($0)\"" }.joined(separator: ", ")
            let known = available.isEmpty ? "the window has no labels" : "window labels: " + available.joined(separator: ", ")
            let noun = missing.count == 1 ? "label" : "labels"
            return "check \"\(check)\": the query uses \(uses), but the window has no \(noun) \(names) (\(known))"
        case .malformed(let message):
            return "check \"\(check)\": \(message)"
        case .controlCharacter(let label, let scalar):
            return "check \"\(check)\": the value of label \"\(label)\" holds the control character \(PromQLString.name(of: scalar)); "
                + "template values may not hold control characters"
        }
    }
}
