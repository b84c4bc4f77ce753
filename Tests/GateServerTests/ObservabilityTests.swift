import Foundation
import GateCore
import Logging
import Testing

@testable import GateServer

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - JSON gate logs

@Suite("Gate logs: JSON lines")
struct JSONLogHandlerTests {
    @Test func writesOneObjectWithFixedFieldsAndDottedMetadataKeys() throws {
        let sink = MemoryLogSink()
        var logger = memoryLogger(sink, label: "upgrade-gate.evaluation")
        logger[metadataKey: "gate.window"] = "cert-manager"
        logger.notice(
            "verdict changed",
            metadata: ["gate.verdict": "fail", "check.name": "critical-targets-up", "check.series": #"{job="etcd"}"#]
        )

        let lines = sink.lines
        try #require(lines.count == 1)
        #expect(!lines[0].contains("\n"))
        let object = try #require(sink.jsonObjects().first)
        #expect(object["level"] as? String == "notice")
        #expect(object["msg"] as? String == "verdict changed")
        #expect(object["logger"] as? String == "upgrade-gate.evaluation")
        #expect(object["gate.window"] as? String == "cert-manager")
        #expect(object["gate.verdict"] as? String == "fail")
        #expect(object["check.name"] as? String == "critical-targets-up")
        #expect(object["check.series"] as? String == #"{job="etcd"}"#)
        let timestamp = try #require(object["ts"] as? String)
        #expect(timestamp.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil, "\(timestamp)")
        // The fixed fields lead the line, in this order.
        #expect(lines[0].hasPrefix(#"{"ts":""#))
        #expect(lines[0].contains(#"","level":"notice","msg":"verdict changed","logger":"upgrade-gate.evaluation","#))
    }

    @Test func timestampIsCloseToNow() throws {
        let sink = MemoryLogSink()
        let before = Date()
        memoryLogger(sink).notice("now")
        let after = Date()
        let timestamp = try #require(sink.jsonObjects().first?["ts"] as? String)
        let parsed = try #require(ISO8601DateFormatter.withFractionalSeconds.date(from: timestamp))
        // Between the two readings of the clock (the timestamp has millisecond precision), however slow the machine.
        #expect(parsed.timeIntervalSince(before) >= -0.001)
        #expect(parsed.timeIntervalSince(after) <= 0.001)
    }

    @Test(arguments: [
        (Int64(1_795_600_800_123), "2026-11-25T10:00:00.123Z"),
        (0, "1970-01-01T00:00:00.000Z"),
        (1_709_251_199_999, "2024-02-29T23:59:59.999Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
    ])
    func formatsTimestampsAsRFC3339UTCWithMilliseconds(millis: Int64, expected: String) {
        #expect(formatLogTimestamp(unixMilliseconds: millis) == expected)
    }

    @Test func writesNestedArraysAndDictionariesAsJSON() throws {
        let sink = MemoryLogSink()
        memoryLogger(sink).notice(
            "restore verified",
            metadata: [
                "restore.notRolledBack": ["deploy/a", "deploy/b"],
                "check.failing": [
                    "name": "etcd-leader-changes",
                    "series": ["labels": ["job": "etcd"], "values": ["3", "4"]],
                ],
                "empty.array": [],
                "empty.dictionary": [:],
            ]
        )
        let object = try #require(sink.jsonObjects().first)
        #expect(object["restore.notRolledBack"] as? [String] == ["deploy/a", "deploy/b"])
        let failing = try #require(object["check.failing"] as? [String: Any])
        #expect(failing["name"] as? String == "etcd-leader-changes")
        let series = try #require(failing["series"] as? [String: Any])
        #expect(series["labels"] as? [String: String] == ["job": "etcd"])
        #expect(series["values"] as? [String] == ["3", "4"])
        #expect((object["empty.array"] as? [Any])?.isEmpty == true)
        #expect((object["empty.dictionary"] as? [String: Any])?.isEmpty == true)
    }

    @Test func writesStringConvertibleValuesAsTheirDescription() throws {
        let sink = MemoryLogSink()
        memoryLogger(sink).notice("checked", metadata: ["check.value": "\(0.07)", "check.streak": .stringConvertible(2)])
        let object = try #require(sink.jsonObjects().first)
        #expect(object["check.value"] as? String == "0.07")
        #expect(object["check.streak"] as? String == "2")
    }

    @Test func perCallMetadataOverridesProviderAndHandlerMetadata() throws {
        let sink = MemoryLogSink()
        let provider = Logger.MetadataProvider { ["trace.id": "abc", "gate.window": "from-provider", "from.provider": "yes"] }
        var logger = memoryLogger(sink, metadataProvider: provider)
        logger[metadataKey: "gate.window"] = "from-handler"
        logger[metadataKey: "gate.verdict"] = "pending"
        logger[metadataKey: "handler.only"] = "kept"

        logger.notice("changed", metadata: ["gate.verdict": "fail", "trace.id": "per-call"])

        let object = try #require(sink.jsonObjects().first)
        #expect(object["gate.verdict"] as? String == "fail")
        #expect(object["trace.id"] as? String == "per-call")
        #expect(object["gate.window"] as? String == "from-provider")
        #expect(object["from.provider"] as? String == "yes")
        #expect(object["handler.only"] as? String == "kept")
    }

    @Test func metadataSetOnOneLoggerCopyDoesNotLeakIntoAnother() throws {
        let sink = MemoryLogSink()
        let base = memoryLogger(sink)
        var copy = base
        copy[metadataKey: "gate.window"] = "a"
        base.notice("base")
        copy.notice("copy")
        let objects = sink.jsonObjects()
        try #require(objects.count == 2)
        #expect(objects[0]["gate.window"] == nil)
        #expect(objects[1]["gate.window"] as? String == "a")
    }

    @Test func escapesQuotesBackslashesNewlinesAndControlCharactersAndKeepsUnicode() throws {
        let nasty = "he said \"hi\"\\ \n next\tline\r \u{01}\u{1F}\u{08}\u{0C} é 日本 🚀 \u{2028}"
        let sink = MemoryLogSink()
        memoryLogger(sink).notice("\(nasty)", metadata: ["check.series": "\(nasty)", "key \"quoted\"\n": "v"])

        let line = try #require(sink.lines.first)
        #expect(!line.contains("\n") && !line.contains("\r") && !line.contains("\u{01}"))
        #expect(line.contains(#"\u0001"#) && line.contains(#"\u001f"#) && line.contains(#"\b"#) && line.contains(#"\f"#))
        #expect(line.contains("é 日本 🚀"), "non-ASCII stays UTF-8, not \\u escapes")
        let object = try #require(sink.jsonObjects().first)
        #expect(object["msg"] as? String == nasty)
        #expect(object["check.series"] as? String == nasty)
        #expect(object["key \"quoted\"\n"] as? String == "v")
    }

    @Test func reservedMetadataKeysArePrefixedInsteadOfClobberingFixedFields() throws {
        let sink = MemoryLogSink()
        var logger = memoryLogger(sink, label: "real-label")
        logger[metadataKey: "logger"] = "fake-label"
        logger.notice("real message", metadata: ["level": "debug", "msg": "fake message", "ts": "yesterday"])

        let object = try #require(sink.jsonObjects().first)
        #expect(object["level"] as? String == "notice")
        #expect(object["msg"] as? String == "real message")
        #expect(object["logger"] as? String == "real-label")
        #expect((object["ts"] as? String)?.hasPrefix("20") == true)
        #expect(object["meta.level"] as? String == "debug")
        #expect(object["meta.msg"] as? String == "fake message")
        #expect(object["meta.ts"] as? String == "yesterday")
        #expect(object["meta.logger"] as? String == "fake-label")
        // Every key appears once: JSONSerialization would silently keep one of two duplicates.
        let line = try #require(sink.lines.first)
        #expect(line.components(separatedBy: #""level":"#).count == 2)
    }

    @Test func prefixedReservedKeyDoesNotCollideWithAnExistingPrefixedKey() throws {
        let sink = MemoryLogSink()
        memoryLogger(sink).notice("m", metadata: ["level": "a", "meta.level": "b"])
        let object = try #require(sink.jsonObjects().first)
        #expect(object["meta.level"] as? String == "b")
        #expect(object["meta.meta.level"] as? String == "a")
    }

    @Test func callErrorIsWrittenUnlessMetadataAlreadyHasAnErrorKey() throws {
        struct QueryFailed: Error, CustomStringConvertible {
            var description: String { "query failed: timeout" }
        }
        let sink = MemoryLogSink()
        let logger = memoryLogger(sink)
        logger.warning("prometheus unreachable", error: QueryFailed())
        logger.warning("prometheus unreachable", error: QueryFailed(), metadata: ["error": "explicit"])
        let objects = sink.jsonObjects()
        try #require(objects.count == 2)
        #expect(objects[0]["error"] as? String == "query failed: timeout")
        #expect(objects[1]["error"] as? String == "explicit")
    }

    @Test func writesOnlyAtOrAboveTheConfiguredLevel() throws {
        let sink = MemoryLogSink()
        var logger = memoryLogger(sink, level: .notice)
        logger.trace("t")
        logger.debug("d")
        logger.info("i")
        logger.notice("n")
        logger.warning("w")
        logger.error("e")
        logger.critical("c")
        #expect(sink.jsonObjects().map { $0["level"] as? String } == ["notice", "warning", "error", "critical"])

        sink.removeAll()
        logger.logLevel = .trace
        logger.trace("t")
        #expect(sink.jsonObjects().map { $0["level"] as? String } == ["trace"])
    }

    @Test func concurrentLinesToMemoryNeverInterleave() async throws {
        let sink = MemoryLogSink()
        let logger = memoryLogger(sink)
        await writeConcurrently(logger, tasks: 8, linesPerTask: 200, padding: 64)
        try expectWholeLines(sink.lines, tasks: 8, linesPerTask: 200)
    }

    @Test func concurrentLinesToAFileDescriptorNeverInterleave() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("obs-\(UUID().uuidString).log").path
        // No O_APPEND: concurrent write(2) calls at a shared offset would overwrite each other without the sink's lock.
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        try #require(descriptor >= 0)
        defer {
            close(descriptor)
            unlink(path)
        }
        let logger = Logger(label: "fd") { label in
            makeLogHandler(label: label, format: .json, level: .trace, sink: LogSink(fileDescriptor: descriptor))
        }
        // Lines far longer than PIPE_BUF (4096), where a single write(2) is no longer guaranteed atomic.
        await writeConcurrently(logger, tasks: 8, linesPerTask: 200, padding: 10_000)

        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasSuffix("\n"))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        try expectWholeLines(lines, tasks: 8, linesPerTask: 200)
    }

