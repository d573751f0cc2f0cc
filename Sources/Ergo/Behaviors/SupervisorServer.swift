/// OTP's `supervisor` as a `GenServer`: it traps exits, starts its children
/// in order, restarts them by its strategy when they exit, gives up after
/// too many restarts, and stops them in reverse start order when it stops.
public struct SupervisorServer: GenServer {
    public let spec: Supervisor

    public init(_ spec: Supervisor) { self.spec = spec }

    public struct State {
        /// In start order. Under `simpleOneForOne`, the running dynamic
        /// children (each with the template spec).
        var children: [Child] = []
        /// Times of the recent restarts (for the intensity).
        var restarts: [ContinuousClock.Instant] = []
    }

    struct Child {
        var spec: ChildSpec
        var pid: PID?
        var restarting = false
        /// The extra arguments of a `simpleOneForOne` child; `[]` otherwise.
        var arguments: Term = .nil
    }

    private var isSimple: Bool { spec.strategy == .simpleOneForOne }

    // MARK: init

    public func initialize(_ process: ProcessContext) async throws -> InitResult<State> {
        process.trapExit = true
        var state = State()
        if isSimple {
            guard spec.children.count == 1 else {
                return .stop(.other(.tuple([.atom("bad_start_spec"), .atom("simple_one_for_one_needs_one_child")])))
            }
            return .ok(state)
        }
        var seen = Set<Atom>()
        for child in spec.children where !seen.insert(child.id).inserted {
            return .stop(.other(.tuple([.atom("duplicate_child_name"), .atom(child.id)])))
        }
        for child in spec.children {
            switch try await startOne(child, arguments: .nil, process: process) {
            case .success(let pid):
                state.children.append(Child(spec: child, pid: pid))
            case .failure(let reason):
                try await terminateAll(&state, process: process)
                return .stop(.shutdown(.tuple([.atom("failed_to_start_child"), .atom(child.id), reason.reason])))
            }
        }
        return .ok(state)
    }

    /// Runs a child's factory; the pid (nil if it ignored) or the reason.
    private func startOne(_ child: ChildSpec, arguments: Term,
                          process: ProcessContext) async throws(ProcessStop) -> Result<PID?, ChildStartFailure> {
        do {
            let pid = try await child.start(process, arguments)
            try? process.link(pid)  // the factory should have linked; make sure
            return .success(pid)
        } catch let stop as ProcessStop {
            throw stop
        } catch StartError.ignored {
            return .success(nil)
        } catch StartError.failed(let reason) {
            return .failure(ChildStartFailure(reason.term))
        } catch {
            return .failure(ChildStartFailure(ExitReason(error: error).term))
        }
    }

    // MARK: calls

    public func handleCall(_ request: Term, from: From, state: State,
                           process: ProcessContext) async throws -> CallResult<State> {
        var state = state
        if request == .atom("which_children") {
            return .reply(.list(state.children.map { whichRow($0) }), state)
        }
        if request == .atom("count_children") {
            let workers = state.children.filter { $0.spec.type == .worker }.count
            let pairs: [(String, Int)] = [
                ("specs", isSimple ? 1 : state.children.count),
                ("active", state.children.filter { $0.pid != nil }.count),
                ("supervisors", state.children.count - workers),
                ("workers", workers),
            ]
            return .reply(.list(pairs.map { .tuple([.atom(Atom($0.0)), .int($0.1)]) }), state)
        }
        guard case .tuple(let e) = request, e.count == 2, case .atom(let tag) = e[0] else {
            return .reply(.tuple([.atom(.error), .atom("badarg")]), state)
        }
        let arg = e[1]
        let reply: Term
        switch tag.name {
        case "start_child": reply = try await startChild(arg, state: &state, process: process)
        case "terminate_child": reply = try await terminateChild(arg, state: &state, process: process)
        case "restart_child": reply = try await restartChild(arg, state: &state, process: process)
        case "delete_child": reply = deleteChild(arg, state: &state)
        case "get_childspec":
            if let i = index(of: arg, in: state) {
                reply = .tuple([.atom(.ok), state.children[i].spec.term])
            } else if isSimple, case .pid = arg {
                reply = .tuple([.atom(.error), .atom("not_found")])
            } else if isSimple, let template = spec.children.first, arg == .atom(template.id) {
                reply = .tuple([.atom(.ok), template.term])
            } else {
                reply = .tuple([.atom(.error), .atom("not_found")])
            }
        default: reply = .tuple([.atom(.error), .atom("badarg")])
        }
        return .reply(reply, state)
    }

    private func whichRow(_ child: Child) -> Term {
        let status: Term = child.pid.map(Term.pid) ?? .atom(child.restarting ? "restarting" : .undefined)
        return .tuple([isSimple ? .atom(.undefined) : .atom(child.spec.id), status,
                       .atom(child.spec.type.atom), .list(child.spec.modules.map(Term.atom))])
    }

