/// The process a peer calls as `net_kernel` (registered under that name on
/// a distributed node). OTP peers use it for:
/// - `net_adm:ping/1`: `gen_server:call({net_kernel, Node}, {is_auth, Self})`,
///   answered `yes` (the handshake has already checked the cookie);
/// - `{connect, normal, Node}` and `{disconnect, Node}` requests, answered
///   through `connect` / `disconnect` given by the network layer.
/// Other requests are answered `{error, not_supported}` so an Erlang caller
/// gets a reply instead of a timeout.
struct NetKernel: GenServer {
    typealias State = Void

    static let name: Atom = "net_kernel"

    /// Dials `node`; true once connected.
    let connect: @Sendable (Atom) async -> Bool
    /// Drops the connection to `node`; true if there was one.
    let disconnect: @Sendable (Atom) -> Bool

    func initialize(_ process: ProcessContext) async throws -> InitResult<Void> { .ok(()) }

    func handleCall(_ request: Term, from: From, state: Void, process: ProcessContext) async throws -> CallResult<Void> {
        guard case .tuple(let e) = request, !e.isEmpty, case .atom(let tag) = e[0] else {
            return .reply(.tuple([.atom(.error), .atom("not_supported")]), state)
        }
        switch (tag.name, e.count) {
        case ("is_auth", 2):
            return .reply(.atom("yes"), state)
        case ("connect", 3):
            guard case .atom(let peer) = e[2] else { return .reply(.atom("false"), state) }
            let connect = self.connect
            let node = process.node
            // Dialling waits for a handshake: reply from a helper so calls
            // to net_kernel keep being served meanwhile.
            _ = try process.spawn { _ in
                let ok = await connect(peer)
                node.reply(to: from, .atom(ok ? "true" : "false"))
            }
            return .noReply(state)
        case ("disconnect", 2):
            guard case .atom(let node) = e[1] else { return .reply(.atom("false"), state) }
            return .reply(.atom(disconnect(node) ? "true" : "false"), state)
        default:
            return .reply(.tuple([.atom(.error), .atom("not_supported")]), state)
        }
    }
}
