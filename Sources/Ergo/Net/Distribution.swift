import CErgoCore
import Logging

/// How a node joins a cluster (`erl -name/-sname -setcookie`, `net_ticktime`).
public struct DistributionOptions: Sendable {
    /// The cookie; nil: the node's own if it has one, else `~/.erlang.cookie`.
    public var cookie: String?
    /// Where the node listens for other nodes (nil: every IPv4 address).
    public var listenHost: String?
    /// 0: an ephemeral port, registered in EPMD.
    public var listenPort: Int = 0
    /// The EPMD port; nil: `ERL_EPMD_PORT`, else 4369.
    public var epmdPort: Int?
    /// A hidden node (`erl -hidden`): not in other nodes' `nodes()`.
    public var hidden = false
    /// `net_ticktime`: a peer silent for this long is dropped; ticks go out
    /// every quarter of it.
    public var tickTime: Duration = .seconds(60)
    /// `net_setuptime`: how long a connection may take to come up.
    public var setupTime: Duration = .seconds(7)
    /// Control messages kept per node while its connection comes up.
    public var maxWaiting = 100_000
    /// The largest message accepted from a peer (fragments reassembled);
    /// a larger one drops the connection.
    public var maxMessageBytes = 512 << 20
    public var backend: EventLoop.Backend = .environment

    public init(cookie: String? = nil) { self.cookie = cookie }
}

/// A node's distribution: the listener, the EPMD registration, one
/// connection per peer node, and the `RemoteRouter` the node sends through.
///
/// A connection is dialled on the first message, link or monitor for a
/// node (its port from that host's EPMD), or accepted from a peer; the
/// handshake runs on the loop thread; once up, the connection's packets are
/// decoded on the loop thread and delivered in order.
public final class Distribution: RemoteRouter, @unchecked Sendable {
    public let node: Node
    public let options: DistributionOptions
    public let loop: EventLoop
    /// The port other nodes connect to.
    public let port: Int
    let identity: HandshakeIdentity
    let logger: Logger
    private let epmdPort: Int
    private var epmd: EPMDAgent?
    private var listener: ListenerID?
    private let table = Locked(Table())

    private struct Table {
        /// The connection each peer node is reached by (up or coming up).
        /// The table lock is never held while a connection's is taken.
        var byName: [Atom: DistConnection] = [:]
        /// The peers whose connection is up.
        var up = Set<Atom>()
        /// `connectAndWait` callers, resumed when the peer's connection
        /// comes up (true) or leaves the table (false).
        var waiters: [Atom: [CheckedContinuation<Bool, Never>]] = [:]
        var stopped = false
    }

    private static func resume(_ waiters: [CheckedContinuation<Bool, Never>]?, _ outcome: Bool) {
        for waiter in waiters ?? [] { waiter.resume(returning: outcome) }
    }

    private init(node: Node, options: DistributionOptions, loop: EventLoop, port: Int, identity: HandshakeIdentity,
                 epmdPort: Int) {
        self.node = node
        self.options = options
        self.loop = loop
        self.port = port
        self.identity = identity
        self.epmdPort = epmdPort
        var log = node.logger
        log[metadataKey: "subsystem"] = "dist"
        logger = log
    }

    /// Starts listening, registers in EPMD (serving EPMD itself when none
    /// runs), attaches the router and starts `net_kernel`.
    static func start(node: Node, options: DistributionOptions) async throws -> Distribution {
        guard node.name.name.contains("@"), node.name != "nonode@nohost" else {
            throw DistributionError.notDistributed(node.name)
        }
        let cookie = try options.cookie ?? (node.cookie.isEmpty ? Cookie.default().value : node.cookie)
        let loop = try EventLoop(options: EventLoop.Options(backend: options.backend), logger: node.logger)
        let identity = HandshakeIdentity(nodeName: node.name.name, cookie: cookie, creation: node.creation,
                                         flags: DistFlags.advertised(hidden: options.hidden))
        let epmdPort = options.epmdPort ?? EPMDClient.defaultPort
        // The listener exists before the distribution object: accept later.
        let holder = Locked<Distribution?>(nil)
        let (listener, port) = try loop.listen(host: options.listenHost, port: options.listenPort) { conn, peer in
            holder.withLock { $0 }?.accepted(conn, from: peer)
        }
        let dist = Distribution(node: node, options: options, loop: loop, port: port, identity: identity,
                                epmdPort: epmdPort)
        dist.listener = listener
        holder.withLock { $0 = dist }
        do {
            dist.epmd = try await EPMDAgent.start(loop: loop, name: String(node.name.name.split(separator: "@")[0]),
                                                  nodePort: port, hidden: options.hidden, epmdPort: epmdPort,
                                                  logger: dist.logger)
        } catch {
            loop.shutdown()
            throw error
        }
        node.attach(router: dist)
        try await node.start(NetKernel(connect: { [weak dist] peer in await dist?.connectAndWait(peer) ?? false },
                                       disconnect: { [weak dist] peer in dist?.disconnect(peer) ?? false }),
                             options: SpawnOptions(name: NetKernel.name))
        try await node.start(GlobalNameServer(connect: { [weak dist] peer in await dist?.connectAndWait(peer) ?? false },
                                              disconnect: { [weak dist] peer in dist?.disconnect(peer) ?? false }),
                             options: SpawnOptions(name: GlobalNameServer.name))
        dist.logger.info("distribution started", metadata: [
            "port": "\(port)", "epmd_port": "\(epmdPort)", "event_loop": "\(loop.backendName)",
            "hidden": "\(options.hidden)",
        ])
        return dist
    }

