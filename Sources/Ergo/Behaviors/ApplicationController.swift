import Logging

/// A node's applications (OTP's `application_controller`): which are
/// loaded, which run, their environment, and what an ending one does to the
/// node. One per node, made on first use; reached through `Node`'s
/// application methods.
final class ApplicationController: Sendable {
    private struct Loaded {
        var spec: Application
        var env: [Atom: Term]
    }

    private struct Running {
        var master: PID
        var type: Application.RestartType
        /// Being stopped by `stop` (or by the node): its end is not a failure.
        var stopping = false
    }

    private struct State {
        var loaded: [Atom: Loaded] = [:]
        var running: [Atom: Running] = [:]
        /// Running applications, in start order.
        var order: [Atom] = []
        /// Applications whose start is under way.
        var starting: Set<Atom> = []
        var nodeStopping = false
    }

    private let state = Locked(State())

    // MARK: loading and environment

    func load(_ spec: Application) throws(ApplicationError) {
        try state.withLock { (s: inout State) throws(ApplicationError) in
            if s.loaded[spec.name] != nil { throw .alreadyLoaded(spec.name) }
            s.loaded[spec.name] = Loaded(spec: spec, env: spec.environment)
        }
    }

    func unload(_ name: Atom) throws(ApplicationError) {
        try state.withLock { (s: inout State) throws(ApplicationError) in
            if s.running[name] != nil || s.starting.contains(name) { throw .running(name) }
            if s.loaded.removeValue(forKey: name) == nil { throw .notLoaded(name) }
        }
    }

    var loaded: [Application] {
        state.withLock { s in s.loaded.values.map(\.spec).sorted { $0.name.name < $1.name.name } }
    }

    func isLoaded(_ name: Atom) -> Bool { state.withLock { $0.loaded[name] != nil } }

    func env(_ app: Atom, _ key: Atom) -> Term? {
        state.withLock { $0.loaded[app]?.env[key] }
    }

    func allEnv(_ app: Atom) -> [Atom: Term] {
        state.withLock { $0.loaded[app]?.env ?? [:] }
    }

    func setEnv(_ app: Atom, _ key: Atom, _ value: Term?) throws(ApplicationError) {
        try state.withLock { (s: inout State) throws(ApplicationError) in
            guard s.loaded[app] != nil else { throw .notLoaded(app) }
            s.loaded[app]?.env[key] = value
        }
    }

    /// Running applications, the most recently started first (as OTP lists them).
    var running: [RunningApplication] {
        state.withLock { s in
            s.order.reversed().compactMap { name in
                guard let spec = s.loaded[name]?.spec, let run = s.running[name] else { return nil }
                return RunningApplication(name: name, description: spec.description, version: spec.version,
                                          type: run.type)
            }
        }
    }

    // MARK: starting

    /// Starts `name` after the dependencies that are not running yet, each
    /// with `type`.
    func start(_ name: Atom, type: Application.RestartType, node: Node) async throws(ApplicationError) {
        let plan = try state.withLock { (s: inout State) throws(ApplicationError) -> [Application] in
            if s.nodeStopping { throw .nodeStopping }
            if s.running[name] != nil || s.starting.contains(name) { throw .alreadyStarted(name) }
            return try Self.startOrder(name, in: s).filter { s.running[$0.name] == nil }
        }
        for spec in plan {
            try await startOne(spec, type: type, node: node)
        }
    }

    /// `name` and its dependencies, dependencies first; a missing one or a
    /// cycle is an error.
    private static func startOrder(_ name: Atom, in s: State) throws(ApplicationError) -> [Application] {
        guard s.loaded[name] != nil else { throw .notLoaded(name) }
        var order: [Application] = []
        var done = Set<Atom>()
        var path: [Atom] = []
        func visit(_ app: Atom) throws(ApplicationError) {
            if done.contains(app) { return }
            if let at = path.firstIndex(of: app) { throw .circularDependency(Array(path[at...]) + [app]) }
            guard let spec = s.loaded[app]?.spec else { throw .notLoaded(app) }
            path.append(app)
            for dependency in spec.dependencies {
                guard s.loaded[dependency] != nil else {
                    throw .missingDependency(application: app, dependency: dependency)
                }
                try visit(dependency)
            }
            path.removeLast()
            done.insert(app)
            order.append(spec)
        }
        try visit(name)
        return order
    }

