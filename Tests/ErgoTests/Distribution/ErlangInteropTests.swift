import Foundation
import Logging
import Testing
@testable import Ergo
@testable import ErgoDemo

/// A Swift node and real Erlang/OTP nodes in one cluster, on a private EPMD.
struct Cluster {
    let epmd: EPMDDaemon
    let tag: String
    let cookie: String

    init(cookie: String = "interop") throws {
        epmd = try EPMDDaemon(port: try freePort())
        tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        self.cookie = cookie
    }

    /// A distributed Swift node named `<base><tag>@127.0.0.1`.
    func swiftNode(_ base: String, cookie: String? = nil, applications: [Application] = [], logs: LogCapture? = nil,
                   configure: (inout DistributionOptions) -> Void = { _ in }) async throws -> Node {
        var logger = logs?.logger ?? Logger(label: "ergo-test")
        if logs == nil {
            logger.logLevel = ProcessInfo.processInfo.environment["ERGO_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .critical
        }
        let node = try await Node.start(name: "\(base)\(tag)@127.0.0.1", cookie: cookie ?? self.cookie, schedulers: 2,
                                        logger: logger, applications: applications)
        var options = DistributionOptions(cookie: cookie ?? self.cookie)
        options.epmdPort = epmd.port
        configure(&options)
        do {
            try await node.startDistribution(options)
        } catch {
            await node.stop()
            throw error
        }
        return node
    }

    func erlang(_ base: String, cookie: String? = nil) async throws -> ErlangPeer {
        try await ErlangPeer.start(name: "\(base)\(tag)@127.0.0.1", cookie: cookie ?? self.cookie, epmdPort: epmd.port)
    }
}

@Suite(.serialized) struct ErlangInteropTests {
    @Test func pingBothWays() async throws {
        try await Cluster.withPair { cluster, swift, erl throws in
            #expect(try await erl.eval("net_adm:ping(\(swift.name)).") == .atom("pong"))
            #expect(await swift.ping(Atom(erl.name)))
            #expect(try await erl.eval("lists:member(\(swift.name), nodes()).") == .atom("true"))
            #expect(swift.connectedNodes.contains(Atom(erl.name)))
        }
    }

    @Test func messagesByPidAndNameBothWays() async throws {
        try await Cluster.withPair { cluster, swift, erl throws in
            let erlPid = try await erl.eval("register(tester, self()), self().")
            try await swift.withProcess(options: SpawnOptions(name: "inbox")) { process in
                // Swift → Erlang, by pid and by name; a binary and a map cross intact.
                let payload = Term.tuple([.atom("hi"), .binary(Binary(Array("héllo".utf8))),
                                          .map(TermMap([.init(key: .atom("k"), value: .int(1 << 40))]))])
                guard case .pid(let p) = erlPid else { Issue.record("\(erlPid)"); return }
                process.send(to: p, .tuple([.atom("by_pid"), payload]))
                try process.send(to: .remoteName("tester", node: Atom(erl.name)), .tuple([.atom("by_name"), .pid(process.pid)]))
                #expect(try await erl.eval("receive {by_pid, X} -> X after 5000 -> timeout end.") == payload)
                let from = try await erl.eval("receive {by_name, P} -> P after 5000 -> timeout end.")
                #expect(from == .pid(process.pid))
                // Erlang → Swift, by pid and by registered name.
                try await erl.eval("P ! {to_pid, 42}, {inbox, \(swift.name)} ! {to_name, [1,2,3]}, ok.", ["P": from])
                #expect(try await process.next() == .tuple([.atom("to_pid"), .int(42)]))
                #expect(try await process.next() == .tuple([.atom("to_name"), .list([.int(1), .int(2), .int(3)])]))
            }
        }
    }

