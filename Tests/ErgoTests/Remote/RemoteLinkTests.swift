import Testing
@testable import Ergo

/// Links across nodes: exits both ways, `noproc`, and the `UNLINK_ID` protocol.
@Suite(.serialized) struct RemoteLinkTests {
    @Test func linkExitReachesATrappingProcess() async throws {
        try await withNodes { _, nodes in
            let (a, b) = (nodes[0], nodes[1])
            try await a.withProcess { p throws in
                p.trapExit = true
                let r = try b.spawn(puppet(owner: p.pid))
                try p.link(r)
                #expect(try await p.linksOf(r) == [p.pid])
                #expect(p.links == [r])
                p.send(to: r, .tag("exit_with", custom().term))
                #expect(try await p.exitMessage(from: r) == custom().term)
                #expect(p.links.isEmpty)
                #expect(a.remote.index.withLock { $0.links[b.name]?.isEmpty ?? true })
            }
        }
    }

    /// A link made from the other side; the local process dies, the remote
    /// one (trapping) gets `{'EXIT', Pid, Reason}`; a non-trapping one dies.
    @Test func linkFromTheOtherSideBothWays() async throws {
        try await withNodes { _, nodes in
            let (a, b) = (nodes[0], nodes[1])
            try await a.withProcess { p throws in
                let q = try p.spawn(puppet(owner: p.pid))
                let trapping = try b.spawn(puppet(owner: p.pid, trap: true))
                try await p.command(trapping, .tag("link", .pid(q)))
                #expect(try await p.linksOf(q) == [trapping])
                p.send(to: q, .tag("exit_with", custom().term))
                try await p.expect(.tag("got", .pid(trapping), .tag("EXIT", .pid(q), custom().term)))
                try await p.kill(trapping)

                // Not trapping: the local one dies with the remote one's reason.
                let local = try p.spawn(puppet(owner: p.pid))
                let remote = try b.spawn(puppet(owner: p.pid))
                try await p.command(local, .tag("link", .pid(remote)))
                let ref = p.monitor(local)
                p.send(to: remote, .tag("exit_with", .atom("shutdown")))
                #expect(try await p.down(ref).reason == .atom("shutdown"))
            }
        }
    }

    /// `normal` through a link does not kill, and the link is gone.
    @Test func normalExitDoesNotKill() async throws {
        try await withNodes { _, nodes in
            let (a, b) = (nodes[0], nodes[1])
            try await a.withProcess { p throws in
                let local = try p.spawn(puppet(owner: p.pid))
                let remote = try b.spawn(puppet(owner: p.pid))
                try await p.command(local, .tag("link", .pid(remote)))
                let ref = p.monitor(remote)
                p.send(to: remote, .tag("exit_with", .atom("normal")))
                #expect(try await p.down(ref).reason == .atom("normal"))
                #expect(try await p.linksOf(local).isEmpty)
            }
        }
    }

    /// Linking to a dead process of another node: an exit signal `noproc`.
    @Test func linkToADeadRemoteProcessGivesNoproc() async throws {
        try await withNodes { _, nodes in
            let (a, b) = (nodes[0], nodes[1])
            let dead = try await b.deadPID()
            try await a.withProcess { p throws in
                p.trapExit = true
                try p.link(dead)
                #expect(try await p.exitMessage(from: dead) == .atom("noproc"))
                #expect(p.links.isEmpty)
                let q = try p.spawn(puppet(owner: p.pid))
                let ref = p.monitor(q)
                p.send(to: q, .tag("link", .pid(dead)))
                #expect(try await p.down(ref).reason == .atom("noproc"))
            }
        }
    }

