import Testing
@testable import Ergo

/// What became of a process after an exit signal.
struct ExitOutcome: Equatable, Sendable, CustomStringConvertible {
    /// The reason it died with (nil: still alive).
    var died: Term?
    /// The `{'EXIT', From, Reason}` messages it got while trapping.
    var trapped: [Term] = []

    static func dies(_ reason: Term) -> ExitOutcome { ExitOutcome(died: reason) }
    static func lives(trapping messages: [Term] = []) -> ExitOutcome { ExitOutcome(died: nil, trapped: messages) }

    var description: String { died.map { "dies with \($0)" } ?? "lives, trapped \(trapped)" }
}

/// One row of the exit-signal table.
struct ExitCase: Sendable, CustomTestStringConvertible {
    let reason: ExitReason
    let trap: Bool
    var testDescription: String { "\(reason) \(trap ? "trapping" : "not trapping")" }
}

let exitReasons: [ExitReason] = [.normal, .shutdown, .shutdown(.atom("bye")), .kill, .killed, custom()]
let exitCases: [ExitCase] = exitReasons.flatMap { [ExitCase(reason: $0, trap: false), ExitCase(reason: $0, trap: true)] }

extension ProcessContext {
    /// After an exit signal is on its way to `victim` (a puppet reporting to
    /// this process), finds out what it did: dies (its 'DOWN' arrives first)
    /// or lives (it answers a ping sent after the signal), and collects the
    /// 'EXIT' messages it trapped meanwhile. Kills it if it lived.
    nonisolated(nonsending) func outcome(of victim: PID, monitor ref: Ref) async throws -> ExitOutcome {
        send(to: victim, .tag("ping", .pid(pid)))
        var outcome = ExitOutcome()
        while true {
            let message = try await expect("pong or 'DOWN' from \(victim)") { message -> Term? in
                if message.down(ref) != nil || message == .tag("pong", .pid(victim)) { return message }
                if let a = message.args("got", 2), a[0] == .pid(victim) { return message }
                return nil
            }
            if let (_, reason) = message.down(ref) {
                outcome.died = reason
                return outcome
            }
            if let a = message.args("got", 2) {
                outcome.trapped.append(a[1])
                continue
            }
            // Alive: end it, and make sure it did not queue anything more.
            try exit(victim, reason: .kill)
            _ = try await down(ref)
            return outcome
        }
    }
}

@Suite(.serialized) struct ExitSignalTests {
    // MARK: exit/2

    /// Erlang's rules for `exit(Pid, Reason)` sent by another process.
    static func expectedForExit2(_ c: ExitCase, from sender: PID) -> ExitOutcome {
        switch (c.reason, c.trap) {
        case (.kill, _): return .dies(.atom(.killed))
        case (_, true): return .lives(trapping: [.tag("EXIT", .pid(sender), c.reason.term)])
        case (.normal, false): return .lives()
        case (_, false): return .dies(c.reason.term)
        }
    }

    @Test(arguments: exitCases)
    func exit2(_ c: ExitCase) async throws {
        try await inProcess { process throws in
            let victim = try process.spawn(puppet(owner: process.pid, trap: c.trap))
            let ref = process.monitor(victim)
            try process.exit(victim, reason: c.reason)
            let outcome = try await process.outcome(of: victim, monitor: ref)
            #expect(outcome == Self.expectedForExit2(c, from: process.pid))
        }
    }

    /// `node.exit` sends from the node's system pid, by the same rules.
    @Test(arguments: exitCases)
    func exitFromOutsideAnyProcess(_ c: ExitCase) async throws {
        try await inProcess { process throws in
            let victim = try process.spawn(puppet(owner: process.pid, trap: c.trap))
            let ref = process.monitor(victim)
            // Pushed from this thread before the ping `outcome` sends.
            process.node.exit(victim, reason: c.reason)
            let outcome = try await process.outcome(of: victim, monitor: ref)
            #expect(outcome == Self.expectedForExit2(c, from: process.node.systemPID))
        }
    }

    // MARK: exit signals from a dying linked process

    /// Erlang's rules for the exit signal a linked process sends when it dies.
    static func expectedForLink(_ c: ExitCase, dead: PID) -> ExitOutcome {
        switch (c.reason, c.trap) {
        case (_, true): return .lives(trapping: [.tag("EXIT", .pid(dead), c.reason.term)])
        case (.normal, false): return .lives()
        // `kill` from a link is an ordinary signal: the receiver dies with `kill`.
        case (_, false): return .dies(c.reason.term)
        }
    }

    @Test(arguments: exitCases)
    func linkedProcessDies(_ c: ExitCase) async throws {
        try await inProcess { process throws in
            let victim = try process.spawn(puppet(owner: process.pid, trap: c.trap))
            let dying = try process.spawn(puppet(owner: process.pid))
            try await process.command(victim, .tag("link", .pid(dying)))
            let victimRef = process.monitor(victim)
            let dyingRef = process.monitor(dying)
            process.send(to: dying, .tag("exit_with", c.reason.term))
            // The linked process's exit signal to the victim is sent before
            // its 'DOWN' reaches us, so our ping below arrives after it.
            #expect(try await process.down(dyingRef).reason == c.reason.term)
            let expected = Self.expectedForLink(c, dead: dying)
            if expected.died == nil {
                // The link is gone on the victim's side too.
                #expect(try await process.linksOf(victim) == [])
            }
            let outcome = try await process.outcome(of: victim, monitor: victimRef)
            #expect(outcome == expected)
        }
    }

