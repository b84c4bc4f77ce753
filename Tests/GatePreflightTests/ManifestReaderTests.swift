import Foundation
import GatePreflight
import Testing

@Suite struct ManifestReaderTests {
    @Test func readsHelmTemplateOutputWithEmptyDocumentsAndComments() throws {
        let set = try manifests(
            """
            ---
            # Source: shop/templates/service.yaml
            apiVersion: v1
            kind: Service
            metadata:
              name: shop
              namespace: shop
            ---
            ---
            # Source: shop/templates/deployment.yaml
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: shop
            """
        )
        #expect(set.objects.map(\.kind) == ["Service", "Deployment"])
        #expect(set.objects.map(\.location.document) == [1, 3])
        #expect(set.objects[0].qualifiedName == "shop/shop" && set.objects[1].location.line == 11)
    }

    @Test func readsDirectoriesInSortedOrderAndSkipsHiddenEntries() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("preflight-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: directory.appendingPathComponent(".git"), withIntermediateDirectories: true)
        try "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n".write(
            to: directory.appendingPathComponent("b.yaml"),
            atomically: true,
            encoding: .utf8
        )
        try "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n".write(
            to: directory.appendingPathComponent("sub/a.yml"),
            atomically: true,
            encoding: .utf8
        )
        try "not: [yaml".write(to: directory.appendingPathComponent(".git/config.yaml"), atomically: true, encoding: .utf8)
        try "ignored".write(to: directory.appendingPathComponent("README.md"), atomically: true, encoding: .utf8)
        let set = try ManifestReader().read(paths: [directory.path])
        #expect(set.objects.map(\.name) == ["b", "a"])
        #expect(set.objects[1].location.file.hasSuffix("sub/a.yml"))
    }

    @Test func readsStandardInput() throws {
        let set = try ManifestReader().read(paths: ["-"]) { Array("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n".utf8) }
        #expect(set.objects.first?.location.file == "-" && set.objects.first?.kind == "Namespace")
    }

    @Test func aMissingPathIsAnError() {
        #expect { try ManifestReader().read(paths: ["/nonexistent/manifests"]) } throws: { "\($0)".contains("no such file") }
    }
}

/// Hostile and malformed input: every error names the file, the document and the line, and nothing hangs.
@Suite struct MalformedManifestTests {
    private func error(_ text: String, limits: ManifestReader.Limits = .init()) -> PreflightInputError? {
        do {
            _ = try ManifestReader(limits: limits).read(text: text, file: "chart.yaml")
            return nil
        } catch {
            return error
        }
    }

