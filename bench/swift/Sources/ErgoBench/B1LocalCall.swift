import Ergo

/// B1 local-call-seq and B2 local-call-par, as anchors_bench.erl measures
/// them (b1/0, b2/0, par_calls/2):
///
/// - B1: a run starts a server, makes 1,000 warm-up calls, then times
///   2,000,000 sequential calls `ping` -> `ok` from one client process; the
///   server is killed after the run.
/// - B2: a run starts 30 servers and spawns 30 client processes (linked to
///   the driver), each waiting for `go`; the clock starts when the driver
///   releases them all and stops when it has received every `{done, Client}`;
///   each client makes 100,000 calls to its own server. Total calls / wall time.
///
/// Both are timed from a driver process (`Node.withProcess`), as Erlang's
/// script runs them from a process. A run that lasts less than
/// ``Method/minSeconds`` repeats its timed part (another 2,000,000 calls, or
/// another round of fresh clients) until it has lasted that long.
enum B1LocalCall {
    static let seqCalls = 2_000_000
    static let warmUpCalls = 1_000
    static let pairs = 30
    static let callsPerClient = 100_000

    static func runSeq() async {
        await runRateWorkload("B1", "local-call-seq", "calls/s", seqRun)
    }

    static func runPar() async {
        await runRateWorkload("B2", "local-call-par", "calls/s", parRun)
    }

    /// One B1 run: calls/s.
    @Sendable static func seqRun(_ node: Node) async throws -> Double {
        try await node.withProcess { driver in
            let server = try await driver.start(PingServer())
            try await callLoop(driver, server, warmUpCalls)
            var calls = 0
            var elapsed = 0.0
            let t0 = now()
            repeat {
                try await callLoop(driver, server, seqCalls)
                calls += seqCalls
                elapsed = now() - t0
            } while elapsed < Method.minSeconds
            try driver.exit(server, reason: .kill)
            return Double(calls) / elapsed
        }
    }

    /// One B2 run: calls/s.
    @Sendable static func parRun(_ node: Node) async throws -> Double {
        try await node.withProcess { driver in
            var servers: [PID] = []
            for _ in 0..<pairs { servers.append(try await driver.start(PingServer())) }
            let me = driver.pid
            let go = Term.atom("go")
            let doneAtom = Atom("done")
            var calls = 0
            var elapsed = 0.0
            repeat {
                var clients: [PID] = []
                for server in servers {
                    clients.append(try driver.spawnLink { client in
                        _ = try await client.receive { $0 == go ? () : nil }
                        try await callLoop(client, server, callsPerClient)
                        client.send(to: me, .tuple([.atom(doneAtom), .pid(client.pid)]))
                    })
                }
                let t0 = now()
                for client in clients { driver.send(to: client, go) }
                for client in clients {
                    try await driver.awaitReport(doneAtom, from: client)
                }
                elapsed += now() - t0
                calls += pairs * callsPerClient
            } while elapsed < Method.minSeconds
            for server in servers { try driver.exit(server, reason: .kill) }
            return Double(calls) / elapsed
        }
    }

    /// `call_loop/3`: `n` calls, each reply checked to be `ok`.
    static func callLoop(_ process: ProcessContext, _ server: PID, _ n: Int) async throws {
        let destination = Destination.pid(server)
        let request = PingServer.ping
        let ok = PingServer.okAtom
        for _ in 0..<n {
            let reply = try await process.call(destination, request)
            guard case .atom(ok) = reply else { throw Unexpected("call returned \(reply), not ok") }
        }
    }
}

/// anchors_bench's gen_server: `ping` (or a binary) -> `ok`; anything else
/// is a bad call, which ends the server as a function_clause would.
struct PingServer: GenServer {
    typealias State = Void

    static let ping = Term.atom("ping")
    static let pingAtom = Atom("ping")
    static let okAtom = Atom("ok")
    static let ok = Term.atom("ok")

    func initialize(_ process: ProcessContext) async throws -> InitResult<Void> { .ok(()) }

    func handleCall(_ request: Term, from: From, state: Void, process: ProcessContext) async throws -> CallResult<Void> {
        switch request {
        case .atom(Self.pingAtom), .binary: return .reply(Self.ok, ())
        default: throw Unexpected("bad call \(request)")
        }
    }
}
