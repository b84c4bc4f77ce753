import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Format and bootstrap

/// How log lines are written: JSON lines for machines (the default in production), text for people at a terminal.
public enum LogFormat: String, CaseIterable, Sendable {
    /// One JSON object per line: `ts`, `level`, `msg`, `logger`, then the metadata keys as given.
    case json
    /// `<ts> <LEVEL> <msg> key=value …`, values with spaces quoted.
    case text
}

/// Whether `bootstrapLogging` has already installed a factory in this process.
private let loggingBootstrapped = Mutex(false)

/// Installs the gate's log handler as the process-wide swift-log factory.
///
/// - Important: swift-log allows one bootstrap per process and traps on a second one; this function guards
///   it, so only the first call takes effect and later calls do nothing (they return `false`).
///
/// - Parameters:
///   - format: JSON lines or text.
///   - level: The minimum level written.
///   - sink: Where lines go; standard output by default.
///   - metadataProvider: Contextual metadata (for example task-local values) added to every line.
/// - Returns: `true` if this call installed the factory.
@discardableResult
public func bootstrapLogging(
    format: LogFormat,
    level: Logger.Level,
    sink: LogSink = .standardOutput,
    metadataProvider: Logger.MetadataProvider? = nil
) -> Bool {
    loggingBootstrapped.withLock { done in
        guard !done else { return false }
        done = true
        LoggingSystem.bootstrap(
            { label, provider in
                makeLogHandler(label: label, format: format, level: level, sink: sink, metadataProvider: provider)
            },
            metadataProvider: metadataProvider
        )
        return true
    }
}

/// Builds one log handler without touching the global logging system (for tests and explicit `Logger(label:factory:)`).
///
/// - Parameters:
///   - label: The logger's label, written as `logger` in JSON lines.
///   - format: JSON lines or text.
///   - level: The minimum level written.
///   - sink: Where lines go.
///   - metadataProvider: Contextual metadata added to every line.
public func makeLogHandler(
    label: String,
    format: LogFormat,
    level: Logger.Level,
    sink: LogSink,
    metadataProvider: Logger.MetadataProvider? = nil
) -> any LogHandler {
    switch format {
    case .json:
        return JSONLogHandler(label: label, level: level, sink: sink, metadataProvider: metadataProvider)
    case .text:
        return TextLogHandler(label: label, level: level, sink: sink, metadataProvider: metadataProvider)
    }
}

// MARK: - Sinks

/// Where finished log lines go: a file descriptor (one `write(2)` per line) or a closure.
public struct LogSink: Sendable {
    private enum Target: Sendable {
        case fileDescriptor(Int32)
        case closure(@Sendable (String) -> Void)
    }

    private let target: Target

    /// A sink that hands each line, without its trailing newline, to `write`.
    ///
    /// - Important: `write` is called concurrently from any thread; it must be thread-safe.
    public init(_ write: @escaping @Sendable (String) -> Void) {
        self.target = .closure(write)
    }

    /// A sink that writes each line and its newline to `fileDescriptor` with a single `write(2)`.
    ///
    /// The descriptor is not owned: it is never closed by the sink.
    public init(fileDescriptor: Int32) {
        self.target = .fileDescriptor(fileDescriptor)
    }

    /// The process's standard output, where production JSON lines go.
    public static var standardOutput: LogSink { LogSink(fileDescriptor: STDOUT_FILENO) }

    /// The process's standard error.
    public static var standardError: LogSink { LogSink(fileDescriptor: STDERR_FILENO) }

    /// A sink that collects lines in `memory`, for tests that assert on gate logs.
    public static func memory(_ memory: MemoryLogSink) -> LogSink {
        LogSink { memory.append($0) }
    }

    /// Writes one finished line; `bytes` holds the line's UTF-8 without a trailing newline.
    func write(line bytes: [UInt8]) {
        switch self.target {
        case .fileDescriptor(let descriptor):
            var bytes = bytes
            bytes.append(UInt8(ascii: "\n"))
            writeWhole(bytes, to: descriptor)
        case .closure(let write):
            write(String(decoding: bytes, as: UTF8.self))
        }
    }
}

/// Serializes descriptor writes inside the process.
///
/// One `write(2)` of a whole line is atomic for pipes up to `PIPE_BUF` and for `O_APPEND` files, but a longer
/// line to a pipe can be split by the kernel; holding this lock across the (rare) continuation writes keeps
/// lines whole whatever their size. Log lines are rare (no per-tick `info`), so contention does not matter.
private let descriptorWriteLock = Mutex(())

