import CErgoCore
import Testing
@testable import Ergo

/// Two handshakes wired back to back in memory: every packet one returns
/// is fed to the other until both have finished (or nothing is left).
struct HandshakePump {
    var a: Handshake
    var b: Handshake
    var aEnd: HandshakeStep?
    var bEnd: HandshakeStep?
    /// Every packet body, in order, tagged with its sender.
    var wire: [(from: Character, body: [UInt8])] = []

    init(initiator: Handshake, acceptor: Handshake) {
        a = initiator
        b = acceptor
    }

    mutating func run() {
        var toB = a.start()
        var toA = b.start()
        wire += toB.map { ("A", $0) }
        while !toA.isEmpty || !toB.isEmpty {
            let forB = toB
            toB = []
            for p in forB where bEnd == nil {
                let (out, end) = Self.feed(&b, p)
                toA += out
                wire += out.map { ("B", $0) }
                bEnd = end
            }
            let forA = toA
            toA = []
            for p in forA where aEnd == nil {
                let (out, end) = Self.feed(&a, p)
                toB += out
                wire += out.map { ("A", $0) }
                aEnd = end
            }
        }
    }

    private static func feed(_ h: inout Handshake, _ p: [UInt8]) -> ([[UInt8]], HandshakeStep?) {
        switch h.receive(p) {
        case .send(let out): return (out, nil)
        case .completed(let peer, let out): return (out, .completed(peer, send: out))
        case .failed(let e, let out): return (out, .failed(e, send: out))
        }
    }

    var statuses: [String] {
        wire.compactMap { $0.body.first == UInt8(ascii: "s") ? String(decoding: $0.body.dropFirst(), as: UTF8.self) : nil }
    }
}

extension HandshakeStep {
    var peer: DistPeer? { if case .completed(let p, _) = self { return p } else { return nil } }
    var error: HandshakeError? { if case .failed(let e, _) = self { return e } else { return nil } }
}

@Suite struct HandshakeTests {
    static let a = HandshakeIdentity(nodeName: "alpha@host", cookie: "secret", creation: 11)
    static let b = HandshakeIdentity(nodeName: "beta@host", cookie: "secret", creation: 22)

    @Test func initiatorAndAcceptorAgree() {
        var pump = HandshakePump(initiator: .initiator(Self.a, peer: "beta@host"), acceptor: .acceptor(Self.b))
        pump.run()
        let pa = pump.aEnd?.peer, pb = pump.bEnd?.peer
        #expect(pa?.name == "beta@host")
        #expect(pa?.creation == 22)
        #expect(pb?.name == "alpha@host")
        #expect(pb?.creation == 11)
        #expect(pa?.negotiated == DistFlags.advertised)
        #expect(pb?.flags == DistFlags.advertised.expandingMandatory25)
        #expect(pa?.replacesConnection == false)
        #expect(pump.wire.map { Character(UnicodeScalar($0.body[0])) } == ["N", "s", "N", "r", "a"])
        #expect(pump.statuses == ["ok"])
    }

    @Test func hiddenNodeLeavesOutPublished() {
        var hidden = Self.a
        hidden.flags = .advertised(hidden: true)
        var pump = HandshakePump(initiator: .initiator(hidden, peer: "beta@host"), acceptor: .acceptor(Self.b))
        pump.run()
        #expect(pump.bEnd?.peer?.isHidden == true)
        #expect(pump.aEnd?.peer?.isHidden == false)
    }

    /// An OTP 23/24 node that did not know our version sends the old 'n'
    /// with HANDSHAKE_23; we answer in version 6 and take its complement.
    @Test func oldSendNameWithHandshake23GoesOnWithComplement() throws {
        var acceptor = Handshake.acceptor(Self.b, challenge: 1234)
        _ = acceptor.start()
        let peerFlags = DistFlags.advertised
        let step = acceptor.receive(HandshakeMessage.oldName(flags: peerFlags, name: "old@host"))
        guard case .send(let out) = step, out.count == 2 else { Issue.record("\(step)"); return }
        #expect(out[0] == Array("sok".utf8))
        guard case .success(.challenge(_, let challenge, let creation, let name, let old)) =
                HandshakeMessage.parse(out[1], challenge: true) else { Issue.record("no challenge"); return }
        #expect(challenge == 1234 && creation == 22 && name == "beta@host" && !old)
        // The complement: high flags and creation.
        #expect(acceptor.receive(HandshakeMessage.complement(flags: peerFlags, creation: 99)) == .send([]))
        let digest = try HandshakeMessage.digest(cookie: Array("secret".utf8), challenge: 1234).get()
        let end = acceptor.receive(HandshakeMessage.reply(challenge: 77, digest: digest))
        guard case .completed(let peer, let ack) = end else { Issue.record("\(end)"); return }
        #expect(peer.name == "old@host")
        #expect(peer.creation == 99)
        #expect(peer.flags.contains([.alias, .v4NC]))  // from the complement's high word
        let expected = try HandshakeMessage.digest(cookie: Array("secret".utf8), challenge: 77).get()
        #expect(ack == [[UInt8(ascii: "a")] + expected])
    }

