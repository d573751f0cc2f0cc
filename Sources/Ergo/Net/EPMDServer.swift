import CErgoCore
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// EPMD served by the node itself, on an `EventLoop`, so that no Erlang
/// installation is needed: Erlang nodes and Ergo nodes register in it
/// (ALIVE2), look each other up (PORT_PLEASE2) and list it (NAMES) as with
/// `epmd`. A registration ends when its connection closes. DUMP, KILL and
/// STOP are not served (the connection is closed without an answer).
public final class EPMDServer: Sendable {
    public let loop: EventLoop
    /// The port it serves on.
    public let port: Int
    private let logger: Logger
    private let state: Locked<State>

    private struct Registered {
        var info: EPMDNodeInfo
        var conn: ConnectionID
        var creation: UInt32
    }

    private struct State {
        var listeners: [ListenerID] = []
        var nodes: [String: Registered] = [:]
        var buffers: [ConnectionID: [UInt8]] = [:]
        var names: [ConnectionID: String] = [:]
        var creation: UInt32
        var stopped = false
    }

    /// Binds `port` on 0.0.0.0 (and on `::` where that is a separate
    /// socket) and serves. Throws `LoopError.addressInUse` when another
    /// EPMD already has the port.
    public init(loop: EventLoop, port: Int = EPMDClient.defaultPort, logger: Logger? = nil) throws(LoopError) {
        self.loop = loop
        self.logger = logger ?? loop.logger
        // As epmd does for version 6 clients: a creation that starts at a
        // random non-zero value and grows by one per registration.
        state = Locked(State(creation: UInt32.random(in: 1...UInt32.max)))
        let (v4, bound) = try Self.listen(loop, host: "0.0.0.0", port: port, state: state, logger: self.logger)
        self.port = bound
        var listeners = [v4]
        // IPv6: with the dual-stack default `::` overlaps 0.0.0.0 and fails;
        // IPv4 connections are served already then.
        if let (v6, _) = try? Self.listen(loop, host: "::", port: bound, state: state, logger: self.logger) {
            listeners.append(v6)
        }
        state.withLock { $0.listeners = listeners }
        self.logger.info("serving EPMD", metadata: ["port": "\(bound)"])
    }

    /// The nodes registered now.
    public var registered: [EPMDNodeInfo] {
        state.withLock { $0.nodes.values.map(\.info).sorted { $0.name < $1.name } }
    }

    /// Stops listening and ends every registration (their connections close).
    public func stop() {
        let (listeners, conns) = state.withLock { s -> ([ListenerID], [ConnectionID]) in
            guard !s.stopped else { return ([], []) }
            s.stopped = true
            return (s.listeners, Array(s.buffers.keys))
        }
        for l in listeners { try? loop.close(l) }
        for c in conns { try? loop.close(c) }
    }

    private static func listen(_ loop: EventLoop, host: String, port: Int, state: Locked<State>,
                               logger: Logger) throws(LoopError) -> (ListenerID, Int) {
        let served = port
        return try loop.listen(host: host, port: port) { conn, _ in
            let open = state.withLock { s -> Bool in
                if s.stopped { return false }
                s.buffers[conn] = []
                return true
            }
            guard open else { return nil }
            return ConnectionHandler(
                onPacket: { conn, bytes in received(conn, bytes, loop: loop, state: state, port: served, logger: logger) },
                onClose: { conn, _ in
                    let name = state.withLock { s -> String? in
                        s.buffers[conn] = nil
                        guard let name = s.names.removeValue(forKey: conn) else { return nil }
                        s.nodes[name] = nil
                        return name
                    }
                    if let name { logger.debug("EPMD: unregistered", metadata: ["name": "\(name)"]) }
                })
        }
    }

