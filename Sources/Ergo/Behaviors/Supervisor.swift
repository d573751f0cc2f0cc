/// A supervisor's specification (OTP's `{SupFlags, [ChildSpec]}`): how it
/// restarts its children and which children it starts, in order.
///
/// Started with `process.startSupervisor(spec)` (linked, as
/// `supervisor:start_link`) or `node.startSupervisor(spec)`; it runs as a
/// `GenServer` (`SupervisorServer`) that traps exits.
public struct Supervisor: Sendable {
    public enum Strategy: Sendable, Hashable {
        /// A child that exits is restarted alone.
        case oneForOne
        /// Every child is stopped (reverse start order) and all are restarted.
        case oneForAll
        /// The children started after the one that exited are stopped, then
        /// it and they are restarted in start order.
        case restForOne
        /// One template child (`children[0]`); children are added with
        /// `startChild(sup, arguments:)`, each started by the template's
        /// factory with those arguments. Restarted alone, as `oneForOne`.
        case simpleOneForOne

        var atom: Atom {
            switch self {
            case .oneForOne: return "one_for_one"
            case .oneForAll: return "one_for_all"
            case .restForOne: return "rest_for_one"
            case .simpleOneForOne: return "simple_one_for_one"
            }
        }
    }

    public var strategy: Strategy
    /// More than `intensity` restarts within `period`: the supervisor stops
    /// its children and exits with `shutdown`.
    public var intensity: Int
    public var period: Duration
    public var children: [ChildSpec]

    public init(strategy: Strategy = .oneForOne, intensity: Int = 1, period: Duration = .seconds(5),
                children: [ChildSpec] = []) {
        self.strategy = strategy
        self.intensity = intensity
        self.period = period
        self.children = children
    }
}

/// One child of a supervisor (OTP's child spec map).
public struct ChildSpec: Sendable {
    /// How the child is started. Every factory must spawn the child **linked**
    /// to the supervisor (the `ProcessContext` it gets) and return its pid,
    /// e.g. `{ try await $0.startLink(MyServer()) }`. Throwing
    /// `StartError.ignored` means "not started" (OTP's `ignore`).
    public enum Start: Sendable {
        /// A static child's factory. Under `simpleOneForOne` the extra
        /// arguments are ignored.
        case plain(@Sendable (ProcessContext) async throws -> PID)
        /// A factory that takes the `start_child` extra arguments (for
        /// `simpleOneForOne`); static children get `[]`.
        case withArguments(@Sendable (ProcessContext, Term) async throws -> PID)

        func callAsFunction(_ process: ProcessContext, _ arguments: Term) async throws -> PID {
            switch self {
            case .plain(let f): return try await f(process)
            case .withArguments(let f): return try await f(process, arguments)
            }
        }
    }

    public enum Restart: Sendable, Hashable {
        /// Always restarted.
        case permanent
        /// Restarted only after an abnormal exit (not `normal`, `shutdown`, `{shutdown, _}`).
        case transient
        /// Never restarted.
        case temporary

        var atom: Atom {
            switch self {
            case .permanent: return "permanent"
            case .transient: return "transient"
            case .temporary: return "temporary"
            }
        }
    }

    public enum Shutdown: Sendable, Hashable {
        /// `exit(Child, kill)`.
        case brutalKill
        /// `exit(Child, shutdown)`, then `kill` if it has not exited in time.
        case timeout(Duration)
        /// `exit(Child, shutdown)` and wait as long as it takes.
        case infinity

        var term: Term {
            switch self {
            case .brutalKill: return .atom("brutal_kill")
            case .infinity: return .atom("infinity")
            case .timeout(let d):
                let c = d.components
                return .int(Int(c.seconds) * 1000 + Int(c.attoseconds / 1_000_000_000_000_000))
            }
        }
    }

    public enum ChildType: Sendable, Hashable {
        case worker, supervisor

        var atom: Atom { self == .worker ? "worker" : "supervisor" }
    }

    public var id: Atom
    public var start: Start
    public var restart: Restart
    public var shutdown: Shutdown
    public var type: ChildType
    /// OTP's `modules`: for `which_children` and `get_childspec`; `[dynamic]` by default.
    public var modules: [Atom]

