import Testing
@testable import Ergo

@Suite(.serialized) struct RegistryTests {
    @Test func namesAreUnique() async throws {
        try await inProcess { process throws in
            try process.register("unique_name")
            #expect(process.whereis("unique_name") == process.pid)
            let me = process.pid
            let (_, ref) = try process.spawnMonitor { other in
                do {
                    try other.register("unique_name")
                    other.send(to: me, .atom("registered"))
                } catch let error as ProcessError {
                    other.send(to: me, .tag("refused", error == .alreadyRegistered("unique_name", me) ? .atom(.true) : .atom(.false)))
                }
            }
            try await process.expect(.tag("refused", .atom(.true)))
            _ = try await process.down(ref)
            #expect(throws: ProcessError.alreadyRegistered("unique_name", me)) {
                try process.node.register("unique_name", process.pid)
            }
            // One name per process.
            #expect(throws: ProcessError.alreadyNamed(me, "unique_name")) { try process.register("second_name") }
            #expect(process.node.registered.contains("unique_name"))
        }
    }

    @Test func whereisAndUnregister() async throws {
        try await inProcess { process throws in
            let other = try process.spawn(puppet(owner: process.pid))
            try process.node.register("other", other)
            #expect(process.whereis("other") == other)
            #expect(process.unregister("other"))
            #expect(process.whereis("other") == nil)
            #expect(!process.unregister("other"))
            #expect(!process.node.registered.contains("other"))
            // The process can take another name now.
            try process.node.register("other_again", other)
            #expect(process.whereis("other_again") == other)
            try await process.kill(other)
        }
    }

    @Test func sendToName() async throws {
        try await inProcess(options: SpawnOptions(name: "receiver")) { process throws in
            try process.send(to: .name("receiver"), .atom("one"))
            try process.node.send(to: .name("receiver"), .atom("two"))
            try process.send(to: .remoteName("receiver", node: "test@localhost"), .atom("three"))
            #expect(try await process.next() == .atom("one"))
            #expect(try await process.next() == .atom("two"))
            #expect(try await process.next() == .atom("three"))
        }
    }

    @Test func sendToUnregisteredNameThrows() async throws {
        try await inProcess { process throws in
            #expect(throws: ProcessError.noproc(.name("nobody"))) { try process.send(to: .name("nobody"), .atom("x")) }
            #expect(throws: ProcessError.noproc(.name("nobody"))) {
                try process.node.send(to: .name("nobody"), .atom("x"))
            }
        }
    }

    /// The name of a dead process is free once its 'DOWN' has arrived.
    @Test func nameFreedAfterDeath() async throws {
        try await inProcess { process throws in
            for round in 0..<50 {
                let old = try process.spawn(options: SpawnOptions(name: "phoenix"), puppet(owner: process.pid))
                #expect(process.whereis("phoenix") == old)
                let ref = process.monitor(old)
                if round % 2 == 0 {
                    try process.exit(old, reason: .kill)
                } else {
                    process.send(to: old, .tag("exit_with", .atom(.normal)))
                }
                _ = try await process.down(ref)
                #expect(process.whereis("phoenix") == nil)
                #expect(throws: ProcessError.noproc(.name("phoenix"))) { try process.send(to: .name("phoenix"), .atom("x")) }
            }
            let new = try process.spawn(options: SpawnOptions(name: "phoenix"), puppet(owner: process.pid))
            #expect(process.whereis("phoenix") == new)
            try await process.kill(new)
        }
    }

    @Test func registerDeadProcessFails() async throws {
        try await inProcess { process throws in
            let (dead, ref) = try process.spawnMonitor { _ in }
            _ = try await process.down(ref)
            #expect(throws: ProcessError.noproc(.pid(dead))) { try process.node.register("ghost", dead) }
            #expect(process.whereis("ghost") == nil)
        }
    }

    /// Spawning under a taken name fails and starts nothing.
    @Test func spawnWithTakenNameFails() async throws {
        try await inProcess(options: SpawnOptions(name: "taken")) { process throws in
            let before = process.node.processes
            #expect(throws: ProcessError.alreadyRegistered("taken", process.pid)) {
                try process.spawn(options: SpawnOptions(name: "taken")) { _ in }
            }
            #expect(process.node.processes == before)
            #expect(process.whereis("taken") == process.pid)
        }
    }
}