    /// Closes every connection, the listener and the EPMD registration, and
    /// stops the loop.
    func shutdown() {
        let (all, waiters) = table.withLock { t -> ([DistConnection], [CheckedContinuation<Bool, Never>]) in
            t.stopped = true
            defer {
                t.byName.removeAll()
                t.waiters.removeAll()
            }
            return (Array(t.byName.values), t.waiters.values.flatMap { $0 })
        }
        Self.resume(waiters, false)
        for c in all { if let id = c.conn { try? loop.close(id) } }
        if let listener { try? loop.close(listener) }
        epmd?.close()
        loop.shutdown()
        node.detachRouter()
    }

    /// The nodes with a connection up.
    public var connectedNodes: [Atom] {
        table.withLock { t in Array(t.up) }
    }

    // MARK: RemoteRouter

    public func send(_ control: DistControl, to peer: Atom) {
        guard let c = connection(to: peer) else {
            node.nodeDown(peer, reason: .atom("noconnection"))
            return
        }
        send(control, on: c)
    }

    public func sendLazily(_ control: DistControl, to peer: Atom) {
        guard let c = connection(to: peer) else {
            node.nodeDown(peer, reason: .atom("noconnection"))
            return
        }
        send(control, on: c, lazily: true)
    }

    public func connect(to peer: Atom) {
        _ = connection(to: peer)
    }

    /// Dials `peer` if needed and waits until its connection is up or failed.
    func connectAndWait(_ peer: Atom) async -> Bool {
        if peer == node.name { return true }
        guard connection(to: peer) != nil else { return false }
        // The dial ends in a nodeup or leaves the table (the setup timer
        // bounds the handshake): wait for that.
        return await withCheckedContinuation { waiter in
            let now = table.withLock { t -> Bool? in
                if t.up.contains(peer) { return true }
                if t.byName[peer] == nil || t.stopped { return false }
                t.waiters[peer, default: []].append(waiter)
                return nil
            }
            if let now { waiter.resume(returning: now) }
        }
    }

    /// Drops the connection to `peer`; true if there was one.
    func disconnect(_ peer: Atom) -> Bool {
        guard let c = table.withLock({ $0.byName[peer] }), let id = c.conn else { return false }
        try? loop.close(id)
        return true
    }

    /// The connection to `peer`, dialling one if there is none.
    private func connection(to peer: Atom) -> DistConnection? {
        let (c, fresh) = table.withLock { t -> (DistConnection?, Bool) in
            if t.stopped { return (nil, false) }
            if let c = t.byName[peer] { return (c, false) }
            let c = DistConnection(role: .initiator, peer: peer)
            t.byName[peer] = c
            return (c, true)
        }
        if fresh, let c { dial(c, peer) }
        return c
    }

    // MARK: sending

