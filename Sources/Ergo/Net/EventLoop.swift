import CErgoCore
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A connection of an `EventLoop` (the C loop's 64-bit id: slot and
/// generation, so a closed connection's id never names a new one).
public struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
    public let raw: UInt64
    public var description: String { "conn#\(raw & 0xFFFF_FFFF).\(raw >> 32)" }
}

/// A listening socket of an `EventLoop`.
public struct ListenerID: Hashable, Sendable {
    public let raw: UInt64
}

/// A pending `EventLoop.timer`.
public struct LoopTimer: Hashable, Sendable {
    let tag: UInt64
}

/// What a connection does with its events. Every closure runs on the loop's
/// thread, one at a time: keep them short and hand longer work elsewhere.
public struct ConnectionHandler: Sendable {
    /// The connection is up (connected; not called for accepted ones).
    public var onConnect: @Sendable (ConnectionID) -> Void
    /// Bytes (raw framing) or one whole packet without its header; the
    /// buffer is valid only during the call.
    public var onPacket: @Sendable (ConnectionID, UnsafeRawBufferPointer) -> Void
    /// The connection is gone, once: `nil` when the peer closed, `.closed`
    /// after `close`, otherwise the reason (`.tickTimeout`, `.tooBig`, an errno).
    public var onClose: @Sendable (ConnectionID, LoopError?) -> Void
    /// A send refused with `.busy` may be tried again.
    public var onWritable: @Sendable (ConnectionID) -> Void

    public init(onConnect: @escaping @Sendable (ConnectionID) -> Void = { _ in },
                onPacket: @escaping @Sendable (ConnectionID, UnsafeRawBufferPointer) -> Void,
                onClose: @escaping @Sendable (ConnectionID, LoopError?) -> Void = { _, _ in },
                onWritable: @escaping @Sendable (ConnectionID) -> Void = { _ in }) {
        self.onConnect = onConnect
        self.onPacket = onPacket
        self.onClose = onClose
        self.onWritable = onWritable
    }
}

/// The event loop of the network layer: a C `ergo_loop` (io_uring, or epoll
/// where io_uring is refused) run by a dedicated OS thread. Every method is
/// thread-safe; handlers run on the loop thread. Call `shutdown()` when done
/// (handlers that capture the loop keep it alive until then).
public final class EventLoop: @unchecked Sendable {
    /// Which backend to run.
    public enum Backend: Sendable {
        /// `ERGO_EVENT_LOOP=epoll|uring|auto` (unset: automatic).
        case environment
        /// io_uring if the kernel allows it, else epoll.
        case automatic
        case epoll
        /// io_uring or fail with `LoopError.unsupported`.
        case ioUring
    }

    /// How incoming bytes are cut into packets.
    public enum Framing: Sendable {
        /// Bytes as they arrive.
        case raw
        /// 2-byte big-endian length header (the handshake's `{packet, 2}`).
        case packet2
        /// 4-byte big-endian length header (distribution's `{packet, 4}`);
        /// a zero-length packet is a tick and is not delivered.
        case packet4
    }

    /// Limits of a loop (`ergo_loop_config`); `nil` keeps the C default.
    public struct Options: Sendable {
        public var backend: Backend = .environment
        public var maxConnections: Int?
        /// Queued outgoing bytes per connection before a send is `.busy`.
        public var maxSendQueue: Int?
        /// Default packet length limit.
        public var maxPacket: Int?
        public init(backend: Backend = .environment) { self.backend = backend }
    }

    private let loop: OpaquePointer
    private let core: LoopCore
    private let context: Unmanaged<LoopCore>
    private var thread = pthread_t()
    private let state = Locked<Bool>(false)  // shut down
    /// "io_uring" or "epoll".
    public let backendName: String
    public let logger: Logger

    public convenience init(backend: Backend = .environment, logger: Logger = Logger(label: "ergo.net")) throws(LoopError) {
        try self.init(options: Options(backend: backend), logger: logger)
    }

