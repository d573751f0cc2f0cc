import CoreMetrics
import Synchronization

/// The node's counters, reported through swift-metrics (labels below, each
/// with the dimension `node`). Messages are counted per mailbox drain, not
/// per message, to keep the hot path free of shared writes.
final class NodeMetrics: Sendable {
    private let alive: Meter
    private let spawned: Counter
    private let exited: Counter
    private let crashes: Counter
    private let messages: Counter
    private let node: String
    let aliveCount = Atomic<Int>(0)

    init(node: String) {
        let dims = [("node", node)]
        self.node = node
        alive = Meter(label: "ergo_processes_alive", dimensions: dims)
        spawned = Counter(label: "ergo_processes_spawned_total", dimensions: dims)
        exited = Counter(label: "ergo_processes_exited_total", dimensions: dims)
        crashes = Counter(label: "ergo_process_crashes_total", dimensions: dims)
        messages = Counter(label: "ergo_messages_delivered_total", dimensions: dims)
    }

    func processStarted() {
        alive.set(aliveCount.add(1, ordering: .relaxed).newValue)
        spawned.increment()
    }

    func processExited(crashed: Bool) {
        alive.set(aliveCount.subtract(1, ordering: .relaxed).newValue)
        exited.increment()
        if crashed { crashes.increment() }
    }

    func delivered(_ count: Int) { messages.increment(by: count) }

    func mailboxOverflow(kind: String) {
        Counter(label: "ergo_mailbox_overflow_total", dimensions: [("node", node), ("message_type", kind)]).increment()
    }
}
