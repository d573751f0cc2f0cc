/// `global` on this node: what its `global_name_server` knows.
extension Node {
    /// `global:sync()`: waits until this node has synced with every
    /// visible node connected now (or they went down).
    public func globalSync(timeout: Duration? = nil) async throws {
        let nodes = Term.list(visibleNodes.map { .atom($0) })
        _ = try await call(.name(GlobalNameServer.name), .tuple([.atom("sync"), nodes]), timeout: timeout)
    }

    /// `global:whereis_name/1`: the pid registered globally under `name`.
    public func globalWhereis(_ name: Term) async throws -> PID? {
        let reply = try await call(.name(GlobalNameServer.name), .tuple([.atom("whereis"), name]))
        if case .pid(let pid) = reply { return pid }
        return nil
    }

    /// `global:registered_names/0`.
    public func globalRegisteredNames() async throws -> [Term] {
        guard case .list(let entries) = try await call(.name(GlobalNameServer.name), .atom("get_names")) else { return [] }
        return entries.compactMap { entry in
            if case .tuple(let e) = entry, e.count == 3 { return e[0] }
            return nil
        }
    }

    /// The nodes `global` counts in this node's partition (`global:get_known/0`).
    public func globalKnownNodes() async throws -> [Atom] {
        guard case .list(let nodes) = try await call(.name(GlobalNameServer.name), .atom("get_known")) else { return [] }
        return nodes.compactMap { if case .atom(let a) = $0 { return a } else { return nil } }
    }
}