    /// On the loop thread: the requests in what has arrived.
    private static func received(_ conn: ConnectionID, _ bytes: UnsafeRawBufferPointer, loop: EventLoop,
                                 state: Locked<State>, port: Int, logger: Logger) {
        var buffer = state.withLock { s -> [UInt8] in
            s.buffers[conn, default: []].append(contentsOf: bytes)
            return s.buffers[conn]!
        }
        while !buffer.isEmpty {
            var request = ergo_dist_epmd_request()
            var used = 0
            var info: EPMDNodeInfo?
            var asked = ""
            let rc = buffer.withUnsafeBufferPointer { p -> Int32 in
                let rc = ergo_dist_epmd_parse_request(p.baseAddress, p.count, 0, &request, &used)
                if rc == 0 {
                    if request.kind == UInt8(ERGO_DIST_EPMD_ALIVE2_REQ) { info = EPMDWire.info(request.node) }
                    if let name = request.name {
                        asked = String(decoding: UnsafeBufferPointer(start: name, count: Int(request.name_len)), as: UTF8.self)
                    }
                }
                return rc
            }
            if rc == Int32(ERGO_DIST_NEED_MORE) { break }
            if rc < 0 {
                logger.debug("EPMD: bad request, closing", metadata: ["error": "\(String(cString: ergo_dist_strerror(rc)))"])
                try? loop.close(conn)
                return
            }
            buffer.removeFirst(used)
            let wantsX = withUnsafePointer(to: &request.node) { ergo_dist_epmd_wants_x_resp($0) != 0 }
            switch Int32(request.kind) {
            case Int32(ERGO_DIST_EPMD_ALIVE2_REQ):
                guard let info else { break }
                alive2(conn, info, x: wantsX, loop: loop, state: state, logger: logger)
            case Int32(ERGO_DIST_EPMD_PORT_PLEASE2_REQ):
                let found = state.withLock { $0.nodes[asked]?.info }
                reply(conn, try? EPMDWire.port2Response(found), loop: loop, close: true)
                return
            case Int32(ERGO_DIST_EPMD_NAMES_REQ):
                let names = state.withLock { s in
                    s.nodes.values.sorted { $0.creation < $1.creation }.map { EPMDName(name: $0.info.name, port: $0.info.port) }
                }
                reply(conn, try? EPMDWire.namesResponse(epmdPort: port, names), loop: loop, close: true)
                return
            default:
                try? loop.close(conn)
                return
            }
        }
        state.withLock { s in if s.buffers[conn] != nil { s.buffers[conn] = buffer } }
    }

    private static func alive2(_ conn: ConnectionID, _ info: EPMDNodeInfo, x: Bool, loop: EventLoop,
                               state: Locked<State>, logger: Logger) {
        let creation = state.withLock { s -> UInt32? in
            if s.nodes[info.name] != nil || s.names[conn] != nil { return nil }
            var creation = s.creation
            s.creation &+= 1
            if s.creation == 0 { s.creation = 1 }
            // The 16-bit answer of version-5 clients carries 1...3, as old epmd gave.
            if !x { creation = creation % 3 + 1 }
            s.nodes[info.name] = Registered(info: info, conn: conn, creation: creation)
            s.names[conn] = info.name
            return creation
        }
        guard let creation else {
            logger.debug("EPMD: name in use", metadata: ["name": "\(info.name)"])
            reply(conn, try? EPMDWire.alive2Response(x: x, result: 1, creation: 0), loop: loop, close: true)
            return
        }
        logger.debug("EPMD: registered", metadata: ["name": "\(info.name)", "port": "\(info.port)", "creation": "\(creation)"])
        reply(conn, try? EPMDWire.alive2Response(x: x, result: 0, creation: creation), loop: loop, close: false)
    }

    private static func reply(_ conn: ConnectionID, _ bytes: [UInt8]?, loop: EventLoop, close: Bool) {
        guard let bytes, (try? loop.send(conn, bytes)) != nil else {
            try? loop.close(conn)
            return
        }
        if close { try? loop.closeAfterFlush(conn) }
    }
}
