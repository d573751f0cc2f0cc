/// The connect protocol between `global_name_server`s (OTP's `global.erl`,
/// "Connection algorithm"): sessions, locking, exchange and resolve.
extension GlobalState {
    // MARK: dispatch

    mutating func cast(_ request: Term, _ ctx: inout GlobalContext) {
        guard case .tuple(let e) = request, !e.isEmpty, case .atom(let tag) = e[0] else {
            return unexpected("cast", request, ctx)
        }
        switch (tag.name, e.count) {
        case ("init_connect", 4):
            guard case .atom(let node) = e[2] else { return }
            initConnect(e[1], from: node, e[3], &ctx)
        case ("lock_set", 4), ("lock_set", 5):
            guard case .pid(let locker) = e[1], case .atom(let set) = e[2] else { return }
            lockSet(by: locker, set == .true, tag: e.count == 5 ? e[4] : nil, &ctx)
        case ("exchange", 5):
            guard case .atom(let node) = e[1] else { return }
            exchange(from: node, names: e[2], tag: e[4], &ctx)
        case ("resolved", 7):
            guard case .atom(let node) = e[1], case .list(let ops) = e[2], case .list(let his) = e[3] else { return }
            resolved(from: node, ops: ops, known: his, namesExt: e[5], tag: e[6], &ctx)
        case ("new_nodes", 6):
            guard case .atom(let node) = e[1], case .list(let ops) = e[2], case .list(let nodes) = e[4] else { return }
            newNodes(from: node, ops: ops, nodes: nodes, &ctx)
        case ("in_sync", 3):
            guard case .atom(let node) = e[1] else { return }
            inSync(node, &ctx)
        case ("async_del_name", 3), ("async_del_lock", 3):
            return  // pre-R14 messages; 'DOWN' does the work
        default:
            unexpected("cast", request, ctx)
        }
    }

    mutating func info(_ message: Term, _ ctx: inout GlobalContext) {
        guard case .tuple(let e) = message, !e.isEmpty, case .atom(let tag) = e[0] else {
            return unexpected("message", message, ctx)
        }
        switch (tag, e.count) {
        case (.nodeup, 2):
            if case .atom(let node) = e[1] { nodeUp(node, &ctx) }
        case (.nodedown, 2):
            if case .atom(let node) = e[1] { nodeDown(node, &ctx) }
        case (.down, 5):
            if case .ref(let ref) = e[1] { down(ref) }
        case (.exitTag, 3):
            return  // a lock holder, linked to us, ended
        case ("lock_set", 4), ("lock_set", 5):
            // Straight to us as a locker (a peer without a session answers so).
            cast(message, &ctx)
        case ("init_connect_ack", 4):
            guard case .atom(let node) = e[1] else { return }
            initConnectAck(from: node, myTag: e[2], hisTag: e[3], &ctx)
        case ("cancel_connect", 3):
            guard case .atom(let node) = e[1] else { return }
            cancelConnect(from: node, tag: e[2], &ctx)
        case (GlobalLockHolder.resultTag, 5):
            guard case .atom(let node) = e[1], case .int(let tag) = e[2], case .pid(let holder) = e[3] else { return }
            holderResult(node, tag: tag, holder: holder, locked: e[4] == .atom(.true), &ctx)
        case ("$global_try", 3):
            guard case .atom(let node) = e[1], case .int(let tag) = e[2] else { return }
            tryLock(node, tag: tag, &ctx)
        case ("extra_nodedown", 2):
            guard case .atom(let node) = e[1] else { return }
            ctx.log.warning("global failed to connect", metadata: ["peer": "\(node)"])
            notifySyncers([node], ctx.process)
            nodeDown(node, &ctx)
        case ("lost_connection", 5):
            guard case .atom(let reporter) = e[1], case .int(let op) = e[3], case .atom(let lost) = e[4] else { return }
            lostConnection(message, reporter: reporter, creation: e[2], operation: op, lost: lost, &ctx)
        case ("remove_connection", 2):
            guard case .atom(let node) = e[1] else { return }
            removeConnection(node, &ctx)
        default:
            unexpected("message", message, ctx)
        }
    }

    private func unexpected(_ kind: String, _ term: Term, _ ctx: GlobalContext) {
        ctx.log.warning("global_name_server received an unexpected \(kind)",
                        metadata: ["message": "\(TermPrinter.print(term))"])
    }

    // MARK: sessions

