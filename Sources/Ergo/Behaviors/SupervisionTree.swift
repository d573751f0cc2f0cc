/// A supervision tree as `which_children` shows it, level by level
/// (what observer draws for an Erlang application).
public struct SupervisionTree: Sendable, Hashable {
    /// The row of this node in its supervisor's `which_children`; nil for the root.
    public var info: ChildInfo?
    public var pid: PID?
    /// For a running supervisor: its children, in start order.
    public var children: [SupervisionTree]

    /// Every pid in the tree, depth first, the root first.
    public var pids: [PID] { (pid.map { [$0] } ?? []) + children.flatMap(\.pids) }

    /// The tree as indented text, one child per line (`id pid type`).
    public func render(indent: String = "") -> String {
        var lines: [String] = []
        if let info {
            lines.append("\(indent)\(info.id?.name ?? "undefined") \(pid.map { "\($0)" } ?? "\(info.status)") \(info.type)")
        } else if let pid {
            lines.append("\(indent)\(pid) supervisor")
        }
        for child in children { lines.append(child.render(indent: indent + "  ")) }
        return lines.joined(separator: "\n")
    }
}

extension ProcessContext {
    /// Walks the tree under `root` with `which_children`, into every child
    /// that is a running supervisor. A supervisor that ends during the walk
    /// shows no children.
    public func supervisionTree(_ root: Destination) async throws -> SupervisionTree {
        let rootPID: PID? = if case .pid(let p) = root { p } else { nil }
        return SupervisionTree(info: nil, pid: rootPID, children: try await subtrees(root))
    }

    private func subtrees(_ supervisor: Destination) async throws -> [SupervisionTree] {
        var result: [SupervisionTree] = []
        for row in try await whichChildren(supervisor) {
            var children: [SupervisionTree] = []
            if row.type == .supervisor, let pid = row.pid {
                do { children = try await subtrees(.pid(pid)) } catch is CallError { children = [] }
            }
            result.append(SupervisionTree(info: row, pid: row.pid, children: children))
        }
        return result
    }
}

extension Node {
    public func supervisionTree(_ root: Destination) async throws -> SupervisionTree {
        try await withProcess { try await $0.supervisionTree(root) }
    }
}