    /// A sender with a sequential-trace token sends the `_TT` control
    /// messages; they are delivered as the plain ones.
    @Test func messagesWithATraceTokenArrive() async throws {
        try await Cluster.withPair { cluster, swift, erl throws in
            try await swift.withProcess { p in
                try p.register("traced")
                try await erl.eval("""
                    seq_trace:set_token(label, 17), seq_trace:set_token(send, true),
                    {traced, '\(swift.name.name)'} ! {by_name, self()},
                    Pid ! by_pid,
                    seq_trace:set_token([]), ok.
                    """, ["Pid": .pid(p.pid)])
                _ = try await p.expect("by_name") { $0.args("by_name", 1) }
                try await p.expect(.atom("by_pid"))
            }
        }
    }

    /// Spawn requests are not served yet (DFLAG_SPAWN is not advertised):
    /// rpc answers `{badrpc, notsup}`, as the docs say, and the link stays up.
    @Test func rpcToTheSwiftNodeAnswersNotsup() async throws {
        try await Cluster.withPair { _, swift, erl throws in
            #expect(try await erl.eval("rpc:call('\(swift.name.name)', erlang, node, []).")
                    == .tuple([.atom("badrpc"), .atom("notsup")]))
            #expect(try await erl.eval("net_adm:ping('\(swift.name.name)').") == .atom("pong"))
        }
    }

    @Test func genServerCallsBothWays() async throws {
        try await Cluster.withPair(applications: [DemoApplication.make()]) { cluster, swift, erl throws in
            // Erlang calls the Swift echo server (OTP 25 uses alias tags).
            let x = Term.tuple([.atom("any"), .list([.int(1), .float(2.5)]), .binary(Binary([1, 2, 3]))])
            #expect(try await erl.eval("gen_server:call({echo, \(swift.name)}, X).", ["X": x]) == x)
            // A cast {Pid, X} makes echo send {echo, EchoPid, X} back.
            let echoed = try await erl.eval("gen_server:cast({echo, \(swift.name)}, {self(), ping}), "
                                            + "receive {echo, P, ping} -> {ok, node(P)} after 5000 -> timeout end.")
            #expect(echoed == .tuple([.atom("ok"), .atom(swift.name)]))
            // Swift calls an Erlang gen_server.
            let apps = try await swift.call(.remoteName("application_controller", node: Atom(erl.name)),
                                            .atom("which_applications"))
            guard case .list(let rows) = apps else { Issue.record("\(apps)"); return }
            #expect(rows.contains { ($0.tupleElements?.first) == .atom("kernel") })
        }
    }
}

@Suite(.serialized) struct ErlangLinkMonitorTests {
    /// Links and monitors both ways, exit reasons across, and `noconnection`
    /// for every link and monitor when the Erlang OS process is killed.
    @Test func linksMonitorsAndNoconnection() async throws {
        try await Cluster.withPair { cluster, swift, erl throws in
            try await swift.withProcess(options: SpawnOptions(trapExit: true)) { process in
                // A process on the Erlang side that waits, then exits as told.
                let victim = try await erl.eval("spawn(fun() -> receive {die, R} -> exit(R) end end).")
                guard case .pid(let v) = victim else { Issue.record("\(victim)"); return }
                try process.link(v)
                let ref = process.monitor(v)
                process.send(to: v, .tuple([.atom("die"), .atom("bye")]))
                #expect(try await process.down(ref).reason == .atom("bye"))
                #expect(try await process.exitMessage(from: v) == .atom("bye"))

                // Erlang links to and monitors a Swift process. W's link and
                // monitor reach the child before W's `ready` (one pair, one
                // order); the child says `armed` once it has read `ready`.
                let me = process.pid
                let swiftChild = try process.spawn { child in
                    _ = try await child.receive(timeout: nil) { $0 == .atom("ready") ? true : nil }
                    child.send(to: me, .atom("armed"))
                    while try await child.receive() != .atom("stop") {}
                    try child.exit(child.pid, reason: .other(.tuple([.atom("custom"), .int(7)])))
                }
                let watched = try await erl.eval("""
                    Self = self(),
                    W = spawn(fun() -> process_flag(trap_exit, true), link(S), M = erlang:monitor(process, S),
                                       S ! ready,
                                       receive {'EXIT', S, R1} -> receive {'DOWN', M, process, S, R2} -> Self ! {got, R1, R2} end end
                              end),
                    W.
                    """, ["S": .pid(swiftChild)])
                #expect(watched.tupleElements == nil)
                try await process.expect(.atom("armed"))
                process.send(to: swiftChild, .atom("stop"))
                let got = try await erl.eval("receive {got, R1, R2} -> {R1, R2} after 5000 -> timeout end.")
                let reason = Term.tuple([.atom("custom"), .int(7)])
                #expect(got == .tuple([reason, reason]))

                // Killing the Erlang OS process: noconnection for links and monitors.
                let sleeper = try await erl.eval("spawn(fun() -> receive never -> ok end end).")
                guard case .pid(let s) = sleeper else { Issue.record("\(sleeper)"); return }
                try process.link(s)
                let sref = process.monitor(s)
                _ = try await erl.eval("ok.")  // the link and monitor have crossed before the kill
                erl.kill()
                #expect(try await process.down(sref).reason == .atom("noconnection"))
                #expect(try await process.exitMessage(from: s) == .atom("noconnection"))
            }
        }
    }

