import Testing
@testable import Ergo

/// Collects what handlers report, and lets a test await a condition on it.
final class Recorder<Value: Sendable>: @unchecked Sendable {
    private let state: Locked<(value: Value, waiters: [(check: (Value) -> Bool, c: CheckedContinuation<Void, Never>)])>

    init(_ value: Value) { state = Locked((value, [])) }

    var value: Value { state.withLock { $0.value } }

    func update(_ body: (inout Value) -> Void) {
        let ready = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            body(&s.value)
            let value = s.value
            let ready = s.waiters.filter { $0.check(value) }.map(\.c)
            s.waiters.removeAll { $0.check(value) }
            return ready
        }
        for c in ready { c.resume() }
    }

    /// Waits until `check` holds (or `timeout` passes: then the caller's
    /// expectations fail on the value as it is).
    func wait(timeout: Duration = .seconds(10), until check: @escaping @Sendable (Value) -> Bool) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let now = self.state.withLock { s -> Bool in
                        if check(s.value) { return true }
                        s.waiters.append((check, c))
                        return false
                    }
                    if now { c.resume() }
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            // Release a waiter left behind by the timeout.
            self.update { _ in }
            let left = self.state.withLock { s -> [CheckedContinuation<Void, Never>] in
                defer { s.waiters = [] }
                return s.waiters.map(\.c)
            }
            for c in left { c.resume() }
            group.cancelAll()
        }
    }
}

enum TestBackend: String, CaseIterable, Sendable {
    case epoll, uring

    /// A loop on this backend; the io_uring case is skipped where the kernel refuses it.
    func loop() throws -> EventLoop {
        switch self {
        case .epoll:
            return try EventLoop(backend: .epoll)
        case .uring:
            do {
                return try EventLoop(backend: .ioUring)
            } catch LoopError.unsupported {
                try Test.cancel("io_uring refused by this kernel; uring case skipped")
            }
        }
    }
}

@Suite struct EventLoopTests {
    @Test(arguments: TestBackend.allCases)
    func echoThroughTheWrapper(backend: TestBackend) async throws {
        let loop = try backend.loop()
        defer { loop.shutdown() }
        #expect(loop.backendName == (backend == .epoll ? "epoll" : "io_uring"))
        let accepted = Recorder<[String]>([])
        let (_, port) = try loop.listen(host: "127.0.0.1", port: 0) { conn, peer in
            accepted.update { $0.append(peer) }
            return ConnectionHandler(onPacket: { conn, bytes in try? loop.send(conn, Array(bytes)) })
        }
        #expect(port > 0)
        let received = Recorder<[UInt8]>([])
        let closed = Recorder<[LoopError?]>([])
        let conn = try await loop.connect(host: "127.0.0.1", port: port, timeout: .seconds(5), handler: ConnectionHandler(
            onPacket: { _, bytes in received.update { $0.append(contentsOf: bytes) } },
            onClose: { _, error in closed.update { $0.append(error) } }))
        try loop.send(conn, Array("hello ".utf8))
        let world = Array("world".utf8), bang = Array("!".utf8)
        try world.withUnsafeBytes { w in
            try bang.withUnsafeBytes { b in try loop.send(conn, buffers: [w, b]) }
        }
        await received.wait { $0.count == 12 }
        #expect(String(decoding: received.value, as: UTF8.self) == "hello world!")
        #expect(accepted.value.first?.hasPrefix("127.0.0.1:") == true)
        try loop.close(conn)
        await closed.wait { $0.count == 1 }
        #expect(closed.value == [.closed])
        #expect(throws: LoopError.stale) { try loop.send(conn, [1]) }
    }

    @Test(arguments: TestBackend.allCases)
    func packet4Framing(backend: TestBackend) async throws {
        let loop = try backend.loop()
        defer { loop.shutdown() }
        let packets = Recorder<[[UInt8]]>([])
        let (_, port) = try loop.listen(port: 0) { conn, _ in
            try? loop.setFraming(conn, .packet4, maxPacket: 1 << 20)
            return ConnectionHandler(onPacket: { _, bytes in packets.update { $0.append(Array(bytes)) } })
        }
        let closedBy = Recorder<[LoopError?]>([])
        let conn = try await loop.connect(host: "127.0.0.1", port: port, handler: ConnectionHandler(
            onPacket: { _, _ in }, onClose: { _, e in closedBy.update { $0.append(e) } }))
        try loop.sendPacket(conn, [1, 2, 3])
        try loop.send(conn, [0, 0, 0, 0])  // a tick: not delivered
        try loop.sendPacket(conn, [])  // also a tick
        let big = [UInt8](repeating: 7, count: 100_000)
        try loop.sendPacket(conn, big)
        try loop.send(conn, [0, 0, 0, 2, 9])  // a header, then the body in two sends
        try loop.send(conn, [8])
        await packets.wait { $0.count == 3 }
        #expect(packets.value == [[1, 2, 3], big, [9, 8]])
        // Over the limit: the accepting side closes, so this side sees the peer close.
        try loop.send(conn, [0x7F, 0, 0, 0])
        await closedBy.wait { $0.count == 1 }
        #expect(closedBy.value.count == 1)
    }

