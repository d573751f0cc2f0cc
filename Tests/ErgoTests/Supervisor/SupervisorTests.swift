import Testing
@testable import Ergo

/// A supervised worker. It tells `observer` `{started, Id, Pid}` when it
/// starts and records its id in `record` when its `terminate` runs (it traps
/// exits, so a `shutdown` from the supervisor runs it).
/// Calls: `ping` → `pong`. Casts: `{exit, Reason}` stops it with Reason.
struct Member: GenServer {
    typealias State = Int

    var id: String
    var observer: PID
    var record: Shared<[String]>? = nil
    var trap = true
    var failStart = false

    func initialize(_ process: ProcessContext) async throws -> InitResult<Int> {
        process.trapExit = trap
        if failStart { return .stop(.other(.atom("no_way"))) }
        process.send(to: observer, .tag("started", .atom(Atom(id)), .pid(process.pid)))
        return .ok(0)
    }

    func handleCall(_ request: Term, from: From, state: Int, process: ProcessContext) async throws -> CallResult<Int> {
        .reply(.atom("pong"), state)
    }

    func handleCast(_ request: Term, state: Int, process: ProcessContext) async throws -> CastResult<Int> {
        if let a = request.args("exit", 1) { return .stop(ExitReason(a[0]), state) }
        return .noReply(state)
    }

    func handleInfo(_ message: Term, state: Int, process: ProcessContext) async throws -> CastResult<Int> {
        // The node's shutdown (not from the parent) still stops it.
        if let a = message.args("EXIT", 2) { return .stop(ExitReason(a[1]), state) }
        return .noReply(state)
    }

    func terminate(_ reason: ExitReason, state: Int, process: ProcessContext) async throws {
        record?.update { $0.append(id) }
    }
}

func member(_ id: String, _ observer: PID, record: Shared<[String]>? = nil,
            restart: ChildSpec.Restart = .permanent, shutdown: ChildSpec.Shutdown = .timeout(.seconds(5))) -> ChildSpec {
    .worker(id: Atom(id), Member(id: id, observer: observer, record: record), restart: restart, shutdown: shutdown)
}

extension ProcessContext {
    /// Waits for `{started, Id, Pid}`: the pid.
    nonisolated(nonsending) func started(_ id: String) async throws -> PID {
        try await expect("\(id) started") { message -> PID? in
            guard let a = message.args("started", 2), a[0] == .atom(Atom(id)), case .pid(let p) = a[1] else { return nil }
            return p
        }
    }

    /// The next `{started, Id, _}`: the id (to check restart order).
    nonisolated(nonsending) func nextStarted() async throws -> String {
        try await expect("a start") { message -> String? in
            guard let a = message.args("started", 2), case .atom(let id) = a[0] else { return nil }
            return id.name
        }
    }

    /// Nothing more started within a short while.
    nonisolated(nonsending) func noMoreStarts() async throws {
        let extra = try await receive(timeout: .milliseconds(100)) { $0.args("started", 2) }
        #expect(extra == nil, "unexpected start: \(String(describing: extra))")
    }

    /// Stops a supervisor as its parent does, and waits for its end.
    nonisolated(nonsending) func stopSupervisor(_ sup: PID) async throws -> Term {
        let ref = monitor(sup)
        try exit(sup, reason: .shutdown)
        return try await down(ref).reason
    }

    /// The pid of child `id` in which_children.
    nonisolated(nonsending) func childPID(_ sup: PID, _ id: String) async throws -> PID? {
        try await whichChildren(.pid(sup)).first { $0.id == Atom(id) }?.pid
    }

    /// Makes a child exit with `reason` and waits for its end.
    nonisolated(nonsending) func crash(_ pid: PID, _ reason: Term = .atom("crashed")) async throws {
        let ref = monitor(pid)
        cast(.pid(pid), .tag("exit", reason))
        _ = try await down(ref)
    }
}

let trapping = SpawnOptions(trapExit: true)

@Suite(.serialized) struct SupervisorTests {
    @Test func oneForOneRestartsOnlyTheCrashedChild() async throws {
        try await inProcess(options: trapping) { process throws in
            let me = process.pid
            let sup = try await process.startSupervisor(Supervisor(strategy: .oneForOne, children: [
                member("a", me), member("b", me), member("c", me),
            ]))
            let a = try await process.started("a"), b = try await process.started("b"), c = try await process.started("c")
            try await process.crash(b)
            let b2 = try await process.started("b")
            #expect(b2 != b)
            try await process.noMoreStarts()
            let rows = try await process.whichChildren(.pid(sup))
            #expect(rows.map(\.id) == ["a", "b", "c"])
            #expect(rows.map(\.pid) == [a, b2, c])
            #expect(try await process.stopSupervisor(sup) == .atom(.shutdown))
        }
    }

