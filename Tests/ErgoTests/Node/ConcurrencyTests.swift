import Testing
@testable import Ergo

/// Stress across the node's two scheduler threads. `make swift-test` also
/// runs this suite under ThreadSanitizer (`--filter Concurrency`).
@Suite(.serialized) struct ConcurrencyTests {
    /// Many senders, one receiver: every message arrives, each sender's in order.
    @Test func manySendersOneReceiver() async throws {
        let senders = 16
        let perSender = 2_000
        let outside = 4  // senders outside any process
        try await withNode { node in
            try await node.withProcess(options: SpawnOptions(name: "sink")) { process throws in
                let me = process.pid
                for s in 0..<senders {
                    try process.spawn { sender in
                        for n in 0..<perSender {
                            let message: Term = .tuple([.int(s), .int(n)])
                            if n % 2 == 0 { sender.send(to: me, message) } else { try sender.send(to: .name("sink"), message) }
                        }
                    }
                }
                for s in senders..<senders + outside {
                    Task.detached {
                        for n in 0..<perSender { node.send(to: me, .tuple([.int(s), .int(n)])) }
                    }
                }
                var next = Array(repeating: 0, count: senders + outside)
                for _ in 0..<(senders + outside) * perSender {
                    // The senders outside run on the global executor, which
                    // other test suites may keep busy: a generous bound.
                    let message = try await process.next(within: .seconds(60))
                    guard case .tuple(let e) = message, e.count == 2, case .int(let s) = e[0], case .int(let n) = e[1] else {
                        Issue.record("unexpected \(message)")
                        return
                    }
                    if n != next[s] {
                        Issue.record("sender \(s): got \(n), expected \(next[s])")
                        return
                    }
                    next[s] += 1
                }
                #expect(next == Array(repeating: perSender, count: senders + outside))
                #expect(process.messageQueueLength == 0)
            }
        }
    }

