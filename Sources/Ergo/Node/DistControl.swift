/// A distribution control message: what one node tells another about its
/// processes (erl_dist_protocol, "Protocol between Connected Nodes").
///
/// On the wire a control message is a tuple whose first element is the
/// operation, optionally followed by a payload term (the message of a send,
/// the reason of an exit). `toTerm(exitPayload:)` gives both;
/// `init(controlTuple:payload:)` reads them back, in either the old or the
/// `PAYLOAD_` form. The network layer encodes and decodes the terms; the node
/// core produces and consumes this type only.
public enum DistControl: Hashable, Sendable {
    /// `SEND_SENDER` `{22, From, To}` + message (`SEND` `{2, '', To}` when
    /// `from` is nil, as old nodes send).
    case send(from: PID?, to: PID, message: Term)
    /// `REG_SEND` `{6, From, '', ToName}` + message.
    case regSend(from: PID, to: Atom, message: Term)
    /// `ALIAS_SEND` `{33, From, Alias}` + message.
    case aliasSend(from: PID, alias: Ref, message: Term)
    /// `LINK` `{1, From, To}`.
    case link(from: PID, to: PID)
    /// `UNLINK_ID` `{35, Id, From, To}` (new link protocol, OTP 23+).
    case unlinkID(id: UInt64, from: PID, to: PID)
    /// `UNLINK_ID_ACK` `{36, Id, From, To}`: `from` acknowledges the
    /// `UNLINK_ID` that `to` sent.
    case unlinkIDAck(id: UInt64, from: PID, to: PID)
    /// A link exit: `PAYLOAD_EXIT` `{24, From, To}` + reason (`EXIT` `{3, From, To, Reason}`).
    case exit(from: PID, to: PID, reason: ExitReason)
    /// `exit/2`: `PAYLOAD_EXIT2` `{26, From, To}` + reason (`EXIT2` `{8, From, To, Reason}`).
    case exit2(from: PID, to: PID, reason: ExitReason)
    /// `MONITOR_P` `{19, From, ToProc, Ref}`.
    case monitor(from: PID, to: DistProcess, ref: Ref)
    /// `DEMONITOR_P` `{20, From, ToProc, Ref}`.
    case demonitor(from: PID, to: DistProcess, ref: Ref)
    /// The monitored process `from` is gone: `PAYLOAD_MONITOR_P_EXIT`
    /// `{28, FromProc, To, Ref}` + reason (`MONITOR_P_EXIT` `{21, FromProc, To, Ref, Reason}`).
    case monitorExit(from: DistProcess, to: PID, ref: Ref, reason: ExitReason)
    /// `GROUP_LEADER` `{7, From, To}` (accepted and ignored: no group leaders here).
    case groupLeader(from: PID, to: PID)

    /// The operation numbers of the protocol.
    public enum Operation: Int, Sendable {
        case link = 1, send = 2, exit = 3, unlink = 4, regSend = 6, groupLeader = 7, exit2 = 8
        case monitor = 19, demonitor = 20, monitorExit = 21, sendSender = 22
        case payloadExit = 24, payloadExit2 = 26, payloadMonitorExit = 28
        case aliasSend = 33, unlinkID = 35, unlinkIDAck = 36
        // The same with a sequential-trace token (sent while the sender has one).
        case sendTT = 12, exitTT = 13, regSendTT = 16, exit2TT = 18, sendSenderTT = 23
        case payloadExitTT = 25, payloadExit2TT = 27, aliasSendTT = 34
    }

    /// The node the message is addressed to (the receiving side's node), as
    /// far as the message names it; nil for a `REG_SEND` (the name is local
    /// to the connection's peer).
    public var targetNode: Atom? {
        switch self {
        case .send(_, let to, _), .link(_, let to), .unlinkID(_, _, let to), .unlinkIDAck(_, _, let to),
             .exit(_, let to, _), .exit2(_, let to, _), .monitorExit(_, let to, _, _), .groupLeader(_, let to):
            return to.node
        case .aliasSend(_, let alias, _): return alias.node
        case .monitor(_, let to, _), .demonitor(_, let to, _):
            if case .pid(let pid) = to { return pid.node }
            return nil
        case .regSend: return nil
        }
    }