    @Test func oneForAllRestartsEveryone() async throws {
        try await inProcess(options: trapping) { process throws in
            let me = process.pid
            let record = Shared<[String]>([])
            let sup = try await process.startSupervisor(Supervisor(strategy: .oneForAll, children: [
                member("a", me, record: record), member("b", me, record: record), member("c", me, record: record),
            ]))
            let old = [try await process.started("a"), try await process.started("b"), try await process.started("c")]
            try await process.crash(old[1])
            var order: [String] = []
            for _ in 0..<3 { order.append(try await process.nextStarted()) }
            #expect(order == ["a", "b", "c"])
            // The others were stopped in reverse start order; b ran its own terminate when it crashed.
            #expect(record.value == ["b", "c", "a"])
            let rows = try await process.whichChildren(.pid(sup))
            #expect(rows.allSatisfy { $0.pid != nil && !old.contains($0.pid!) })
            try await process.noMoreStarts()
            _ = try await process.stopSupervisor(sup)
        }
    }

    @Test func restForOneRestartsTheLaterChildren() async throws {
        try await inProcess(options: trapping) { process throws in
            let me = process.pid
            let record = Shared<[String]>([])
            let sup = try await process.startSupervisor(Supervisor(strategy: .restForOne, children: [
                member("a", me, record: record), member("b", me, record: record),
                member("c", me, record: record), member("d", me, record: record),
            ]))
            let a = try await process.started("a"), b = try await process.started("b")
            _ = try await process.started("c"); _ = try await process.started("d")
            try await process.crash(b)
            var order: [String] = []
            for _ in 0..<3 { order.append(try await process.nextStarted()) }
            #expect(order == ["b", "c", "d"])
            #expect(record.value == ["b", "d", "c"])
            try await process.noMoreStarts()
            #expect(try await process.childPID(sup, "a") == a)
            _ = try await process.stopSupervisor(sup)
        }
    }

    @Test func restartTypes() async throws {
        try await inProcess(options: trapping) { process throws in
            let me = process.pid
            let sup = try await process.startSupervisor(Supervisor(strategy: .oneForOne, intensity: 10, children: [
                member("temp", me, restart: .temporary), member("trans", me, restart: .transient),
                member("perm", me),
            ]))
            let temp = try await process.started("temp"), trans = try await process.started("trans")
            let perm = try await process.started("perm")
            // Temporary: never restarted, and its spec is gone.
            try await process.crash(temp)
            // Transient: not restarted after a normal exit (nor {shutdown, _}), kept as undefined.
            try await process.crash(trans, .atom(.normal))
            // Permanent: restarted even after a normal exit.
            try await process.crash(perm, .atom(.normal))
            let perm2 = try await process.started("perm")
            #expect(perm2 != perm)
            try await process.noMoreStarts()
            var rows = try await process.whichChildren(.pid(sup))
            #expect(rows.map(\.id) == ["trans", "perm"])
            #expect(rows[0].status == .undefined)
            // Transient, restarted by hand, then crashing abnormally: restarted.
            let trans2 = try #require(try await process.restartChild(.pid(sup), id: "trans"))
            _ = try await process.started("trans")
            try await process.crash(trans2, .tag("shutdown", .atom("bye")))
            try await process.noMoreStarts()
            _ = try await process.restartChild(.pid(sup), id: "trans")
            let trans3 = try await process.started("trans")
            try await process.crash(trans3, .atom("bad"))
            let trans4 = try await process.started("trans")
            #expect(Set([trans, trans2, trans3, trans4]).count == 4)
            rows = try await process.whichChildren(.pid(sup))
            #expect(rows[0].pid == trans4)
            _ = try await process.stopSupervisor(sup)
        }
    }

