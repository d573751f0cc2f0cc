import Testing
@testable import Ergo

/// The pure parts of `global_name_server`: lock order, term order of the
/// lockers' pids (the lock id both sides must compute alike), name exchange.
struct GlobalStateTests {
    @Test func theBossIsLockedFirstThenExtraThenTheRest() {
        let order = GlobalLockHolder.lockOrder(me: "b@h", known: ["a@h", "d@h", "c@h"], extra: ["b@h", "x@h"])
        #expect(order == ["d@h", "b@h", "x@h", "a@h", "c@h"])
        #expect(GlobalLockHolder.lockOrder(me: "z@h", known: [], extra: ["z@h"]) == ["z@h"])
    }

    /// What OTP 25's lists:sort/1 answered for the same pids (number first,
    /// then the node name): [a@h.1, aa@h.1, b@h.1] after c@h.0.
    @Test func pidsSortAsErlangSortsThem() {
        let pids = [PID(node: "b@h", id: 1), PID(node: "c@h", id: 0), PID(node: "aa@h", id: 1), PID(node: "a@h", id: 1)]
        #expect(pids.sorted(by: GlobalState.erlangOrder).map(\.node) == ["c@h", "a@h", "aa@h", "b@h"])
        let far = PID(node: "zzz@h", id: 0), near = PID(node: "a@h", id: 1000)
        #expect(GlobalState.erlangOrder(far, near))
    }

    @Test func exchangeInsertsNewNamesAndLeavesClashesToTheSmallerNode() {
        var state = GlobalState(creation: 1)
        let mine = PID(node: "m@h", id: 5), theirs = PID(node: "p@h", id: 7)
        state.names.byName[.atom("shared")] = .init(pid: mine, method: .atom("m"), monitor: Ref(node: "m@h", ids: [1, 0, 0]))
        let list = Term.list([
            .tuple([.atom("new"), .pid(theirs), .atom("m")]),
            .tuple([.atom("shared"), .pid(theirs), .atom("m")]),
        ])
        let asLarger = state.exchangeNames(list, with: "a@h", me: "m@h") { _ in }
        #expect(asLarger.ops == [.tuple([.atom("insert"), .tuple([.atom("new"), .pid(theirs), .atom("m")])])])
        var logged: [String] = []
        let asSmaller = state.exchangeNames(list, with: "z@h", me: "m@h") { logged.append($0) }
        #expect(asSmaller.ops.count == 2)
        #expect(logged.count == 1)
        #expect(asSmaller.resolved.isEmpty)
    }

    @Test func knownNodesReadInBothShapes() {
        #expect(GlobalState.nodeAndVersion(.atom("a@h"))! == ("a@h", 0))
        #expect(GlobalState.nodeAndVersion(.tuple([.atom("a@h"), .int(8)]))! == ("a@h", 8))
        #expect(GlobalState.nodeAndVersion(.int(3)) == nil)
    }
}
