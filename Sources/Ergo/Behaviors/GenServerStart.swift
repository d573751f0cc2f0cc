extension Node {
    /// Starts a server and waits until its `initialize` has run (OTP's
    /// `gen_server:start`). Throws `StartError` if it ignored or failed.
    @discardableResult
    public func start<Server: GenServer>(_ server: Server, options: SpawnOptions = SpawnOptions()) async throws -> PID {
        let waiter = StartWaiter()
        // The node is the parent: a server that traps exits runs `terminate`
        // when the node stops it.
        let parent = systemPID
        let core = try spawnCore(behavior: "gen_server:\(Server.self)", options: options, linkTo: nil) { process in
            try await GenServerLoop(server: server, process: process, parent: parent).run(ack: waiter.resume)
        }
        try await waiter.result()
        return core.pid
    }

    /// Calls a process from outside any process (Ergo's `Direct`): a
    /// temporary process makes the call and ends.
    public func call(_ destination: Destination, _ request: Term,
                     timeout: Duration? = .seconds(5)) async throws -> Term {
        try await withProcess { process in try await process.call(destination, request, timeout: timeout) }
    }

    /// Runs `body` as a temporary process (a one-off exchange with other
    /// processes: send, receive, call) and returns what it returns.
    public func withProcess<T: Sendable>(options: SpawnOptions = SpawnOptions(),
                                         _ body: @escaping @Sendable (ProcessContext) async throws -> T) async throws -> T {
        let result = Locked<Result<T, any Error>?>(nil)
        let done = StartWaiter()
        try spawn(options: options) { process in
            do {
                let value = try await body(process)
                result.withLock { $0 = .success(value) }
                done.resume(.started)
            } catch {
                result.withLock { $0 = .failure(error) }
                done.resume(.started)
                // The caller gets the error; no crash report for it.
                throw ReportedExit(ExitReason(error: error))
            }
        }
        try await done.result()
        return try result.withLock { $0! }.get()
    }
}

extension ProcessContext {
    /// Starts a server linked to this process and waits for its
    /// `initialize` (`gen_server:start_link`). On failure it throws
    /// `StartError`, and the child's `'EXIT'` message is not left behind.
    @discardableResult
    public func startLink<Server: GenServer>(_ server: Server, options: SpawnOptions = SpawnOptions()) async throws -> PID {
        try await start(server, options: options, link: true)
    }

    /// Starts a server (not linked) and waits for its `initialize`.
    @discardableResult
    public func start<Server: GenServer>(_ server: Server, options: SpawnOptions = SpawnOptions()) async throws -> PID {
        try await start(server, options: options, link: false)
    }

    private func start<Server: GenServer>(_ server: Server, options: SpawnOptions, link: Bool) async throws -> PID {
        let me = pid
        let node = self.node
        let parent: PID? = link ? me : nil
        let body: @Sendable (ProcessContext) async throws -> Void = { process in
            let pid = process.pid
            try await GenServerLoop(server: server, process: process, parent: parent).run { ack in
                node.deliver(.message(.tuple([.atom("ack"), .pid(pid), ack.term])), to: me)
            }
        }
        let behavior = "gen_server:\(Server.self)"
        let child = link
            ? try spawnLinked(behavior: behavior, options: options, body)
            : try core.node.spawnCore(behavior: behavior, options: options, linkTo: nil, body).pid
        let ack = try await receive { message -> StartAck? in
            guard case .tuple(let e) = message else { return nil }
            if e.count == 3, e[0] == .atom("ack"), e[1] == .pid(child) { return StartAck(term: e[2]) }
            return nil
        }!
        switch ack {
        case .started:
            return child
        case .ignored:
            if link { await discardExit(of: child) }
            throw StartError.ignored
        case .failed(let reason):
            if link { await discardExit(of: child) }
            throw StartError.failed(reason)
        }
    }

    /// After a linked child failed to start or ignored: drop its `'EXIT'`
    /// message (when trapping exits) so the starter does not see the failure
    /// twice (OTP 26+ `proc_lib:start_link`).
    private func discardExit(of child: PID) async {
        guard trapExit else { return }
        _ = try? await receiveExit(from: child, timeout: .seconds(5))
    }
}

/// A one-shot wait for a start acknowledgement from outside any process.
final class StartWaiter: Sendable {
    private let state = Locked<(ack: StartAck?, waiter: CheckedContinuation<StartAck, Never>?)>((nil, nil))

    @Sendable func resume(_ ack: StartAck) {
        let waiter = state.withLock { s -> CheckedContinuation<StartAck, Never>? in
            guard s.ack == nil else { return nil }
            s.ack = ack
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(returning: ack)
    }

    func result() async throws {
        let ack = await withCheckedContinuation { (c: CheckedContinuation<StartAck, Never>) in
            let ready = state.withLock { s -> StartAck? in
                if let ack = s.ack { return ack }
                s.waiter = c
                return nil
            }
            if let ready { c.resume(returning: ready) }
        }
        switch ack {
        case .started: return
        case .ignored: throw StartError.ignored
        case .failed(let reason): throw StartError.failed(reason)
        }
    }
}
