import Foundation
import Testing
@testable import Ergo

/// `global` with real Erlang/OTP nodes: the Swift node's
/// `global_name_server` syncs with theirs, `global:sync()` returns, names
/// registered in Erlang are seen here, and clusters become a full mesh.
@Suite(.serialized) struct ErlangGlobalTests {
    /// A Swift node and an Erlang node (monitoring nodes, its logs
    /// captured) that `prepare` may set up alone, then connected and synced
    /// by `global` on both sides; after `body`, neither side may have logged
    /// a warning or an error.
    static func withSyncedPair(prepare: (ErlangPeer) async throws -> Void = { _ in },
                               _ body: (Node, ErlangPeer) async throws -> Void) async throws {
        let cluster = try Cluster()
        defer { cluster.epmd.stop() }
        let logs = LogCapture()
        let swift = try await cluster.swiftNode("s", logs: logs)
        do {
            let erl = try await cluster.erlang("e")
            defer { erl.kill() }
            try await erl.captureLogs()
            try await erl.eval("ok = net_kernel:monitor_nodes(true).")
            try await prepare(erl)
            #expect(try await erl.eval("net_adm:ping(\(swift.name)).") == .atom("pong"))
            #expect(try await erl.eval("global:sync().", timeout: .seconds(20)) == .atom("ok"))
            try await swift.globalSync(timeout: .seconds(20))
            try await body(swift, erl)
            try await erl.expectNoErrorReports()
        } catch {
            await swift.stop()
            throw error
        }
        await swift.stop()
        #expect(logs.captured.isEmpty, "Swift side logged: \(logs.captured)")
    }

    @Test func globalSyncReturnsOnBothSidesAndNamesCross() async throws {
        try await Self.withSyncedPair { swift, erl in
            #expect(try await swift.globalKnownNodes() == [Atom(erl.name)])
            #expect(try await erl.eval("gen_server:call(global_name_server, get_known).") == .list([.atom(swift.name)]))

            // A name registered in Erlang after the sync reaches us through the
            // registration protocol (a lock on every known node, then `register`).
            let owner = try await erl.eval("yes = global:register_name(ergo_probe, self()), self().")
            #expect(try await swift.globalWhereis(.atom("ergo_probe")).map { Term.pid($0) } == owner)
            #expect(try await swift.globalRegisteredNames() == [.atom("ergo_probe")])
            // The owner's end removes it here too.
            try await erl.eval("global:unregister_name(ergo_probe).")
            #expect(try await swift.globalWhereis(.atom("ergo_probe")) == nil)

            await swift.stop()
            #expect(try await erl.eval("receive {nodedown, N} when N =:= '\(swift.name.name)' -> ok after 20000 -> timeout end.",
                                       timeout: .seconds(25)) == .atom("ok"))
        }
    }

    @Test func namesRegisteredBeforeTheConnectionAreExchanged() async throws {
        let owner = Locked<Term?>(nil)
        try await Self.withSyncedPair(prepare: { erl in
            // Registered while alone: the exchange step carries it over.
            let pid = try await erl.eval("yes = global:register_name(early_name, self()), self().")
            owner.withLock { $0 = pid }
        }) { swift, _ throws in
            let found = try await swift.globalWhereis(.atom("early_name"))
            #expect(found.map { Term.pid($0) } == owner.withLock { $0 })
        }
    }

    @Test func aNameRegisteredInSwiftIsFoundAndUsedFromErlang() async throws {
        try await Self.withSyncedPair { swift, erl in
            try await swift.withProcess { p in
                #expect(try await p.node.registerGlobalName(.atom("swift_probe"), p.pid))
                #expect(try await erl.eval("global:whereis_name(swift_probe).") == .pid(p.pid))
                // Taken: neither side may register it again.
                #expect(try await p.node.registerGlobalName(.atom("swift_probe"), p.pid) == false)
                #expect(try await erl.eval("global:register_name(swift_probe, self()).") == .atom("no"))
                // global:send/2 from Erlang reaches the Swift process.
                let erlPid = try await erl.eval("global:send(swift_probe, {hello, self()}), self().")
                try await p.expect(.tag("hello", erlPid))
                // And ours reaches a name Erlang registered.
                try await erl.eval("yes = global:register_name(erl_probe, self()).")
                try await p.node.sendGlobal(.atom("erl_probe"), .tag("hi", .pid(p.pid)))
                #expect(try await erl.eval("receive {hi, P} -> P after 5000 -> timeout end.") == .pid(p.pid))
                await #expect(throws: GlobalNameError.notRegistered(.atom("nobody"))) {
                    try await p.node.sendGlobal(.atom("nobody"), .atom("x"))
                }
                try await p.node.unregisterGlobalName(.atom("swift_probe"))
                #expect(try await erl.eval("global:whereis_name(swift_probe).") == .atom("undefined"))
            }
        }
    }

    @Test func threeErlangAndTwoSwiftNodesFormAFullMesh() async throws {
        let cluster = try Cluster()
        defer { cluster.epmd.stop() }
        let logs = LogCapture()
        let s1 = try await cluster.swiftNode("s1", logs: logs)
        let s2 = try await cluster.swiftNode("s2", logs: logs)
        var erls: [ErlangPeer] = []
        defer { for e in erls { e.kill() } }
        for base in ["e1", "e2", "e3"] { erls.append(try await cluster.erlang(base)) }
        let (e1, e2, e3) = (erls[0], erls[1], erls[2])
        for e in erls {
            try await e.captureLogs()
            try await e.eval("ok = net_kernel:monitor_nodes(true).")
        }
        let everyone = [s1.name, s2.name] + erls.map { Atom($0.name) }
        // A name registered before anyone joins travels with the syncs.
        let probe = try await e1.eval("yes = global:register_name(mesh_probe, self()), self().")

        // Each joins through one other node only; global connects the rest.
        #expect(try await e2.eval("net_adm:ping('\(e1.name)').") == .atom("pong"))
        #expect(try await e3.eval("net_adm:ping('\(e2.name)').") == .atom("pong"))
        #expect(await s1.ping(Atom(e1.name)))
        #expect(await s2.ping(Atom(e3.name)))

        for e in erls {
            let others = everyone.filter { $0 != Atom(e.name) }.map { $0.name }.sorted()
            #expect(try await e.awaitNodes(others) == .atom("ok"), "\(e.name) never saw the full mesh")
        }
        for s in [s1, s2] {
            try await s.awaitVisibleNodes(Set(everyone.filter { $0 != s.name }))
        }
        for e in erls { #expect(try await e.eval("global:sync().", timeout: .seconds(30)) == .atom("ok")) }
        for s in [s1, s2] { try await s.globalSync(timeout: .seconds(30)) }
        for s in [s1, s2] {
            #expect(Set(try await s.globalKnownNodes()) == Set(everyone.filter { $0 != s.name }))
            #expect(try await s.globalWhereis(.atom("mesh_probe")).map { Term.pid($0) } == probe)
        }

        // A Swift node leaves: every Erlang node and the other Swift node see it.
        try await s1.withProcess { p in
            p.monitorNodes(true)
            await s2.stop()
            try await p.expect(.tag("nodedown", .atom(s2.name)), within: .seconds(20))
        }
        for e in erls {
            #expect(try await e.eval("receive {nodedown, N} when N =:= '\(s2.name.name)' -> ok after 20000 -> timeout end.",
                                     timeout: .seconds(25)) == .atom("ok"))
        }
        // An Erlang node leaves: the Swift node and the other Erlang nodes see it.
        try await s1.withProcess { p in
            p.monitorNodes(true)
            e3.stop()
            try await p.expect(.tag("nodedown", .atom(Atom(e3.name))), within: .seconds(20))
        }
        for e in [e1, e2] {
            #expect(try await e.eval("receive {nodedown, N} when N =:= '\(e3.name)' -> ok after 20000 -> timeout end.",
                                     timeout: .seconds(25)) == .atom("ok"))
        }
        #expect(s1.visibleNodes == [Atom(e1.name), Atom(e2.name)].sorted { $0.description < $1.description })

        for e in [e1, e2] { try await e.expectNoErrorReports() }
        await s1.stop()
        #expect(logs.captured.allSatisfy { $0.message.contains("overlapping partitions") },
                "Swift side logged: \(logs.captured)")
    }
}

