import Ergo
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The remote workloads, as anchors_bench.erl measures them, with the client
/// on this OS process's node (A) and the servers on node B, a second OS
/// process: this program re-executed as `ergo-bench serve ...`.
///
/// - B3 remote-call-seq: a run starts one `PingServer` on B (through B's
///   control server, as Erlang's script does with rpc), 1,000 warm-up calls,
///   then times 100,000 sequential calls `ping` -> `ok` by pid, repeated until
///   the run has lasted ``Method/minSeconds``; the server is killed after.
/// - B4 remote-call-par: 30 servers on B, 30 client processes on A released
///   together, 10,000 calls each (rounds repeated until the minimum).
/// - B6 remote-send: a receiver on B counts 1,000,000 `{msg, 123, <<"hello">>}`
///   (selective receive) and sends `{counted, Receiver}` back; from the first
///   send until that reply.
/// - B7 remote-1MB: 10 warm-up calls, then 5,000 sequential calls (repeated
///   until the minimum) each carrying the same 1 MiB binary, reply `ok`;
///   MB/s (10^6 bytes) and calls/s.
/// - B10: B3 against a real `erl` node (`bench/erlang/ergo_bench_peer.erl`)
///   as server, and `erl` as the client of a Swift server on node A.
///
/// Both nodes use a private EPMD port (node A serves EPMD on it) and node
/// names unique to the run, so that they do not meet an Erlang anchor run.
enum RemoteBench {
    static let b3Calls = 100_000
    static let b4Pairs = 30
    static let b4CallsPerClient = 10_000
    static let b6Messages = 1_000_000
    static let b7Calls = 5_000
    static let b7Size = 1 << 20

    static let control = Atom("ergo_bench_ctl")
    static let cookie = "ergo_bench_cookie"

    // MARK: the pair of nodes

    struct Pair: Sendable {
        let node: Node
        let server: Atom
        let epmdPort: Int
        let tag: String
    }

    nonisolated(unsafe) static var pair: Pair?
    nonisolated(unsafe) static var pairError: String?
    nonisolated(unsafe) static var child: Foundation.Process?
    nonisolated(unsafe) static var childStdin: Pipe?

