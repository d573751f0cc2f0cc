import Foundation
import Logging
import Testing
@testable import Ergo

/// Peers that break the protocol: each is dropped with a log line, and the
/// node and its other connections go on.
@Suite(.serialized) struct BadPeerTests {
    /// Bytes to the node's distribution port from a plain socket; the node
    /// must close the connection (the read sees the end).
    func closedAfter(_ bytes: [UInt8], port: Int) throws -> Bool {
        let socket = try WireSocket.connect(port: port)
        try socket.write(bytes)
        return socket.droppedByPeer()
    }

    @Test func garbageAndHugeFramesAreDropped() async throws {
        try await Cluster.withPair(configure: { $0.setupTime = .seconds(1) }) { cluster, swift, erl throws in
            #expect(try await erl.eval("net_adm:ping(\(swift.name)).") == .atom("pong"))
            let port = try #require((swift.router as? Distribution)?.port)
            // Garbage before the handshake: a 2-byte length and nonsense.
            #expect(try closedAfter([0, 5, 0xFF, 1, 2, 3, 4], port: port))
            // A handshake frame that never completes: dropped after setupTime.
            #expect(try closedAfter([0xFF, 0xFF] + [UInt8](repeating: 0x4E, count: 64), port: port))
            // Plain text (an HTTP request) instead of the protocol.
            #expect(try closedAfter(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), port: port))
            // The node and its connection to Erlang are untouched.
            #expect(try await erl.eval("net_adm:ping(\(swift.name)).") == .atom("pong"))
            #expect(swift.connectedNodes.contains(Atom(erl.name)))
        }
    }

    /// After a good handshake: a frame claiming 4 GiB, an undecodable
    /// term, and an unknown control message each drop that connection only.
    @Test func badPacketsAfterTheHandshakeAreDropped() async throws {
        try await Cluster.withPair { cluster, swift, erl throws in
            #expect(try await erl.eval("net_adm:ping(\(swift.name)).") == .atom("pong"))
            let port = try #require((swift.router as? Distribution)?.port)
            let unknownControl = try ETF.encode(.tuple([.int(99), .atom("what")]))
            let cases: [(String, [UInt8])] = [
                ("4 GiB frame", [0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3]),
                ("undecodable term", [0, 0, 0, 6, 112, 131, 0xEE, 0, 0, 0]),
                ("unknown control message", [0, 0, 0, UInt8(unknownControl.count + 1), 112] + unknownControl),
            ]
            for (i, (what, bytes)) in cases.enumerated() {
                let socket = try WireSocket.connect(port: port)
                var hs = Handshake.initiator(HandshakeIdentity(nodeName: "bad\(i)\(cluster.tag)@127.0.0.1",
                                                               cookie: cluster.cookie, creation: 1), peer: swift.name.name)
                guard case .success = try socket.runHandshake(&hs) else { Issue.record("\(what): no handshake"); continue }
                try socket.write(bytes)
                #expect(socket.droppedByPeer(), "\(what): the connection stayed open")
            }
            #expect(try await erl.eval("net_adm:ping(\(swift.name)).") == .atom("pong"))
            #expect(swift.connectedNodes.contains(Atom(erl.name)))
        }
    }

    /// Erlang calls a Swift server that, inside the call, calls back an
    /// Erlang server over the same connection: no deadlock.
    @Test func aCallInsideACallOverOneConnection() async throws {
        try await Cluster.withPair { cluster, swift, erl throws in
            let target = Atom(erl.name)
            try await swift.start(Relay(target: target), options: SpawnOptions(name: "relay"))
            let reply = try await erl.eval("gen_server:call({relay, \(swift.name)}, which_applications, 10000).")
            guard case .list(let rows) = reply else { Issue.record("\(reply)"); return }
            #expect(rows.contains { $0.tupleElements?.first == .atom("kernel") })
        }
    }
}

/// Forwards each call to the Erlang node's application_controller and
/// replies with its answer.
struct Relay: GenServer {
    typealias State = Void
    let target: Atom

    func initialize(_ process: ProcessContext) async throws -> InitResult<Void> { .ok(()) }

    func handleCall(_ request: Term, from: From, state: Void, process: ProcessContext) async throws -> CallResult<Void> {
        .reply(try await process.call(.remoteName("application_controller", node: target), request), state)
    }
}

extension WireSocket {
    /// Reads until the peer ends the connection: true for an orderly close
    /// or a reset (the node closed it with our bytes unread), false when the
    /// read timed out (15 s) with the connection still open.
    func droppedByPeer() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return true }
            if n < 0 && errno == EINTR { continue }  // a signal, not an answer
            if n < 0 { return errno == ECONNRESET || errno == EPIPE }
        }
    }
}
