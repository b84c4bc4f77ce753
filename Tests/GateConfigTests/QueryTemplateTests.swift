import GateCore
import Testing

@testable import GateConfig

/// Filling `{{label}}` placeholders from window labels.
@Suite struct QueryTemplates {
    let check = CheckConfig(
        name: "critical-targets-up",
        queryTemplate: #"up{namespace="{{namespace}}", job=~"{{ job }}"} > {{namespace}}"#,
        min: 1,
        missingSeries: .ignore,
        critical: false
    )

    @Test func templateLabelsListEachLabelOnceInOrderOfUse() {
        #expect(check.templateLabels == ["namespace", "job"])
        #expect(CheckConfig(name: "c", queryTemplate: "up").templateLabels.isEmpty)
    }

    @Test func specFillsEveryPlaceholderAndKeepsTheRules() throws {
        let spec = try check.spec(labels: ["namespace": "cert-manager", "job": "webhook", "unused": "x"])
        #expect(spec.query == #"up{namespace="cert-manager", job=~"webhook"} > cert-manager"#)
        #expect(
            spec == CheckSpec(name: "critical-targets-up", query: spec.query, min: 1, missingSeries: .ignore, critical: false)
        )
    }

    @Test func specOfAQueryWithoutPlaceholdersIsTheQuery() throws {
        let plain = CheckConfig(name: "ratio", queryTemplate: "sum(rate(x[2m]))", maxIncrease: .percent(50), floor: 0.001, noData: .zero)
        let spec = try plain.spec(labels: [:])
        #expect(spec == CheckSpec(name: "ratio", query: "sum(rate(x[2m]))", maxIncrease: .percent(50), floor: 0.001, noData: .zero))
    }

    @Test func unknownLabelsNameTheCheckAndEveryMissingLabel() {
        let error = #expect(throws: TemplateError.self) { try check.spec(labels: ["team": "platform"]) }
        #expect(error?.check == "critical-targets-up")
        #expect(error?.missingLabels == ["namespace", "job"])
        #expect(error?.label == "unknown_label")
        #expect(
            error?.description
                == #"check "critical-targets-up": the query uses {{namespace}}, {{job}}, but the window has no labels "namespace", "job" "#
                + "(window labels: team)"
        )
    }

    @Test func oneUnknownLabelOnAWindowWithoutLabels() {
        let one = CheckConfig(name: "up", queryTemplate: #"up{namespace="{{namespace}}"}"#, min: 1)
        let error = #expect(throws: TemplateError.self) { try one.spec(labels: [:]) }
        #expect(
            error?.description == #"check "up": the query uses {{namespace}}, but the window has no label "namespace" (the window has no labels)"#
        )
    }

    static let escapes: [(value: String, escaped: String)] = [
        (#"plain"#, #"plain"#),
        (#"a"b"#, #"a\"b"#),
        (#"back\slash"#, #"back\\slash"#),
        (#"x\"} or vector(1) or up{a=""#, #"x\\\"} or vector(1) or up{a=\""#),
        // Per Unicode scalar: a quote glued to a combining mark or after U+0600 is one Swift Character, still escaped.
        ("\"\u{301}} or vector(1) #", "\\\"\u{301}} or vector(1) #"),
        ("\u{600}\"} or prometheus_build_info #", "\u{600}\\\"} or prometheus_build_info #"),
    ]

    @Test(arguments: escapes)
    func labelValuesAreEscapedForPromQLStringLiterals(value: String, escaped: String) throws {
        let check = CheckConfig(name: "c", queryTemplate: #"up{namespace="{{namespace}}"}"#, min: 1)
        #expect(try check.spec(labels: ["namespace": value]).query == #"up{namespace=""# + escaped + #""}"#)
    }

    @Test(arguments: ["two\nlines", "nul\u{0}", "tab\t", "del\u{7F}", "c1\u{85}"])
    func valuesWithControlCharactersAreRefusedNamingCheckAndLabel(value: String) {
        let error = #expect(throws: TemplateError.self) { try check.spec(labels: ["namespace": value, "job": "j"]) }
        #expect(error?.label == "control_character")
        #expect(error?.refusedLabel == "namespace")
        #expect(error?.missingLabels == [])
        #expect(error?.description.hasPrefix(#"check "critical-targets-up": the value of label "namespace" holds the control character U+"#) == true)
    }

    @Test func aMalformedTemplateBuiltInCodeIsReportedBySpec() {
        let broken = CheckConfig(name: "broken", queryTemplate: "up{{namespace", min: 1)
        #expect(broken.templateLabels.isEmpty)
        let error = #expect(throws: TemplateError.self) { try broken.spec(labels: ["namespace": "x"]) }
        #expect(error?.label == "malformed_template")
    }
}