    /// A visible node came up: start a session with it (`handle_nodeup`).
    mutating func nodeUp(_ node: Atom, _ ctx: inout GlobalContext) {
        guard node != ctx.me, known[node] == nil, sessions[node] == nil else { return }
        let tag = makeTag()
        sessions[node] = GlobalSession(myTag: tag)
        let locker = Term.tuple([.atom("locker"), .atom("no_longer_a_pid"), .list([]), .pid(ctx.process.pid)])
        ctx.cast(node, .tuple([.atom("init_connect"), .tuple([.int(GlobalNameServer.version), .int(tag)]),
                               .atom(ctx.me), locker]))
        if let early = preConnect.removeValue(forKey: node) {
            initConnect(early.vsn, from: node, early.initMessage, &ctx)
        }
    }

    mutating func initConnect(_ vsn: Term, from node: Atom, _ initMessage: Term, _ ctx: inout GlobalContext) {
        guard case .tuple(let v) = vsn, v.count >= 2, case .int(let hisVsn) = v[0] else {
            ctx.log.info("illegal global protocol version", metadata: ["peer": "\(node)", "vsn": "\(TermPrinter.print(vsn))"])
            return
        }
        let hisTag = v[1]
        guard var session = sessions[node] else {
            preConnect[node] = (vsn, initMessage)  // before our nodeup
            return
        }
        if session.his != nil {
            // A second connect attempt while one is going on: cancel both
            // and start over, as OTP does.
            ctx.volatileSend(node, .tuple([.atom("cancel_connect"), .atom(ctx.me), hisTag]))
            restart(node, &ctx)
            return
        }
        guard case .tuple(let l) = initMessage, l.count == 4, case .pid(let locker) = l[3] else { return }
        session.his = (hisTag, min(hisVsn, GlobalNameServer.version), locker)
        sessions[node] = session
        ctx.volatileSend(node, .tuple([.atom("init_connect_ack"), .atom(ctx.me), hisTag, .int(session.myTag)]))
        scheduleTry(node, session.myTag, ctx)
    }

    mutating func initConnectAck(from node: Atom, myTag: Term, hisTag: Term, _ ctx: inout GlobalContext) {
        guard let session = sessions[node] else { return }
        if myTag == .int(session.myTag), let his = session.his, his.tag == hisTag { return }
        // Out of sync: cancel this attempt and start over.
        ctx.volatileSend(node, .tuple([.atom("cancel_connect"), .atom(ctx.me), hisTag]))
        restart(node, &ctx)
    }

    mutating func cancelConnect(from node: Atom, tag: Term, _ ctx: inout GlobalContext) {
        guard let session = sessions[node], tag == .int(session.myTag) else { return }
        restart(node, &ctx)
    }

    /// Drops the session with `node` and, if it is still up, starts a new one.
    private mutating func restart(_ node: Atom, _ ctx: inout GlobalContext) {
        endSession(node, ctx)
        if ctx.isConnected(node) { nodeUp(node, &ctx) }
    }

    /// Ends a session: the lock holder lets go (after sending `casts`).
    mutating func endSession(_ node: Atom, _ ctx: GlobalContext, casts: [Term] = []) {
        guard let session = sessions.removeValue(forKey: node) else { return }
        if let holder = session.lock.holder {
            ctx.process.send(to: holder, .tuple([.atom(GlobalLockHolder.releaseTag), .list(casts)]))
        }
    }

    // MARK: locking

    /// Our locker takes the initiative after a while, as OTP's does (200 ms
    /// alone, 1–3 s in a partition), so that an Erlang peer usually leads.
    private func scheduleTry(_ node: Atom, _ tag: Int, _ ctx: GlobalContext) {
        let base = known.isEmpty ? 200 : min(1000 + 100 * known.count, 3000)
        let delay = Duration.milliseconds(base + Int.random(in: 0..<200))
        _ = ctx.process.sendAfter(delay, to: .pid(ctx.process.pid), .tuple([.atom("$global_try"), .atom(node), .int(tag)]))
    }

    mutating func tryLock(_ node: Atom, tag: Int, _ ctx: inout GlobalContext) {
        guard var session = sessions[node], session.myTag == tag, let his = session.his,
              !session.lockIsSet, session.lock == .idle else { return }
        let id = lockID(with: his.locker, ctx)
        if locks.isGlobalLockSet(except: id.requester) { return scheduleTry(node, tag, ctx) }
        session.lock = startHolder(node, session.myTag, id, extra: [ctx.me, node], ctx)
        sessions[node] = session
    }

