/// FNV-1a over the text's UTF-8 bytes: the same value across restarts, builds and replicas (Swift's `Hasher` is
/// seeded per process), for names and identifiers derived from content.
func stableHash(_ text: String) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 {
        hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
    }
    return hash
}