    /// A child by its id (static) or pid (`simpleOneForOne`).
    private func index(of key: Term, in state: State) -> Int? {
        if isSimple {
            guard case .pid(let pid) = key else { return nil }
            return state.children.firstIndex { $0.pid == pid }
        }
        guard case .atom(let id) = key else { return nil }
        return state.children.firstIndex { $0.spec.id == id }
    }

    private static let error = Term.atom(.error)

    private func startChild(_ arg: Term, state: inout State, process: ProcessContext) async throws -> Term {
        let child: ChildSpec
        let arguments: Term
        if isSimple {
            child = spec.children[0]
            arguments = arg
        } else {
            guard let given = ChildSpecHandoff.take(arg) else {
                return .tuple([Self.error, .tuple([.atom("invalid_child_spec"), arg])])
            }
            if let i = state.children.firstIndex(where: { $0.spec.id == given.id }) {
                if let pid = state.children[i].pid {
                    return .tuple([Self.error, .tuple([.atom("already_started"), .pid(pid)])])
                }
                return .tuple([Self.error, .atom("already_present")])
            }
            child = given
            arguments = .nil
        }
        switch try await startOne(child, arguments: arguments, process: process) {
        case .success(let pid?):
            state.children.append(Child(spec: child, pid: pid, arguments: arguments))
            return .tuple([.atom(.ok), .pid(pid)])
        case .success(nil):
            if !isSimple && child.restart != .temporary { state.children.append(Child(spec: child, pid: nil)) }
            return .tuple([.atom(.ok), .atom(.undefined)])
        case .failure(let failure):
            return .tuple([Self.error, failure.reason])
        }
    }

    private func terminateChild(_ arg: Term, state: inout State, process: ProcessContext) async throws -> Term {
        guard let i = index(of: arg, in: state) else { return .tuple([Self.error, .atom("not_found")]) }
        try await shutdown(state.children[i], process: process)
        retire(i, in: &state)
        return .atom(.ok)
    }

    private func restartChild(_ arg: Term, state: inout State, process: ProcessContext) async throws -> Term {
        if isSimple { return .tuple([Self.error, .atom("simple_one_for_one")]) }
        guard let i = index(of: arg, in: state) else { return .tuple([Self.error, .atom("not_found")]) }
        let child = state.children[i]
        if child.pid != nil { return .tuple([Self.error, .atom("running")]) }
        if child.restarting { return .tuple([Self.error, .atom("restarting")]) }
        switch try await startOne(child.spec, arguments: .nil, process: process) {
        case .success(let pid):
            state.children[i].pid = pid
            return .tuple([.atom(.ok), pid.map(Term.pid) ?? .atom(.undefined)])
        case .failure(let failure):
            return .tuple([Self.error, failure.reason])
        }
    }

    private func deleteChild(_ arg: Term, state: inout State) -> Term {
        if isSimple { return .tuple([Self.error, .atom("simple_one_for_one")]) }
        guard let i = index(of: arg, in: state) else { return .tuple([Self.error, .atom("not_found")]) }
        if state.children[i].pid != nil { return .tuple([Self.error, .atom("running")]) }
        if state.children[i].restarting { return .tuple([Self.error, .atom("restarting")]) }
        state.children.remove(at: i)
        return .atom(.ok)
    }

    // MARK: exits and restarts

    public func handleCast(_ request: Term, state: State, process: ProcessContext) async throws -> CastResult<State> {
        var state = state
        // {try_again_restart, Key}: a restart that failed is tried again
        // (and counted again), as OTP does.
        if case .tuple(let e) = request, e.count == 2, e[0] == .atom("try_again_restart") {
            guard state.children.contains(where: { $0.restarting }) else { return .noReply(state) }
            if !addRestart(&state) { return try await giveUp(state, process: process) }
            try await restartPending(&state, process: process)
            return .noReply(state)
        }
        return .noReply(state)
    }

    public func handleInfo(_ message: Term, state: State, process: ProcessContext) async throws -> CastResult<State> {
        var state = state
        guard let exit = ExitMessage(term: message) else {
            process.logger.notice("supervisor: unexpected message", metadata: ["message_type": "\(message.kindLabel)"])
            return .noReply(state)
        }
        let (pid, reason) = (exit.from, exit.reason)
        // The node stopping counts as the parent's shutdown.
        if pid == process.node.systemPID { return .stop(reason, state) }
        guard let i = state.children.firstIndex(where: { $0.pid == pid }) else {
            return .noReply(state)  // a child already removed or replaced
        }
        let child = state.children[i]
        let restart: Bool
        switch child.spec.restart {
        case .permanent: restart = true
        case .transient: restart = !reason.isNormalTermination
        case .temporary: restart = false
        }
        guard restart else {
            retire(i, in: &state)
            return .noReply(state)
        }
        process.logger.error("supervisor: child terminated", metadata: [
            "report": "supervisor_report", "child": "\(child.spec.id)", "child_pid": "\(pid)", "reason": "\(reason)",
        ])
        if !addRestart(&state) { return try await giveUp(state, process: process) }
        state.children[i].pid = nil
        state.children[i].restarting = true
        switch spec.strategy {
        case .oneForOne, .simpleOneForOne:
            break
        case .oneForAll:
            try await terminate(&state, indices: Array(state.children.indices), process: process)
        case .restForOne:
            try await terminate(&state, indices: Array(state.children.indices.dropFirst(i + 1)), process: process)
        }
        try await restartPending(&state, process: process)
        return .noReply(state)
    }