    /// Many clients call one server at once: every call is answered once.
    @Test func manyConcurrentCalls() async throws {
        let clients = 32
        let calls = 300
        try await withNode { node in
            try await node.withProcess { process throws in
                let server = try await process.start(Probe())
                let me = process.pid
                for c in 0..<clients {
                    try process.spawn { client in
                        var last = 0
                        for _ in 0..<calls {
                            guard case .int(let count) = try await client.call(.pid(server), .atom("add")), count > last else {
                                throw Boom("client \(c): count did not increase")
                            }
                            last = count
                        }
                        client.send(to: me, .tag("client_done", .int(c)))
                    }
                }
                for _ in 0..<clients {
                    _ = try await process.expect("a client done", within: .seconds(30)) { $0.args("client_done", 1) }
                }
                #expect(try await process.call(.pid(server), .atom("count")) == .int(clients * calls))
                #expect(await node.processInfo(server)?.monitoredBy == [])
            }
            // Calls from outside any process, in parallel.
            let server = try await node.start(Probe())
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        for i in 0..<25 { _ = try await node.call(.pid(server), .tag("echo", .int(i))) }
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    /// Spawn/exit churn with links and monitors on both scheduler threads.
    @Test func spawnExitChurn() async throws {
        let workers = 8
        let rounds = 150
        try await withNode { node in
            try await node.withProcess { process throws in
                let me = process.pid
                var workerRefs: [Ref] = []
                for w in 0..<workers {
                    let (_, ref) = try process.spawnMonitor(options: SpawnOptions(trapExit: true)) { worker in
                        for r in 0..<rounds {
                            let kind = (r + w) % 4
                            let reason: ExitReason = [.normal, custom(), .shutdown, .killed][kind]
                            let body: nonisolated(nonsending) @Sendable (ProcessContext) async throws -> Void = { child in
                                if kind == 3 { _ = try await child.receive() }  // waits to be killed
                                if kind == 1 { throw custom() }
                                if kind == 2 { throw ExitReason.shutdown }
                            }
                            let linked = try worker.spawnLink(body)
                            let (monitored, ref) = try worker.spawnMonitor(body)
                            if kind == 3 {
                                try worker.exit(linked, reason: .kill)
                                try worker.exit(monitored, reason: .kill)
                            }
                            let exitReason = try await worker.exitMessage(from: linked)
                            let downReason = try await worker.down(ref).reason
                            guard exitReason == reason.term, downReason == reason.term else {
                                throw Boom("worker \(w) round \(r): \(exitReason) / \(downReason), expected \(reason)")
                            }
                        }
                        worker.send(to: me, .tag("worker_done", .int(w)))
                    }
                    workerRefs.append(ref)
                }
                for ref in workerRefs {
                    let reason = try await process.down(ref, within: .seconds(60)).reason
                    #expect(reason == .atom(.normal))
                }
                #expect(process.messageQueueLength == workers)
                #expect(process.others.isEmpty)
            }
        }
    }

    /// Links and monitors set on processes that are exiting at that moment,
    /// from several processes at once: every one resolves to the real reason
    /// or `noproc`, never to nothing.
    @Test func linksAndMonitorsRacingExits() async throws {
        try await inProcess { process throws in
            let me = process.pid
            for w in 0..<4 {
                try process.spawn(options: SpawnOptions(trapExit: true)) { worker in
                    for i in 0..<250 {
                        let target = try worker.spawn { _ in throw ExitReason.other(.int(i)) }
                        try worker.link(target)
                        let ref = worker.monitor(target)
                        let exitReason = try await worker.exitMessage(from: target)
                        let downReason = try await worker.down(ref).reason
                        guard [.int(i), .atom(.noproc)].contains(exitReason),
                              [.int(i), .atom(.noproc)].contains(downReason) else {
                            throw Boom("worker \(w): \(exitReason) / \(downReason)")
                        }
                    }
                    worker.send(to: me, .tag("worker_done", .int(w)))
                }
            }
            for _ in 0..<4 {
                _ = try await process.expect("a worker done", within: .seconds(30)) { $0.args("worker_done", 1) }
            }
        }
    }

    /// Calls racing the server's death: each client's calls succeed until one
    /// fails with the server's reason (or `noproc`); none hangs.
    @Test func callsRacingServerDeath() async throws {
        try await inProcess { process throws in
            let me = process.pid
            for _ in 0..<10 {
                let server = try await process.start(Probe())
                for c in 0..<8 {
                    try process.spawn { client in
                        client.send(to: me, .atom("calling"))
                        var ok = 0
                        while true {
                            do {
                                _ = try await client.call(.pid(server), .atom("add"))
                                ok += 1
                            } catch let error as CallError {
                                client.send(to: me, .tag("client_result", .int(c), error.shortTerm))
                                return
                            }
                        }
                    }
                }
                for _ in 0..<8 { try await process.expect(.atom("calling")) }
                try process.exit(server, reason: .kill)
                for _ in 0..<8 {
                    let result = try await process.expect("client result") { $0.args("client_result", 2)?[1] }
                    #expect(result == .tag("exited", .atom(.killed)) || result == .atom(.noproc))
                }
            }
        }
    }

    /// Names registered and released by many processes at once: a name is
    /// held by one process at a time.
    @Test func registryChurn() async throws {
        try await inProcess { process throws in
            let me = process.pid
            let names: [Atom] = ["shared_0", "shared_1", "shared_2", "shared_3"]
            for w in 0..<8 {
                try process.spawn { worker in
                    var held = 0
                    for i in 0..<1_000 {
                        let name = names[(i + w) % names.count]
                        do {
                            try worker.register(name)
                        } catch ProcessError.alreadyRegistered {
                            continue
                        }
                        held += 1
                        guard worker.whereis(name) == worker.pid else { throw Boom("lost \(name)") }
                        try worker.send(to: .name(name), .atom("self"))
                        guard try await worker.receive(timeout: .seconds(5)) == .atom("self") else { throw Boom("no self") }
                        guard worker.unregister(name) else { throw Boom("could not unregister \(name)") }
                    }
                    worker.send(to: me, .tag("worker_done", .int(held)))
                }
            }
            for _ in 0..<8 {
                _ = try await process.expect("a worker done", within: .seconds(30)) { $0.args("worker_done", 1) }
            }
            #expect(names.allSatisfy { process.whereis($0) == nil })
        }
    }

    /// Timers set and cancelled from many processes: exactly the timers not
    /// cancelled in time fire.
    @Test func timerChurn() async throws {
        try await withNode { node in
            try await node.withProcess { process throws in
                let me = process.pid
                for w in 0..<8 {
                    try process.spawn { worker in
                        var expected = 0
                        for i in 0..<100 {
                            let timer = worker.sendAfter(.milliseconds(1 + (i * 7 + w) % 20), to: .pid(worker.pid), .int(i))
                            if i % 2 == 0, worker.cancelTimer(timer) { continue }
                            expected += 1
                        }
                        worker.sendAfter(.milliseconds(100), to: .pid(worker.pid), .atom("sentinel"))
                        var got = 0
                        while try await worker.receive(timeout: .seconds(5)) != .atom("sentinel") { got += 1 }
                        worker.send(to: me, .tag("timers", .int(expected), .int(got)))
                    }
                }
                for _ in 0..<8 {
                    let (expected, got) = try await process.expect("timer counts") { message -> (Term, Term)? in
                        message.args("timers", 2).map { ($0[0], $0[1]) }
                    }
                    #expect(expected == got)
                }
                #expect(node.timers.count == 0)
            }
        }
    }

    /// `processInfo` from outside while the process is busy receiving.
    @Test func processInfoWhileBusy() async throws {
        try await withNode { node in
            let receiver = try node.spawn { process in
                var count = 0
                while try await process.receive() != .atom("stop") { count += 1 }
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for i in 0..<5_000 { node.send(to: receiver, .int(i)) }
                }
                group.addTask {
                    for _ in 0..<200 {
                        guard let info = await node.processInfo(receiver) else { throw Boom("no info") }
                        if info.messagesHandled < 0 || info.messageQueueLength < 0 { throw Boom("bad info") }
                    }
                }
                try await group.waitForAll()
            }
            node.send(to: receiver, .atom("stop"))
        }
    }
}