    private func startOne(_ spec: Application, type: Application.RestartType, node: Node) async throws(ApplicationError) {
        try state.withLock { (s: inout State) throws(ApplicationError) in
            if s.nodeStopping { throw .nodeStopping }
            if s.running[spec.name] != nil || s.starting.contains(spec.name) { throw .alreadyStarted(spec.name) }
            s.starting.insert(spec.name)
        }
        let master: PID
        do {
            master = try await node.start(ApplicationMaster(spec: spec, controller: self))
        } catch {
            _ = state.withLock { $0.starting.remove(spec.name) }
            let reason: ExitReason
            switch error {
            case StartError.failed(let r): reason = r
            case StartError.ignored: reason = .other(.atom("ignore"))
            default: reason = ExitReason(error: error)
            }
            node.logger.error("application failed to start", metadata: [
                "application": "\(spec.name)", "reason": "\(reason)",
            ])
            throw .startFailed(spec.name, reason)
        }
        state.withLock { s in
            s.starting.remove(spec.name)
            s.running[spec.name] = Running(master: master, type: type)
            s.order.append(spec.name)
        }
        node.logger.info("application started", metadata: [
            "application": "\(spec.name)", "type": "\(type)",
        ])
    }

    /// The master of a running application.
    func master(of name: Atom) -> PID? { state.withLock { $0.running[name]?.master } }

    /// Set once the node is stopping (by `stop()`, or because an application ended).
    var isNodeStopping: Bool { state.withLock { $0.nodeStopping } }

    // MARK: stopping

    /// Stops a running application and waits until it has stopped.
    func stop(_ name: Atom, node: Node) async throws(ApplicationError) {
        let master = try state.withLock { (s: inout State) throws(ApplicationError) -> PID in
            guard let run = s.running[name] else { throw .notStarted(name) }
            s.running[name]?.stopping = true
            return run.master
        }
        await Self.stopMaster(master, node: node)
    }

    /// The node is stopping: no more starts; every application stops, the
    /// last started first.
    func stopAll(node: Node) async {
        let names = state.withLock { s -> [Atom] in
            s.nodeStopping = true
            return s.order.reversed()
        }
        for name in names {
            try? await stop(name, node: node)
        }
    }

    /// A shutdown from the master's parent (the node) makes it stop its
    /// supervisor and run `terminate`; this waits for its end.
    private static func stopMaster(_ master: PID, node: Node) async {
        _ = try? await node.withProcess { process in
            let ref = process.monitor(master)
            node.exit(master, reason: .shutdown)
            _ = try await process.receiveDown(ref, timeout: nil)
        }
    }

    /// Called by the master as it ends: what the ending means for the node.
    func ended(_ name: Atom, reason: ExitReason, node: Node) {
        let ended = state.withLock { s -> Running? in
            s.order.removeAll { $0 == name }
            return s.running.removeValue(forKey: name)
        }
        guard let run = ended else { return }
        let metadata: Logger.Metadata = ["application": "\(name)", "reason": "\(reason)", "type": "\(run.type)"]
        if run.stopping {
            node.logger.info("application stopped", metadata: metadata)
            return
        }
        let stopsNode: Bool
        switch run.type {
        case .permanent: stopsNode = true
        case .transient: stopsNode = reason != .normal
        case .temporary: stopsNode = false
        }
        guard stopsNode else {
            node.logger.notice("application exited", metadata: metadata)
            return
        }
        node.logger.critical("application exited; stopping the node", metadata: metadata)
        state.withLock { $0.nodeStopping = true }
        Task.detached { await node.stop() }
    }
}