    /// A child started by `start`, which must spawn and link the child.
    /// Defaults as OTP's: permanent, 5 s shutdown for a worker, infinity for
    /// a supervisor.
    public init(id: Atom, restart: Restart = .permanent, shutdown: Shutdown? = nil,
                type: ChildType = .worker, modules: [Atom] = ["dynamic"],
                start: @escaping @Sendable (ProcessContext) async throws -> PID) {
        self.init(id: id, restart: restart, shutdown: shutdown, type: type, modules: modules, start: .plain(start))
    }

    /// A child whose factory takes extra arguments (the template of a
    /// `simpleOneForOne` supervisor).
    public init(id: Atom, restart: Restart = .permanent, shutdown: Shutdown? = nil,
                type: ChildType = .worker, modules: [Atom] = ["dynamic"],
                startWithArguments start: @escaping @Sendable (ProcessContext, Term) async throws -> PID) {
        self.init(id: id, restart: restart, shutdown: shutdown, type: type, modules: modules,
                  start: .withArguments(start))
    }

    public init(id: Atom, restart: Restart, shutdown: Shutdown?, type: ChildType, modules: [Atom], start: Start) {
        self.id = id
        self.start = start
        self.restart = restart
        self.shutdown = shutdown ?? (type == .worker ? .timeout(.seconds(5)) : .infinity)
        self.type = type
        self.modules = modules
    }

    /// A `GenServer` worker started with `startLink(server, options:)`;
    /// `modules` is the server's Swift type name.
    public static func worker<Server: GenServer>(id: Atom, _ server: Server, options: SpawnOptions = SpawnOptions(),
                                                 restart: Restart = .permanent,
                                                 shutdown: Shutdown = .timeout(.seconds(5))) -> ChildSpec {
        ChildSpec(id: id, restart: restart, shutdown: shutdown, type: .worker,
                  modules: [Atom("\(Server.self)")]) { try await $0.startLink(server, options: options) }
    }

    /// A supervisor child started with `startSupervisor(spec, options:)`.
    public static func supervisor(id: Atom, _ spec: Supervisor, options: SpawnOptions = SpawnOptions(),
                                  restart: Restart = .permanent, shutdown: Shutdown = .infinity) -> ChildSpec {
        ChildSpec(id: id, restart: restart, shutdown: shutdown, type: .supervisor,
                  modules: [Atom("\(SupervisorServer.self)")]) { try await $0.startSupervisor(spec, options: options) }
    }

    /// The spec as OTP's map; `start` is an opaque term.
    var term: Term {
        .map(TermMap([
            .init(key: .atom("id"), value: .atom(id)),
            .init(key: .atom("start"), value: .tuple([.atom("$ergo_start"), .atom(id)])),
            .init(key: .atom("restart"), value: .atom(restart.atom)),
            .init(key: .atom("shutdown"), value: shutdown.term),
            .init(key: .atom("type"), value: .atom(type.atom)),
            .init(key: .atom("modules"), value: .list(modules.map(Term.atom))),
        ]))
    }
}

/// Child specs on their way to a supervisor in a `{start_child, Spec}` call:
/// a spec holds a closure, which is not a term, so the call carries
/// `{'$ergo_child_spec', Ref}` and the supervisor takes the spec from here.
enum ChildSpecHandoff {
    private static let specs = Locked<[Ref: ChildSpec]>([:])

    static func put(_ spec: ChildSpec, _ ref: Ref) -> Term {
        specs.withLock { $0[ref] = spec }
        return .tuple([.atom("$ergo_child_spec"), .ref(ref)])
    }

    static func take(_ term: Term) -> ChildSpec? {
        guard case .tuple(let e) = term, e.count == 2, e[0] == .atom("$ergo_child_spec"),
              case .ref(let ref) = e[1] else { return nil }
        return specs.withLock { $0.removeValue(forKey: ref) }
    }

    static func drop(_ ref: Ref) {
        _ = specs.withLock { $0.removeValue(forKey: ref) }
    }
}