private func writeWhole(_ bytes: [UInt8], to descriptor: Int32) {
    descriptorWriteLock.withLock { _ in
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, base + offset, buffer.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    // A full or closed stdout must never stop or crash the gate: the line is dropped.
                    return
                }
            }
        }
    }
}

/// An in-memory sink that keeps every line, for tests across the project that assert on gate logs.
public final class MemoryLogSink: Sendable {
    private let storage = Mutex<[String]>([])

    /// Creates an empty sink.
    public init() {}

    /// The lines written so far, oldest first, without trailing newlines.
    public var lines: [String] {
        self.storage.withLock { $0 }
    }

    /// Appends one line.
    public func append(_ line: String) {
        self.storage.withLock { $0.append(line) }
    }

    /// Forgets every line written so far.
    public func removeAll() {
        self.storage.withLock { $0.removeAll() }
    }
}

// MARK: - Handlers

/// A swift-log handler writing one JSON object per log call, on one line: the gate log that on-call reads.
///
/// Fields, in order: `ts` (RFC 3339 UTC, milliseconds), `level`, `msg`, `logger`, then metadata sorted by key —
/// handler metadata, overridden by the metadata provider, overridden by per-call metadata — and `error` when the
/// call passed one and no metadata key is called `error`. Metadata keys are kept as given (`gate.window`,
/// `check.name`); a metadata key equal to a fixed field name is written as `meta.<key>` so it never clobbers it.
public struct JSONLogHandler: LogHandler {
    /// The logger's label, written as `logger`.
    public let label: String
    /// The minimum level written.
    public var logLevel: Logger.Level
    /// Metadata written on every line of this handler.
    public var metadata: Logger.Metadata
    /// Contextual metadata added to every line.
    public var metadataProvider: Logger.MetadataProvider?
    private let sink: LogSink

    /// Creates a handler writing to `sink`.
    public init(
        label: String,
        level: Logger.Level = .info,
        sink: LogSink = .standardOutput,
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.label = label
        self.logLevel = level
        self.metadata = [:]
        self.metadataProvider = metadataProvider
        self.sink = sink
    }