    /// The control tuple and the payload as they go on the wire. With
    /// `exitPayload` (the peer set `DFLAG_EXIT_PAYLOAD`: every OTP 23+ node)
    /// exits and monitor exits use the `PAYLOAD_` forms.
    public func toTerm(exitPayload: Bool = true) -> (control: Term, payload: Term?) {
        func op(_ o: Operation) -> Term { .int(o.rawValue) }
        switch self {
        case .send(let from?, let to, let message):
            return (.tuple([op(.sendSender), .pid(from), .pid(to)]), message)
        case .send(nil, let to, let message):
            return (.tuple([op(.send), .atom(.empty), .pid(to)]), message)
        case .regSend(let from, let to, let message):
            return (.tuple([op(.regSend), .pid(from), .atom(.empty), .atom(to)]), message)
        case .aliasSend(let from, let alias, let message):
            return (.tuple([op(.aliasSend), .pid(from), .ref(alias)]), message)
        case .link(let from, let to):
            return (.tuple([op(.link), .pid(from), .pid(to)]), nil)
        case .unlinkID(let id, let from, let to):
            return (.tuple([op(.unlinkID), Self.idTerm(id), .pid(from), .pid(to)]), nil)
        case .unlinkIDAck(let id, let from, let to):
            return (.tuple([op(.unlinkIDAck), Self.idTerm(id), .pid(from), .pid(to)]), nil)
        case .exit(let from, let to, let reason):
            return exitPayload ? (.tuple([op(.payloadExit), .pid(from), .pid(to)]), reason.term)
                               : (.tuple([op(.exit), .pid(from), .pid(to), reason.term]), nil)
        case .exit2(let from, let to, let reason):
            return exitPayload ? (.tuple([op(.payloadExit2), .pid(from), .pid(to)]), reason.term)
                               : (.tuple([op(.exit2), .pid(from), .pid(to), reason.term]), nil)
        case .monitor(let from, let to, let ref):
            return (.tuple([op(.monitor), .pid(from), to.term, .ref(ref)]), nil)
        case .demonitor(let from, let to, let ref):
            return (.tuple([op(.demonitor), .pid(from), to.term, .ref(ref)]), nil)
        case .monitorExit(let from, let to, let ref, let reason):
            return exitPayload
                ? (.tuple([op(.payloadMonitorExit), from.term, .pid(to), .ref(ref)]), reason.term)
                : (.tuple([op(.monitorExit), from.term, .pid(to), .ref(ref), reason.term]), nil)
        case .groupLeader(let from, let to):
            return (.tuple([op(.groupLeader), .pid(from), .pid(to)]), nil)
        }
    }

