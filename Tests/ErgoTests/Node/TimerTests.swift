import Testing
@testable import Ergo

@Suite(.serialized) struct TimerTests {
    @Test func sendAfterDelivers() async throws {
        try await withNode { node in
            try await node.withProcess(options: SpawnOptions(name: "timer_target")) { process in
                process.sendAfter(.milliseconds(5), to: .pid(process.pid), .atom("to_pid"))
                try await process.expect(.atom("to_pid"))
                node.sendAfter(.milliseconds(5), to: .name("timer_target"), .atom("to_name"))
                try await process.expect(.atom("to_name"))
                #expect(node.timers.count == 0)
            }
        }
    }

    /// A cancelled timer never fires: a sentinel timer due later arrives first.
    @Test func cancelledTimerNeverFires() async throws {
        try await withNode { node in
            try await node.withProcess { process throws in
                let me = Destination.pid(process.pid)
                let timer = process.sendAfter(.milliseconds(200), to: me, .atom("cancelled"))
                #expect(process.cancelTimer(timer))
                #expect(!process.cancelTimer(timer))
                let sentinel = process.sendAfter(.milliseconds(250), to: me, .atom("sentinel"))
                #expect(try await process.next() == .atom("sentinel"))
                #expect(process.messageQueueLength == 0)
                #expect(!process.cancelTimer(sentinel))  // already fired
                #expect(node.timers.count == 0)
            }
        }
    }

    /// Timers fire in the order of their deadlines, not of their setting.
    @Test func timersFireInDeadlineOrder() async throws {
        try await inProcess { process throws in
            let me = Destination.pid(process.pid)
            let clock = ContinuousClock()
            let start = clock.now
            for ms in [100, 80, 60, 40, 20] { process.sendAfter(.milliseconds(ms), to: me, .int(ms)) }
            // Unless setting them took half the 20 ms between two delays,
            // their deadlines are in the reverse order of their setting.
            let settled = clock.now - start < .milliseconds(10)
            var order: [Term] = []
            for _ in 0..<5 { order.append(try await process.next()) }
            if settled { #expect(order == [20, 40, 60, 80, 100].map { Term.int($0) }) }
            // Set in deadline order, they must arrive in it.
            for ms in [5, 10, 15, 20, 25] { process.sendAfter(.milliseconds(ms), to: me, .int(ms)) }
            for ms in [5, 10, 15, 20, 25] { #expect(try await process.next() == .int(ms)) }
        }
    }

    /// Timers set one after another with the same delay arrive in the order
    /// they were set (their deadlines are in that order, even within a tick).
    @Test func sameDelayTimersKeepTheirOrder() async throws {
        try await inProcess { process throws in
            for _ in 0..<3 {
                for i in 0..<50 { process.sendAfter(.milliseconds(5), to: .pid(process.pid), .int(i)) }
                var got: [Term] = []
                for _ in 0..<50 { got.append(try await process.next()) }
                #expect(got == (0..<50).map { Term.int($0) })
            }
        }
    }

    /// A timer aimed at a process that dies is cancelled with it.
    @Test func timerToDeadProcessIsCancelled() async throws {
        try await withNode { node in
            try await node.withProcess { process throws in
                let target = try process.spawn(puppet(owner: process.pid))
                for i in 0..<10 { node.sendAfter(.seconds(60), to: .pid(target), .int(i)) }
                process.sendAfter(.seconds(60), to: .pid(target), .atom("from_process"))
                #expect(node.timers.count == 11)
                try await process.kill(target)
                #expect(node.timers.count == 0)
            }
        }
    }

    /// A timer aimed at a process that is already dead leaves nothing behind.
    @Test func timerToAlreadyDeadProcess() async throws {
        try await withNode { node in
            try await node.withProcess { process throws in
                let (dead, ref) = try process.spawnMonitor { _ in }
                _ = try await process.down(ref)
                let timer = node.sendAfter(.seconds(60), to: .pid(dead), .atom("lost"))
                #expect(node.timers.count == 0)
                #expect(!node.cancelTimer(timer))
            }
        }
    }

    /// A timer with no delay fires at once, however idle the timer thread
    /// was and wherever in its 1 ms tick the timer was set.
    @Test func zeroDelayTimerIsPrompt() async throws {
        try await inProcess { process throws in
            let clock = ContinuousClock()
            var slowest: Duration = .zero
            for i in 0..<100 {
                // The timer thread is idle (no timer armed). Set the timer
                // just before a tick boundary, where the thread's wake-up
                // crosses into the next tick.
                let offset = UInt64(950_000 + (i % 5) * 10_000)
                while TimerService.now() % TimerService.tick < offset {}
                let start = clock.now
                process.sendAfter(.zero, to: .pid(process.pid), .int(i))
                let message = try await process.receive()  // a late timer still fires, a lap later
                #expect(message == .int(i))
                slowest = max(slowest, clock.now - start)
            }
            // Missing the tick costs a lap of the wheel (1.024 s).
            #expect(slowest < .milliseconds(900), "a zero-delay timer took \(slowest)")
        }
    }

    @Test func receiveTimeoutReturnsNilAndKeepsOtherMessages() async throws {
        try await inProcess { process throws in
            let clock = ContinuousClock()
            let start = clock.now
            #expect(try await process.receive(timeout: .milliseconds(20)) == nil)
            #expect(clock.now - start >= .milliseconds(20))
            process.send(to: process.pid, .atom("other"))
            #expect(try await process.receive(timeout: .milliseconds(20)) { $0 == .atom("wanted") ? true : nil } == nil)
            #expect(process.messageQueueLength == 1)
            #expect(try await process.receive(timeout: .zero) == .atom("other"))
            #expect(try await process.receive(timeout: .zero) == nil)
        }
    }

    /// A receive timeout that was armed and not used does not cut a later receive short.
    @Test func staleReceiveTimeoutIsIgnored() async throws {
        try await inProcess { process throws in
            let me = Destination.pid(process.pid)
            for _ in 0..<20 {
                process.sendAfter(.milliseconds(1), to: me, .atom("quick"))
                #expect(try await process.receive(timeout: .milliseconds(10)) == .atom("quick"))
                // The 10 ms timeout above would fire during this wait.
                process.sendAfter(.milliseconds(30), to: me, .atom("slow"))
                #expect(try await process.receive(timeout: .seconds(5)) == .atom("slow"))
            }
        }
    }
}
