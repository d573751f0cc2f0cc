/// One running application (OTP's `application_master`): it runs the start
/// callback, holds the top supervisor by a link, and when either ends it
/// stops the other and tells the controller how the application ended.
struct ApplicationMaster: GenServer {
    let spec: Application
    let controller: ApplicationController

    struct State {
        /// The top supervisor while it runs.
        var top: PID?
    }

    func initialize(_ process: ProcessContext) async throws -> InitResult<State> {
        process.trapExit = true
        let top: PID
        do {
            top = try await spec.start(process)
        } catch StartError.failed(let reason) {
            return .stop(reason)
        } catch StartError.ignored {
            return .stop(.other(.atom("ignore")))
        }
        try? process.link(top)  // the callback should have linked it; make sure
        return .ok(State(top: top))
    }

    func handleInfo(_ message: Term, state: State, process: ProcessContext) async throws -> CastResult<State> {
        // The top supervisor ended: so does the application, with its reason.
        if let exit = ExitMessage(term: message), exit.from == state.top {
            return .stop(exit.reason, State(top: nil))
        }
        return .noReply(state)
    }

    /// Stops the top supervisor if it still runs (its shutdown is
    /// `infinity`, as OTP's), runs the stop callback, and reports.
    func terminate(_ reason: ExitReason, state: State, process: ProcessContext) async throws {
        if let top = state.top {
            try process.exit(top, reason: .shutdown)
            _ = try await process.receiveExit(from: top, timeout: nil)
        }
        await spec.stop?()
        controller.ended(spec.name, reason: reason, node: process.node)
    }
}
