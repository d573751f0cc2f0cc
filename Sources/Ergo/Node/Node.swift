#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging
import Synchronization

/// An Erlang node: a name, a cookie, and the processes it runs.
///
/// A node works on its own. It reaches other nodes only through a
/// `RemoteRouter` that the network layer attaches (`attach(router:)`);
/// without one, other nodes are unreachable (see docs/processes.md,
/// "Remote processes").
public final class Node: Sendable {
    public let name: Atom
    public let creation: UInt32
    public let cookie: String
    public let logger: Logger
    let scheduler: Scheduler
    let table = ProcessTable()
    let registry = Registry()
    let timers = TimerService()
    let metrics: NodeMetrics
    /// The router to other nodes and what the node knows of them.
    let remote = RemoteTable()
    private let pidCounter = Atomic<UInt64>(0)
    private let refCounter = Atomic<UInt64>(0)
    private let lifecycle = Locked(Lifecycle())
    /// Sender of signals from outside any process (`<0.0.0>`).
    public let systemPID: PID

    private struct Lifecycle {
        /// `stop()` has begun (its hooks run).
        var stopRequested = false
        /// No more spawns: every process is being stopped.
        var stopping = false
        var stopped = false
        var emptyWaiters: [@Sendable () -> Void] = []
        var stopHooks: [@Sendable () async -> Void] = []
        var afterStopHooks: [@Sendable () -> Void] = []
        var stoppedWaiters: [CheckedContinuation<Void, Never>] = []
    }
    /// Per-node state of the layers above the core (the application
    /// controller, later the network), keyed by type.
    private let services = Locked<[ObjectIdentifier: any Sendable]>([:])

