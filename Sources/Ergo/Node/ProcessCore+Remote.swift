/// A process's links and monitors that cross to other nodes. The state is
/// the process's own (`links`, `unlinking`, `monitors`, `monitoredBy`); the
/// node's index is kept beside it so that a lost connection finds the
/// processes concerned.
///
/// Links follow the new link protocol (OTP 23+, erl_dist_protocol "Link
/// Protocol"): `unlink` removes the link at once and sends `UNLINK_ID`; until
/// its `UNLINK_ID_ACK` comes back the link is inactive, so a `LINK` crossing
/// it is ignored and a link exit from the peer is ignored.
extension ProcessCore {
    /// `link/1` to a remote pid: records it and sends `LINK`. A dead target
    /// answers with an exit signal `noproc`; an unreachable node with
    /// `noconnection`.
    func linkRemote(_ target: PID) {
        guard !links.contains(target) else { return }
        links.insert(target)
        unlinking.removeValue(forKey: target)
        node.indexLink(pid, target)
        node.route(.link(from: pid, to: target), to: target.node)
    }

    /// `unlink/1` of a remote pid: inactive at once, `UNLINK_ID` sent.
    func unlinkRemote(_ target: PID) {
        guard links.remove(target) != nil else { return }
        // The reference counter serves as the id: unique among this
        // process's unlinks, never 0.
        refCounter &+= 1
        let id = refCounter
        unlinking[target] = id
        node.routeMessage(.unlinkID(id: id, from: pid, to: target), to: target.node)
    }

    /// An incoming `LINK`: ignored when a link (active or being unlinked)
    /// already exists.
    func remoteLinked(from: PID) {
        guard !links.contains(from), unlinking[from] == nil else { return }
        links.insert(from)
        node.indexLink(pid, from)
    }

    /// An incoming `UNLINK_ID`: removes an active link, leaves an inactive
    /// one, and is acknowledged before anything else goes to its sender.
    func remoteUnlinked(from: PID, id: UInt64) {
        if links.remove(from) != nil { node.unindexLink(pid, from) }
        node.routeMessage(.unlinkIDAck(id: id, from: pid, to: from), to: from.node)
    }

    /// An incoming `UNLINK_ID_ACK`: ends the unlinking it answers.
    func unlinkAcknowledged(by from: PID, id: UInt64) {
        guard unlinking[from] == id else { return }
        unlinking[from] = nil
        if !links.contains(from) { node.unindexLink(pid, from) }
    }

    /// A link exit from a remote pid: forgets the link; true when it was active.
    func dropRemoteLink(_ from: PID) -> Bool {
        let active = links.remove(from) != nil
        let wasUnlinking = unlinking.removeValue(forKey: from) != nil
        if active || wasUnlinking { node.unindexLink(pid, from) }
        return active
    }

    /// Monitors a remote process or `{Name, Node}`: `MONITOR_P` goes out and
    /// `'DOWN'` comes back as `MONITOR_P_EXIT` (or `noconnection`).
    func monitorRemote(_ target: Destination, on peer: Atom, object: Term) -> Ref {
        let ref = makeRef()
        monitors[ref] = target
        node.indexMonitor(ref, on: peer, watcher: pid, object: object)
        node.route(.monitor(from: pid, to: target.distProcess!, ref: ref), to: peer)
        return ref
    }

    /// Sends `DEMONITOR_P` for a monitor already removed from `monitors`.
    /// Nothing waits for it, so it goes lazily: in order, but with the next
    /// message to that node when one follows soon (after a remote call, the
    /// next call), not as a write and a wake-up of its own.
    func demonitorRemote(_ ref: Ref, target: Destination, on peer: Atom) {
        node.unindexMonitor(ref, on: peer)
        node.routeMessage(.demonitor(from: pid, to: target.distProcess!, ref: ref), to: peer, lazily: true)
    }

    /// At exit: the link exits, `DEMONITOR_P`s and `MONITOR_P_EXIT`s for
    /// the remote side, in this order (as the local ones); the index entries
    /// go. Called from `finish`, which skips remote entries itself.
    func finishRemote(_ reason: ExitReason) {
        for (ref, target) in monitors {
            if let peer = target.remoteNode(local: node.name) { demonitorRemote(ref, target: target, on: peer) }
        }
        for linked in links where linked.node != node.name {
            node.routeMessage(.exit(from: pid, to: linked, reason: reason), to: linked.node)
            node.unindexLink(pid, linked)
        }
        for linked in unlinking.keys { node.unindexLink(pid, linked) }
        unlinking.removeAll()
        for (ref, watcher) in monitoredBy where watcher.pid.node != node.name {
            let object: DistProcess = watcher.name.map { .name($0) } ?? .pid(pid)
            node.unindexWatcher(ref, from: watcher.pid.node)
            node.routeMessage(.monitorExit(from: object, to: watcher.pid, ref: ref, reason: reason), to: watcher.pid.node)
        }
        if watchesNodes { node.forgetNodeWatcher(pid) }
    }
}
