import Testing
@testable import Ergo

/// Messages and calls between two nodes on a loopback network.
@Suite(.serialized) struct RemoteSendTests {
    @Test func sendByPidNameAndAlias() async throws {
        try await withNodes { _, nodes in
            let (a, b) = (nodes[0], nodes[1])
            try await a.withProcess { p throws in
                let echo = try b.spawn(options: SpawnOptions(name: "echo"), puppet(owner: p.pid))
                p.send(to: echo, .atom("by_pid"))
                try await p.expect(.tag("got", .pid(echo), .atom("by_pid")))
                try p.send(to: .remoteName("echo", node: b.name), .atom("by_name"))
                try await p.expect(.tag("got", .pid(echo), .atom("by_name")))
                try p.send(to: .pid(echo), .atom("by_destination"))
                try await p.expect(.tag("got", .pid(echo), .atom("by_destination")))
                // An unknown name there: dropped there, no error here (as ERTS).
                try p.send(to: .remoteName("nobody", node: b.name), .atom("lost"))
                // From outside any process.
                a.send(to: echo, .atom("from_outside"))
                try await p.expect(.tag("got", .pid(echo), .atom("from_outside")))

                // An alias of p, used from b.
                let relay = try b.spawn { r in
                    let message = try await r.receive()
                    guard let e = message.tupleElements, case .ref(let ref) = e[0] else { return }
                    try r.send(to: .alias(Alias(ref)), e[1])
                }
                let alias = p.makeAlias()
                p.send(to: relay, .tuple([.ref(alias.ref), .atom("by_alias")]))
                try await p.expect(.atom("by_alias"))
                try await p.ping(echo)
                #expect(p.messageQueueLength == 0)
            }
        }
    }

    /// A message to an inactive alias is dropped on arrival.
    @Test func inactiveAliasDropsRemoteMessages() async throws {
        try await withNodes { _, nodes in
            let (a, b) = (nodes[0], nodes[1])
            try await a.withProcess { p throws in
                let alias = p.makeAlias()
                p.deactivate(alias)
                let sender = try b.spawn(puppet(owner: p.pid))
                try await b.withProcess { q throws in try q.send(to: .alias(alias), .atom("late")) }
                try await p.ping(sender)
                #expect(p.messageQueueLength == 0)
            }
        }
    }

    /// Messages from one process to another on another node stay in order.
    @Test func perPairOrderIsKept() async throws {
        try await withNodes { _, nodes in
            let (a, b) = (nodes[0], nodes[1])
            try await a.withProcess { p throws in
                let echo = try b.spawn(puppet(owner: p.pid))
                for i in 0..<200 { p.send(to: echo, .int(i)) }
                for i in 0..<200 {
                    #expect(try await p.next() == .tag("got", .pid(echo), .int(i)))
                }
            }
        }
    }

    @Test func genServerCallsAndCastsAcrossNodes() async throws {
        try await withNodes { _, nodes in
            let (a, b) = (nodes[0], nodes[1])
            let server = try await b.start(Probe(), options: SpawnOptions(name: "probe"))
            try await a.withProcess { p throws in
                #expect(try await p.call(.remoteName("probe", node: b.name), .atom("ping")) == .atom("pong"))
                #expect(try await p.call(.pid(server), .tag("echo", .int(7))) == .int(7))
                p.cast(.remoteName("probe", node: b.name), .atom("inc"))
                p.cast(.pid(server), .atom("inc"))
                #expect(try await p.call(.pid(server), .atom("count")) == .int(2))
                // The calls left no monitor behind on either side.
                #expect(a.remote.index.withLock { $0.monitorsOut[b.name]?.isEmpty ?? true })
                #expect(b.remote.index.withLock { $0.monitorsIn[a.name]?.isEmpty ?? true })
                #expect(p.messageQueueLength == 0)
            }
            // From outside any process (Node.call runs a temporary process).
            #expect(try await a.call(.remoteName("probe", node: b.name), .atom("ping")) == .atom("pong"))
        }
    }

