import Testing
@testable import Ergo

/// Signals between one pair of processes arrive in the order they were sent:
/// messages, then the exit signal or 'DOWN' that follows them.
@Suite(.serialized) struct SignalOrderTests {
    static let count = 2_000

    /// Receives `{seq, 1..count}` in order, then whatever `last` accepts.
    @discardableResult
    static nonisolated(nonsending) func expectSequence<T>(_ process: ProcessContext, then last: (Term) -> T?) async throws -> T {
        for expected in 1...count {
            let message = try await process.next("message \(expected)")
            guard message == .tag("seq", .int(expected)) else {
                Issue.record("message \(expected): got \(message)")
                throw Boom("out of order")
            }
        }
        let message = try await process.next("the final signal")
        guard let value = last(message) else {
            Issue.record("after the messages: got \(message)")
            throw Boom("unexpected")
        }
        return value
    }

    @Test func messagesThenLinkExit() async throws {
        try await inProcess(options: SpawnOptions(trapExit: true)) { process throws in
            let me = process.pid
            let sender = try process.spawnLink { sender in
                for i in 1...Self.count { sender.send(to: me, .tag("seq", .int(i))) }
                throw custom()
            }
            let reason = try await Self.expectSequence(process) { $0.exit(from: sender) }
            #expect(reason == custom().term)
        }
    }

    @Test func messagesThenNormalLinkExit() async throws {
        try await inProcess(options: SpawnOptions(trapExit: true)) { process throws in
            let me = process.pid
            let sender = try process.spawnLink { sender in
                for i in 1...Self.count { sender.send(to: me, .tag("seq", .int(i))) }
            }
            let reason = try await Self.expectSequence(process) { $0.exit(from: sender) }
            #expect(reason == .atom(.normal))
        }
    }

    @Test func messagesThenDown() async throws {
        try await inProcess { process throws in
            let me = process.pid
            let sender = try process.spawn { sender in
                _ = try await sender.receive()  // go
                for i in 1...Self.count { sender.send(to: me, .tag("seq", .int(i))) }
                throw Boom()
            }
            let ref = process.monitor(sender)
            process.send(to: sender, .atom("go"))
            let (object, reason) = try await Self.expectSequence(process) { $0.down(ref) }
            #expect(object == .pid(sender))
            #expect(reason.swiftError == "Boom: boom")
        }
    }

    @Test func messagesThenDownOfSpawnMonitor() async throws {
        try await inProcess { process throws in
            let me = process.pid
            let (_, ref) = try process.spawnMonitor { sender in
                for i in 1...Self.count { sender.send(to: me, .tag("seq", .int(i))) }
            }
            let (_, reason) = try await Self.expectSequence(process) { $0.down(ref) }
            #expect(reason == .atom(.normal))
        }
    }

    /// `exit/2` after messages: the trapped 'EXIT' comes after them.
    @Test func messagesThenExitSignal() async throws {
        try await inProcess(options: SpawnOptions(trapExit: true)) { process throws in
            let me = process.pid
            let sender = try process.spawn { sender in
                for i in 1...Self.count { sender.send(to: me, .tag("seq", .int(i))) }
                try sender.exit(me, reason: .shutdown)
            }
            let reason = try await Self.expectSequence(process) { $0.exit(from: sender) }
            #expect(reason == .atom(.shutdown))
        }
    }

    /// Messages sent to a name, to a pid and to an alias all travel in one
    /// order from one sender.
    @Test func orderAcrossDestinationKinds() async throws {
        try await inProcess(options: SpawnOptions(name: "order_receiver")) { process throws in
            let alias = process.makeAlias()
            let me = process.pid
            try process.spawn { sender in
                for i in 1...Self.count {
                    let message: Term = .tag("seq", .int(i))
                    switch i % 3 {
                    case 0: sender.send(to: me, message)
                    case 1: try sender.send(to: .name("order_receiver"), message)
                    default: try sender.send(to: .alias(alias), message)
                    }
                }
                sender.send(to: me, .atom("end"))
            }
            try await Self.expectSequence(process) { $0 == .atom("end") ? true : nil }
        }
    }
}