    private func writeConcurrently(_ logger: Logger, tasks: Int, linesPerTask: Int, padding: Int) async {
        let filler = String(repeating: "x", count: padding)
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    for index in 0..<linesPerTask {
                        logger.notice(
                            "line \(index)",
                            metadata: ["test.task": "\(task)", "test.index": "\(index)", "test.padding": "\(filler)"]
                        )
                    }
                }
            }
        }
    }

    private func expectWholeLines(_ lines: [String], tasks: Int, linesPerTask: Int) throws {
        #expect(lines.count == tasks * linesPerTask)
        var seen = Set<String>()
        for line in lines {
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                "not one JSON object: \(line.prefix(200))"
            )
            let task = try #require(object["test.task"] as? String)
            let index = try #require(object["test.index"] as? String)
            #expect(object["msg"] as? String == "line \(index)")
            seen.insert("\(task)/\(index)")
        }
        #expect(seen.count == tasks * linesPerTask, "every line written exactly once")
    }
}

// MARK: - Text logs

@Suite("Gate logs: text")
struct TextLogHandlerTests {
    @Test func writesTimestampUppercaseLevelMessageAndSortedKeyValues() throws {
        let sink = MemoryLogSink()
        var logger = memoryLogger(sink, format: .text)
        logger[metadataKey: "gate.window"] = "cert-manager"
        logger.notice("verdict changed", metadata: ["gate.verdict": "fail", "check.name": "x", "check.reason": "above max 0.05"])

        let line = try #require(sink.lines.first)
        let match = try #require(line.wholeMatch(of: /(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z) (.*)/), "\(line)")
        #expect(
            match.2 == #"NOTICE verdict changed check.name=x check.reason="above max 0.05" gate.verdict=fail gate.window=cert-manager"#
        )
    }

    @Test func quotesAndEscapesValuesSoEachCallStaysOneLine() throws {
        let sink = MemoryLogSink()
        memoryLogger(sink, format: .text).warning(
            "two\nlines",
            metadata: ["a.empty": "", "b.quote": #"say "hi""#, "c.newline": "x\ny", "d.equals": "k=v", "e.path": "/api/v1/gate/x"]
        )
        let lines = sink.lines
        try #require(lines.count == 1)
        #expect(lines[0].hasSuffix(#"WARNING two\nlines a.empty="" b.quote="say \"hi\"" c.newline="x\ny" d.equals="k=v" e.path=/api/v1/gate/x"#))
    }

    @Test func textHandlerAlsoFiltersByLevel() {
        let sink = MemoryLogSink()
        let logger = memoryLogger(sink, level: .warning, format: .text)
        logger.notice("hidden")
        logger.error("shown")
        #expect(sink.lines.count == 1)
        #expect(sink.lines.first?.contains(" ERROR shown") == true)
    }

    @Test(arguments: LogFormat.allCases)
    func makeLogHandlerBuildsTheRequestedFormat(format: LogFormat) {
        let handler = makeLogHandler(label: "l", format: format, level: .info, sink: .memory(MemoryLogSink()))
        switch format {
        case .json: #expect(handler is JSONLogHandler)
        case .text: #expect(handler is TextLogHandler)
        }
        #expect(handler.logLevel == .info)
    }

    @Test func logFormatParsesTheCommandLineSpelling() {
        #expect(LogFormat(rawValue: "json") == .json)
        #expect(LogFormat(rawValue: "text") == .text)
        #expect(LogFormat(rawValue: "yaml") == nil)
    }
}

