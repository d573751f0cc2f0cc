import Logging
import Testing
@testable import Ergo

/// An application whose top supervisor (registered as `<name>_sup`, with
/// the given intensity) runs one worker `w`. Its start and stop callbacks
/// append `start:<name>` and `stop:<name>` to `record`.
func recordedApp(_ name: String, dependencies: [Atom] = [], record: Shared<[String]>, intensity: Int = 1,
                 environment: [Atom: Term] = [:], failStart: Bool = false) -> Application {
    Application(name: Atom(name), description: "test \(name)", version: "1.0", dependencies: dependencies,
                environment: environment, stop: { record.update { $0.append("stop:\(name)") } }) { process in
        if failStart { throw Boom("no start for \(name)") }
        record.update { $0.append("start:\(name)") }
        let supervisor = Supervisor(intensity: intensity, period: .seconds(60),
                                    children: [member("w", process.node.systemPID)])
        return try await process.startSupervisor(supervisor, options: SpawnOptions(name: Atom("\(name)_sup")))
    }
}

extension Node {
    /// Waits until application `name`'s master has ended (so the controller
    /// has seen the application end).
    func awaitEnd(ofApplication name: Atom, _ trigger: @escaping @Sendable () async throws -> Void) async throws {
        let master = try #require(applicationController.master(of: name))
        try await withProcess { process in
            let ref = process.monitor(master)
            try await trigger()
            _ = try await process.down(ref)
        }
    }

    /// Whether the node stops within `patience`; stops it if not.
    func stopsByItself() async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.waitUntilStopped(); return true }
            group.addTask { try? await Task.sleep(for: patience); return false }
            let first = await group.next()!
            if !first { await self.stop(timeout: .seconds(1)) }
            group.cancelAll()
            return first
        }
    }

    /// The pid of the worker `w` under application `name`'s top supervisor.
    func worker(of name: String) async throws -> PID {
        let rows = try await whichChildren(.name(Atom("\(name)_sup")))
        return try #require(rows.first?.pid)
    }
}

@Suite(.serialized) struct ApplicationTests {
    @Test func loadUnloadAndEnvironment() async throws {
        try await withNode { node in
            let record = Shared<[String]>([])
            try node.loadApplication(recordedApp("a", record: record, environment: ["port": .int(1)]))
            #expect(throws: ApplicationError.alreadyLoaded("a")) { try node.loadApplication(recordedApp("a", record: record)) }
            #expect(node.loadedApplications().map(\.name) == ["a"])
            #expect(node.applicationEnv("a", "port") == .int(1))
            try node.setApplicationEnv("a", "port", .int(2))
            try node.setApplicationEnv("a", "host", .atom("here"))
            #expect(node.applicationEnv("a", "port") == .int(2))
            #expect(node.applicationEnv("a") == ["port": .int(2), "host": .atom("here")])
            try node.setApplicationEnv("a", "port", nil)
            #expect(node.applicationEnv("a", "port") == nil)
            #expect(throws: ApplicationError.notLoaded("b")) { try node.setApplicationEnv("b", "port", .int(1)) }

            try await node.startApplication("a")
            #expect(throws: ApplicationError.running("a")) { try node.unloadApplication("a") }
            await #expect(throws: ApplicationError.alreadyStarted("a")) { try await node.startApplication("a") }
            try await node.stopApplication("a")
            await #expect(throws: ApplicationError.notStarted("a")) { try await node.stopApplication("a") }
            try node.unloadApplication("a")
            #expect(node.loadedApplications().isEmpty)
            await #expect(throws: ApplicationError.notLoaded("a")) { try await node.startApplication("a") }
            #expect(record.value == ["start:a", "stop:a"])
        }
    }

