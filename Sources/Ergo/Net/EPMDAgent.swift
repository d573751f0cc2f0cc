import Logging

/// How a node keeps itself registered at EPMD for its lifetime, with or
/// without an Erlang installation:
///
/// 1. register at the EPMD on `epmdPort`;
/// 2. if nothing listens there, serve EPMD itself (`EPMDServer`) and
///    register in it (if another node won the port meanwhile, register in
///    that one);
/// 3. when the registration's connection closes (the external `epmd` died,
///    or the node that served it stopped), do the same again: one of the
///    nodes takes the role over and every node re-registers.
public final class EPMDAgent: Sendable {
    public let name: String
    public let nodePort: Int
    public let hidden: Bool
    public let client: EPMDClient
    /// Whether to serve EPMD when nothing listens on the port.
    public let serves: Bool
    private let logger: Logger
    private let state = Locked(State())

    private struct State {
        var registration: EPMDRegistration?
        var server: EPMDServer?
        var registrations = 0
        var closed = false
        var waiters: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private init(loop: EventLoop, name: String, nodePort: Int, hidden: Bool, epmdPort: Int, serves: Bool, logger: Logger) {
        client = EPMDClient(loop: loop, port: epmdPort)
        self.name = name
        self.nodePort = nodePort
        self.hidden = hidden
        self.serves = serves
        self.logger = logger
    }

    /// Registers `name` (before the `@`) with distribution port `nodePort`,
    /// serving EPMD on `epmdPort` first if nothing listens there and
    /// `serve` allows it. Throws when no EPMD could be reached or started.
    public static func start(loop: EventLoop, name: String, nodePort: Int, hidden: Bool = false,
                             epmdPort: Int = EPMDClient.defaultPort, serve: Bool = true,
                             logger: Logger? = nil) async throws -> EPMDAgent {
        let agent = EPMDAgent(loop: loop, name: name, nodePort: nodePort, hidden: hidden, epmdPort: epmdPort,
                              serves: serve, logger: logger ?? loop.logger)
        try await agent.establish(attempts: 20)
        return agent
    }

    /// The creation of the current registration.
    public var creation: UInt32 { state.withLock { $0.registration?.creation ?? 0 } }
    /// Whether this node serves EPMD now.
    public var isServing: Bool { state.withLock { $0.server != nil } }
    /// The embedded server, while this node serves EPMD.
    public var server: EPMDServer? { state.withLock { $0.server } }
    /// How many times the node has registered (1 after start; more after takeovers).
    public var registrationCount: Int { state.withLock { $0.registrations } }

    /// Returns once the node has registered `count` times in all.
    public func waitForRegistration(count: Int) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.registrations >= count || s.closed { return true }
                s.waiters.append((count, c))
                return false
            }
            if now { c.resume() }
        }
    }

    /// Unregisters and stops serving EPMD.
    public func close() {
        let (registration, server, waiters) = state.withLock { s in
            s.closed = true
            defer { s.waiters = [] }
            return (s.registration, s.server, s.waiters)
        }
        registration?.close()
        server?.stop()
        for w in waiters { w.continuation.resume() }
    }

    private func establish(attempts: Int) async throws {
        var lastError: Error = EPMDError.closed
        for attempt in 0..<attempts {
            if state.withLock({ $0.closed }) { return }
            do {
                let registration = try await client.register(name: name, port: nodePort, hidden: hidden) { [weak self] lost in
                    self?.lost(lost)
                }
                let (keep, waiters) = state.withLock { s -> (Bool, [CheckedContinuation<Void, Never>]) in
                    guard !s.closed else { return (false, []) }
                    s.registration = registration
                    s.registrations += 1
                    let ready = s.waiters.filter { $0.count <= s.registrations }.map(\.continuation)
                    s.waiters.removeAll { $0.count <= s.registrations }
                    return (true, ready)
                }
                if !keep { registration.close() }
                for w in waiters { w.resume() }
                logger.info("registered at EPMD", metadata: [
                    "name": "\(name)", "epmd_port": "\(client.port)", "creation": "\(registration.creation)",
                ])
                return
            } catch EPMDError.unreachable(_, _, let error) where serves && error == .connectionRefused {
                lastError = EPMDError.unreachable(host: "127.0.0.1", port: client.port, error)
                serve()
                continue  // register in our own server (or the one that won) at once
            } catch {
                lastError = error
            }
            // Another node may be binding the port or restarting EPMD: retry
            // after a short, growing pause (a back-off, not a synchronisation).
            try? await Task.sleep(for: .milliseconds(10 * min(attempt + 1, 20)))
        }
        throw lastError
    }

    /// Tries to serve EPMD on the port; another EPMD there is fine.
    private func serve() {
        guard state.withLock({ $0.server == nil && !$0.closed }) else { return }
        do {
            let server = try EPMDServer(loop: client.loop, port: client.port, logger: logger)
            let keep = state.withLock { s -> Bool in
                guard !s.closed, s.server == nil else { return false }
                s.server = server
                return true
            }
            if !keep { server.stop() }
        } catch {
            logger.debug("not serving EPMD", metadata: ["port": "\(client.port)", "error": "\(error)"])
        }
    }

    private func lost(_ registration: EPMDRegistration) {
        let current = state.withLock { s -> Bool in
            guard !s.closed, s.registration === registration else { return false }
            s.registration = nil
            return true
        }
        guard current else { return }
        logger.warning("EPMD connection lost; registering again", metadata: ["name": "\(name)", "epmd_port": "\(client.port)"])
        Task {
            do {
                try await self.establish(attempts: 50)
            } catch {
                self.logger.error("could not register at EPMD again", metadata: ["name": "\(self.name)", "error": "\(error)"])
            }
        }
    }
}