    private func send(_ control: DistControl, on c: DistConnection, lazily: Bool = false) {
        let loop = self.loop
        let failure: String? = c.state.withLock { s -> String? in
            switch s.phase {
            case .up(let codec):
                do {
                    guard !lazily, s.backlog.isEmpty, let id = s.conn else {
                        let packets = try codec.encode(control)
                        for packet in packets { Self.enqueue(packet, &s, loop: loop, lazily: lazily) }
                        return nil
                    }
                    // Framed and gathered: one send for all of the message's
                    // packets, its large runs not copied on the way.
                    try codec.encode(control, framedUpTo: Self.framedLimit) { encoded in
                        switch encoded {
                        case .framed(let iov):
                            do throws(LoopError) {
                                try loop.send(id, iovecs: iov)
                            } catch .busy {
                                s.backlog.append(Self.flatten(iov))
                            } catch {
                                // the connection is going; its close reports it
                            }
                        case .packets(let packets):
                            for packet in packets { Self.enqueue(packet, &s, loop: loop) }
                        }
                    }
                    return nil
                } catch {
                    return "cannot encode a control message: \(error)"
                }
            case .opening, .handshaking, .yielded:
                guard s.waiting.count < options.maxWaiting else { return "too many messages wait for the connection" }
                s.waiting.append(control)
                return nil
            case .closed:
                return nil
            }
        }
        if let failure {
            logger.warning("message dropped", metadata: ["peer": "\(c.peer.map { "\($0)" } ?? "?")", "why": "\(failure)"])
        }
    }

    /// Messages up to this size go out as one gathered send; larger ones
    /// packet by packet, so the loop's queue bound never refuses one for
    /// good (this loop keeps the default 64 MiB, and `onWritable` comes
    /// once it has drained to half).
    static let framedLimit = 4 << 20

