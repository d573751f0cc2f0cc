import Logging

/// A client of EPMD (the Erlang Port Mapper Daemon) over an `EventLoop`:
/// register a node (ALIVE2), look one up (PORT_PLEASE2), list them (NAMES).
public struct EPMDClient: Sendable {
    public let loop: EventLoop
    /// The EPMD port (`defaultPort`: `ERL_EPMD_PORT`, else 4369).
    public let port: Int
    /// How long a connection to EPMD may take.
    public var connectTimeout: Duration = .seconds(5)
    /// How long a whole exchange (connect, request, answer) may take.
    public var answerTimeout: Duration = .seconds(10)

    public init(loop: EventLoop, port: Int = EPMDClient.defaultPort) {
        self.loop = loop
        self.port = port
    }

    /// Registers `name` (the part before `@`) with its distribution `port`.
    /// The registration lives as long as its connection to EPMD: close it
    /// (or let the node end) to unregister. Returns once EPMD answered, with
    /// the creation EPMD gave.
    public func register(name: String, port nodePort: Int, hidden: Bool = false, host: String = "127.0.0.1",
                         onLost: @escaping @Sendable (EPMDRegistration) -> Void = { _ in })
    async throws(EPMDError) -> EPMDRegistration {
        try EPMDWire.checkName(name)
        let request = try EPMDWire.alive2Request(EPMDNodeInfo(name: name, port: nodePort, hidden: hidden))
        let registration = EPMDRegistration(loop: loop, name: name, port: nodePort, onLost: onLost)
        let (answer, conn) = try await exchange(host: host, request: request, keepOpen: true,
                                                parse: { bytes, _ throws(EPMDError) in try EPMDWire.parseAlive2(bytes) },
                                                afterwards: { registration.connectionClosed($0) })
        guard answer.result == 0 else {
            registration.close()
            try? loop.close(conn)
            throw .registrationRefused(name: name, result: answer.result)
        }
        registration.opened(conn: conn, creation: answer.creation)
        return registration
    }

    /// The node `name` registered at the EPMD on `host`, or nil if none is.
    public func lookup(name: String, host: String = "127.0.0.1") async throws(EPMDError) -> EPMDNodeInfo? {
        try EPMDWire.checkName(name)
        let request = try EPMDWire.portPlease2Request(name)
        let (answer, _) = try await exchange(host: host, request: request, keepOpen: false,
                                             parse: { bytes, _ throws(EPMDError) in try EPMDWire.parsePort2(bytes) })
        return answer
    }

    /// Every node registered at the EPMD on `host`, as `net_adm:names()`.
    public func names(host: String = "127.0.0.1") async throws(EPMDError) -> [EPMDName] {
        let request = try EPMDWire.namesRequest()
        let (answer, _) = try await exchange(host: host, request: request, keepOpen: false,
                                             parse: { bytes, closed throws(EPMDError) in
                                                 closed ? try EPMDWire.parseNames(bytes) : nil
                                             })
        return answer
    }

