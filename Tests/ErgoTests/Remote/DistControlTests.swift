import Testing
@testable import Ergo

/// The control tuples against erl_dist_protocol's table of operations.
@Suite struct DistControlTests {
    let a = PID(node: "a@host", id: 40, serial: 1, creation: 7)
    let b = PID(node: "b@host", id: 41, serial: 2, creation: 9)
    let ref = Ref(node: "a@host", creation: 7, ids: [1, 2, 3, 4])
    let message: Term = .tuple([.atom("hello"), .int(1)])

    func shape(_ control: DistControl, exitPayload: Bool = true) -> (Term, Term?) {
        let (tuple, payload) = control.toTerm(exitPayload: exitPayload)
        return (tuple, payload)
    }

    @Test func sendsCarryTheMessageAsPayload() {
        #expect(shape(.send(from: a, to: b, message: message)) == (.tuple([.int(22), .pid(a), .pid(b)]), message))
        #expect(shape(.send(from: nil, to: b, message: message)) == (.tuple([.int(2), .atom(""), .pid(b)]), message))
        #expect(shape(.regSend(from: a, to: "srv", message: message))
            == (.tuple([.int(6), .pid(a), .atom(""), .atom("srv")]), message))
        #expect(shape(.aliasSend(from: a, alias: ref, message: message))
            == (.tuple([.int(33), .pid(a), .ref(ref)]), message))
    }

    @Test func linkSignals() {
        #expect(shape(.link(from: a, to: b)) == (.tuple([.int(1), .pid(a), .pid(b)]), nil))
        #expect(shape(.unlinkID(id: 5, from: a, to: b)) == (.tuple([.int(35), .int(5), .pid(a), .pid(b)]), nil))
        #expect(shape(.unlinkIDAck(id: 5, from: b, to: a)) == (.tuple([.int(36), .int(5), .pid(b), .pid(a)]), nil))
        #expect(shape(.groupLeader(from: a, to: b)) == (.tuple([.int(7), .pid(a), .pid(b)]), nil))
    }

    @Test func exitsUseThePayloadFormsWithExitPayload() {
        let reason = ExitReason.other(.atom("boom"))
        #expect(shape(.exit(from: a, to: b, reason: reason)) == (.tuple([.int(24), .pid(a), .pid(b)]), .atom("boom")))
        #expect(shape(.exit2(from: a, to: b, reason: .kill)) == (.tuple([.int(26), .pid(a), .pid(b)]), .atom("kill")))
        #expect(shape(.monitorExit(from: .pid(b), to: a, ref: ref, reason: .noproc))
            == (.tuple([.int(28), .pid(b), .pid(a), .ref(ref)]), .atom("noproc")))
        #expect(shape(.monitorExit(from: .name("srv"), to: a, ref: ref, reason: .normal))
            == (.tuple([.int(28), .atom("srv"), .pid(a), .ref(ref)]), .atom("normal")))
    }

    @Test func exitsUseTheOldFormsWithoutExitPayload() {
        let reason = ExitReason.other(.atom("boom"))
        #expect(shape(.exit(from: a, to: b, reason: reason), exitPayload: false)
            == (.tuple([.int(3), .pid(a), .pid(b), .atom("boom")]), nil))
        #expect(shape(.exit2(from: a, to: b, reason: .shutdown), exitPayload: false)
            == (.tuple([.int(8), .pid(a), .pid(b), .atom("shutdown")]), nil))
        #expect(shape(.monitorExit(from: .pid(b), to: a, ref: ref, reason: .noconnection), exitPayload: false)
            == (.tuple([.int(21), .pid(b), .pid(a), .ref(ref), .atom("noconnection")]), nil))
    }

    @Test func monitors() {
        #expect(shape(.monitor(from: a, to: .pid(b), ref: ref)) == (.tuple([.int(19), .pid(a), .pid(b), .ref(ref)]), nil))
        #expect(shape(.monitor(from: a, to: .name("srv"), ref: ref))
            == (.tuple([.int(19), .pid(a), .atom("srv"), .ref(ref)]), nil))
        #expect(shape(.demonitor(from: a, to: .pid(b), ref: ref)) == (.tuple([.int(20), .pid(a), .pid(b), .ref(ref)]), nil))
    }

    static let all: [DistControl] = {
        let a = PID(node: "a@host", id: 40, serial: 1, creation: 7)
        let b = PID(node: "b@host", id: 41, serial: 2, creation: 9)
        let ref = Ref(node: "a@host", creation: 7, ids: [1, 2, 3, 4])
        let message: Term = .list([.atom("x"), .binary(Binary([1, 2, 3]))])
        return [
            .send(from: a, to: b, message: message), .send(from: nil, to: b, message: message),
            .regSend(from: a, to: "srv", message: message), .aliasSend(from: a, alias: ref, message: message),
            .link(from: a, to: b), .unlinkID(id: 1 << 40, from: a, to: b),
            .unlinkID(id: UInt64.max, from: a, to: b), .unlinkIDAck(id: 1 << 63, from: b, to: a), .unlinkIDAck(id: 3, from: b, to: a),
            .exit(from: a, to: b, reason: .shutdown(.atom("x"))), .exit2(from: a, to: b, reason: .kill),
            .monitor(from: a, to: .pid(b), ref: ref), .monitor(from: a, to: .name("srv"), ref: ref),
            .demonitor(from: a, to: .name("srv"), ref: ref),
            .monitorExit(from: .name("srv"), to: a, ref: ref, reason: .other(.tuple([.atom("e"), .int(1)]))),
            .groupLeader(from: a, to: b),
        ]
    }()

    /// Each message reads back equal, in both forms, after the ETF codec.
    @Test(arguments: all) func roundTripsThroughETF(_ control: DistControl) throws {
        for exitPayload in [true, false] {
            let (tuple, payload) = control.toTerm(exitPayload: exitPayload)
            let back = try DistControl(controlTuple: try ETF.decode(try ETF.encode(tuple)),
                                       payload: try payload.map { try ETF.decode(try ETF.encode($0)) })
            #expect(back == control)
        }
    }

    /// The trace-token forms read as their plain forms (the token is dropped).
    @Test func traceTokenFormsReadAsThePlainOnes() throws {
        let token = Term.tuple([.int(0), .int(17), .int(0), .tuple([.int(0), .int(1)]), .int(1)])
        let message = Term.atom("hello")
        let alias = ref
        let cases: [(Term, Term?, DistControl)] = [
            (.tuple([.int(12), .atom(""), .pid(b), token]), message, .send(from: nil, to: b, message: message)),
            (.tuple([.int(23), .pid(a), .pid(b), token]), message, .send(from: a, to: b, message: message)),
            (.tuple([.int(16), .pid(a), .atom(""), .atom("srv"), token]), message,
             .regSend(from: a, to: "srv", message: message)),
            (.tuple([.int(34), .pid(a), .ref(alias), token]), message, .aliasSend(from: a, alias: alias, message: message)),
            (.tuple([.int(13), .pid(a), .pid(b), token, .atom("boom")]), nil, .exit(from: a, to: b, reason: .other(.atom("boom")))),
            (.tuple([.int(25), .pid(a), .pid(b), token]), .atom("boom"), .exit(from: a, to: b, reason: .other(.atom("boom")))),
            (.tuple([.int(18), .pid(a), .pid(b), token, .atom("kill")]), nil, .exit2(from: a, to: b, reason: .kill)),
            (.tuple([.int(27), .pid(a), .pid(b), token]), .atom("kill"), .exit2(from: a, to: b, reason: .kill)),
        ]
        for (tuple, payload, expected) in cases {
            #expect(try DistControl(controlTuple: tuple, payload: payload) == expected)
        }
    }

    @Test func rejectsWhatItCannotRead() {
        #expect(throws: DistControlError.unsupported(29)) {
            try DistControl(controlTuple: .tuple([.int(29), .ref(ref), .pid(a)]), payload: nil)
        }
        #expect(throws: DistControlError.unsupported(4)) {
            try DistControl(controlTuple: .tuple([.int(4), .pid(a), .pid(b)]), payload: nil)
        }
        #expect(throws: DistControlError.malformed(.tuple([.int(1), .pid(a)]))) {
            try DistControl(controlTuple: .tuple([.int(1), .pid(a)]), payload: nil)
        }
        #expect(throws: DistControlError.missingPayload(.tuple([.int(22), .pid(a), .pid(b)]))) {
            try DistControl(controlTuple: .tuple([.int(22), .pid(a), .pid(b)]), payload: nil)
        }
        #expect(throws: DistControlError.malformed(.atom("x"))) {
            try DistControl(controlTuple: .atom("x"), payload: nil)
        }
    }
}
