import Testing
@testable import Ergo

@Suite(.serialized) struct NodeTests {
    /// `stop` sends `shutdown` to every process; all end with it.
    @Test func stopShutsDownEveryProcess() async throws {
        let node = makeTestNode()
        let reasons = Shared<[Term]>([])
        try await node.withProcess { process throws in
            var targets: [PID] = []
            for i in 0..<20 {
                if i % 2 == 0 {
                    targets.append(try process.spawn(idle))
                } else {
                    // Traps exits and leaves on the first 'EXIT', with its reason.
                    targets.append(try process.spawn(options: SpawnOptions(trapExit: true)) { p in
                        let message = try await p.receive()
                        if let a = message.args("EXIT", 2) { throw ExitReason(a[1]) }
                    })
                }
            }
            targets.append(try await process.start(Probe()))
            // A watcher that traps exits stays until it has every 'DOWN'.
            let me = process.pid
            let all = targets
            try process.spawn(options: SpawnOptions(trapExit: true)) { watcher in
                let refs = all.map { watcher.monitor($0) }
                watcher.send(to: me, .atom("watching"))
                // No time limit: the shutdown comes when the test calls
                // `stop`, and a watcher still waiting then is killed.
                for ref in refs {
                    let reason = try await watcher.receive { $0.down(ref)?.reason }!
                    reasons.update { $0.append(reason) }
                }
            }
            try await process.expect(.atom("watching"))
        }
        #expect(await node.stop())
        #expect(node.processCount == 0)
        #expect(node.processes.isEmpty)
        #expect(reasons.value == Array(repeating: .atom(.shutdown), count: 21))
        // A stopped node starts nothing.
        #expect(throws: ProcessError.nodeStopped) { try node.spawn { _ in } }
        await #expect(throws: ProcessError.nodeStopped) { try await node.start(Probe()) }
        // Stopping again is harmless.
        #expect(await node.stop())
    }

    /// A process that ignores `shutdown` is killed after the timeout, and
    /// `stop` says so.
    @Test func stopKillsProcessThatIgnoresShutdown() async throws {
        let node = makeTestNode()
        let stubborn = try node.spawn(options: SpawnOptions(trapExit: true)) { process in
            while true { _ = try await process.receive() }
        }
        try node.spawn(idle)
        #expect(node.processCount == 2)
        let clock = ContinuousClock()
        let start = clock.now
        #expect(await node.stop(timeout: .milliseconds(100)) == false)
        #expect(clock.now - start >= .milliseconds(100))
        #expect(node.processCount == 0)
        #expect(!node.isAlive(stubborn))
    }

    @Test func processInfoReportsTheProcess() async throws {
        try await withNode { node in
            try await node.withProcess { process throws in
                let me = process.pid
                let linked = try process.spawn(puppet(owner: me))
                let watched = try process.spawn(puppet(owner: me))
                let subject = try process.spawn(options: SpawnOptions(name: "subject", trapExit: true)) { p in
                    try p.link(linked)
                    p.monitor(watched)
                    // Handles two messages, then keeps whatever comes.
                    _ = try await p.receive()
                    _ = try await p.receive()
                    p.send(to: me, .atom("handled_two"))
                    _ = try await p.receive { $0 == .atom("never") ? true : nil }
                }
                let ref = process.monitor(subject)
                process.send(to: subject, .int(1))
                process.send(to: subject, .int(2))
                try await process.expect(.atom("handled_two"))
                for i in 3...5 { process.send(to: subject, .int(i)) }
                guard let info = await node.processInfo(subject) else {
                    Issue.record("no info")
                    return
                }
                #expect(info.pid == subject)
                #expect(info.registeredName == "subject")
                #expect(info.links == [linked])
                #expect(info.monitors.map { $0.target } == [.pid(watched)])
                #expect(info.monitoredBy == [me])
                #expect(info.trapExit)
                #expect(info.messageQueueLength == 3)
                #expect(info.messagesHandled == 2)
                #expect(info.messagesDropped == 0)
                #expect(info.behavior == "process")
                #expect(info.status != .exiting)
                #expect(info.memory > 0)
                #expect(!info.description.isEmpty)
                try process.exit(subject, reason: .kill)
                _ = try await process.down(ref)
                #expect(await node.processInfo(subject) == nil)
                let server = try await process.start(Probe(), options: SpawnOptions(name: "probe_info"))
                let serverInfo = await node.processInfo(server)
                #expect(serverInfo?.behavior == "gen_server:Probe")
                #expect(serverInfo?.registeredName == "probe_info")
                try await process.kill(linked)
                try await process.kill(watched)
            }
        }
    }

    /// After a process dies nothing of it remains: name, timers, table entry,
    /// links and monitors on other processes, aliases.
    @Test func nothingLeftBehindAfterDeath() async throws {
        try await withNode { node in
            try await node.withProcess { process throws in
                let me = process.pid
                let linked = try process.spawn(puppet(owner: me, trap: true))
                let watched = try process.spawn(puppet(owner: me))
                let aliasBox = Shared<Alias?>(nil)
                let doomed = try process.spawn(options: SpawnOptions(name: "doomed")) { p in
                    try p.link(linked)
                    p.monitor(watched)
                    aliasBox.update { $0 = p.makeAlias() }
                    p.sendAfter(.seconds(60), to: .pid(p.pid), .atom("late"))
                    p.send(to: me, .atom("set_up"))
                    _ = try await p.receive()
                    throw Boom("doomed")
                }
                let ref = process.monitor(doomed)
                try await process.expect(.atom("set_up"))
                node.sendAfter(.seconds(60), to: .pid(doomed), .atom("later"))
                #expect(node.timers.count == 2)
                #expect(await node.processInfo(watched)?.monitoredBy == [doomed])
                #expect(try await process.linksOf(linked) == [doomed])
                process.send(to: doomed, .atom("die"))
                _ = try await process.down(ref)
                #expect(node.whereis("doomed") == nil)
                #expect(node.timers.count == 0)
                #expect(!node.processes.contains(doomed))
                #expect(!node.isAlive(doomed))
                #expect(await node.processInfo(doomed) == nil)
                #expect(await node.processInfo(watched)?.monitoredBy == [])
                #expect(try await process.linksOf(linked) == [])
                // Its alias leads nowhere.
                try node.send(to: .alias(aliasBox.value!), .atom("lost"))
                try await process.kill(linked)
                try await process.kill(watched)
                #expect(process.others.isEmpty)
            }
        }
    }

    @Test func withProcessReturnsAndRethrows() async throws {
        try await withNode { node in
            let value = try await node.withProcess { process in process.pid.node.description }
            #expect(value == "test@localhost")
            await #expect(throws: Boom("inside")) {
                try await node.withProcess { _ -> Int in throw Boom("inside") }
            }
            let server = try await node.start(Probe())
            #expect(try await node.call(.pid(server), .atom("ping")) == .atom("pong"))
            #expect(node.isAlive(server))
        }
    }

    /// `processes` lists live processes oldest first; `processCount` agrees.
    @Test func processesOldestFirst() async throws {
        try await withNode { node in
            let pids = try (0..<10).map { _ in try node.spawn(idle) }
            #expect(node.processes == pids)
            #expect(node.processCount == 10)
            for pid in pids { node.send(to: pid, .atom("stop")) }
        }
    }
}

extension Boom: Equatable {
    static func == (a: Boom, b: Boom) -> Bool { a.detail == b.detail }
}
