/// Why a process exited, or the reason an exit signal carries.
///
/// The common reasons have cases; anything else is `.other(Term)`. The
/// mapping to terms is Erlang's: `.shutdown(nil)` is `shutdown`,
/// `.shutdown(t)` is `{shutdown, t}`. A reason can be thrown (`throw
/// ExitReason.shutdown(nil)`) to end the process with it.
public enum ExitReason: Hashable, Sendable, Error, CustomStringConvertible {
    case normal
    case shutdown(Term?)
    /// Sent with `exit(pid, .kill)`: cannot be trapped.
    case kill
    /// What a process killed by `kill` dies with.
    case killed
    case noproc
    case noconnection
    case other(Term)

    /// `shutdown` with no detail.
    public static let shutdown = ExitReason.shutdown(nil)

    public init(_ term: Term) {
        switch term {
        case .atom(.normal): self = .normal
        case .atom(.shutdown): self = .shutdown(nil)
        case .atom(.kill): self = .kill
        case .atom(.killed): self = .killed
        case .atom(.noproc): self = .noproc
        case .atom(.noconnection): self = .noconnection
        case .tuple(let e) where e.count == 2 && e[0] == .atom(.shutdown): self = .shutdown(e[1])
        default: self = .other(term)
        }
    }

    /// The reason as an Erlang term.
    public var term: Term {
        switch self {
        case .normal: return .atom(.normal)
        case .shutdown(nil): return .atom(.shutdown)
        case .shutdown(let detail?): return .tuple([.atom(.shutdown), detail])
        case .kill: return .atom(.kill)
        case .killed: return .atom(.killed)
        case .noproc: return .atom(.noproc)
        case .noconnection: return .atom(.noconnection)
        case .other(let term): return term
        }
    }

    /// The reason a Swift error ends a process with: the error's own reason
    /// when it is an `ExitReason`, else `{swift_error, <<"Type: description">>}`.
    public init(error: any Error) {
        if let reason = error as? ExitReason { self = reason; return }
        if let convertible = error as? any ExitReasonConvertible { self = convertible.exitReason; return }
        self = .other(.tuple([.atom("swift_error"), .string("\(type(of: error)): \(error)")]))
    }

    /// Whether this reason is "normal" for crash reporting, as in OTP:
    /// `normal`, `shutdown` and `{shutdown, _}` are not logged as crashes.
    public var isNormalTermination: Bool {
        switch self {
        case .normal, .shutdown: return true
        default: return false
        }
    }

    public var description: String { TermPrinter.print(term) }
}

/// An error that chooses the exit reason of the process it ends.
public protocol ExitReasonConvertible: Error {
    var exitReason: ExitReason { get }
}

extension Atom {
    public static let normal: Atom = "normal"
    public static let shutdown: Atom = "shutdown"
    public static let kill: Atom = "kill"
    public static let killed: Atom = "killed"
    public static let noproc: Atom = "noproc"
    public static let noconnection: Atom = "noconnection"
}