// MARK: - Metrics

@Suite("Metrics")
struct GateMetricsTests {
    @Test func verdictIsAStateSetWithExactlyOneCurrentVerdict() throws {
        let metrics = GateMetrics()
        metrics.setVerdict(window: "cert-manager", verdict: .pending)
        metrics.setVerdict(window: "cert-manager", verdict: .fail)

        let samples = try samplesOf(metrics, "upgrade_gate_window_verdict").filter { $0.labels["window"] == "cert-manager" }
        #expect(samples.count == 4)
        #expect(Set(samples.compactMap { $0.labels["verdict"] }) == Set(Verdict.allCases.map(\.rawValue)))
        #expect(samples.filter { $0.value == 1 }.map { $0.labels["verdict"] } == ["fail"])
        #expect(samples.filter { $0.value == 0 }.count == 3)
    }

    @Test func checkStatusIsAStateSetOverAllFiveStatuses() throws {
        let metrics = GateMetrics()
        metrics.setCheckStatus(window: "w", check: "etcd-leader-changes", status: .failing)
        metrics.setCheckStatus(window: "w", check: "etcd-leader-changes", status: .inconclusive)
        metrics.setCheckStatus(window: "w", check: "critical-targets-up", status: .pass)

        let samples = try samplesOf(metrics, "upgrade_gate_check_status")
        let etcd = samples.filter { $0.labels["check"] == "etcd-leader-changes" }
        #expect(Set(etcd.compactMap { $0.labels["status"] }) == ["pass", "warn", "failing", "fail", "inconclusive"])
        #expect(etcd.filter { $0.value == 1 }.map { $0.labels["status"] } == ["inconclusive"])
        let targets = samples.filter { $0.labels["check"] == "critical-targets-up" }
        #expect(targets.count == 5)
        #expect(targets.filter { $0.value == 1 }.map { $0.labels["status"] } == ["pass"])
        #expect(samples.allSatisfy { Set($0.labels.keys) == ["window", "check", "status"] })
    }

