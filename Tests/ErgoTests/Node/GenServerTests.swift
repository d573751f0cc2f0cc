import Testing
@testable import Ergo

/// A server the tests steer by request; it reports to `observer`.
///
/// Calls: `ping` → `pong`; `{echo, X}` → X; `count`; `add` (adds one,
/// replies the count); `hold` (no reply; sends
/// `{held, From}` to the observer and keeps From); `{stop, R}` (replies `ok`
/// and stops); `{stop_noreply, R}`; `crash` (throws); `{call, Dest, Req}`
/// (calls another server and replies with its answer).
/// Casts: `inc`; `release` (replies `released` to every held From, then
/// sends `released_all` to the observer); `{stop, R}`; `crash`.
/// Info: `{info, Msg}` to the observer.
/// Terminate: `{terminate, Reason, Count}` to the observer, then throws if
/// `terminateThrows`.
struct Probe: GenServer {
    enum Start: Sendable {
        case ok, ignore, stop(ExitReason), crash
        /// Tells the observer `{initializing, Pid}` and waits forever.
        case block
    }

    struct State {
        var count = 0
        var held: [From] = []
    }

    var observer: PID?
    var start: Start = .ok
    var trap = false
    var terminateThrows = false
    /// Where terminate also records its reason.
    var record: Shared<[Term]>?

    func tell(_ process: ProcessContext, _ message: Term) {
        if let observer { process.send(to: observer, message) }
    }

    func initialize(_ process: ProcessContext) async throws -> InitResult<State> {
        process.trapExit = trap
        switch start {
        case .ok: return .ok(State())
        case .ignore: return .ignore
        case .stop(let reason): return .stop(reason)
        case .crash: throw Boom("init")
        case .block:
            tell(process, .tag("initializing", .pid(process.pid)))
            while true { _ = try await process.receive() }
        }
    }

    func handleCall(_ request: Term, from: From, state: State, process: ProcessContext) async throws -> CallResult<State> {
        var state = state
        if request == .atom("ping") { return .reply(.atom("pong"), state) }
        if request == .atom("count") { return .reply(.int(state.count), state) }
        if request == .atom("add") {
            state.count += 1
            return .reply(.int(state.count), state)
        }
        if request == .atom("hold") {
            state.held.append(from)
            tell(process, .tag("held", from.term))
            return .noReply(state)
        }
        if request == .atom("crash") { throw Boom("handleCall") }
        if let a = request.args("echo", 1) { return .reply(a[0], state) }
        if let a = request.args("stop", 1) { return .stop(ExitReason(a[0]), reply: .atom(.ok), state) }
        if let a = request.args("stop_noreply", 1) { return .stop(ExitReason(a[0]), reply: nil, state) }
        if let a = request.args("call", 2), case .pid(let other) = a[0] {
            return .reply(try await process.call(.pid(other), a[1]), state)
        }
        return .stop(.other(.tag("bad_call", request)), reply: nil, state)
    }

    func handleCast(_ request: Term, state: State, process: ProcessContext) async throws -> CastResult<State> {
        var state = state
        if request == .atom("inc") {
            state.count += 1
        } else if request == .atom("release") {
            for from in state.held { process.reply(to: from, .atom("released")) }
            state.held = []
            tell(process, .atom("released_all"))
        } else if request == .atom("crash") {
            throw Boom("handleCast")
        } else if let a = request.args("stop", 1) {
            return .stop(ExitReason(a[0]), state)
        }
        return .noReply(state)
    }

    func handleInfo(_ message: Term, state: State, process: ProcessContext) async throws -> CastResult<State> {
        tell(process, .tag("info", message))
        return .noReply(state)
    }

    func terminate(_ reason: ExitReason, state: State, process: ProcessContext) async throws {
        tell(process, .tag("terminate", reason.term, .int(state.count)))
        record?.update { $0.append(reason.term) }
        if terminateThrows { throw Boom("terminate") }
    }
}

extension ProcessContext {
    /// Expects `{terminate, Reason, _}` from a Probe: its reason.
    nonisolated(nonsending) func terminateReason() async throws -> Term {
        try await expect("terminate") { $0.args("terminate", 2)?[0] }
    }

