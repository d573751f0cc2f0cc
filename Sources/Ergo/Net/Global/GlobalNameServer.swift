import Logging

/// The process a peer's `global` talks to as `global_name_server`: it
/// speaks the protocol of OTP's `global.erl` (version 8, OTP 23–28) so that
/// Erlang nodes sync with this node, `global:sync()` returns on them, and
/// the cluster becomes a full mesh (every node connects to the nodes its
/// peers know, as `connect_all` does).
///
/// With each visible node that comes up, the two servers run a connect
/// session (see `GlobalState`): `init_connect` / `init_connect_ack`, the
/// lockers set `global`'s lock on both partitions (`lock_set`), the names
/// are exchanged and clashes resolved (`exchange`, `resolved`), and the
/// nodes each side knew are told about the other side (`new_nodes`,
/// `in_sync`). Lost connections are reported as OTP's
/// `prevent_overlapping_partitions` does. The server also answers the
/// lock and registration calls other nodes make (`set_lock`, `del_lock`,
/// `register`, `unregister`), so `global:register_name/2` on an Erlang
/// node works with this node in the cluster.
///
/// Not done: a name clash this node should resolve is resolved as OTP does
/// when its `rpc` to the resolve function fails (the other node's
/// registration wins), because an Erlang resolve fun cannot run here.
struct GlobalNameServer: GenServer {
    static let name: Atom = "global_name_server"
    /// The resource id of `global`'s own lock.
    static let globalResource: Atom = "global"
    /// The protocol version spoken (OTP 23–28 speak 8).
    static let version = 8

    /// Dials a node; true once connected (for `in_sync` to nodes a peer knows).
    let connect: @Sendable (Atom) async -> Bool
    /// Drops the connection to a node.
    let disconnect: @Sendable (Atom) -> Bool

    func initialize(_ process: ProcessContext) async throws -> InitResult<GlobalState> {
        process.monitorNodes(true)
        process.trapExit = true
        return .ok(GlobalState(creation: process.node.creation))
    }

    func handleCall(_ request: Term, from: From, state: GlobalState, process: ProcessContext) async throws -> CallResult<GlobalState> {
        var state = state
        if let reply = state.answer(request, caller: from.pid, reply: .from(from), process: process) {
            return .reply(reply, state)
        }
        return .noReply(state)
    }

    func handleCast(_ request: Term, state: GlobalState, process: ProcessContext) async throws -> CastResult<GlobalState> {
        var state = state
        let ctx = GlobalContext(process: process, server: self)
        state.cast(request, ctx)
        return .noReply(state)
    }

    func handleInfo(_ message: Term, state: GlobalState, process: ProcessContext) async throws -> CastResult<GlobalState> {
        var state = state
        let ctx = GlobalContext(process: process, server: self)
        // gen_server:multi_call tags its calls `{Tag, Node}`, which `From`
        // does not model: answer `{Tag, Reply}` to the caller here.
        if case .tuple(let e) = message, e.count == 3, e[0] == .atom(.genCall),
           case .tuple(let from) = e[1], from.count == 2, case .pid(let caller) = from[0] {
            if let reply = state.answer(e[2], caller: caller, reply: .tagged(caller, from[1]), process: process) {
                process.send(to: caller, .tuple([from[1], reply]))
            }
            return .noReply(state)
        }
        state.info(message, ctx)
        return .noReply(state)
    }
}

/// What the protocol handlers need besides the state: the process, the
/// network hooks, and a way to send to other nodes' servers.
struct GlobalContext {
    let process: ProcessContext
    let server: GlobalNameServer

    var me: Atom { process.node.name }
    var log: Logger { process.logger }

    /// `gen_server:cast({global_name_server, Node}, Message)`; dials the node if needed.
    func cast(_ node: Atom, _ message: Term) {
        try? process.send(to: .remoteName(GlobalNameServer.name, node: node), .tuple([.atom(.genCast), message]))
    }

    /// A plain message to the server on `node`, only over a connection that
    /// is up (OTP's `gns_volatile_send`: no dialling a node that left).
    func volatileSend(_ node: Atom, _ message: Term) {
        guard process.node.connectedNodes.contains(node) else { return }
        try? process.send(to: .remoteName(GlobalNameServer.name, node: node), message)
    }

    func isConnected(_ node: Atom) -> Bool { process.node.connectedNodes.contains(node) }
}

// MARK: calls

extension GlobalState {
    /// Answers a call; nil when the reply comes later (`sync`).
    mutating func answer(_ request: Term, caller: PID, reply: GlobalSyncer.Reply, process: ProcessContext) -> Term? {
        let e: [Term]
        switch request {
        case .tuple(let items) where !items.isEmpty: e = items
        case .atom(let a): e = [.atom(a)]
        default: return unexpected(request, process)
        }
        guard case .atom(let tag) = e[0] else { return unexpected(request, process) }
        switch (tag.name, e.count) {
        case ("set_lock", 2):
            guard let id = LockID(e[1]) else { return .atom(.false) }
            return .atom(setLock(id, for: caller, process) ? .true : .false)
        case ("del_lock", 2):
            if let id = LockID(e[1]) { deleteLock(id, for: caller, process) }
            return .atom(.true)
        case ("register", 4), ("register_ext", 5):
            registerName(e[1], pid: e[2], method: e[3], process)
            return .atom("yes")
        case ("unregister", 2):
            deleteName(e[1], process)
            return .atom("ok")
        case ("get_known", 1):
            return .list(known.keys.sorted().map { .atom($0) })
        case ("get_synced", 1):
            return .list(synced.sorted().map { .atom($0) })
        case ("get_protocol_version", 1):
            return .int(GlobalNameServer.version)
        case ("get_names_ext", 1):
            return .list([])
        case ("get_names", 1):
            return names.list
        case ("whereis", 2):
            return names.byName[e[1]].map { .pid($0.pid) } ?? .atom("undefined")
        case ("sync", 2):
            guard case .list(let nodes) = e[1] else { return .atom("ok") }
            let me = process.node.name
            let waiting = Set(nodes.compactMap { node -> Atom? in
                if case .atom(let a) = node, a != me { return a }
                return nil
            }).subtracting(synced)
            if waiting.isEmpty { return .atom("ok") }
            syncers.append(GlobalSyncer(reply: reply, waiting: waiting))
            return nil
        default:
            return unexpected(request, process)
        }
    }

    private func unexpected(_ request: Term, _ process: ProcessContext) -> Term {
        process.logger.warning("global_name_server received an unexpected call",
                               metadata: ["request": "\(TermPrinter.print(request))"])
        return .tuple([.atom(.error), .atom("not_supported")])
    }

    /// Tells `sync` callers that `nodes` are synced (or gone).
    mutating func notifySyncers(_ nodes: Set<Atom>, _ process: ProcessContext) {
        var still: [GlobalSyncer] = []
        for var syncer in syncers {
            syncer.waiting.subtract(nodes)
            if syncer.waiting.isEmpty {
                syncer.reply.send(.atom("ok"), process)
            } else {
                still.append(syncer)
            }
        }
        syncers = still
    }
}

/// `{ResourceId, LockRequesterId}`.
struct LockID {
    let resource: Term
    let requester: Term

    init?(_ term: Term) {
        guard case .tuple(let e) = term, e.count == 2 else { return nil }
        resource = e[0]
        requester = e[1]
    }

    init(resource: Term, requester: Term) {
        self.resource = resource
        self.requester = requester
    }

    var term: Term { .tuple([resource, requester]) }
}
