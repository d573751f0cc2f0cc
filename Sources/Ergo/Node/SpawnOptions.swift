/// How a process starts.
public struct SpawnOptions: Sendable {
    /// Register the process under this name before it runs.
    public var name: Atom?
    /// Start with `trap_exit` set.
    public var trapExit: Bool
    /// Bound the mailbox (unbounded by default, as in Erlang).
    public var mailboxLimit: MailboxLimit?

    public init(name: Atom? = nil, trapExit: Bool = false, mailboxLimit: MailboxLimit? = nil) {
        self.name = name
        self.trapExit = trapExit
        self.mailboxLimit = mailboxLimit
    }
}

/// An opt-in bound on a mailbox, and what happens to a message beyond it.
/// Either way the overflow is counted (`ergo_mailbox_overflow_total`, by
/// message type) and logged; nothing is dropped silently.
public struct MailboxLimit: Sendable, Hashable {
    public enum Action: Sendable, Hashable {
        /// Drop the new message (logged at the 1st, 2nd, 4th, 8th… drop).
        case drop
        /// End the receiving process with `{mailbox_overflow, Capacity}`.
        case exit
    }
    public var capacity: Int
    public var action: Action

    public init(capacity: Int, action: Action = .drop) {
        precondition(capacity > 0, "a mailbox limit must be positive")
        self.capacity = capacity
        self.action = action
    }
}