    @Test func removingAWindowRemovesOnlyItsSeries() throws {
        let metrics = GateMetrics()
        for window in ["closing", "staying"] {
            metrics.setVerdict(window: window, verdict: .pass)
            metrics.setCheckStatus(window: window, check: "up", status: .pass)
            metrics.setCheckStatus(window: window, check: "errors", status: .warn)
            metrics.observeEvaluation(window: window, seconds: 0.02)
            metrics.countVerdictChange(window: window, to: .pass)
        }

        metrics.removeWindow("closing", checks: ["up", "errors"])

        let samples = try parseExposition(String(decoding: metrics.render(), as: UTF8.self))
        #expect(!samples.contains { $0.labels["window"] == "closing" }, "\(samples.filter { $0.labels["window"] == "closing" })")
        #expect(samples.filter { $0.labels["window"] == "staying" }.count == 4 + 10 + 1 + 1)
        // Removing an unknown window, or the same one twice, is harmless.
        metrics.removeWindow("never-opened", checks: ["up"])
        metrics.removeWindow("closing", checks: ["up", "errors"])
        #expect(try parseExposition(String(decoding: metrics.render(), as: UTF8.self)).count == samples.count)
    }

    @Test func windowMetricsComeBackFreshWhenAWindowNameIsReused() throws {
        let metrics = GateMetrics()
        metrics.countVerdictChange(window: "w", to: .fail)
        metrics.removeWindow("w", checks: [])
        metrics.countVerdictChange(window: "w", to: .pass)
        let changes = try samplesOf(metrics, "upgrade_gate_verdict_changes_total")
        #expect(changes.map(\.labels) == [["window": "w", "verdict": "pass"]])
        #expect(changes.map(\.value) == [1])
    }

