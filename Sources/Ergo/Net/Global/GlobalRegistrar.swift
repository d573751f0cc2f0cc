/// Global names from Swift: `global:register_name/2`, `unregister_name/1`
/// and `send/2`, made as OTP's registrar makes them. A transaction sets
/// `{global, Registrar}` on every node of the partition (the boss first),
/// makes the change on each node's `global_name_server`, and deletes the
/// lock, so registrations never race a connect session or each other.
extension Node {
    /// Registers `pid` globally as `name` (`global:register_name/2`): true
    /// when every node of the partition took it, false when the name is taken.
    public func registerGlobalName(_ name: Term, _ pid: PID) async throws -> Bool {
        try await withProcess { process in
            try await GlobalRegistrar.transaction(process) { nodes in
                guard try await GlobalRegistrar.whereis(name, process) == nil else { return false }
                let request = Term.tuple([.atom("register"), name, .pid(pid), .export(GlobalRegistrar.conflictMethod)])
                for node in nodes { _ = try? await GlobalRegistrar.call(process, node, request) }
                return true
            }
        }
    }

    /// Removes a global name from every node of the partition (`global:unregister_name/1`).
    public func unregisterGlobalName(_ name: Term) async throws {
        try await withProcess { process in
            try await GlobalRegistrar.transaction(process) { nodes in
                guard try await GlobalRegistrar.whereis(name, process) != nil else { return }
                for node in nodes { _ = try? await GlobalRegistrar.call(process, node, .tuple([.atom("unregister"), name])) }
            }
        }
    }

    /// Sends to the process registered globally as `name` (`global:send/2`);
    /// returns its pid. Throws `GlobalNameError.notRegistered` when there is none.
    @discardableResult
    public func sendGlobal(_ name: Term, _ message: Term) async throws -> PID {
        guard let pid = try await globalWhereis(name) else { throw GlobalNameError.notRegistered(name) }
        send(to: pid, message)
        return pid
    }
}

/// A global name operation that could not be done.
public enum GlobalNameError: Error, Hashable, Sendable, CustomStringConvertible {
    /// `global:send/2` to a name nobody holds (OTP exits with `{badarg, {Name, Msg}}`).
    case notRegistered(Term)
    /// The partition's lock could not be set (another registration or a
    /// connect session held it for too long).
    case lockNotSet

    public var description: String {
        switch self {
        case .notRegistered(let name): return "no process is registered globally as \(TermPrinter.print(name))"
        case .lockNotSet: return "global's lock could not be set on the partition"
        }
    }
}

enum GlobalRegistrar {
    /// What resolves a clash on the name (`fun global:random_exit_name/3`,
    /// the default of `register_name/2`).
    static let conflictMethod = Export(module: "global", function: "random_exit_name", arity: 3)
    static let attempts = 12

    /// OTP's `trans_all_known`: runs `body` with the partition's nodes while
    /// holding `{global, Self}` on all of them.
    static func transaction<T: Sendable>(_ process: ProcessContext,
                                         _ body: ([Atom]) async throws -> T) async throws -> T {
        let id = Term.tuple([.atom(GlobalNameServer.globalResource), .pid(process.pid)])
        for attempt in 0..<attempts {
            let known = try await knownNodes(process)
            let nodes = [process.node.name] + known
            let boss = nodes.max()!
            let order = [boss] + nodes.filter { $0 != boss }
            if let locked = await GlobalLockHolder.setLock(process, id, on: order) {
                // A node that joined meanwhile is not locked: start over.
                if try await Set(knownNodes(process)) == Set(known) {
                    do {
                        let result = try await body(nodes)
                        await GlobalLockHolder.deleteLock(process, id, on: locked)
                        return result
                    } catch {
                        await GlobalLockHolder.deleteLock(process, id, on: locked)
                        throw error
                    }
                }
                await GlobalLockHolder.deleteLock(process, id, on: locked)
            }
            // Back off as OTP's random_sleep does: up to 1/8 s, doubling to 8 s.
            let ceiling = attempt > 5 ? 8000 : (1 << attempt) * 125
            try await Task.sleep(for: .milliseconds(Int.random(in: 1...ceiling)))
        }
        throw GlobalNameError.lockNotSet
    }

    static func whereis(_ name: Term, _ process: ProcessContext) async throws -> PID? {
        if case .pid(let pid) = try await call(process, process.node.name, .tuple([.atom("whereis"), name])) { return pid }
        return nil
    }

    static func call(_ process: ProcessContext, _ node: Atom, _ request: Term) async throws -> Term {
        try await process.call(.remoteName(GlobalNameServer.name, node: node), request, timeout: .seconds(15))
    }

    private static func knownNodes(_ process: ProcessContext) async throws -> [Atom] {
        guard case .list(let nodes) = try await call(process, process.node.name, .atom("get_known")) else { return [] }
        return nodes.compactMap { if case .atom(let a) = $0 { return a } else { return nil } }
    }
}
