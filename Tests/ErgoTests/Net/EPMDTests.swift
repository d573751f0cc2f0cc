import Testing
@testable import Ergo

private func uniqueName(_ prefix: String) -> String {
    "\(prefix)\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
}

/// Polls `check` until it holds or `timeout` passes (for states that no
/// event announces, such as another program's registry).
private func eventually(timeout: Duration = .seconds(10), _ check: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await check() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await check()
}

/// The EPMD client against a real `epmd -port N`.
@Suite(.serialized) struct EPMDClientTests {
    @Test func registerLookupNamesAndUnregisterOnClose() async throws {
        let epmd = try EPMDDaemon(port: try freePort())
        defer { epmd.stop() }
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let client = EPMDClient(loop: loop, port: epmd.port)
        let name = uniqueName("reg")
        let registration = try await client.register(name: name, port: 45123)
        #expect(registration.creation != 0)
        #expect(registration.isOpen)
        let found = try #require(try await client.lookup(name: name))
        #expect(found.name == name)
        #expect(found.port == 45123)
        #expect(!found.hidden)
        #expect(found.highestVersion == 6)
        #expect(try await client.names().contains(EPMDName(name: name, port: 45123)))
        // A second registration of the same name is refused.
        await #expect(throws: EPMDError.registrationRefused(name: name, result: 1)) {
            try await client.register(name: name, port: 45124)
        }
        registration.close()
        await registration.waitClosed()
        #expect(try await eventually { try await client.lookup(name: name) == nil })
        #expect(try await client.lookup(name: uniqueName("none")) == nil)
    }

    @Test func unreachableEPMDIsAnError() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let client = EPMDClient(loop: loop, port: try freePort())
        await #expect(throws: EPMDError.self) { try await client.names() }
        await #expect(throws: EPMDError.badName("")) { try await client.lookup(name: "") }
    }

    @Test func silentEPMDTimesOut() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        // Accepts and never answers.
        let (_, port) = try loop.listen(host: "127.0.0.1", port: 0) { _, _ in ConnectionHandler(onPacket: { _, _ in }) }
        var client = EPMDClient(loop: loop, port: port)
        client.answerTimeout = .milliseconds(200)
        await #expect(throws: EPMDError.timedOut) { try await client.lookup(name: "nobody") }
        await #expect(throws: EPMDError.timedOut) { try await client.register(name: "nobody", port: 1) }
    }

    @Test func portComesFromTheEnvironmentAsForErl() {
        // ERL_EPMD_PORT is not set by the test runner; the default is 4369
        // unless the environment says otherwise.
        let env = getenv("ERL_EPMD_PORT").map { String(cString: $0) }
        #expect(EPMDClient.defaultPort == (env.flatMap { Int($0) } ?? 4369))
    }
}

