/// Shortens `text` to at most `maxBytes` UTF-8 bytes, cut on a Unicode scalar boundary and ending with a note that
/// gives the original length, so a reader knows something was left out. Text that fits is returned unchanged.
public func truncatedMessage(_ text: String, maxBytes: Int) -> String {
    let total = text.utf8.count
    guard total > maxBytes else { return text }
    let note = " … [truncated from \(total) bytes]"
    let budget = max(0, maxBytes - note.utf8.count)
    var kept = 0
    var result = String.UnicodeScalarView()
    for scalar in text.unicodeScalars {
        let size = UTF8.width(scalar)
        if kept + size > budget { break }
        result.append(scalar)
        kept += size
    }
    return String(result) + note
}
