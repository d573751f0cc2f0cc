/// What `global_name_server` keeps: the partition it belongs to, one
/// connect session per node it is syncing with, the `global` locks set on
/// this node, and the global names.
///
/// The words follow OTP's `global.erl`: *known* nodes are the ones this
/// node is in sync with (its partition); a *session* is the lock–exchange–
/// resolve dialogue with a node that came up; *pending* marks a session
/// whose peer has sent its `init_connect`.
struct GlobalState {
    /// Synced nodes and the protocol version each speaks.
    var known: [Atom: Int] = [:]
    /// Nodes this node has completed a sync with (`global:sync/0`).
    var synced: Set<Atom> = []
    var sessions: [Atom: GlobalSession] = [:]
    /// `init_connect` messages that came before our own `nodeup`.
    var preConnect: [Atom: (vsn: Term, initMessage: Term)] = [:]
    var locks = GlobalLocks()
    var names = GlobalNames()
    /// Local `sync` callers waiting for nodes to be synced.
    var syncers: [GlobalSyncer] = []
    /// `lost_connection` reports seen, by (reporter, lost node).
    var lostConnections: [LostKey: (creation: Term, operation: Int)] = [:]
    var nextTag = 1
    var nextOperation = 1
    /// Tells this incarnation of the node apart in `lost_connection`.
    let creationExtension: Int

    struct LostKey: Hashable {
        let reporter: Atom
        let lost: Atom
    }

    init(creation: UInt32) {
        creationExtension = Int.random(in: 0..<(1 << 58)) &+ Int(creation)
    }

    mutating func makeTag() -> Int {
        defer { nextTag += 1 }
        return nextTag
    }

    /// Known nodes as the `resolved` and `new_nodes` messages carry them:
    /// `[{Node, Vsn}]` (protocol 7 and later).
    var knownList: Term {
        .list(known.sorted { $0.key < $1.key }.map { .tuple([.atom($0.key), .int($0.value)]) })
    }

    func isPotentiallyKnown(_ node: Atom) -> Bool {
        known[node] != nil || sessions[node]?.his != nil
    }

    func version(of node: Atom) -> Int {
        known[node] ?? sessions[node]?.his?.vsn ?? 0
    }
}

/// A connect session with one node (OTP keeps the same in the process
/// dictionary under `sync_tag_my`, `sync_tag_his`, `wait_lock`, `save_ops`).
struct GlobalSession {
    /// Our tag for this session; the peer echoes it.
    let myTag: Int
    /// From the peer's `init_connect`.
    var his: (tag: Term, vsn: Int, locker: PID)?
    /// The peer's locker has said `lock_set true` in the current attempt.
    var hisLockSet = false
    var lock: LockPhase = .idle
    /// Both partitions are locked: names have been sent.
    var lockIsSet = false
    /// The peer's names (from its `exchange`).
    var hisNames: Term?
    /// Our operations once we have resolved the peer's names.
    var ourOps: [Term]?
    /// The peer's `resolved`: its resolved operations, known nodes and external names.
    var hisResolved: (ops: [Term], known: [Term], namesExt: Term)?

    enum LockPhase: Equatable {
        case idle
        /// A lock holder is setting the lock on the partition.
        case locking(PID)
        /// The holder has the lock and waits to let go of it.
        case held(PID)

        var holder: PID? {
            switch self {
            case .idle: return nil
            case .locking(let pid), .held(let pid): return pid
            }
        }
    }
}

/// A `sync` call waiting for nodes.
struct GlobalSyncer {
    let reply: Reply
    var waiting: Set<Atom>

    /// Where a late reply goes: a `gen_server:call` or a `multi_call`
    /// (tagged `{Tag, Node}`).
    enum Reply {
        case from(From)
        case tagged(PID, Term)

        func send(_ value: Term, _ process: ProcessContext) {
            switch self {
            case .from(let from): process.reply(to: from, value)
            case .tagged(let pid, let tag): process.send(to: pid, .tuple([tag, value]))
            }
        }
    }
}

/// The `global` locks set on this node: OTP's `global_locks` table. A lock
/// is a resource id held by one requester id, for any number of processes
/// (each monitored: a holder that dies lets go).
struct GlobalLocks {
    struct Lock {
        var requester: Term
        var holders: [PID: Ref]
    }

    var byResource: [Term: Lock] = [:]

    /// Whether `global`'s own lock (`{global, _}`) is held by a requester other than `requester`.
    func isGlobalLockSet(except requester: Term? = nil) -> Bool {
        guard let lock = byResource[.atom(GlobalNameServer.globalResource)] else { return false }
        return lock.requester != requester
    }
}

/// The global names known here: OTP's `global_names` table.
struct GlobalNames {
    struct Entry {
        let pid: PID
        let method: Term
        let monitor: Ref
    }

    var byName: [Term: Entry] = [:]

    /// `[{Name, Pid, Method}]`, as the `exchange` message carries them.
    var list: Term {
        .list(byName.map { .tuple([$0.key, .pid($0.value.pid), $0.value.method]) })
    }
}