    /// Two restarts within the period with intensity 1: the inner supervisor
    /// gives up with `shutdown`; the outer restarts it once, then gives up too.
    @Test func intensityEscalates() async throws {
        try await inProcess(options: trapping) { process throws in
            let me = process.pid
            let inner = Supervisor(strategy: .oneForOne, intensity: 1, period: .seconds(60), children: [member("w", me)])
            let outer = try await process.startSupervisor(Supervisor(strategy: .oneForOne, intensity: 1, period: .seconds(60),
                                                                     children: [.supervisor(id: "inner", inner)]))
            let outerRef = process.monitor(outer)
            let firstInner = try #require(try await process.childPID(outer, "inner"))
            let innerRef = process.monitor(firstInner)
            var w = try await process.started("w")
            try await process.crash(w)                 // restart 1 of the inner: fine
            w = try await process.started("w")
            try await process.crash(w)                 // restart 2: the inner gives up
            #expect(try await process.down(innerRef).reason == .atom(.shutdown))
            // The outer restarts the inner (its restart 1), which starts w again.
            w = try await process.started("w")
            let secondInner = try #require(try await process.childPID(outer, "inner"))
            #expect(secondInner != firstInner)
            #expect(process.node.isAlive(outer))
            try await process.crash(w)
            w = try await process.started("w")
            try await process.crash(w)                 // the inner gives up again; the outer's restart 2
            #expect(try await process.down(outerRef).reason == .atom(.shutdown))
            #expect(try await process.exitMessage(from: outer) == .atom(.shutdown))
            #expect(!process.node.isAlive(w) && !process.node.isAlive(secondInner))
        }
    }

    @Test func shutdownIsInReverseStartOrder() async throws {
        try await inProcess(options: trapping) { process throws in
            let me = process.pid
            let record = Shared<[String]>([])
            let sup = try await process.startSupervisor(Supervisor(children: [
                member("a", me, record: record), member("b", me, record: record), member("c", me, record: record),
            ]))
            _ = try await process.countChildren(.pid(sup))
            #expect(try await process.stopSupervisor(sup) == .atom(.shutdown))
            #expect(record.value == ["c", "b", "a"])
            #expect(process.others.isEmpty)
        }
    }

    /// A child that traps exits and never ends is killed after its timeout;
    /// a `brutalKill` child is killed at once (its terminate never runs).
    @Test func stubbornChildIsKilledAfterItsTimeout() async throws {
        try await inProcess(options: trapping) { process throws in
            let me = process.pid
            let record = Shared<[String]>([])
            let stubborn = ChildSpec(id: "stubborn", shutdown: .timeout(.milliseconds(200))) { sup in
                try sup.spawnLink(options: SpawnOptions(trapExit: true)) { child in
                    child.send(to: me, .tag("started", .atom("stubborn"), .pid(child.pid)))
                    while true { _ = try await child.receive() }
                }
            }
            let sup = try await process.startSupervisor(Supervisor(children: [
                stubborn, member("brutal", me, record: record, shutdown: .brutalKill),
            ]))
            let pid = try await process.started("stubborn")
            let brutal = try await process.started("brutal")
            let brutalRef = process.monitor(brutal)
            try await process.terminateChild(.pid(sup), id: "brutal")
            #expect(try await process.down(brutalRef).reason == .atom(.killed))
            #expect(record.value.isEmpty)

            let ref = process.monitor(pid)
            let clock = ContinuousClock()
            let began = clock.now
            try await process.terminateChild(.pid(sup), id: "stubborn")
            #expect(clock.now - began >= .milliseconds(200))
            #expect(try await process.down(ref).reason == .atom(.killed))
            let rows = try await process.whichChildren(.pid(sup))
            #expect(rows.map(\.status) == [.undefined, .undefined])
            _ = try await process.stopSupervisor(sup)
        }
    }

