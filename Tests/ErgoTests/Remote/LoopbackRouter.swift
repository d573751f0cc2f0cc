#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging
import Synchronization
import Testing
@testable import Ergo

/// An in-memory network between `Node`s of one test process. Each node gets
/// a `LoopbackRouter`; a control message goes from the sender's thread
/// straight into the receiving node (so per-pair order holds), after a round
/// trip through the real ETF encoder and decoder: control tuple and payload
/// become bytes and are read back, so the wire shapes are exercised.
///
/// A connection comes up on first use (both nodes hear `nodeUp`); `cut`
/// takes it down (both hear `nodeDown`) and keeps the pair from reconnecting
/// until `heal`. A node not on the network cannot be reached.
final class Loopback: Sendable {
    struct Pair: Hashable {
        let a: Atom, b: Atom
        init(_ x: Atom, _ y: Atom) { (a, b) = x.description < y.description ? (x, y) : (y, x) }
    }

    private struct State {
        var nodes: [Atom: Node] = [:]
        var up = Set<Pair>()
        var blocked = Set<Pair>()
    }

    private let state = Locked(State())
    /// Whether exits travel in the `PAYLOAD_` forms (DFLAG_EXIT_PAYLOAD).
    let exitPayload: Bool
    /// Control messages that did not come back equal from the codec.
    let mismatches = Atomic<Int>(0)
    /// Control messages carried.
    let carried = Atomic<Int>(0)

    init(exitPayload: Bool = true) { self.exitPayload = exitPayload }

    func add(_ node: Node) {
        state.withLock { $0.nodes[node.name] = node }
        node.attach(router: LoopbackRouter(local: node.name, network: self))
    }

    /// Forgets the nodes (they hold their routers, which hold the network).
    func clear() { state.withLock { $0 = State() } }

    /// Takes the connection down and keeps it down until `heal`.
    func cut(_ x: Node, _ y: Node) {
        let wasUp = state.withLock { state -> Bool in
            state.blocked.insert(Pair(x.name, y.name))
            return state.up.remove(Pair(x.name, y.name)) != nil
        }
        if wasUp {
            x.nodeDown(y.name, reason: .atom("cut"))
            y.nodeDown(x.name, reason: .atom("cut"))
        }
    }

    func heal(_ x: Node, _ y: Node) {
        _ = state.withLock { $0.blocked.remove(Pair(x.name, y.name)) }
    }

    /// The peer node, connecting first if needed; nil if it cannot be reached.
    fileprivate func connect(_ from: Atom, _ to: Atom) -> Node? {
        let pair = Pair(from, to)
        let (target, source, fresh) = state.withLock { state -> (Node?, Node?, Bool) in
            guard from != to, let target = state.nodes[to], !state.blocked.contains(pair) else { return (nil, nil, false) }
            return (target, state.nodes[from], state.up.insert(pair).inserted)
        }
        guard let target else { return nil }
        if fresh {
            source?.nodeUp(to)
            target.nodeUp(from)
        }
        return target
    }

    fileprivate func unreachable(_ from: Atom, _ to: Atom) {
        let source = state.withLock { $0.nodes[from] }
        source?.nodeDown(to, reason: .atom("unreachable"))
    }

    /// The control message as the peer reads it off the wire.
    fileprivate func wire(_ control: DistControl) -> DistControl? {
        carried.add(1, ordering: .relaxed)
        do {
            let (tuple, payload) = control.toTerm(exitPayload: exitPayload)
            let tupleBytes = try ETF.encode(tuple)
            let payloadBytes = try payload.map { term throws(TermError) in try ETF.encode(term) }
            let decoded = try DistControl(controlTuple: try ETF.decode(tupleBytes),
                                          payload: try payloadBytes.map { bytes throws(TermError) in try ETF.decode(bytes) })
            if decoded != control { mismatches.add(1, ordering: .relaxed) }
            return decoded
        } catch {
            mismatches.add(1, ordering: .relaxed)
            return nil
        }
    }
}

final class LoopbackRouter: RemoteRouter {
    let local: Atom
    let network: Loopback

    init(local: Atom, network: Loopback) {
        self.local = local
        self.network = network
    }

    func send(_ control: DistControl, to node: Atom) {
        guard let peer = network.connect(local, node) else {
            network.unreachable(local, node)
            return
        }
        if let decoded = network.wire(control) { peer.deliver(decoded, from: local) }
    }

    func connect(to node: Atom) {
        if network.connect(local, node) == nil { network.unreachable(local, node) }
    }
}

/// A router that only records what the node sends (for protocol tests that
/// play the peer by hand with `Node.deliver`).
final class RecordingRouter: RemoteRouter {
    private let sent = Locked<[(DistControl, Atom)]>([])
    var controls: [DistControl] { sent.withLock { $0.map(\.0) } }
    func send(_ control: DistControl, to node: Atom) { sent.withLock { $0.append((control, node)) } }
    func connect(to node: Atom) {}
}

/// A node named `name` for one test (logging as `makeTestNode`).
func makeTestNode(named name: String) -> Node {
    var logger = Logger(label: "ergo-test")
    logger.logLevel = getenv("ERGO_TEST_LOG").flatMap { Logger.Level(rawValue: String(cString: $0)) } ?? .critical
    return Node(name: name, schedulers: 2, logger: logger)
}

/// Runs `body` with `count` nodes (`n1@localhost`, `n2@localhost`, …) on a
/// loopback network, then stops them and expects no process left and every
/// control message unchanged by the codec.
func withNodes(_ count: Int = 2, exitPayload: Bool = true,
               _ body: (Loopback, [Node]) async throws -> Void) async throws {
    let network = Loopback(exitPayload: exitPayload)
    let nodes = (1...count).map { makeTestNode(named: "n\($0)@localhost") }
    for node in nodes { network.add(node) }
    defer { network.clear() }
    do {
        try await body(network, nodes)
    } catch {
        for node in nodes { _ = await node.stop(timeout: .seconds(1)) }
        throw error
    }
    for node in nodes {
        _ = await node.stop(timeout: patience)
        #expect(node.processCount == 0)
    }
    #expect(network.mismatches.load(ordering: .relaxed) == 0)
}

extension ProcessContext {
    /// Waits until a message makes a round trip to `pid` through `puppet`'s
    /// ping (and so everything sent to it before has been handled).
    nonisolated(nonsending) func sync(_ pid: PID) async throws { try await ping(pid) }
}
