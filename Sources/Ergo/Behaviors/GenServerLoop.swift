/// How a started process tells its starter that `initialize` finished.
enum StartAck: Sendable {
    case started
    case ignored
    case failed(ExitReason)

    var term: Term {
        switch self {
        case .started: return .atom(.ok)
        case .ignored: return .atom("ignore")
        case .failed(let reason): return .tuple([.atom(.error), reason.term])
        }
    }

    init(term: Term) {
        switch term {
        case .atom(.ok): self = .started
        case .atom("ignore"): self = .ignored
        case .tuple(let e) where e.count == 2: self = .failed(ExitReason(e[1]))
        default: self = .failed(.other(term))
        }
    }
}

/// The `gen_server` loop a `GenServer` runs in its process.
struct GenServerLoop<Server: GenServer> {
    let server: Server
    let process: ProcessContext
    let parent: PID?

    func run(ack: @Sendable (StartAck) -> Void) async throws {
        let initial: InitResult<Server.State>
        do {
            initial = try await server.initialize(process)
        } catch let stop as ProcessStop {
            refuse(.failed(stop.reason), ack: ack)
            throw stop
        } catch {
            let reason = ExitReason(error: error)
            CrashReport.initFailed(process, server: "\(Server.self)", reason: reason)
            refuse(.failed(reason), ack: ack)
            throw ReportedExit(reason)
        }
        var state: Server.State
        switch initial {
        case .ok(let s):
            state = s
            ack(.started)
        case .ignore:
            refuse(.ignored, ack: ack)
            throw ReportedExit(.normal)
        case .stop(let reason):
            refuse(.failed(reason), ack: ack)
            throw ReportedExit(reason)
        }
        while true {
            let envelope = try await process.core.next(timeout: nil)!
            let outcome: Step
            do {
                outcome = try await handle(envelope, state: state)
            } catch let stop as ProcessStop {
                throw stop
            } catch {
                try await stop(ExitReason(error: error), state: state, last: envelope)
            }
            switch outcome {
            case .next(let s): state = s
            case .stop(let reason, let s): try await stop(reason, state: s, last: envelope)
            }
        }
    }

    /// Tells the starter the server did not start, after giving up its name
    /// (OTP's `gen:unregister_name`), so that a restart can take it at once.
    private func refuse(_ answer: StartAck, ack: (StartAck) -> Void) {
        process.core.node.registry.remove(process.pid)
        ack(answer)
    }

    private enum Step {
        case next(Server.State)
        case stop(ExitReason, Server.State)
    }

    private func handle(_ envelope: Envelope, state: Server.State) async throws -> Step {
        switch envelope {
        case .call(let from, let request, _):
            return try await call(request, from: from, state: state)
        case .cast(let request):
            return step(try await server.handleCast(request, state: state, process: process))
        case .message(let term):
            if case .tuple(let e) = term, e.count == 3, e[0] == .atom(.genCall), let from = From(term: e[1]) {
                return try await call(e[2], from: from, state: state)
            }
            if case .tuple(let e) = term, e.count == 2, e[0] == .atom(.genCast) {
                return step(try await server.handleCast(e[1], state: state, process: process))
            }
            if let exit = ExitMessage(term: term), exit.from == parent, process.trapExit {
                // The parent's exit signal: terminate with its reason (OTP).
                return .stop(exit.reason, state)
            }
            return step(try await server.handleInfo(term, state: state, process: process))
        case .reply, .down:
            return step(try await server.handleInfo(envelope.term, state: state, process: process))
        }
    }

    private func call(_ request: Term, from: From, state: Server.State) async throws -> Step {
        switch try await server.handleCall(request, from: from, state: state, process: process) {
        case .reply(let value, let s):
            process.reply(to: from, value)
            return .next(s)
        case .noReply(let s):
            return .next(s)
        case .stop(let reason, let value, let s):
            if let value { process.reply(to: from, value) }
            return .stop(reason, s)
        }
    }

    private func step(_ result: CastResult<Server.State>) -> Step {
        switch result {
        case .noReply(let s): return .next(s)
        case .stop(let reason, let s): return .stop(reason, s)
        }
    }

    /// Runs `terminate`, logs an abnormal stop as OTP does, and ends the
    /// process. When a callback threw, `state` is the state before it. A
    /// `terminate` that throws replaces the reason with its own failure.
    private func stop(_ reason: ExitReason, state: Server.State, last: Envelope) async throws -> Never {
        var final = reason
        do {
            try await server.terminate(reason, state: state, process: process)
        } catch let stop as ProcessStop {
            throw stop
        } catch {
            final = ExitReason(error: error)
        }
        if !final.isNormalTermination {
            CrashReport.genServer(process, server: "\(Server.self)", reason: final,
                                  lastMessage: last.term, state: "\(state)")
        }
        throw ReportedExit(final)
    }
}
