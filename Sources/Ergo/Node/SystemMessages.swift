/// `{'EXIT', Pid, Reason}`: the message an exit signal becomes in a
/// process that traps exits.
struct ExitMessage: Sendable, Hashable {
    var from: PID
    var reason: ExitReason
}

extension ExitMessage {
    /// Nil unless `term` is a 3-tuple `{'EXIT', Pid, Reason}`.
    init?(term: Term) {
        guard case .tuple(let e) = term, e.count == 3, e[0] == .atom(.exitTag), case .pid(let from) = e[1] else {
            return nil
        }
        self.init(from: from, reason: ExitReason(e[2]))
    }

    var term: Term { .tuple([.atom(.exitTag), .pid(from), reason.term]) }
}

/// `{'DOWN', Ref, process, Object, Reason}`: the message a monitor sends
/// when what it watches goes down.
struct DownMessage: Sendable, Hashable {
    var ref: Ref
    /// The monitored pid, or `{Name, Node}` for a monitor by name.
    var object: Term
    var reason: ExitReason
}

extension DownMessage {
    /// Nil unless `term` is a 5-tuple `{'DOWN', Ref, _, Object, Reason}`
    /// (the type field is not checked).
    init?(term: Term) {
        guard case .tuple(let e) = term, e.count == 5, e[0] == .atom(.down), case .ref(let ref) = e[1] else {
            return nil
        }
        self.init(ref: ref, object: e[3], reason: ExitReason(e[4]))
    }

    var term: Term { .tuple([.atom(.down), .ref(ref), .atom(.process), object, reason.term]) }
}

extension ProcessContext {
    /// Takes the `'EXIT'` message from `pid` (others stay queued) and
    /// returns its reason; nil if `timeout` passes first.
    func receiveExit(from pid: PID, timeout: Duration?) async throws -> ExitReason? {
        try await receive(timeout: timeout) { message in
            ExitMessage(term: message).flatMap { $0.from == pid ? $0.reason : nil }
        }
    }

    /// Takes the `'DOWN'` message of the monitor `ref` (others stay queued)
    /// and returns its reason; nil if `timeout` passes first.
    func receiveDown(_ ref: Ref, timeout: Duration?) async throws -> ExitReason? {
        try await receive(timeout: timeout) { message in
            DownMessage(term: message).flatMap { $0.ref == ref ? $0.reason : nil }
        }
    }
}