    /// Reads a control tuple and its payload (nil when the message has none).
    /// Accepts the old and the `PAYLOAD_` forms of exits, and the trace
    /// token (`_TT`) forms, whose token is dropped (sequential tracing is not
    /// implemented: the message is delivered as without one). Rejects spawn
    /// requests and the old `UNLINK`, which this node never asks for.
    public init(controlTuple control: Term, payload: Term?) throws(DistControlError) {
        guard case .tuple(let e) = control, let first = e.first, case .int(let number) = first else {
            throw .malformed(control)
        }
        guard let operation = Operation(rawValue: number) else { throw .unsupported(number) }
        func pid(_ i: Int) throws(DistControlError) -> PID {
            guard i < e.count, case .pid(let p) = e[i] else { throw .malformed(control) }
            return p
        }
        func ref(_ i: Int) throws(DistControlError) -> Ref {
            guard i < e.count, case .ref(let r) = e[i] else { throw .malformed(control) }
            return r
        }
        func process(_ i: Int) throws(DistControlError) -> DistProcess {
            guard i < e.count, let p = DistProcess(e[i]) else { throw .malformed(control) }
            return p
        }
        func id(_ i: Int) throws(DistControlError) -> UInt64 {
            guard i < e.count, let n = Self.id(e[i]) else { throw .malformed(control) }
            return n
        }
        func arity(_ n: Int) throws(DistControlError) {
            guard e.count == n else { throw .malformed(control) }
        }
        func body() throws(DistControlError) -> Term {
            guard let payload else { throw .missingPayload(control) }
            return payload
        }
        switch operation {
        case .sendSender:
            try arity(3)
            self = .send(from: try pid(1), to: try pid(2), message: try body())
        case .send:
            try arity(3)
            self = .send(from: nil, to: try pid(2), message: try body())
        case .regSend:
            try arity(4)
            guard case .atom(let name) = e[3] else { throw .malformed(control) }
            self = .regSend(from: try pid(1), to: name, message: try body())
        case .aliasSend:
            try arity(3)
            self = .aliasSend(from: try pid(1), alias: try ref(2), message: try body())
        case .link:
            try arity(3)
            self = .link(from: try pid(1), to: try pid(2))
        case .unlinkID:
            try arity(4)
            self = .unlinkID(id: try id(1), from: try pid(2), to: try pid(3))
        case .unlinkIDAck:
            try arity(4)
            self = .unlinkIDAck(id: try id(1), from: try pid(2), to: try pid(3))
        case .exit:
            try arity(4)
            self = .exit(from: try pid(1), to: try pid(2), reason: ExitReason(e[3]))
        case .payloadExit:
            try arity(3)
            self = .exit(from: try pid(1), to: try pid(2), reason: ExitReason(try body()))
        case .exit2:
            try arity(4)
            self = .exit2(from: try pid(1), to: try pid(2), reason: ExitReason(e[3]))
        case .payloadExit2:
            try arity(3)
            self = .exit2(from: try pid(1), to: try pid(2), reason: ExitReason(try body()))
        case .monitor:
            try arity(4)
            self = .monitor(from: try pid(1), to: try process(2), ref: try ref(3))
        case .demonitor:
            try arity(4)
            self = .demonitor(from: try pid(1), to: try process(2), ref: try ref(3))
        case .monitorExit:
            try arity(5)
            self = .monitorExit(from: try process(1), to: try pid(2), ref: try ref(3), reason: ExitReason(e[4]))
        case .payloadMonitorExit:
            try arity(4)
            self = .monitorExit(from: try process(1), to: try pid(2), ref: try ref(3),
                                reason: ExitReason(try body()))
        case .groupLeader:
            try arity(3)
            self = .groupLeader(from: try pid(1), to: try pid(2))
        case .sendTT:
            try arity(4)
            self = .send(from: nil, to: try pid(2), message: try body())
        case .sendSenderTT:
            try arity(4)
            self = .send(from: try pid(1), to: try pid(2), message: try body())
        case .regSendTT:
            try arity(5)
            guard case .atom(let name) = e[3] else { throw .malformed(control) }
            self = .regSend(from: try pid(1), to: name, message: try body())
        case .aliasSendTT:
            try arity(4)
            self = .aliasSend(from: try pid(1), alias: try ref(2), message: try body())
        case .exitTT:
            try arity(5)
            self = .exit(from: try pid(1), to: try pid(2), reason: ExitReason(e[4]))
        case .payloadExitTT:
            try arity(4)
            self = .exit(from: try pid(1), to: try pid(2), reason: ExitReason(try body()))
        case .exit2TT:
            try arity(5)
            self = .exit2(from: try pid(1), to: try pid(2), reason: ExitReason(e[4]))
        case .payloadExit2TT:
            try arity(4)
            self = .exit2(from: try pid(1), to: try pid(2), reason: ExitReason(try body()))
        case .unlink:
            throw .unsupported(number)
        }
    }

    /// An unlink id, 1 to 2^64 - 1: a small integer or a bignum on the wire.
    private static func idTerm(_ id: UInt64) -> Term {
        if id <= UInt64(Int.max) { return .int(Int(id)) }
        let digits = (0..<8).map { UInt8(truncatingIfNeeded: id >> (8 * $0)) }
        return .bigInt(BigInteger(isNegative: false, magnitude: digits))
    }

    private static func id(_ term: Term) -> UInt64? {
        switch term {
        case .int(let n) where n > 0: return UInt64(n)
        case .bigInt(let big) where !big.isNegative && big.magnitude.count <= 8:
            return big.magnitude.reversed().reduce(0) { $0 << 8 | UInt64($1) }
        default: return nil
        }
    }
}

/// A process as a monitor names it on the wire: a pid, or a registered name
/// (an atom, local to the node it is sent to or from).
public enum DistProcess: Hashable, Sendable {
    case pid(PID)
    case name(Atom)

    init?(_ term: Term) {
        switch term {
        case .pid(let p): self = .pid(p)
        case .atom(let a): self = .name(a)
        default: return nil
        }
    }

    var term: Term {
        switch self {
        case .pid(let p): return .pid(p)
        case .name(let a): return .atom(a)
        }
    }
}

/// A control message this node cannot read.
public enum DistControlError: Error, Hashable, Sendable {
    /// Not a tuple of the operation's shape.
    case malformed(Term)
    /// An operation this node does not take (trace tokens, spawn requests,
    /// the old `UNLINK`, unknown numbers).
    case unsupported(Int)
    /// A message or `PAYLOAD_` exit without its payload.
    case missingPayload(Term)
}

extension Atom {
    /// `''`, the "unused" field of `SEND` and `REG_SEND`.
    static let empty: Atom = ""
}