    /// The peer's locker reports its lock (`{lock_set, Pid, Bool, Known[, Tag]}`).
    mutating func lockSet(by locker: PID, _ set: Bool, tag: Term?, _ ctx: inout GlobalContext) {
        let node = locker.node
        guard var session = sessions[node], let his = session.his, tag == nil || tag == .int(session.myTag) else {
            // No session with that node: say no, straight to its locker (OTP's `not_there`).
            if set { ctx.process.send(to: locker, .tuple([.atom("lock_set"), .pid(ctx.process.pid), .atom(.false), knownList])) }
            return
        }
        guard set else {
            // The peer could not lock its side: let go of ours and retry later.
            if case .held = session.lock {
                sessions[node] = session
                endHolder(node, ctx)
                scheduleTry(node, session.myTag, ctx)
            }
            return
        }
        session.hisLockSet = true
        switch session.lock {
        case .idle:
            session.lock = startHolder(node, session.myTag, lockID(with: his.locker, ctx), extra: [ctx.me], ctx)
            sessions[node] = session
        case .locking:
            sessions[node] = session
        case .held:
            sessions[node] = session
            bothLocked(node, &ctx)
        }
    }

    /// Our lock holder has set the lock on our partition, or failed to.
    mutating func holderResult(_ node: Atom, tag: Int, holder: PID, locked: Bool, _ ctx: inout GlobalContext) {
        guard var session = sessions[node], session.myTag == tag, session.lock == .locking(holder),
              let his = session.his else {
            ctx.process.send(to: holder, .tuple([.atom(GlobalLockHolder.releaseTag), .list([])]))
            return
        }
        guard locked else {
            session.lock = .idle
            if session.hisLockSet {
                ctx.cast(node, .tuple([.atom("lock_set"), .pid(ctx.process.pid), .atom(.false), knownList, his.tag]))
                session.hisLockSet = false
            }
            sessions[node] = session
            return scheduleTry(node, tag, ctx)
        }
        session.lock = .held(holder)
        sessions[node] = session
        ctx.cast(node, .tuple([.atom("lock_set"), .pid(ctx.process.pid), .atom(.true), knownList, his.tag]))
        if session.hisLockSet { bothLocked(node, &ctx) }
    }

    private mutating func endHolder(_ node: Atom, _ ctx: GlobalContext) {
        guard var session = sessions[node], let holder = session.lock.holder else { return }
        ctx.process.send(to: holder, .tuple([.atom(GlobalLockHolder.releaseTag), .list([])]))
        session.lock = .idle
        session.hisLockSet = false
        sessions[node] = session
    }

    /// `{global, lists:sort([OurLocker, HisLocker])}`, in Erlang's term
    /// order for pids (number, serial, then node name).
    private func lockID(with hisLocker: PID, _ ctx: GlobalContext) -> LockID {
        let pair = [ctx.process.pid, hisLocker].sorted(by: Self.erlangOrder)
        return LockID(resource: .atom(GlobalNameServer.globalResource), requester: .list(pair.map { .pid($0) }))
    }

    /// Erlang's term order between pids, as `lists:sort/1` sees it (OTP 25):
    /// number, serial, node name, creation.
    static func erlangOrder(_ a: PID, _ b: PID) -> Bool {
        if a.id != b.id { return a.id < b.id }
        if a.serial != b.serial { return a.serial < b.serial }
        if a.node != b.node { return a.node < b.node }
        return a.creation < b.creation
    }

    private func startHolder(_ node: Atom, _ tag: Int, _ id: LockID, extra: [Atom], _ ctx: GlobalContext) -> GlobalSession.LockPhase {
        let order = GlobalLockHolder.lockOrder(me: ctx.me, known: known.keys.sorted(), extra: extra)
        let server = ctx.process.pid
        let lockId = id.term
        guard let pid = try? ctx.process.spawnLink({ process in
            try await GlobalLockHolder.run(process, server: server, peer: node, tag: tag, lockId: lockId, nodes: order)
        }) else { return .idle }
        return .locking(pid)
    }

    // MARK: exchange and resolve

    /// Both partitions hold the lock: send our names (`lock_is_set`).
    private mutating func bothLocked(_ node: Atom, _ ctx: inout GlobalContext) {
        guard var session = sessions[node], let his = session.his, !session.lockIsSet else { return }
        session.lockIsSet = true
        sessions[node] = session
        ctx.cast(node, .tuple([.atom("exchange"), .atom(ctx.me), names.list, .list([]), his.tag]))
        if session.hisNames != nil { resolve(node, &ctx) }
    }

    mutating func exchange(from node: Atom, names theirs: Term, tag: Term, _ ctx: inout GlobalContext) {
        guard var session = sessions[node], tag == .int(session.myTag) else { return cancelStale(node, tag, ctx) }
        session.hisNames = theirs
        sessions[node] = session
        if session.lockIsSet { resolve(node, &ctx) }
    }

