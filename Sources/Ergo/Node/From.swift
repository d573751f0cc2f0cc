/// Who made a call, and the tag its reply must carry: OTP's `From`,
/// `{Pid, [alias | Ref]}` on the wire (OTP 24+), where `Ref` is an alias of
/// the caller that is active only while it waits.
public struct From: Hashable, Sendable, CustomStringConvertible {
    public let pid: PID
    public let tag: Ref
    /// Whether the tag is an alias (`[alias | Ref]`, OTP 24+): the reply goes
    /// to the alias; otherwise `{Tag, Reply}` goes to `pid`.
    public let isAlias: Bool
    /// The caller's process when it is local: replies skip the table lookup.
    let caller: ProcessCore?

    public init(pid: PID, tag: Ref, isAlias: Bool = true) {
        self.init(pid: pid, tag: tag, isAlias: isAlias, caller: nil)
    }

    init(pid: PID, tag: Ref, isAlias: Bool, caller: ProcessCore?) {
        self.pid = pid
        self.tag = tag
        self.isAlias = isAlias
        self.caller = caller
    }

    public static func == (a: From, b: From) -> Bool {
        a.pid == b.pid && a.tag == b.tag && a.isAlias == b.isAlias
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(tag)
    }

    /// Reads `{Pid, Tag}` where Tag is `[alias | Ref]` (or a plain ref, as
    /// callers before OTP 24 send).
    public init?(term: Term) {
        guard case .tuple(let e) = term, e.count == 2, case .pid(let pid) = e[0] else { return nil }
        switch e[1] {
        case .ref(let ref): self.init(pid: pid, tag: ref, isAlias: false)
        case .improperList(let head, .ref(let ref)) where head == [.atom(.alias)]:
            self.init(pid: pid, tag: ref)
        default: return nil
        }
    }

    /// `{Pid, [alias | Ref]}` (or `{Pid, Ref}`).
    public var term: Term { .tuple([.pid(pid), isAlias ? Self.tagTerm(tag) : .ref(tag)]) }

    static func tagTerm(_ ref: Ref) -> Term { .improperList([.atom(.alias)], tail: .ref(ref)) }

    public var description: String { TermPrinter.print(term) }
}

/// Where a message goes.
public enum Destination: Hashable, Sendable, CustomStringConvertible {
    case pid(PID)
    /// A name registered on this node.
    case name(Atom)
    /// A name registered on a node (this one or another).
    case remoteName(Atom, node: Atom)
    case alias(Alias)

    public var description: String {
        switch self {
        case .pid(let pid): return pid.description
        case .name(let name): return name.description
        case .remoteName(let name, let node): return "{\(name),\(node)}"
        case .alias(let alias): return alias.description
        }
    }
}

extension Destination: ExpressibleByStringLiteral {
    /// A registered name: `"echo"`.
    public init(stringLiteral value: String) { self = .name(Atom(value)) }
}

/// Why a process operation failed.
public enum ProcessError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No process has this pid or name (Erlang's `noproc` / `badarg`).
    case noproc(Destination)
    /// The name is taken by another process.
    case alreadyRegistered(Atom, PID)
    /// This process is already registered under another name.
    case alreadyNamed(PID, Atom)
    /// The node is stopping or stopped.
    case nodeStopped
    /// The node has no networking (no router): Erlang's `notalive`.
    case notAlive

    public var description: String {
        switch self {
        case .noproc(let dest): return "no process \(dest)"
        case .alreadyRegistered(let name, let pid): return "\(name) is already registered by \(pid)"
        case .alreadyNamed(let pid, let name): return "\(pid) is already registered as \(name)"
        case .nodeStopped: return "the node is stopped"
        case .notAlive: return "the node has no networking (not alive)"
        }
    }
}

/// Why a call failed. OTP exits the caller in these cases; here the call
/// throws, and a handler that does not catch it ends its process with the
/// error's `exitReason` (`{Reason, {gen_server, call, [...]}}` as in OTP).
public enum CallError: Error, Hashable, Sendable, ExitReasonConvertible, CustomStringConvertible {
    /// No reply within the timeout; a late reply is dropped.
    case timeout(Destination)
    /// The server does not exist or is dead.
    case noproc(Destination)
    /// The server exited before replying.
    case exited(Destination, ExitReason)
    /// A process called itself (it would wait forever).
    case callingSelf(Destination)

    public var exitReason: ExitReason {
        let (reason, dest): (Term, Destination)
        switch self {
        case .timeout(let d): (reason, dest) = (.atom("timeout"), d)
        case .noproc(let d): (reason, dest) = (.atom(.noproc), d)
        case .exited(let d, let r): (reason, dest) = (r.term, d)
        case .callingSelf(let d): (reason, dest) = (.atom("calling_self"), d)
        }
        return .other(.tuple([reason, .tuple([.atom("gen_server"), .atom("call"), .list([dest.term])])]))
    }

    public var description: String {
        switch self {
        case .timeout(let d): return "call to \(d) timed out"
        case .noproc(let d): return "call to \(d): no such process"
        case .exited(let d, let r): return "call to \(d): server exited with \(r)"
        case .callingSelf(let d): return "call to \(d): a process cannot call itself"
        }
    }
}

extension CallError {
    /// The server's monitor fired before a reply: `noproc` when it did not
    /// exist, else `exited` with its reason.
    init(_ destination: Destination, down reason: ExitReason) {
        self = reason == .noproc ? .noproc(destination) : .exited(destination, reason)
    }
}

extension Destination {
    /// As Erlang names the destination in exit reasons.
    public var term: Term {
        switch self {
        case .pid(let pid): return .pid(pid)
        case .name(let name): return .atom(name)
        case .remoteName(let name, let node): return .tuple([.atom(name), .atom(node)])
        case .alias(let alias): return .ref(alias.ref)
        }
    }
}
