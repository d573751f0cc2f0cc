import Testing
@testable import Ergo

/// Monitors and `exit/2` across nodes.
@Suite(.serialized) struct RemoteMonitorTests {
    @Test func monitorByPidAndByName() async throws {
        try await withNodes { _, nodes in
            let (a, b) = (nodes[0], nodes[1])
            try await a.withProcess { p throws in
                let r = try b.spawn(options: SpawnOptions(name: "watched"), puppet(owner: p.pid))
                let byPid = p.monitor(r)
                let byName = p.monitor(name: "watched", node: b.name)
                try await p.ping(r)
                p.send(to: r, .tag("exit_with", custom().term))
                let first = try await p.down(byPid)
                #expect(first.object == .pid(r))
                #expect(first.reason == custom().term)
                let second = try await p.down(byName)
                #expect(second.object == .tuple([.atom("watched"), .atom(b.name)]))
                #expect(second.reason == custom().term)
                #expect(a.remote.index.withLock { $0.monitorsOut[b.name]?.isEmpty ?? true })
                #expect(b.remote.index.withLock { $0.monitorsIn[a.name]?.isEmpty ?? true })
            }
        }
    }

    @Test func monitorOfUnknownRemoteProcessIsNoproc() async throws {
        try await withNodes { _, nodes in
            let (a, b) = (nodes[0], nodes[1])
            let dead = try await b.deadPID()
            try await a.withProcess { p throws in
                let byPid = try await p.down(p.monitor(dead))
                #expect(byPid.object == .pid(dead))
                #expect(byPid.reason == .atom("noproc"))
                let byName = try await p.down(p.monitor(name: "nobody", node: b.name))
                #expect(byName.object == .tuple([.atom("nobody"), .atom(b.name)]))
                #expect(byName.reason == .atom("noproc"))
            }
        }
    }

    /// After `demonitor` no 'DOWN' comes, and the target forgot the monitor.
    @Test func demonitorStopsDown() async throws {
        try await withNodes { _, nodes in
            let (a, b) = (nodes[0], nodes[1])
            try await a.withProcess { p throws in
                let r = try b.spawn(puppet(owner: p.pid))
                let dropped = p.monitor(r)
                let kept = p.monitor(r)
                try await p.ping(r)
                #expect(p.demonitor(dropped))
                #expect(!p.demonitor(dropped))
                try await p.ping(r)
                #expect(b.remote.index.withLock { $0.monitorsIn[a.name]?.count } == 1)
                p.send(to: r, .tag("exit_with", custom().term))
                _ = try await p.down(kept)
                #expect(p.messageQueueLength == 0)
            }
        }
    }

    /// A process of the other node monitors a local one.
    @Test func monitorFromTheOtherSide() async throws {
        try await withNodes { _, nodes in
            let (a, b) = (nodes[0], nodes[1])
            try await a.withProcess { p throws in
                let q = try p.spawn(puppet(owner: p.pid))
                let r = try b.spawn(puppet(owner: p.pid))
                try await p.command(r, .tag("monitor", .pid(q)))
                p.send(to: q, .tag("exit_with", custom().term))
                let down = try await p.expect("r's 'DOWN'") { $0.args("got", 2)?[1].args("DOWN", 4) }
                #expect(down[1] == .atom("process"))
                #expect(down[2] == .pid(q))
                #expect(down[3] == custom().term)
                #expect(a.remote.index.withLock { $0.monitorsIn[b.name]?.isEmpty ?? true })
            }
        }
    }

    /// `exit/2` to a remote process: like a local one (kill cannot be trapped).
    @Test func exitSignalToARemoteProcess() async throws {
        try await withNodes { _, nodes in
            let (a, b) = (nodes[0], nodes[1])
            try await a.withProcess { p throws in
                let plain = try b.spawn(puppet(owner: p.pid))
                let plainRef = p.monitor(plain)
                try p.exit(plain, reason: .normal)
                try await p.ping(plain)
                try p.exit(plain, reason: custom())
                #expect(try await p.down(plainRef).reason == custom().term)

                let trapping = try b.spawn(puppet(owner: p.pid, trap: true))
                let ref = p.monitor(trapping)
                try p.exit(trapping, reason: custom())
                try await p.expect(.tag("got", .pid(trapping), .tag("EXIT", .pid(p.pid), custom().term)))
                try p.exit(trapping, reason: .kill)
                #expect(try await p.down(ref).reason == .atom("killed"))

                // From outside any process.
                let other = try b.spawn(puppet(owner: p.pid))
                let otherRef = p.monitor(other)
                a.exit(other, reason: .shutdown)
                #expect(try await p.down(otherRef).reason == .atom("shutdown"))
            }
        }
    }

    /// The same with the old (non-`PAYLOAD_`) exit forms on the wire.
    @Test func oldExitFormsWork() async throws {
        try await withNodes(exitPayload: false) { _, nodes in
            let (a, b) = (nodes[0], nodes[1])
            try await a.withProcess { p throws in
                p.trapExit = true
                let r = try b.spawn(puppet(owner: p.pid, trap: true))
                try p.link(r)
                let ref = p.monitor(r)
                try p.exit(r, reason: custom())
                try await p.expect(.tag("got", .pid(r), .tag("EXIT", .pid(p.pid), custom().term)))
                p.send(to: r, .tag("exit_with", .atom("shutdown")))
                #expect(try await p.exitMessage(from: r) == .atom("shutdown"))
                #expect(try await p.down(ref).reason == .atom("shutdown"))
            }
        }
    }

    /// A MONITOR_P for an unknown name is answered at once with `noproc`.
    @Test func incomingMonitorOfUnknownNameAnswersNoproc() async throws {
        let node = makeTestNode(named: "a@localhost")
        let router = RecordingRouter()
        node.attach(router: router)
        let watcher = PID(node: "ghost@localhost", id: 1, serial: 0, creation: 1)
        let ref = Ref(node: "ghost@localhost", creation: 1, ids: [1, 2, 3])
        node.deliver(.monitor(from: watcher, to: .name("nobody"), ref: ref), from: watcher.node)
        #expect(router.controls == [.monitorExit(from: .name("nobody"), to: watcher, ref: ref, reason: .noproc)])
        _ = await node.stop(timeout: patience)
    }
}