    @Test func introspectionReplies() async throws {
        try await inProcess(options: trapping) { process throws in
            let me = process.pid
            let inner = Supervisor(children: [])
            let sup = try await process.startSupervisor(Supervisor(children: [
                member("a", me), .supervisor(id: "s", inner), member("t", me, restart: .temporary, shutdown: .brutalKill),
            ]))
            let a = try await process.started("a")
            let t = try await process.started("t")
            let s = try #require(try await process.childPID(sup, "s"))
            // The wire shapes.
            let rows = try await process.call(.pid(sup), .atom("which_children"))
            #expect(rows == .list([
                .tuple([.atom("a"), .pid(a), .atom("worker"), .list([.atom("Member")])]),
                .tuple([.atom("s"), .pid(s), .atom("supervisor"), .list([.atom("SupervisorServer")])]),
                .tuple([.atom("t"), .pid(t), .atom("worker"), .list([.atom("Member")])]),
            ]))
            try await process.terminateChild(.pid(sup), id: "a")
            let counts = try await process.call(.pid(sup), .atom("count_children"))
            #expect(counts == .list([.tag("specs", 3), .tag("active", 2), .tag("supervisors", 1), .tag("workers", 2)]))
            #expect(try await process.countChildren(.pid(sup)) == ChildCounts(specs: 3, active: 2, supervisors: 1, workers: 2))
            #expect(try await process.whichChildren(.pid(sup)).first?.status == .undefined)

            let spec = try await process.call(.pid(sup), .tag("get_childspec", .atom("t")))
            guard let e = spec.tupleElements, e.count == 2, e[0] == .atom(.ok), case .map(let map) = e[1] else {
                Issue.record("get_childspec: \(spec)"); return
            }
            var fields: [Term: Term] = [:]
            for entry in map { fields[entry.key] = entry.value }
            #expect(fields[.atom("id")] == .atom("t"))
            #expect(fields[.atom("restart")] == .atom("temporary"))
            #expect(fields[.atom("shutdown")] == .atom("brutal_kill"))
            #expect(fields[.atom("type")] == .atom("worker"))
            #expect(fields[.atom("modules")] == .list([.atom("Member")]))
            #expect(fields[.atom("start")] != nil)
            let sSpec = try await process.childSpec(.pid(sup), id: "s")
            #expect(sSpec.description.contains("shutdown => infinity"))
            #expect(try await process.call(.pid(sup), .tag("get_childspec", .atom("nope"))) == .tag("error", .atom("not_found")))
            #expect(try await process.stopSupervisor(sup) == .atom(.shutdown))
        }
    }

    @Test func dynamicChildren() async throws {
        try await inProcess(options: trapping) { process throws in
            let me = process.pid
            let sup = try await process.startSupervisor(Supervisor(children: [member("a", me)]))
            _ = try await process.started("a")
            let b = try #require(try await process.startChild(.pid(sup), member("b", me)))
            #expect(try await process.started("b") == b)
            await #expect(throws: SupervisorError.alreadyStarted(b)) { try await process.startChild(.pid(sup), member("b", me)) }
            await #expect(throws: SupervisorError.running) { try await process.deleteChild(.pid(sup), id: "b") }
            await #expect(throws: SupervisorError.running) { try await process.restartChild(.pid(sup), id: "b") }
            await #expect(throws: SupervisorError.notFound) { try await process.terminateChild(.pid(sup), id: "zz") }

            let ref = process.monitor(b)
            try await process.terminateChild(.pid(sup), id: "b")
            #expect(try await process.down(ref).reason == .atom(.shutdown))
            await #expect(throws: SupervisorError.alreadyPresent) { try await process.startChild(.pid(sup), member("b", me)) }
            let b2 = try #require(try await process.restartChild(.pid(sup), id: "b"))
            #expect(try await process.started("b") == b2)
            #expect(b2 != b)
            #expect(try await process.whichChildren(.pid(sup)).map(\.id) == ["a", "b"])
            try await process.terminateChild(.pid(sup), id: "b")
            try await process.deleteChild(.pid(sup), id: "b")
            #expect(try await process.whichChildren(.pid(sup)).map(\.id) == ["a"])
            await #expect(throws: SupervisorError.notFound) { try await process.deleteChild(.pid(sup), id: "b") }

            // A child that fails to start: an error, and no spec is kept.
            let bad = ChildSpec.worker(id: "bad", Member(id: "bad", observer: me, failStart: true))
            await #expect(throws: SupervisorError.failed(.atom("no_way"))) { try await process.startChild(.pid(sup), bad) }
            #expect(try await process.countChildren(.pid(sup)).specs == 1)
            // From outside any process too.
            let c = try #require(try await process.node.startChild(.pid(sup), member("c", me)))
            #expect(try await process.started("c") == c)
            #expect(try await process.node.countChildren(.pid(sup)) == ChildCounts(specs: 2, active: 2, supervisors: 0, workers: 2))
            _ = try await process.stopSupervisor(sup)
        }
    }

    @Test func simpleOneForOne() async throws {
        try await inProcess(options: trapping) { process throws in
            let me = process.pid
            let record = Shared<[String]>([])
            let template = ChildSpec(id: "member", restart: .transient) { sup, arguments in
                let id = arguments.atomValue?.name ?? "?"
                return try await sup.startLink(Member(id: id, observer: me, record: record))
            }
            let sup = try await process.startSupervisor(Supervisor(strategy: .simpleOneForOne, intensity: 5,
                                                                   children: [template]))
            #expect(try await process.whichChildren(.pid(sup)).isEmpty)
            let x = try #require(try await process.startChild(.pid(sup), arguments: .atom("x")))
            #expect(try await process.started("x") == x)
            let y = try #require(try await process.startChild(.pid(sup), arguments: .atom("y")))
            #expect(try await process.started("y") == y)
            // Restarted with the same arguments.
            try await process.crash(x)
            let x2 = try await process.started("x")
            var rows = try await process.whichChildren(.pid(sup))
            #expect(Set(rows.compactMap(\.pid)) == [x2, y])
            #expect(rows.allSatisfy { $0.id == nil })
            #expect(try await process.countChildren(.pid(sup)) == ChildCounts(specs: 1, active: 2, supervisors: 0, workers: 2))
            // Transient: a normal exit removes it.
            try await process.crash(y, .atom(.normal))
            try await process.noMoreStarts()
            rows = try await process.whichChildren(.pid(sup))
            #expect(rows.compactMap(\.pid) == [x2])
            try await process.terminateChild(.pid(sup), pid: x2)
            #expect(try await process.whichChildren(.pid(sup)).isEmpty)
            await #expect(throws: SupervisorError.notFound) { try await process.terminateChild(.pid(sup), pid: x2) }
            await #expect(throws: SupervisorError.simpleOneForOne) { try await process.deleteChild(.pid(sup), id: "member") }
            // Children still running at shutdown are stopped.
            _ = try await process.startChild(.pid(sup), arguments: .atom("z"))
            _ = try await process.started("z")
            _ = try await process.stopSupervisor(sup)
            #expect(record.value == ["x", "y", "x", "z"])
        }
    }

    /// A child that fails to start fails the supervisor's start; the
    /// children started before it are stopped.
    @Test func failedChildFailsTheStart() async throws {
        try await inProcess(options: trapping) { process throws in
            let me = process.pid
            let record = Shared<[String]>([])
            let bad = ChildSpec.worker(id: "bad", Member(id: "bad", observer: me, failStart: true))
            do {
                _ = try await process.startSupervisor(Supervisor(children: [
                    member("a", me, record: record), member("b", me, record: record), bad, member("c", me),
                ]))
                Issue.record("the supervisor started")
            } catch StartError.failed(let reason) {
                #expect(reason == .shutdown(.tuple([.atom("failed_to_start_child"), .atom("bad"), .atom("no_way")])))
            }
            _ = try await process.started("a"); _ = try await process.started("b")
            #expect(record.value == ["b", "a"])
            try await process.noMoreStarts()
            #expect(process.others.isEmpty)
        }
    }

    /// A restart that fails is tried again (`try_again_restart`) and counts
    /// toward the intensity: with intensity 1 the supervisor gives up.
    @Test func failingRestartEscalates() async throws {
        try await inProcess(options: trapping) { process throws in
            let me = process.pid
            let starts = Shared(0)
            let flaky = ChildSpec(id: "flaky") { sup in
                let n = starts.update { n -> Int in n += 1; return n }
                return try await sup.startLink(Member(id: "flaky", observer: me, failStart: n > 1))
            }
            let sup = try await process.startSupervisor(Supervisor(intensity: 1, children: [flaky]))
            let ref = process.monitor(sup)
            let child = try await process.started("flaky")
            try await process.crash(child)
            #expect(try await process.down(ref).reason == .atom(.shutdown))
            // The first start and the failed restart; the try again is the second
            // restart within the period, so the supervisor gives up before it.
            #expect(starts.value == 2)

            // With room for it, the try again succeeds.
            let tries = Shared(0)
            let once = ChildSpec(id: "flaky") { sup in
                let n = tries.update { n -> Int in n += 1; return n }
                return try await sup.startLink(Member(id: "flaky", observer: me, failStart: n == 2))
            }
            let sup2 = try await process.startSupervisor(Supervisor(intensity: 3, children: [once]))
            try await process.crash(try await process.started("flaky"))
            let again = try await process.started("flaky")
            #expect(tries.value == 3)
            #expect(try await process.childPID(sup2, "flaky") == again)
            _ = try await process.stopSupervisor(sup2)
        }
    }

    /// `node.stop()` stops a supervision tree started from outside cleanly.
    @Test func nodeStopStopsTheTree() async throws {
        let record = Shared<[String]>([])
        try await withNode { node in
            try await node.withProcess { process throws in
                let me = process.pid
                let inner = Supervisor(children: [member("x", me, record: record)])
                try await node.startSupervisor(Supervisor(children: [
                    member("a", me, record: record), .supervisor(id: "inner", inner),
                ]), options: SpawnOptions(name: "top"))
                _ = try await process.started("a"); _ = try await process.started("x")
                #expect(try await process.countChildren("top") == ChildCounts(specs: 2, active: 2, supervisors: 1, workers: 1))
            }
        }
        #expect(Set(record.value) == ["a", "x"])
    }
}
