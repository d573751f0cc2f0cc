/// What `Node.processInfo` reports about a live process (Erlang's
/// `process_info/1`, the parts that apply).
public struct ProcessInfo: Sendable, CustomStringConvertible {
    public let pid: PID
    public let registeredName: Atom?
    public let status: ProcessStatus
    /// Messages in the receive queue, after the mailbox was drained.
    public let messageQueueLength: Int
    public let links: [PID]
    /// Monitors this process holds: their references and targets.
    public let monitors: [(ref: Ref, target: Destination)]
    /// Processes that monitor this one.
    public let monitoredBy: [PID]
    public let trapExit: Bool
    /// A rough estimate of the memory the process holds, in bytes.
    public let memory: Int
    /// "process", or "gen_server:Type" for a `GenServer`.
    public let behavior: String
    public let messagesHandled: Int
    /// Messages a mailbox limit turned away.
    public let messagesDropped: Int

    public var description: String {
        "\(pid) \(registeredName.map { "\($0) " } ?? "")\(behavior) \(status.rawValue) queue=\(messageQueueLength) "
            + "links=\(links.count) monitors=\(monitors.count) monitored_by=\(monitoredBy.count) "
            + "handled=\(messagesHandled) memory≈\(memory)"
    }
}

extension ProcessCore {
    /// Builds the info on the process's own task.
    func info() -> ProcessInfo {
        drain()
        // The task and its first allocation slab, this object, the mailbox
        // stub, and the collections' storage.
        let memory = 1_200 + 256 + 48 + queue.count * 48
            + links.count * 40 + monitors.count * 80 + monitoredBy.count * 80 + aliases.count * 40
        return ProcessInfo(
            pid: pid, registeredName: node.registry.name(of: pid), status: status,
            messageQueueLength: queue.count, links: links.sorted { ($0.serial, $0.id) < ($1.serial, $1.id) },
            monitors: monitors.map { ($0.key, $0.value) }, monitoredBy: monitoredBy.values.map(\.pid),
            trapExit: trapExit, memory: memory, behavior: behavior,
            messagesHandled: messagesHandled, messagesDropped: dropped.load(ordering: .relaxed))
    }
}

extension Node {
    /// Information about a live process, gathered by the process itself (as
    /// Erlang does it): it answers once it is waiting for messages. Nil if
    /// the process is not alive.
    public func processInfo(_ pid: PID) async -> ProcessInfo? {
        guard let core = table.lookup(pid) else { return nil }
        return await withCheckedContinuation { (answer: CheckedContinuation<ProcessInfo?, Never>) in
            let sent = core.deliver(.inspect { core in answer.resume(returning: core?.info()) })
            if !sent { answer.resume(returning: nil) }
        }
    }
}
