/// Routes the messages `global_name_server` gets from other nodes' servers
/// and lockers, and from its own helpers, to the protocol steps.
extension GlobalState {
    // MARK: dispatch

    mutating func cast(_ request: Term, _ ctx: GlobalContext) {
        guard case .tuple(let e) = request, !e.isEmpty, case .atom(let tag) = e[0] else {
            return unexpected("cast", request, ctx)
        }
        switch (tag.name, e.count) {
        case ("init_connect", 4):
            guard case .atom(let node) = e[2] else { return }
            initConnect(e[1], from: node, e[3], ctx)
        case ("lock_set", 4), ("lock_set", 5):
            guard case .pid(let locker) = e[1], case .atom(let set) = e[2] else { return }
            lockSet(by: locker, set == .true, tag: e.count == 5 ? e[4] : nil, ctx)
        case ("exchange", 5):
            guard case .atom(let node) = e[1] else { return }
            exchange(from: node, names: e[2], tag: e[4], ctx)
        case ("resolved", 7):
            guard case .atom(let node) = e[1], case .list(let ops) = e[2], case .list(let his) = e[3] else { return }
            resolved(from: node, ops: ops, known: his, namesExt: e[5], tag: e[6], ctx)
        case ("new_nodes", 6):
            guard case .atom(let node) = e[1], case .list(let ops) = e[2], case .list(let nodes) = e[4] else { return }
            newNodes(from: node, ops: ops, nodes: nodes, ctx)
        case ("in_sync", 3):
            guard case .atom(let node) = e[1] else { return }
            inSync(node, ctx)
        case ("async_del_name", 3), ("async_del_lock", 3):
            return  // pre-R14 messages; 'DOWN' does the work
        default:
            unexpected("cast", request, ctx)
        }
    }

    mutating func info(_ message: Term, _ ctx: GlobalContext) {
        guard case .tuple(let e) = message, !e.isEmpty, case .atom(let tag) = e[0] else {
            return unexpected("message", message, ctx)
        }
        switch (tag, e.count) {
        case (.nodeup, 2):
            if case .atom(let node) = e[1] { nodeUp(node, ctx) }
        case (.nodedown, 2):
            if case .atom(let node) = e[1] { nodeDown(node, ctx) }
        case (.down, 5):
            if case .ref(let ref) = e[1] { down(ref) }
        case (.exitTag, 3):
            return  // a lock holder, linked to us, ended
        case ("lock_set", 4), ("lock_set", 5):
            // Straight to us as a locker (a peer without a session answers so).
            cast(message, ctx)
        case ("init_connect_ack", 4):
            guard case .atom(let node) = e[1] else { return }
            initConnectAck(from: node, myTag: e[2], hisTag: e[3], ctx)
        case ("cancel_connect", 3):
            guard case .atom(let node) = e[1] else { return }
            cancelConnect(from: node, tag: e[2], ctx)
        case (GlobalLockHolder.resultTag, 5):
            guard case .atom(let node) = e[1], case .int(let tag) = e[2], case .pid(let holder) = e[3] else { return }
            holderResult(node, tag: tag, holder: holder, locked: e[4] == .atom(.true), ctx)
        case ("$global_try", 3):
            guard case .atom(let node) = e[1], case .int(let tag) = e[2] else { return }
            tryLock(node, tag: tag, ctx)
        case ("extra_nodedown", 2):
            guard case .atom(let node) = e[1] else { return }
            ctx.log.warning("global failed to connect", metadata: ["peer": "\(node)"])
            notifySyncers([node], ctx.process)
            nodeDown(node, ctx)
        case ("lost_connection", 5):
            guard case .atom(let reporter) = e[1], case .int(let op) = e[3], case .atom(let lost) = e[4] else { return }
            lostConnection(message, reporter: reporter, creation: e[2], operation: op, lost: lost, ctx)
        case ("remove_connection", 2):
            guard case .atom(let node) = e[1] else { return }
            removeConnection(node, ctx)
        default:
            unexpected("message", message, ctx)
        }
    }

    func unexpected(_ kind: String, _ term: Term, _ ctx: GlobalContext) {
        ctx.log.warning("global_name_server received an unexpected \(kind)",
                        metadata: ["message": "\(TermPrinter.print(term))"])
    }
}