    /// A process killed by `kill` dies with `killed`, and that is the reason
    /// its links get (trappable).
    @Test(arguments: [false, true])
    func killedPropagatesKilledToLinks(trap: Bool) async throws {
        try await inProcess { process throws in
            let victim = try process.spawn(puppet(owner: process.pid, trap: trap))
            let killedOne = try process.spawn(puppet(owner: process.pid, trap: true))
            try await process.command(victim, .tag("link", .pid(killedOne)))
            let victimRef = process.monitor(victim)
            let killedRef = process.monitor(killedOne)
            try process.exit(killedOne, reason: .kill)
            #expect(try await process.down(killedRef).reason == .atom(.killed))
            let outcome = try await process.outcome(of: victim, monitor: victimRef)
            if trap {
                #expect(outcome == .lives(trapping: [.tag("EXIT", .pid(killedOne), .atom(.killed))]))
            } else {
                #expect(outcome == .dies(.atom(.killed)))
            }
        }
    }

    /// `kill` passes on as `kill` through a link: a second hop also dies with it.
    @Test func killReasonTravelsOnThroughLinks() async throws {
        try await inProcess { process throws in
            let first = try process.spawn(puppet(owner: process.pid))
            let second = try process.spawn(puppet(owner: process.pid))
            let third = try process.spawn(puppet(owner: process.pid))
            try await process.command(second, .tag("link", .pid(first)))
            try await process.command(third, .tag("link", .pid(second)))
            let refs = [first, second, third].map { process.monitor($0) }
            process.send(to: first, .tag("exit_with", .atom(.kill)))
            for ref in refs { #expect(try await process.down(ref).reason == .atom(.kill)) }
        }
    }

    // MARK: exit to itself

    /// `exit(self(), normal)` ends a process that does not trap exits, with
    /// reason `normal`, by throwing out of the call; nothing after it runs.
    @Test(arguments: [ExitReason.normal, .shutdown, custom(), .kill])
    func exitSelfNotTrapping(_ reason: ExitReason) async throws {
        try await inProcess { process throws in
            let me = process.pid
            let (child, ref) = try process.spawnMonitor { child in
                child.send(to: me, .atom("before"))
                do {
                    try child.exit(child.pid, reason: reason)
                } catch {
                    child.send(to: me, .tag("caught", ExitReason(error: error).term))
                    throw error
                }
                child.send(to: me, .atom("after"))
            }
            try await process.expect(.atom("before"))
            let expected: Term = reason == .kill ? .atom(.killed) : reason.term
            try await process.expect(.tag("caught", expected))
            #expect(try await process.down(ref).reason == expected)
            // Everything the child sent came before its 'DOWN'.
            #expect(process.messageQueueLength == 0)
            #expect(!process.node.isAlive(child))
        }
    }

    /// Trapping, `exit(self(), Reason)` becomes a message (except `kill`).
    @Test(arguments: [ExitReason.normal, .shutdown, custom(), .kill])
    func exitSelfTrapping(_ reason: ExitReason) async throws {
        try await inProcess { process throws in
            let me = process.pid
            let (child, ref) = try process.spawnMonitor(options: SpawnOptions(trapExit: true)) { child in
                try child.exit(child.pid, reason: reason)
                let message = try await child.receive(timeout: .zero)
                child.send(to: me, .tag("got", message ?? .atom("nothing")))
            }
            if reason == .kill {
                #expect(try await process.down(ref).reason == .atom(.killed))
            } else {
                try await process.expect(.tag("got", .tag("EXIT", .pid(child), reason.term)))
                #expect(try await process.down(ref).reason == .atom(.normal))
            }
            #expect(process.messageQueueLength == 0)
        }
    }

    /// Exit signals to a dead or unknown process go nowhere.
    @Test func exitToDeadProcessIsHarmless() async throws {
        try await inProcess { process throws in
            let (child, ref) = try process.spawnMonitor { _ in }
            _ = try await process.down(ref)
            try process.exit(child, reason: .kill)
            try process.exit(PID(node: process.node.name, id: 999_999, serial: 7, creation: process.node.creation),
                             reason: custom())
            process.node.exit(child, reason: .kill)
            #expect(process.messageQueueLength == 0)
        }
    }

    /// A thrown error ends a process with `{swift_error, <<"Type: description">>}`,
    /// a thrown `ExitReason` with that reason.
    @Test func thrownErrorsBecomeReasons() async throws {
        try await inProcess { process throws in
            let (_, errorRef) = try process.spawnMonitor { _ in throw Boom("kaput") }
            let reason = try await process.down(errorRef).reason
            #expect(reason.swiftError == "Boom: kaput")
            let (_, shutdownRef) = try process.spawnMonitor { _ in throw ExitReason.shutdown(.atom("done")) }
            #expect(try await process.down(shutdownRef).reason == .tag("shutdown", .atom("done")))
            let (_, normalRef) = try process.spawnMonitor { _ in }
            #expect(try await process.down(normalRef).reason == .atom(.normal))
        }
    }
}