    public init(options: Options, logger: Logger = Logger(label: "ergo.net")) throws(LoopError) {
        var cfg = ergo_loop_config()
        ergo_loop_config_init(&cfg)
        switch options.backend {
        case .environment: cfg.backend = ERGO_LOOP_BACKEND_ENV
        case .automatic: cfg.backend = ERGO_LOOP_BACKEND_AUTO
        case .epoll: cfg.backend = ERGO_LOOP_BACKEND_EPOLL
        case .ioUring: cfg.backend = ERGO_LOOP_BACKEND_URING
        }
        if let n = options.maxConnections { cfg.max_conns = UInt32(clamping: n) }
        if let n = options.maxSendQueue { cfg.max_send_queue = n }
        if let n = options.maxPacket { cfg.max_packet = n }
        var cb = ergo_loop_callbacks()
        cb.on_accept = { ctx, listener, conn, peer in
            LoopCore.of(ctx).accepted(listener, conn, peer.map { String(cString: $0) } ?? "")
        }
        cb.on_connect = { ctx, conn, tag, err in LoopCore.of(ctx).connected(conn, tag, err) }
        cb.on_packet = { ctx, conn, data, len in
            LoopCore.of(ctx).packet(conn, UnsafeRawBufferPointer(start: data, count: len))
        }
        cb.on_close = { ctx, conn, err in LoopCore.of(ctx).closed(conn, err) }
        cb.on_timer = { ctx, tag in LoopCore.of(ctx).timer(tag) }
        cb.on_wake = { ctx, tag in LoopCore.of(ctx).wake(tag) }
        cb.on_writable = { ctx, conn in LoopCore.of(ctx).writable(conn) }
        let core = LoopCore()
        let context = Unmanaged.passRetained(core)
        var out: OpaquePointer?
        let rc = ergo_loop_create(&out, &cfg, &cb, context.toOpaque())
        guard rc == 0, let out else {
            context.release()
            throw LoopError(code: rc < 0 ? rc : Int32(ERGO_LOOP_E_NOMEM))
        }
        self.loop = out
        self.core = core
        self.context = context
        self.logger = logger
        backendName = String(cString: ergo_loop_backend_name(out))
        BackendLog.report(backendName, logger)
        let pointer = LoopPointer(loop: out, core: core, context: context)
        thread = OSThread.start {
            let rc = ergo_loop_run(pointer.loop)
            if rc != 0 { logger.error("event loop failed", metadata: ["error": "\(LoopError(code: rc))"]) }
            // Shut down from its own thread: the teardown is this thread's.
            if core.tearDownOnExit {
                ergo_loop_destroy(pointer.loop)
                pointer.core.finish()
                pointer.context.release()
            }
        }
    }

    deinit { shutdown() }

    /// Stops the loop thread, closes every socket and releases the loop.
    /// Connections still open get `onClose(.closed)` and pending connects
    /// fail with `.closed`, on the calling thread, after the loop thread
    /// ended. From a handler (or when the last reference goes away on the
    /// loop thread) it returns at once, and the loop thread does all that
    /// once the handler has returned.
    public func shutdown() {
        let first = state.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        guard first else { return }
        if isLoopThread {
            core.tearDownOnExit = true  // read by this same thread after run returns
            ergo_loop_stop(loop)
            pthread_detach(thread)
            return
        }
        ergo_loop_stop(loop)
        pthread_join(thread, nil)
        ergo_loop_destroy(loop)
        core.finish()
        context.release()
    }

    /// Whether the caller runs on this loop's thread (inside a handler).
    public var isLoopThread: Bool { pthread_equal(pthread_self(), thread) != 0 }

    // MARK: Sockets

    /// Listens on `host` (nil: 0.0.0.0; "::" for IPv6) and `port` (0: an
    /// ephemeral one); returns the listener and the bound port. `onAccept`
    /// runs on the loop thread for each accepted connection with the peer
    /// ("a.b.c.d:port" or "[v6]:port") and gives its handler, or nil to
    /// close it at once. Accepted connections start in raw framing.
    @discardableResult
    public func listen(host: String? = nil, port: Int, backlog: Int = 128,
                       onAccept: @escaping @Sendable (ConnectionID, String) -> ConnectionHandler?)
    throws(LoopError) -> (listener: ListenerID, port: Int) {
        guard (0...65535).contains(port) else { throw .argument }
        var id: ergo_loop_id = 0
        var bound: UInt16 = 0
        // The table stays locked until the listener is in it, so an accept
        // the loop makes at once finds it.
        let rc = core.tables.withLock { t -> Int32 in
            let rc = host.withOptionalCString { ergo_loop_listen(loop, $0, UInt16(port), Int32(backlog), &id, &bound) }
            if rc == 0 { t.listeners[id] = onAccept }
            return rc
        }
        try LoopError.check(rc)
        return (ListenerID(raw: id), Int(bound))
    }

