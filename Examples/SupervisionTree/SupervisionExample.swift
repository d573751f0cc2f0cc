// A small supervision tree inside an application, a crash, and the restart.
//
//   swift run supervision-example
//
// The application `shop` starts its top supervisor `shop_sup` (one_for_one)
// with two workers: `inventory`, a GenServer that counts stock, and
// `orders`, which takes orders and asks the inventory. An order for an
// unknown item makes `inventory` crash; the supervisor restarts it with a
// new pid and the log says so, while `orders` runs on untouched.
import Ergo
import Logging

/// Stock per item. `{take, Item}` → `{ok, Left}`; an unknown item crashes it.
struct Inventory: GenServer {
    typealias State = [Atom: Int]

    func initialize(_ process: ProcessContext) async throws -> InitResult<State> {
        process.logger.info("inventory: stocked", metadata: ["items": "3"])
        return .ok(["apple": 3, "pear": 5, "plum": 1])
    }

    func handleCall(_ request: Term, from: From, state: State, process: ProcessContext) async throws -> CallResult<State> {
        guard case .tuple(let e) = request, e.count == 2, e[0] == .atom("take"), case .atom(let item) = e[1] else {
            return .reply(.atom("badarg"), state)
        }
        guard let left = state[item] else {
            // Let it crash: the supervisor brings a fresh inventory.
            throw UnknownItem(item: item)
        }
        var state = state
        state[item] = left - 1
        return .reply(.tuple([.atom("ok"), .int(left - 1)]), state)
    }
}

struct UnknownItem: Error, CustomStringConvertible {
    let item: Atom
    var description: String { "no such item: \(item)" }
}

/// Takes orders: `{order, Item}` → the inventory's answer, or
/// `{error, inventory_down}` when the call fails.
struct Orders: GenServer {
    typealias State = Int

    func initialize(_ process: ProcessContext) async throws -> InitResult<State> { .ok(0) }

    func handleCall(_ request: Term, from: From, state: State, process: ProcessContext) async throws -> CallResult<State> {
        guard case .tuple(let e) = request, e.count == 2, e[0] == .atom("order") else { return .reply(.atom("badarg"), state) }
        do {
            let answer = try await process.call(.name("inventory"), .tuple([.atom("take"), e[1]]), timeout: .seconds(5))
            return .reply(answer, state + 1)
        } catch {
            return .reply(.tuple([.atom("error"), .atom("inventory_down")]), state)
        }
    }
}

@main
enum SupervisionExample {
    static func main() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardOutput(label: label)
            handler.logLevel = .info
            return handler
        }

        let shop = Application(name: "shop", description: "a shop with a supervised inventory", version: "1.0.0",
                               supervisor: Supervisor(strategy: .oneForOne, intensity: 3, period: .seconds(5), children: [
                                   .worker(id: "inventory", Inventory(), options: SpawnOptions(name: "inventory")),
                                   .worker(id: "orders", Orders(), options: SpawnOptions(name: "orders")),
                               ]), options: SpawnOptions(name: "shop_sup"))

        let node = try await Node.start(name: "example@localhost", applications: [shop])
        print("\n== the tree")
        print(try await node.supervisionTree(.name("shop_sup")).render())
        let before = node.whereis("inventory")!

        print("\n== an order for an apple")
        print(try await node.call(.name("orders"), .tuple([.atom("order"), .atom("apple")])))

        print("\n== an order for a kiwi: the inventory crashes")
        print(try await node.call(.name("orders"), .tuple([.atom("order"), .atom("kiwi")])))

        // The supervisor has restarted it by the time it answers a call.
        let after = try await node.withProcess { process -> PID in
            _ = try await process.whichChildren(.name("shop_sup"))
            return process.node.whereis("inventory")!
        }
        print("\n== the tree after the restart: inventory was \(before), is \(after)")
        print(try await node.supervisionTree(.name("shop_sup")).render())

        print("\n== the restarted inventory has fresh stock")
        print(try await node.call(.name("orders"), .tuple([.atom("order"), .atom("apple")])))

        await node.stop()
    }
}