    /// Node A and the server process B, started once for all remote workloads.
    static func setUp() async -> Pair? {
        if let pair { return pair }
        if pairError != nil { return nil }
        routeLogsToStandardErrorOnce()
        do {
            let started = now()
            let port = try freePort()
            let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36) + String(getpid())
            let a = "ergobench_a\(tag)@127.0.0.1"
            let b = "ergobench_b\(tag)@127.0.0.1"
            let node = Node(name: a, cookie: cookie, schedulers: nil)
            var options = DistributionOptions(cookie: cookie)
            options.epmdPort = port
            try await node.startDistribution(options)

            let process = Foundation.Process()
            process.executableURL = URL(fileURLWithPath: executablePath())
            process.arguments = ["serve", "--name", b, "--cookie", cookie, "--epmd-port", String(port)]
            let stdin = Pipe()
            process.standardInput = stdin
            process.standardOutput = FileHandle.standardError
            process.standardError = FileHandle.standardError
            try process.run()
            child = process
            childStdin = stdin

            let server = Atom(b)
            var up = false
            for _ in 0..<100 {
                if await node.ping(server, timeout: .seconds(1)) { up = true; break }
                try await Task.sleep(nanoseconds: 100_000_000)
            }
            guard up else { throw Unexpected("server node \(b) did not come up") }
            emit("# remote workloads: node A \(a), node B \(b) (ergo-bench serve, pid \(process.processIdentifier)),"
                 + " EPMD on 127.0.0.1:\(port) served by node A; B up after \(format(now() - started)) s")
            let p = Pair(node: node, server: server, epmdPort: port, tag: tag)
            pair = p
            return p
        } catch {
            pairError = "\(error)"
            return nil
        }
    }

    static func tearDown() async {
        if let child {
            try? childStdin?.fileHandleForWriting.close()
            stopChild(child)
        }
        child = nil
        if let pair { await pair.node.stop() }
        pair = nil
    }

    /// SIGKILL, then waits (polling) until Foundation has seen it exit.
    static func stopChild(_ p: Foundation.Process) {
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        for _ in 0..<500 where p.isRunning { usleep(10_000) }
    }

    static func executablePath() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if n > 0 { return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        return CommandLine.arguments[0]
    }

    /// Runs `run` ``Method/runs`` times on node A (watched), printing the
    /// '#' runs line and the figure, or FAILED lines for every name.
    static func workload(_ id: String, _ names: [String],
                         _ run: @escaping @Sendable (Pair) async throws -> Double,
                         report: ([Double]) -> Void) async {
        guard let pair = await setUp() else {
            for n in names { emit("\(id) \(n) \(system) FAILED nodes not set up: \(pairError ?? "?")") }
            return
        }
        var rates: [Double] = []
        for k in 1...Method.runs {
            let outcome = await watched { try await run(pair) }
            switch outcome {
            case .done(let r): rates.append(r)
            default:
                for n in names { emit(failedLine(id, n, outcome, run: k) ?? "\(id) \(n) \(system) FAILED") }
                return
            }
        }
        report(rates)
    }

    /// Calls B's control server.
    static func control(_ p: ProcessContext, _ pair: Pair, _ request: Term) async throws -> Term {
        try await p.call(.remoteName(control, node: pair.server), request, timeout: .seconds(30))
    }

    static func startServers(_ p: ProcessContext, _ pair: Pair, _ n: Int) async throws -> [PID] {
        let reply = try await control(p, pair, .tuple([.atom("start_servers"), .int(n)]))
        guard case .list(let items) = reply else { throw Unexpected("start_servers returned \(reply)") }
        return try items.map { t in
            guard case .pid(let pid) = t else { throw Unexpected("start_servers returned \(reply)") }
            return pid
        }
    }

    static func killServers(_ p: ProcessContext, _ pair: Pair, _ pids: [PID]) async throws {
        _ = try await control(p, pair, .tuple([.atom("kill"), .list(pids.map { .pid($0) })]))
    }

    // MARK: B3, B4, B7

    static func runB3() async {
        await workload("B3", ["remote-call-seq"], { pair in
            try await pair.node.withProcess { driver in
                let servers = try await startServers(driver, pair, 1)
                let rate = try await seqCalls(driver, .pid(servers[0]), PingServer.ping, warmUp: 1_000, batch: b3Calls)
                try await killServers(driver, pair, servers)
                return rate
            }
        }, report: { reportRates("B3", "remote-call-seq", "calls/s", $0) })
    }

    static func runB7() async {
        let payload = Term.binary(Binary((0..<b7Size).map { UInt8(truncatingIfNeeded: $0) }))
        await workload("B7", ["remote-1MB", "remote-1MB"], { pair in
            try await pair.node.withProcess { driver in
                let servers = try await startServers(driver, pair, 1)
                let rate = try await seqCalls(driver, .pid(servers[0]), payload, warmUp: 10, batch: b7Calls)
                try await killServers(driver, pair, servers)
                return rate
            }
        }, report: { rates in
            emit("# B7 runs (calls/s): " + rates.map(format).joined(separator: " "))
            let calls = median(rates)
            emit("B7 remote-1MB \(system) \(format(calls * Double(b7Size) / 1e6)) MB/s")
            emit("B7 remote-1MB \(system) \(format(calls)) calls/s")
        })
    }

    /// Warm-up calls, then batches of `batch` timed calls until the minimum: calls/s.
    static func seqCalls(_ p: ProcessContext, _ server: Destination, _ request: Term,
                         warmUp: Int, batch: Int) async throws -> Double {
        try await callLoop(p, server, request, warmUp)
        var calls = 0
        var elapsed = 0.0
        let t0 = now()
        repeat {
            try await callLoop(p, server, request, batch)
            calls += batch
            elapsed = now() - t0
        } while elapsed < Method.minSeconds
        return Double(calls) / elapsed
    }

    static func callLoop(_ p: ProcessContext, _ server: Destination, _ request: Term, _ n: Int) async throws {
        let ok = PingServer.okAtom
        for _ in 0..<n {
            let reply = try await p.call(server, request)
            guard case .atom(ok) = reply else { throw Unexpected("call returned \(reply), not ok") }
        }
    }

    static func runB4() async {
        await workload("B4", ["remote-call-par"], { pair in
            try await pair.node.withProcess { driver in
                let servers = try await startServers(driver, pair, b4Pairs)
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
                            try await callLoop(client, .pid(server), PingServer.ping, b4CallsPerClient)
                            client.send(to: me, .tuple([.atom(doneAtom), .pid(client.pid)]))
                        })
                    }
                    let t0 = now()
                    for client in clients { driver.send(to: client, go) }
                    for client in clients {
                        try await driver.awaitReport(doneAtom, from: client)
                    }
                    elapsed += now() - t0
                    calls += b4Pairs * b4CallsPerClient
                } while elapsed < Method.minSeconds
                try await killServers(driver, pair, servers)
                return Double(calls) / elapsed
            }
        }, report: { reportRates("B4", "remote-call-par", "calls/s", $0) })
    }

    // MARK: B6

    static func runB6() async {
        await workload("B6", ["remote-send"], { pair in
            try await pair.node.withProcess { driver in
                let me = driver.pid
                let message: Term = .tuple([.atom("msg"), .int(123), .string("hello")])
                let countedAtom = Atom("counted")
                var sent = 0
                var elapsed = 0.0
                repeat {
                    let reply = try await control(driver, pair, .tuple([.atom("receiver"), .int(b6Messages), .pid(me)]))
                    guard case .pid(let receiver) = reply else { throw Unexpected("receiver returned \(reply)") }
                    let t0 = now()
                    for _ in 0..<b6Messages { driver.send(to: receiver, message) }
                    try await driver.awaitReport(countedAtom, from: receiver)
                    elapsed += now() - t0
                    sent += b6Messages
                } while elapsed < Method.minSeconds
                return Double(sent) / elapsed
            }
        }, report: { reportRates("B6", "remote-send", "msgs/s", $0) })
    }

    // MARK: B10

    static let peerName = Atom("ergo_bench_peer")
    static let swiftPingName = Atom("ergo_bench_ping")

    /// Compiles bench/erlang/ergo_bench_peer.erl into a scratch folder.
    static func compilePeer() throws -> String {
        let dir = NSTemporaryDirectory() + "ergo-bench-erl-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let erlc = Foundation.Process()
        erlc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        erlc.arguments = ["erlc", "-o", dir, projectRoot() + "/bench/erlang/ergo_bench_peer.erl"]
        erlc.standardOutput = FileHandle.standardError
        try erlc.run()
        erlc.waitUntilExit()
        guard erlc.terminationStatus == 0 else { throw Unexpected("erlc failed") }
        return dir
    }

    static func erl(_ pair: Pair, _ name: String, _ dir: String, eval: String, stdout: Pipe?) throws -> Foundation.Process {
        let p = Foundation.Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["erl", "-name", name, "-setcookie", cookie, "-noshell", "-pa", dir, "-eval", eval]
        var env = ProcessInfo.processInfo.environment
        env["ERL_EPMD_PORT"] = String(pair.epmdPort)
        env["ERL_CRASH_DUMP_SECONDS"] = "0"
        p.environment = env
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = stdout ?? FileHandle.standardError
        p.standardError = FileHandle.standardError
        try p.run()
        return p
    }

    static func runB10() async {
        guard let pair = await setUp() else {
            emit("B10 interop-call-to-erlang \(system) FAILED nodes not set up: \(pairError ?? "?")")
            emit("B10 interop-call-from-erlang \(system) FAILED nodes not set up: \(pairError ?? "?")")
            return
        }
        let dir: String
        do { dir = try compilePeer() } catch {
            emit("B10 interop-call-to-erlang \(system) FAILED \(error)")
            emit("B10 interop-call-from-erlang \(system) FAILED \(error)")
            return
        }
        defer { try? FileManager.default.removeItem(atPath: dir) }

        // To Erlang: the Swift node calls an erl node's gen_server by pid.
        let erlName = "ergobench_e\(pair.tag)@127.0.0.1"
        do {
            let server = try erl(pair, erlName, dir, eval: "ergo_bench_peer:serve()", stdout: nil)
            defer { stopChild(server) }
            let erlAtom = Atom(erlName)
            var pid: PID?
            for _ in 0..<100 {
                if await pair.node.ping(erlAtom, timeout: .seconds(1)) {
                    pid = try? await pair.node.withProcess { p -> PID? in
                        let r = try await p.call(.remoteName(peerName, node: erlAtom), .atom("whereami"))
                        if case .pid(let pid) = r { return pid }
                        return nil
                    }
                    if pid != nil { break }
                }
                try await Task.sleep(nanoseconds: 100_000_000)
            }
            guard let target = pid else { throw Unexpected("erl node \(erlName) did not come up") }
            var rates: [Double] = []
            for k in 1...Method.runs {
                let outcome = await watched {
                    try await pair.node.withProcess { driver in
                        try await seqCalls(driver, .pid(target), PingServer.ping, warmUp: k == 1 ? 1_000 : 0, batch: b3Calls)
                    }
                }
                if let failed = failedLine("B10", "interop-call-to-erlang", outcome, run: k) { throw Unexpected(failed) }
                if case .done(let r) = outcome { rates.append(r) }
            }
            emit("# B10 interop-call-to-erlang runs: " + rates.map(format).joined(separator: " "))
            emit("B10 interop-call-to-erlang \(system) \(format(median(rates))) calls/s")
        } catch let e as Unexpected where e.description.hasPrefix("B10 ") {
            emit(e.description)
        } catch {
            emit("B10 interop-call-to-erlang \(system) FAILED \(error)")
        }

        // From Erlang: an erl node calls a Swift gen_server on node A.
        do {
            let server = try await pair.node.start(PeerPingServer(), options: SpawnOptions(name: swiftPingName))
            defer { pair.node.exit(server, reason: .kill) }
            let out = Pipe()
            let client = try erl(pair, "ergobench_c\(pair.tag)@127.0.0.1", dir,
                                 eval: "ergo_bench_peer:client('ergobench_a\(pair.tag)@127.0.0.1', \(swiftPingName))", stdout: out)
            let text: String = await withCheckedContinuation { c in
                Thread.detachNewThread {
                    let data = out.fileHandleForReading.readDataToEndOfFile()
                    c.resume(returning: String(decoding: data, as: UTF8.self))
                }
            }
            stopChild(client)
            let rates = text.split(separator: "\n").compactMap { line -> Double? in
                guard line.hasPrefix("rate ") else { return nil }
                return Double(line.dropFirst(5))
            }
            guard rates.count == Method.runs else {
                throw Unexpected("erl client: \(text.split(separator: "\n").joined(separator: "; "))")
            }
            emit("# B10 interop-call-from-erlang runs (timed by the erl client): " + rates.map(format).joined(separator: " "))
            emit("B10 interop-call-from-erlang \(system) \(format(median(rates))) calls/s")
        } catch {
            emit("B10 interop-call-from-erlang \(system) FAILED \(error)")
        }
    }
}

