import Testing
@testable import Ergo

/// Connections coming and going: `noconnection`, `nodeup`/`nodedown`.
@Suite(.serialized) struct RemoteConnectionTests {
    @Test func cutConnectionFiresNoconnection() async throws {
        try await withNodes(3) { network, nodes in
            let (a, b, c) = (nodes[0], nodes[1], nodes[2])
            try await a.withProcess { p throws in
                p.trapExit = true
                p.monitorNodes(true)
                let r1 = try b.spawn(puppet(owner: p.pid))
                let r2 = try b.spawn(options: SpawnOptions(name: "r2"), puppet(owner: p.pid))
                let rc = try c.spawn(puppet(owner: p.pid))
                try p.link(r1)
                try await p.expect(.tag("nodeup", .atom(b.name)))
                let byPid = p.monitor(r2)
                let byName = p.monitor(name: "r2", node: b.name)
                try p.monitorNode(b.name)
                try p.link(rc)
                try await p.expect(.tag("nodeup", .atom(c.name)))
                #expect(a.connectedNodes == [b.name, c.name])
                // r2 monitors p: that monitor is dropped on b when the connection goes.
                try await p.command(r2, .tag("monitor", .pid(p.pid)))
                // A local process linked to r1, not trapping: dies with noconnection.
                let q = try p.spawn(puppet(owner: p.pid))
                try await p.command(q, .tag("link", .pid(r1)))
                let qRef = p.monitor(q)
                try await p.ping(r1)

                // On b, r1 (not trapping, linked to p and q) dies with noconnection too.
                let r1Reason = try await b.withProcess { bp throws in
                    let ref = bp.monitor(r1)
                    network.cut(a, b)
                    return try await bp.down(ref).reason
                }
                #expect(r1Reason == .atom("noconnection"))
                #expect(b.remote.index.withLock { $0.monitorsIn[a.name] } == nil)

                #expect(try await p.exitMessage(from: r1) == .atom("noconnection"))
                #expect(try await p.down(byPid) == (.pid(r2), .atom("noconnection")))
                #expect(try await p.down(byName) == (.tuple([.atom("r2"), .atom(b.name)]), .atom("noconnection")))
                #expect(try await p.down(qRef).reason == .atom("noconnection"))
                // One for monitorNode, one for monitorNodes.
                try await p.expect(.tag("nodedown", .atom(b.name)))
                try await p.expect(.tag("nodedown", .atom(b.name)))
                #expect(p.links == [rc])
                #expect(a.connectedNodes == [c.name])
                try await p.ping(rc)

                // Once healed, the next use connects again.
                network.heal(a, b)
                try await p.ping(r2)
                try await p.expect(.tag("nodeup", .atom(b.name)))
                #expect(a.connectedNodes == [b.name, c.name])
                #expect(p.messageQueueLength == 0)
            }
        }
    }

    /// Many links across a connection, made from both sides while messages
    /// flow: a cut ends every linked process on both nodes with `noconnection`.
    @Test func cutWithManyLinks() async throws {
        try await withNodes { network, nodes in
            let (a, b) = (nodes[0], nodes[1])
            let count = 200
            try await a.withProcess { p throws in
                var locals: [PID] = []
                var remotes: [PID] = []
                for i in 0..<count {
                    let local = try p.spawn(puppet(owner: p.pid))
                    let remote = try b.spawn(puppet(owner: p.pid))
                    // Half linked from each side.
                    try await p.command(i.isMultiple(of: 2) ? local : remote,
                                        .tag("link", .pid(i.isMultiple(of: 2) ? remote : local)))
                    locals.append(local)
                    remotes.append(remote)
                }
                let localRefs = locals.map { p.monitor($0) }
                let (pairs, remoteList) = (Array(zip(locals, remotes)), remotes)
                let remoteReasons = try await b.withProcess { bp throws -> [Term] in
                    let refs = remoteList.map { bp.monitor($0) }
                    for (local, remote) in pairs { p.send(to: local, .tag("send", .pid(remote), .atom("hi"))) }
                    network.cut(a, b)
                    var reasons: [Term] = []
                    for ref in refs { reasons.append(try await bp.down(ref).reason) }
                    return reasons
                }
                #expect(remoteReasons == Array(repeating: .atom("noconnection"), count: count))
                for ref in localRefs {
                    #expect(try await p.down(ref).reason == .atom("noconnection"))
                }
                #expect(a.remote.index.withLock { $0.links[b.name] } == nil)
                #expect(b.remote.index.withLock { $0.links[a.name] } == nil)
            }
        }
    }

    /// Links, monitors and sends to a node that cannot be reached.
    @Test func unreachableNode() async throws {
        try await withNodes { _, nodes in
            let a = nodes[0]
            try await a.withProcess { p throws in
                p.trapExit = true
                let ghost = PID(node: "ghost@localhost", id: 1, serial: 0, creation: 1)
                p.send(to: ghost, .atom("dropped"))
                try p.link(ghost)
                #expect(try await p.exitMessage(from: ghost) == .atom("noconnection"))
                let ref = p.monitor(ghost)
                #expect(try await p.down(ref) == (.pid(ghost), .atom("noconnection")))
                try p.monitorNode("ghost@localhost")
                try await p.expect(.tag("nodedown", .atom("ghost@localhost")))
                #expect(a.connectedNodes.isEmpty)
                #expect(p.messageQueueLength == 0)
            }
        }
    }

    /// `monitorNode(_, false)` removes one instance.
    @Test func monitorNodeOffRemovesOneInstance() async throws {
        try await withNodes { network, nodes in
            let (a, b) = (nodes[0], nodes[1])
            try await a.withProcess { p throws in
                let r = try b.spawn(puppet(owner: p.pid))
                try await p.ping(r)
                try p.monitorNode(b.name)
                try p.monitorNode(b.name)
                try p.monitorNode(b.name, false)
                network.cut(a, b)
                try await p.expect(.tag("nodedown", .atom(b.name)))
                #expect(p.messageQueueLength == 0)
            }
        }
    }

    /// A node with no router: every other node is unreachable.
    @Test func nodeWithoutRouter() async throws {
        try await inProcess { p throws in
            p.trapExit = true
            let ghost = PID(node: "ghost@localhost", id: 1, serial: 0, creation: 1)
            p.send(to: ghost, .atom("dropped"))
            try p.send(to: .remoteName("srv", node: "ghost@localhost"), .atom("dropped"))
            try p.link(ghost)
            #expect(try await p.exitMessage(from: ghost) == .atom("noconnection"))
            #expect(try await p.down(p.monitor(ghost)).reason == .atom("noconnection"))
            #expect(throws: ProcessError.notAlive) { try p.monitorNode("ghost@localhost") }
            let srv = Destination.remoteName("srv", node: "ghost@localhost")
            await #expect(throws: CallError.exited(srv, .noconnection)) { try await p.call(srv, .atom("x")) }
            #expect(p.node.connectedNodes.isEmpty)
            #expect(p.messageQueueLength == 0)
        }
    }
}
