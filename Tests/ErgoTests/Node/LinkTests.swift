import Testing
@testable import Ergo

@Suite(.serialized) struct LinkTests {
    @Test func linkIsSeenFromBothSides() async throws {
        try await withNode { node in
            try await node.withProcess { process throws in
                let other = try process.spawn(puppet(owner: process.pid))
                try process.link(other)
                #expect(process.links == [other])
                #expect(try await process.linksOf(other) == [process.pid])
                #expect(await node.processInfo(other)?.links == [process.pid])
                // Linking twice is one link.
                try process.link(other)
                process.unlink(other)
                #expect(process.links.isEmpty)
                #expect(try await process.linksOf(other) == [])
                try await process.kill(other)
            }
        }
    }

    @Test func linkToSelfDoesNothing() async throws {
        try await inProcess { process throws in
            try process.link(process.pid)
            #expect(process.links.isEmpty)
        }
    }

    /// A link works both ways: whichever end dies signals the other.
    @Test func linkIsBidirectional() async throws {
        try await inProcess(options: SpawnOptions(trapExit: true)) { process throws in
            // We linked to it: it dies, we hear.
            let a = try process.spawn(puppet(owner: process.pid))
            try process.link(a)
            process.send(to: a, .tag("exit_with", custom().term))
            #expect(try await process.exitMessage(from: a) == custom().term)
            #expect(process.links.isEmpty)
            // It linked to us: it dies, we hear.
            let b = try process.spawn(puppet(owner: process.pid))
            try await process.command(b, .tag("link", .pid(process.pid)))
            #expect(process.links == [b])
            process.send(to: b, .tag("exit_with", custom("other").term))
            #expect(try await process.exitMessage(from: b) == custom("other").term)
        }
    }

    /// A crashing process takes a non-trapping linked process with it.
    @Test func crashTakesLinkedProcessDown() async throws {
        try await inProcess { process throws in
            let me = process.pid
            let (parent, ref) = try process.spawnMonitor { parent in
                let child = try parent.spawnLink { child in
                    _ = try await child.receive()  // go
                    throw Boom("child")
                }
                parent.send(to: child, .atom("go"))
                parent.send(to: me, .tag("child", .pid(child)))
                while true { _ = try await parent.receive() }
            }
            let child = try await process.expect("child pid") { $0.args("child", 1)?[0] }
            let reason = try await process.down(ref).reason
            #expect(reason.swiftError == "Boom: child")
            #expect(!process.node.isAlive(parent))
            if case .pid(let pid) = child { #expect(!process.node.isAlive(pid)) }
        }
    }

    /// After `unlink`, no exit signal due to the link arrives (trapping: no
    /// 'EXIT' message; not trapping: no death).
    @Test(arguments: [false, true])
    func unlinkStopsExitSignals(trap: Bool) async throws {
        try await inProcess(options: SpawnOptions(trapExit: trap)) { process throws in
            let other = try process.spawn(puppet(owner: process.pid))
            try process.link(other)
            process.unlink(other)
            let ref = process.monitor(other)
            process.send(to: other, .tag("exit_with", custom().term))
            // Had the link stayed, its exit signal would have come before the 'DOWN'.
            #expect(try await process.down(ref).reason == custom().term)
            #expect(process.messageQueueLength == 0)
            #expect(process.links.isEmpty)
        }
    }

    /// The other side unlinks: same result.
    @Test func unlinkFromTheOtherSide() async throws {
        try await inProcess(options: SpawnOptions(trapExit: true)) { process throws in
            let other = try process.spawn(puppet(owner: process.pid))
            try process.link(other)
            try await process.command(other, .tag("unlink", .pid(process.pid)))
            let ref = process.monitor(other)
            process.send(to: other, .tag("exit_with", custom().term))
            _ = try await process.down(ref)
            #expect(process.messageQueueLength == 0)
            #expect(process.links.isEmpty)
        }
    }

    /// Linking to a dead process while trapping: `{'EXIT', Pid, noproc}` at once.
    @Test func linkToDeadProcessTrapping() async throws {
        try await inProcess(options: SpawnOptions(trapExit: true)) { process throws in
            let (dead, ref) = try process.spawnMonitor { _ in }
            _ = try await process.down(ref)
            try process.link(dead)
            #expect(process.messageQueueLength == 1)
            #expect(try await process.exitMessage(from: dead, within: .zero) == .atom(.noproc))
            #expect(process.links.isEmpty)
        }
    }

    /// Not trapping: `link` throws `noproc`; uncaught, the process ends with it.
    @Test func linkToDeadProcessNotTrapping() async throws {
        try await inProcess { process throws in
            let (dead, ref) = try process.spawnMonitor { _ in }
            _ = try await process.down(ref)
            #expect(throws: ExitReason.noproc) { try process.link(dead) }
            #expect(process.links.isEmpty)
            let unknown = PID(node: process.node.name, id: 777_777, serial: 3, creation: process.node.creation)
            let (_, childRef) = try process.spawnMonitor { child in try child.link(unknown) }
            #expect(try await process.down(childRef).reason == .atom(.noproc))
        }
    }

    /// spawnLink: the link exists before the child runs, even if it dies at once.
    @Test func spawnLinkChildDyingAtOnce() async throws {
        try await inProcess(options: SpawnOptions(trapExit: true)) { process throws in
            for i in 0..<100 {
                let child = try process.spawnLink { _ in throw ExitReason.other(.int(i)) }
                #expect(try await process.exitMessage(from: child) == .int(i))
            }
            #expect(process.links.isEmpty)
        }
    }

    /// A linked process that exits normally does not kill a non-trapping partner.
    @Test func normalExitOfLinkedChildIsHarmless() async throws {
        try await inProcess { process throws in
            let child = try process.spawnLink { _ in }
            let ref = process.monitor(child)
            _ = try await process.down(ref)
            // Still alive, and the link is gone once the signal is handled.
            process.send(to: process.pid, .atom("sentinel"))
            try await process.expect(.atom("sentinel"))
            #expect(process.links.isEmpty)
        }
    }

    /// A link to a process whose mailbox is already closed fails with noproc;
    /// one that reaches it while it exits brings its real exit signal back.
    @Test func linkRacingExit() async throws {
        try await inProcess(options: SpawnOptions(trapExit: true)) { process throws in
            for i in 0..<200 {
                let target = try process.spawn { _ in throw ExitReason.other(.int(i)) }
                try process.link(target)
                let reason = try await process.exitMessage(from: target)
                #expect(reason == .int(i) || reason == .atom(.noproc))
            }
            #expect(process.messageQueueLength == 0)
        }
    }
}
