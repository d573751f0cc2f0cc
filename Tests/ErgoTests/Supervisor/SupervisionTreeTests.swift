import Testing
@testable import Ergo

@Suite(.serialized) struct SupervisionTreeTests {
    /// Two levels of supervisors under a root: the walk finds every child
    /// with its id, pid and type, in start order.
    @Test func theTreeIsListedFromTheRoot() async throws {
        try await inProcess(options: trapping) { process throws in
            let me = process.pid
            let leaf = Supervisor(children: [member("x", me)])
            let middle = Supervisor(children: [member("m", me), .supervisor(id: "leaf", leaf)])
            let root = try await process.startSupervisor(Supervisor(children: [
                member("a", me), .supervisor(id: "middle", middle),
            ]))
            let a = try await process.started("a"), m = try await process.started("m"), x = try await process.started("x")
            let tree = try await process.supervisionTree(.pid(root))
            #expect(tree.pid == root)
            #expect(tree.children.map { $0.info?.id } == ["a", "middle"])
            let middleTree = tree.children[1]
            #expect(middleTree.info?.type == .supervisor)
            #expect(middleTree.children.map { $0.info?.id } == ["m", "leaf"])
            #expect(middleTree.children[1].children.map(\.pid) == [x])
            let workers = [a, m, x]
            #expect(tree.pids.filter { workers.contains($0) } == workers)
            #expect(tree.pids.count == 6)  // root, a, middle, m, leaf, x
            #expect(tree.render().contains("    leaf "))
            _ = try await process.stopSupervisor(root)
        }
    }

    /// A child whose factory ignores (OTP's `ignore`) is kept as a spec
    /// with no pid: listed as `undefined`, not restarted, restartable by hand.
    @Test func anIgnoringChildIsKeptWithoutAPid() async throws {
        try await inProcess(options: trapping) { process throws in
            let me = process.pid
            let ignoreOnce = Shared(true)
            let lazy = ChildSpec(id: "lazy") { process in
                if ignoreOnce.update({ first in defer { first = false }; return first }) { throw StartError.ignored }
                return try await process.startLink(Member(id: "lazy", observer: me))
            }
            let sup = try await process.startSupervisor(Supervisor(children: [member("a", me), lazy, member("b", me)]))
            _ = try await process.started("a")
            _ = try await process.started("b")
            let rows = try await process.whichChildren(.pid(sup))
            #expect(rows.map(\.id) == ["a", "lazy", "b"])
            #expect(rows[1].status == .undefined)
            #expect(try await process.countChildren(.pid(sup)) == ChildCounts(specs: 3, active: 2, supervisors: 0, workers: 3))
            let restarted = try #require(try await process.restartChild(.pid(sup), id: "lazy"))
            #expect(try await process.started("lazy") == restarted)
            _ = try await process.stopSupervisor(sup)
        }
    }
}
