/// Thrown out of a mailbox wait when an exit signal has ended the process;
/// the process exits with `reason` (no crash report: Erlang logs none for a
/// process killed by a signal). Code that catches it sees that reason.
struct ProcessStop: Error, ExitReasonConvertible {
    let reason: ExitReason
    var exitReason: ExitReason { reason }
}

extension ProcessCore {
    /// Parks until a signal arrives, arming the timeout first if needed.
    /// False when the timeout has fired.
    @inline(__always)
    private func pause(_ timeout: Duration?, armed: inout Bool) async -> Bool {
        if armed, timedOut { return false }
        if !armed, let timeout {
            if TimerService.nanoseconds(timeout) == 0 { return false }
            arm(timeout)
            armed = true
        }
        status = .waiting
        reportDelivered()
        await mailbox.park()
        status = .running
        return true
    }

    /// Arms this process's receive timeout: no lock unless the timer thread
    /// must look at the process earlier than it already will.
    private func arm(_ timeout: Duration) {
        timeoutGeneration &+= 1
        let tick = TimerService.tick(after: timeout)
        timeoutToken = tick << 16 | (timeoutGeneration & 0xFFFF)
        timedOut = false
        deadline.store(timeoutToken, ordering: .sequentiallyConsistent)
        let watched = watchedAt.load(ordering: .sequentiallyConsistent)
        if watched == 0 || watched > tick { node.timers.watch(self) }
    }

    private func disarm() {
        deadline.store(0, ordering: .releasing)
        timeoutToken = 0
        timedOut = false
    }

    /// The next message, or nil after `timeout`.
    ///
    /// The work between suspensions is in `takeNext`, a plain function, so
    /// the frame a parked process keeps in its task stays small.
    func next(timeout: Duration?) async throws(ProcessStop) -> Envelope? {
        var armed = false
        defer { if armed { disarm() } }
        while true {
            if let envelope = try takeNext() { return envelope }
            guard await pause(timeout, armed: &armed) else { return nil }
        }
    }

    /// The next message if one is there. With nothing queued, a message at
    /// the mailbox's head is the next one: it is taken without a trip
    /// through the receive queue.
    private func takeNext() throws(ProcessStop) -> Envelope? {
        if queue.isEmpty {
            while exitReason == nil, let signal = mailbox.pop() {
                switch signal {
                case .message(let term):
                    return direct(.message(term))
                case .cast(let request):
                    return direct(.cast(request))
                case .call(let from, let request, let monitored):
                    if monitored { monitoredBy[from.tag] = Watcher(pid: from.pid, name: nil) }
                    return direct(.call(from, request, monitored: monitored))
                default:
                    if handle(signal) { uncounted += 1 }
                }
                if !queue.isEmpty { break }
            }
        } else {
            drain()
        }
        if let reason = exitReason { throw ProcessStop(reason: reason) }
        return queue.isEmpty ? nil : takeFirst()
    }

    private func direct(_ envelope: Envelope) -> Envelope {
        tookDirectly(countedOnDelivery: true)
        return envelope
    }

    /// Books a message taken straight from the mailbox. Messages count
    /// against a mailbox limit on delivery; a 'DOWN' taken directly never did.
    private func tookDirectly(countedOnDelivery: Bool) {
        uncounted += 1
        messagesHandled += 1
        if countedOnDelivery, limit != nil { queued.subtract(1, ordering: .relaxed) }
    }

    /// Waits for the reply to the call tagged `ref`, or the 'DOWN' of its
    /// monitor; nil after `timeout`. Other messages stay queued in order.
    @inline(__always)
    func awaitReply(_ ref: Ref, timeout: Duration?) async throws(ProcessStop) -> CallOutcome? {
        var scanned = 0
        var armed = false
        defer { if armed { disarm() } }
        while true {
            if let outcome = try findReply(ref, scanned: &scanned) { return outcome }
            guard await pause(timeout, armed: &armed) else { return nil }
        }
    }

    /// The reply in `{[alias | Tag], Reply}` or `{Tag, Reply}`.
    static func replyValue(_ term: Term, tag: Ref) -> Term? {
        guard case .tuple(let e) = term, e.count == 2 else { return nil }
        switch e[0] {
        case .ref(let r) where r == tag: return e[1]
        case .improperList(let head, .ref(let r)) where r == tag && head == [.atom(.alias)]: return e[1]
        default: return nil
        }
    }

    private func findReply(_ ref: Ref, scanned: inout Int) throws(ProcessStop) -> CallOutcome? {
        while scanned < queue.count {
            switch queue[scanned] {
            case .reply(let tag, let value, let demonitored) where tag == ref:
                _ = take(at: scanned)
                return .reply(value, demonitored: demonitored)
            case .down(let tag, _, let reason) where tag == ref:
                _ = take(at: scanned)
                return .down(reason)
            case .message(let term) where Self.replyValue(term, tag: ref) != nil:
                _ = take(at: scanned)
                return .reply(Self.replyValue(term, tag: ref)!, demonitored: false)
            default:
                scanned += 1
            }
        }
        while exitReason == nil, let signal = mailbox.pop() {
            switch signal {
            case .reply(let tag, let value, let demonitored) where tag == ref:
                tookDirectly(countedOnDelivery: true)
                return .reply(value, demonitored: demonitored)
            case .down(let tag, _, let reason) where tag == ref:
                tookDirectly(countedOnDelivery: false)
                return .down(reason)
            case .message(let term) where Self.replyValue(term, tag: ref) != nil:
                // `{Tag, Reply}` sent to the caller's pid by hand, as Erlang
                // code may do (`Pid ! {Tag, Reply}`).
                tookDirectly(countedOnDelivery: true)
                return .reply(Self.replyValue(term, tag: ref)!, demonitored: false)
            default:
                if handle(signal) { uncounted += 1 }
                scanned = queue.count
            }
        }
        if let reason = exitReason { throw ProcessStop(reason: reason) }
        return nil
    }

    /// The first message `match` accepts (others stay queued, in order).
    func next<T>(timeout: Duration?, matching match: (Envelope) -> T?) async throws(ProcessStop) -> T? {
        var scanned = 0
        var armed = false
        defer { if armed { disarm() } }
        while true {
            if let found = try takeMatching(match, scanned: &scanned) { return found }
            guard await pause(timeout, armed: &armed) else { return nil }
        }
    }

    /// Looks through the queue from `scanned`, then takes signals from the
    /// mailbox one by one: a message that matches is taken at once (it was
    /// the first match), one that does not is queued.
    private func takeMatching<T>(_ match: (Envelope) -> T?, scanned: inout Int) throws(ProcessStop) -> T? {
        while scanned < queue.count {
            if let value = match(queue[scanned]) {
                _ = take(at: scanned)
                return value
            }
            scanned += 1
        }
        while exitReason == nil, let signal = mailbox.pop() {
            if case .message(let term) = signal {
                let envelope = Envelope.message(term)
                if let value = match(envelope) {
                    tookDirectly(countedOnDelivery: true)
                    return value
                }
                queue.append(envelope)
                uncounted += 1
            } else if handle(signal) {
                uncounted += 1
                if let value = match(queue[queue.count - 1]) {
                    _ = take(at: queue.count - 1)
                    return value
                }
            }
            scanned = queue.count
        }
        if let reason = exitReason { throw ProcessStop(reason: reason) }
        return nil
    }
}