    @Test(arguments: TestBackend.allCases)
    func connectRefusedTimersAndExecute(backend: TestBackend) async throws {
        let loop = try backend.loop()
        defer { loop.shutdown() }
        let port = try freePort()
        await #expect(throws: LoopError.connectionRefused) {
            try await loop.connect(host: "127.0.0.1", port: port, handler: ConnectionHandler(onPacket: { _, _ in }))
        }
        let events = Recorder<[String]>([])
        let cancelled = try loop.timer(after: .milliseconds(20)) { events.update { $0.append("cancelled") } }
        try loop.timer(after: .milliseconds(30)) {
            events.update { $0.append("timer:\(loop.isLoopThread)") }
        }
        loop.cancel(cancelled)
        try loop.execute { events.update { $0.append("job:\(loop.isLoopThread)") } }
        await events.wait { $0.count == 2 }
        #expect(events.value == ["job:true", "timer:true"])
        #expect(!loop.isLoopThread)
    }

    @Test func busyIsAnErrorTheCallerCanHandle() async throws {
        var options = EventLoop.Options(backend: .epoll)
        options.maxSendQueue = 64 * 1024
        let loop = try EventLoop(options: options)
        defer { loop.shutdown() }
        // A peer that accepts and never reads.
        let (listener, port) = try loop.listen(port: 0) { _, _ in ConnectionHandler(onPacket: { _, _ in }) }
        _ = listener
        let writable = Recorder<Int>(0)
        let conn = try await loop.connect(host: "127.0.0.1", port: port, handler: ConnectionHandler(
            onPacket: { _, _ in }, onWritable: { _ in writable.update { $0 += 1 } }))
        let chunk = [UInt8](repeating: 1, count: 16 * 1024)
        #expect(Self.fillUntilBusy(loop, conn, chunk))
    }

    static func fillUntilBusy(_ loop: EventLoop, _ conn: ConnectionID, _ chunk: [UInt8]) -> Bool {
        for _ in 0..<100_000 {
            do {
                try loop.send(conn, chunk)
            } catch {
                return error == .busy
            }
        }
        return false
    }

    @Test func shutdownFailsPendingConnectsAndClosesConnections() async throws {
        let loop = try EventLoop(backend: .epoll)
        let (_, port) = try loop.listen(port: 0) { _, _ in ConnectionHandler(onPacket: { _, _ in }) }
        let closed = Recorder<[LoopError?]>([])
        _ = try await loop.connect(host: "127.0.0.1", port: port, handler: ConnectionHandler(
            onPacket: { _, _ in }, onClose: { _, e in closed.update { $0.append(e) } }))
        loop.shutdown()
        #expect(closed.value.contains(.closed))
        loop.shutdown()  // twice is fine
    }

    @Test(arguments: TestBackend.allCases)
    func ticksAndASilentPeer(backend: TestBackend) async throws {
        let loop = try backend.loop()
        defer { loop.shutdown() }
        // The accepting side reads in packet4 and never writes.
        let ticksSeen = Recorder<Int>(0)
        let (_, port) = try loop.listen(port: 0) { conn, _ in
            try? loop.setFraming(conn, .packet4)
            return ConnectionHandler(onPacket: { _, _ in ticksSeen.update { $0 += 1 } })
        }
        let closed = Recorder<[LoopError?]>([])
        let conn = try await loop.connect(host: "127.0.0.1", port: port, handler: ConnectionHandler(
            onPacket: { _, _ in }, onClose: { _, e in closed.update { $0.append(e) } }))
        try loop.setFraming(conn, .packet4)
        try loop.setTick(conn, interval: .milliseconds(25))
        // Nothing is read for 4 intervals: the connection is dropped.
        await closed.wait { $0.count == 1 }
        #expect(closed.value == [.tickTimeout])
        #expect(ticksSeen.value == 0)  // ticks are not delivered as packets
    }

    @Test func writableAfterBusy() async throws {
        var options = EventLoop.Options(backend: .epoll)
        options.maxSendQueue = 256 * 1024
        let loop = try EventLoop(options: options)
        defer { loop.shutdown() }
        // The accepting side reads and drops what it gets.
        let reader = Recorder<ConnectionID?>(nil)
        let (_, port) = try loop.listen(port: 0) { conn, _ in
            reader.update { $0 = conn }
            return ConnectionHandler(onPacket: { _, _ in })
        }
        let writable = Recorder<Int>(0)
        let conn = try await loop.connect(host: "127.0.0.1", port: port, handler: ConnectionHandler(
            onPacket: { _, _ in }, onWritable: { _ in writable.update { $0 += 1 } }))
        await reader.wait { $0 != nil }
        // A burst faster than the socket drains meets .busy; once the queue
        // is down to half, onWritable says to send again.
        let chunk = [UInt8](repeating: 2, count: 64 * 1024)
        #expect(Self.fillUntilBusy(loop, conn, chunk))
        await writable.wait { $0 >= 1 }
        #expect(writable.value >= 1)
        try loop.send(conn, chunk)
    }

    @Test func shutdownFromAHandler() async throws {
        let loop = try EventLoop(backend: .epoll)
        let done = Recorder<Bool>(false)
        try loop.execute {
            loop.shutdown()  // returns at once; the loop thread tears down after this job
            done.update { $0 = true }
        }
        await done.wait { $0 }
        #expect(done.value)
        loop.shutdown()  // already shut down: nothing to do
    }

    @Test func environmentBackendIsTheDefault() throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        #expect(["epoll", "io_uring"].contains(loop.backendName))
    }
}
