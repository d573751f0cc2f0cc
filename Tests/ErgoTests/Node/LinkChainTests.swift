import Testing
@testable import Ergo

/// 10,000 processes linked in a chain, each started by the one before it
/// with `spawnLink`, dying one after the other.
@Suite(.serialized) struct LinkChainTests {
    static let length = 10_000

    /// Link `index` of the chain: starts the next link, or tells `observer`
    /// `{last, Pid}` at the end. Trapping, it reports `{dead, Index, Reason}`
    /// on the first 'EXIT' and ends with that reason.
    static func link(_ index: Int, observer: PID, trap: Bool) -> nonisolated(nonsending) @Sendable (ProcessContext) async throws -> Void {
        { process in
            process.trapExit = trap
            if index < length {
                try process.spawnLink(link(index + 1, observer: observer, trap: trap))
            } else {
                process.send(to: observer, .tag("last", .pid(process.pid)))
            }
            while true {
                let message = try await process.receive()
                if trap, let a = message.args("EXIT", 2) {
                    process.send(to: observer, .tag("dead", .int(index), a[1]))
                    throw ExitReason(a[1])
                }
            }
        }
    }

    /// Starts a chain; returns its first and last pids.
    static nonisolated(nonsending) func chain(_ process: ProcessContext, trap: Bool) async throws -> (first: PID, last: PID) {
        let first = try process.spawn(link(1, observer: process.pid, trap: trap))
        let last = try await process.expect("the end of the chain", within: .seconds(30)) { message -> PID? in
            if case .pid(let pid)? = message.args("last", 1)?[0] { return pid } else { return nil }
        }
        #expect(process.node.processCount >= length)
        return (first, last)
    }

    /// Killing the last link: `killed` travels back to the first.
    @Test func killTheLast() async throws {
        try await inProcess { process throws in
            let (first, last) = try await Self.chain(process, trap: false)
            let firstRef = process.monitor(first)
            let lastRef = process.monitor(last)
            try process.exit(last, reason: .kill)
            #expect(try await process.down(lastRef, within: .seconds(30)).reason == .atom(.killed))
            #expect(try await process.down(firstRef, within: .seconds(30)).reason == .atom(.killed))
            // Each link left the process table before passing the signal on.
            #expect(process.others.isEmpty)
        }
    }

    /// A custom reason from the first link travels to the last.
    @Test func firstDiesWithCustomReason() async throws {
        try await inProcess { process throws in
            let (first, last) = try await Self.chain(process, trap: false)
            let firstRef = process.monitor(first)
            let lastRef = process.monitor(last)
            try process.exit(first, reason: custom())
            #expect(try await process.down(firstRef, within: .seconds(30)).reason == custom().term)
            #expect(try await process.down(lastRef, within: .seconds(30)).reason == custom().term)
            #expect(process.others.isEmpty)
        }
    }

    /// With every link trapping and reporting before it dies, the order is
    /// observable: link 2 first, link 10,000 last, all with `killed`.
    @Test func deathsInChainOrder() async throws {
        try await inProcess { process throws in
            let (first, _) = try await Self.chain(process, trap: true)
            try process.exit(first, reason: .kill)
            for index in 2...Self.length {
                let message = try await process.next("link \(index)", within: .seconds(30))
                guard message == .tag("dead", .int(index), .atom(.killed)) else {
                    Issue.record("expected link \(index) to die, got \(message)")
                    return
                }
            }
            #expect(process.messageQueueLength == 0)
        }
    }
}
