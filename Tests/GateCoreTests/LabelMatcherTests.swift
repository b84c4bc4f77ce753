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

    @Test func aBadRegexErrorNamesThePattern() {
        let error = #expect(throws: MatcherError.self) { try LabelMatcher(parsing: #"severity=~"crit[""#) }
        #expect(error?.description == #"the regular expression "crit[" does not compile"#)
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
