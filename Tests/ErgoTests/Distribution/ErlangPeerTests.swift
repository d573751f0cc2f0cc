import Testing
@testable import Ergo

/// The interop harness itself: two real Erlang nodes on a private EPMD
/// find each other, and terms cross the harness intact.
@Suite(.serialized) struct ErlangPeerTests {
    @Test func twoErlangNodesPingThroughAPrivateEPMD() async throws {
        let epmd = try EPMDDaemon(port: try freePort())
        defer { epmd.stop() }
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let a = try await ErlangPeer.start(name: "a\(tag)@127.0.0.1", cookie: "harness", epmdPort: epmd.port)
        defer { a.kill() }
        let b = try await ErlangPeer.start(name: "b\(tag)@127.0.0.1", cookie: "harness", epmdPort: epmd.port)
        defer { b.stop() }
        #expect(try await a.eval("net_adm:ping('\(b.name)').") == .atom("pong"))
        #expect(try await b.eval("lists:sort(nodes()).") == .list([.atom(Atom(a.name))]))
        // Bindings in, pids out; the evaluator's mailbox persists between requests.
        let pid = try await a.eval("self().")
        guard case .pid(let p) = pid else { Issue.record("not a pid: \(pid)"); return }
        #expect(p.node == Atom(a.name))
        try await b.eval("P ! {hello, node()}, ok.", ["P": pid])
        #expect(try await a.eval("receive M -> M after 5000 -> timeout end.")
                == .tuple([.atom("hello"), .atom(Atom(b.name))]))
        await #expect(throws: ErlangPeer.Failed.self) { try await a.eval("1 = 2.") }
    }
}