/// PingServer, which also answers `whereami` with its pid (B10's Erlang
/// client looks the pid up once, then calls by pid).
struct PeerPingServer: GenServer {
    typealias State = Void
    func initialize(_ process: ProcessContext) async throws -> InitResult<Void> { .ok(()) }
    func handleCall(_ request: Term, from: From, state: Void, process: ProcessContext) async throws -> CallResult<Void> {
        switch request {
        case .atom(PingServer.pingAtom), .binary: return .reply(PingServer.ok, ())
        case .atom(Atom("whereami")): return .reply(.pid(process.pid), ())
        default: throw Unexpected("bad call \(request)")
        }
    }
}

// MARK: node B: `ergo-bench serve --name NAME --cookie C --epmd-port P`

/// Node B's control server: `{start_servers, N}` -> [Pid] (PingServers, not
/// linked), `{receiver, N, ReportTo}` -> Pid (counts N `{msg, _, _}`, then
/// sends `{counted, Pid}` to ReportTo), `{kill, [Pid]}` -> ok.
struct BenchControl: GenServer {
    typealias State = Void
    func initialize(_ process: ProcessContext) async throws -> InitResult<Void> { .ok(()) }
    func handleCall(_ request: Term, from: From, state: Void, process: ProcessContext) async throws -> CallResult<Void> {
        guard case .tuple(let e) = request, e.count >= 2, case .atom(let what) = e[0] else {
            throw Unexpected("bad control call \(request)")
        }
        switch (what, e.count) {
        case (Atom("start_servers"), 2):
            guard case .int(let n) = e[1] else { break }
            var pids: [Term] = []
            for _ in 0..<n { pids.append(.pid(try await process.start(PingServer()))) }
            return .reply(.list(pids), ())
        case (Atom("receiver"), 3):
            guard case .int(let n) = e[1], case .pid(let reportTo) = e[2] else { break }
            let count = n
            let receiver = try process.spawn { p in
                let msg = Atom("msg")
                for _ in 0..<count {
                    _ = try await p.receive { term -> Void? in
                        guard case .tuple(let e) = term, e.count == 3, case .atom(msg) = e[0] else { return nil }
                        return ()
                    }
                }
                p.send(to: reportTo, .tuple([.atom("counted"), .pid(p.pid)]))
            }
            return .reply(.pid(receiver), ())
        case (Atom("kill"), 2):
            guard case .list(let pids) = e[1] else { break }
            for case .pid(let pid) in pids { try process.exit(pid, reason: .kill) }
            return .reply(.atom("ok"), ())
        default: break
        }
        throw Unexpected("bad control call \(request)")
    }
}