    /// A server calls a server of a third node while handling a call.
    @Test func chainedCallsOverThreeNodes() async throws {
        try await withNodes(3) { _, nodes in
            let (a, b, c) = (nodes[0], nodes[1], nodes[2])
            let last = try await c.start(Probe())
            let middle = try await b.start(Probe())
            try await a.withProcess { p throws in
                #expect(try await p.call(.pid(middle), .tag("call", .pid(last), .tag("echo", .atom("deep")))) == .atom("deep"))
                #expect(a.connectedNodes == [b.name])
                #expect(b.connectedNodes == [a.name, c.name])
            }
        }
    }

    /// A reply from outside the server (`node.reply`) reaches a remote caller.
    @Test func replyFromOutsideReachesARemoteCaller() async throws {
        try await withNodes { _, nodes in
            let (a, b) = (nodes[0], nodes[1])
            try await a.withProcess { p throws in
                let server = try await b.start(Probe(observer: p.pid))
                let owner = p.pid
                try p.spawn { caller in
                    let value = try await caller.call(.pid(server), .atom("hold"), timeout: patience)
                    caller.send(to: owner, .tag("replied", value))
                }
                let held = try await p.expect("held") { $0.args("held", 1) }
                let from = try #require(From(term: held[0]))
                #expect(from.isAlias)
                b.reply(to: from, .atom("from_outside"))
                try await p.expect(.tag("replied", .atom("from_outside")))
            }
        }
    }

    @Test func remoteCallToNobodyIsNoproc() async throws {
        try await withNodes { _, nodes in
            let (a, b) = (nodes[0], nodes[1])
            try await a.withProcess { p throws in
                let target = Destination.remoteName("nobody", node: b.name)
                await #expect(throws: CallError.noproc(target)) { try await p.call(target, .atom("ping")) }
                let dead = try await b.deadPID()
                await #expect(throws: CallError.noproc(.pid(dead))) { try await p.call(.pid(dead), .atom("ping")) }
            }
        }
    }

    @Test func remoteCallFailsWhenTheServerExits() async throws {
        try await withNodes { _, nodes in
            let (a, b) = (nodes[0], nodes[1])
            let server = try await b.start(Probe())
            _ = try await a.withProcess { p throws in
                await #expect {
                    try await p.call(.pid(server), .tag("stop_noreply", custom().term))
                } throws: { error in
                    error as? CallError == .exited(.pid(server), custom())
                }
            }
        }
    }

    /// The connection drops while a call waits: `noconnection`.
    @Test func remoteCallFailsWithNoconnection() async throws {
        try await withNodes { network, nodes in
            let (a, b) = (nodes[0], nodes[1])
            try await a.withProcess { p throws in
                let server = try await b.start(Probe(observer: p.pid))
                let owner = p.pid
                try p.spawn { caller in
                    do {
                        _ = try await caller.call(.pid(server), .atom("hold"), timeout: patience)
                        caller.send(to: owner, .atom("replied"))
                    } catch let error as CallError {
                        caller.send(to: owner, .tag("failed", error.exitReason.term))
                    }
                }
                _ = try await p.expect("held") { $0.args("held", 1) }
                network.cut(a, b)
                let failed = try await p.expect("failed") { $0.args("failed", 1)?[0] }
                #expect(failed == CallError.exited(.pid(server), .noconnection).exitReason.term)
                // A node that cannot be reached fails the call at once.
                let ghost = Destination.remoteName("srv", node: "ghost@localhost")
                await #expect(throws: CallError.exited(ghost, .noconnection)) { try await p.call(ghost, .atom("ping")) }
            }
        }
    }
}

extension Node {
    /// A pid of this node whose process ran and ended.
    func deadPID() async throws -> PID {
        try await withProcess { q throws in
            let (pid, ref) = try q.spawnMonitor { _ in }
            _ = try await q.down(ref)
            return pid
        }
    }
}