extension ErlangPeer {
    /// Sends the node's log events of level warning and above to the
    /// evaluating process (see `ergo_peer:log/2`).
    func captureLogs() async throws {
        try await eval("ok = logger:add_handler(ergo_capture, ergo_peer, #{level => warning, config => #{to => self()}}).")
    }

    /// Fails if the node logged an error (or worse) since `captureLogs`.
    /// Warnings are allowed only for what OTP itself warns about when a
    /// node leaves a cluster (overlapping partitions).
    func expectNoErrorReports(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let logged = try await eval("""
            F = fun Loop(Acc) -> receive {ergo_log, L, T} -> Loop([{L, T} | Acc]) after 0 -> lists:reverse(Acc) end end,
            F([]).
            """)
        guard case .list(let events) = logged else {
            Issue.record("bad log list \(logged)", sourceLocation: sourceLocation)
            return
        }
        for event in events {
            guard case .tuple(let e) = event, e.count == 2 else { continue }
            let text = e[1].description
            let allowed = e[0] == .atom("warning") && text.contains("overlapping partitions")
            #expect(allowed, "\(name) logged \(e[0]): \(text)", sourceLocation: sourceLocation)
        }
    }

    /// Waits (on `nodeup` messages; `net_kernel:monitor_nodes(true)` must be
    /// on) until `nodes()` is exactly `expected`.
    func awaitNodes(_ expected: [String]) async throws -> Term {
        let list = expected.map { "'\($0)'" }.joined(separator: ", ")
        return try await eval("""
            Want = lists:sort([\(list)]),
            W = fun Wait() -> case lists:sort(nodes()) of
                    Want -> ok;
                    _ -> receive {nodeup, _} -> Wait() after 20000 -> {timeout, nodes()} end
                end end,
            W().
            """, timeout: .seconds(25))
    }
}

extension Node {
    /// Waits (on `nodeup` messages) until the visible nodes are `expected`.
    func awaitVisibleNodes(_ expected: Set<Atom>, within: Duration = .seconds(20)) async throws {
        try await withProcess { p in
            p.monitorNodes(true)
            while Set(p.node.visibleNodes) != expected {
                _ = try await p.expect("nodeup", within: within) { $0.args("nodeup", 1) }
            }
        }
    }
}
