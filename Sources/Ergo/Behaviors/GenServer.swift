/// A server process with OTP's `gen_server` callbacks.
///
/// The conforming value is the server's "module": its configuration and
/// start arguments. `initialize` builds the `State`, which then lives in the
/// server's process and goes through each callback, which returns it in a
/// tagged result (`.reply(value, state)`, `.noReply(state)`,
/// `.stop(reason, state)`). Callbacks are `async`: a handler may call other
/// processes. A callback that throws ends the server: `terminate` runs, the
/// failure is logged as OTP logs it, and links and monitors fire.
///
/// Messages have OTP's shapes, so an Erlang process can call a Swift server:
/// `{'$gen_call', From, Request}` reaches `handleCall`,
/// `{'$gen_cast', Request}` `handleCast`, anything else `handleInfo`.
public protocol GenServer: Sendable {
    associatedtype State

    /// Runs in the new process before `start` returns.
    func initialize(_ process: ProcessContext) async throws -> InitResult<State>

    /// A call; reply now (`.reply`), later with `process.reply(to:)`
    /// (`.noReply`), or stop.
    func handleCall(_ request: Term, from: From, state: State, process: ProcessContext) async throws -> CallResult<State>

    func handleCast(_ request: Term, state: State, process: ProcessContext) async throws -> CastResult<State>

    /// Any other message: `'EXIT'` (when trapping exits), `'DOWN'`, timers.
    func handleInfo(_ message: Term, state: State, process: ProcessContext) async throws -> CastResult<State>

    /// Runs when the server stops by a callback's choice or failure, or on an
    /// exit signal from its parent while it traps exits (OTP's rules).
    func terminate(_ reason: ExitReason, state: State, process: ProcessContext) async throws
}

/// What `initialize` returns.
public enum InitResult<State> {
    case ok(State)
    /// Do not start; `start` throws `StartError.ignored` and the process exits normally.
    case ignore
    /// Do not start; `start` throws `StartError.failed(reason)`.
    case stop(ExitReason)
}

/// What `handleCall` returns.
public enum CallResult<State> {
    case reply(Term, State)
    case noReply(State)
    /// Stops the server; replies first when `reply` is set.
    case stop(ExitReason, reply: Term?, State)
}

/// What `handleCast` and `handleInfo` return.
public enum CastResult<State> {
    case noReply(State)
    case stop(ExitReason, State)
}

extension GenServer {
    public func handleCall(_ request: Term, from: From, state: State, process: ProcessContext) async throws -> CallResult<State> {
        .stop(.other(.tuple([.atom("bad_call"), request])), reply: nil, state)
    }

    public func handleCast(_ request: Term, state: State, process: ProcessContext) async throws -> CastResult<State> {
        .stop(.other(.tuple([.atom("bad_cast"), request])), state)
    }

    public func handleInfo(_ message: Term, state: State, process: ProcessContext) async throws -> CastResult<State> {
        process.logger.notice("unexpected message", metadata: ["message_type": "\(message.kindLabel)"])
        return .noReply(state)
    }

    public func terminate(_ reason: ExitReason, state: State, process: ProcessContext) async throws {}
}

/// Why a server did not start.
public enum StartError: Error, Hashable, Sendable, CustomStringConvertible {
    /// `initialize` returned `.ignore`.
    case ignored
    /// `initialize` stopped, threw, or the process died before it answered.
    case failed(ExitReason)

    public var description: String {
        switch self {
        case .ignored: return "init returned ignore"
        case .failed(let reason): return "init failed: \(reason)"
        }
    }
}