/// Runs node B until standard input closes (the client went away).
func serveMain(_ arguments: [String]) async -> Never {
    var name = "", cookie = "", port = 0
    var args = arguments[...]
    while let a = args.popFirst() {
        switch a {
        case "--name": name = args.popFirst() ?? ""
        case "--cookie": cookie = args.popFirst() ?? ""
        case "--epmd-port": port = Int(args.popFirst() ?? "") ?? 0
        default: warn("ergo-bench serve: unknown argument \(a)"); exit(2)
        }
    }
    routeLogsToStandardErrorOnce()
    Thread.detachNewThread {
        var byte: UInt8 = 0
        while read(0, &byte, 1) > 0 {}
        exit(0)
    }
    do {
        let node = Node(name: name, cookie: cookie, schedulers: nil)
        try await node.start(BenchControl(), options: SpawnOptions(name: RemoteBench.control))
        var options = DistributionOptions(cookie: cookie)
        if port > 0 { options.epmdPort = port }
        try await node.startDistribution(options)
        while true { try await Task.sleep(nanoseconds: 3_600_000_000_000) }
    } catch {
        warn("ergo-bench serve: \(error)")
        exit(1)
    }
}

/// A free TCP port on 127.0.0.1 (bound, read, released).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw Unexpected("socket failed") }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard bound else { throw Unexpected("bind failed") }
    return Int(UInt16(bigEndian: addr.sin_port))
}