    @Test func countersIncrement() throws {
        let metrics = GateMetrics()
        metrics.countHTTPRequest(route: "/api/v1/gate/{name}", status: 200)
        metrics.countHTTPRequest(route: "/api/v1/gate/{name}", status: 200)
        metrics.countHTTPRequest(route: "/api/v1/gate/{name}", status: 404)
        metrics.countQueryError(reason: "timeout")
        metrics.countQueryError(reason: "timeout")
        metrics.countQueryError(reason: "bad_response")
        metrics.countVerdictChange(window: "w", to: .fail)
        metrics.countAlertNotification(outcome: "accepted")
        metrics.countRestoreStep(step: "requested")
        metrics.countRestoreStep(step: "requested")
        metrics.observeEvaluation(window: "w", seconds: 0.2)
        metrics.observeEvaluation(window: "w", seconds: 3)

        let samples = try parseExposition(String(decoding: metrics.render(), as: UTF8.self))
        func value(_ name: String, _ labels: [String: String]) -> Double? {
            samples.first { $0.name == name && $0.labels == labels }?.value
        }
        #expect(value("upgrade_gate_http_requests_total", ["route": "/api/v1/gate/{name}", "code": "200"]) == 2)
        #expect(value("upgrade_gate_http_requests_total", ["route": "/api/v1/gate/{name}", "code": "404"]) == 1)
        #expect(value("upgrade_gate_prometheus_query_errors_total", ["reason": "timeout"]) == 2)
        #expect(value("upgrade_gate_prometheus_query_errors_total", ["reason": "bad_response"]) == 1)
        #expect(value("upgrade_gate_verdict_changes_total", ["window": "w", "verdict": "fail"]) == 1)
        #expect(value("upgrade_gate_alertmanager_notifications_total", ["outcome": "accepted"]) == 1)
        #expect(value("upgrade_gate_restore_steps_total", ["step": "requested"]) == 2)
        #expect(value("upgrade_gate_evaluations_total", ["window": "w"]) == 2)
        #expect(value("upgrade_gate_evaluation_duration_seconds_count", [:]) == 2)
        #expect(value("upgrade_gate_evaluation_duration_seconds_sum", [:]) == 3.2)
        #expect(value("upgrade_gate_evaluation_duration_seconds_bucket", ["le": "0.25"]) == 1)
        #expect(value("upgrade_gate_evaluation_duration_seconds_bucket", ["le": "2.5"]) == 1)
        #expect(value("upgrade_gate_evaluation_duration_seconds_bucket", ["le": "5.0"]) == 2)
        #expect(value("upgrade_gate_evaluation_duration_seconds_bucket", ["le": "+Inf"]) == 2)
    }

    @Test func evaluationHistogramCoversOneMillisecondToThirtySecondsWithoutAWindowLabel() throws {
        let metrics = GateMetrics()
        metrics.observeEvaluation(window: "a", seconds: 0.0005)
        metrics.observeEvaluation(window: "b", seconds: 29)
        let buckets = try samplesOf(metrics, "upgrade_gate_evaluation_duration_seconds_bucket")
        #expect(buckets.allSatisfy { $0.labels.keys.sorted() == ["le"] })
        let bounds = buckets.compactMap { Double($0.labels["le"] ?? "") }.sorted()
        #expect(bounds.first == 0.001)
        #expect(bounds.last == .infinity)
        #expect(bounds.contains(30))
        #expect(buckets.first { $0.labels["le"] == "0.001" }?.value == 1)
    }

