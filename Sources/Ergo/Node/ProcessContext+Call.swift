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
            throw reason == .noproc ? CallError.noproc(destination) : CallError.exited(destination, reason)
        case nil:
            server.deliver(.demonitor(ref: ref))
            throw CallError.timeout(destination)
        }
    }

    /// Sends `{'$gen_cast', Request}`; never fails (as `gen_server:cast`).
    public func cast(_ destination: Destination, _ request: Term) {
        core.node.cast(destination, request)
    }

    /// Answers a call (`gen_server:reply/2`). From the server itself this
    /// also drops the call's monitor, saving the caller a signal.
    public func reply(to from: From, _ value: Term) {
        guard from.isAlias else {
            core.node.send(to: from.pid, .tuple([.ref(from.tag), value]))
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
