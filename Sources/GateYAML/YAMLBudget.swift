import CYaml

/// Bounds on a YAML document before anything builds or walks its tree.
///
/// Anchors and aliases let a few hundred bytes stand for billions of nodes (`a: &a [x, x, x, x]`,
/// `b: &b [*a, *a, *a, *a]`, … the "billion laughs"): a composer shares the aliased subtrees, but whatever walks,
/// hashes or compares the tree afterwards pays for every expanded node, and a deeply nested document exhausts the
/// stack of a recursive walker. ``check(_:)`` reads libyaml's event stream once, in time linear in the text,
/// and counts nodes as if every alias were expanded.
public struct YAMLBudget: Sendable, Equatable {
    /// The largest text accepted, in UTF-8 bytes.
    public var maxBytes: Int
    /// The most nodes (scalars, lists and mappings, aliases expanded) the whole text may stand for.
    public var maxNodes: Int
    /// The deepest nesting of lists and mappings, aliases expanded; a top-level scalar is depth 0.
    public var maxDepth: Int

    /// Creates a budget.
    public init(maxBytes: Int, maxNodes: Int, maxDepth: Int) {
        self.maxBytes = maxBytes
        self.maxNodes = maxNodes
        self.maxDepth = maxDepth
    }

    /// The gate's configuration file: 1 MiB, 100,000 nodes, nesting 64 deep (a real one is a few hundred nodes,
    /// five levels deep).
    public static let configuration = YAMLBudget(maxBytes: 1 << 20, maxNodes: 100_000, maxDepth: 64)

    /// One file given to `upgrade-gate lint`: 16 MiB, 2,000,000 nodes, nesting 256 deep (room for rendered charts
    /// and CustomResourceDefinitions with deep OpenAPI schemas).
    public static let lint = YAMLBudget(maxBytes: 16 << 20, maxNodes: 2_000_000, maxDepth: 256)

    /// Checks `text` against the budget.
    ///
    /// Syntax errors are not reported here: the scan stops at the first one and leaves it to the parser that reads
    /// the document afterwards, so that error keeps its usual wording.
    ///
    /// - Throws: ``YAMLBudgetError`` naming the line where the budget ran out.
    public func check(_ text: String) throws(YAMLBudgetError) {
        let bytes = text.utf8.count
        guard bytes <= maxBytes else { throw YAMLBudgetError(.tooLarge(bytes: bytes, limit: maxBytes), line: nil) }
        var scan = Scan(budget: self)
        var text = text
        let outcome = text.withUTF8 { buffer in scan.run(buffer) }
        if let error = outcome { throw error }
    }
}

/// A YAML text exceeds its ``YAMLBudget``: the text is refused before it is read further.
public struct YAMLBudgetError: Error, Sendable, Equatable, CustomStringConvertible {
    fileprivate enum Reason: Sendable, Equatable {
        case tooLarge(bytes: Int, limit: Int)
        case tooManyNodes(limit: Int, aliased: Bool)
        case tooDeep(limit: Int, aliased: Bool)
    }

    fileprivate var reason: Reason
    /// The 1-based line where the budget ran out (the alias that expands past it, or the node too deep); `nil`
    /// when the text is too large as a whole.
    public var line: Int?

    fileprivate init(_ reason: Reason, line: Int?) {
        self.reason = reason
        self.line = line
    }

    /// A short snake_case name for the kind of problem, usable as a metric label.
    public var label: String {
        switch reason {
        case .tooLarge: return "yaml_too_large"
        case .tooManyNodes: return "yaml_too_many_nodes"
        case .tooDeep: return "yaml_too_deep"
        }
    }

    /// What is wrong, without quoting the text (which might hold a secret).
    public var description: String {
        switch reason {
        case .tooLarge(let bytes, let limit):
            return "the YAML text is \(bytes) bytes, more than the \(limit) accepted"
        case .tooManyNodes(let limit, let aliased):
            return aliased
                ? "YAML aliases expand to more than \(limit) nodes (an alias bomb?); expand anchors by hand or simplify the document"
                : "the YAML document has more than \(limit) nodes"
        case .tooDeep(let limit, let aliased):
            return aliased
                ? "YAML aliases nest deeper than \(limit) levels once expanded; simplify the anchors"
                : "the YAML document nests deeper than \(limit) levels"
        }
    }
}