    @Test func exitSignalsWithReasons() async throws {
        try await Cluster.withPair { cluster, swift, erl throws in
            try await swift.withProcess(options: SpawnOptions(trapExit: true)) { process in
                try await erl.eval("process_flag(trap_exit, true), exit(P, {shutdown, please}), ok.", ["P": .pid(process.pid)])
                guard case .pid(let erlPid) = try await erl.eval("self().") else { Issue.record("no pid"); return }
                #expect(try await process.exitMessage(from: erlPid) == .tuple([.atom("shutdown"), .atom("please")]))
                try process.exit(erlPid, reason: .other(.atom("from_swift")))
                #expect(try await erl.eval("receive {'EXIT', _, R} -> R after 5000 -> timeout end.") == .atom("from_swift"))
            }
        }
    }
}

@Suite(.serialized) struct ErlangClusterTests {
    /// `connectAndWait` (net_kernel's `connect` and global's `in_sync` use
    /// it) answers when the handshake is done, or when the dial fails.
    /// Two nodes dialling each other at once: one dial loses (status
    /// `nok`) and yields to the other's; what was sent on it waits for the
    /// winner, and no `noconnection` fires. Several pairs, so the race
    /// happens (the losing side logs the `nok` at debug level).
    @Test func nodesDiallingEachOtherAtOnceLoseNothing() async throws {
        let cluster = try Cluster()
        defer { cluster.epmd.stop() }
        for trial in 0..<6 {
            let a = try await cluster.swiftNode("a\(trial)_"), b = try await cluster.swiftNode("b\(trial)_")
            try await a.withProcess { pa in
                try pa.register("rx")
                try await b.withProcess { pb in
                    try pb.register("rx")
                    let watch = pb.monitor(name: "rx", node: a.name)
                    try pa.send(to: .remoteName("rx", node: b.name), .atom("to_b"))
                    try pb.send(to: .remoteName("rx", node: a.name), .atom("to_a"))
                    try await pb.expect(.atom("to_b"))
                    #expect(pb.demonitor(watch, flush: true))
                }
                try await pa.expect(.atom("to_a"))
            }
            await a.stop()
            await b.stop()
        }
    }

