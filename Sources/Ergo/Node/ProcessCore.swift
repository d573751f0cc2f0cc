import DequeModule
import Synchronization

/// A process: its mailbox, and the state only its own task touches (the
/// receive queue, links, monitors, aliases, trap_exit).
///
/// Every change to another process goes through that process's mailbox as a
/// signal, as in ERTS, so no process state needs a lock.
final class ProcessCore: @unchecked Sendable {
    let pid: PID
    let node: Node
    let mailbox = Mailbox()
    let behavior: String
    let key: UInt64
    let limit: MailboxLimit?
    /// Messages in the mailbox and receive queue; kept only with a limit.
    let queued = Atomic<Int>(0)
    let dropped = Atomic<Int>(0)

    // Owned by the process's task.
    var queue = Deque<Envelope>()
    var links = Set<PID>()
    /// Monitors this process holds, by reference.
    var monitors: [Ref: Destination] = [:]
    /// Processes monitoring this one: reference → (watcher, name it used).
    var monitoredBy: [Ref: Watcher] = [:]
    var aliases = Set<Ref>()
    /// The tag of the call this process is waiting on: its reply and its
    /// monitor's 'DOWN' are accepted without touching `aliases`/`monitors`.
    var pendingCall: Ref?
    var trapExit: Bool
    /// Links to remote processes being removed: remote pid → the id of the
    /// `UNLINK_ID` not yet acknowledged (the link is inactive meanwhile).
    var unlinking: [PID: UInt64] = [:]
    /// Set once the process used `monitorNode` or `monitorNodes`.
    var watchesNodes = false
    /// Set when an exit signal ends the process; acted on at once.
    var exitReason: ExitReason?
    var messagesHandled = 0
    /// Messages delivered and not yet reported to the metrics.
    var uncounted = 0
    /// The last process this one sent to: repeated sends skip the table.
    var lastTarget: ProcessCore?
    var lastMessage: Envelope?
    var refCounter: UInt64 = 0
    /// The token of the receive timeout now armed (0: none), and whether it
    /// fired. The token is `deadline tick << 16 | generation`.
    var timeoutToken: UInt64 = 0
    var timeoutGeneration: UInt64 = 0
    var timedOut = false
    /// The armed token, for the timer thread (0 when disarmed).
    let deadline = Atomic<UInt64>(0)
    /// The tick at which the timer thread will next look at this process
    /// (0: it will not).
    let watchedAt = Atomic<UInt64>(0)
    var status: ProcessStatus = .runnable

    struct Watcher {
        let pid: PID
        let name: Atom?
    }

    init(pid: PID, node: Node, behavior: String, options: SpawnOptions) {
        self.pid = pid
        self.node = node
        self.behavior = behavior
        self.key = ProcessTable.key(pid)
        self.limit = options.mailboxLimit
        self.trapExit = options.trapExit
    }

    // MARK: delivery (any thread)

    /// Delivers a signal; false when the process has exited.
    @discardableResult
    func deliver(_ signal: Signal) -> Bool {
        if let limit, signal.isMessage {
            if queued.add(1, ordering: .relaxed).newValue > limit.capacity {
                queued.subtract(1, ordering: .relaxed)
                overflow(signal, limit)
                return true
            }
        }
        return mailbox.push(signal)
    }

    private func overflow(_ signal: Signal, _ limit: MailboxLimit) {
        let count = dropped.add(1, ordering: .relaxed).newValue
        node.metrics.mailboxOverflow(kind: signal.kindLabel)
        switch limit.action {
        case .drop:
            if count & (count - 1) == 0 {
                node.logger.warning("mailbox full: message dropped", metadata: [
                    "pid": "\(pid)", "limit": "\(limit.capacity)",
                    "message_type": "\(signal.kindLabel)", "dropped_total": "\(count)",
                ])
            }
        case .exit:
            if count == 1 {
                node.logger.error("mailbox full: process exits", metadata: [
                    "pid": "\(pid)", "limit": "\(limit.capacity)", "message_type": "\(signal.kindLabel)",
                ])
            }
            let reason = ExitReason.other(.tuple([.atom("mailbox_overflow"), .int(limit.capacity)]))
            // Not an exit signal, which a process trapping exits would take
            // as a message: the process ends whatever it traps.
            mailbox.push(.inspect { core in
                if let core, core.exitReason == nil { core.exitReason = reason }
            })
        }
    }

    // MARK: signal handling (own task)

    /// Moves everything in the mailbox into the receive queue, acting on the
    /// signals on the way. Stops early once an exit signal ends the process.
    func drain() {
        while exitReason == nil, let signal = mailbox.pop() {
            if handle(signal) { uncounted += 1 }
        }
    }

    /// Reports the messages delivered since the last report to the metrics
    /// (done before parking and at exit, not per message).
    func reportDelivered() {
        if uncounted > 0 {
            node.metrics.delivered(uncounted)
            uncounted = 0
        }
    }