    @Test func dependenciesStartFirstAndStopLast() async throws {
        let record = Shared<[String]>([])
        try await withNode { node in
            try node.loadApplication(recordedApp("c", record: record))
            try node.loadApplication(recordedApp("b", dependencies: ["c"], record: record))
            try node.loadApplication(recordedApp("a", dependencies: ["b", "c"], record: record))
            try await node.startApplication("a")
            #expect(record.value == ["start:c", "start:b", "start:a"])
            #expect(node.whichApplications().map(\.name) == ["a", "b", "c"])
            #expect(node.whichApplications().first == RunningApplication(name: "a", description: "test a",
                                                                          version: "1.0", type: .temporary))
        }
        // The node stopped them, the last started first.
        #expect(record.value.suffix(3) == ["stop:a", "stop:b", "stop:c"])
    }

    @Test func missingOrCircularDependenciesAreErrors() async throws {
        try await withNode { node in
            let record = Shared<[String]>([])
            try node.loadApplication(recordedApp("b", dependencies: ["gone"], record: record))
            try node.loadApplication(recordedApp("a", dependencies: ["b"], record: record))
            await #expect(throws: ApplicationError.missingDependency(application: "b", dependency: "gone")) {
                try await node.startApplication("a")
            }
            try node.loadApplication(recordedApp("x", dependencies: ["y"], record: record))
            try node.loadApplication(recordedApp("y", dependencies: ["x"], record: record))
            await #expect(throws: ApplicationError.circularDependency(["x", "y", "x"])) {
                try await node.startApplication("x")
            }
            #expect(record.value.isEmpty)
            #expect(node.whichApplications().isEmpty)
        }
    }

    @Test func aFailingStartIsAnError() async throws {
        try await withNode { node in
            let record = Shared<[String]>([])
            try node.loadApplication(recordedApp("ok", record: record))
            try node.loadApplication(recordedApp("bad", dependencies: ["ok"], record: record, failStart: true))
            await #expect {
                try await node.startApplication("bad")
            } throws: { error in
                guard case ApplicationError.startFailed("bad", let reason) = error else { return false }
                return reason.term.swiftError == "Boom: no start for bad"
            }
            // The dependency stays up, as with ensure_all_started.
            #expect(node.whichApplications().map(\.name) == ["ok"])
            #expect(!node.applicationController.isNodeStopping)
        }
    }

    @Test func aTemporaryApplicationEndingLeavesTheNode() async throws {
        try await withNode { node in
            let record = Shared<[String]>([])
            try await node.startApplication(recordedApp("t", record: record, intensity: 0), type: .temporary)
            let w = try await node.worker(of: "t")
            // Intensity 0: the first crash makes the supervisor give up with `shutdown`.
            try await node.awaitEnd(ofApplication: "t") { node.exit(w, reason: .other(.atom("boom"))) }
            #expect(record.value == ["start:t", "stop:t"])
            #expect(node.whichApplications().isEmpty)
            #expect(!node.applicationController.isNodeStopping)
            try await node.startApplication("t", type: .temporary)  // and it can start again
        }
    }

    @Test func aTransientApplicationEndingNormallyLeavesTheNode() async throws {
        try await withNode { node in
            let record = Shared<[String]>([])
            try await node.startApplication(recordedApp("n", record: record), type: .transient)
            let top = try #require(node.whereis("n_sup"))
            try await node.awaitEnd(ofApplication: "n") { node.exit(top, reason: .normal) }
            #expect(node.whichApplications().isEmpty)
            #expect(!node.applicationController.isNodeStopping)
        }
    }

    @Test func aTransientApplicationFailingStopsTheNode() async throws {
        let record = Shared<[String]>([])
        let node = makeTestNode()
        try await node.startApplication(recordedApp("other", record: record), type: .temporary)
        try await node.startApplication(recordedApp("tr", record: record, intensity: 0), type: .transient)
        let w = try await node.worker(of: "tr")
        node.exit(w, reason: .other(.atom("boom")))  // climbs: the worker, then its supervisor (`shutdown`)
        #expect(await node.stopsByItself())
        #expect(record.value == ["start:other", "start:tr", "stop:tr", "stop:other"])
        #expect(node.processCount == 0)
    }

    @Test func aPermanentApplicationEndingStopsTheNode() async throws {
        let record = Shared<[String]>([])
        let node = makeTestNode()
        try await node.startApplication(recordedApp("base", record: record), type: .temporary)
        try await node.startApplication(recordedApp("p", dependencies: ["base"], record: record), type: .permanent)
        // Even `normal` ends a permanent application's node.
        node.exit(try #require(node.whereis("p_sup")), reason: .normal)
        #expect(await node.stopsByItself())
        #expect(record.value == ["start:base", "start:p", "stop:p", "stop:base"])
    }

    @Test func stoppingAPermanentApplicationLeavesTheNode() async throws {
        try await withNode { node in
            let record = Shared<[String]>([])
            try await node.startApplication(recordedApp("p", record: record), type: .permanent)
            let sup = try #require(node.whereis("p_sup"))
            try await node.stopApplication("p")
            #expect(!node.isAlive(sup))
            #expect(record.value == ["start:p", "stop:p"])
            #expect(!node.applicationController.isNodeStopping)
            #expect(node.whichApplications().isEmpty)
        }
    }

    @Test func aNodeStartsWithItsApplications() async throws {
        var logger = Logger(label: "ergo-test")
        logger.logLevel = .critical
        let record = Shared<[String]>([])
        let node = try await Node.start(name: "apps@localhost", schedulers: 2, logger: logger, applications: [
            recordedApp("x", dependencies: ["y"], record: record), recordedApp("y", record: record),
        ])
        #expect(node.whichApplications().map(\.name) == ["x", "y"])
        #expect(node.whichApplications().allSatisfy { $0.type == .permanent })
        #expect(await node.stop())
        #expect(record.value == ["start:y", "start:x", "stop:x", "stop:y"])

        await #expect(throws: ApplicationError.self) {
            _ = try await Node.start(name: "apps2@localhost", schedulers: 2, logger: logger, applications: [
                recordedApp("z", record: record, failStart: true),
            ])
        }
    }
}