/// The embedded EPMD server, with real Erlang nodes as its clients.
@Suite(.serialized) struct EPMDServerTests {
    @Test func ourClientAgainstOurServer() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let server = try EPMDServer(loop: loop, port: 0)
        defer { server.stop() }
        let client = EPMDClient(loop: loop, port: server.port)
        let a = try await client.register(name: "alpha", port: 5001)
        let b = try await client.register(name: "beta", port: 5002, hidden: true)
        #expect(b.creation == a.creation &+ 1 || b.creation == 1)
        #expect(try await client.names() == [EPMDName(name: "alpha", port: 5001), EPMDName(name: "beta", port: 5002)])
        #expect(try await client.lookup(name: "beta")?.hidden == true)
        await #expect(throws: EPMDError.registrationRefused(name: "alpha", result: 1)) {
            try await client.register(name: "alpha", port: 5003)
        }
        a.close()
        await a.waitClosed()
        #expect(try await eventually { try await client.lookup(name: "alpha") == nil })
        #expect(server.registered.map(\.name) == ["beta"])
    }

    @Test func versionFiveClientsGetTheShortAnswer() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let server = try EPMDServer(loop: loop, port: 0)
        defer { server.stop() }
        // A pre-OTP-23 node: versions 5..5, answered with ALIVE2_RESP (121)
        // and a 16-bit creation in 1...3, as old epmd gave.
        let request = try EPMDWire.alive2Request(EPMDNodeInfo(name: "old", port: 5005, highestVersion: 5, lowestVersion: 5))
        let answer = Recorder<[UInt8]>([])
        let conn = try await loop.connect(host: "127.0.0.1", port: server.port, handler: ConnectionHandler(
            onPacket: { _, bytes in answer.update { $0.append(contentsOf: bytes) } }))
        try loop.send(conn, request)
        await answer.wait { $0.count >= 4 }
        #expect(answer.value.first == 121)
        let parsed = try #require(try EPMDWire.parseAlive2(answer.value))
        #expect(parsed.result == 0)
        #expect((1...3).contains(parsed.creation))
        #expect(server.registered.map(\.name) == ["old"])
        try loop.close(conn)
    }

    @Test func erlangNodesRegisterListAndPingThroughOurEPMD() async throws {
        _ = try erlangOrSkip()
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let server = try EPMDServer(loop: loop, port: try freePort())
        defer { server.stop() }
        let client = EPMDClient(loop: loop, port: server.port)
        let tag = uniqueName("")
        let a = try await ErlangPeer.start(name: "ea\(tag)@127.0.0.1", cookie: "embedded", epmdPort: server.port)
        defer { a.kill() }
        let b = try await ErlangPeer.start(name: "eb\(tag)@127.0.0.1", cookie: "embedded", epmdPort: server.port)
        defer { b.stop() }
        // net_adm:names() from erl lists both, in EPMD's NAMES format.
        let names = try await a.eval("{ok, Ns} = net_adm:names(), lists:sort([N || {N, _} <- Ns]).")
        #expect(names == .list([.charlist("ea\(tag)"), .charlist("eb\(tag)")]))
        // Our client finds them, at the port erl listens on.
        let info = try #require(try await client.lookup(name: "ea\(tag)"))
        let distPort = try await a.eval("{ok, Ns} = net_adm:names(), proplists:get_value(\"ea\(tag)\", Ns).")
        #expect(distPort == .int(info.port))
        #expect(info.highestVersion == 6)
        // And they find each other through it.
        #expect(try await a.eval("net_adm:ping('\(b.name)').") == .atom("pong"))
        // A node's registration ends with it.
        a.kill()
        #expect(try await eventually { try await client.lookup(name: "ea\(tag)") == nil })
    }

    @Test func nodeServesEPMDWhenNoneRunsAndTakesOverWhenEPMDDies() async throws {
        _ = try erlangOrSkip()
        let epmdPort = try freePort()
        let loop = try EventLoop()
        defer { loop.shutdown() }
        // A real epmd first: the node is just a client.
        let epmd = try EPMDDaemon(port: epmdPort)
        let name = uniqueName("take")
        let agent = try await EPMDAgent.start(loop: loop, name: name, nodePort: 47001, epmdPort: epmdPort)
        defer { agent.close() }
        #expect(!agent.isServing)
        #expect(agent.registrationCount == 1)
        // epmd dies: the node serves EPMD itself and registers again in it.
        epmd.stop()
        await agent.waitForRegistration(count: 2)
        #expect(agent.isServing)
        let client = EPMDClient(loop: loop, port: epmdPort)
        #expect(try await client.lookup(name: name)?.port == 47001)
        // A real erl node can use it.
        let erl = try await ErlangPeer.start(name: "\(name)e@127.0.0.1", cookie: "takeover", epmdPort: epmdPort)
        defer { erl.kill() }
        #expect(try await client.lookup(name: "\(name)e") != nil)
    }

    @Test func twoAgentsOneServes() async throws {
        let epmdPort = try freePort()
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let a = try await EPMDAgent.start(loop: loop, name: uniqueName("a"), nodePort: 1001, epmdPort: epmdPort)
        defer { a.close() }
        #expect(a.isServing)
        let b = try await EPMDAgent.start(loop: loop, name: uniqueName("b"), nodePort: 1002, epmdPort: epmdPort)
        #expect(!b.isServing)
        #expect(a.server?.registered.map(\.name).sorted() == [a.name, b.name].sorted())
        // The serving node stops: the other one takes over and re-registers.
        a.close()
        await b.waitForRegistration(count: 2)
        #expect(b.isServing)
        #expect(try await EPMDClient(loop: loop, port: epmdPort).names().map(\.name) == [b.name])
        b.close()
    }
}

#if canImport(Glibc)
import Glibc
#endif