    @Test func openWindowsAndBuildInfoAreGauges() throws {
        let metrics = GateMetrics()
        #expect(try samplesOf(metrics, "upgrade_gate_windows_open").map(\.value) == [0])
        metrics.setOpenWindows(3)
        #expect(try samplesOf(metrics, "upgrade_gate_windows_open").map(\.value) == [3])

        metrics.setBuildInfo(version: "0.1.0")
        metrics.setBuildInfo(version: "0.2.0")
        let info = try samplesOf(metrics, "upgrade_gate_build_info")
        #expect(info.map(\.labels) == [["version": "0.2.0"]])
        #expect(info.map(\.value) == [1])
    }

    @Test func everyMetricIsNamedUpgradeGateAndHasHelpAndType() throws {
        let metrics = populatedMetrics()
        let text = String(decoding: metrics.render(), as: UTF8.self)
        let samples = try parseExposition(text)
        #expect(samples.allSatisfy { $0.name.hasPrefix("upgrade_gate_") })
        let typed = Set(text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] })
        let helped = Set(text.split(separator: "\n").filter { $0.hasPrefix("# HELP ") }.map { $0.split(separator: " ")[2] })
        #expect(typed == helped)
        #expect(typed.count == 11)
    }

    @Test func renderIsValidTextExpositionAndPassesPromtool() async throws {
        let metrics = populatedMetrics()
        let exposition = metrics.render()
        let text = String(decoding: exposition, as: UTF8.self)
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            #expect(line.wholeMatch(of: /[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? \S+/) != nil, "\(line)")
        }
        // The label value with a quote, a backslash and a newline round-trips through the exposition escaping.
        #expect(try parseExposition(text).contains { $0.labels["route"] == "/odd\"route\\\n" })

        guard let result = try await promtoolCheckMetrics(exposition) else { return }
        #expect(result.status == 0, "promtool check metrics:\n\(result.output)\n---\n\(text)")
    }

    @Test func concurrentUpdatesAndScrapesAreSafe() async throws {
        let metrics = GateMetrics()
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for index in 0..<200 {
                        let window = "w\(task)"
                        metrics.setVerdict(window: window, verdict: Verdict.allCases[index % 4])
                        metrics.countHTTPRequest(route: "/healthz", status: 200)
                        if index % 50 == 49 { metrics.removeWindow(window, checks: []) }
                    }
                }
            }
            group.addTask {
                for _ in 0..<100 {
                    let samples = (try? parseExposition(String(decoding: metrics.render(), as: UTF8.self))) ?? []
                    // A scrape never sees a state set half updated.
                    for window in Set(samples.compactMap { $0.name == "upgrade_gate_window_verdict" ? $0.labels["window"] : nil }) {
                        let ones = samples.filter { $0.labels["window"] == window && $0.value == 1 }
                        #expect(ones.count == 1)
                    }
                }
            }
        }
        #expect(try samplesOf(metrics, "upgrade_gate_http_requests_total").map(\.value) == [1600])
    }

    private func samplesOf(_ metrics: GateMetrics, _ name: String) throws -> [ExpositionSample] {
        try parseExposition(String(decoding: metrics.render(), as: UTF8.self)).filter { $0.name == name }
    }

    private func populatedMetrics() -> GateMetrics {
        let metrics = GateMetrics()
        metrics.setVerdict(window: "cert-manager", verdict: .pending)
        metrics.setCheckStatus(window: "cert-manager", check: "critical-targets-up", status: .failing)
        metrics.setOpenWindows(1)
        metrics.observeEvaluation(window: "cert-manager", seconds: 0.042)
        metrics.countQueryError(reason: "timeout")
        metrics.countVerdictChange(window: "cert-manager", to: .pending)
        metrics.countHTTPRequest(route: "/api/v1/gate/{name}", status: 200)
        metrics.countHTTPRequest(route: "/odd\"route\\\n", status: 500)
        metrics.countAlertNotification(outcome: "accepted")
        metrics.countRestoreStep(step: "requested")
        metrics.setBuildInfo(version: "0.1.0")
        return metrics
    }
}

extension ISO8601DateFormatter {
    fileprivate static var withFractionalSeconds: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
