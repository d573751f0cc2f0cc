import CErgoCore
import Testing
@testable import Ergo

@Suite struct DistConnectionCodecTests {
    static let here: Atom = "here@host"
    static let there: Atom = "there@host"
    static let from = PID(node: there, id: 40, serial: 1, creation: 3)
    static let to = PID(node: here, id: 41, serial: 0, creation: 4)
    static let ref = Ref(node: here, creation: 4, ids: [1, 2, 3])
    static let message: Term = .tuple([.atom("hello"), .list([1, 2, 3]), .binary(Binary(utf8: "bin")),
                                       .map(TermMap([.init(key: .atom("key"), value: .atom("value")), .init(key: .atom("ok"), value: .float(1.5))])),
                                       .atom("hello"), .pid(from), .ref(ref)])

    static let every: [DistControl] = [
        .send(from: from, to: to, message: message),
        .send(from: nil, to: to, message: message),
        .regSend(from: from, to: "net_kernel", message: message),
        .aliasSend(from: from, alias: ref, message: message),
        .link(from: from, to: to),
        .unlinkID(id: 7, from: from, to: to),
        .unlinkIDAck(id: UInt64.max, from: from, to: to),
        .exit(from: from, to: to, reason: .normal),
        .exit(from: from, to: to, reason: ExitReason(.tuple([.atom("shutdown"), message]))),
        .exit2(from: from, to: to, reason: .kill),
        .monitor(from: from, to: .pid(to), ref: ref),
        .monitor(from: from, to: .name("registered"), ref: ref),
        .demonitor(from: from, to: .name("registered"), ref: ref),
        .monitorExit(from: .pid(to), to: from, ref: ref, reason: .noproc),
        .monitorExit(from: .name("registered"), to: from, ref: ref, reason: ExitReason(message)),
        .groupLeader(from: from, to: to),
    ]

    static func peer(_ negotiated: DistFlags = .advertised) -> DistPeer {
        DistPeer(name: "there@host", flags: negotiated, negotiated: negotiated, creation: 3, replacesConnection: false)
    }

    static func pair(_ flags: DistFlags = .advertised, fragmentBytes: Int = 64 * 1024)
        -> (DistConnectionCodec, DistConnectionCodec) {
        var limits = DistConnectionCodec.Limits()
        limits.fragmentBytes = fragmentBytes
        return (DistConnectionCodec(peer: peer(flags), limits: limits), DistConnectionCodec(peer: peer(flags), limits: limits))
    }

