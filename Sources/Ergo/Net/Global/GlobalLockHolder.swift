/// The process that takes `global`'s lock on a partition for one connect
/// session, holds it while names are exchanged, and lets go of it. OTP's
/// locker does the same from one long-lived process; a process per attempt
/// keeps `global_name_server` free to answer `set_lock` calls meanwhile
/// (two Swift nodes locking each other would otherwise wait on each other).
///
/// It sets the lock node by node (the boss, the largest node name, first,
/// as OTP does), reports `{'$global_holder', Peer, Tag, Self, true|false}`
/// to the server, and on `{'$global_release', Casts}` sends the given
/// casts (the `new_nodes` messages must reach each node before the lock is
/// deleted there) and deletes the lock, the boss last.
enum GlobalLockHolder {
    static let resultTag: Atom = "$global_holder"
    static let releaseTag: Atom = "$global_release"

    /// The order OTP locks in: the boss of our partition, then `extra`
    /// (ourselves and, when we take the initiative, the peer), then the
    /// rest of the partition.
    static func lockOrder(me: Atom, known: [Atom], extra: [Atom]) -> [Atom] {
        let partition = [me] + known
        let boss = partition.max()!
        var order = [boss]
        for node in extra + known where !order.contains(node) { order.append(node) }
        return order
    }

    static func run(_ process: ProcessContext, server: PID, peer: Atom, tag: Int, lockId: Term,
                    nodes: [Atom]) async throws {
        let me = Term.pid(process.pid)
        guard let locked = await setLock(process, lockId, on: nodes) else {
            process.send(to: server, .tuple([.atom(resultTag), .atom(peer), .int(tag), me, .atom(.false)]))
            return
        }
        process.send(to: server, .tuple([.atom(resultTag), .atom(peer), .int(tag), me, .atom(.true)]))
        let casts = try await process.receive { term -> [Term]? in
            guard case .tuple(let e) = term, e.count == 2, e[0] == .atom(releaseTag),
                  case .list(let casts) = e[1] else { return nil }
            return casts
        }
        for cast in casts ?? [] {
            guard case .tuple(let e) = cast, e.count == 2, case .atom(let node) = e[0] else { continue }
            try? process.send(to: .remoteName(GlobalNameServer.name, node: node),
                              .tuple([.atom(.genCast), e[1]]))
        }
        await deleteLock(process, lockId, on: locked)
    }

    /// Sets `lockId` on `nodes` in order, for the calling process. Returns
    /// them, or nil, having deleted what it set, when a node refuses.
    static func setLock(_ process: ProcessContext, _ lockId: Term, on nodes: [Atom]) async -> [Atom]? {
        var locked: [Atom] = []
        for node in nodes {
            guard await request(process, node, .tuple([.atom("set_lock"), lockId])) == .atom(.true) else {
                await deleteLock(process, lockId, on: locked)
                return nil
            }
            locked.append(node)
        }
        return locked
    }

    /// Deletes the lock on `nodes`, the boss (the largest name) last.
    static func deleteLock(_ process: ProcessContext, _ lockId: Term, on nodes: [Atom]) async {
        guard let boss = nodes.max() else { return }
        for node in nodes where node != boss {
            _ = await request(process, node, .tuple([.atom("del_lock"), lockId]))
        }
        _ = await request(process, boss, .tuple([.atom("del_lock"), lockId]))
    }

    /// A call to `global_name_server` on `node`; nil if it fails.
    static func request(_ process: ProcessContext, _ node: Atom, _ request: Term) async -> Term? {
        try? await process.call(.remoteName(GlobalNameServer.name, node: node), request, timeout: .seconds(15))
    }
}
