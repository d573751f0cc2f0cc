import Logging

extension ProcessCore {
    /// The node's logger with this process's `pid` (and name) as metadata.
    var logger: Logger {
        var logger = node.logger
        logger[metadataKey: "pid"] = "\(pid)"
        if let name = node.registry.name(of: pid) { logger[metadataKey: "name"] = "\(name)" }
        return logger
    }

    /// Runs the process's body, then cleans up after it. (The async part
    /// is kept small: a parked process keeps this frame.)
    func main(_ body: @Sendable (ProcessContext) async throws -> Void) async {
        status = .running
        var failure: (any Error)?
        do {
            try await body(ProcessContext(core: self))
        } catch {
            failure = error
        }
        exited(after: failure)
    }

    /// Works out the exit reason from how the body ended, logs a crash
    /// report when one is due, and finishes.
    private func exited(after failure: (any Error)?) {
        var reason = ExitReason.normal
        var report: (any Error)?
        switch failure {
        case nil: break
        case let stop as ProcessStop: reason = stop.reason
        case let reported as ReportedExit: reason = reported.reason
        case let error?:
            reason = ExitReason(error: error)
            report = error
        }
        if let signalled = exitReason {
            reason = signalled
            report = nil
        }
        if let report, !reason.isNormalTermination {
            CrashReport.process(self, reason: reason, error: report)
        }
        finish(reason, crashed: !reason.isNormalTermination)
    }

    /// Closes the mailbox, frees the name, timers and aliases, and sends the
    /// exit signals and `'DOWN'` messages the links and monitors ask for.
    func finish(_ reason: ExitReason, crashed: Bool) {
        status = .exiting
        reportDelivered()
        let late = mailbox.close()
        node.table.remove(pid)
        node.registry.remove(pid)
        node.timers.cancelAll(owner: key)
        // Links and monitors that arrived but were not yet acted on still get
        // their exit signal and 'DOWN' message, with the real reason.
        for signal in late {
            switch signal {
            case .link(let from): links.insert(from)
            case .unlink(let from): links.remove(from)
            case .remoteLink(let from): remoteLinked(from: from)
            case .remoteUnlink(let from, let id): remoteUnlinked(from: from, id: id)
            case .remoteUnlinkAck(let from, let id): unlinkAcknowledged(by: from, id: id)
            case .monitor(let from, let ref, let name): monitoredBy[ref] = Watcher(pid: from, name: name)
            case .demonitor(let ref): monitoredBy.removeValue(forKey: ref)
            case .call(let from, _, true): monitoredBy[from.tag] = Watcher(pid: from.pid, name: nil)
            case .inspect(let body): body(nil)
            default: break
            }
        }
        // Its own monitors go first: whoever hears of the exit finds nothing
        // of the process left anywhere.
        finishRemote(reason)
        for (ref, target) in monitors where target.remoteNode(local: node.name) == nil {
            node.deliver(.demonitor(ref: ref), to: target)
        }
        for linked in links where linked.node == node.name {
            node.deliver(.exit(from: pid, reason: reason, viaLink: true), to: linked)
        }
        for (ref, watcher) in monitoredBy where watcher.pid.node == node.name {
            let object: Term = watcher.name.map { .tuple([.atom($0), .atom(node.name)]) } ?? .pid(pid)
            node.deliver(.down(ref: ref, object: object, reason: reason), to: watcher.pid)
        }
        links.removeAll()
        monitoredBy.removeAll()
        monitors.removeAll()
        aliases.removeAll()
        queue.removeAll()
        lastMessage = nil
        lastTarget = nil
        node.processExited(self, reason: reason, crashed: crashed)
    }
}

/// Ends a process with `reason` when its failure was already logged (a
/// behaviour's own report), so no crash report follows.
public struct ReportedExit: Error, Sendable {
    public let reason: ExitReason
    public init(_ reason: ExitReason) { self.reason = reason }
}
