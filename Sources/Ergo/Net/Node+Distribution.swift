/// Joining a cluster.
extension Node {
    /// Makes this node a distributed Erlang node: it listens for other
    /// nodes, registers in EPMD (serving EPMD itself when none runs on the
    /// port), starts `net_kernel`, and dials other nodes on first use. The
    /// node's name must be `name@host`. Stopping the node closes it all
    /// once every process has exited.
    @discardableResult
    public func startDistribution(_ options: DistributionOptions = DistributionOptions()) async throws -> Distribution {
        let dist = try await Distribution.start(node: self, options: options)
        addAfterStopHook { dist.shutdown() }
        return dist
    }

    /// `net_kernel:connect_node/1`: dials `peer` if need be and waits for
    /// the handshake; true once connected. False when the node has no
    /// distribution or the peer cannot be reached.
    public func connect(_ peer: Atom) async -> Bool {
        guard let dist = router as? Distribution else { return peer == name }
        return await dist.connectAndWait(peer)
    }

    /// `erlang:disconnect_node/1`: drops the connection to `peer` (links
    /// and monitors over it fire `noconnection`); false if there was none.
    @discardableResult
    public func disconnect(_ peer: Atom) -> Bool {
        guard let dist = router as? Distribution else { return false }
        return dist.disconnect(peer)
    }

    /// `net_adm:ping/1`: true (pong) when `peer` answers, false (pang)
    /// when it cannot be reached or refuses us.
    public func ping(_ peer: Atom, timeout: Duration = .seconds(8)) async -> Bool {
        if peer == name { return true }
        do {
            let reply = try await call(.remoteName(NetKernel.name, node: peer),
                                       .tuple([.atom("is_auth"), .atom(name)]), timeout: timeout)
            return reply == .atom("yes")
        } catch {
            return false
        }
    }
}
