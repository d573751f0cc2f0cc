/// Connect sessions and locking (OTP's `global.erl`, "Connection
/// algorithm"): `init_connect`, `init_connect_ack`, `cancel_connect`, and the
/// lockers' `lock_set` dialogue through a lock holder process.
extension GlobalState {
    // MARK: sessions

    /// A visible node came up: start a session with it (`handle_nodeup`).
    mutating func nodeUp(_ node: Atom, _ ctx: GlobalContext) {
        guard node != ctx.me, known[node] == nil, sessions[node] == nil else { return }
        let tag = makeTag()
        sessions[node] = GlobalSession(myTag: tag)
        let locker = Term.tuple([.atom("locker"), .atom("no_longer_a_pid"), .list([]), .pid(ctx.process.pid)])
        ctx.cast(node, .tuple([.atom("init_connect"), .tuple([.int(GlobalNameServer.version), .int(tag)]),
                               .atom(ctx.me), locker]))
        if let early = preConnect.removeValue(forKey: node) {
            initConnect(early.vsn, from: node, early.initMessage, ctx)
        }
    }

    mutating func initConnect(_ vsn: Term, from node: Atom, _ initMessage: Term, _ ctx: GlobalContext) {
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
            restart(node, ctx)
            return
        }
        guard case .tuple(let l) = initMessage, l.count == 4, case .pid(let locker) = l[3] else { return }
        session.his = (hisTag, min(hisVsn, GlobalNameServer.version), locker)
        sessions[node] = session
        ctx.volatileSend(node, .tuple([.atom("init_connect_ack"), .atom(ctx.me), hisTag, .int(session.myTag)]))
        scheduleTry(node, session.myTag, ctx)
    }

    mutating func initConnectAck(from node: Atom, myTag: Term, hisTag: Term, _ ctx: GlobalContext) {
        guard let session = sessions[node] else { return }
        if myTag == .int(session.myTag), let his = session.his, his.tag == hisTag { return }
        // Out of sync: cancel this attempt and start over.
        ctx.volatileSend(node, .tuple([.atom("cancel_connect"), .atom(ctx.me), hisTag]))
        restart(node, ctx)
    }

    mutating func cancelConnect(from node: Atom, tag: Term, _ ctx: GlobalContext) {
        guard let session = sessions[node], tag == .int(session.myTag) else { return }
        restart(node, ctx)
    }

    /// Drops the session with `node` and, if it is still up, starts a new one.
    mutating func restart(_ node: Atom, _ ctx: GlobalContext) {
        endSession(node, ctx)
        if ctx.isConnected(node) { nodeUp(node, ctx) }
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
    func scheduleTry(_ node: Atom, _ tag: Int, _ ctx: GlobalContext) {
        let base = known.isEmpty ? 200 : min(1000 + 100 * known.count, 3000)
        let delay = Duration.milliseconds(base + Int.random(in: 0..<200))
        _ = ctx.process.sendAfter(delay, to: .pid(ctx.process.pid), .tuple([.atom("$global_try"), .atom(node), .int(tag)]))
    }

    mutating func tryLock(_ node: Atom, tag: Int, _ ctx: GlobalContext) {
        guard var session = sessions[node], session.myTag == tag, let his = session.his,
              !session.lockIsSet, session.lock == .idle else { return }
        let id = lockID(with: his.locker, ctx)
        if locks.isGlobalLockSet(except: id.requester) { return scheduleTry(node, tag, ctx) }
        session.lock = startHolder(node, session.myTag, id, extra: [ctx.me, node], ctx)
        sessions[node] = session
    }

    /// The peer's locker reports its lock (`{lock_set, Pid, Bool, Known[, Tag]}`).
    mutating func lockSet(by locker: PID, _ set: Bool, tag: Term?, _ ctx: GlobalContext) {
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
            bothLocked(node, ctx)
        }
    }

    /// Our lock holder has set the lock on our partition, or failed to.
    mutating func holderResult(_ node: Atom, tag: Int, holder: PID, locked: Bool, _ ctx: GlobalContext) {
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
        if session.hisLockSet { bothLocked(node, ctx) }
    }

    mutating func endHolder(_ node: Atom, _ ctx: GlobalContext) {
        guard var session = sessions[node], let holder = session.lock.holder else { return }
        ctx.process.send(to: holder, .tuple([.atom(GlobalLockHolder.releaseTag), .list([])]))
        session.lock = .idle
        session.hisLockSet = false
        sessions[node] = session
    }

    /// `{global, lists:sort([OurLocker, HisLocker])}`, in Erlang's term
    /// order for pids (number, serial, then node name).
    func lockID(with hisLocker: PID, _ ctx: GlobalContext) -> LockID {
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

    func startHolder(_ node: Atom, _ tag: Int, _ id: LockID, extra: [Atom], _ ctx: GlobalContext) -> GlobalSession.LockPhase {
        let order = GlobalLockHolder.lockOrder(me: ctx.me, known: known.keys.sorted(), extra: extra)
        let server = ctx.process.pid
        let lockId = id.term
        guard let pid = try? ctx.process.spawnLink({ process in
            try await GlobalLockHolder.run(process, server: server, peer: node, tag: tag, lockId: lockId, nodes: order)
        }) else { return .idle }
        return .locking(pid)
    }
}
