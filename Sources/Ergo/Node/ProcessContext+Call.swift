extension ProcessContext {
    /// Calls a server: sends `{'$gen_call', {Self, [alias | Tag]}, Request}`
    /// and waits for the reply, acting on signals meanwhile.
    ///
    /// As in OTP 24+, the tag is an alias and a monitor of the server: a
    /// server that is dead or unknown fails the call at once (`noproc`), one
    /// that exits before replying fails it with its reason, and after a
    /// timeout the alias is gone, so a late reply is dropped, never queued.
    /// `timeout: nil` waits forever.
    public func call(_ destination: Destination, _ request: Term,
                     timeout: Duration? = .seconds(5)) async throws -> Term {
        if let peer = destination.remoteNode(local: core.node.name), let target = destination.distProcess {
            return try await callRemote(destination, target: target, on: peer, request, timeout: timeout)
        }
        guard let server = core.resolve(destination) else { throw CallError.noproc(destination) }
        if server === core { throw CallError.callingSelf(destination) }
        let ref = core.makeRef()
        // The tag is an alias and a monitor, kept in `pendingCall` rather than
        // in the alias and monitor tables: a process waits on one call at a time.
        core.pendingCall = ref
        let from = From(pid: core.pid, tag: ref, isAlias: true, caller: core)
        guard server.deliver(.call(from, request, monitored: true)) else {
            core.pendingCall = nil
            throw CallError.noproc(destination)
        }
        let outcome: CallOutcome?
        do {
            outcome = try await core.awaitReply(ref, timeout: timeout)
        } catch {
            core.pendingCall = nil
            server.deliver(.demonitor(ref: ref))
            throw error
        }
        core.pendingCall = nil
        switch outcome {
        case .reply(let value, let demonitored)?:
            if !demonitored { server.deliver(.demonitor(ref: ref)) }
            return value
        case .down(let reason)?:
            throw CallError(destination, down: reason)
        case nil:
            server.deliver(.demonitor(ref: ref))
            throw CallError.timeout(destination)
        }
    }

    /// A call to a process on another node, as OTP 24+ makes it: a monitor
    /// whose reference is also the alias the reply goes to (`MONITOR_P`),
    /// then the request (`SEND_SENDER` or `REG_SEND`). The connection
    /// going down fails the call with `exited(destination, noconnection)`.
    private func callRemote(_ destination: Destination, target: DistProcess, on peer: Atom,
                            _ request: Term, timeout: Duration?) async throws -> Term {
        let ref = core.makeRef()
        let object: Term = if case .name(let name) = target { .tuple([.atom(name), .atom(peer)]) } else { destination.term }
        core.pendingCall = ref
        core.node.indexMonitor(ref, on: peer, watcher: core.pid, object: object)
        // The request follows at once: the monitor leaves in the same write.
        core.node.route(.monitor(from: core.pid, to: target, ref: ref), to: peer, lazily: true)
        let message = Term.tuple([.atom(.genCall), From(pid: core.pid, tag: ref).term, request])
        switch target {
        case .pid(let pid): core.node.routeMessage(.send(from: core.pid, to: pid, message: message), to: peer)
        case .name(let name): core.node.routeMessage(.regSend(from: core.pid, to: name, message: message), to: peer)
        }
        let outcome: CallOutcome?
        do {
            outcome = try await core.awaitReply(ref, timeout: timeout)
        } catch {
            core.pendingCall = nil
            core.demonitorRemote(ref, target: destination, on: peer)
            throw error
        }
        core.pendingCall = nil
        switch outcome {
        case .reply(let value, _)?:
            core.demonitorRemote(ref, target: destination, on: peer)
            return value
        case .down(let reason)?:
            throw CallError(destination, down: reason)
        case nil:
            core.demonitorRemote(ref, target: destination, on: peer)
            throw CallError.timeout(destination)
        }
    }

    /// Sends `{'$gen_cast', Request}`; never fails (as `gen_server:cast`).
    public func cast(_ destination: Destination, _ request: Term) {
        core.node.cast(destination, request, sender: core.pid)
    }

    /// Answers a call (`gen_server:reply/2`). From the server itself this
    /// also drops the call's monitor, saving the caller a signal.
    public func reply(to from: From, _ value: Term) {
        guard from.isAlias, from.caller != nil || from.tag.node == core.node.name else {
            // A caller on another node (or a pre-alias tag) drops its monitor itself.
            core.node.reply(to: from, value, sender: core.pid)
            return
        }
        let demonitored = core.monitoredBy.removeValue(forKey: from.tag) != nil
        (from.caller ?? core.node.owner(of: from.tag))?.deliver(.reply(from.tag, value, demonitored: demonitored))
    }
}

enum CallOutcome {
    case reply(Term, demonitored: Bool)
    case down(ExitReason)
}