    private mutating func resolve(_ node: Atom, _ ctx: inout GlobalContext) {
        guard var session = sessions[node], let his = session.his, let theirs = session.hisNames,
              session.ourOps == nil else { return }
        let log = ctx.log
        let (ops, resolved) = exchangeNames(theirs, with: node, me: ctx.me) { log.info("\($0)") }
        session.ourOps = ops
        sessions[node] = session
        ctx.cast(node, .tuple([.atom("resolved"), .atom(ctx.me), .list(resolved), knownList, .atom("unused"),
                               .list([]), his.tag]))
        if session.hisResolved != nil { finish(node, &ctx) }
    }

    mutating func resolved(from node: Atom, ops: [Term], known his: [Term], namesExt: Term, tag: Term,
                           _ ctx: inout GlobalContext) {
        guard var session = sessions[node], tag == .int(session.myTag) else { return cancelStale(node, tag, ctx) }
        session.hisResolved = (ops, his, namesExt)
        sessions[node] = session
        if session.ourOps != nil { finish(node, &ctx) }
    }

    /// A message of an older session: drop the current one, as OTP does.
    private mutating func cancelStale(_ node: Atom, _ tag: Term, _ ctx: GlobalContext) {
        ctx.log.debug("global: stale session message", metadata: ["peer": "\(node)", "tag": "\(TermPrinter.print(tag))"])
    }

    /// Both sides have resolved: run the operations, tell our partition
    /// about the peer's, and add the peer's partition to ours (`resolved/5`).
    private mutating func finish(_ node: Atom, _ ctx: inout GlobalContext) {
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
    mutating func newNodes(from node: Atom, ops: [Term], nodes: [Term], _ ctx: inout GlobalContext) {
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
    mutating func inSync(_ node: Atom, _ ctx: inout GlobalContext) {
        notifySyncers([node], ctx.process)
        synced.insert(node)
        endSession(node, ctx)
        preConnect[node] = nil
    }

    /// Connects to each node and tells it we are in sync (`sync_others`).
    private func syncOthers(_ nodes: [Atom], _ ctx: GlobalContext) {
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

    mutating func nodeDown(_ node: Atom, _ ctx: inout GlobalContext) {
        let wasKnown = known.removeValue(forKey: node) != nil
        endSession(node, ctx)
        preConnect[node] = nil
        synced.remove(node)
        notifySyncers([node], ctx.process)
        if removing.remove(node) == nil, wasKnown { informConnectionLoss(node, ctx) }
    }

    /// Tells our partition we lost `node` (`prevent_overlapping_partitions`).
    private mutating func informConnectionLoss(_ node: Atom, _ ctx: GlobalContext) {
        let message = Term.tuple([.atom("lost_connection"), .atom(ctx.me), .int(creationExtension),
                                  .int(nextOperation), .atom(node)])
        nextOperation += 1
        for (other, vsn) in known where other != node && vsn >= 7 { ctx.volatileSend(other, message) }
    }

    /// `reporter` lost its connection to `lost`: so that the partitions do
    /// not overlap, we leave `lost` too (or `reporter`, if `lost` is us).
    mutating func lostConnection(_ message: Term, reporter: Atom, creation: Term, operation: Int, lost: Atom,
                                 _ ctx: inout GlobalContext) {
        let key = LostKey(reporter: reporter, lost: lost)
        if let seen = lostConnections[key], seen.creation == creation, operation <= seen.operation { return }
        for (other, vsn) in known where other != reporter && vsn >= 7 { ctx.volatileSend(other, message) }
        lostConnections[key] = (creation, operation)
        let remove = lost == ctx.me ? reporter : lost
        guard isPotentiallyKnown(remove) else { return }
        ctx.volatileSend(remove, .tuple([.atom("remove_connection"), .atom(ctx.me)]))
        ctx.log.warning("'global' at node \(ctx.me) requested disconnect from node \(remove) in order to prevent overlapping partitions")
        removing.insert(remove)
        nodeDown(remove, &ctx)
    }

    /// `{remove_connection, Node}`: `Node` asks us to leave it.
    mutating func removeConnection(_ node: Atom, _ ctx: inout GlobalContext) {
        guard isPotentiallyKnown(node) else { return }
        ctx.log.warning("'global' at node \(ctx.me) disconnected node \(node) in order to prevent overlapping partitions")
        removing.insert(node)
        nodeDown(node, &ctx)
        _ = ctx.server.disconnect(node)
    }
}
