import Testing
@testable import Ergo

struct Echo: GenServer {
    typealias State = Int
    func initialize(_ process: ProcessContext) async throws -> InitResult<Int> { .ok(0) }
    func handleCall(_ request: Term, from: From, state: Int, process: ProcessContext) async throws -> CallResult<Int> {
        .reply(request, state + 1)
    }
}

@Suite struct ProcessSmokeTests {
    @Test func callAndStop() async throws {
        let node = Node(name: "smoke@localhost", schedulers: 2)
        let pid = try await node.start(Echo(), options: SpawnOptions(name: "echo"))
        let reply = try await node.call(.name("echo"), .atom("ping"))
        #expect(reply == .atom("ping"))
        let n = 20000
        let t0 = ContinuousClock.now
        let count = try await node.withProcess { process -> Int in
            for _ in 0..<n { _ = try await process.call(.pid(pid), .atom("ping")) }
            return n
        }
        let dt = ContinuousClock.now - t0
        print("calls/s", Double(count) / (Double(dt.components.attoseconds) / 1e18 + Double(dt.components.seconds)))
        #expect(await node.stop())
        #expect(node.processCount == 0)
    }
}
