import Testing

@testable import GateSources

@Suite struct JSONScannerTests {
    @Test(arguments: [
        (#"{"a":[1,-2.5e3,true,false,null,"x"]}"#, JSONValue.object(["a": [1, -2500, true, false, nil, "x"]])),
        (#"  "tab\tnew\nquote\"slash\/back\\"  "#, .string("tab\tnew\nquote\"slash/back\\")),
        (#""\u00e9\ud83d\ude00""#, .string("é😀")),
        (#""héllo""#, .string("héllo")),
        ("0", .number(0)),
        ("-0.0", .number(-0.0)),
        (#"{"k":1,"k":2}"#, .object(["k": 2])),
    ])
    func parsesValidDocuments(text: String, expected: JSONValue) throws {
        #expect(try JSONValue.parse(Array(text.utf8)) == expected)
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "1e", "-", "tru", "nul", "\"\\x\"", "\"\\ud83d\"", "\"\\ude00\"",
        "\"a\u{1}b\"", "\"unterminated", "{} x", "1e999", "{'a':1}", "[1 2]",
    ])
    func rejectsInvalidDocuments(text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(Array(text.utf8)) }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONValue.parse([0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test func boundsNestingInsteadOfExhaustingTheStack() {
        let deep = Array(String(repeating: "[", count: 100_000).utf8)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(deep) }
    }

    @Test func errorsSayWhereNotWhat() throws {
        do {
            _ = try JSONValue.parse(Array(#"{"token":"s3cr3t",}"#.utf8))
            Issue.record("parsed")
        } catch {
            #expect(error.description.contains("offset"))
            #expect(!error.description.contains("s3cr3t"))
        }
    }
}