    @Test func oldSendNameWithoutHandshake23IsRefused() {
        var acceptor = Handshake.acceptor(Self.b)
        let step = acceptor.receive(HandshakeMessage.oldName(flags: DistFlags.advertised.subtracting(.handshake23),
                                                            name: "ancient@host"))
        #expect(step == .failed(.missingFlags(peer: "ancient@host", .handshake23),
                                send: [Array("snot_allowed".utf8)]))
        #expect(step.error?.description.contains("HANDSHAKE_23") == true)
    }

    @Test func wrongCookieIsRefusedByTheAcceptor() {
        var other = Self.a
        other.cookie = Array("other".utf8)
        var pump = HandshakePump(initiator: .initiator(other, peer: "beta@host"), acceptor: .acceptor(Self.b))
        pump.run()
        #expect(pump.bEnd?.error == .badCookie(peer: "alpha@host"))
        #expect(pump.bEnd?.error?.description.contains("alpha@host") == true)
        #expect(pump.aEnd == nil)  // the acceptor just closes; the caller sees the socket close
    }

    @Test func wrongCookieIsRefusedByTheInitiator() throws {
        // A peer that accepts anything and acks with a digest of another cookie.
        var initiator = Handshake.initiator(Self.a, peer: "beta@host", challenge: 5)
        _ = initiator.start()
        #expect(initiator.receive(Array("sok".utf8)) == .send([]))
        let challenge = HandshakeMessage.challenge(flags: .advertised, challenge: 6, creation: 1, name: "beta@host")
        guard case .send(let reply) = initiator.receive(challenge) else { Issue.record("no reply"); return }
        #expect(reply.first?.first == UInt8(ascii: "r"))
        let wrong = try HandshakeMessage.digest(cookie: Array("other".utf8), challenge: 5).get()
        let end = initiator.receive(HandshakeMessage.ack(digest: wrong))
        #expect(end.error == .badCookie(peer: "beta@host"))
        #expect(initiator.receive(Array("sok".utf8)).error == .finished)
    }

    @Test func peerMissingRequiredFlagsIsRefusedByName() {
        var poor = Self.a
        poor.flags = DistFlags.advertised.subtracting([.unlinkID, .mapTag, .mandatory25Digest])
        var pump = HandshakePump(initiator: .initiator(poor, peer: "beta@host"), acceptor: .acceptor(Self.b))
        pump.run()
        #expect(pump.bEnd?.error == .missingFlags(peer: "alpha@host", [.unlinkID, .mapTag]))
        #expect(pump.bEnd?.error?.description.contains("MAP_TAG, UNLINK_ID") == true)
        #expect(pump.aEnd?.error == .refused(peer: "beta@host", status: "not_allowed"))

        // The initiator checks the acceptor's flags too.
        var pump2 = HandshakePump(initiator: .initiator(Self.b, peer: "alpha@host"), acceptor: .acceptor(poor))
        pump2.run()
        #expect(pump2.aEnd?.error == .missingFlags(peer: "alpha@host", [.unlinkID, .mapTag]))
    }

    /// MANDATORY_25_DIGEST stands for the whole OTP 25 set, as in OTP.
    @Test func mandatory25DigestStandsForTheOTP25Flags() {
        var terse = Self.a
        terse.flags = [.mandatory25Digest, .unlinkID, .published]
        var pump = HandshakePump(initiator: .initiator(terse, peer: "beta@host"), acceptor: .acceptor(Self.b))
        pump.run()
        #expect(pump.bEnd?.peer?.flags.contains(.mapTag) == true)
        #expect(pump.aEnd?.peer != nil)
    }

    @Test func simultaneousConnectFollowsOTP() {
        // The greater name keeps its own attempt and refuses the other's.
        #expect(AcceptDecision.simultaneousConnect(ourName: "beta@host", peerName: "alpha@host") == .nok)
        #expect(AcceptDecision.simultaneousConnect(ourName: "alpha@host", peerName: "beta@host") == .okSimultaneous)

        var lose = HandshakePump(initiator: .initiator(Self.a, peer: "beta@host"), acceptor: .acceptor(Self.b) { peer, _ in
            AcceptDecision.simultaneousConnect(ourName: "beta@host", peerName: peer)
        })
        lose.run()
        #expect(lose.statuses == ["nok"])
        #expect(lose.aEnd?.error == .refused(peer: "beta@host", status: "nok"))
        #expect(lose.bEnd?.error == .rejected(peer: "alpha@host", decision: .nok))

        var win = HandshakePump(initiator: .initiator(Self.b, peer: "alpha@host"), acceptor: .acceptor(Self.a) { peer, _ in
            AcceptDecision.simultaneousConnect(ourName: "alpha@host", peerName: peer)
        })
        win.run()
        #expect(win.statuses == ["ok_simultaneous"])
        #expect(win.aEnd?.peer != nil && win.bEnd?.peer != nil)
    }

    @Test func notAllowedStatus() {
        var pump = HandshakePump(initiator: .initiator(Self.a, peer: "beta@host"),
                                 acceptor: .acceptor(Self.b) { _, _ in .notAllowed })
        pump.run()
        #expect(pump.statuses == ["not_allowed"])
        #expect(pump.aEnd?.error == .refused(peer: "beta@host", status: "not_allowed"))
        #expect(pump.bEnd?.error == .rejected(peer: "alpha@host", decision: .notAllowed))
    }

    @Test func aliveAnsweredTrueReplacesTheConnection() {
        var pump = HandshakePump(initiator: .initiator(Self.a, peer: "beta@host") { _ in true },
                                 acceptor: .acceptor(Self.b) { _, _ in .alive })
        pump.run()
        #expect(pump.statuses == ["alive", "true"])
        #expect(pump.bEnd?.peer?.replacesConnection == true)
        #expect(pump.aEnd?.peer?.name == "beta@host")
    }

    @Test func aliveAnsweredFalseEndsBothSides() {
        var pump = HandshakePump(initiator: .initiator(Self.a, peer: "beta@host") { _ in false },
                                 acceptor: .acceptor(Self.b) { _, _ in .alive })
        pump.run()
        #expect(pump.statuses == ["alive", "false"])
        #expect(pump.aEnd?.error == .refused(peer: "beta@host", status: "alive"))
        #expect(pump.bEnd?.error == .abandoned(peer: "alpha@host"))
    }

    @Test func challengeFromAnotherNodeIsRefused() {
        var pump = HandshakePump(initiator: .initiator(Self.a, peer: "gamma@host"), acceptor: .acceptor(Self.b))
        pump.run()
        #expect(pump.aEnd?.error == .wrongPeer(expected: "gamma@host", actual: "beta@host"))
    }

    @Test func badNamesAndDynamicNamesAreRefused() {
        for name in ["nohost", "@host", "name@", "a@b@c"] {
            var acceptor = Handshake.acceptor(Self.b)
            let step = acceptor.receive(HandshakeMessage.name(flags: .advertised, creation: 1, name: name))
            #expect(step == .failed(.badName(name), send: [Array("snot_allowed".utf8)]))
        }
        var acceptor = Handshake.acceptor(Self.b)
        let step = acceptor.receive(HandshakeMessage.name(flags: DistFlags.advertised.union(.nameMe),
                                                         creation: 0, name: "host"))
        #expect(step.error == .badName("host"))
    }

    @Test func outOfOrderMessagesAreRefused() throws {
        var acceptor = Handshake.acceptor(Self.b)
        let digest = try HandshakeMessage.digest(cookie: Self.b.cookie, challenge: 1).get()
        #expect(acceptor.receive(HandshakeMessage.ack(digest: digest)).error
                == .unexpected(peer: nil, tag: UInt8(ascii: "a"), expected: "a send_name ('N' or 'n')"))
        var initiator = Handshake.initiator(Self.a, peer: "beta@host")
        _ = initiator.start()
        let challenge = HandshakeMessage.challenge(flags: .advertised, challenge: 6, creation: 1, name: "beta@host")
        // A challenge before the status: parsed as a send_name, and refused.
        #expect(initiator.receive(challenge).error != nil)
    }

    @Test func initiatorMustStartFirst() {
        var initiator = Handshake.initiator(Self.a, peer: "beta@host")
        #expect(initiator.receive(Array("sok".utf8)).error
                == .unexpected(peer: "beta@host", tag: UInt8(ascii: "s"), expected: "nothing before start()"))
        var acceptor = Handshake.acceptor(Self.b)  // no start(): fine for an acceptor
        guard case .send(let out) = acceptor.receive(HandshakeMessage.name(flags: .advertised, creation: 1,
                                                                            name: "alpha@host")) else {
            Issue.record("acceptor did not answer")
            return
        }
        #expect(out.first == Array("sok".utf8))
    }

    /// Garbage in any state ends the handshake with an error, never a crash.
    @Test func garbageNeverCrashes() {
        var rng = SystemRandomNumberGenerator()
        let tags: [UInt8] = Array("nNscra".utf8) + [0, 255]
        var failures = 0
        for i in 0..<3000 {
            var h = i % 2 == 0 ? Handshake.initiator(Self.a, peer: "beta@host") : Handshake.acceptor(Self.b)
            _ = h.start()
            // Sometimes get past the first step honestly.
            if i % 4 == 0 { _ = h.receive(Array("sok".utf8)) }
            let n = Int.random(in: 0...40, using: &rng)
            var body = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if !body.isEmpty { body[0] = tags.randomElement(using: &rng)! }
            for _ in 0..<3 {
                if case .failed = h.receive(body) { failures += 1; break }
            }
        }
        #expect(failures > 2000)
        // Every truncation of every valid message.
        let valid = [HandshakeMessage.name(flags: .advertised, creation: 1, name: "x@y"),
                     HandshakeMessage.challenge(flags: .advertised, challenge: 1, creation: 2, name: "x@y"),
                     HandshakeMessage.complement(flags: .advertised, creation: 3),
                     HandshakeMessage.reply(challenge: 1, digest: [UInt8](repeating: 1, count: 16)),
                     HandshakeMessage.ack(digest: [UInt8](repeating: 1, count: 16))]
        for m in valid {
            for cut in 0..<m.count {
                var acceptor = Handshake.acceptor(Self.b)
                var initiator = Handshake.initiator(Self.a, peer: "x@y")
                _ = initiator.start()
                #expect(acceptor.receive(Array(m.prefix(cut))).error != nil)
                _ = initiator.receive(Array(m.prefix(cut)))
            }
        }
    }
}

