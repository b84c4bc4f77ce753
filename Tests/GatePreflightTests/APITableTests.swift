import GatePreflight
import Testing

@Suite struct APITableTests {
    @Test func theShippedTableParsesIsSortedAndHasNoDuplicates() throws {
        // Loading validates order and uniqueness and throws on either; check the outcome independently as well.
        let table = APITable.builtIn
        #expect(table.rows.count >= 90)
        #expect(Set(table.rows.map(\.key)).count == table.rows.count)
        for (previous, row) in zip(table.rows, table.rows.dropFirst()) {
            let order = (previous.component, previous.removedIn.map { [$0.major, $0.minor] } ?? [Int.max], previous.apiVersion, previous.kind)
            let next = (row.component, row.removedIn.map { [$0.major, $0.minor] } ?? [Int.max], row.apiVersion, row.kind)
            #expect(
                order.0 < next.0
                    || (order.0 == next.0
                        && (order.1.lexicographicallyPrecedes(next.1)
                            || (order.1 == next.1 && (order.2, order.3) < (next.2, next.3)))),
                "\(row.key) is out of order"
            )
        }
    }

    @Test func everyRowNamesItsSourceAndAReplacement() {
        for row in APITable.builtIn.rows {
            #expect(!row.source.isEmpty && !row.replacement.isEmpty, "\(row.key)")
            #expect(row.apiVersion.split(separator: "/").count <= 2 && !row.kind.isEmpty, "\(row.key)")
        }
    }

    @Test func coversEveryKubernetesRemovalReleaseSince116AndTheWellKnownTools() {
        let table = APITable.builtIn
        let releases = Set(table.rows.filter { $0.component == "kubernetes" }.compactMap(\.removedIn).map(\.description))
        #expect(releases == ["1.16", "1.17", "1.22", "1.25", "1.26", "1.27", "1.29", "1.32"])
        #expect(Set(table.components).isSuperset(of: ["kubernetes", "cert-manager", "istio", "flagger", "velero", "prometheus-operator"]))
        #expect(table.newestKubernetesRelease == ReleaseVersion(1, 33))
    }

    @Test func rejectsARowOutOfOrder() {
        let yaml = """
            rows:
              - {component: kubernetes, apiVersion: batch/v1beta1, kind: CronJob, removedIn: "1.25", replacement: batch/v1, source: guide}
              - {component: kubernetes, apiVersion: apps/v1beta1, kind: Deployment, removedIn: "1.16", replacement: apps/v1, source: guide}
            """
        #expect { try APITable(yaml: yaml) } throws: { "\($0)".contains("line 3") && "\($0)".contains("out of order") }
    }

    @Test func rejectsADuplicateRow() {
        let yaml = """
            rows:
              - {component: kubernetes, apiVersion: apps/v1beta1, kind: Deployment, removedIn: "1.16", replacement: apps/v1, source: guide}
              - {component: kubernetes, apiVersion: apps/v1beta1, kind: Deployment, removedIn: "1.16", replacement: apps/v1, source: guide}
            """
        #expect { try APITable(yaml: yaml) } throws: { "\($0)".contains("appears twice") }
    }

    @Test(arguments: [
        (#"{component: kubernetes, apiVersion: a/v1, kind: K, removedIn: "one", replacement: x, source: s}"#, "is not a release number"),
        (#"{component: kubernetes, apiVersion: a/v1, kind: K, replacement: x, source: s}"#, "neither deprecatedIn nor removedIn"),
        (#"{component: kubernetes, apiVersion: a/v1, kind: K, removedIn: "1.2", replacement: x}"#, "no source"),
        (#"{component: kubernetes, apiVersion: a/v1, kind: K, deprecatedIn: "1.5", removedIn: "1.2", replacement: x, source: s}"#, "after removedIn"),
    ])
    func rejectsAMalformedRowNamingItsLine(row: String, problem: String) {
        #expect { try APITable(yaml: "rows:\n  - \(row)\n") } throws: { "\($0)".contains("line 2") && "\($0)".contains(problem) }
    }

    @Test(arguments: [("1.32", "1.32"), ("v1.32.4", "1.32.4"), ("v1.31.2-eks-7f9249a", "1.31.2"), ("1.30+", "1.30"), ("0.11", "0.11")])
    func parsesReleaseNumbersAsProvidersSpellThem(text: String, expected: String) {
        #expect(ReleaseVersion(parsing: text)?.description == expected)
    }

    @Test(arguments: ["", "1", "latest", "v", "1.x", "99999999999999999999.1"])
    func rejectsWhatIsNotAReleaseNumber(text: String) {
        #expect(ReleaseVersion(parsing: text) == nil)
    }
}
