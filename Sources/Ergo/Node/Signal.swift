/// What travels between processes: messages and the signals (links,
/// monitors, exits) that Erlang keeps in the same per-pair order.
enum Signal: Sendable {
    /// An ordinary message.
    case message(Term)
    /// `{'$gen_call', From, Request}`, kept unencoded between local processes.
    /// `monitored` says the caller asked the receiver to monitor it for the
    /// call (the monitor's reference is the call's tag).
    case call(From, Term, monitored: Bool)
    /// `{'$gen_cast', Request}`.
    case cast(Term)
    /// `{Tag, Reply}` sent to the alias `Tag`; `demonitored` says the replier
    /// already dropped the call's monitor.
    case reply(Ref, Term, demonitored: Bool)
    /// A message sent to an alias; dropped unless the alias is active.
    case aliasMessage(Ref, Term)
    /// An exit signal; `viaLink` when a linked process died.
    case exit(from: PID, reason: ExitReason, viaLink: Bool)
    case link(from: PID)
    case unlink(from: PID)
    /// A process on another node links to this one (`LINK`).
    case remoteLink(from: PID)
    /// A process on another node removes its link (`UNLINK_ID`); the
    /// receiver acknowledges it with `UNLINK_ID_ACK`.
    case remoteUnlink(from: PID, id: UInt64)
    /// The acknowledgement of this process's `UNLINK_ID`.
    case remoteUnlinkAck(from: PID, id: UInt64)
    /// `from` monitors this process (by name when `name` is set).
    case monitor(from: PID, ref: Ref, name: Atom?)
    case demonitor(ref: Ref)
    /// A monitored process went down.
    case down(ref: Ref, object: Term, reason: ExitReason)
    /// A receive timeout with this token fired.
    case timeout(UInt64)
    /// Runs on the receiving process (`nil` when it is already dead).
    case inspect(@Sendable (ProcessCore?) -> Void)
}

/// A message in a process's receive queue.
enum Envelope: Sendable {
    case message(Term)
    case call(From, Term, monitored: Bool)
    case cast(Term)
    case reply(Ref, Term, demonitored: Bool)
    case down(ref: Ref, object: Term, reason: ExitReason)

    /// The message as Erlang would see it.
    var term: Term {
        switch self {
        case .message(let term): return term
        case .call(let from, let request, _):
            return .tuple([.atom(.genCall), from.term, request])
        case .cast(let request): return .tuple([.atom(.genCast), request])
        case .reply(let ref, let value, _): return .tuple([From.tagTerm(ref), value])
        case .down(let ref, let object, let reason):
            return DownMessage(ref: ref, object: object, reason: reason).term
        }
    }
}

extension Atom {
    static let genCall: Atom = "$gen_call"
    static let genCast: Atom = "$gen_cast"
    static let down: Atom = "DOWN"
    static let exitTag: Atom = "EXIT"
    static let process: Atom = "process"
    static let alias: Atom = "alias"
    static let nodeup: Atom = "nodeup"
    static let nodedown: Atom = "nodedown"
}
