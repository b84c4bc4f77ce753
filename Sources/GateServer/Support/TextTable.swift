/// A plain-text table for people: left-aligned columns, a header row, and cells that may wrap
/// onto continuation lines (one reason per line).
struct TextTable {
    var header: [String]
    var rows: [[String]] = []

    init(_ header: String...) { self.header = header }

    mutating func add(_ cells: String...) { rows.append(cells) }
    mutating func add(_ cells: [String]) { rows.append(cells) }

    func render() -> String {
        let all = [header] + rows
        var widths = [Int](repeating: 0, count: header.count)
        for row in all {
            for (index, cell) in row.enumerated() where index < widths.count - 1 {
                widths[index] = max(widths[index], cell.split(separator: "\n", omittingEmptySubsequences: false).map(\.count).max() ?? 0)
            }
        }
        var out = ""
        for row in all {
            let columns = row.map { $0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
            let height = columns.map(\.count).max() ?? 1
            for line in 0..<height {
                var text = ""
                for (index, column) in columns.enumerated() {
                    let cell = line < column.count ? column[line] : ""
                    if index == columns.count - 1 {
                        text += cell
                    } else {
                        text += cell + String(repeating: " ", count: widths[index] - cell.count + 2)
                    }
                }
                while text.hasSuffix(" ") { text.removeLast() }
                out += text + "\n"
            }
        }
        return out
    }
}
