import Logging

/// What a process's code uses to act as that process: receive, send, link,
/// monitor, call. It is handed to the process's body. Only the process's own
/// task may use it (like `self()` in Erlang, it means "this process"): it is
/// `Sendable` so that it can be passed to ordinary async helpers, but handing
/// it to another task and receiving there is a programming error.
public struct ProcessContext: @unchecked Sendable {
    let core: ProcessCore

    init(core: ProcessCore) { self.core = core }

    /// This process (Erlang's `self()`).
    public var pid: PID { core.pid }
    public var node: Node { core.node }

    /// The node's logger with this process's `pid` (and name) as metadata.
    public var logger: Logger { core.logger }

    // MARK: receiving

    /// The next message, in arrival order; nil if `timeout` passes first
    /// (wait forever without one).
    public func receive(timeout: Duration? = nil) async throws -> Term? {
        guard let envelope = try await core.next(timeout: timeout) else { return nil }
        core.lastMessage = envelope
        return envelope.term
    }

    /// The next message; waits as long as it takes.
    public func receive() async throws -> Term {
        let envelope = try await core.next(timeout: nil)!
        core.lastMessage = envelope
        return envelope.term
    }

    /// The first message `match` accepts (Erlang's selective receive);
    /// the others stay queued in order. Nil if `timeout` passes first.
    public func receive<T>(timeout: Duration? = nil, matching match: (Term) -> T?) async throws -> T? {
        try await core.next(timeout: timeout) { envelope in
            match(envelope.term).map { value in
                core.lastMessage = envelope
                return value
            }
        }
    }

    /// Messages waiting in the receive queue and the mailbox (approximate).
    public var messageQueueLength: Int {
        core.drain()
        return core.queue.count
    }

    // MARK: sending

    /// Sends a message (`Dest ! Msg`). Only an unregistered local name is an error.
    public func send(to destination: Destination, _ message: Term) throws {
        try core.node.send(to: destination, message, sender: core.pid)
    }

    public func send(to pid: PID, _ message: Term) {
        core.send(to: pid, message)
    }

    /// Sends `message` after `delay`; see `Node.sendAfter`.
    @discardableResult
    public func sendAfter(_ delay: Duration, to destination: Destination, _ message: Term) -> TimerRef {
        core.node.sendAfter(delay, to: destination, message)
    }

    @discardableResult
    public func cancelTimer(_ timer: TimerRef) -> Bool { core.node.cancelTimer(timer) }

    // MARK: trap_exit, links and exit signals

    /// Whether exit signals arrive as `{'EXIT', From, Reason}` messages.
    public var trapExit: Bool {
        get { core.trapExit }
        nonmutating set { core.trapExit = newValue }
    }

    /// Links to `pid`. A dead or unknown process: with `trapExit` an
    /// `{'EXIT', Pid, noproc}` message arrives; without it, this throws
    /// `noproc` (Erlang's `link/1`).
    ///
    /// A pid on another node: `LINK` goes out and `link` returns; a dead
    /// process there answers with an exit signal `noproc`, an unreachable
    /// node with `noconnection` (as `link/1` does for remote pids).
    public func link(_ pid: PID) throws {
        guard pid != core.pid, !core.links.contains(pid) else { return }
        if pid.node != core.node.name { core.linkRemote(pid); return }
        core.links.insert(pid)
        if core.node.deliver(.link(from: core.pid), to: pid) { return }
        core.links.remove(pid)
        if core.trapExit {
            core.deliver(.exit(from: pid, reason: .noproc, viaLink: false))
        } else {
            throw ExitReason.noproc
        }
    }

    /// Removes the link; no exit signal due to it arrives afterwards.
    public func unlink(_ pid: PID) {
        if pid.node != core.node.name { core.unlinkRemote(pid); return }
        guard core.links.remove(pid) != nil else { return }
        core.node.deliver(.unlink(from: core.pid), to: pid)
    }

    /// The processes linked to this one.
    public var links: Set<PID> { core.links }

    /// Sends an exit signal (Erlang's `exit/2`). `.kill` cannot be trapped.
    /// Sent to itself, the signal acts at once: when it ends the process
    /// (`.normal` included, unless trapping exits) this throws.
    public func exit(_ pid: PID, reason: ExitReason) throws {
        let signal = Signal.exit(from: core.pid, reason: reason, viaLink: false)
        if pid.node != core.node.name {
            core.node.routeMessage(.exit2(from: core.pid, to: pid, reason: reason), to: pid.node)
            return
        }
        guard pid == core.pid else { core.node.deliver(signal, to: pid); return }
        core.deliver(signal)
        core.drain()
        if let reason = core.exitReason { throw ProcessStop(reason: reason) }
    }

    // MARK: monitors

    /// Monitors a process; `{'DOWN', Ref, process, Pid, Reason}` arrives when
    /// it exits (at once with `noproc` if it is not alive).
    @discardableResult
    public func monitor(_ pid: PID) -> Ref {
        if pid.node != core.node.name { return core.monitorRemote(.pid(pid), on: pid.node, object: .pid(pid)) }
        return monitor(.pid(pid), name: nil)
    }

    /// Monitors the process registered as `name`; the `'DOWN'` message names
    /// it as `{Name, Node}`.
    @discardableResult
    public func monitor(name: Atom) -> Ref {
        monitor(.name(name), name: name)
    }