    /// Acts on one signal; true when it put a message in the queue.
    func handle(_ signal: Signal) -> Bool {
        switch signal {
        case .message(let term):
            queue.append(.message(term))
        case .call(let from, let request, let monitored):
            if monitored { monitoredBy[from.tag] = Watcher(pid: from.pid, name: nil) }
            queue.append(.call(from, request, monitored: monitored))
        case .cast(let request):
            queue.append(.cast(request))
        case .reply(let ref, let value, let demonitored):
            guard ref == pendingCall || (!aliases.isEmpty && aliases.contains(ref)) else { return dropUnwanted() }
            queue.append(.reply(ref, value, demonitored: demonitored))
        case .aliasMessage(let ref, let term):
            guard aliases.contains(ref) else { return dropUnwanted() }
            queue.append(.message(term))
        case .down(let ref, let object, let reason):
            guard ref == pendingCall || monitors.removeValue(forKey: ref) != nil else { return false }
            appendSignalMessage(.down(ref: ref, object: object, reason: reason))
        case .exit(let from, let reason, let viaLink):
            return receiveExit(from: from, reason: reason, viaLink: viaLink)
        case .link(let from):
            links.insert(from)
            return false
        case .unlink(let from):
            links.remove(from)
            return false
        case .remoteLink(let from):
            remoteLinked(from: from)
            return false
        case .remoteUnlink(let from, let id):
            remoteUnlinked(from: from, id: id)
            return false
        case .remoteUnlinkAck(let from, let id):
            unlinkAcknowledged(by: from, id: id)
            return false
        case .monitor(let from, let ref, let name):
            monitoredBy[ref] = Watcher(pid: from, name: name)
            return false
        case .demonitor(let ref):
            monitoredBy.removeValue(forKey: ref)
            return false
        case .timeout(let token):
            if token != 0 && token == timeoutToken { timedOut = true }
            return false
        case .inspect(let body):
            body(self)
            return false
        }
        return true
    }

    /// Queues a message that a signal turned into (not counted on delivery).
    private func appendSignalMessage(_ envelope: Envelope) {
        queue.append(envelope)
        if limit != nil { queued.add(1, ordering: .relaxed) }
    }

    private func dropUnwanted() -> Bool {
        if limit != nil { queued.subtract(1, ordering: .relaxed) }
        return false
    }

    /// Erlang's exit-signal rules; true when the signal became an
    /// `{'EXIT', From, Reason}` message.
    private func receiveExit(from: PID, reason: ExitReason, viaLink: Bool) -> Bool {
        if viaLink {
            guard from.node == node.name ? links.remove(from) != nil : dropRemoteLink(from) else { return false }
        } else if reason == .kill {
            exitReason = .killed
            return false
        }
        if trapExit {
            appendSignalMessage(.message(ExitMessage(from: from, reason: reason).term))
            return true
        }
        if reason == .normal {
            if !viaLink && from == pid { exitReason = .normal }
            return false
        }
        exitReason = reason
        return false
    }

    /// Takes the next message from the queue.
    func takeFirst() -> Envelope {
        let envelope = queue.removeFirst()
        consumed(envelope)
        return envelope
    }

    /// Takes the message at `index`.
    func take(at index: Int) -> Envelope {
        let envelope = queue.remove(at: index)
        consumed(envelope)
        return envelope
    }

    func consumed(_ envelope: Envelope) {
        if limit != nil { queued.subtract(1, ordering: .relaxed) }
        messagesHandled += 1
    }

    /// Sends a message to a local pid, remembering the target for the next send.
    func send(to target: PID, _ message: Term) {
        if let cached = lastTarget, cached.pid == target {
            if !cached.deliver(.message(message)) { lastTarget = nil }
            return
        }
        guard let process = node.table.lookup(target) else {
            if target.node != node.name {
                node.routeMessage(.send(from: pid, to: target, message: message), to: target.node)
            }
            return
        }
        lastTarget = process
        process.deliver(.message(message))
    }

    /// The live local process for a destination; pids go through the
    /// one-entry cache `send` keeps.
    func resolve(_ destination: Destination) -> ProcessCore? {
        guard case .pid(let target) = destination else { return node.resolve(destination) }
        if let cached = lastTarget, cached.pid == target, !cached.mailbox.isClosed { return cached }
        guard let process = node.table.lookup(target) else { return nil }
        lastTarget = process
        return process
    }

    /// A fresh reference that carries this process's identity, so that it
    /// can serve as an alias: `[counter low, counter high, pid id, pid serial]`.
    func makeRef() -> Ref {
        refCounter &+= 1
        return Ref(node: node.name, creation: node.creation,
                   ids: [UInt32(truncatingIfNeeded: refCounter), UInt32(truncatingIfNeeded: refCounter >> 32),
                         pid.id, pid.serial])
    }
}

/// What a process is doing, as `process_info(P, status)` reports it.
public enum ProcessStatus: String, Sendable {
    case runnable, running, waiting, exiting
}

extension Signal {
    /// Whether the signal counts against a mailbox limit.
    var isMessage: Bool {
        switch self {
        case .message, .call, .cast, .reply, .aliasMessage: return true
        default: return false
        }
    }

    /// A short label for logs and metrics: the message's first atom.
    var kindLabel: String {
        switch self {
        case .message(let term), .aliasMessage(_, let term): return term.kindLabel
        case .call: return "$gen_call"
        case .cast: return "$gen_cast"
        case .reply: return "reply"
        default: return "signal"
        }
    }
}

extension Term {
    /// The tag atom of a tagged tuple, the atom itself, or the term's kind.
    var kindLabel: String {
        switch self {
        case .atom(let a): return a.description
        case .tuple(let e):
            if case .atom(let tag)? = e.first { return "{\(tag.description),…}" }
            return "tuple/\(e.count)"
        case .list: return "list"
        case .binary: return "binary"
        case .int, .bigInt: return "integer"
        default: return "term"
        }
    }
}
