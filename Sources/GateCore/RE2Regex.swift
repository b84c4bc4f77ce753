import CRE2

/// A regular expression compiled once by RE2 and matched against whole texts in time linear in their length.
///
/// RE2 never backtracks: it simulates an automaton, so no pattern and no input can make matching slow (a
/// backtracking engine spends exponential time on `(a*)*b` against a long run of `a`s). Its syntax is the one
/// Prometheus and Alertmanager use (Go's `regexp` follows RE2), minus what RE2 cannot do in linear time:
/// backreferences, lookaround and possessive repeats are rejected when the pattern is compiled.
///
/// Matching is by UTF-8 rune (Unicode scalar), never by grapheme: `.` matches one scalar, so `e` followed by a
/// combining accent is two characters to a pattern, as in Go.
///
/// - Important: A pattern is always matched against the whole text (`^(?:pattern)$` in Go's words), and RE2
///   parses the pattern on its own before it is anchored, so an unbalanced `a)|(b` cannot break out of the group.
final class RE2Regex: @unchecked Sendable {
    // `@unchecked` because `OpaquePointer` is not `Sendable`. Sharing is safe: the pointer is set once in `init`
    // and never changes; RE2 documents a compiled `RE2` as safe for concurrent matching (its lazily built DFA
    // caches sit behind RE2's own locks); and the program is freed only in `deinit`, when no reference remains.
    private let program: OpaquePointer

    /// The pattern as written.
    let pattern: String

    /// Compiles `pattern`.
    ///
    /// - Throws: ``RE2CompileError`` with RE2's reason, e.g. `invalid escape sequence: \1`.
    init(_ pattern: String) throws(RE2CompileError) {
        if let unsupported = Self.goIncompatibility(in: pattern) { throw RE2CompileError(reason: unsupported) }
        let capacity = 256
        var error = [CChar](repeating: 0, count: capacity)
        var text = pattern
        let compiled = text.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { cre2_compile($0.baseAddress, $0.count, &error, capacity) }
        }
        guard let compiled else {
            throw RE2CompileError(reason: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        self.program = compiled
        self.pattern = pattern
    }

    deinit { cre2_free(program) }

    /// Whether the whole of `text` matches; `nil` in the unlikely case that RE2 ran out of memory.
    func wholeMatch(_ text: String) -> Bool? {
        var text = text
        let result = text.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { cre2_full_match(program, $0.baseAddress, $0.count) }
        }
        switch result {
        case 1: return true
        case 0: return false
        default: return nil
        }
    }

    /// What RE2 accepts but Go's `regexp` (and so Alertmanager) does not, so a pattern means the same here as there.
    ///
    /// Only `\C` (one byte, which can split a UTF-8 sequence) is such a construct in the RE2 this links.
    private static func goIncompatibility(in pattern: String) -> String? {
        var scalars = pattern.unicodeScalars.makeIterator()
        var quoted = false
        while let scalar = scalars.next() {
            guard scalar == "\\", let next = scalars.next() else { continue }
            if quoted {
                // Inside `\Q…\E` everything is literal until `\E`.
                if next == "E" { quoted = false }
                continue
            }
            if next == "Q" { quoted = true }
            if next == "C" { return "invalid escape sequence: \\C (one byte; Go's regexp does not accept it)" }
        }
        return nil
    }
}

/// Why RE2 refused a pattern: RE2's own words, such as `missing ): (critical`.
struct RE2CompileError: Error, Sendable, Equatable {
    /// RE2's reason.
    var reason: String
}
