/// Finds the base images of a Dockerfile: `FROM` lines and `COPY --from=` sources that name an image, not a stage.
///
/// `ARG` defaults are substituted (`ARG BASE=debian:12.12-slim` then `FROM ${BASE}`); a reference still holding a
/// variable after that, `scratch`, and earlier stage names are skipped.
struct DockerfileScanner {
    /// One base image and the 1-based line of the instruction that names it.
    struct Reference: Equatable {
        /// The instruction, `FROM` or `COPY --from`.
        var instruction: String
        /// The image reference after `ARG` substitution.
        var image: String
        /// The line the instruction starts on.
        var line: Int
    }

    /// The references in `text`, in file order.
    static func references(in text: String) -> [Reference] {
        var arguments: [String: String] = [:]
        var stages: Set<String> = []
        var references: [Reference] = []
        for (line, instruction) in instructions(in: text) {
            var words = instruction.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard !words.isEmpty else { continue }
            let keyword = words.removeFirst().uppercased()
            switch keyword {
            case "ARG":
                for word in words {
                    let parts = word.split(separator: "=", maxSplits: 1)
                    guard parts.count == 2 else { continue }
                    arguments[String(parts[0])] = unquoted(String(parts[1]))
                }
            case "FROM":
                let operands = words.filter { !$0.hasPrefix("--") }
                guard let image = operands.first else { continue }
                if operands.count >= 3, operands[1].uppercased() == "AS" { stages.insert(operands[2].lowercased()) }
                append("FROM", image, line)
            case "COPY", "ADD":
                for word in words where word.hasPrefix("--from=") {
                    append("COPY --from", String(word.dropFirst("--from=".count)), line)
                }
            default:
                continue
            }
        }
        return references

        func append(_ instruction: String, _ raw: String, _ line: Int) {
            let image = substitute(raw, arguments)
            let lowered = image.lowercased()
            guard lowered != "scratch", !stages.contains(lowered), !image.contains("$"), Int(image) == nil else { return }
            references.append(Reference(instruction: instruction, image: image, line: line))
        }
    }

    /// Logical instructions with the line each starts on: comments dropped, `\` continuations joined.
    private static func instructions(in text: String) -> [(Int, String)] {
        var result: [(Int, String)] = []
        var pending: (line: Int, text: String)?
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.hasSuffix("\r") ? String(rawLine.dropLast()) : String(rawLine)
            let trimmed = line.trimmingWhitespace()
            if trimmed.hasPrefix("#") { continue }
            let continues = trimmed.hasSuffix("\\")
            let body = continues ? String(trimmed.dropLast()) : trimmed
            if var current = pending {
                current.text += " " + body
                pending = current
            } else if !body.isEmpty {
                pending = (index + 1, body)
            }
            if !continues, let current = pending {
                result.append((current.line, current.text))
                pending = nil
            }
        }
        if let current = pending { result.append((current.line, current.text)) }
        return result
    }

    private static func substitute(_ text: String, _ arguments: [String: String]) -> String {
        var result = text
        // Longest names first, so `$BASE` does not eat the start of `$BASE_IMAGE`.
        for (name, value) in arguments.sorted(by: { $0.key.count > $1.key.count }) {
            result = result.replacingAll("${\(name)}", with: value)
            result = result.replacingAll("$\(name)", with: value)
        }
        return result
    }

    private static func unquoted(_ text: String) -> String {
        guard text.count >= 2, let first = text.first, first == text.last, first == "\"" || first == "'" else { return text }
        return String(text.dropFirst().dropLast())
    }
}

extension String {
    /// Every occurrence of `target` replaced by `replacement` (Foundation-free, for the pure core).
    fileprivate func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