    /// A child that has stopped and is not to be restarted: a simple or
    /// temporary one is forgotten, another keeps its spec, not running
    /// (`restart_child` can start it again).
    private func retire(_ i: Int, in state: inout State) {
        if isSimple || state.children[i].spec.restart == .temporary {
            state.children.remove(at: i)
        } else {
            state.children[i].pid = nil
            state.children[i].restarting = false
        }
    }

    /// Stops the given running children in reverse order and marks them for
    /// a restart; temporary ones are removed instead.
    private func terminate(_ state: inout State, indices: [Int], process: ProcessContext) async throws {
        for i in indices.reversed() where state.children[i].pid != nil {
            try await shutdown(state.children[i], process: process)
            state.children[i].pid = nil
            state.children[i].restarting = true
        }
        state.children.removeAll { $0.restarting && $0.spec.restart == .temporary && $0.pid == nil }
    }

    /// Starts every child marked as restarting, in start order. On a
    /// failure the rest stay marked and a `try_again_restart` cast follows.
    private func restartPending(_ state: inout State, process: ProcessContext) async throws {
        for i in state.children.indices where state.children[i].restarting {
            let child = state.children[i]
            switch try await startOne(child.spec, arguments: child.arguments, process: process) {
            case .success(let pid):
                state.children[i].pid = pid
                state.children[i].restarting = false
                process.logger.info("supervisor: child restarted", metadata: [
                    "report": "progress", "child": "\(child.spec.id)", "child_pid": "\(pid.map { "\($0)" } ?? "undefined")",
                ])
            case .failure(let failure):
                process.logger.error("supervisor: child restart failed", metadata: [
                    "report": "supervisor_report", "child": "\(child.spec.id)", "reason": "\(failure.reason)",
                ])
                process.cast(.pid(process.pid), .tuple([.atom("try_again_restart"), .atom(child.spec.id)]))
                return
            }
        }
        // A simple child that ignored on restart is gone.
        if isSimple { state.children.removeAll { $0.pid == nil && !$0.restarting } }
    }

    /// Records a restart; false when there were more than `intensity`
    /// within `period`.
    private func addRestart(_ state: inout State) -> Bool {
        let now = ContinuousClock.now
        state.restarts = state.restarts.filter { now - $0 <= spec.period } + [now]
        return state.restarts.count <= spec.intensity
    }

    private func giveUp(_ state: State, process: ProcessContext) async throws -> CastResult<State> {
        process.logger.error("supervisor: reached max restart intensity", metadata: [
            "report": "supervisor_report", "reason": "reached_max_restart_intensity",
        ])
        var state = state
        try await terminateAll(&state, process: process)
        return .stop(.shutdown, state)
    }

    // MARK: stopping

    public func terminate(_ reason: ExitReason, state: State, process: ProcessContext) async throws {
        var state = state
        try await terminateAll(&state, process: process)
    }

    /// Stops every running child, in reverse start order.
    private func terminateAll(_ state: inout State, process: ProcessContext) async throws {
        for i in state.children.indices.reversed() where state.children[i].pid != nil {
            try await shutdown(state.children[i], process: process)
            state.children[i].pid = nil
        }
    }

    /// Stops one child by its shutdown rule (OTP's `shutdown/2`): monitor,
    /// unlink, exit signal, wait for its `'DOWN'`, `kill` after the timeout.
    private func shutdown(_ child: Child, process: ProcessContext) async throws {
        guard let pid = child.pid else { return }
        let ref = process.monitor(pid)
        process.unlink(pid)
        // An 'EXIT' that arrived before the unlink is dropped: the 'DOWN' tells the end.
        _ = try await process.receiveExit(from: pid, timeout: .zero)
        switch child.spec.shutdown {
        case .brutalKill:
            try process.exit(pid, reason: .kill)
            _ = try await process.receiveDown(ref, timeout: nil)
        case .infinity:
            try process.exit(pid, reason: .shutdown)
            _ = try await process.receiveDown(ref, timeout: nil)
        case .timeout(let limit):
            try process.exit(pid, reason: .shutdown)
            if try await process.receiveDown(ref, timeout: limit) == nil {
                try process.exit(pid, reason: .kill)
                _ = try await process.receiveDown(ref, timeout: nil)
            }
        }
    }
}

/// A child's start failure: its reason as a term.
struct ChildStartFailure: Error {
    let reason: Term
    init(_ reason: Term) { self.reason = reason }
}
