import Testing
@testable import Ergo

/// Control messages played by hand against a node whose router only records
/// what the node answers: the exact messages that go back.
@Suite(.serialized) struct RemoteIncomingTests {
    let peer: Atom = "peer@localhost"
    var watcher: PID { PID(node: peer, id: 7, serial: 0, creation: 3) }
    func ref(_ n: UInt32) -> Ref { Ref(node: peer, creation: 3, ids: [n, 0, 0]) }

    func withRecordingNode(_ body: (Node, RecordingRouter) async throws -> Void) async throws {
        let node = makeTestNode(named: "a@localhost")
        let router = RecordingRouter()
        node.attach(router: router)
        do { try await body(node, router) } catch {
            _ = await node.stop(timeout: .seconds(1))
            throw error
        }
        _ = await node.stop(timeout: patience)
        #expect(node.processCount == 0)
    }

    @Test func sendsFromThePeer() async throws {
        try await withRecordingNode { node, router in
            try await node.withProcess { p throws in
                try p.register("here")
                node.deliver(.send(from: nil, to: p.pid, message: .atom("old_send")), from: peer)
                node.deliver(.send(from: watcher, to: p.pid, message: .atom("send_sender")), from: peer)
                node.deliver(.regSend(from: watcher, to: "here", message: .atom("reg_send")), from: peer)
                node.deliver(.regSend(from: watcher, to: "nobody", message: .atom("lost")), from: peer)
                node.deliver(.groupLeader(from: watcher, to: p.pid), from: peer)
                try await p.expect(.atom("old_send"))
                try await p.expect(.atom("send_sender"))
                try await p.expect(.atom("reg_send"))
                #expect(p.messageQueueLength == 0)
                #expect(router.controls.isEmpty)
            }
        }
    }

    /// MONITOR_P on a live process by pid and by name: MONITOR_P_EXIT with
    /// the real reason when it exits; a demonitored one sends nothing.
    @Test func incomingMonitorsFireOnExit() async throws {
        try await withRecordingNode { node, router in
            let target = try await node.withProcess { p throws -> PID in
                let target = try p.spawn(options: SpawnOptions(name: "target"), puppet(owner: p.pid))
                node.deliver(.monitor(from: watcher, to: .pid(target), ref: ref(1)), from: peer)
                node.deliver(.monitor(from: watcher, to: .name("target"), ref: ref(2)), from: peer)
                node.deliver(.monitor(from: watcher, to: .pid(target), ref: ref(3)), from: peer)
                node.deliver(.demonitor(from: watcher, to: .pid(target), ref: ref(3)), from: peer)
                let local = p.monitor(target)
                p.send(to: target, .tag("exit_with", custom().term))
                _ = try await p.down(local)
                return target
            }
            let exits = router.controls
            #expect(exits.count == 2)
            #expect(exits.contains(.monitorExit(from: .pid(target), to: watcher, ref: ref(1), reason: custom())))
            #expect(exits.contains(.monitorExit(from: .name("target"), to: watcher, ref: ref(2), reason: custom())))
            #expect(node.remote.index.withLock { $0.monitorsIn[peer]?.isEmpty ?? true })
        }
    }

    /// A lost connection drops the monitors held from that node.
    @Test func nodeDownDropsIncomingMonitors() async throws {
        try await withRecordingNode { node, router in
            try await node.withProcess { p throws in
                let target = try p.spawn(puppet(owner: p.pid))
                node.deliver(.monitor(from: watcher, to: .pid(target), ref: ref(1)), from: peer)
                node.nodeDown(peer)
                try await p.ping(target)
                let local = p.monitor(target)
                p.send(to: target, .tag("exit_with", custom().term))
                _ = try await p.down(local)
                #expect(router.controls.isEmpty)
            }
        }
    }

    /// LINK to a dead process: EXIT `noproc` goes back; EXIT2 `kill`
    /// cannot be trapped.
    @Test func linkToDeadAndKill() async throws {
        try await withRecordingNode { node, router in
            let dead = try await node.deadPID()
            node.deliver(.link(from: watcher, to: dead), from: peer)
            #expect(router.controls == [.exit(from: dead, to: watcher, reason: .noproc)])
            try await node.withProcess { p throws in
                let target = try p.spawn(puppet(owner: p.pid, trap: true))
                let local = p.monitor(target)
                node.deliver(.exit2(from: watcher, to: target, reason: custom()), from: peer)
                try await p.expect(.tag("got", .pid(target), .tag("EXIT", .pid(watcher), custom().term)))
                node.deliver(.exit2(from: watcher, to: target, reason: .kill), from: peer)
                #expect(try await p.down(local).reason == .atom("killed"))
            }
        }
    }

    /// A link made by the peer: the local process's exit sends EXIT back,
    /// and the peer's EXIT kills a process that does not trap.
    @Test func incomingLinkBothWays() async throws {
        try await withRecordingNode { node, router in
            try await node.withProcess { p throws in
                let first = try p.spawn(puppet(owner: p.pid))
                node.deliver(.link(from: watcher, to: first), from: peer)
                #expect(try await p.linksOf(first) == [watcher])
                let firstRef = p.monitor(first)
                p.send(to: first, .tag("exit_with", .atom("shutdown")))
                _ = try await p.down(firstRef)
                #expect(router.controls == [.exit(from: first, to: watcher, reason: .shutdown)])

                let second = try p.spawn(puppet(owner: p.pid))
                node.deliver(.link(from: watcher, to: second), from: peer)
                let secondRef = p.monitor(second)
                node.deliver(.exit(from: watcher, to: second, reason: custom()), from: peer)
                #expect(try await p.down(secondRef).reason == custom().term)
                #expect(router.controls.count == 1)
            }
        }
    }
}
