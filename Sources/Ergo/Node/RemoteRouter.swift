/// How the node core reaches other nodes: the network layer implements it
/// and attaches it once with `Node.attach(router:)`. A node without a router
/// is a node without networking: every other node is unreachable.
///
/// The contract, both ways:
/// - The node calls `send` on the sending process's thread, in that
///   process's program order; the router must keep the order of the messages
///   it is given for one destination node (so per-pair order holds), must not
///   block (queue and return), and must not call back into the node from
///   inside `send` while holding a lock the node could need (calling
///   `Node.deliver` for a local loopback is fine).
/// - The router dials on first use (a `send` or `connect` to a node it has
///   no connection to). When the connection is up it calls
///   `Node.nodeUp(_:)`; when it is lost, or cannot be made at all, it calls
///   `Node.nodeDown(_:reason:)`, before it sends anything on a new
///   connection to that node. Messages it could not deliver are dropped
///   silently: the node turns the loss into `noconnection` exits and
///   `'DOWN'`s for the links and monitors it knows of on that node.
/// - Control messages that arrive go to `Node.deliver(_:from:)`, in the
///   order they arrived on the connection.
public protocol RemoteRouter: AnyObject, Sendable {
    /// Queues `control` for `node`, dialling it if there is no connection.
    func send(_ control: DistControl, to node: Atom)
    /// As `send`, for a control message that need not leave at once (a
    /// `DEMONITOR_P`, or a `MONITOR_P` right before the message it guards):
    /// it keeps its place among the messages to `node`, but may wait a
    /// moment (about a millisecond at most) to leave with the next one.
    func sendLazily(_ control: DistControl, to node: Atom)
    /// Makes sure a connection to `node` exists or is being made (used by
    /// `monitorNode`); the outcome is reported with `nodeUp`/`nodeDown`.
    func connect(to node: Atom)
}

/// The node's side of distribution: the router, the connected nodes, and an
/// index of the links and monitors that cross to each node, so that losing a
/// connection touches only the processes concerned (as ERTS keeps them per
/// distribution entry).
///
/// The index is a hint kept beside the processes' own state: a process is
/// linked or monitoring only if its own tables say so. A lost connection
/// sends each process concerned a signal, and the process decides.
extension RemoteRouter {
    /// Routers that do not batch send at once.
    public func sendLazily(_ control: DistControl, to node: Atom) {
        send(control, to: node)
    }
}

final class RemoteTable: Sendable {
    let router = Locked<(any RemoteRouter)?>(nil)
    let index = Locked(RemoteIndex())
}

struct RemoteIndex {
    struct LinkPair: Hashable {
        let local: PID
        let remote: PID
    }

    struct OutgoingMonitor {
        let watcher: PID
        /// The `'DOWN'` message's object: `Pid` or `{Name, Node}`.
        let object: Term
    }

    var connected = Set<Atom>()
    /// The connected nodes that are hidden (either side is `-hidden`):
    /// `monitorNodes` subscribers hear nothing of them, as in OTP.
    var hidden = Set<Atom>()
    /// Local–remote link pairs, by remote node (active or being unlinked).
    var links: [Atom: Set<LinkPair>] = [:]
    /// Monitors local processes hold on processes of a node.
    var monitorsOut: [Atom: [Ref: OutgoingMonitor]] = [:]
    /// Monitors processes of a node hold on local processes: ref → target.
    var monitorsIn: [Atom: [Ref: PID]] = [:]
    /// `monitor_node(Node, true)` instances: node → watcher → count.
    var nodeMonitors: [Atom: [PID: Int]] = [:]
    /// `net_kernel:monitor_nodes(true)` subscribers.
    var nodeSubscribers = Set<PID>()
}
