import Testing

@testable import GateCore

/// One matcher, written as in configuration, applied to one label set.
struct MatcherCase: Sendable, CustomTestStringConvertible {
    var matcher: String
    var labels: Labels
    var matches: Bool

    init(_ matcher: String, _ labels: Labels, _ matches: Bool) {
        self.matcher = matcher
        self.labels = labels
        self.matches = matches
    }

    var testDescription: String { "\(matcher) on \(labels) → \(matches)" }
}

// The label set of the firing alert in contracts/alertmanager/webhook-firing-v0.34.json.
private let budgetBurn = labels([
    "alertname": "KubeAPIErrorBudgetBurn", "cluster": "prod-eu1", "long": "1h", "severity": "critical", "short": "5m",
])

@Suite struct LabelMatching {
    static let exact: [MatcherCase] = [
        MatcherCase(#"severity="critical""#, budgetBurn, true),
        MatcherCase(#"severity="crit""#, budgetBurn, false),
        MatcherCase(#"severity="Critical""#, budgetBurn, false),
        MatcherCase(#"severity!="critical""#, budgetBurn, false),
        MatcherCase(#"severity!="warning""#, budgetBurn, true),
        MatcherCase("alertname = KubeAPIErrorBudgetBurn", budgetBurn, true),
    ]

    static let anchoring: [MatcherCase] = [
        MatcherCase(#"severity=~"crit""#, budgetBurn, false),
        MatcherCase(#"severity=~"crit.*""#, budgetBurn, true),
        MatcherCase(#"severity=~"ritica""#, budgetBurn, false),
        MatcherCase(#"severity=~".*ritica.*""#, budgetBurn, true),
        MatcherCase(#"severity=~"critical|warning""#, budgetBurn, true),
        // The alternation is anchored as a whole: not `^warning|crit$`.
        MatcherCase(#"severity=~"warning|crit""#, budgetBurn, false),
        MatcherCase(#"severity=~"(critical|warning)""#, budgetBurn, true),
        MatcherCase(#"severity=~"(?i)CRITICAL""#, budgetBurn, true),
        MatcherCase(#"long=~"[0-9]+h""#, budgetBurn, true),
        MatcherCase(#"severity!~"crit""#, budgetBurn, true),
        MatcherCase(#"severity!~"crit.*""#, budgetBurn, false),
        // `$` is the end of the text, not "before a final newline".
        MatcherCase(#"message=~"a""#, labels(["message": "a\n"]), false),
    ]

    static let missingLabel: [MatcherCase] = [
        MatcherCase(#"team="""#, budgetBurn, true),
        MatcherCase(#"team!="""#, budgetBurn, false),
        MatcherCase(#"severity!="""#, budgetBurn, true),
        MatcherCase(#"team!="platform""#, budgetBurn, true),
        MatcherCase(#"team="platform""#, budgetBurn, false),
        MatcherCase(#"team=~".*""#, budgetBurn, true),
        MatcherCase(#"team=~".+""#, budgetBurn, false),
        MatcherCase(#"team!~".+""#, budgetBurn, true),
        MatcherCase(#"team=~"platform|""#, budgetBurn, true),
    ]

    static let escaping: [MatcherCase] = [
        MatcherCase(#"summary="say \"hi\"""#, labels(["summary": #"say "hi""#]), true),
        MatcherCase(#"summary="say \"hi\"""#, labels(["summary": "say hi"]), false),
        MatcherCase(#"path=~"C:\\\\dir\\\\.*""#, labels(["path": #"C:\dir\sub"#]), true),
        MatcherCase(#"text="a\nb""#, labels(["text": "a\nb"]), true),
        MatcherCase(#"description=~".*\"etcd\".*""#, labels(["description": #"etcd cluster "etcd": 4 leader changes"#]), true),
    ]

    @Test(arguments: exact)
    func equalityOperatorsCompareExactly(_ row: MatcherCase) throws {
        #expect(try LabelMatcher(parsing: row.matcher).matches(row.labels) == row.matches)
    }

    @Test(arguments: anchoring)
    func regexOperatorsAreFullyAnchored(_ row: MatcherCase) throws {
        #expect(try LabelMatcher(parsing: row.matcher).matches(row.labels) == row.matches)
    }

    @Test(arguments: missingLabel)
    func missingLabelMatchesAsTheEmptyString(_ row: MatcherCase) throws {
        #expect(try LabelMatcher(parsing: row.matcher).matches(row.labels) == row.matches)
    }

    @Test(arguments: escaping)
    func escapedQuotesAndBackslashesAreUnescapedBeforeMatching(_ row: MatcherCase) throws {
        #expect(try LabelMatcher(parsing: row.matcher).matches(row.labels) == row.matches)
    }

    static let lists: [(text: String, labels: Labels, matches: Bool)] = [
        (#"severity="critical", cluster="prod-eu1""#, budgetBurn, true),
        (#"{severity="critical", cluster="prod-us1"}"#, budgetBurn, false),
        (#"{alertname=~"KubeAPI.*", severity!="info",}"#, budgetBurn, true),
    ]

    @Test(arguments: lists)
    func aListMatchesOnlyWhenEveryMatcherDoes(text: String, labels: Labels, matches: Bool) throws {
        #expect(try LabelMatcher.parseList(text).matches(labels) == matches)
    }

    @Test func anEmptyListMatchesEveryLabelSet() {
        #expect([LabelMatcher]().matches(budgetBurn))
        #expect([LabelMatcher]().matches(Labels()))
    }

    @Test func changingTheValueOrOperatorRecompilesTheRegex() {
        var matcher = LabelMatcher(name: "severity", op: .regexMatch, value: "warn.*")
        #expect(!matcher.matches(budgetBurn))
        matcher.value = "crit.*"
        #expect(matcher.matches(budgetBurn))
        matcher.op = .equal
        #expect(!matcher.matches(budgetBurn))
        matcher.value = "critical"
        #expect(matcher.matches(budgetBurn))
        matcher.op = .regexNoMatch
        #expect(!matcher.matches(budgetBurn))
    }

    @Test func anUncompilableRegexBuiltWithoutParsingMatchesNothing() {
        for op in [MatchOp.regexMatch, .regexNoMatch] {
            let matcher = LabelMatcher(name: "severity", op: op, value: "[")
            #expect(!matcher.matches(budgetBurn), "\(op)")
            #expect(!matcher.matches(Labels()), "\(op)")
            #expect(!matcher.compiles)
        }
    }

    @Test func matchersCompareByNameOperatorAndValue() throws {
        let parsed = try LabelMatcher(parsing: #"severity=~"critical|warning""#)
        let built = LabelMatcher(name: "severity", op: .regexMatch, value: "critical|warning")
        #expect(parsed == built)
        #expect(Set([parsed, built]).count == 1)
        #expect(parsed != LabelMatcher(name: "severity", op: .regexNoMatch, value: "critical|warning"))
    }

    @Test func oneMatcherIsSafeToShareAcrossConcurrentTasks() async {
        let matcher = LabelMatcher(name: "severity", op: .regexMatch, value: "crit.*|warning")
        let hits = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask { (0..<500).reduce(0) { count, _ in count + (matcher.matches(budgetBurn) ? 1 : 0) } }
            }
            return await group.reduce(0, +)
        }
        #expect(hits == 4000)
    }
}

@Suite struct LabelMatcherParsing {
    static let malformed: [(text: String, label: String)] = [
        ("", "empty"), ("   ", "empty"), ("{}", "empty"),
        (#"1abc="x""#, "bad_label_name"), (#"="x""#, "bad_label_name"), (#"é="x""#, "bad_label_name"),
        ("severity", "bad_operator"), (#"severity~"x""#, "bad_operator"), (#"sev-erity="x""#, "bad_operator"),
        (#"severity=="x""#, "bad_quoting"), (#"severity="x"#, "bad_quoting"), (#"severity="a\qb""#, "bad_quoting"),
        (#"severity=x"y"#, "bad_quoting"),
        (#"severity=~"[""#, "bad_regex"), (#"severity!~"(?<""#, "bad_regex"), (#"severity=~"*""#, "bad_regex"),
        (#"severity=~"(critical""#, "bad_regex"),
        (#"{a="b""#, "unbalanced_braces"), (#"a="b" c="d""#, "trailing_text"), (#"a="b",, c="d""#, "bad_label_name"),
    ]

    @Test(arguments: malformed)
    func malformedMatchersAreRejectedWithABoundedLabel(text: String, label: String) {
        let error = #expect(throws: MatcherError.self) { try LabelMatcher.parseList(text) }
        #expect(error?.label == label)
        #expect(error?.input == text)
    }

    @Test func aBadRegexErrorNamesThePatternAndRE2sReason() {
        let error = #expect(throws: MatcherError.self) { try LabelMatcher(parsing: #"severity=~"crit[""#) }
        #expect(error?.description == #"the regular expression "crit[" is not valid RE2: missing ]: ["#)
    }

    @Test func parsingOneMatcherRejectsASecond() {
        let error = #expect(throws: MatcherError.self) { try LabelMatcher(parsing: #"a="b", c="d""#) }
        #expect(error?.label == "trailing_text")
    }

    static let wellFormed: [(text: String, matchers: [LabelMatcher])] = [
        (#"severity =~ "critical|warning""#, [LabelMatcher(name: "severity", op: .regexMatch, value: "critical|warning")]),
        ("job = node , env!=dev", [LabelMatcher(name: "job", op: .equal, value: "node"), LabelMatcher(name: "env", op: .notEqual, value: "dev")]),
        (#"  {alertname="Watchdog"}  "#, [LabelMatcher(name: "alertname", op: .equal, value: "Watchdog")]),
        (#"summary="a, b""#, [LabelMatcher(name: "summary", op: .equal, value: "a, b")]),
        (#"quote!~"\"x\"\t""#, [LabelMatcher(name: "quote", op: .regexNoMatch, value: "\"x\"\t")]),
        (#"empty="""#, [LabelMatcher(name: "empty", op: .equal, value: "")]),
    ]

    @Test(arguments: wellFormed)
    func wellFormedListsParseToTheirMatchers(text: String, matchers: [LabelMatcher]) throws {
        #expect(try LabelMatcher.parseList(text) == matchers)
    }

    @Test func descriptionsRoundTripThroughTheParser() throws {
        let matchers = [
            LabelMatcher(name: "path", op: .notEqual, value: #"C:\dir "quoted""#),
            LabelMatcher(name: "text", op: .regexMatch, value: "line\nbreak|.*"),
            LabelMatcher(name: "empty", op: .equal, value: ""),
        ]
        for matcher in matchers {
            #expect(try LabelMatcher(parsing: matcher.description) == matcher)
        }
        #expect(matchers[0].description == #"path!="C:\\dir \"quoted\"""#)
    }

    static let names: [(name: String, valid: Bool)] = [
        ("severity", true), ("_private", true), ("a1_B2", true), ("__name__", true),
        ("", false), ("1a", false), ("a-b", false), ("a.b", false), ("é", false),
    ]

    @Test(arguments: names)
    func labelNamesFollowPrometheusSyntax(name: String, valid: Bool) {
        #expect(Labels.isValidName(name) == valid)
    }
}

/// RE2 semantics, as Alertmanager (Go's `regexp`) has them: what matches, and what is refused.
@Suite struct RE2Semantics {
    static let matching: [MatcherCase] = [
        // Anchored at both ends, the alternation as a whole.
        MatcherCase(#"x=~"a|b""#, labels(["x": "ab"]), false),
        MatcherCase(#"x=~"a|ab""#, labels(["x": "ab"]), true),
        MatcherCase(#"x=~"b""#, labels(["x": "abc"]), false),
        // `.` does not match a newline unless (?s) says so; `[^a]` does (Go's ClassNL).
        MatcherCase(#"x=~"a.b""#, labels(["x": "a\nb"]), false),
        MatcherCase(#"x=~"(?s)a.b""#, labels(["x": "a\nb"]), true),
        MatcherCase(#"x=~".*""#, labels(["x": "line\nline"]), false),
        MatcherCase(#"x=~"(?s).*""#, labels(["x": "line\nline"]), true),
        MatcherCase(#"x=~"a[^z]b""#, labels(["x": "a\nb"]), true),
        // `$` is the end of the text, also under (?m) the whole text must match.
        MatcherCase(#"x=~"(?m)a$""#, labels(["x": "a\nb"]), false),
        MatcherCase(#"x=~"(?m)a$\nb""#, labels(["x": "a\nb"]), true),
        // Perl and POSIX classes are ASCII, Unicode classes are Unicode: as in Go.
        MatcherCase(#"x=~"\\w+""#, labels(["x": "etcd_3"]), true),
        MatcherCase(#"x=~"\\w+""#, labels(["x": "é"]), false),
        MatcherCase(#"x=~"\\pL+""#, labels(["x": "é"]), true),
        MatcherCase(#"x=~"\\p{Greek}+""#, labels(["x": "αβγ"]), true),
        MatcherCase(#"x=~"[[:alpha:]]+""#, labels(["x": "abc"]), true),
        MatcherCase(#"x=~"[[:alpha:]]+""#, labels(["x": "é"]), false),
        MatcherCase(#"x=~"\\d{3}""#, labels(["x": "123"]), true),
        MatcherCase(#"x=~"\\d{3}""#, labels(["x": "١٢٣"]), false),
        // Matching is by Unicode scalar: a precomposed é is one, e + combining acute is two.
        MatcherCase(#"x=~".""#, labels(["x": "\u{E9}"]), true),
        MatcherCase(#"x=~".""#, labels(["x": "e\u{301}"]), false),
        MatcherCase(#"x=~"..""#, labels(["x": "e\u{301}"]), true),
        // Flags, non-greedy repeats, counted repeats, named groups in Go's (?P<name>) form, quoting.
        MatcherCase(#"x=~"(?i)CRIT.*""#, labels(["x": "critical"]), true),
        MatcherCase(#"x=~"a+?b""#, labels(["x": "aab"]), true),
        MatcherCase(#"x=~"a{2,3}""#, labels(["x": "aaaa"]), false),
        MatcherCase(#"x=~"(?P<tier>web|api)-\\d+""#, labels(["x": "api-7"]), true),
        MatcherCase(#"x=~"\\Q1+1\\E""#, labels(["x": "1+1"]), true),
        MatcherCase(#"x=~"\\Q\\C\\E""#, labels(["x": #"\C"#]), true),
        // A character class may hold a quote glued to a combining mark; it is still a quote.
        MatcherCase("x=~\"[\\\"\u{301}]+\"", labels(["x": "\"\u{301}\""]), true),
    ]

    @Test(arguments: matching)
    func patternsMatchAsInAlertmanager(_ row: MatcherCase) throws {
        #expect(try LabelMatcher(parsing: row.matcher).matches(row.labels) == row.matches)
    }

    static let refused: [(pattern: String, reason: String)] = [
        (#"(a)\1"#, "invalid escape sequence: \\1"),
        ("(?=a)a", "invalid perl operator: (?="),
        ("(?!a)b", "invalid perl operator: (?!"),
        ("(?<=a)b", "invalid perl operator: (?<"),
        ("(?<name>a)", "invalid perl operator: (?<"),
        ("a*+", "bad repetition operator: *+"),
        ("a{1001}", "invalid repetition size: {1001}"),
        ("((a{100}){100}){100}", "invalid repetition size: {100}"),
        ("a)|(b", "unexpected ): a)|(b"),
        ("[z-a]", "invalid character class range: z-a"),
        (#"\C"#, "invalid escape sequence: \\C (one byte; Go's regexp does not accept it)"),
        (#"a\Q\E\C"#, "invalid escape sequence: \\C (one byte; Go's regexp does not accept it)"),
    ]

    @Test(arguments: refused)
    func constructsALinearEngineCannotRunAreRefusedWithRE2sReason(pattern: String, reason: String) {
        let matcher = LabelMatcher(name: "x", op: .regexMatch, value: pattern)
        #expect(!matcher.compiles)
        #expect(matcher.compileError == reason)
        let error = #expect(throws: MatcherError.self) { try LabelMatcher.parseList("x=~" + PromQLString.quote(pattern)) }
        #expect(error?.label == "bad_regex")
        #expect(error?.description.hasSuffix(reason) == true)
    }

    @Test func aPatternTooLargeForTheMemoryBudgetIsRefused() {
        // A thousand Unicode letter classes: each compiles to many UTF-8 byte ranges, together past 2 MiB.
        let matcher = LabelMatcher(name: "x", op: .regexMatch, value: #"[\pL\pN]{1000}"#)
        #expect(matcher.compileError == "pattern too large - compile failed", "\(matcher.compileError ?? "compiled")")
        #expect(LabelMatcher(name: "x", op: .regexMatch, value: #"[\pL\pN]{20}"#).compiles)
    }

    @Test(arguments: ["(a*)*b", "(.*.*)*x", "((a+)+)+b", "(a|aa)*c", "(x+x+)+y", "(.*a){20}"])
    func catastrophicPatternsFinishOnAHundredKilobytes(pattern: String) {
        // A backtracking engine would not finish these in the age of the universe; RE2 answers in about a
        // millisecond (Benchmarks/regex.sh measures it). The test finishing at all is the point.
        let matcher = LabelMatcher(name: "x", op: .regexMatch, value: pattern)
        let letter = pattern.contains("x+") ? "x" : pattern.hasPrefix("(.*a)") ? "b" : "a"
        #expect(!matcher.matches(labels(["x": String(repeating: letter, count: 100_000)])))
        #expect(LabelMatcher(name: "x", op: .regexNoMatch, value: pattern).matches(labels(["x": String(repeating: letter, count: 100_000)])))
    }
}

/// The one escaper for double-quoted PromQL and matcher literals.
@Suite struct PromQLStringEscaping {
    static let escapes: [(value: String, escaped: String)] = [
        ("plain", "plain"),
        (#"a"b"#, #"a\"b"#),
        (#"back\slash"#, #"back\\slash"#),
        // A quote glued to a combining mark, or preceded by a prepend scalar, is one Swift Character but still a quote.
        ("\"\u{301}", "\\\"\u{301}"),
        ("\u{600}\"} or prometheus_build_info #", "\u{600}\\\"} or prometheus_build_info #"),
        ("e\u{301}\\", "e\u{301}\\\\"),
        ("two\nlines", #"two\nlines"#),
        ("tab\tcr\r", #"tab\tcr\r"#),
        ("bell\u{7}nul\u{0}del\u{7F}c1\u{85}", #"bell\u0007nul\u0000del\u007fc1\u0085"#),
        ("\u{2028}\u{FEFF}\u{200D}", "\u{2028}\u{FEFF}\u{200D}"),
    ]

    @Test(arguments: escapes)
    func escapingWorksPerUnicodeScalar(value: String, escaped: String) {
        #expect(PromQLString.escape(value).unicodeScalars.elementsEqual(escaped.unicodeScalars))
        #expect(PromQLString.quote(value).unicodeScalars.elementsEqual(("\"" + escaped + "\"").unicodeScalars))
    }

    @Test(arguments: escapes)
    func theMatcherParserReadsBackExactlyTheValue(value: String, escaped: String) throws {
        let matcher = try LabelMatcher(parsing: "x=" + PromQLString.quote(value))
        #expect(matcher.value.unicodeScalars.elementsEqual(value.unicodeScalars))
        #expect(try LabelMatcher(parsing: matcher.description) == matcher)
    }

    @Test func controlCharactersAreFoundAndNamed() {
        #expect(PromQLString.firstControlCharacter(in: "fine \u{600}\u{301}\u{2028}") == nil)
        #expect(PromQLString.firstControlCharacter(in: "a\nb").map(PromQLString.name(of:)) == "U+000A")
        #expect(PromQLString.firstControlCharacter(in: "\u{85}").map(PromQLString.name(of:)) == "U+0085")
    }

    @Test func selectorsQuoteLabelValuesWithTheSameEscaper() {
        #expect(labels(["job": "\u{600}\""]).description == "{job=\"\u{600}\\\"\"}")
    }
}