    /// Connects, sends `request`, collects bytes until `parse` makes an
    /// answer of them (it is also asked once more when EPMD closes).
    /// `afterwards` hears the close of a connection kept open.
    private func exchange<T: Sendable>(host: String, request: [UInt8], keepOpen: Bool,
                                       parse: @escaping @Sendable ([UInt8], Bool) throws(EPMDError) -> T?,
                                       afterwards: (@Sendable (LoopError?) -> Void)? = nil)
    async throws(EPMDError) -> (T, ConnectionID) {
        let epmdPort = port
        let loop = self.loop
        let result = await withCheckedContinuation { (c: CheckedContinuation<Result<(T, ConnectionID), EPMDError>, Never>) in
            let state = Locked(ExchangeState<T>(continuation: c))
            let handler = ConnectionHandler(
                onPacket: { conn, bytes in
                    let done = state.withLock { s -> Result<(T, ConnectionID), EPMDError>? in
                        guard s.continuation != nil else { return nil }
                        s.buffer.append(contentsOf: bytes)
                        do throws(EPMDError) {
                            guard let answer = try parse(s.buffer, false) else { return nil }
                            return .success((answer, conn))
                        } catch {
                            return .failure(error)
                        }
                    }
                    guard let done else { return }
                    if case .failure = done { try? loop.close(conn) } else if !keepOpen { try? loop.close(conn) }
                    state.withLock { $0.finish(done) }
                },
                onClose: { conn, error in
                    let pending = state.withLock { s -> Bool in s.continuation != nil }
                    guard pending else {
                        afterwards?(error)
                        return
                    }
                    let done = state.withLock { s -> Result<(T, ConnectionID), EPMDError> in
                        do throws(EPMDError) {
                            if let answer = try parse(s.buffer, true) { return .success((answer, conn)) }
                            return .failure(.closed)
                        } catch {
                            return .failure(error)
                        }
                    }
                    state.withLock { $0.finish(done) }
                })
            // Give up on an EPMD that accepts and never answers.
            let timer = try? loop.timer(after: answerTimeout) {
                let conn = state.withLock { s -> ConnectionID? in
                    guard s.continuation != nil else { return nil }
                    s.finish(.failure(.timedOut))
                    return s.conn
                }
                if let conn { try? loop.close(conn) }
            }
            let cancelTimer: @Sendable () -> Void = { if let timer { loop.cancel(timer) } }
            let finished = state.withLock { s -> Bool in
                if s.continuation == nil { return true }
                s.onFinish = cancelTimer
                return false
            }
            if finished { cancelTimer() }
            loop.connect(host: host, port: epmdPort, timeout: connectTimeout, handler: handler) { connected in
                switch connected {
                case .success(let conn):
                    let late = state.withLock { s -> Bool in
                        s.conn = conn
                        return s.continuation == nil
                    }
                    if late {  // timed out meanwhile
                        try? loop.close(conn)
                        return
                    }
                    do throws(LoopError) {
                        try loop.send(conn, request)
                    } catch {
                        try? loop.close(conn)
                        state.withLock { $0.finish(.failure(.unreachable(host: host, port: epmdPort, error))) }
                    }
                case .failure(let error):
                    state.withLock { $0.finish(.failure(.unreachable(host: host, port: epmdPort, error))) }
                }
            }
        }
        return try result.get()
    }
}

private struct ExchangeState<T: Sendable> {
    var continuation: CheckedContinuation<Result<(T, ConnectionID), EPMDError>, Never>?
    var buffer: [UInt8] = []
    var conn: ConnectionID?
    var onFinish: (@Sendable () -> Void)?

    mutating func finish(_ result: Result<(T, ConnectionID), EPMDError>) {
        continuation?.resume(returning: result)
        continuation = nil
        onFinish?()
        onFinish = nil
    }
}

/// A node's registration at EPMD: as long as its connection is open.
public final class EPMDRegistration: Sendable {
    public let name: String
    public let port: Int
    private let loop: EventLoop
    private let onLost: @Sendable (EPMDRegistration) -> Void
    private let state = Locked(State())

    private struct State {
        var conn: ConnectionID?
        var creation: UInt32 = 0
        var open = false
        var gone = false
        var closedByUs = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    init(loop: EventLoop, name: String, port: Int, onLost: @escaping @Sendable (EPMDRegistration) -> Void) {
        self.loop = loop
        self.name = name
        self.port = port
        self.onLost = onLost
    }

    /// The creation EPMD gave (ALIVE2_X_RESP's 32 bits, or ALIVE2_RESP's 16).
    public var creation: UInt32 { state.withLock { $0.creation } }
    /// Whether the connection to EPMD is still open.
    public var isOpen: Bool { state.withLock { $0.open } }

    /// Unregisters (closes the connection to EPMD).
    public func close() {
        let conn = state.withLock { s -> ConnectionID? in
            s.closedByUs = true
            return s.conn
        }
        if let conn { try? loop.close(conn) }
    }

    /// Returns once the registration's connection has closed.
    public func waitClosed() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.gone { return true }
                s.waiters.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    func opened(conn: ConnectionID, creation: UInt32) {
        let closeNow = state.withLock { s -> Bool in
            s.conn = conn
            s.creation = creation
            s.open = !s.gone
            return s.closedByUs && !s.gone
        }
        if closeNow { try? loop.close(conn) }
    }

    func connectionClosed(_ error: LoopError?) {
        let (waiters, lost) = state.withLock { s -> ([CheckedContinuation<Void, Never>], Bool) in
            s.open = false
            s.gone = true
            defer { s.waiters = [] }
            return (s.waiters, !s.closedByUs)
        }
        for w in waiters { w.resume() }
        if lost { onLost(self) }
    }
}
