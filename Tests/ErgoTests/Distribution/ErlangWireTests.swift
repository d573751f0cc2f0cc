import Foundation
import Testing
@testable import Ergo

/// The handshake state machine and the connection codec against real
/// Erlang/OTP nodes, over plain blocking sockets (no event loop yet): each
/// test has a private EPMD, looks nodes up and registers itself with the C
/// EPMD codecs, and frames packets itself.
@Suite(.serialized) struct ErlangWireTests {
    static func tag() -> String { String(UInt32.random(in: 0...UInt32.max), radix: 36) }

    /// The next control message on the connection (ticks skipped).
    static func nextControl(_ socket: WireSocket, _ codec: DistConnectionCodec) throws -> DistControl {
        for _ in 0..<10_000 {
            let packet = try socket.readPacket()
            if let control = try codec.decode(packet) { return control }
        }
        throw WireSocket.Failure(description: "no complete message in 10000 packets")
    }

    @Test func weDialErlangAndMessagesCrossBothWays() async throws {
        let epmd = try EPMDDaemon(port: try freePort())
        defer { epmd.stop() }
        let tag = Self.tag()
        let erl = try await ErlangPeer.start(name: "w\(tag)@127.0.0.1", cookie: "wire", epmdPort: epmd.port)
        defer { erl.kill() }
        let ourName = "s\(tag)@127.0.0.1"
        let port = try TestEPMD.port(of: "w\(tag)", epmdPort: epmd.port)
        let socket = try WireSocket.connect(port: port)
        let identity = HandshakeIdentity(nodeName: ourName, cookie: "wire", creation: 7,
                                         flags: .advertised(hidden: true))
        let peerName = erl.name
        let outcome = await onThread { () -> Result<DistPeer, WireSocket.Failure> in
            var hs = Handshake.initiator(identity, peer: peerName)
            do {
                return try socket.runHandshake(&hs).mapError { WireSocket.Failure(description: "\($0)") }
            } catch {
                return .failure(WireSocket.Failure(description: "\(error)"))
            }
        }.value
        let peer = try outcome.get()
        #expect(peer.name == erl.name)
        #expect(peer.flags.missing(DistFlags.mandatory(otpRelease: 25)).isEmpty)
        #expect(peer.negotiated.isSuperset(of: [.distHdrAtomCache, .fragments, .exitPayload, .alias]))
        #expect(peer.flags.contains(.spawn) && !peer.negotiated.contains(.spawn))  // erl offers it; we do not
        #expect(try await erl.eval("lists:member('\(ourName)', nodes(hidden)).") == .atom("true"))

        let codec = DistConnectionCodec(peer: peer)
        let ours = PID(node: Atom(ourName), id: 1, serial: 0, creation: 7)

        // Swift → Erlang: REG_SEND to a registered process, twice (the
        // second time the atoms go as cache references).
        try await erl.eval("register(t, self()), ok.")
        let message: Term = .tuple([.atom("hello"), .list([1, 2, 3]), .binary(Binary(utf8: "bin")),
                                    .atom("ergo_wire_atom"), .pid(ours), .float(2.5),
                                    .map(TermMap([.init(key: .atom("k"), value: .atom("v"))]))])
        for round in 0..<2 {
            for p in try codec.encode(.regSend(from: ours, to: "t", message: message)) { try socket.sendPacket(p) }
            #expect(try await erl.eval("receive M -> M after 5000 -> timeout end.") == message, "round \(round)")
        }
        #expect(codec.statistics.atomRefsOut > 0)

        // A 1 MB binary: 16+ fragments out.
        let big = Binary([UInt8](repeating: 7, count: 1_000_000))
        let packets = try codec.encode(.regSend(from: ours, to: "t", message: .tuple([.atom("big"), .binary(big)])))
        #expect(packets.count > 15)
        for p in packets { try socket.sendPacket(p) }
        #expect(try await erl.eval("receive {big, B} -> {byte_size(B), lists:usort(binary_to_list(B))} after 5000 -> timeout end.")
                == .tuple([.int(1_000_000), .list([.int(7)])]))