    @Test func aSyntaxErrorNamesTheDocumentAndLine() throws {
        let failure = try #require(
            error(
                """
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: a}
                ---
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: b
                    namespace: c
                """
            )
        )
        #expect(failure.file == "chart.yaml" && failure.document == 2 && failure.line == 9, "\(failure)")
        #expect(failure.description.hasPrefix("chart.yaml: document 2, line 9: YAML syntax error"))
    }

    @Test func anAliasBombIsRefusedNotExpanded() throws {
        var text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...9 {
            text += "l\(level): &l\(level) [" + Array(repeating: "*\(level == 1 ? "a" : "l\(level - 1)")", count: 10).joined(separator: ", ") + "]\n"
        }
        let clock = ContinuousClock()
        let start = clock.now
        let failure = try #require(
            error(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n"
                    + text.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")
            )
        )
        #expect(failure.label == "too_large" && failure.document == 1 && failure.line == 1)
        #expect(failure.message.contains("aliases"))
        // A bound, not a timing target: the refusal must not walk the billion nodes first.
        #expect(clock.now - start < .seconds(30))
    }

    @Test func aHugeDocumentIsRefused() throws {
        let items = (0..<5_000).map { "  k\($0): v" }.joined(separator: "\n")
        let failure = try #require(
            error("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n" + items, limits: .init(maxNodesPerDocument: 5_000))
        )
        #expect(failure.label == "too_large" && failure.document == 1)
        let sized = try #require(error(String(repeating: "# padding\n", count: 200), limits: .init(maxInputBytes: 1_000)))
        #expect(sized.label == "too_large" && sized.message.contains("1000 bytes"))
    }

    @Test func deepNestingIsRefusedBeforeParsing() throws {
        let flow = try #require(error("apiVersion: v1\nkind: ConfigMap\ndata: " + String(repeating: "[", count: 100_000)))
        #expect(flow.label == "too_large" && flow.line == 3)
        let block = try #require(error("apiVersion: v1\nkind: ConfigMap\ndata:\n" + String(repeating: "- ", count: 100_000) + "x\n"))
        #expect(block.label == "too_large" && block.line == 4)
    }

    @Test(arguments: [
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: [a, b]\n", "metadata", 3, "a sequence"),
        ("apiVersion: v1\nkind: {a: b}\n", "kind", 2, "a mapping"),
        ("apiVersion: [v1]\nkind: ConfigMap\n", "apiVersion", 1, "a sequence"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {x: 1}\n", "metadata.name", 4, "a mapping"),
        (
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: a.b}\nspec:\n  group: b\n  versions: v1\n",
            "spec.versions", 6, "a string"
        ),
        (
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: a.b}\nspec:\n  versions:\n    - {name: v1, served: 7}\n",
            "spec.versions[0].served", 6, "the number 7"
        ),
        ("apiVersion: v1\nkind: List\nitems: 5\n", "items", 3, "the number 5"),
    ])
    func aFieldOfTheWrongTypeNamesFieldDocumentAndLine(text: String, field: String, line: Int, found: String) throws {
        let failure = try #require(error("apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n---\n" + text))
        #expect(failure.label == "wrong_type" && failure.field == field && failure.document == 2 && failure.line == line + 4, "\(failure)")
        #expect(failure.message.contains(found), "\(failure)")
    }

    @Test func aValuesFileOrAnUnrenderedTemplateIsExplained() throws {
        let values = try #require(error("replicaCount: 2\nimage: {repository: nginx}\n"))
        #expect(values.label == "not_an_object" && values.message.contains("helm template"))
        let template = try #require(error("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n  {{- if .Values.x }}\n"))
        #expect(template.label == "yaml_syntax" && template.message.contains("unrendered Helm template"))
        let scalar = try #require(error("just text\n"))
        #expect(scalar.label == "not_an_object" && scalar.message.contains("a string"))
    }

    @Test func invalidUTF8IsAnError() throws {
        #expect {
            try ManifestReader().read(paths: ["-"]) { [0x61, 0x3A, 0x20, 0xFF, 0xFE, 0x0A] }
        } throws: { "\($0)".contains("not UTF-8") }
    }

    @Test func errorsNeverQuoteTheManifestText() throws {
        let failure = try #require(error("apiVersion: v1\nkind: Secret\nstringData:\n  password: hunter2-secret\n   bad: indent\n"))
        #expect(!failure.description.contains("hunter2"))
    }
}

@Suite struct ReportTests {
    @Test func theJSONReportRoundTripsAndNamesEveryLocation() throws {
        let report = try judge("apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: web, namespace: shop}\n", kubernetes: "1.22")
        let decoded = try JSONDecoder().decode(PreflightReport.self, from: Data(report.renderJSON().utf8))
        #expect(decoded == report)
        let json = report.renderJSON()
        #expect(json.contains(#""rule":"removed_api""#) && json.contains(#""document":1"#) && json.contains(#""verdict":"fail""#))
        #expect(json.contains(#""kubernetesVersionSource":"flag""#))
    }

    @Test func theTableNamesKindObjectFileAndDocument() throws {
        let report = try judge(
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: web, namespace: shop}\n",
            kubernetes: "1.25"
        )
        let table = report.renderTable()
        #expect(table.contains("FAIL        removed_api: PodDisruptionBudget shop/web (test.yaml#2, line 5)"))
        #expect(table.contains("fix: migrate to policy/v1"))
        #expect(table.hasSuffix("FAIL: 1 failing, 0 inconclusive, 0 warnings\n"))
    }
}
