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
        guard let server = core.node.resolve(destination) else { throw CallError.noproc(destination) }
        let ref = core.makeRef()
        core.aliases.insert(ref)
        core.monitors[ref] = .pid(server.pid)
        guard server.deliver(.call(From(pid: core.pid, tag: ref), request, monitored: true)) else {
            core.aliases.remove(ref)
            core.monitors.removeValue(forKey: ref)
            throw CallError.noproc(destination)
        }
        let outcome: CallOutcome?
        do {
            outcome = try await core.next(timeout: timeout) { envelope -> CallOutcome? in
                switch envelope {
                case .reply(let tag, let value, let demonitored) where tag == ref:
                    return .reply(value, demonitored: demonitored)
                case .down(let tag, _, let reason) where tag == ref:
                    return .down(reason)
                default:
                    return nil
                }
            }
        } catch {
            core.aliases.remove(ref)
            throw error
        }
        core.aliases.remove(ref)
        switch outcome {
        case .reply(let value, let demonitored)?:
            core.monitors.removeValue(forKey: ref)
            if !demonitored { server.deliver(.demonitor(ref: ref)) }
            return value
        case .down(let reason)?:
            throw reason == .noproc ? CallError.noproc(destination) : CallError.exited(destination, reason)
        case nil:
            core.monitors.removeValue(forKey: ref)
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
        let demonitored = core.monitoredBy[from.tag]?.pid == from.pid
            && core.monitoredBy.removeValue(forKey: from.tag) != nil
        core.node.owner(of: from.tag)?.deliver(.reply(from.tag, value, demonitored: demonitored))
    }
}

private enum CallOutcome {
    case reply(Term, demonitored: Bool)
    case down(ExitReason)
}