    /// `connect` (also behind net_kernel's `connect` and global's
    /// `in_sync`) answers when the handshake is done, or when the dial
    /// fails; `disconnect` drops the connection, and Erlang sees nodedown.
    @Test func connectWaitsForTheHandshakeOrItsFailureAndDisconnectDrops() async throws {
        try await Cluster.withPair { cluster, swift, erl throws in
            try await erl.eval("ok = net_kernel:monitor_nodes(true).")
            #expect(await swift.connect(Atom(erl.name)))
            #expect(swift.connectedNodes.contains(Atom(erl.name)))
            #expect(await swift.connect(Atom(erl.name)))
            #expect(await swift.connect(Atom("nobody\(cluster.tag)@127.0.0.1")) == false)
            #expect(try await erl.eval("net_kernel:connect_node('\(swift.name.name)').") == .atom("true"))
            #expect(swift.disconnect(Atom(erl.name)))
            #expect(try await erl.eval("receive {nodedown, N} when N =:= '\(swift.name.name)' -> ok after 10000 -> timeout end.")
                    == .atom("ok"))
            #expect(swift.disconnect(Atom("nobody\(cluster.tag)@127.0.0.1")) == false)
        }
    }

    @Test func aWrongCookieIsRefusedBothWays() async throws {
        let cluster = try Cluster()
        defer { cluster.epmd.stop() }
        let swift = try await cluster.swiftNode("s", cookie: "right")
        let erl = try await cluster.erlang("e", cookie: "wrong")
        defer { erl.kill() }
        #expect(try await erl.eval("net_adm:ping(\(swift.name)).") == .atom("pang"))
        #expect(!(await swift.ping(Atom(erl.name))))
        #expect(swift.connectedNodes.isEmpty)
        await swift.stop()
    }

    /// No EPMD on the port: the Swift node serves it, a real `erl`
    /// registers in it and reaches the Swift node through it.
    @Test func erlangRegistersInTheEmbeddedEPMD() async throws {
        let port = try freePort()
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        var logger = Logger(label: "ergo-test")
        logger.logLevel = .critical
        let swift = Node(name: "s\(tag)@127.0.0.1", cookie: "embedded", schedulers: 2, logger: logger)
        var options = DistributionOptions(cookie: "embedded")
        options.epmdPort = port
        try await swift.startDistribution(options)
        let erl = try await ErlangPeer.start(name: "e\(tag)@127.0.0.1", cookie: "embedded", epmdPort: port)
        defer { erl.kill() }
        #expect(try await erl.eval("net_adm:ping(\(swift.name)).") == .atom("pong"))
        let names = try await erl.eval("{ok, Names} = erl_epmd:names(\"127.0.0.1\"), "
                                       + "lists:sort([list_to_atom(N) || {N, _} <- Names]).")
        #expect(names == .list([.atom(Atom("e\(tag)")), .atom(Atom("s\(tag)"))]))
        #expect(await swift.ping(Atom(erl.name)))
        await swift.stop()
    }

    /// Two Swift nodes over TCP. A remote call's `MONITOR_P` and its
    /// `DEMONITOR_P` go lazily (in the write of the next message, or by the
    /// loop's timer when none follows): every call is answered, and once the
    /// caller stops sending, the server's node holds none of their monitors
    /// (while the caller is still alive, so no exit cleans them up).
    @Test func remoteCallsLeaveNoMonitorBehind() async throws {
        let cluster = try Cluster()
        defer { cluster.epmd.stop() }
        let a = try await cluster.swiftNode("a")
        let b = try await cluster.swiftNode("b", applications: [DemoApplication.make()])
        try await a.withProcess { p throws in
            for i in 0..<300 {
                #expect(try await p.call(.remoteName("echo", node: b.name), .int(i)) == .int(i))
            }
            let left = { b.remote.index.withLock { $0.monitorsIn[a.name]?.count ?? 0 } }
            let deadline = ContinuousClock.now + .seconds(30)
            while left() > 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(left() == 0)
        }
        await a.stop()
        await b.stop()
    }

    /// Erlang's `supervisor` module on the demo's `demo_sup`.
    @Test func erlangUsesTheSupervisorAPI() async throws {
        try await Cluster.withPair(applications: [DemoApplication.make()]) { cluster, swift, erl throws in
            let sup = "{demo_sup, \(swift.name)}"
            let children = try await erl.eval("[{Id, is_pid(P), T, M} || {Id, P, T, M} <- supervisor:which_children(\(sup))].")
            #expect(children == .list([.tuple([.atom("echo"), .atom("true"), .atom("worker"), .list([.atom("Echo")])])]))
            #expect(try await erl.eval("supervisor:count_children(\(sup)).")
                    == .list([.tuple([.atom("specs"), .int(1)]), .tuple([.atom("active"), .int(1)]),
                              .tuple([.atom("supervisors"), .int(0)]), .tuple([.atom("workers"), .int(1)])]))
            let spec = try await erl.eval("{ok, S} = supervisor:get_childspec(\(sup), echo), "
                                          + "lists:sort(maps:to_list(maps:without([start], S))).")
            #expect(spec == .list([
                .tuple([.atom("id"), .atom("echo")]), .tuple([.atom("modules"), .list([.atom("Echo")])]),
                .tuple([.atom("restart"), .atom("permanent")]), .tuple([.atom("shutdown"), .int(5000)]),
                .tuple([.atom("type"), .atom("worker")]),
            ]))
            let before = swift.whereis("echo")
            #expect(try await erl.eval("supervisor:terminate_child(\(sup), echo).") == .atom("ok"))
            #expect(swift.whereis("echo") == nil)
            let restarted = try await erl.eval("supervisor:restart_child(\(sup), echo).")
            #expect(restarted.tupleElements?.first == .atom("ok"))
            #expect(swift.whereis("echo") != nil && swift.whereis("echo") != before)
        }
    }
}