/// Why a supervisor call failed (OTP's `{error, Reason}` replies).
public enum SupervisorError: Error, Hashable, Sendable {
    case notFound
    case running
    case restarting
    case alreadyPresent
    case alreadyStarted(PID)
    case simpleOneForOne
    /// The child did not start: its reason.
    case failed(Term)
    /// A reply of an unexpected shape.
    case unexpected(Term)

    init(_ reason: Term) {
        switch reason {
        case .atom("not_found"): self = .notFound
        case .atom("running"): self = .running
        case .atom("restarting"): self = .restarting
        case .atom("already_present"): self = .alreadyPresent
        case .atom("simple_one_for_one"): self = .simpleOneForOne
        case .tuple(let e) where e.count == 2 && e[0] == .atom("already_started"):
            if case .pid(let p) = e[1] { self = .alreadyStarted(p) } else { self = .failed(reason) }
        default: self = .failed(reason)
        }
    }
}

/// One row of `which_children`.
public struct ChildInfo: Sendable, Hashable {
    public enum Status: Sendable, Hashable {
        case running(PID)
        case undefined
        case restarting
    }

    /// Nil (`undefined`) for the children of a `simpleOneForOne` supervisor.
    public var id: Atom?
    public var status: Status
    public var type: ChildSpec.ChildType
    public var modules: [Atom]

    public var pid: PID? { if case .running(let p) = status { return p } else { return nil } }

    init?(term: Term) {
        guard case .tuple(let e) = term, e.count == 4, case .list(let mods) = e[3] else { return nil }
        switch e[0] {
        case .atom(.undefined): id = nil
        case .atom(let a): id = a
        default: return nil
        }
        switch e[1] {
        case .pid(let p): status = .running(p)
        case .atom("restarting"): status = .restarting
        default: status = .undefined
        }
        type = e[2] == .atom("supervisor") ? .supervisor : .worker
        modules = mods.compactMap(\.atomValue)
    }
}

/// `count_children`.
public struct ChildCounts: Sendable, Hashable {
    public var specs = 0, active = 0, supervisors = 0, workers = 0
}

extension ProcessContext {
    /// Starts a supervisor linked to this process (`supervisor:start_link`);
    /// returns once every child has started. A child that fails to start
    /// fails it with `StartError.failed({shutdown, {failed_to_start_child, Id, Reason}})`.
    @discardableResult
    public func startSupervisor(_ spec: Supervisor, options: SpawnOptions = SpawnOptions()) async throws -> PID {
        try await startLink(SupervisorServer(spec), options: options)
    }

    public func whichChildren(_ supervisor: Destination) async throws -> [ChildInfo] {
        let reply = try await call(supervisor, .atom("which_children"), timeout: nil)
        guard case .list(let rows) = reply else { throw SupervisorError.unexpected(reply) }
        return try rows.map { row in
            guard let info = ChildInfo(term: row) else { throw SupervisorError.unexpected(row) }
            return info
        }
    }

    public func countChildren(_ supervisor: Destination) async throws -> ChildCounts {
        let reply = try await call(supervisor, .atom("count_children"), timeout: nil)
        guard case .list(let pairs) = reply else { throw SupervisorError.unexpected(reply) }
        var counts = ChildCounts()
        for pair in pairs {
            guard case .tuple(let e) = pair, e.count == 2, case .atom(let key) = e[0], let n = e[1].intValue else {
                throw SupervisorError.unexpected(reply)
            }
            switch key.name {
            case "specs": counts.specs = n
            case "active": counts.active = n
            case "supervisors": counts.supervisors = n
            case "workers": counts.workers = n
            default: break
            }
        }
        return counts
    }

    /// Adds and starts a child (not `simpleOneForOne`). Nil: it ignored.
    @discardableResult
    public func startChild(_ supervisor: Destination, _ spec: ChildSpec) async throws -> PID? {
        let ref = makeRef()
        defer { ChildSpecHandoff.drop(ref) }
        return try await startChild(supervisor, request: ChildSpecHandoff.put(spec, ref))
    }