    /// Monitors the process registered as `name` on `node` (`{Name, Node}`);
    /// the `'DOWN'` message names it as `{Name, Node}`. For another node
    /// this goes through the router (`noconnection` if it is unreachable).
    @discardableResult
    public func monitor(name: Atom, node: Atom) -> Ref {
        guard node != core.node.name else { return monitor(.name(name), name: name) }
        return core.monitorRemote(.remoteName(name, node: node), on: node,
                                  object: .tuple([.atom(name), .atom(node)]))
    }

    private func monitor(_ target: Destination, name: Atom?) -> Ref {
        let ref = core.makeRef()
        let object: Term = name.map { .tuple([.atom($0), .atom(core.node.name)]) } ?? target.term
        guard let process = core.node.resolve(target) else {
            core.monitors[ref] = target
            core.deliver(.down(ref: ref, object: object, reason: .noproc))
            return ref
        }
        core.monitors[ref] = .pid(process.pid)
        if !process.deliver(.monitor(from: core.pid, ref: ref, name: name)) {
            core.deliver(.down(ref: ref, object: object, reason: .noproc))
        }
        return ref
    }

    /// Removes a monitor; with `flush`, also a `'DOWN'` message for it that
    /// already arrived. Returns false if the monitor was not active.
    @discardableResult
    public func demonitor(_ ref: Ref, flush: Bool = false) -> Bool {
        core.drain()
        guard let target = core.monitors.removeValue(forKey: ref) else {
            if flush { removeDown(ref) }
            return false
        }
        if let peer = target.remoteNode(local: core.node.name) {
            core.demonitorRemote(ref, target: target, on: peer)
        } else {
            core.node.deliver(.demonitor(ref: ref), to: target)
        }
        if flush { removeDown(ref) }
        return true
    }

    private func removeDown(_ ref: Ref) {
        if let index = core.queue.firstIndex(where: {
            if case .down(let r, _, _) = $0 { return r == ref } else { return false }
        }) {
            _ = core.take(at: index)
        }
    }

    // MARK: nodes

    /// `monitor_node(Node, true)`: `{nodedown, Node}` arrives when the
    /// connection to `node` goes down, or at once (after a connection
    /// attempt) if it cannot be made. Each call is one more instance;
    /// `false` removes one. Monitoring this node itself does nothing.
    /// Throws `ProcessError.notAlive` on a node without a router (Erlang's
    /// `notalive` for a node that is not distributed).
    public func monitorNode(_ node: Atom, _ on: Bool = true) throws(ProcessError) {
        guard core.node.router != nil else { throw .notAlive }
        if on { core.watchesNodes = true }
        core.node.monitorNode(node, on, watcher: core.pid)
    }

    /// `net_kernel:monitor_nodes(true|false)`: `{nodeup, Node}` and
    /// `{nodedown, Node}` for every connection that comes or goes.
    public func monitorNodes(_ on: Bool = true) {
        if on { core.watchesNodes = true }
        core.node.monitorNodes(on, subscriber: core.pid)
    }

    // MARK: aliases

    /// Creates an alias: messages sent to it arrive while it is active.
    public func makeAlias() -> Alias {
        let ref = core.makeRef()
        core.aliases.insert(ref)
        return Alias(ref)
    }

    /// Deactivates an alias; later messages to it are dropped. Returns false
    /// if it was not active.
    @discardableResult
    public func deactivate(_ alias: Alias) -> Bool {
        core.aliases.remove(alias.ref) != nil
    }

    /// A fresh reference.
    public func makeRef() -> Ref { core.makeRef() }

    // MARK: names

    public func register(_ name: Atom) throws { try core.node.registry.register(name, core.pid) }
    @discardableResult
    public func unregister(_ name: Atom) -> Bool { core.node.unregister(name) }
    public func whereis(_ name: Atom) -> PID? { core.node.whereis(name) }

    // MARK: spawning

    /// Starts a process; returns its pid at once.
    @discardableResult
    public func spawn(options: SpawnOptions = SpawnOptions(),
                      _ body: @escaping @Sendable (ProcessContext) async throws -> Void) throws -> PID {
        try core.node.spawn(options: options, body)
    }

    /// Starts a process linked to this one (the link exists before it runs).
    @discardableResult
    public func spawnLink(options: SpawnOptions = SpawnOptions(),
                          _ body: @escaping @Sendable (ProcessContext) async throws -> Void) throws -> PID {
        try spawnLinked(behavior: "process", options: options, body)
    }

    func spawnLinked(behavior: String, options: SpawnOptions,
                     _ body: @escaping @Sendable (ProcessContext) async throws -> Void) throws -> PID {
        let child = try core.node.spawnCore(behavior: behavior, options: options, linkTo: core.pid, body)
        core.links.insert(child.pid)
        return child.pid
    }

    /// Starts a process and monitors it.
    public func spawnMonitor(options: SpawnOptions = SpawnOptions(),
                             _ body: @escaping @Sendable (ProcessContext) async throws -> Void) throws -> (PID, Ref) {
        let ref = core.makeRef()
        let child = try core.node.spawnCore(behavior: "process", options: options, linkTo: nil,
                                            monitoredBy: (core.pid, ref), body)
        core.monitors[ref] = .pid(child.pid)
        return (child.pid, ref)
    }
}