    /// Expects `{held, From}` from a Probe.
    nonisolated(nonsending) func held() async throws -> From {
        try await expect("held") { $0.args("held", 1).flatMap { From(term: $0[0]) } }
    }

    /// Runs `call` in a new process that reports its outcome to this one as
    /// `{call_result, {ok, Reply}}` or `{call_result, {error, Reason}}`
    /// (Reason: `timeout`, `noproc` or `{exited, R}`).
    func callInAnotherProcess(_ destination: Destination, _ request: Term,
                              timeout: Duration? = .seconds(5)) throws -> PID {
        let me = pid
        return try spawn { client in
            let result: Term
            do {
                result = .tag("ok", try await client.call(destination, request, timeout: timeout))
            } catch let error as CallError {
                result = .tag("error", error.shortTerm)
            }
            client.send(to: me, .tag("call_result", result))
        }
    }

    nonisolated(nonsending) func callResult() async throws -> Term {
        try await expect("call result") { $0.args("call_result", 1)?[0] }
    }
}

extension CallError {
    var shortTerm: Term {
        switch self {
        case .timeout: return .atom("timeout")
        case .noproc: return .atom(.noproc)
        case .exited(_, let reason): return .tag("exited", reason.term)
        case .callingSelf: return .atom("calling_self")
        }
    }
}

@Suite(.serialized) struct GenServerTests {
    @Test func callCastAndInfo() async throws {
        try await withNode { node in
            let server = try await node.start(Probe(), options: SpawnOptions(name: "probe"))
            #expect(try await node.call(.name("probe"), .atom("ping")) == .atom("pong"))
            #expect(try await node.call(.pid(server), .tag("echo", .string("hi"))) == .string("hi"))
            try await node.withProcess { process throws in
                let server = try await process.start(Probe(observer: process.pid))
                for _ in 0..<3 { process.cast(.pid(server), .atom("inc")) }
                // Casts and the call after them travel in order.
                #expect(try await process.call(.pid(server), .atom("count")) == .int(3))
                process.send(to: server, .atom("hello"))
                try await process.expect(.tag("info", .atom("hello")))
                #expect(await node.processInfo(server)?.behavior == "gen_server:Probe")
            }
        }
    }

    /// `.noReply`, then another process answers with the saved From.
    @Test func replyLaterFromAnotherProcess() async throws {
        try await withNode { node in
            try await node.withProcess { process throws in
                let server = try await process.start(Probe(observer: process.pid))
                let client = try process.callInAnotherProcess(.pid(server), .atom("hold"))
                let from = try await process.held()
                #expect(from.pid == client)
                #expect(from.isAlias)
                node.reply(to: from, .atom("answered_elsewhere"))
                #expect(try await process.callResult() == .tag("ok", .atom("answered_elsewhere")))
                // The server can still be called: nothing stuck.
                #expect(try await process.call(.pid(server), .atom("ping")) == .atom("pong"))
            }
        }
    }

    /// `.noReply`, then the server itself replies on a later message.
    @Test func replyLaterFromTheServer() async throws {
        try await inProcess { process throws in
            let server = try await process.start(Probe(observer: process.pid))
            for _ in 0..<3 { _ = try process.callInAnotherProcess(.pid(server), .atom("hold")) }
            for _ in 0..<3 { _ = try await process.held() }
            process.cast(.pid(server), .atom("release"))
            for _ in 0..<3 { #expect(try await process.callResult() == .tag("ok", .atom("released"))) }
        }
    }

    @Test func stopFromCallRunsTerminate() async throws {
        try await inProcess { process throws in
            let server = try await process.start(Probe(observer: process.pid))
            let ref = process.monitor(server)
            process.cast(.pid(server), .atom("inc"))
            let reply = try await process.call(.pid(server), .tag("stop", .tag("shutdown", .atom("done"))))
            #expect(reply == .atom(.ok))
            try await process.expect(.tag("terminate", .tag("shutdown", .atom("done")), .int(1)))
            #expect(try await process.down(ref).reason == .tag("shutdown", .atom("done")))
        }
    }

    @Test func stopFromCastRunsTerminate() async throws {
        try await inProcess { process throws in
            let server = try await process.start(Probe(observer: process.pid))
            let ref = process.monitor(server)
            process.cast(.pid(server), .tag("stop", custom().term))
            #expect(try await process.terminateReason() == custom().term)
            #expect(try await process.down(ref).reason == custom().term)
        }
    }

    /// A call that times out throws `timeout`, and the late reply never
    /// reaches the caller's mailbox.
    @Test func callTimeoutDropsLateReply() async throws {
        try await inProcess { process throws in
            let server = try await process.start(Probe(observer: process.pid))
            await #expect(throws: CallError.timeout(.pid(server))) {
                try await process.call(.pid(server), .atom("hold"), timeout: .milliseconds(50))
            }
            let from = try await process.held()
            #expect(from.pid == process.pid)
            // The server replies to the held call now, then tells us.
            process.cast(.pid(server), .atom("release"))
            #expect(try await process.next() == .atom("released_all"))
            #expect(process.messageQueueLength == 0)
            // The next call works and gets its own reply.
            #expect(try await process.call(.pid(server), .atom("ping")) == .atom("pong"))
            #expect(process.messageQueueLength == 0)
        }
    }