    /// Starts a connection; `completion` runs on the loop thread with the
    /// connection once it is up (after `handler.onConnect`), or the error.
    /// Sends made before it is up are queued. Returns the id at once.
    @discardableResult
    public func connect(host: String, port: Int, timeout: Duration? = nil, handler: ConnectionHandler,
                        completion: @escaping @Sendable (Result<ConnectionID, LoopError>) -> Void) -> ConnectionID? {
        guard (1...65535).contains(port) else {
            completion(.failure(.argument))
            return nil
        }
        let tag = core.tables.withLock { t -> UInt64 in
            let tag = t.nextTag()
            t.pending[tag] = PendingConnect(handler: handler, completion: completion)
            return tag
        }
        var id: ergo_loop_id = 0
        let ms = timeout.map { UInt32(clamping: max(1, $0.milliseconds)) } ?? 0
        let rc = ergo_loop_connect(loop, host, UInt16(port), ms, tag, &id)
        if rc < 0 {
            core.tables.withLock { _ = $0.pending.removeValue(forKey: tag) }
            completion(.failure(LoopError(code: rc)))
            return nil
        }
        return ConnectionID(raw: id)
    }

    /// Connects and waits until the connection is up.
    public func connect(host: String, port: Int, timeout: Duration? = nil,
                        handler: ConnectionHandler) async throws(LoopError) -> ConnectionID {
        let result = await withCheckedContinuation { (c: CheckedContinuation<Result<ConnectionID, LoopError>, Never>) in
            connect(host: host, port: port, timeout: timeout, handler: handler) { c.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Closes a connection (its handler gets `onClose(.closed)`); bytes
    /// still queued are dropped.
    public func close(_ conn: ConnectionID) throws(LoopError) {
        try LoopError.check(ergo_loop_close(loop, conn.raw))
    }

    /// Closes a connection once everything queued for it has been written.
    public func closeAfterFlush(_ conn: ConnectionID) throws(LoopError) {
        try LoopError.check(ergo_loop_close_flushed(loop, conn.raw))
    }

    /// Stops listening (no callback).
    public func close(_ listener: ListenerID) throws(LoopError) {
        core.tables.withLock { _ = $0.listeners.removeValue(forKey: listener.raw) }
        try LoopError.check(ergo_loop_close(loop, listener.raw))
    }

    // MARK: Sending

    /// Queues bytes, all or nothing; `.busy` when the queue is full (try
    /// again after `onWritable`), `.stale` when the connection is gone.
    public func send(_ conn: ConnectionID, _ bytes: [UInt8]) throws(LoopError) {
        try send(conn, bytes, packet: false)
    }

    /// As `send`, with a 4-byte big-endian length header in front (a
    /// `{packet, 4}` packet).
    public func sendPacket(_ conn: ConnectionID, _ bytes: [UInt8]) throws(LoopError) {
        try send(conn, bytes, packet: true)
    }

    /// As `sendPacket`, for a packet that need not leave at once (a
    /// demonitor): it keeps its place in the stream but waits, without
    /// waking the loop, for the next send to the connection (and leaves in
    /// one write with it), for the loop's next round, or about a
    /// millisecond, whichever comes first.
    public func sendPacketLazily(_ conn: ConnectionID, _ bytes: [UInt8]) throws(LoopError) {
        let rc = bytes.withUnsafeBytes { raw -> Int32 in
            var iov = iovec(iov_base: UnsafeMutableRawPointer(mutating: raw.baseAddress), iov_len: raw.count)
            return ergo_loop_send_packet_lazy(loop, conn.raw, &iov, 1)
        }
        try LoopError.check(rc)
    }

    /// Queues the buffers' bytes in order, as one send (one packet when `packet`).
    public func send(_ conn: ConnectionID, buffers: [UnsafeRawBufferPointer], packet: Bool = false) throws(LoopError) {
        var iov = buffers.map { iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count) }
        let rc = iov.withUnsafeMutableBufferPointer { p in
            packet ? ergo_loop_send_packet(loop, conn.raw, p.baseAddress, Int32(p.count))
                : ergo_loop_send(loop, conn.raw, p.baseAddress, Int32(p.count))
        }
        try LoopError.check(rc)
    }

    /// Sends the bytes the iovecs describe, in order, as one send (no
    /// framing added): all or nothing, as `send`.
    public func send(_ conn: ConnectionID, iovecs: UnsafeBufferPointer<iovec>) throws(LoopError) {
        try LoopError.check(ergo_loop_send(loop, conn.raw, iovecs.baseAddress, Int32(iovecs.count)))
    }

    private func send(_ conn: ConnectionID, _ bytes: [UInt8], packet: Bool) throws(LoopError) {
        let rc = bytes.withUnsafeBytes { raw -> Int32 in
            var iov = iovec(iov_base: UnsafeMutableRawPointer(mutating: raw.baseAddress), iov_len: raw.count)
            return packet ? ergo_loop_send_packet(loop, conn.raw, &iov, 1) : ergo_loop_send(loop, conn.raw, &iov, 1)
        }
        try LoopError.check(rc)
    }

    // MARK: Framing and ticks

    /// Sets how incoming bytes are cut (`maxPacket` nil: the loop's limit).
    /// From a handler it applies to the very next byte.
    public func setFraming(_ conn: ConnectionID, _ framing: Framing, maxPacket: Int? = nil) throws(LoopError) {
        let mode: ergo_loop_framing = switch framing {
        case .raw: ERGO_LOOP_RAW
        case .packet2: ERGO_LOOP_PACKET2
        case .packet4: ERGO_LOOP_PACKET4
        }
        try LoopError.check(ergo_loop_set_framing(loop, conn.raw, mode, maxPacket ?? 0))
    }

    /// net_ticktime ticks: a tick every `interval` if nothing was written,
    /// and the connection closes (`.tickTimeout`) after 4 silent intervals.
    /// nil turns them off.
    public func setTick(_ conn: ConnectionID, interval: Duration?) throws(LoopError) {
        let ms = interval.map { UInt32(clamping: max(1, $0.milliseconds)) } ?? 0
        try LoopError.check(ergo_loop_set_tick(loop, conn.raw, ms))
    }

    // MARK: Timers and work

    /// Runs `body` on the loop thread after `delay`.
    @discardableResult
    public func timer(after delay: Duration, _ body: @escaping @Sendable () -> Void) throws(LoopError) -> LoopTimer {
        let tag = core.tables.withLock { t -> UInt64 in
            let tag = t.nextTag()
            t.timers[tag] = body
            return tag
        }
        let rc = ergo_loop_timer(loop, UInt32(clamping: max(0, delay.milliseconds)), tag)
        if rc < 0 {
            core.tables.withLock { _ = $0.timers.removeValue(forKey: tag) }
            throw LoopError(code: rc)
        }
        return LoopTimer(tag: tag)
    }

    /// Cancels a timer; from the loop thread it will not run after this.
    public func cancel(_ timer: LoopTimer) {
        core.tables.withLock { _ = $0.timers.removeValue(forKey: timer.tag) }
        _ = ergo_loop_timer_cancel(loop, timer.tag)
    }

    /// Runs `body` on the loop thread soon, in order with other commands.
    public func execute(_ body: @escaping @Sendable () -> Void) throws(LoopError) {
        let tag = core.tables.withLock { t -> UInt64 in
            let tag = t.nextTag()
            t.jobs[tag] = body
            return tag
        }
        let rc = ergo_loop_wake(loop, tag)
        if rc < 0 {
            core.tables.withLock { _ = $0.jobs.removeValue(forKey: tag) }
            throw LoopError(code: rc)
        }
    }
}

/// What the loop thread needs: the loop for `ergo_loop_run`, and what it
/// releases when it tears the loop down itself.
private struct LoopPointer: @unchecked Sendable {
    let loop: OpaquePointer
    let core: LoopCore
    let context: Unmanaged<LoopCore>
}

private struct PendingConnect {
    let handler: ConnectionHandler
    let completion: @Sendable (Result<ConnectionID, LoopError>) -> Void
}

/// The loop's context: handler tables, under a lock (the loop thread reads
/// them, any thread adds to them). Handlers are called without the lock.
private final class LoopCore: @unchecked Sendable {
    struct Tables {
        var connections: [UInt64: ConnectionHandler] = [:]
        var pending: [UInt64: PendingConnect] = [:]
        var listeners: [UInt64: @Sendable (ConnectionID, String) -> ConnectionHandler?] = [:]
        var timers: [UInt64: @Sendable () -> Void] = [:]
        var jobs: [UInt64: @Sendable () -> Void] = [:]
        var tag: UInt64 = 0
        mutating func nextTag() -> UInt64 {
            tag += 1
            return tag
        }
    }

    let tables = Locked(Tables())
    /// Set and read on the loop thread only (shutdown from a handler).
    var tearDownOnExit = false

    static func of(_ ctx: UnsafeMutableRawPointer?) -> LoopCore {
        Unmanaged<LoopCore>.fromOpaque(ctx!).takeUnretainedValue()
    }

    func accepted(_ listener: UInt64, _ conn: UInt64, _ peer: String) {
        let onAccept = tables.withLock { $0.listeners[listener] }
        guard let handler = onAccept?(ConnectionID(raw: conn), peer) else {
            // Unknown listener or refused: the C loop reports on_close for it.
            return
        }
        tables.withLock { $0.connections[conn] = handler }
    }

    func connected(_ conn: UInt64, _ tag: UInt64, _ err: Int32) {
        guard let pending = tables.withLock({ $0.pending.removeValue(forKey: tag) }) else { return }
        if err == 0 {
            tables.withLock { $0.connections[conn] = pending.handler }
            pending.handler.onConnect(ConnectionID(raw: conn))
            pending.completion(.success(ConnectionID(raw: conn)))
        } else {
            pending.completion(.failure(LoopError(code: err)))
        }
    }

    func packet(_ conn: UInt64, _ bytes: UnsafeRawBufferPointer) {
        tables.withLock { $0.connections[conn] }?.onPacket(ConnectionID(raw: conn), bytes)
    }

    func closed(_ conn: UInt64, _ err: Int32) {
        let handler = tables.withLock { $0.connections.removeValue(forKey: conn) }
        handler?.onClose(ConnectionID(raw: conn), err == 0 ? nil : LoopError(code: err))
    }

    func writable(_ conn: UInt64) {
        tables.withLock { $0.connections[conn] }?.onWritable(ConnectionID(raw: conn))
    }

    func timer(_ tag: UInt64) {
        tables.withLock { $0.timers.removeValue(forKey: tag) }?()
    }

    func wake(_ tag: UInt64) {
        tables.withLock { $0.jobs.removeValue(forKey: tag) }?()
    }

    /// After the loop was destroyed: tell whoever still waits, drop the rest.
    func finish() {
        let t = tables.withLock { t -> Tables in
            defer { t = Tables() }
            return t
        }
        for (tag, p) in t.pending.sorted(by: { $0.key < $1.key }) {
            _ = tag
            p.completion(.failure(.closed))
        }
        for (id, h) in t.connections { h.onClose(ConnectionID(raw: id), .closed) }
    }
}

/// The backend is logged at info once per process, at debug afterwards.
private enum BackendLog {
    static let logged = Locked(false)
    static func report(_ name: String, _ logger: Logger) {
        let first = logged.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        logger.log(level: first ? .info : .debug, "event loop: \(name)")
    }
}

extension Duration {
    /// Whole milliseconds, rounded up (a 0.5 ms timeout is 1 ms, not none).
    var milliseconds: Int {
        let (s, atto) = components
        let ms = s * 1000 + (atto + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int(clamping: ms)
    }
}

extension Optional where Wrapped == String {
    func withOptionalCString<R>(_ body: (UnsafePointer<CChar>?) -> R) -> R {
        switch self {
        case .some(let s): s.withCString { body($0) }
        case .none: body(nil)
        }
    }
}