    /// `unlink` removes the link at once; the peer acknowledges; a later
    /// exit of the peer sends nothing through the gone link.
    @Test func unlinkWithTheIdProtocol() async throws {
        try await withNodes { _, nodes in
            let (a, b) = (nodes[0], nodes[1])
            try await a.withProcess { p throws in
                p.trapExit = true
                let r = try b.spawn(puppet(owner: p.pid))
                try p.link(r)
                try await p.ping(r)
                p.unlink(r)
                #expect(p.links.isEmpty)
                #expect(p.core.unlinking.count == 1)
                // r handled the UNLINK_ID (and acknowledged it) before the ping.
                #expect(try await p.linksOf(r).isEmpty)
                #expect(p.core.unlinking.isEmpty)
                let ref = p.monitor(r)
                p.send(to: r, .tag("exit_with", custom().term))
                _ = try await p.down(ref)
                #expect(p.messageQueueLength == 0)
                #expect(a.remote.index.withLock { $0.links[b.name]?.isEmpty ?? true })
            }
        }
    }

    /// Signals crossing an unlink, played by hand against a recording router.
    @Test func unlinkCrossingSignalsAsERTS() async throws {
        let node = makeTestNode(named: "a@localhost")
        let router = RecordingRouter()
        node.attach(router: router)
        try await node.withProcess { p throws in
            p.trapExit = true
            let r = PID(node: "ghost@localhost", id: 1, serial: 0, creation: 1)
            try p.link(r)
            #expect(router.controls.last == .link(from: p.pid, to: r))
            p.unlink(r)
            guard case .unlinkID(let id, p.pid, r)? = router.controls.last else {
                Issue.record("no UNLINK_ID: \(router.controls)")
                return
            }
            // A LINK crossing our UNLINK_ID, and an ack for another id: ignored.
            node.deliver(.link(from: r, to: p.pid), from: r.node)
            node.deliver(.unlinkIDAck(id: id &+ 1, from: r, to: p.pid), from: r.node)
            _ = p.messageQueueLength
            #expect(p.links.isEmpty)
            #expect(p.core.unlinking[r] == id)
            node.deliver(.unlinkIDAck(id: id, from: r, to: p.pid), from: r.node)
            _ = p.messageQueueLength
            #expect(p.core.unlinking.isEmpty)

            // Now a LINK from r makes the link; its UNLINK_ID removes it and is acknowledged.
            node.deliver(.link(from: r, to: p.pid), from: r.node)
            _ = p.messageQueueLength
            #expect(p.links == [r])
            node.deliver(.unlinkID(id: 77, from: r, to: p.pid), from: r.node)
            _ = p.messageQueueLength
            #expect(p.links.isEmpty)
            #expect(router.controls.last == .unlinkIDAck(id: 77, from: p.pid, to: r))

            // While unlinking, an exit through the link is ignored (and ends the unlinking).
            try p.link(r)
            p.unlink(r)
            node.deliver(.exit(from: r, to: p.pid, reason: custom()), from: r.node)
            #expect(p.messageQueueLength == 0)
            #expect(p.core.unlinking.isEmpty)
            #expect(node.remote.index.withLock { $0.links[r.node]?.isEmpty ?? true })

            // An UNLINK_ID for a process that is gone is still acknowledged.
            let gone = PID(node: node.name, id: 999_999, serial: 0, creation: node.creation)
            node.deliver(.unlinkID(id: 5, from: r, to: gone), from: r.node)
            #expect(router.controls.last == .unlinkIDAck(id: 5, from: gone, to: r))
        }
        _ = await node.stop(timeout: patience)
    }

    /// The process exits: EXIT goes to each remote linked pid.
    @Test func exitGoesToRemoteLinks() async throws {
        let node = makeTestNode(named: "a@localhost")
        let router = RecordingRouter()
        node.attach(router: router)
        let r = PID(node: "ghost@localhost", id: 1, serial: 0, creation: 1)
        let pid = try await node.withProcess { p throws -> PID in
            try p.link(r)
            return p.pid
        }
        _ = await node.stop(timeout: patience)
        #expect(router.controls.contains(.exit(from: pid, to: r, reason: .normal)))
        #expect(node.remote.index.withLock { $0.links[r.node]?.isEmpty ?? true })
    }
}
