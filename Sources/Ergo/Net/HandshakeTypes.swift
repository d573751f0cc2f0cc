import CErgoCore

/// Who this node is in a handshake.
public struct HandshakeIdentity: Sendable {
    /// Our full node name, `name@host`.
    public var nodeName: String
    /// The cookie both sides must share.
    public var cookie: [UInt8]
    /// Our creation (from EPMD's ALIVE2 answer).
    public var creation: UInt32
    /// The flags we advertise (default: ``DistFlags/advertised``).
    public var flags: DistFlags
    /// The flags a peer must have (default: ``DistFlags/required``).
    public var required: DistFlags

    public init(nodeName: String, cookie: String, creation: UInt32,
                flags: DistFlags = .advertised, required: DistFlags = .required) {
        self.nodeName = nodeName
        self.cookie = Array(cookie.utf8)
        self.creation = creation
        self.flags = flags
        self.required = required
    }
}

/// The peer at the end of a successful handshake.
public struct DistPeer: Hashable, Sendable {
    /// The peer's node name.
    public let name: String
    /// The flags the peer sent (MANDATORY_25_DIGEST expanded).
    public let flags: DistFlags
    /// Ours and the peer's in common: what the connection may use.
    public let negotiated: DistFlags
    /// The peer's creation.
    public let creation: UInt32
    /// The acceptor answered `alive` and the peer said `true`: this
    /// connection replaces one that was up. The caller takes the old one
    /// down before it sends the handshake's last packet, as `net_kernel`
    /// does (`wait_pending`).
    public let replacesConnection: Bool

    /// Whether the peer is a hidden node (no ``DistFlags/published``).
    public var isHidden: Bool { !flags.contains(.published) }
}

/// The acceptor's answer to "a peer named N wants to connect", given by
/// the connection manager (`net_kernel`'s `accept_pending`).
public enum AcceptDecision: Sendable, Equatable {
    /// No connection to that node: go on (status `ok`).
    case ok
    /// We were connecting to it too and it wins: go on with this one and drop
    /// ours (status `ok_simultaneous`).
    case okSimultaneous
    /// We were connecting to it too and ours wins: refuse (status `nok`).
    case nok
    /// The node may not connect (status `not_allowed`).
    case notAllowed
    /// A connection to that node is up: ask the peer whether it really
    /// wants a new one (status `alive`; it answers `true` or `false`).
    case alive

    /// OTP's rule for simultaneous connects (`net_kernel`, `accept_pending`):
    /// when both nodes dial each other, the node whose name is greater
    /// keeps the connection it initiated, and the other accepts. Call this
    /// where an attempt of ours to `peer` is pending; names compare as Erlang
    /// compares atoms (by their text).
    public static func simultaneousConnect(ourName: String, peerName: String) -> AcceptDecision {
        Array(ourName.utf8).lexicographicallyPrecedes(Array(peerName.utf8)) || ourName == peerName
            ? .okSimultaneous : .nok
    }
}

/// What to do after feeding the handshake a packet.
public enum HandshakeStep: Sendable, Equatable {
    /// Send these packet bodies (each with a 2-byte length) and wait for
    /// the next packet.
    case send([[UInt8]])
    /// The handshake succeeded: send these (the last packets of the
    /// handshake, possibly none), then the connection switches to 4-byte
    /// framing with the peer described.
    case completed(DistPeer, send: [[UInt8]])
    /// The handshake failed: send these (a status telling the peer why, or
    /// none), then close the connection.
    case failed(HandshakeError, send: [[UInt8]])
}

/// Why a handshake failed. Each names the peer where it is known.
public enum HandshakeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Bytes no conforming peer sends (`code` is the C codec's).
    case malformed(peer: String?, code: Int32)
    /// A message other than the one the protocol expects next.
    case unexpected(peer: String?, tag: UInt8, expected: String)
    /// The peer's digest does not match our cookie: it has another cookie.
    case badCookie(peer: String)
    /// The peer lacks flags we need.
    case missingFlags(peer: String, DistFlags)
    /// The peer refused us with this status (`nok`, `not_allowed`, or a
    /// status it should not send).
    case refused(peer: String, status: String)
    /// We refused the peer (`decision` was `nok` or `notAllowed`).
    case rejected(peer: String, decision: AcceptDecision)
    /// The peer answered `false` to `alive`: it no longer wants this connection.
    case abandoned(peer: String)
    /// The challenge came from another node than the one we dialled.
    case wrongPeer(expected: String, actual: String)
    /// A name this node does not take: not `name@host`, or a request for a
    /// dynamic name (NAME_ME), which is not implemented.
    case badName(String)
    /// The digest could not be computed (C code).
    case digest(code: Int32)
    /// A packet after the handshake had finished or failed.
    case finished

    /// The losing side of two nodes connecting at once: status `nok`, or
    /// `alive` answered `false` because a connection is already up. The
    /// other connection goes on, so this is routine (OTP logs nothing).
    public var isConnectRace: Bool {
        switch self {
        case .rejected(_, .nok), .abandoned: return true
        case .refused(_, let status): return status == "nok" || status == "alive"
        default: return false
        }
    }

    public var description: String {
        func who(_ p: String?) -> String { p.map { "node \($0)" } ?? "peer" }
        switch self {
        case let .malformed(peer, code):
            return "handshake with \(who(peer)): malformed message (\(String(cString: ergo_dist_strerror(code))))"
        case let .unexpected(peer, tag, expected):
            return "handshake with \(who(peer)): got message '\(Self.tagText(tag))', expected \(expected)"
        case let .badCookie(peer):
            return "connection with node \(peer) refused: wrong cookie (its digest does not match ours)"
        case let .missingFlags(peer, flags):
            return "connection with node \(peer) refused: it lacks the capabilities \(flags.names.joined(separator: ", "))"
        case let .refused(peer, status):
            return "node \(peer) refused the connection (status \(status))"
        case let .rejected(peer, decision):
            return "connection from node \(peer) rejected (\(decision))"
        case let .abandoned(peer):
            return "node \(peer) abandoned the connection (answered false to alive)"
        case let .wrongPeer(expected, actual):
            return "dialled node \(expected) but node \(actual) answered"
        case let .badName(name):
            return "handshake: unacceptable node name \"\(name)\""
        case let .digest(code):
            return "handshake: digest failed (\(String(cString: ergo_dist_strerror(code))))"
        case .finished:
            return "handshake: packet after the handshake ended"
        }
    }

    private static func tagText(_ tag: UInt8) -> String {
        (32..<127).contains(tag) ? String(UnicodeScalar(tag)) : "\\\(tag)"
    }
}