    @Test func callDeadOrUnknownFailsAtOnce() async throws {
        try await withNode { node in
            try await node.withProcess { process throws in
                let unknown = PID(node: node.name, id: 424_242, serial: 1, creation: node.creation)
                // With a timeout of 5 s, a call that waited would fail with `timeout`.
                await #expect(throws: CallError.noproc(.pid(unknown))) {
                    try await process.call(.pid(unknown), .atom("ping"))
                }
                await #expect(throws: CallError.noproc(.name("nobody"))) {
                    try await process.call(.name("nobody"), .atom("ping"))
                }
                let server = try await process.start(Probe())
                _ = try await process.call(.pid(server), .tag("stop", .atom(.normal)))
                let ref = process.monitor(server)
                _ = try await process.down(ref)
                await #expect(throws: CallError.noproc(.pid(server))) {
                    try await process.call(.pid(server), .atom("ping"))
                }
                #expect(process.messageQueueLength == 0)
            }
            await #expect(throws: CallError.noproc(.name("nobody"))) {
                try await node.call(.name("nobody"), .atom("ping"))
            }
        }
    }

    /// The server dies while a call waits: the call fails with its reason.
    @Test func serverDyingDuringCall() async throws {
        try await inProcess { process throws in
            let server = try await process.start(Probe(observer: process.pid))
            _ = try process.callInAnotherProcess(.pid(server), .atom("hold"), timeout: nil)
            _ = try await process.held()
            try process.exit(server, reason: custom())
            #expect(try await process.callResult() == .tag("error", .tag("exited", custom().term)))

            let killed = try await process.start(Probe(observer: process.pid))
            _ = try process.callInAnotherProcess(.pid(killed), .atom("hold"), timeout: nil)
            _ = try await process.held()
            try process.exit(killed, reason: .kill)
            #expect(try await process.callResult() == .tag("error", .tag("exited", .atom(.killed))))

            // Stopping without replying.
            let quitter = try await process.start(Probe(observer: process.pid))
            await #expect(throws: CallError.exited(.pid(quitter), .shutdown)) {
                try await process.call(.pid(quitter), .tag("stop_noreply", .atom(.shutdown)))
            }
            #expect(try await process.terminateReason() == .atom(.shutdown))
            #expect(process.messageQueueLength == 0)
        }
    }

    @Test func initCrashFailsStart() async throws {
        try await withNode { node in
            let before = node.processes
            do {
                try await node.start(Probe(start: .crash))
                Issue.record("started")
            } catch StartError.failed(let reason) {
                #expect(reason.term.swiftError == "Boom: init")
            }
            await #expect(throws: StartError.failed(custom())) { try await node.start(Probe(start: .stop(custom()))) }
            await #expect(throws: StartError.ignored) { try await node.start(Probe(start: .ignore)) }
            try await node.withProcess { process throws in
                await #expect(throws: StartError.ignored) { try await process.start(Probe(start: .ignore)) }
                await #expect(throws: StartError.failed(custom())) {
                    try await process.start(Probe(start: .stop(custom())))
                }
                #expect(process.messageQueueLength == 0)
            }
            // Nothing is left running (the helper process may still be ending).
            let monitorAll = try await node.withProcess { process throws -> Int in
                for pid in process.others where !before.contains(pid) { _ = try await process.down(process.monitor(pid)) }
                return process.others.filter { !before.contains($0) }.count
            }
            #expect(monitorAll == 0)
        }
    }

    /// startLink from a trapping parent: a failed or ignored start leaves no
    /// 'EXIT' message behind.
    @Test(arguments: [Probe.Start.crash, .stop(custom()), .ignore])
    func startLinkFailureLeavesNoExit(_ start: Probe.Start) async throws {
        try await inProcess(options: SpawnOptions(trapExit: true)) { process throws in
            do {
                try await process.startLink(Probe(start: start))
                Issue.record("started")
            } catch let error as StartError {
                switch (start, error) {
                case (.ignore, .ignored), (.crash, .failed), (.stop, .failed): break
                default: Issue.record("unexpected \(error)")
                }
            }
            process.send(to: process.pid, .atom("sentinel"))
            #expect(try await process.next() == .atom("sentinel"))
            #expect(process.messageQueueLength == 0)
            #expect(process.links.isEmpty)
        }
    }

    /// A server whose start failed has given up its name by the time `start` throws.
    @Test(arguments: [Probe.Start.crash, .ignore])
    func failedStartFreesName(_ start: Probe.Start) async throws {
        try await withNode { node in
            for _ in 0..<100 {
                do {
                    try await node.start(Probe(start: start), options: SpawnOptions(name: "restartable"))
                    Issue.record("started")
                } catch is StartError {}
                #expect(node.whereis("restartable") == nil)
            }
            let server = try await node.start(Probe(), options: SpawnOptions(name: "restartable"))
            #expect(node.whereis("restartable") == server)
        }
    }

    @Test func killedDuringInitFailsStart() async throws {
        try await inProcess { process throws in
            let me = process.pid
            try process.spawn { starter in
                do {
                    try await starter.start(Probe(observer: me, start: .block))
                    starter.send(to: me, .atom("started"))
                } catch StartError.failed(let reason) {
                    starter.send(to: me, .tag("failed", reason.term))
                }
            }
            let child = try await process.expect("initializing") { message -> PID? in
                if case .pid(let pid)? = message.args("initializing", 1)?[0] { return pid } else { return nil }
            }
            try process.exit(child, reason: .kill)
            try await process.expect(.tag("failed", .atom(.killed)))
        }
    }

    /// A crash in handleCall: the caller's call fails, terminate runs,
    /// monitors fire with `{swift_error, ...}`.
    @Test func crashInHandleCall() async throws {
        try await inProcess { process throws in
            let server = try await process.start(Probe(observer: process.pid))
            let ref = process.monitor(server)
            var reason: ExitReason?
            do {
                _ = try await process.call(.pid(server), .atom("crash"))
            } catch CallError.exited(let dest, let r) {
                #expect(dest == .pid(server))
                reason = r
            }
            #expect(reason?.term.swiftError == "Boom: handleCall")
            #expect(try await process.terminateReason().swiftError == "Boom: handleCall")
            #expect(try await process.down(ref).reason.swiftError == "Boom: handleCall")
            #expect(!process.node.isAlive(server))
        }
    }

    @Test func crashInHandleCast() async throws {
        try await inProcess { process throws in
            let server = try await process.start(Probe(observer: process.pid))
            let ref = process.monitor(server)
            process.cast(.pid(server), .atom("crash"))
            #expect(try await process.terminateReason().swiftError == "Boom: handleCast")
            #expect(try await process.down(ref).reason.swiftError == "Boom: handleCast")
        }
    }

    /// A terminate that throws replaces the exit reason with its failure.
    @Test func crashInTerminate() async throws {
        try await inProcess { process throws in
            let server = try await process.start(Probe(observer: process.pid, terminateThrows: true))
            let ref = process.monitor(server)
            process.cast(.pid(server), .tag("stop", .atom(.normal)))
            #expect(try await process.terminateReason() == .atom(.normal))
            #expect(try await process.down(ref).reason.swiftError == "Boom: terminate")
        }
    }

    /// A trapping server started with startLink runs terminate when its
    /// parent sends it `shutdown`.
    @Test func terminateOnParentShutdownWhenTrapping() async throws {
        try await inProcess(options: SpawnOptions(trapExit: true)) { process throws in
            let server = try await process.startLink(Probe(observer: process.pid, trap: true))
            let ref = process.monitor(server)
            process.cast(.pid(server), .atom("inc"))
            try process.exit(server, reason: .shutdown)
            try await process.expect(.tag("terminate", .atom(.shutdown), .int(1)))
            #expect(try await process.down(ref).reason == .atom(.shutdown))
            #expect(try await process.exitMessage(from: server) == .atom(.shutdown))
        }
    }

    /// Not trapping, the same signal ends it at once: no terminate.
    @Test func noTerminateOnShutdownWhenNotTrapping() async throws {
        try await inProcess(options: SpawnOptions(trapExit: true)) { process throws in
            let server = try await process.startLink(Probe(observer: process.pid))
            let ref = process.monitor(server)
            try process.exit(server, reason: .shutdown)
            // terminate would have sent its message before these two.
            let first = try await process.next()
            let second = try await process.next()
            #expect(first.exit(from: server) == .atom(.shutdown))
            #expect(second.down(ref)?.reason == .atom(.shutdown))
            #expect(process.messageQueueLength == 0)
        }
    }

    /// A trapping server whose parent dies runs terminate with the parent's reason.
    @Test func terminateWhenParentDies() async throws {
        try await inProcess { process throws in
            let me = process.pid
            let parent = try process.spawn { parent in
                let server = try await parent.startLink(Probe(observer: me, trap: true))
                parent.send(to: me, .tag("server", .pid(server)))
                _ = try await parent.receive()
                throw ExitReason.shutdown(.atom("parent_done"))
            }
            let server = try await process.expect("server") { message -> PID? in
                if case .pid(let p)? = message.args("server", 1)?[0] { return p } else { return nil }
            }
            let ref = process.monitor(server)
            process.send(to: parent, .atom("go"))
            #expect(try await process.terminateReason() == .tag("shutdown", .atom("parent_done")))
            #expect(try await process.down(ref).reason == .tag("shutdown", .atom("parent_done")))
        }
    }

    /// An 'EXIT' from a process other than the parent goes to handleInfo.
    @Test func exitFromNonParentGoesToHandleInfo() async throws {
        try await inProcess { process throws in
            let server = try await process.start(Probe(observer: process.pid, trap: true))
            let other = try process.spawn(puppet(owner: process.pid))
            try await process.command(other, .tag("link", .pid(server)))
            process.send(to: other, .tag("exit_with", custom().term))
            try await process.expect(.tag("info", .tag("EXIT", .pid(other), custom().term)))
            #expect(try await process.call(.pid(server), .atom("ping")) == .atom("pong"))
            // Its parent is itself (started, not linked): an 'EXIT' from us is info too.
            try process.exit(server, reason: .shutdown)
            try await process.expect(.tag("info", .tag("EXIT", .pid(process.pid), .atom(.shutdown))))
            _ = try await process.call(.pid(server), .tag("stop", .atom(.normal)))
        }
    }

    /// A raw `{'$gen_call', {Self, Ref}, Req}` with a plain ref (before OTP 24)
    /// gets `{Ref, Reply}` back as an ordinary message.
    @Test func rawCallWithPlainRef() async throws {
        try await inProcess { process throws in
            let server = try await process.start(Probe())
            let ref = process.makeRef()
            process.send(to: server, .tuple([.atom("$gen_call"), .tuple([.pid(process.pid), .ref(ref)]), .atom("ping")]))
            #expect(try await process.next() == .tuple([.ref(ref), .atom("pong")]))
        }
    }

    /// With `[alias | Ref]` tags (OTP 24+) the reply goes to the alias.
    @Test func rawCallWithAliasTag() async throws {
        try await inProcess { process throws in
            let server = try await process.start(Probe())
            let alias = process.makeAlias()
            let from = From(pid: process.pid, tag: alias.ref)
            process.send(to: server, .tuple([.atom("$gen_call"), from.term, .tag("echo", .int(7))]))
            #expect(try await process.next() == .tuple([.improperList([.atom("alias")], tail: .ref(alias.ref)), .int(7)]))
            // Deactivated, the alias drops the reply.
            process.deactivate(alias)
            process.send(to: server, .tuple([.atom("$gen_call"), from.term, .atom("ping")]))
            #expect(try await process.call(.pid(server), .atom("count")) == .int(0))
            #expect(process.messageQueueLength == 0)
        }
    }

    @Test func rawCastReachesHandleCast() async throws {
        try await inProcess { process throws in
            let server = try await process.start(Probe())
            process.send(to: server, .tuple([.atom("$gen_cast"), .atom("inc")]))
            try process.send(to: .pid(server), .tuple([.atom("$gen_cast"), .atom("inc")]))
            process.node.cast(.pid(server), .atom("inc"))
            #expect(try await process.call(.pid(server), .atom("count")) == .int(3))
        }
    }

    /// A plain process sees a call as `{'$gen_call', {Pid, [alias | Ref]}, Req}`
    /// and can answer it through `From`.
    @Test func plainProcessAnswersCall() async throws {
        try await inProcess { process throws in
            let answerer = try process.spawn { answerer in
                let message = try await answerer.receive()
                guard let a = message.args("$gen_call", 2), let from = From(term: a[0]) else { throw Boom("not a call") }
                answerer.node.reply(to: from, .tag("answer", a[1]))
            }
            #expect(try await process.call(.pid(answerer), .atom("q")) == .tag("answer", .atom("q")))
        }
    }

    /// A handler can call another server.
    @Test func nestedCalls() async throws {
        try await inProcess { process throws in
            let inner = try await process.start(Probe())
            let outer = try await process.start(Probe())
            #expect(try await process.call(.pid(outer), .tag("call", .pid(inner), .tag("echo", .int(5)))) == .int(5))
        }
    }

    /// A trapping server started by the node runs terminate when the node
    /// stops: the node is its parent.
    @Test func nodeStopRunsTerminateOfTrappingServer() async throws {
        let node = makeTestNode()
        let record = Shared<[Term]>([])
        try await node.start(Probe(trap: true, record: record))
        let untrapped = Shared<[Term]>([])
        try await node.start(Probe(record: untrapped))
        #expect(await node.stop())
        #expect(record.value == [.atom(.shutdown)])
        #expect(untrapped.value == [])
        #expect(node.processCount == 0)
    }

    @Test func manySequentialCalls() async throws {
        try await inProcess { process throws in
            let server = try await process.start(Probe())
            for i in 0..<20_000 {
                let reply = try await process.call(.pid(server), .tag("echo", .int(i)))
                if reply != .int(i) { Issue.record("call \(i): \(reply)"); break }
            }
            #expect(process.messageQueueLength == 0)
            #expect(await process.node.processInfo(server)?.monitoredBy == [])
        }
    }

    /// Erlang code may answer a call by hand with `Pid ! {Tag, Reply}`,
    /// both with the alias tag and with a plain reference.
    @Test(arguments: [true, false])
    func replySentToThePidByHand(aliasShape: Bool) async throws {
        _ = try await inProcess { process throws in
            let answerer = try process.spawn { answerer in
                let message = try await answerer.receive()
                guard let a = message.args("$gen_call", 2), let from = From(term: a[0]) else { throw Boom("not a call") }
                let tag: Term = aliasShape ? .improperList([.atom("alias")], tail: .ref(from.tag)) : .ref(from.tag)
                answerer.send(to: from.pid, .tuple([tag, .tag("answer", a[1])]))
            }
            #expect(try await process.call(.pid(answerer), .atom("q"), timeout: patience) == .tag("answer", .atom("q")))
            #expect(process.messageQueueLength == 0)
        }
    }

    /// Calling yourself fails at once instead of waiting out the timeout.
    @Test func callingSelfFails() async throws {
        _ = try await inProcess { process throws in
            await #expect(throws: CallError.callingSelf(.pid(process.pid))) {
                _ = try await process.call(.pid(process.pid), .atom("q"), timeout: nil)
            }
        }
    }
}
