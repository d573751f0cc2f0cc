/// Thrown out of a mailbox wait when an exit signal has ended the process;
/// the process exits with `reason` (no crash report: Erlang logs none for a
/// process killed by a signal).
struct ProcessStop: Error {
    let reason: ExitReason
}

extension ProcessCore {
    /// Waits until `find` locates a message in the receive queue (it gets the
    /// number of messages already looked at, and updates it), or the timeout
    /// passes (nil). Signals are acted on while waiting; an exit signal that
    /// ends the process throws `ProcessStop`.
    func wait(timeout: Duration?, find: (ProcessCore, inout Int) -> Int?) async throws(ProcessStop) -> Int? {
        var scanned = 0
        var timer: UInt64 = 0
        defer { if timer != 0 { disarm(timer) } }
        while true {
            drain()
            if let reason = exitReason { throw ProcessStop(reason: reason) }
            if let index = find(self, &scanned) { return index }
            if timer != 0, timedOut { return nil }
            if timer == 0, let timeout {
                if TimerService.nanoseconds(timeout) == 0 { return nil }
                timer = arm(timeout)
            }
            status = .waiting
            await mailbox.park()
            status = .running
        }
    }

    private func arm(_ timeout: Duration) -> UInt64 {
        timeoutToken &+= 1
        timedOut = false
        let token = timeoutToken
        return node.timers.schedule(after: timeout) { [self] in self.deliver(.timeout(token)) }
    }

    private func disarm(_ timer: UInt64) {
        node.timers.cancel(timer)
        timeoutToken &+= 1
        timedOut = false
    }

    /// The next message, or nil after `timeout`.
    func next(timeout: Duration?) async throws(ProcessStop) -> Envelope? {
        guard try await wait(timeout: timeout, find: { core, _ in core.queue.isEmpty ? nil : 0 }) != nil else {
            return nil
        }
        return takeFirst()
    }

    /// The first message `match` accepts (others stay queued, in order).
    func next<T>(timeout: Duration?, matching match: (Envelope) -> T?) async throws(ProcessStop) -> T? {
        var found: T?
        let index = try await wait(timeout: timeout) { core, scanned in
            while scanned < core.queue.count {
                if let value = match(core.queue[scanned]) { found = value; return scanned }
                scanned += 1
            }
            return nil
        }
        guard let index else { return nil }
        _ = take(at: index)
        return found
    }
}