        // Erlang → Swift: by name (REG_SEND) and by pid (SEND_SENDER).
        let evaluator = try await erl.eval("self().")
        guard case .pid(let erlPid) = evaluator else { Issue.record("no pid: \(evaluator)"); return }
        try await erl.eval("{s, '\(ourName)'} ! {hi, [a, b, c], <<\"x\">>, 'ünïcödé'}, ok.")
        let expected: Term = .tuple([.atom("hi"), .list([.atom("a"), .atom("b"), .atom("c")]),
                                     .binary(Binary(utf8: "x")), .atom("ünïcödé")])
        #expect(try Self.nextControl(socket, codec) == .regSend(from: erlPid, to: "s", message: expected))
        try await erl.eval("{s, '\(ourName)'} ! {hi, [a, b, c], <<\"x\">>, 'ünïcödé'}, ok.")
        #expect(try Self.nextControl(socket, codec) == .regSend(from: erlPid, to: "s", message: expected))
        #expect(codec.statistics.atomRefsIn > 0)  // ERTS caches the atoms of the header
        try await erl.eval("P ! {by_pid, 42}, ok.", ["P": .pid(ours)])
        #expect(try Self.nextControl(socket, codec)
                == .send(from: erlPid, to: ours, message: .tuple([.atom("by_pid"), .int(42)])))

        // A 1 MB binary from Erlang arrives in fragments.
        try await erl.eval("B = binary:copy(<<9>>, 1000000), {s, '\(ourName)'} ! {big, B}, ok.")
        let before = codec.statistics.fragmentsIn
        let control = try Self.nextControl(socket, codec)
        #expect(codec.statistics.fragmentsIn - before > 1)
        guard case .regSend(_, let name, .tuple(let e)) = control, e.count == 2, case .binary(let b) = e[1] else {
            Issue.record("unexpected \(control)")
            return
        }
        #expect(name == "s" && e[0] == .atom("big"))
        #expect(b.count == 1_000_000 && b.allSatisfy { $0 == 9 })
    }

    @Test func erlangRefusesOurWrongCookie() async throws {
        let epmd = try EPMDDaemon(port: try freePort())
        defer { epmd.stop() }
        let tag = Self.tag()
        let erl = try await ErlangPeer.start(name: "w\(tag)@127.0.0.1", cookie: "wire", epmdPort: epmd.port)
        defer { erl.kill() }
        let port = try TestEPMD.port(of: "w\(tag)", epmdPort: epmd.port)
        let socket = try WireSocket.connect(port: port)
        let identity = HandshakeIdentity(nodeName: "s\(tag)@127.0.0.1", cookie: "not-the-cookie", creation: 7,
                                         flags: .advertised(hidden: true))
        let peerName = erl.name
        let outcome = await onThread { () -> String in
            var hs = Handshake.initiator(identity, peer: peerName)
            do { return "\(try socket.runHandshake(&hs))" } catch { return "\(error)" }
        }.value
        // Erlang closes the connection after our challenge_reply.
        #expect(outcome == "connection closed by peer")
        #expect(try await erl.eval("nodes(hidden).") == .list([]))
    }

    /// Erlang dials us (`net_adm:ping`): our acceptor runs the handshake,
    /// and we answer net_kernel's `is_auth` call with an ALIAS_SEND, so the
    /// ping answers pong. A node with another cookie gets pang, and our
    /// acceptor names it.
    @Test func erlangDialsUsAndWrongCookieIsRefusedByName() async throws {
        let epmd = try EPMDDaemon(port: try freePort())
        defer { epmd.stop() }
        let tag = Self.tag()
        let ourName = "r\(tag)@127.0.0.1"
        let (listener, port) = try WireSocket.listen()
        let (registration, creation) = try TestEPMD.register("r\(tag)", port: port, hidden: false,
                                                             epmdPort: epmd.port)
        defer { withExtendedLifetime(registration) {} }
        let identity = HandshakeIdentity(nodeName: ourName, cookie: "wire", creation: creation)

        let erl = try await ErlangPeer.start(name: "d\(tag)@127.0.0.1", cookie: "wire", epmdPort: epmd.port)
        defer { erl.kill() }
        let server = onThread { () -> Result<(String, WireSocket), WireSocket.Failure> in
            Result { try Self.serveOnePing(listener, identity) }.mapError { WireSocket.Failure(description: "\($0)") }
        }
        #expect(try await erl.eval("net_adm:ping('\(ourName)').") == .atom("pong"))
        let (served, connection) = try await server.value.get()
        #expect(served == erl.name)
        withExtendedLifetime(connection) {}

        let stranger = try await ErlangPeer.start(name: "x\(tag)@127.0.0.1", cookie: "other", epmdPort: epmd.port)
        defer { stranger.kill() }
        let refusal = onThread { () -> String in
            do {
                let socket = try listener.accept()
                var hs = Handshake.acceptor(identity)
                return "\(try socket.runHandshake(&hs))"
            } catch { return "\(error)" }
        }
        #expect(try await stranger.eval("net_adm:ping('\(ourName)').") == .atom("pang"))
        let text = await refusal.value
        #expect(text.contains("wrong cookie") && text.contains(stranger.name), "\(text)")
    }

    /// Accepts one connection, runs the acceptor, answers `{is_auth, _}`
    /// calls to net_kernel; returns the peer's name and the open socket.
    static func serveOnePing(_ listener: WireSocket, _ identity: HandshakeIdentity) throws -> (String, WireSocket) {
        let socket = try listener.accept()
        var hs = Handshake.acceptor(identity)
        let peer = try socket.runHandshake(&hs).mapError { WireSocket.Failure(description: "\($0)") }.get()
        let codec = DistConnectionCodec(peer: peer)
        let me = PID(node: Atom(identity.nodeName), id: 0, serial: 0, creation: identity.creation)
        for _ in 0..<100 {
            let control: DistControl
            do { control = try nextControl(socket, codec) } catch DistCodecError.control { continue }
            guard case .regSend(_, "net_kernel", .tuple(let call)) = control, call.count == 3,
                  call[0] == .atom("$gen_call"), case .tuple(let from) = call[1], from.count == 2 else { continue }
            let reply = Term.tuple([from[1], .atom("yes")])
            switch (from[0], from[1]) {
            case (_, .improperList(let head, .ref(let alias))) where head == [.atom("alias")]:
                for p in try codec.encode(.aliasSend(from: me, alias: alias, message: reply)) { try socket.sendPacket(p) }
            case (.pid(let caller), _):
                for p in try codec.encode(.send(from: me, to: caller, message: reply)) { try socket.sendPacket(p) }
            default:
                continue
            }
            return (peer.name, socket)
        }
        throw WireSocket.Failure(description: "no is_auth call came")
    }
}
