import Testing
@testable import Ergo

@Suite(.serialized) struct MonitorTests {
    @Test func downCarriesTheReason() async throws {
        try await inProcess { process throws in
            let target = try process.spawn(puppet(owner: process.pid))
            let ref = process.monitor(target)
            process.send(to: target, .tag("exit_with", custom().term))
            let (object, reason) = try await process.down(ref)
            #expect(object == .pid(target))
            #expect(reason == custom().term)
        }
    }

    /// A monitor on a dead process fires at once: the 'DOWN' is queued
    /// before `monitor` returns.
    @Test func monitorDeadProcessFiresNoprocAtOnce() async throws {
        try await inProcess { process throws in
            let (dead, first) = try process.spawnMonitor { _ in }
            _ = try await process.down(first)
            let ref = process.monitor(dead)
            #expect(process.messageQueueLength == 1)
            let (object, reason) = try await process.down(ref, within: .zero)
            #expect(object == .pid(dead))
            #expect(reason == .atom(.noproc))
        }
    }

    @Test func monitorUnknownPidFiresNoproc() async throws {
        try await inProcess { process throws in
            let unknown = PID(node: process.node.name, id: 123_456, serial: 9, creation: process.node.creation)
            let ref = process.monitor(unknown)
            let (object, reason) = try await process.down(ref, within: .zero)
            #expect(object == .pid(unknown))
            #expect(reason == .atom(.noproc))
        }
    }

    @Test func monitorUnknownNameFiresNoprocWithNameObject() async throws {
        try await inProcess { process throws in
            let ref = process.monitor(name: "nobody_here")
            let (object, reason) = try await process.down(ref, within: .zero)
            #expect(object == .tuple([.atom("nobody_here"), .atom("test@localhost")]))
            #expect(reason == .atom(.noproc))
        }
    }

    @Test func monitorByNameGivesNameAndNode() async throws {
        try await inProcess { process throws in
            let target = try process.spawn(options: SpawnOptions(name: "watched"), puppet(owner: process.pid))
            let ref = process.monitor(name: "watched")
            let byPid = process.monitor(target)
            try process.exit(target, reason: .kill)
            let (object, reason) = try await process.down(ref)
            #expect(object == .tuple([.atom("watched"), .atom("test@localhost")]))
            #expect(reason == .atom(.killed))
            #expect(try await process.down(byPid).object == .pid(target))
        }
    }

    /// Each monitor gets its own 'DOWN'.
    @Test func twoMonitorsTwoDowns() async throws {
        try await inProcess { process throws in
            let target = try process.spawn(puppet(owner: process.pid))
            let a = process.monitor(target)
            let b = process.monitor(target)
            #expect(a != b)
            process.send(to: target, .tag("exit_with", .atom(.shutdown)))
            #expect(try await process.down(a).reason == .atom(.shutdown))
            #expect(try await process.down(b).reason == .atom(.shutdown))
        }
    }

    /// After `demonitor` the target forgets the monitor and no 'DOWN' for it arrives.
    @Test func demonitorStopsDown() async throws {
        try await withNode { node in
            try await node.withProcess { process throws in
                let target = try process.spawn(puppet(owner: process.pid))
                let ref = process.monitor(target)
                #expect(await node.processInfo(target)?.monitoredBy == [process.pid])
                #expect(process.demonitor(ref))
                // The demonitor signal was sent before the info request.
                #expect(await node.processInfo(target)?.monitoredBy == [])
                #expect(!process.demonitor(ref))
                let other = process.monitor(target)
                try process.exit(target, reason: custom())
                _ = try await process.down(other)
                #expect(process.messageQueueLength == 0)
                #expect(try await process.receive(timeout: .zero) { $0.down(ref) } == nil)
            }
        }
    }

    /// `demonitor(ref, flush: true)` removes a 'DOWN' already queued.
    @Test func demonitorFlushRemovesQueuedDown() async throws {
        try await inProcess { process throws in
            let (dead, first) = try process.spawnMonitor { _ in }
            _ = try await process.down(first)
            let ref = process.monitor(dead)  // queues its 'DOWN' at once
            process.send(to: process.pid, .atom("sentinel"))
            process.demonitor(ref, flush: true)
            #expect(try await process.next() == .atom("sentinel"))
            #expect(process.messageQueueLength == 0)
        }
    }

    /// Without `flush`, a 'DOWN' queued before `demonitor` stays (Erlang's rule).
    @Test func demonitorWithoutFlushLeavesQueuedDown() async throws {
        try await inProcess { process throws in
            let (dead, first) = try process.spawnMonitor { _ in }
            _ = try await process.down(first)
            let ref = process.monitor(dead)
            process.demonitor(ref)
            #expect(try await process.down(ref, within: .zero).reason == .atom(.noproc))
        }
    }

    @Test func demonitorFlushOfLiveMonitor() async throws {
        try await inProcess { process throws in
            let target = try process.spawn(puppet(owner: process.pid))
            let ref = process.monitor(target)
            #expect(process.demonitor(ref, flush: true))
            let other = process.monitor(target)
            try process.exit(target, reason: .kill)
            _ = try await process.down(other)
            #expect(process.messageQueueLength == 0)
        }
    }

    /// A process's monitors end with it: its targets forget it.
    @Test func monitorsOfDeadProcessAreRemovedFromTargets() async throws {
        try await withNode { node in
            try await node.withProcess { process throws in
                let target = try process.spawn(puppet(owner: process.pid))
                let watcher = try process.spawn(puppet(owner: process.pid))
                try await process.command(watcher, .tag("monitor", .pid(target)))
                #expect(await node.processInfo(target)?.monitoredBy == [watcher])
                try await process.kill(watcher)
                // The watcher's demonitor went out before its 'DOWN' reached us.
                #expect(await node.processInfo(target)?.monitoredBy == [])
                try await process.kill(target)
            }
        }
    }

    /// A monitor signal that reaches a process while it exits still gets a 'DOWN'.
    @Test func monitorRacingExitStillGetsDown() async throws {
        try await inProcess { process throws in
            for _ in 0..<200 {
                let target = try process.spawn { _ in }
                let ref = process.monitor(target)
                let reason = try await process.down(ref).reason
                #expect(reason == .atom(.normal) || reason == .atom(.noproc))
            }
        }
    }

    @Test func monitorSelfNeverFires() async throws {
        try await inProcess { process throws in
            let ref = process.monitor(process.pid)
            process.send(to: process.pid, .atom("sentinel"))
            let next = try await process.next()
            #expect(next == .atom("sentinel"))
            #expect(process.demonitor(ref))
        }
    }
}