@Suite struct DistFlagsTests {
    /// Pins, per release we promise, that we advertise what it requires.
    @Test(arguments: 23...28) func advertisedCoversWhatEachReleaseRequires(release: Int) {
        let mandatory = DistFlags.mandatory(otpRelease: release)
        #expect(!mandatory.isEmpty)
        #expect(DistFlags.advertised.missing(mandatory).isEmpty, "OTP \(release)")
        #expect(DistFlags.advertised.isSuperset(of: mandatory), "OTP \(release)")
    }

    @Test func advertisedFlagsArePinned() {
        #expect(!DistFlags.advertised.contains(.spawn))
        #expect(!DistFlags.advertised.contains(.nameMe))
        #expect(DistFlags.advertised.isSuperset(of: [.unlinkID, .v4NC, .mandatory25Digest, .alias, .fragments,
                                                     .distHdrAtomCache, .exitPayload, .handshake23]))
        #expect(DistFlags.advertised.rawValue == 0xC07CF6FBD)
        #expect(!DistFlags.advertised(hidden: true).contains(.published))
    }

    @Test func namesAndMissing() {
        #expect(DistFlags([.mapTag, .unlinkID]).names == ["MAP_TAG", "UNLINK_ID"])
        #expect(DistFlags(rawValue: 1 << 40).names == ["0x10000000000"])
        #expect(DistFlags([.mandatory25Digest]).missing(DistFlags.mandatory(otpRelease: 25)).isEmpty)
        #expect(DistFlags([.mapTag]).missing([.mapTag, .alias]) == .alias)
    }
}