    /// One metadata value of this handler.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    /// Writes `event` as one JSON line.
    public func log(event: LogEvent) {
        let merged = mergedMetadata(self.metadata, provider: self.metadataProvider, explicit: event.metadata)
        var line = [UInt8]()
        line.reserveCapacity(256)
        line.append(contentsOf: #"{"ts":""#.utf8)
        appendTimestamp(to: &line, unixMilliseconds: currentUnixMilliseconds())
        line.append(contentsOf: #"","level":"#.utf8)
        appendJSONString(event.level.rawValue, to: &line)
        line.append(contentsOf: #","msg":"#.utf8)
        appendJSONString(event.message.description, to: &line)
        line.append(contentsOf: #","logger":"#.utf8)
        appendJSONString(self.label, to: &line)

        let fields = renamingReserved(merged, reserved: jsonReservedKeys)
        for (key, value) in fields {
            line.append(UInt8(ascii: ","))
            appendJSONString(key, to: &line)
            line.append(UInt8(ascii: ":"))
            appendJSONValue(value, to: &line)
        }
        if let error = event.error, merged["error"] == nil {
            line.append(contentsOf: #","error":"#.utf8)
            appendJSONString(String(describing: error), to: &line)
        }
        line.append(UInt8(ascii: "}"))
        self.sink.write(line: line)
    }
}

/// A swift-log handler writing one human-readable line per log call, for `--log-format text`.
///
/// `2026-11-25T10:00:00.123Z NOTICE verdict changed check.name=x gate.verdict=fail gate.window=cert-manager`:
/// metadata merged as in `JSONLogHandler` and sorted by key; values that are empty or hold spaces, quotes, `=` or
/// control characters are quoted, with `"`, `\` and control characters escaped, so every call stays one line.
public struct TextLogHandler: LogHandler {
    /// The logger's label (not written: a terminal reader follows one process).
    public let label: String
    /// The minimum level written.
    public var logLevel: Logger.Level
    /// Metadata written on every line of this handler.
    public var metadata: Logger.Metadata
    /// Contextual metadata added to every line.
    public var metadataProvider: Logger.MetadataProvider?
    private let sink: LogSink

    /// Creates a handler writing to `sink`.
    public init(
        label: String,
        level: Logger.Level = .info,
        sink: LogSink = .standardOutput,
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.label = label
        self.logLevel = level
        self.metadata = [:]
        self.metadataProvider = metadataProvider
        self.sink = sink
    }

    /// One metadata value of this handler.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    /// Writes `event` as one text line.
    public func log(event: LogEvent) {
        var merged = mergedMetadata(self.metadata, provider: self.metadataProvider, explicit: event.metadata)
        if let error = event.error, merged["error"] == nil {
            merged["error"] = .string(String(describing: error))
        }
        var line = [UInt8]()
        line.reserveCapacity(160)
        appendTimestamp(to: &line, unixMilliseconds: currentUnixMilliseconds())
        line.append(UInt8(ascii: " "))
        line.append(contentsOf: event.level.rawValue.uppercased().utf8)
        line.append(UInt8(ascii: " "))
        appendEscapingControls(event.message.description, to: &line)
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            line.append(UInt8(ascii: " "))
            appendEscapingControls(key, to: &line)
            line.append(UInt8(ascii: "="))
            appendTextValue(value.description, to: &line)
        }
        self.sink.write(line: line)
    }
}

// MARK: - Shared rendering

/// Field names the JSON line owns; `error` is not among them because it is written only when metadata lacks it.
private let jsonReservedKeys: Set<String> = ["ts", "level", "msg", "logger"]

/// Handler metadata, overridden by the provider's, overridden by the call's (swift-log's `StreamLogHandler` order).
private func mergedMetadata(
    _ handler: Logger.Metadata,
    provider: Logger.MetadataProvider?,
    explicit: Logger.Metadata?
) -> Logger.Metadata {
    var merged = handler
    if let provided = provider?.get(), !provided.isEmpty {
        merged.merge(provided) { _, provided in provided }
    }
    if let explicit, !explicit.isEmpty {
        merged.merge(explicit) { _, explicit in explicit }
    }
    return merged
}

/// Metadata sorted by key, with reserved keys renamed `meta.<key>` (again, until the name is free).
private func renamingReserved(_ metadata: Logger.Metadata, reserved: Set<String>) -> [(key: String, value: Logger.MetadataValue)] {
    guard metadata.keys.contains(where: reserved.contains) else {
        return metadata.sorted { $0.key < $1.key }
    }
    var renamed: Logger.Metadata = [:]
    for (key, value) in metadata where !reserved.contains(key) {
        renamed[key] = value
    }
    for (key, value) in metadata where reserved.contains(key) {
        var newKey = "meta." + key
        while renamed[newKey] != nil || metadata[newKey] != nil {
            newKey = "meta." + newKey
        }
        renamed[newKey] = value
    }
    return renamed.sorted { $0.key < $1.key }
}

private func appendJSONValue(_ value: Logger.MetadataValue, to line: inout [UInt8]) {
    switch value {
    case .string(let string):
        appendJSONString(string, to: &line)
    case .stringConvertible(let convertible):
        appendJSONString(convertible.description, to: &line)
    case .array(let values):
        line.append(UInt8(ascii: "["))
        for (index, element) in values.enumerated() {
            if index > 0 { line.append(UInt8(ascii: ",")) }
            appendJSONValue(element, to: &line)
        }
        line.append(UInt8(ascii: "]"))
    case .dictionary(let dictionary):
        line.append(UInt8(ascii: "{"))
        // Sorted so equal metadata always renders to equal lines.
        for (index, (key, element)) in dictionary.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { line.append(UInt8(ascii: ",")) }
            appendJSONString(key, to: &line)
            line.append(UInt8(ascii: ":"))
            appendJSONValue(element, to: &line)
        }
        line.append(UInt8(ascii: "}"))
    }
}

private let hexDigits = Array("0123456789abcdef".utf8)

/// Appends `string` as a quoted JSON string (RFC 8259): `"` and `\` escaped, control characters as short escapes or
/// `\u00XX`, everything else (non-ASCII included) copied as UTF-8.
private func appendJSONString(_ string: String, to line: inout [UInt8]) {
    line.append(UInt8(ascii: "\""))
    for byte in string.utf8 {
        switch byte {
        case UInt8(ascii: "\""): line.append(contentsOf: #"\""#.utf8)
        case UInt8(ascii: "\\"): line.append(contentsOf: #"\\"#.utf8)
        case UInt8(ascii: "\n"): line.append(contentsOf: #"\n"#.utf8)
        case UInt8(ascii: "\r"): line.append(contentsOf: #"\r"#.utf8)
        case UInt8(ascii: "\t"): line.append(contentsOf: #"\t"#.utf8)
        case 0x08: line.append(contentsOf: #"\b"#.utf8)
        case 0x0C: line.append(contentsOf: #"\f"#.utf8)
        case 0x00..<0x20:
            line.append(contentsOf: #"\u00"#.utf8)
            line.append(hexDigits[Int(byte >> 4)])
            line.append(hexDigits[Int(byte & 0x0F)])
        default: line.append(byte)
        }
    }
    line.append(UInt8(ascii: "\""))
}

/// Appends `text` with control characters and backslashes escaped, so a text line stays one line.
private func appendEscapingControls(_ text: String, to line: inout [UInt8]) {
    for byte in text.utf8 {
        appendTextByte(byte, to: &line)
    }
}

/// Appends a metadata value for the text format, quoted when a reader could not otherwise tell where it ends.
private func appendTextValue(_ value: String, to line: inout [UInt8]) {
    let needsQuotes =
        value.isEmpty
        || value.utf8.contains { $0 <= UInt8(ascii: " ") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "=") || $0 == 0x7F }
    guard needsQuotes else {
        appendEscapingControls(value, to: &line)
        return
    }
    line.append(UInt8(ascii: "\""))
    for byte in value.utf8 {
        if byte == UInt8(ascii: "\"") {
            line.append(contentsOf: #"\""#.utf8)
        } else {
            appendTextByte(byte, to: &line)
        }
    }
    line.append(UInt8(ascii: "\""))
}

private func appendTextByte(_ byte: UInt8, to line: inout [UInt8]) {
    switch byte {
    case UInt8(ascii: "\\"): line.append(contentsOf: #"\\"#.utf8)
    case UInt8(ascii: "\n"): line.append(contentsOf: #"\n"#.utf8)
    case UInt8(ascii: "\r"): line.append(contentsOf: #"\r"#.utf8)
    case UInt8(ascii: "\t"): line.append(contentsOf: #"\t"#.utf8)
    case 0x00..<0x20, 0x7F:
        line.append(contentsOf: #"\x"#.utf8)
        line.append(hexDigits[Int(byte >> 4)])
        line.append(hexDigits[Int(byte & 0x0F)])
    default: line.append(byte)
    }
}

// MARK: - Time

/// Milliseconds since the Unix epoch, from the real-time clock.
private func currentUnixMilliseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
}

/// Formats Unix milliseconds as RFC 3339 UTC with milliseconds, e.g. `2026-11-25T10:00:00.123Z`.
func formatLogTimestamp(unixMilliseconds: Int64) -> String {
    var bytes = [UInt8]()
    appendTimestamp(to: &bytes, unixMilliseconds: unixMilliseconds)
    return String(decoding: bytes, as: UTF8.self)
}

/// Appends the RFC 3339 form of `unixMilliseconds`; hand-rolled because it runs on every line, and neither
/// `DateFormatter` (not `Sendable`) nor `gmtime_r` plus `String(format:)` is cheap.
private func appendTimestamp(to line: inout [UInt8], unixMilliseconds: Int64) {
    let (days, millisOfDay) = floorDivMod(unixMilliseconds, 86_400_000)
    let (year, month, day) = civilDate(fromDaysSinceEpoch: days)
    let secondsOfDay = millisOfDay / 1000
    appendDigits(year, width: 4, to: &line)
    line.append(UInt8(ascii: "-"))
    appendDigits(month, width: 2, to: &line)
    line.append(UInt8(ascii: "-"))
    appendDigits(day, width: 2, to: &line)
    line.append(UInt8(ascii: "T"))
    appendDigits(secondsOfDay / 3600, width: 2, to: &line)
    line.append(UInt8(ascii: ":"))
    appendDigits(secondsOfDay / 60 % 60, width: 2, to: &line)
    line.append(UInt8(ascii: ":"))
    appendDigits(secondsOfDay % 60, width: 2, to: &line)
    line.append(UInt8(ascii: "."))
    appendDigits(millisOfDay % 1000, width: 3, to: &line)
    line.append(UInt8(ascii: "Z"))
}

private func floorDivMod(_ value: Int64, _ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
    let remainder = value % divisor
    return remainder < 0 ? (value / divisor - 1, remainder + divisor) : (value / divisor, remainder)
}

/// Howard Hinnant's `civil_from_days`: the proleptic Gregorian date of a day count since 1970-01-01.
private func civilDate(fromDaysSinceEpoch days: Int64) -> (year: Int64, month: Int64, day: Int64) {
    let shifted = days + 719_468
    let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
    let dayOfEra = shifted - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let monthIndex = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
    let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
    return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
}

private func appendDigits(_ value: Int64, width: Int, to line: inout [UInt8]) {
    var divisor: Int64 = 1
    for _ in 1..<width { divisor *= 10 }
    while divisor > 0 {
        line.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
        divisor /= 10
    }
}
