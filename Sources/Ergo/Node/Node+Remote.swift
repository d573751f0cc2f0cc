extension Node {
    // MARK: the router's side

    /// The router to other nodes; nil when the node has no networking.
    public var router: (any RemoteRouter)? { remote.router.withLock { $0 } }

    /// Attaches the network layer's router. Once only: a second call is a
    /// programming error. The router should hold the node weakly (the node
    /// holds the router).
    public func attach(router: any RemoteRouter) {
        remote.router.withLock { slot in
            precondition(slot == nil, "a node's router is attached once")
            slot = router
        }
    }

    /// Lets go of the router when the network layer shuts down (it breaks
    /// the cycle of a router that holds its node).
    func detachRouter() {
        remote.router.withLock { $0 = nil }
    }

    /// The nodes connected now, hidden ones included (Erlang's
    /// `nodes(connected)`).
    public var connectedNodes: [Atom] {
        remote.index.withLock { Array($0.connected) }.sorted { $0.description < $1.description }
    }

    /// The visible nodes connected now (Erlang's `nodes()`).
    public var visibleNodes: [Atom] {
        remote.index.withLock { $0.connected.subtracting($0.hidden) }.sorted { $0.description < $1.description }
    }

    /// The router has a connection to `node`: `{nodeup, Node}` goes to the
    /// `monitorNodes` subscribers, unless the connection is hidden (OTP's
    /// `net_kernel:monitor_nodes(true)` reports visible nodes only).
    public func nodeUp(_ peer: Atom, hidden: Bool = false) {
        let subscribers = remote.index.withLock { index -> Set<PID> in
            guard index.connected.insert(peer).inserted else { return [] }
            if hidden { index.hidden.insert(peer) }
            return hidden ? [] : index.nodeSubscribers
        }
        for pid in subscribers { send(to: pid, .tuple([.atom(.nodeup), .atom(peer)])) }
    }

    /// The connection to `node` is lost, or could not be made. Every local
    /// process linked to a process there gets an exit signal `noconnection`
    /// from it, every monitor of a process there fires with `noconnection`,
    /// monitors held from there are dropped, and `{nodedown, Node}` goes to
    /// the `monitorNode` watchers of that node (and, if it was connected, to
    /// the `monitorNodes` subscribers).
    public func nodeDown(_ peer: Atom, reason: Term = .atom("connection_closed")) {
        let (wasConnected, links, out, incoming, watchers, subscribers) = remote.index.withLock { index in
            let wasConnected = index.connected.remove(peer) != nil
            let wasHidden = index.hidden.remove(peer) != nil
            return (wasConnected,
                    index.links.removeValue(forKey: peer) ?? [],
                    index.monitorsOut.removeValue(forKey: peer) ?? [:],
                    index.monitorsIn.removeValue(forKey: peer) ?? [:],
                    index.nodeMonitors.removeValue(forKey: peer) ?? [:],
                    wasConnected && !wasHidden ? index.nodeSubscribers : [])
        }
        if wasConnected {
            logger.info("node down", metadata: ["peer": "\(peer)", "reason": "\(TermPrinter.print(reason))"])
        }
        for pair in links {
            deliver(.exit(from: pair.remote, reason: .noconnection, viaLink: true), to: pair.local)
        }
        for (ref, monitor) in out {
            deliver(.down(ref: ref, object: monitor.object, reason: .noconnection), to: monitor.watcher)
        }
        for (ref, target) in incoming { deliver(.demonitor(ref: ref), to: target) }
        let nodedown = Term.tuple([.atom(.nodedown), .atom(peer)])
        for (pid, count) in watchers {
            for _ in 0..<count { send(to: pid, nodedown) }
        }
        for pid in subscribers { send(to: pid, nodedown) }
    }

    /// A control message from `peer`, for local processes. Messages to dead
    /// processes or unknown names are dropped (no `badarg` on this side, as
    /// in ERTS); a link or monitor of a dead process is answered at once
    /// with an exit or a `'DOWN'` carrying `noproc`.
    public func deliver(_ control: DistControl, from peer: Atom) {
        switch control {
        case .send(_, let to, let message):
            table.lookup(to)?.deliver(.message(message))
        case .regSend(_, let to, let message):
            registry.whereis(to).flatMap { table.lookup($0) }?.deliver(.message(message))
        case .aliasSend(_, let alias, let message):
            guard let owner = owner(of: alias) else { return }
            // A reply to a call, `{[alias | Tag], Reply}`: the caller waits on
            // the tag without a table entry for it.
            if case .tuple(let e) = message, e.count == 2,
               case .improperList(let head, .ref(let tag)) = e[0], tag == alias, head == [.atom(.alias)] {
                owner.deliver(.reply(alias, e[1], demonitored: false))
            } else {
                owner.deliver(.aliasMessage(alias, message))
            }
        case .link(let from, let to):
            if table.lookup(to)?.deliver(.remoteLink(from: from)) != true {
                route(.exit(from: to, to: from, reason: .noproc), to: peer)
            }
        case .unlinkID(let id, let from, let to):
            if table.lookup(to)?.deliver(.remoteUnlink(from: from, id: id)) != true {
                route(.unlinkIDAck(id: id, from: to, to: from), to: peer)
            }
        case .unlinkIDAck(let id, let from, let to):
            table.lookup(to)?.deliver(.remoteUnlinkAck(from: from, id: id))
        case .exit(let from, let to, let reason):
            table.lookup(to)?.deliver(.exit(from: from, reason: reason, viaLink: true))
        case .exit2(let from, let to, let reason):
            table.lookup(to)?.deliver(.exit(from: from, reason: reason, viaLink: false))
        case .monitor(let from, let target, let ref):
            incomingMonitor(from: from, target: target, ref: ref, peer: peer)
        case .demonitor(_, let target, let ref):
            let known = remote.index.withLock { $0.monitorsIn[peer]?.removeValue(forKey: ref) }
            if let pid = known ?? localProcess(target)?.pid { deliver(.demonitor(ref: ref), to: pid) }
        case .monitorExit(let from, let to, let ref, let reason):
            let known = remote.index.withLock { $0.monitorsOut[peer]?.removeValue(forKey: ref) }
            let object: Term
            switch from {
            case .pid(let pid): object = known?.object ?? .pid(pid)
            case .name(let name): object = known?.object ?? .tuple([.atom(name), .atom(peer)])
            }
            deliver(.down(ref: ref, object: object, reason: reason), to: to)
        case .groupLeader:
            break
        }
    }

    private func localProcess(_ target: DistProcess) -> ProcessCore? {
        switch target {
        case .pid(let pid): return table.lookup(pid)
        case .name(let name): return registry.whereis(name).flatMap { table.lookup($0) }
        }
    }

    private func incomingMonitor(from watcher: PID, target: DistProcess, ref: Ref, peer: Atom) {
        if let process = localProcess(target) {
            remote.index.withLock { $0.monitorsIn[peer, default: [:]][ref] = process.pid }
            var name: Atom?
            if case .name(let registered) = target { name = registered }
            if process.deliver(.monitor(from: watcher, ref: ref, name: name)) { return }
            remote.index.withLock { _ = $0.monitorsIn[peer]?.removeValue(forKey: ref) }
        }
        route(.monitorExit(from: target, to: watcher, ref: ref, reason: .noproc), to: peer)
    }

    // MARK: the processes' side

    /// Sends a control message that a link or monitor depends on. Without a
    /// router the node is unreachable: it goes "down" at once, firing
    /// `noconnection` for what the index holds on it.
    func route(_ control: DistControl, to peer: Atom, lazily: Bool = false) {
        guard let router else {
            nodeDown(peer, reason: .atom("no_router"))
            return
        }
        if lazily { router.sendLazily(control, to: peer) } else { router.send(control, to: peer) }
    }

    /// Sends a message to another node; dropped without a router. `lazily`:
    /// it may wait a moment to leave with the next one (`RemoteRouter.sendLazily`).
    func routeMessage(_ control: DistControl, to peer: Atom, lazily: Bool = false) {
        guard let router else { return }
        if lazily { router.sendLazily(control, to: peer) } else { router.send(control, to: peer) }
    }

    /// Sends `message` to a destination on another node; false if the
    /// destination is local.
    func sendRemote(to destination: Destination, _ message: Term, sender: PID) -> Bool {
        switch destination {
        case .pid(let pid) where pid.node != name:
            routeMessage(.send(from: sender, to: pid, message: message), to: pid.node)
        case .remoteName(let registered, let peer) where peer != name:
            routeMessage(.regSend(from: sender, to: registered, message: message), to: peer)
        case .alias(let alias) where alias.ref.node != name:
            routeMessage(.aliasSend(from: sender, alias: alias.ref, message: message), to: alias.ref.node)
        default:
            return false
        }
        return true
    }

    func indexLink(_ local: PID, _ remotePID: PID) {
        remote.index.withLock { _ = $0.links[remotePID.node, default: []].insert(.init(local: local, remote: remotePID)) }
    }

    func unindexLink(_ local: PID, _ remotePID: PID) {
        remote.index.withLock { _ = $0.links[remotePID.node]?.remove(.init(local: local, remote: remotePID)) }
    }

    func indexMonitor(_ ref: Ref, on peer: Atom, watcher: PID, object: Term) {
        remote.index.withLock { $0.monitorsOut[peer, default: [:]][ref] = .init(watcher: watcher, object: object) }
    }

    func unindexMonitor(_ ref: Ref, on peer: Atom) {
        remote.index.withLock { _ = $0.monitorsOut[peer]?.removeValue(forKey: ref) }
    }

    func unindexWatcher(_ ref: Ref, from peer: Atom) {
        remote.index.withLock { _ = $0.monitorsIn[peer]?.removeValue(forKey: ref) }
    }

    /// `monitor_node(Node, true|false)` for `watcher`.
    func monitorNode(_ peer: Atom, _ on: Bool, watcher: PID) {
        guard peer != name else { return }
        let connected = remote.index.withLock { index -> Bool in
            if on {
                index.nodeMonitors[peer, default: [:]][watcher, default: 0] += 1
            } else if let count = index.nodeMonitors[peer]?[watcher] {
                index.nodeMonitors[peer]?[watcher] = count > 1 ? count - 1 : nil
            }
            return index.connected.contains(peer)
        }
        guard on, !connected else { return }
        router?.connect(to: peer)
    }

    /// `net_kernel:monitor_nodes(Flag)` for `subscriber`.
    func monitorNodes(_ on: Bool, subscriber: PID) {
        remote.index.withLock { index in
            if on { index.nodeSubscribers.insert(subscriber) } else { index.nodeSubscribers.remove(subscriber) }
        }
    }

    /// Drops what an exiting process had asked about nodes.
    func forgetNodeWatcher(_ pid: PID) {
        remote.index.withLock { index in
            index.nodeSubscribers.remove(pid)
            for peer in Array(index.nodeMonitors.keys) { index.nodeMonitors[peer]?.removeValue(forKey: pid) }
        }
    }
}

extension Destination {
    /// The node of a destination on another node than `local`; nil if local.
    func remoteNode(local: Atom) -> Atom? {
        switch self {
        case .pid(let pid): return pid.node == local ? nil : pid.node
        case .remoteName(_, let peer): return peer == local ? nil : peer
        case .alias(let alias): return alias.ref.node == local ? nil : alias.ref.node
        case .name: return nil
        }
    }

    /// The process a monitor or call names on the wire.
    var distProcess: DistProcess? {
        switch self {
        case .pid(let pid): return .pid(pid)
        case .remoteName(let name, _): return .name(name)
        default: return nil
        }
    }
}
