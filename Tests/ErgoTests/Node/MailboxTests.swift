import Testing
@testable import Ergo

@Suite(.serialized) struct MailboxTests {
    /// Starts a process with a mailbox limit that does not read its messages
    /// until `holder` dies; then it reports `{got, [Messages]}` and
    /// handles `ping`s until told `stop`.
    static func startHeldBack(_ process: ProcessContext, limit: MailboxLimit, trap: Bool = false,
                              holder: PID) throws -> PID {
        let me = process.pid
        return try process.spawn(options: SpawnOptions(trapExit: trap, mailboxLimit: limit)) { held in
            let ref = held.monitor(holder)
            held.send(to: me, .atom("ready"))
            _ = try await held.receive { $0.down(ref) != nil ? true : nil }
            var got: [Term] = []
            while let message = try await held.receive(timeout: .zero) { got.append(message) }
            held.send(to: me, .tag("got", .list(got)))
            while true {
                let message = try await held.receive()
                if message == .atom("stop") { return }
                if let a = message.args("ping", 1), case .pid(let from) = a[0] {
                    held.send(to: from, .tag("pong", .pid(held.pid)))
                }
            }
        }
    }

    @Test func dropBeyondLimit() async throws {
        try await withNode { node in
            try await node.withProcess { process throws in
                let holder = try process.spawn(idle)
                let limited = try Self.startHeldBack(process, limit: MailboxLimit(capacity: 5, action: .drop),
                                                     holder: holder)
                try await process.expect(.atom("ready"))
                for i in 1...12 { process.send(to: limited, .int(i)) }
                let info = await node.processInfo(limited)
                #expect(info?.messagesDropped == 7)
                #expect(info?.messageQueueLength == 5)
                try process.exit(holder, reason: .kill)
                try await process.expect(.tag("got", .list((1...5).map { .int($0) })))
                // Once read, there is room again.
                for _ in 0..<20 { try await process.ping(limited) }
                #expect(await node.processInfo(limited)?.messagesDropped == 7)
                process.send(to: limited, .atom("stop"))
            }
        }
    }

    /// Casts, calls and alias messages count against the limit too.
    @Test func everyKindOfMessageCounts() async throws {
        try await withNode { node in
            try await node.withProcess { process throws in
                let holder = try process.spawn(idle)
                let limited = try Self.startHeldBack(process, limit: MailboxLimit(capacity: 2, action: .drop),
                                                     holder: holder)
                try await process.expect(.atom("ready"))
                process.send(to: limited, .int(1))
                process.cast(.pid(limited), .int(2))
                process.cast(.pid(limited), .int(3))
                await #expect(throws: CallError.timeout(.pid(limited))) {
                    try await process.call(.pid(limited), .int(4), timeout: .milliseconds(20))
                }
                #expect(await node.processInfo(limited)?.messagesDropped == 2)
                try process.exit(holder, reason: .kill)
                try await process.expect(.tag("got", .list([.int(1), .tag("$gen_cast", .int(2))])))
                process.send(to: limited, .atom("stop"))
            }
        }
    }

    /// With `.exit`, the process ends with `{mailbox_overflow, N}`, whether
    /// it traps exits or not.
    @Test(arguments: [false, true])
    func exitBeyondLimit(trap: Bool) async throws {
        try await inProcess { process throws in
            let holder = try process.spawn(idle)
            let limited = try Self.startHeldBack(process, limit: MailboxLimit(capacity: 3, action: .exit),
                                                 trap: trap, holder: holder)
            try await process.expect(.atom("ready"))
            let ref = process.monitor(limited)
            for i in 1...4 { process.send(to: limited, .int(i)) }
            #expect(try await process.down(ref).reason == .tag("mailbox_overflow", .int(3)))
            try await process.kill(holder)
            #expect(process.messageQueueLength == 0)
        }
    }

    /// A process that keeps up with its messages never hits its limit.
    @Test func limitNotReachedWhenKeepingUp() async throws {
        try await withNode { node in
            try await node.withProcess { process throws in
                let limited = try process.spawn(options: SpawnOptions(mailboxLimit: MailboxLimit(capacity: 1)),
                                                puppet(owner: process.pid))
                for _ in 0..<1_000 { try await process.ping(limited) }
                #expect(await node.processInfo(limited)?.messagesDropped == 0)
                try await process.kill(limited)
            }
        }
    }

    /// Selective receive takes the first match and leaves the rest in order.
    @Test func selectiveReceiveKeepsOrder() async throws {
        try await inProcess { process throws in
            for i in 1...10 { process.send(to: process.pid, .int(i)) }
            let even = try await process.expect("first even") { message -> Int? in
                if case .int(let n) = message, n % 2 == 0 { return n } else { return nil }
            }
            #expect(even == 2)
            #expect(process.messageQueueLength == 9)
            var rest: [Term] = []
            while let message = try await process.receive(timeout: .zero) { rest.append(message) }
            #expect(rest == [1, 3, 4, 5, 6, 7, 8, 9, 10].map { Term.int($0) })
        }
    }

    /// Messages sent while a process waits in a selective receive for
    /// something else stay queued, in order, behind the earlier ones.
    @Test func selectiveReceiveWhileMessagesArrive() async throws {
        try await inProcess { process throws in
            let me = process.pid
            try process.spawn { sender in
                for i in 1...1_000 { sender.send(to: me, .int(i)) }
                sender.send(to: me, .atom("last"))
            }
            try await process.expect(.atom("last"))
            for i in 1...1_000 { #expect(try await process.next() == .int(i)) }
            #expect(process.messageQueueLength == 0)
        }
    }
}