/// One pass over libyaml's events with the running counts.
private struct Scan {
    /// An open list or mapping.
    struct Frame {
        var anchor: String?
        /// Nodes it stands for so far, itself included, aliases expanded.
        var nodes = 1
        /// Levels of nesting below and including it, aliases expanded.
        var height = 1
    }

    /// What an anchor stands for, once its node is complete.
    struct Anchored {
        var nodes: Int
        var height: Int
    }

    let budget: YAMLBudget
    var stack: [Frame] = []
    var anchors: [String: Anchored] = [:]
    /// Every node the text stands for: literal nodes plus, for each alias, all that its anchor stands for.
    var total = 0
    var sawAlias = false

    init(budget: YAMLBudget) {
        self.budget = budget
    }

    mutating func run(_ buffer: UnsafeBufferPointer<UInt8>) -> YAMLBudgetError? {
        var parser = yaml_parser_t()
        // Out of memory before the first byte: let the real parser fail the same way.
        guard yaml_parser_initialize(&parser) == 1 else { return nil }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
        // Empty text is an empty stream: nothing to count.
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return nil }
        yaml_parser_set_input_string(&parser, base, buffer.count)
        while true {
            var event = yaml_event_t()
            // A syntax error: the real parser reports it, with its own wording.
            guard yaml_parser_parse(&parser, &event) == 1 else { return nil }
            defer { yaml_event_delete(&event) }
            let line = Int(event.start_mark.line) + 1
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return nil
            case YAML_SCALAR_EVENT:
                if let error = add(nodes: 1, height: 0, line: line) { return error }
                if let anchor = Self.string(event.data.scalar.anchor) { anchors[anchor] = Anchored(nodes: 1, height: 0) }
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                let anchor = Self.string(
                    event.type == YAML_SEQUENCE_START_EVENT ? event.data.sequence_start.anchor : event.data.mapping_start.anchor
                )
                total += 1
                if total > budget.maxNodes { return YAMLBudgetError(.tooManyNodes(limit: budget.maxNodes, aliased: sawAlias), line: line) }
                if stack.count + 1 > budget.maxDepth { return YAMLBudgetError(.tooDeep(limit: budget.maxDepth, aliased: false), line: line) }
                stack.append(Frame(anchor: anchor))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let frame = stack.popLast() else { return nil }
                if let anchor = frame.anchor { anchors[anchor] = Anchored(nodes: frame.nodes, height: frame.height) }
                // The frame's own node is already in `total`; only its parent learns its size now.
                if var parent = stack.popLast() {
                    parent.nodes += frame.nodes
                    parent.height = max(parent.height, frame.height + 1)
                    stack.append(parent)
                }
            case YAML_ALIAS_EVENT:
                sawAlias = true
                // An undefined alias is the parser's error to report; count it as one node meanwhile.
                let target = Self.string(event.data.alias.anchor).flatMap { anchors[$0] } ?? Anchored(nodes: 1, height: 0)
                if let error = add(nodes: target.nodes, height: target.height, line: line) { return error }
            default:
                continue
            }
        }
    }

    /// Adds a complete node (a scalar, or what an alias stands for) to the innermost open collection.
    private mutating func add(nodes: Int, height: Int, line: Int) -> YAMLBudgetError? {
        total += nodes
        if total > budget.maxNodes { return YAMLBudgetError(.tooManyNodes(limit: budget.maxNodes, aliased: sawAlias), line: line) }
        if stack.count + height > budget.maxDepth { return YAMLBudgetError(.tooDeep(limit: budget.maxDepth, aliased: sawAlias), line: line) }
        if var parent = stack.popLast() {
            parent.nodes += nodes
            parent.height = max(parent.height, height + 1)
            stack.append(parent)
        }
        return nil
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        guard let pointer else { return nil }
        return String(cString: pointer)
    }
}