@Suite(.serialized) struct ErlangLargeMessageTests {
    /// A 100 MiB binary from Erlang to Swift and back (fragmented both ways).
    @Test func aHundredMebibyteBinaryCrossesBothWays() async throws {
        try await Cluster.withPair { cluster, swift, erl throws in
            let size = 100 * 1024 * 1024
            try await swift.withProcess { process in
                try await erl.eval("""
                    B = << <<(I band 255)>> || I <- lists:seq(1, 65536) >>,
                    Big = binary:copy(B, \(size / 65536)),
                    put(big_md5, erlang:md5(Big)),
                    P ! {big, self(), Big}, ok.
                    """, ["P": .pid(process.pid)], timeout: .seconds(120))
                let message = try await process.next(within: .seconds(120))
                guard case .tuple(let e) = message, e.count == 3, case .pid(let from) = e[1],
                      case .binary(let big) = e[2] else { Issue.record("not {big, Pid, Bin}"); return }
                #expect(big.count == size)
                #expect(big.withUnsafeBytes { $0[0] == 1 && $0[255] == 0 && $0[size - 1] == 0 })
                process.send(to: from, .tuple([.atom("back"), .binary(big)]))
                let same = try await erl.eval("receive {back, Bin} -> erlang:md5(Bin) =:= get(big_md5) after 60000 -> timeout end.",
                                              timeout: .seconds(120))
                #expect(same == .atom("true"))
            }
        }
    }
}

extension Cluster {
    /// A fresh cluster with a Swift node `s…` and an Erlang node `e…`;
    /// `body` runs, then the Swift node stops and the Erlang node is killed.
    static func withPair(applications: [Application] = [], configure: (inout DistributionOptions) -> Void = { _ in },
                         _ body: (Cluster, Node, ErlangPeer) async throws -> Void) async throws {
        let cluster = try Cluster()
        defer { cluster.epmd.stop() }
        let swift = try await cluster.swiftNode("s", applications: applications, configure: configure)
        do {
            let erl = try await cluster.erlang("e")
            defer { erl.kill() }
            try await body(cluster, swift, erl)
        } catch {
            await swift.stop()
            throw error
        }
        await swift.stop()
    }
}
