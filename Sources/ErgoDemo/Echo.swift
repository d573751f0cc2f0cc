import Ergo

/// The demo's echo server, registered as `echo`:
/// - `gen_server:call(echo, X)` replies `X` unchanged;
/// - `gen_server:cast(echo, {Pid, X})` and a plain message `{Pid, X}` make
///   it send `{echo, EchoPid, X}` to `Pid` (EchoPid being its own pid).
public struct Echo: GenServer {
    public typealias State = Int

    public init() {}

    public func initialize(_ process: ProcessContext) async throws -> InitResult<Int> { .ok(0) }

    public func handleCall(_ request: Term, from: From, state: Int, process: ProcessContext) async throws -> CallResult<Int> {
        .reply(request, state + 1)
    }

    public func handleCast(_ request: Term, state: Int, process: ProcessContext) async throws -> CastResult<Int> {
        echo(request, process: process)
        return .noReply(state + 1)
    }

    public func handleInfo(_ message: Term, state: Int, process: ProcessContext) async throws -> CastResult<Int> {
        echo(message, process: process)
        return .noReply(state + 1)
    }

    /// `{Pid, X}` → `{echo, Self, X}` to Pid; anything else is logged and dropped.
    private func echo(_ message: Term, process: ProcessContext) {
        guard case .tuple(let e) = message, e.count == 2, case .pid(let to) = e[0] else {
            process.logger.notice("echo: a message that is not {Pid, X}, dropped")
            return
        }
        process.send(to: to, .tuple([.atom("echo"), .pid(process.pid), e[1]]))
    }
}

/// The application `ergo node` hosts: `demo_sup` (one_for_one) with the
/// child `echo`, a GenServer registered as `echo`.
public enum DemoApplication {
    public static let name: Atom = "demo"
    public static let supervisorName: Atom = "demo_sup"
    public static let echoName: Atom = "echo"

    public static func make() -> Application {
        Application(name: name, description: "Ergo for Swift demo", version: "0.1.0",
                    supervisor: Supervisor(strategy: .oneForOne, intensity: 5, period: .seconds(10), children: [
                        .worker(id: echoName, Echo(), options: SpawnOptions(name: echoName)),
                    ]), options: SpawnOptions(name: supervisorName))
    }
}