    private static func flatten(_ iov: UnsafeBufferPointer<iovec>) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(iov.reduce(0) { $0 + $1.iov_len })
        for v in iov where v.iov_len > 0 {
            bytes.append(contentsOf: UnsafeRawBufferPointer(start: v.iov_base, count: v.iov_len))
        }
        return bytes
    }

    private static func framed(_ packet: [UInt8]) -> [UInt8] {
        let n = UInt32(truncatingIfNeeded: packet.count)
        return [UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8),
                UInt8(truncatingIfNeeded: n)] + packet
    }

    /// Queues one 4-byte packet behind any backlog (`state` is locked).
    private static func enqueue(_ packet: [UInt8], _ s: inout DistConnection.State, loop: EventLoop,
                                lazily: Bool = false) {
        guard let id = s.conn else { return }
        if s.backlog.isEmpty {
            do {
                if lazily { try loop.sendPacketLazily(id, packet) } else { try loop.sendPacket(id, packet) }
                return
            } catch .busy {
                // fall through to the backlog
            } catch {
                return  // the connection is going; its close reports it
            }
        }
        s.backlog.append(framed(packet))
    }

    private func writable(_ c: DistConnection) {
        c.state.withLock { s in
            guard let id = s.conn else { return }
            while !s.backlog.isEmpty {
                do {
                    try loop.send(id, s.backlog[0])
                    s.backlog.removeFirst()
                } catch {
                    return
                }
            }
        }
    }

    // MARK: dialling and accepting

    private func dial(_ c: DistConnection, _ peer: Atom) {
        let parts = peer.name.split(separator: "@", maxSplits: 1).map(String.init)
        guard parts.count == 2 else {
            fail(c, "not a node name: \(peer)")
            return
        }
        let (alive, host) = (parts[0], parts[1])
        let client = EPMDClient(loop: loop, port: epmdPort)
        Task.detached { [self] in
            let info: EPMDNodeInfo?
            do {
                info = try await client.lookup(name: alive, host: host)
            } catch {
                fail(c, "EPMD on \(host) cannot be asked: \(error)")
                return
            }
            guard let info else {
                fail(c, "\(alive) is not registered in EPMD on \(host)")
                return
            }
            loop.connect(host: host, port: info.port, timeout: options.setupTime, handler: handler(for: c)) { result in
                switch result {
                case .success(let id):
                    self.opened(c, id)
                case .failure(let error):
                    self.fail(c, "cannot connect to \(host):\(info.port): \(error)")
                }
            }
        }
    }

    /// An initiator's socket is up (loop thread): the handshake begins.
    private func opened(_ c: DistConnection, _ id: ConnectionID) {
        c.state.withLock { s in
            s.conn = id
            guard let peer = s.peer else { return }
            var hs = Handshake.initiator(identity, peer: peer.name, stillWanted: { [weak self] name in
                self?.table.withLock { $0.byName[Atom(name)] === c } ?? false
            })
            try? loop.setFraming(id, .packet2, maxPacket: 64 * 1024)
            for body in hs.start() { send2(id, body) }
            s.phase = .handshaking(hs)
        }
        armSetupTimer(c, id)
    }

    /// A handshake that has not finished within `setupTime` is dropped
    /// (`net_setuptime`), so a silent or slow peer holds nothing.
    private func armSetupTimer(_ c: DistConnection, _ id: ConnectionID) {
        _ = try? loop.timer(after: options.setupTime) { [weak self] in
            guard let self else { return }
            let stuck = c.state.withLock { s -> Bool in
                if case .handshaking = s.phase { return true }
                return false
            }
            guard stuck else { return }
            logger.warning("connection dropped", metadata: [
                "peer": "\(c.peer.map { "\($0)" } ?? "?")", "why": "no handshake within \(options.setupTime)",
            ])
            try? loop.close(id)
        }
    }

    /// Our dial lost a simultaneous connect: the peer's connection to us
    /// should come up within `setupTime` and take over (`came(up:)`); if it
    /// does not, the dial has failed after all.
    private func awaitPeersDial(_ c: DistConnection) {
        _ = try? loop.timer(after: options.setupTime) { [weak self] in
            guard let self else { return }
            let waiting = c.state.withLock { s -> Bool in
                if case .yielded = s.phase { return true }
                return false
            }
            if waiting { fail(c, "the peer won a simultaneous connect but its connection never came") }
        }
    }

    /// A peer connected to us (loop thread).
    private func accepted(_ id: ConnectionID, from address: String) -> ConnectionHandler? {
        if table.withLock({ $0.stopped }) { return nil }
        let c = DistConnection(role: .acceptor, peer: nil)
        c.state.withLock { s in
            s.conn = id
            let ourName = identity.nodeName
            s.phase = .handshaking(Handshake.acceptor(identity, decide: { [weak self] name, _ in
                guard let self else { return .notAllowed }
                return self.table.withLock { t -> AcceptDecision in
                    guard let existing = t.byName[Atom(name)] else { return .ok }
                    if t.up.contains(Atom(name)) { return .alive }
                    return existing.role == .initiator
                        ? AcceptDecision.simultaneousConnect(ourName: ourName, peerName: name) : .ok
                }
            }))
        }
        try? loop.setFraming(id, .packet2, maxPacket: 64 * 1024)
        logger.debug("connection accepted", metadata: ["from": "\(address)"])
        armSetupTimer(c, id)
        return handler(for: c)
    }

    private func handler(for c: DistConnection) -> ConnectionHandler {
        ConnectionHandler(
            onPacket: { [weak self] _, bytes in self?.packet(c, bytes) },
            onClose: { [weak self] _, error in self?.closed(c, error) },
            onWritable: { [weak self] _ in self?.writable(c) })
    }

    /// A handshake packet is a 2-byte length and the body.
    private func send2(_ id: ConnectionID, _ body: [UInt8]) {
        try? loop.send(id, [UInt8(truncatingIfNeeded: body.count >> 8), UInt8(truncatingIfNeeded: body.count)] + body)
    }

    // MARK: receiving (loop thread)

    private func packet(_ c: DistConnection, _ bytes: UnsafeRawBufferPointer) {
        var deliver: DistControl?
        var up: (Atom, DistPeer)?
        var failure: String?
        var routine = false
        var yielded = false
        c.state.withLock { s in
            guard let id = s.conn else { return }
            switch s.phase {
            case .handshaking(var hs):
                switch hs.receive(Array(bytes)) {
                case .send(let bodies):
                    for body in bodies { send2(id, body) }
                    s.phase = .handshaking(hs)
                case .completed(let peer, let bodies):
                    for body in bodies { send2(id, body) }
                    // ERTS sends a large message as one packet when it does not
                    // fragment it: the packet limit is the message limit.
                    try? loop.setFraming(id, .packet4, maxPacket: options.maxMessageBytes + 4096)
                    try? loop.setTick(id, interval: options.tickTime / 4)
                    var limits = DistConnectionCodec.Limits()
                    limits.reassemblyBytes = options.maxMessageBytes
                    limits.messageBytes = options.maxMessageBytes
                    let codec = DistConnectionCodec(peer: peer, limits: limits)
                    s.phase = .up(codec)
                    s.peer = Atom(peer.name)
                    up = (Atom(peer.name), peer)
                case .failed(let error, let bodies):
                    for body in bodies { send2(id, body) }
                    failure = "handshake failed: \(error)"
                    routine = error.isConnectRace
                    if c.role == .initiator, case .refused(_, "nok") = error {
                        s.phase = .yielded
                        s.conn = nil
                        yielded = true
                    } else {
                        s.phase = .closed
                    }
                    try? loop.closeAfterFlush(id)
                }
            case .up(let codec):
                do {
                    deliver = try codec.decode(Array(bytes))
                } catch {
                    failure = "bad packet: \(error)"
                    s.phase = .closed
                    try? loop.close(id)
                }
            case .opening, .yielded, .closed:
                break
            }
        }
        if let (name, peer) = up { came(up: c, name, peer) }
        if yielded { awaitPeersDial(c) }
        if let failure {
            logger.log(level: routine ? .debug : .warning, "connection dropped",
                       metadata: ["peer": "\(c.peer.map { "\($0)" } ?? "?")", "why": "\(failure)"])
        }
        if let deliver, let peer = c.peer { node.deliver(deliver, from: peer) }
    }

    /// The handshake succeeded: this connection becomes the peer's, takes
    /// over what waited on a dial it replaced, and the node hears `nodeup`.
    private func came(up c: DistConnection, _ name: Atom, _ peer: DistPeer) {
        let (replaced, waiters) = table.withLock { t -> (DistConnection?, [CheckedContinuation<Bool, Never>]?) in
            let old = t.byName[name]
            t.byName[name] = c
            t.up.insert(name)
            return (old === c ? nil : old, t.waiters.removeValue(forKey: name))
        }
        defer { Self.resume(waiters, true) }
        var waiting: [DistControl] = []
        if let replaced {
            replaced.state.withLock { s in
                waiting = s.waiting
                s.waiting = []
                if let id = s.conn { try? loop.close(id) }
                s.phase = .closed
            }
            if replaced.state.withLock({ $0.announced }) {
                node.nodeDown(name, reason: .atom("connection_replaced"))
            }
        }
        c.state.withLock { s in
            s.announced = true
            waiting += s.waiting
            s.waiting = []
        }
        logger.info("node up", metadata: ["peer": "\(name)", "hidden": "\(peer.isHidden)"])
        node.nodeUp(name, hidden: peer.isHidden || options.hidden)
        for control in waiting { send(control, on: c) }
    }

    private func closed(_ c: DistConnection, _ error: LoopError?) {
        // A connection another one replaced is no longer the table's: its
        // end is not a nodedown.
        let (peer, announced, yielded) = c.state.withLock { s -> (Atom?, Bool, Bool) in
            if case .yielded = s.phase { return (s.peer, false, true) }
            s.phase = .closed
            s.backlog = []
            return (s.peer, s.announced, false)
        }
        // A dial that yielded to the peer's keeps its place in the table.
        guard let peer, !yielded else { return }  // (or an acceptor that never learnt a name)
        let (mine, waiters) = table.withLock { t -> (Bool, [CheckedContinuation<Bool, Never>]?) in
            guard t.byName[peer] === c else { return (false, nil) }
            t.byName.removeValue(forKey: peer)
            t.up.remove(peer)
            return (true, t.waiters.removeValue(forKey: peer))
        }
        Self.resume(waiters, false)
        guard mine else { return }
        let why = error.map { "\($0)" } ?? "closed by the peer"
        if announced {
            logger.debug("connection closed", metadata: ["peer": "\(peer)", "why": "\(why)"])
        }
        node.nodeDown(peer, reason: .atom("noconnection"))
    }

    /// A dial failed before the handshake finished.
    private func fail(_ c: DistConnection, _ why: String) {
        let peer = c.state.withLock { s -> Atom? in
            s.phase = .closed
            if let id = s.conn { try? loop.close(id) }
            return s.peer
        }
        guard let peer else { return }
        let (mine, waiters) = table.withLock { t -> (Bool, [CheckedContinuation<Bool, Never>]?) in
            guard t.byName[peer] === c else { return (false, nil) }
            t.byName.removeValue(forKey: peer)
            return (true, t.waiters.removeValue(forKey: peer))
        }
        Self.resume(waiters, false)
        logger.notice("cannot connect", metadata: ["peer": "\(peer)", "why": "\(why)"])
        if mine { node.nodeDown(peer, reason: .atom("noconnection")) }
    }
}

public enum DistributionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The node has no `name@host` name.
    case notDistributed(Atom)

    public var description: String {
        switch self {
        case .notDistributed(let name): return "node \(name) has no name@host name: it cannot be distributed"
        }
    }
}
