import Foundation

/// Why a path could not be walked: it does not exist, or a directory under it cannot be listed.
public struct DirectoryWalkError: Error, Sendable {
    /// The path that failed.
    public var path: String
    /// What went wrong, for the caller's own error.
    public var reason: String
}

/// The files at `path` that `include` accepts: the file itself (whatever its name), or those under a directory,
/// recursively, in sorted order, skipping dot-files, dangling links and symbolic-link cycles. Shared by `lint` and
/// `preflight`, which differ only in which names they read.
public func filesToRead(at path: String, include: (String) -> Bool) throws(DirectoryWalkError) -> [String] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw DirectoryWalkError(path: path, reason: "no such file or directory")
    }
    guard isDirectory.boolValue else { return [path] }
    var files: [String] = []
    var visited: Set<String> = []
    try collect(directory: path, include: include, into: &files, visited: &visited)
    return files
}

private func collect(
    directory: String,
    include: (String) -> Bool,
    into files: inout [String],
    visited: inout Set<String>
) throws(DirectoryWalkError) {
    // A symbolic link back up the tree would otherwise recurse for ever.
    guard visited.insert(URL(fileURLWithPath: directory).resolvingSymlinksInPath().path).inserted else { return }
    let names: [String]
    do {
        names = try FileManager.default.contentsOfDirectory(atPath: directory)
    } catch {
        throw DirectoryWalkError(path: directory, reason: "the directory cannot be listed")
    }
    for name in names.sorted() where !name.hasPrefix(".") {
        let child = directory.hasSuffix("/") ? directory + name : "\(directory)/\(name)"
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: child, isDirectory: &isDirectory) else { continue }  // a dangling link
        if isDirectory.boolValue {
            try collect(directory: child, include: include, into: &files, visited: &visited)
        } else if include(name) {
            files.append(child)
        }
    }
}
