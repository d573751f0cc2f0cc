/// After both partitions are locked: names are exchanged and resolved, the
/// partitions merge (`new_nodes`, `in_sync`), and lost connections are
/// reported (`lost_connection`, `remove_connection`).
extension GlobalState {
    // MARK: exchange and resolve

    /// Both partitions hold the lock: send our names (`lock_is_set`).
    mutating func bothLocked(_ node: Atom, _ ctx: GlobalContext) {
        guard var session = sessions[node], let his = session.his, !session.lockIsSet else { return }
        session.lockIsSet = true
        sessions[node] = session
        ctx.cast(node, .tuple([.atom("exchange"), .atom(ctx.me), names.list, .list([]), his.tag]))
        if session.hisNames != nil { resolve(node, ctx) }
    }

    mutating func exchange(from node: Atom, names theirs: Term, tag: Term, _ ctx: GlobalContext) {
        guard var session = sessions[node], tag == .int(session.myTag) else { return cancelStale(node, tag, ctx) }
        session.hisNames = theirs
        sessions[node] = session
        if session.lockIsSet { resolve(node, ctx) }
    }

    mutating func resolve(_ node: Atom, _ ctx: GlobalContext) {
        guard var session = sessions[node], let his = session.his, let theirs = session.hisNames,
              session.ourOps == nil else { return }
        let log = ctx.log
        let (ops, resolved) = exchangeNames(theirs, with: node, me: ctx.me) { log.info("\($0)") }
        session.ourOps = ops
        sessions[node] = session
        ctx.cast(node, .tuple([.atom("resolved"), .atom(ctx.me), .list(resolved), knownList, .atom("unused"),
                               .list([]), his.tag]))
        if session.hisResolved != nil { finish(node, ctx) }
    }

    mutating func resolved(from node: Atom, ops: [Term], known his: [Term], namesExt: Term, tag: Term,
                           _ ctx: GlobalContext) {
        guard var session = sessions[node], tag == .int(session.myTag) else { return cancelStale(node, tag, ctx) }
        session.hisResolved = (ops, his, namesExt)
        sessions[node] = session
        if session.ourOps != nil { finish(node, ctx) }
    }

    /// A message of an older session: drop the current one, as OTP does.
    mutating func cancelStale(_ node: Atom, _ tag: Term, _ ctx: GlobalContext) {
        ctx.log.debug("global: stale session message", metadata: ["peer": "\(node)", "tag": "\(TermPrinter.print(tag))"])
    }

    /// Both sides have resolved: run the operations, tell our partition
    /// about the peer's, and add the peer's partition to ours (`resolved/5`).
    mutating func finish(_ node: Atom, _ ctx: GlobalContext) {
        guard let session = sessions[node], let his = session.his, let ourOps = session.ourOps,
              let theirs = session.hisResolved, case .held = session.lock else { return }
        let ops = ourOps + theirs.ops
        let hisKnown = theirs.known.compactMap(Self.nodeAndVersion)
        let newNodes = [(node, his.vsn)] + hisKnown.map { ($0.0, $0.1 == 0 ? version(of: $0.0) : $0.1) }
        syncOthers(hisKnown.map(\.0), ctx)
        apply(ops, ctx.process)
        notifySyncers([node], ctx.process)
        for (other, _) in hisKnown where other != node { endSession(other, ctx) }
        // Our partition hears of the new nodes from the lock holder, before
        // it deletes the lock there.
        let lockTerm = Term.tuple([.atom("lock"), lockID(with: his.locker, ctx).term])
        let message = Term.tuple([
            .atom("new_nodes"), .atom(ctx.me), .list(ops), .list([]),
            .list(newNodes.map { .tuple([.atom($0.0), .int($0.1)]) }),
            .list([.tuple([.atom("vsn"), .int(his.vsn)]), lockTerm]),
        ])
        let casts = known.keys.sorted().map { Term.tuple([.atom($0), message]) }
        endSession(node, ctx, casts: casts)
        for (n, v) in newNodes where n != ctx.me && known[n] == nil { known[n] = v }
        synced.insert(node)
    }