    /// Starts a child of a `simpleOneForOne` supervisor with `arguments`.
    @discardableResult
    public func startChild(_ supervisor: Destination, arguments: Term) async throws -> PID? {
        try await startChild(supervisor, request: arguments)
    }

    private func startChild(_ supervisor: Destination, request: Term) async throws -> PID? {
        try Self.pidReply(try await call(supervisor, .tuple([.atom("start_child"), request]), timeout: nil))
    }

    public func terminateChild(_ supervisor: Destination, id: Atom) async throws {
        try Self.okReply(try await call(supervisor, .tuple([.atom("terminate_child"), .atom(id)]), timeout: nil))
    }

    /// Terminates a child of a `simpleOneForOne` supervisor.
    public func terminateChild(_ supervisor: Destination, pid: PID) async throws {
        try Self.okReply(try await call(supervisor, .tuple([.atom("terminate_child"), .pid(pid)]), timeout: nil))
    }

    @discardableResult
    public func restartChild(_ supervisor: Destination, id: Atom) async throws -> PID? {
        try Self.pidReply(try await call(supervisor, .tuple([.atom("restart_child"), .atom(id)]), timeout: nil))
    }

    public func deleteChild(_ supervisor: Destination, id: Atom) async throws {
        try Self.okReply(try await call(supervisor, .tuple([.atom("delete_child"), .atom(id)]), timeout: nil))
    }

    /// `get_childspec`: OTP's map (`start` is opaque).
    public func childSpec(_ supervisor: Destination, id: Atom) async throws -> Term {
        let reply = try await call(supervisor, .tuple([.atom("get_childspec"), .atom(id)]), timeout: nil)
        guard case .tuple(let e) = reply, e.count == 2 else { throw SupervisorError.unexpected(reply) }
        if e[0] == .atom(.ok) { return e[1] }
        throw SupervisorError(e[1])
    }

    static func pidReply(_ reply: Term) throws -> PID? {
        guard case .tuple(let e) = reply, e.count >= 2 else { throw SupervisorError.unexpected(reply) }
        if e[0] == .atom(.error) { throw SupervisorError(e[1]) }
        guard e[0] == .atom(.ok) else { throw SupervisorError.unexpected(reply) }
        if case .pid(let p) = e[1] { return p }
        return nil
    }

    static func okReply(_ reply: Term) throws {
        if reply == .atom(.ok) { return }
        if case .tuple(let e) = reply, e.count == 2, e[0] == .atom(.error) { throw SupervisorError(e[1]) }
        throw SupervisorError.unexpected(reply)
    }
}

extension Node {
    /// Starts a supervisor from outside any process; the node is its parent.
    @discardableResult
    public func startSupervisor(_ spec: Supervisor, options: SpawnOptions = SpawnOptions()) async throws -> PID {
        try await start(SupervisorServer(spec), options: options)
    }

    public func whichChildren(_ supervisor: Destination) async throws -> [ChildInfo] {
        try await withProcess { try await $0.whichChildren(supervisor) }
    }

    public func countChildren(_ supervisor: Destination) async throws -> ChildCounts {
        try await withProcess { try await $0.countChildren(supervisor) }
    }

    @discardableResult
    public func startChild(_ supervisor: Destination, _ spec: ChildSpec) async throws -> PID? {
        try await withProcess { try await $0.startChild(supervisor, spec) }
    }

    @discardableResult
    public func startChild(_ supervisor: Destination, arguments: Term) async throws -> PID? {
        try await withProcess { try await $0.startChild(supervisor, arguments: arguments) }
    }

    public func terminateChild(_ supervisor: Destination, id: Atom) async throws {
        try await withProcess { try await $0.terminateChild(supervisor, id: id) }
    }

    @discardableResult
    public func restartChild(_ supervisor: Destination, id: Atom) async throws -> PID? {
        try await withProcess { try await $0.restartChild(supervisor, id: id) }
    }

    public func deleteChild(_ supervisor: Destination, id: Atom) async throws {
        try await withProcess { try await $0.deleteChild(supervisor, id: id) }
    }
}
