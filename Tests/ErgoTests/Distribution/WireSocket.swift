// Blocking POSIX sockets for tests that speak the distribution protocol to
// real `erl` nodes without the event loop: 2-byte framing for the
// handshake, 4-byte framing after it, and EPMD requests through the C
// codecs. Every read times out (SO_RCVTIMEO), so a silent peer fails the
// test instead of hanging it.
import CErgoCore
import Foundation
@testable import Ergo

final class WireSocket: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let fd: Int32

    init(fd: Int32, timeoutSeconds: Int = 15) {
        self.fd = fd
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(fd) }

    static func connect(port: Int) throws -> WireSocket {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
        var addr = loopback(port: port)
        let ok = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard ok else {
            close(fd)
            throw Failure(description: "connect to port \(port): errno \(errno)")
        }
        return WireSocket(fd: fd)
    }

    /// A listening socket on 127.0.0.1 and its port.
    static func listen() throws -> (WireSocket, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
        var addr = loopback(port: 0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, len) == 0 && Glibc.listen(fd, 4) == 0 && getsockname(fd, $0, &len) == 0
            }
        }
        guard ok else {
            close(fd)
            throw Failure(description: "listen: errno \(errno)")
        }
        return (WireSocket(fd: fd), Int(UInt16(bigEndian: addr.sin_port)))
    }

    /// Waits (poll, up to `seconds`) for a connection.
    func accept(seconds: Int = 20) throws -> WireSocket {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        var ready = poll(&p, 1, Int32(seconds * 1000))
        while ready < 0 && errno == EINTR { ready = poll(&p, 1, Int32(seconds * 1000)) }
        guard ready == 1 else { throw Failure(description: "no connection came") }
        let c = Glibc.accept(fd, nil, nil)
        guard c >= 0 else { throw Failure(description: "accept: errno \(errno)") }
        return WireSocket(fd: c)
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        return addr
    }

    func write(_ bytes: [UInt8]) throws {
        var at = 0
        while at < bytes.count {
            let n = bytes[at...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure(description: "send: errno \(errno)") }
            at += n
        }
    }

    /// Exactly `count` bytes; throws on end of stream or timeout.
    func read(_ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var at = 0
        while at < count {
            let n = out[at...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { throw Failure(description: "connection closed by peer") }
            if n < 0 && errno == EINTR { continue }  // a signal (a child exiting) is not an answer
            guard n > 0 else { throw Failure(description: "recv: errno \(errno) (timeout?)") }
            at += n
        }
        return out
    }

    /// Everything until the peer closes.
    func readToEnd() throws -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return out }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure(description: "recv: errno \(errno)") }
            out += chunk.prefix(n)
        }
    }

    // MARK: Framing

    func sendHandshake(_ body: [UInt8]) throws {
        try write([UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body)
    }

    func readHandshake() throws -> [UInt8] {
        let h = try read(2)
        return try read(Int(h[0]) << 8 | Int(h[1]))
    }

    func sendPacket(_ body: [UInt8]) throws {
        let n = body.count
        try write([UInt8(n >> 24 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + body)
    }

    /// The next packet (a tick is an empty one).
    func readPacket() throws -> [UInt8] {
        let h = try read(4)
        let n = Int(h[0]) << 24 | Int(h[1]) << 16 | Int(h[2]) << 8 | Int(h[3])
        return n == 0 ? [] : try read(n)
    }

    /// Drives `handshake` to its end over this socket.
    func runHandshake(_ handshake: inout Handshake) throws -> Result<DistPeer, HandshakeError> {
        for p in handshake.start() { try sendHandshake(p) }
        while true {
            switch handshake.receive(try readHandshake()) {
            case .send(let out):
                for p in out { try sendHandshake(p) }
            case .completed(let peer, let out):
                for p in out { try sendHandshake(p) }
                return .success(peer)
            case .failed(let error, let out):
                for p in out { try sendHandshake(p) }
                return .failure(error)
            }
        }
    }
}

/// EPMD through the C codecs.
enum TestEPMD {
    /// PORT_PLEASE2: the distribution port of `name` (the part before '@').
    static func port(of name: String, epmdPort: Int) throws -> Int {
        let s = try WireSocket.connect(port: epmdPort)
        try s.write(encode { b in
            let n = Array(name.utf8)
            return n.withUnsafeBufferPointer { ergo_dist_epmd_encode_port_please2_req(b, $0.baseAddress, $0.count) }
        })
        let reply = try s.readToEnd()
        var result: UInt8 = 1
        var node = ergo_dist_epmd_node()
        var used = 0
        let rc = reply.withUnsafeBufferPointer {
            ergo_dist_epmd_parse_port2_resp($0.baseAddress, $0.count, &result, &node, &used)
        }
        guard rc == 0, result == 0 else {
            throw WireSocket.Failure(description: "EPMD does not know \(name) (rc \(rc), result \(result))")
        }
        return Int(node.port)
    }

    /// ALIVE2: registers `name` at `port`; the registration lasts as long
    /// as the returned socket is open. Returns it and the creation.
    static func register(_ name: String, port: Int, hidden: Bool, epmdPort: Int) throws -> (WireSocket, UInt32) {
        let s = try WireSocket.connect(port: epmdPort)
        let n = Array(name.utf8)
        try s.write(encode { b in
            n.withUnsafeBufferPointer { text in
                var node = ergo_dist_epmd_node()
                node.name = text.baseAddress
                node.name_len = UInt64(text.count)
                node.port = UInt16(port)
                node.node_type = UInt8(hidden ? ERGO_DIST_EPMD_NODE_HIDDEN : ERGO_DIST_EPMD_NODE_NORMAL)
                node.protocol = UInt8(ERGO_DIST_EPMD_PROTOCOL_TCP)
                node.highest_version = 6
                node.lowest_version = 6
                return ergo_dist_epmd_encode_alive2_req(b, &node)
            }
        })
        var got: [UInt8] = []
        while true {
            got += try s.read(1)
            var result: UInt8 = 1
            var creation: UInt32 = 0
            var used = 0
            let rc = got.withUnsafeBufferPointer {
                ergo_dist_epmd_parse_alive2_resp($0.baseAddress, $0.count, &result, &creation, &used)
            }
            if rc == Int32(ERGO_DIST_NEED_MORE) { continue }
            guard rc == 0, result == 0 else {
                throw WireSocket.Failure(description: "ALIVE2 for \(name) refused (rc \(rc), result \(result))")
            }
            return (s, creation)
        }
    }

    private static func encode(_ write: (UnsafeMutablePointer<ergo_etf_buf>) -> Int32) -> [UInt8] {
        var b = ergo_etf_buf()
        ergo_etf_buf_init(&b, 0)
        defer { ergo_etf_buf_free(&b) }
        precondition(write(&b) == 0)
        return [UInt8](unsafeUninitializedCapacity: ergo_etf_buf_size(&b)) { out, n in
            ergo_etf_buf_flatten(&b, out.baseAddress)
            n = ergo_etf_buf_size(&b)
        }
    }
}

/// Runs blocking work on a thread of its own; the task awaits it without
/// holding a thread of the cooperative pool.
func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) -> Task<T, Never> {
    Task {
        await withCheckedContinuation { (c: CheckedContinuation<T, Never>) in
            Thread { c.resume(returning: body()) }.start()
        }
    }
}
