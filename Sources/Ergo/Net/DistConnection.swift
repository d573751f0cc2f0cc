import Logging

/// One TCP connection to another node, from the first byte of the
/// handshake to its close. Its state is behind one lock: senders encode
/// and queue under it (so a packet's place on the wire is fixed where its
/// atom-cache slots are assigned), and the loop thread decodes under it.
final class DistConnection: @unchecked Sendable {
    enum Role: Sendable { case initiator, acceptor }

    enum Phase {
        /// Looking the peer up and dialling (initiator) or waiting for its name (acceptor).
        case opening
        /// The handshake runs.
        case handshaking(Handshake)
        /// Our dial lost a simultaneous connect (the peer answered `nok`):
        /// the peer's own dial brings the connection, and messages keep
        /// waiting for it (as in OTP, where the loser's pending connection
        /// is not a failure).
        case yielded
        /// Up: messages flow.
        case up(DistConnectionCodec)
        /// Closed or failed; nothing more is sent.
        case closed
    }

    struct State {
        var phase: Phase = .opening
        var conn: ConnectionID?
        /// The peer's name: known at once for an initiator, after its
        /// send_name for an acceptor.
        var peer: Atom?
        /// Control messages waiting for the handshake (bounded).
        var waiting: [DistControl] = []
        /// Bytes the loop refused as busy (whole packets with their 4-byte
        /// lengths), in order, sent on `onWritable`.
        var backlog: [[UInt8]] = []
        /// The handshake finished and `nodeUp` was reported.
        var announced = false
    }

    let role: Role
    let state: Locked<State>

    init(role: Role, peer: Atom?) {
        self.role = role
        var s = State()
        s.peer = peer
        state = Locked(s)
    }

    var peer: Atom? { state.withLock { $0.peer } }
    var conn: ConnectionID? { state.withLock { $0.conn } }
}