    /// `{new_nodes, Node, Ops, NamesExt, Nodes, ExtraInfo}`: another node of
    /// our partition synced with `Nodes`.
    mutating func newNodes(from node: Atom, ops: [Term], nodes: [Term], _ ctx: GlobalContext) {
        var added: [Atom] = []
        for (n, v) in nodes.compactMap(Self.nodeAndVersion) where n != ctx.me && known[n] == nil {
            known[n] = v
            added.append(n)
        }
        syncOthers(added, ctx)
        apply(ops, ctx.process)
    }

    /// `{in_sync, Node, IsKnown}`: a node of the other partition counts us
    /// as synced; so do we.
    mutating func inSync(_ node: Atom, _ ctx: GlobalContext) {
        notifySyncers([node], ctx.process)
        synced.insert(node)
        endSession(node, ctx)
        preConnect[node] = nil
    }

    /// Connects to each node and tells it we are in sync (`sync_others`).
    func syncOthers(_ nodes: [Atom], _ ctx: GlobalContext) {
        let me = ctx.me, server = ctx.process.pid, connect = ctx.server.connect
        for node in nodes where node != me {
            _ = try? ctx.process.spawn { process in
                if await connect(node) {
                    try? process.send(to: .remoteName(GlobalNameServer.name, node: node),
                                      .tuple([.atom(.genCast), .tuple([.atom("in_sync"), .atom(me), .atom(.true)])]))
                } else {
                    process.send(to: server, .tuple([.atom("extra_nodedown"), .atom(node)]))
                }
            }
        }
    }

    static func nodeAndVersion(_ term: Term) -> (Atom, Int)? {
        switch term {
        case .atom(let n): return (n, 0)
        case .tuple(let e) where e.count == 2:
            guard case .atom(let n) = e[0], case .int(let v) = e[1] else { return nil }
            return (n, v)
        default: return nil
        }
    }

    // MARK: nodes going down

    /// `node` is gone from our partition. Unless we removed it on purpose
    /// (`informing: false`), the partition hears of it (`lost_connection`).
    mutating func nodeDown(_ node: Atom, informing: Bool = true, _ ctx: GlobalContext) {
        let wasKnown = known.removeValue(forKey: node) != nil
        endSession(node, ctx)
        preConnect[node] = nil
        synced.remove(node)
        notifySyncers([node], ctx.process)
        if informing, wasKnown { informConnectionLoss(node, ctx) }
    }

    /// Tells our partition we lost `node` (`prevent_overlapping_partitions`).
    mutating func informConnectionLoss(_ node: Atom, _ ctx: GlobalContext) {
        let message = Term.tuple([.atom("lost_connection"), .atom(ctx.me), .int(creationExtension),
                                  .int(nextOperation), .atom(node)])
        nextOperation += 1
        for (other, vsn) in known where other != node && vsn >= 7 { ctx.volatileSend(other, message) }
    }

    /// `reporter` lost its connection to `lost`: so that the partitions do
    /// not overlap, we leave `lost` too (or `reporter`, if `lost` is us).
    mutating func lostConnection(_ message: Term, reporter: Atom, creation: Term, operation: Int, lost: Atom,
                                 _ ctx: GlobalContext) {
        let key = LostKey(reporter: reporter, lost: lost)
        if let seen = lostConnections[key], seen.creation == creation, operation <= seen.operation { return }
        for (other, vsn) in known where other != reporter && vsn >= 7 { ctx.volatileSend(other, message) }
        lostConnections[key] = (creation, operation)
        let remove = lost == ctx.me ? reporter : lost
        guard isPotentiallyKnown(remove) else { return }
        ctx.volatileSend(remove, .tuple([.atom("remove_connection"), .atom(ctx.me)]))
        ctx.log.warning("'global' at node \(ctx.me) requested disconnect from node \(remove) in order to prevent overlapping partitions")
        nodeDown(remove, informing: false, ctx)
    }

    /// `{remove_connection, Node}`: `Node` asks us to leave it.
    mutating func removeConnection(_ node: Atom, _ ctx: GlobalContext) {
        guard isPotentiallyKnown(node) else { return }
        ctx.log.warning("'global' at node \(ctx.me) disconnected node \(node) in order to prevent overlapping partitions")
        nodeDown(node, informing: false, ctx)
        _ = ctx.server.disconnect(node)
    }
}