    /// Starts a node.
    /// - Parameters:
    ///   - name: `name@host` (default `nonode@nohost`, a node with no network name).
    ///   - cookie: the distribution cookie.
    ///   - schedulers: worker threads (default: one per CPU).
    ///   - logger: the node's logger; processes log through it with `pid` metadata.
    public init(name: String = "nonode@nohost", cookie: String = "", schedulers: Int? = nil,
                logger: Logger? = nil) {
        self.name = Atom(name)
        self.cookie = cookie
        self.creation = UInt32(truncatingIfNeeded: TimerService.now() / 1_000_000) | 1
        var log = logger ?? Logger(label: "ergo")
        log[metadataKey: "node"] = "\(name)"
        self.logger = log
        self.metrics = NodeMetrics(node: name)
        self.scheduler = Scheduler(threads: schedulers ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        self.systemPID = PID(node: Atom(name), id: 0, serial: 0, creation: creation)
        log.info("node started", metadata: ["schedulers": "\(scheduler.workerCount)"])
    }

    // MARK: spawning

    /// Starts a process running `body`; returns its pid at once.
    @discardableResult
    public func spawn(options: SpawnOptions = SpawnOptions(),
                      _ body: @escaping @Sendable (ProcessContext) async throws -> Void) throws(ProcessError) -> PID {
        try spawnCore(behavior: "process", options: options, linkTo: nil, body).pid
    }

    func spawnCore(behavior: String, options: SpawnOptions, linkTo parent: PID?,
                   monitoredBy watcher: (PID, Ref)? = nil,
                   _ body: @escaping @Sendable (ProcessContext) async throws -> Void) throws(ProcessError) -> ProcessCore {
        if lifecycle.withLock({ $0.stopping }) { throw ProcessError.nodeStopped }
        let number = pidCounter.add(1, ordering: .relaxed).newValue
        let pid = PID(node: name, id: UInt32(truncatingIfNeeded: number),
                      serial: UInt32(truncatingIfNeeded: number >> 32), creation: creation)
        let core = ProcessCore(pid: pid, node: self, behavior: behavior, options: options)
        if let parent { core.links.insert(parent) }
        if let (watcher, ref) = watcher { core.monitoredBy[ref] = ProcessCore.Watcher(pid: watcher, name: nil) }
        if let registered = options.name { try registry.register(registered, pid) }
        table.insert(core)
        metrics.processStarted()
        Task(executorPreference: scheduler) { await core.main(body) }
        return core
    }

    func processExited(_ core: ProcessCore, reason: ExitReason, crashed: Bool) {
        metrics.processExited(crashed: crashed)
        if metrics.aliveCount.load(ordering: .acquiring) == 0 {
            let waiters = lifecycle.withLock { state -> [@Sendable () -> Void] in
                defer { state.emptyWaiters.removeAll() }
                return state.emptyWaiters
            }
            for waiter in waiters { waiter() }
        }
    }

    // MARK: routing

    /// The live local process for a destination, if any.
    func resolve(_ destination: Destination) -> ProcessCore? {
        switch destination {
        case .pid(let pid):
            return pid.node == name ? table.lookup(pid) : nil
        case .name(let registered):
            return registry.whereis(registered).flatMap { table.lookup($0) }
        case .remoteName(let registered, let node):
            return node == name ? registry.whereis(registered).flatMap { table.lookup($0) } : nil
        case .alias(let alias):
            return owner(of: alias.ref)
        }
    }

    /// The process a reference made by `ProcessCore.makeRef` belongs to.
    func owner(of ref: Ref) -> ProcessCore? {
        guard ref.node == name, ref.ids.count == 4 else { return nil }
        return table.lookup(key: UInt64(ref.ids[3]) << 32 | UInt64(ref.ids[2]))
    }

    /// Delivers a signal to a local pid; false if it is not alive.
    @discardableResult
    func deliver(_ signal: Signal, to pid: PID) -> Bool {
        table.lookup(pid)?.deliver(signal) ?? false
    }

    @discardableResult
    func deliver(_ signal: Signal, to destination: Destination) -> Bool {
        resolve(destination)?.deliver(signal) ?? false
    }

    /// Sends a message. Only an unregistered local name is an error (Erlang's
    /// `badarg`); a message to a dead pid or an unreachable node is dropped.
    /// To another node it goes through the router, from `systemPID`.
    public func send(to destination: Destination, _ message: Term) throws(ProcessError) {
        try send(to: destination, message, sender: systemPID)
    }

    func send(to destination: Destination, _ message: Term, sender: PID) throws(ProcessError) {
        switch destination {
        case .alias(let alias):
            if let owner = owner(of: alias.ref) {
                owner.deliver(.aliasMessage(alias.ref, message))
            } else {
                _ = sendRemote(to: destination, message, sender: sender)
            }
        case .name(let registered):
            guard let target = resolve(destination) else { throw ProcessError.noproc(.name(registered)) }
            target.deliver(.message(message))
        default:
            if let target = resolve(destination) {
                target.deliver(.message(message))
            } else {
                _ = sendRemote(to: destination, message, sender: sender)
            }
        }
    }

    /// Sends a message to a pid.
    public func send(to pid: PID, _ message: Term) {
        if let target = table.lookup(pid) {
            target.deliver(.message(message))
        } else if pid.node != name {
            routeMessage(.send(from: systemPID, to: pid, message: message), to: pid.node)
        }
    }

    /// Sends `{'$gen_cast', Request}`.
    public func cast(_ destination: Destination, _ request: Term) {
        cast(destination, request, sender: systemPID)
    }

    func cast(_ destination: Destination, _ request: Term, sender: PID) {
        if let target = resolve(destination) {
            target.deliver(.cast(request))
        } else {
            _ = sendRemote(to: destination, .tuple([.atom(.genCast), request]), sender: sender)
        }
    }

    /// Answers a call, from anywhere (OTP's `gen_server:reply/2`).
    public func reply(to from: From, _ value: Term) {
        reply(to: from, value, sender: systemPID)
    }

    func reply(to from: From, _ value: Term, sender: PID) {
        if from.isAlias {
            if from.caller == nil, from.tag.node != name {
                // OTP's `Alias ! {[alias | Tag], Reply}`.
                let message = Term.tuple([From.tagTerm(from.tag), value])
                routeMessage(.aliasSend(from: sender, alias: from.tag, message: message), to: from.tag.node)
                return
            }
            (from.caller ?? owner(of: from.tag))?.deliver(.reply(from.tag, value, demonitored: false))
        } else {
            _ = try? send(to: .pid(from.pid), .tuple([.ref(from.tag), value]), sender: sender)
        }
    }

    /// Sends an exit signal to a process from outside any process (the
    /// sender is `systemPID`).
    public func exit(_ pid: PID, reason: ExitReason) {
        if pid.node != name {
            routeMessage(.exit2(from: systemPID, to: pid, reason: reason), to: pid.node)
            return
        }
        deliver(.exit(from: systemPID, reason: reason, viaLink: false), to: pid)
    }


    /// Sends `message` to `destination` after `delay` (dropped if the
    /// destination is gone by then; cancelled if a target pid exits).
    @discardableResult
    public func sendAfter(_ delay: Duration, to destination: Destination, _ message: Term) -> TimerRef {
        var owner: UInt64 = 0
        if case .pid(let pid) = destination, pid.node == name { owner = ProcessTable.key(pid) }
        let id = timers.schedule(after: delay, owner: owner) { [self] in try? self.send(to: destination, message) }
        // A target that already exited cancelled its timers before this one
        // was armed: cancel it here. (One that exits later cancels it itself.)
        if case .pid(let pid) = destination, owner != 0, table.lookup(pid) == nil { timers.cancel(id) }
        return TimerRef(id: id)
    }

    /// Cancels a `sendAfter` timer; false if it already fired or was cancelled.
    @discardableResult
    public func cancelTimer(_ timer: TimerRef) -> Bool { timers.cancel(timer.id) }

    // MARK: names

    public func register(_ name: Atom, _ pid: PID) throws(ProcessError) {
        guard table.lookup(pid) != nil else { throw ProcessError.noproc(.pid(pid)) }
        try registry.register(name, pid)
        // A process that exited meanwhile must not keep the name.
        if table.lookup(pid) == nil { registry.remove(pid); throw ProcessError.noproc(.pid(pid)) }
    }

    @discardableResult
    public func unregister(_ name: Atom) -> Bool { registry.unregister(name) }
    public func whereis(_ name: Atom) -> PID? { registry.whereis(name) }
    public var registered: [Atom] { registry.registered }

    // MARK: introspection

    /// The pids of the live processes, oldest first.
    public var processes: [PID] {
        table.all.map(\.pid).sorted { ($0.serial, $0.id) < ($1.serial, $1.id) }
    }

    public var processCount: Int { metrics.aliveCount.load(ordering: .relaxed) }

    public func isAlive(_ pid: PID) -> Bool { table.lookup(pid) != nil }

    /// A fresh reference (not tied to a process).
    public func makeRef() -> Ref {
        let n = refCounter.add(1, ordering: .relaxed).newValue
        return Ref(node: name, creation: creation,
                   ids: [UInt32(truncatingIfNeeded: n), UInt32(truncatingIfNeeded: n >> 32), 0])
    }

    // MARK: stopping

    /// Stops the node: sends `shutdown` exit signals to every process,
    /// newest first, waits up to `timeout` for them to exit, kills the rest,
    /// then stops the schedulers. Returns false if some process had to be killed.
    @discardableResult
    public func stop(timeout: Duration = .seconds(5)) async -> Bool {
        let first = lifecycle.withLock { state -> Bool in
            defer { state.stopRequested = true }
            return !state.stopRequested
        }
        guard first else { await waitUntilEmpty(); return true }
        logger.info("node stopping", metadata: ["processes": "\(processCount)"])
        // The hooks may still spawn (to stop applications in order).
        let hooks = lifecycle.withLock { $0.stopHooks }
        for hook in hooks.reversed() { await hook() }
        lifecycle.withLock { $0.stopping = true }
        for pid in processes.reversed() { exit(pid, reason: .shutdown) }
        var clean = await waitUntilEmpty(timeout: timeout)
        if !clean {
            logger.warning("processes did not stop in time; killing them", metadata: ["processes": "\(processCount)"])
            for pid in processes { exit(pid, reason: .kill) }
            clean = false
            _ = await waitUntilEmpty(timeout: timeout)
        }
        for hook in lifecycle.withLock({ $0.afterStopHooks }).reversed() { hook() }
        // Hooks capture what they stop; let go of them.
        lifecycle.withLock { state in
            state.stopHooks.removeAll()
            state.afterStopHooks.removeAll()
        }
        timers.shutdown()
        let scheduler = self.scheduler
        // The schedulers' threads cannot be joined from one of them.
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            OSThread.detach { scheduler.shutdown(); done.resume() }
        }
        let waiters = lifecycle.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.stopped = true
            defer { state.stoppedWaiters.removeAll() }
            return state.stoppedWaiters
        }
        logger.info("node stopped")
        for waiter in waiters { waiter.resume() }
        return clean
    }

    /// Whether `stop()` has finished.
    public var isStopped: Bool { lifecycle.withLock { $0.stopped } }

    /// Returns once the node has stopped (by `stop()`, from anywhere: a
    /// permanent application ending stops its node).
    public func waitUntilStopped() async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let now = lifecycle.withLock { state -> Bool in
                if state.stopped { return true }
                state.stoppedWaiters.append(waiter)
                return false
            }
            if now { waiter.resume() }
        }
    }

    /// Runs `hook` when `stop()` begins, before any process is signalled.
    /// Hooks run one after another, the last added first.
    func addStopHook(_ hook: @escaping @Sendable () async -> Void) {
        lifecycle.withLock { $0.stopHooks.append(hook) }
    }

    /// Runs `hook` in `stop()` once every process has exited (the network
    /// closes there, so processes can still talk while they stop).
    func addAfterStopHook(_ hook: @escaping @Sendable () -> Void) {
        lifecycle.withLock { $0.afterStopHooks.append(hook) }
    }

    /// The node's one instance of a service type, made by `create` on first use.
    func service<Service: Sendable>(_ type: Service.Type, create: () -> Service) -> Service {
        services.withLock { table in
            let key = ObjectIdentifier(type)
            if let existing = table[key] as? Service { return existing }
            let made = create()
            table[key] = made
            return made
        }
    }

    private func waitUntilEmpty() async {
        if processCount == 0 { return }
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            whenEmpty { waiter.resume() }
        }
    }

    /// Runs `action` once no process is left: now, or on the thread of the
    /// last process to exit.
    private func whenEmpty(_ action: @escaping @Sendable () -> Void) {
        let ready = lifecycle.withLock { state -> Bool in
            if metrics.aliveCount.load(ordering: .acquiring) == 0 { return true }
            state.emptyWaiters.append(action)
            return false
        }
        if ready { action() }
    }

    /// Waits until no process is left; false if `timeout` passed first.
    private func waitUntilEmpty(timeout: Duration) async -> Bool {
        let result = Locked<CheckedContinuation<Bool, Never>?>(nil)
        return await withCheckedContinuation { (done: CheckedContinuation<Bool, Never>) in
            result.withLock { $0 = done }
            let timer = timers.schedule(after: timeout) {
                result.withLock { $0.take() }?.resume(returning: false)
            }
            // Not through a task: a busy global executor must not make the
            // timeout win when every process is already gone.
            whenEmpty {
                self.timers.cancel(timer)
                result.withLock { $0.take() }?.resume(returning: true)
            }
        }
    }
}

/// A timer started by `sendAfter`.
public struct TimerRef: Hashable, Sendable {
    let id: UInt64
}

