import Testing
@testable import Ergo

/// The `'EXIT'` and `'DOWN'` message shapes, written out by hand here so the
/// parsers are checked against Erlang's tuples, not against themselves.
struct SystemMessagesTests {
    let pid = PID(node: "a@host", id: 42, serial: 1)
    let ref = Ref(node: "a@host", ids: [1, 2, 3])

    @Test func exitMessageParsesAndBuildsErlangsTuple() {
        let term = Term.tuple([.atom("EXIT"), .pid(pid), .tuple([.atom("shutdown"), .atom("x")])])
        let exit = ExitMessage(term: term)
        #expect(exit == ExitMessage(from: pid, reason: .shutdown(.atom("x"))))
        #expect(exit?.term == term)
    }

    @Test func downMessageParsesAndBuildsErlangsTuple() {
        let term = Term.tuple([.atom("DOWN"), .ref(ref), .atom("process"), .pid(pid), .atom("noproc")])
        let down = DownMessage(term: term)
        #expect(down == DownMessage(ref: ref, object: .pid(pid), reason: .noproc))
        #expect(down?.term == term)
    }

    @Test func otherShapesAreNotSystemMessages() {
        #expect(ExitMessage(term: .tuple([.atom("EXIT"), .pid(pid)])) == nil)
        #expect(ExitMessage(term: .tuple([.atom("EXIT"), .ref(ref), .atom("normal")])) == nil)
        #expect(ExitMessage(term: .tuple([.atom("DOWN"), .pid(pid), .atom("normal")])) == nil)
        #expect(DownMessage(term: .tuple([.atom("DOWN"), .pid(pid), .atom("process"), .pid(pid), .atom("normal")])) == nil)
        #expect(DownMessage(term: .tuple([.atom("DOWN"), .ref(ref), .atom("process"), .pid(pid)])) == nil)
        #expect(DownMessage(term: .atom("DOWN")) == nil)
    }
}