    /// The framed, gathered form (`encode(_:framedUpTo:_:)`, what the
    /// connection sends) is, byte for byte, the packets of `encode(_:)` each
    /// after its length: whole and fragmented, with the large runs lent.
    @Test func framedEncodingMatchesPackets() throws {
        let big = DistControl.send(from: Self.from, to: Self.to,
                                   message: .tuple([.atom("big"), .binary(Binary((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }))]))
        for fragmentBytes in [64 * 1024, 1000, 1 << 20] {
            let (a, b) = Self.pair(fragmentBytes: fragmentBytes)
            let (rx, _) = Self.pair(fragmentBytes: fragmentBytes)
            for control in Self.every + [big, Self.every[0], big] {
                let packets = try a.encode(control)
                let framed: [UInt8] = try b.encode(control, framedUpTo: 1 << 30) { encoded in
                    guard case .framed(let iov) = encoded else { return [] }
                    #expect(iov.count <= 2 * packets.count + 1)
                    return iov.flatMap { Array(UnsafeRawBufferPointer(start: $0.iov_base, count: $0.iov_len)) }
                }
                var expected: [UInt8] = []
                for p in packets {
                    let n = UInt32(p.count)
                    expected += [UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8),
                                 UInt8(truncatingIfNeeded: n)] + p
                }
                #expect(framed == expected)
                var got: DistControl?
                for p in packets { got = try rx.decode(p) ?? got }
                #expect(got == control)
            }
            // Over the limit: separate packets, as encode(_:).
            let (c, d) = Self.pair(fragmentBytes: fragmentBytes)
            let packets = try c.encode(big)
            let over: [[UInt8]] = try d.encode(big, framedUpTo: 1000) { encoded in
                guard case .packets(let p) = encoded else { return [] }
                return p
            }
            #expect(over == packets)
        }
    }

    @Test func everyControlMessageRoundTripsColdThenWarm() throws {
        let (tx, rx) = Self.pair()
        var coldSizes: [Int] = []
        for control in Self.every {
            let packets = try tx.encode(control)
            #expect(packets.count == 1)
            #expect(packets[0].prefix(2) == [131, UInt8(ascii: "D")])
            coldSizes.append(packets[0].count)
            #expect(try rx.decode(packets[0]) == control)
        }
        #expect(tx.statistics.atomRefsOut > 0)
        // Warm: the same atoms now go out as cached references (smaller).
        for (i, control) in Self.every.enumerated() {
            let packets = try tx.encode(control)
            #expect(packets[0].count <= coldSizes[i])
            #expect(try rx.decode(packets[0]) == control)
        }
        let again = try tx.encode(Self.every[2])[0]
        #expect(again.count < coldSizes[2])
        #expect(try rx.decode(again) == Self.every[2])
        #expect(rx.statistics.messagesIn == 2 * Self.every.count + 1)
        #expect(rx.statistics.atomRefsIn == tx.statistics.atomRefsOut)
    }

    /// Without the header atom cache the 112 pass-through form is used;
    /// without EXIT_PAYLOAD / SEND_SENDER the old forms.
    @Test func passThroughAndOldForms() throws {
        let flags = DistFlags.advertised.subtracting([.distHdrAtomCache, .exitPayload, .sendSender])
        let (tx, rx) = Self.pair(flags)
        for control in Self.every {
            let packets = try tx.encode(control)
            #expect(packets.count == 1)
            #expect(packets[0].first == 112)
            let back = try rx.decode(packets[0])
            if case .send(.some, let to, let message) = control {
                #expect(back == .send(from: nil, to: to, message: message))
            } else {
                #expect(back == control)
            }
        }
    }

    @Test func largeMessagesAreFragmentedAndReassembledInterleaved() throws {
        let (tx, rx) = Self.pair(fragmentBytes: 1000)
        let big1 = DistControl.send(from: Self.from, to: Self.to,
                                    message: .tuple([.atom("one"), .binary(Binary([UInt8](repeating: 1, count: 20_000)))]))
        let big2 = DistControl.regSend(from: Self.from, to: "two",
                                       message: .tuple([.atom("two"), .binary(Binary([UInt8](repeating: 2, count: 15_500)))]))
        let p1 = try tx.encode(big1)
        let small = try tx.encode(Self.every[4])
        let p2 = try tx.encode(big2)
        #expect(p1.count > 20 && p2.count > 15)
        #expect(p1[0].prefix(2) == [131, UInt8(ascii: "E")] && p1[1].prefix(2) == [131, UInt8(ascii: "F")])
        // Starts in order (they define cache slots), then the rest interleaved,
        // with an unfragmented message in the middle.
        var order: [[UInt8]] = [p1[0], p2[0]]
        var results: [DistControl] = []
        for i in 1..<max(p1.count, p2.count) {
            if i < p1.count { order.append(p1[i]) }
            if i < p2.count { order.append(p2[i]) }
            if i == 5 { order += small }
        }
        for packet in order {
            if let control = try rx.decode(packet) { results.append(control) }
        }
        #expect(results == [Self.every[4], big2, big1])
        #expect(rx.statistics.fragmentsIn == p1.count + p2.count)

        // Without FRAGMENTS the same message goes in one packet.
        let (whole, back) = Self.pair(DistFlags.advertised.subtracting(.fragments), fragmentBytes: 1000)
        let one = try whole.encode(big1)
        #expect(one.count == 1)
        #expect(try back.decode(one[0]) == big1)
    }

    @Test func reassemblyIsBounded() throws {
        var limits = DistConnectionCodec.Limits()
        limits.fragmentBytes = 1000
        let tx = DistConnectionCodec(peer: Self.peer(), limits: limits)
        limits.reassemblyBytes = 8000
        let rx = DistConnectionCodec(peer: Self.peer(), limits: limits)
        let packets = try tx.encode(.send(from: Self.from, to: Self.to,
                                          message: .binary(Binary([UInt8](repeating: 9, count: 50_000)))))
        var thrown: DistCodecError? = nil
        do {
            for p in packets { _ = try rx.decode(p) }
        } catch { thrown = error }
        #expect(thrown == .packet(code: Int32(ERGO_DIST_E_LIMIT)))
    }

    @Test func ticksAreIgnoredAndGarbageIsAnError() throws {
        let (_, rx) = Self.pair()
        #expect(try rx.decode([]) == nil)
        var rng = SystemRandomNumberGenerator()
        var errors = 0
        for i in 0..<2000 {
            let rx = DistConnectionCodec(peer: Self.peer())
            let n = Int.random(in: 1...64, using: &rng)
            var p = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            p[0] = [131, 112, 0][i % 3]
            if p[0] == 131, n > 1 { p[1] = Array("DEF".utf8)[i % 3] }
            do { _ = try rx.decode(p) } catch { errors += 1 }
        }
        #expect(errors > 1500)
        // Every truncation of a real packet fails cleanly.
        let (tx, _) = Self.pair()
        let packet = try tx.encode(Self.every[0])[0]
        for cut in 1..<packet.count {
            let rx = DistConnectionCodec(peer: Self.peer())
            #expect(throws: DistCodecError.self) { _ = try rx.decode(Array(packet.prefix(cut))) }
        }
    }

    @Test func unknownControlMessagesAreRefused() throws {
        let (tx, rx) = Self.pair()
        _ = tx
        // A hand-made 112 packet: {99, foo} (no such operation).
        var bytes: [UInt8] = [112]
        bytes += try ETF.encode(.tuple([.int(99), .atom("foo")]))
        #expect(throws: DistCodecError.control(.unsupported(99))) { _ = try rx.decode(bytes) }
    }
}
