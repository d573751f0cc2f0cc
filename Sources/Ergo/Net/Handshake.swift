import CErgoCore

/// The distribution handshake, version 6 (OTP 23+), as a state machine
/// driven by packets: no I/O, no clock (the caller owns the socket and the
/// handshake timeout). It follows `dist_util.erl`'s order of messages:
///
/// Initiator (A), `handshake_we_started`:
///
///     A → B  'N' send_name      (our flags, creation, name)
///     B → A  's' status         ok | ok_simultaneous | nok | not_allowed | alive
///     A → B  's' true | false   (only after alive: do we still want this connection?)
///     B → A  'N' challenge      (B's flags, challenge, creation, name)
///     A → B  'r' challenge_reply (our challenge, digest of B's challenge)
///     B → A  'a' challenge_ack  (digest of our challenge)
///
/// Acceptor (B), `handshake_other_started`: the same from the other side.
/// A peer that sends the old 'n' send_name with HANDSHAKE_23 set (an OTP
/// 23/24 node that did not know our version) still gets the 'N' challenge,
/// and sends the complement 'c' (its high flag word and its creation)
/// before its challenge_reply. A peer without HANDSHAKE_23 is refused.
///
/// ```swift
/// var hs = Handshake.initiator(identity, peer: "e1@host")
/// send(hs.start())
/// while true {
///     switch hs.receive(try readPacket()) {
///     case .send(let bodies): send(bodies)
///     case .completed(let peer, let bodies): send(bodies); return peer
///     case .failed(let error, let bodies): send(bodies); throw error
///     }
/// }
/// ```
public struct Handshake: Sendable {
    public enum Role: Sendable, Equatable { case initiator, acceptor }

    private enum State: Sendable, Equatable {
        case idle
        // initiator
        case awaitStatus
        case awaitChallenge
        case awaitAck
        // acceptor
        case awaitName
        case awaitAliveAnswer
        case awaitComplement
        case awaitReply
        case done
    }

    public let role: Role
    private let identity: HandshakeIdentity
    /// Our challenge to the peer.
    private let ourChallenge: UInt32
    private let decide: @Sendable (_ peer: String, _ flags: DistFlags) -> AcceptDecision
    private let stillWanted: @Sendable (_ peer: String) -> Bool
    private var state: State = .idle
    /// The peer's name: the one we dial, or the one it sends.
    private var peerName: String?
    private var peerFlags: DistFlags = []
    private var peerCreation: UInt32 = 0
    private var replaces = false

    private init(role: Role, identity: HandshakeIdentity, peer: String?, challenge: UInt32,
                 decide: @escaping @Sendable (String, DistFlags) -> AcceptDecision,
                 stillWanted: @escaping @Sendable (String) -> Bool) {
        precondition(identity.nodeName.utf8.count <= 0xFFFF, "node name too long")
        self.role = role
        self.identity = identity
        self.peerName = peer
        self.ourChallenge = challenge
        self.decide = decide
        self.stillWanted = stillWanted
    }

    /// We dial `peer`. `stillWanted` answers the acceptor's `alive` question
    /// ("is this attempt still the one you want?", `net_kernel`'s
    /// `is_pending`). `challenge` should come from a cryptographic source
    /// (the default does).
    public static func initiator(_ identity: HandshakeIdentity, peer: String,
                                 challenge: UInt32 = .random(in: .min ... .max),
                                 stillWanted: @escaping @Sendable (String) -> Bool = { _ in true }) -> Handshake {
        Handshake(role: .initiator, identity: identity, peer: peer, challenge: challenge,
                  decide: { _, _ in .notAllowed }, stillWanted: stillWanted)
    }

    /// A peer dialled us. `decide` is asked once the peer's name and flags
    /// are known (for an old 'n' send_name, only its low flag word; see
    /// ``AcceptDecision`` and
    /// ``AcceptDecision/simultaneousConnect(ourName:peerName:)``).
    public static func acceptor(_ identity: HandshakeIdentity,
                                challenge: UInt32 = .random(in: .min ... .max),
                                decide: @escaping @Sendable (String, DistFlags) -> AcceptDecision = { _, _ in .ok })
        -> Handshake {
        Handshake(role: .acceptor, identity: identity, peer: nil, challenge: challenge,
                  decide: decide, stillWanted: { _ in false })
    }

    /// The packets to send first: the initiator's send_name; nothing for the
    /// acceptor, which waits for the peer's.
    public mutating func start() -> [[UInt8]] {
        guard state == .idle else { return [] }
        switch role {
        case .initiator:
            state = .awaitStatus
            return [HandshakeMessage.name(flags: identity.flags, creation: identity.creation,
                                          name: identity.nodeName)]
        case .acceptor:
            state = .awaitName
            return []
        }
    }

    /// Feeds one packet body (without its 2-byte length). Never throws:
    /// bad input ends the handshake with ``HandshakeStep/failed(_:send:)``,
    /// and so does any packet after the end.
    public mutating func receive(_ body: [UInt8]) -> HandshakeStep {
        if state == .idle {
            // An acceptor may skip start() (it sends nothing first); an
            // initiator that did never sent its name.
            guard role == .acceptor else {
                return fail(.unexpected(peer: peerName, tag: body.first ?? 0, expected: "nothing before start()"))
            }
            state = .awaitName
        }
        guard state != .done else { return .failed(.finished, send: []) }
        let expectsChallenge = role == .initiator && state == .awaitChallenge
        switch HandshakeMessage.parse(body, challenge: expectsChallenge) {
        case .failure(let status):
            return fail(.malformed(peer: peerName, code: status.code))
        case .success(let message):
            return role == .initiator ? initiatorStep(message, tag: body.first ?? 0) : acceptorStep(message, tag: body.first ?? 0)
        }
    }

    // MARK: Initiator

    private mutating func initiatorStep(_ message: HandshakeMessage, tag: UInt8) -> HandshakeStep {
        let peer = peerName ?? ""
        switch (state, message) {
        case (.awaitStatus, .status(let status)):
            switch status {
            case "ok", "ok_simultaneous":
                state = .awaitChallenge
                return .send([])
            case "alive":
                let wanted = stillWanted(peer)
                let answer = HandshakeMessage.status(wanted ? ERGO_DIST_STATUS_TRUE : ERGO_DIST_STATUS_FALSE)
                guard wanted else { return fail(.refused(peer: peer, status: "alive"), send: [answer]) }
                state = .awaitChallenge
                return .send([answer])
            default:
                // nok: the peer keeps its own attempt; not_allowed: refused.
                return fail(.refused(peer: peer, status: status))
            }
        case (.awaitChallenge, .challenge(let flags, let challenge, let creation, let name, let old)):
            guard !old else { return fail(.unexpected(peer: peer, tag: tag, expected: "a version 6 challenge ('N')")) }
            guard name == peer else { return fail(.wrongPeer(expected: peer, actual: name)) }
            peerFlags = flags.expandingMandatory25
            peerCreation = creation
            let missing = peerFlags.missing(identity.required)
            guard missing.isEmpty else { return fail(.missingFlags(peer: peer, missing)) }
            switch HandshakeMessage.digest(cookie: identity.cookie, challenge: challenge) {
            case .failure(let status): return fail(.digest(code: status.code))
            case .success(let digest):
                state = .awaitAck
                return .send([HandshakeMessage.reply(challenge: ourChallenge, digest: digest)])
            }
        case (.awaitAck, .ack(let digest)):
            switch HandshakeMessage.digest(cookie: identity.cookie, challenge: ourChallenge) {
            case .failure(let status): return fail(.digest(code: status.code))
            case .success(let expected):
                guard HandshakeMessage.digestsEqual(digest, expected) else { return fail(.badCookie(peer: peer)) }
                return complete(send: [])
            }
        default:
            return fail(.unexpected(peer: peer, tag: tag, expected: expectation))
        }
    }

    // MARK: Acceptor

    private mutating func acceptorStep(_ message: HandshakeMessage, tag: UInt8) -> HandshakeStep {
        switch (state, message) {
        case (.awaitName, .name(let flags, let creation, let name, let old)):
            peerName = name
            guard !flags.contains(.nameMe), Self.isNodeName(name) else {
                return fail(.badName(name), send: [HandshakeMessage.status(ERGO_DIST_STATUS_NOT_ALLOWED)])
            }
            peerFlags = flags.expandingMandatory25
            peerCreation = creation
            // An old 'n' carries only the low flag word; every flag we
            // require lives there, and the complement brings the rest.
            // A version-5-only peer (old 'n' without HANDSHAKE_23) is
            // refused whatever else it claims.
            var missing = peerFlags.missing(identity.required)
            if old && !flags.contains(.handshake23) { missing.insert(.handshake23) }
            guard missing.isEmpty else {
                return fail(.missingFlags(peer: name, missing), send: [HandshakeMessage.status(ERGO_DIST_STATUS_NOT_ALLOWED)])
            }
            let next: State = old ? .awaitComplement : .awaitReply
            switch decide(name, peerFlags) {
            case .ok: return challenge(after: HandshakeMessage.status(ERGO_DIST_STATUS_OK), next: next)
            case .okSimultaneous: return challenge(after: HandshakeMessage.status(ERGO_DIST_STATUS_OK_SIMULTANEOUS), next: next)
            case .nok: return fail(.rejected(peer: name, decision: .nok), send: [HandshakeMessage.status(ERGO_DIST_STATUS_NOK)])
            case .notAllowed:
                return fail(.rejected(peer: name, decision: .notAllowed), send: [HandshakeMessage.status(ERGO_DIST_STATUS_NOT_ALLOWED)])
            case .alive:
                replaces = true
                state = .awaitAliveAnswer
                oldPeer = old
                return .send([HandshakeMessage.status(ERGO_DIST_STATUS_ALIVE)])
            }
        case (.awaitAliveAnswer, .status(let answer)):
            let peer = peerName ?? ""
            switch answer {
            case "true": return challenge(after: nil, next: oldPeer ? .awaitComplement : .awaitReply)
            case "false": return fail(.abandoned(peer: peer))
            default: return fail(.unexpected(peer: peer, tag: tag, expected: "'true' or 'false'"))
            }
        case (.awaitComplement, .complement(let high, let creation)):
            let low = peerFlags.rawValue & 0xFFFF_FFFF
            peerFlags = DistFlags(rawValue: low | (high.rawValue & 0xFFFF_FFFF_0000_0000)).expandingMandatory25
            peerCreation = creation
            state = .awaitReply
            return .send([])
        case (.awaitReply, .reply(let challenge, let digest)):
            let peer = peerName ?? ""
            switch HandshakeMessage.digest(cookie: identity.cookie, challenge: ourChallenge) {
            case .failure(let status): return fail(.digest(code: status.code))
            case .success(let expected):
                guard HandshakeMessage.digestsEqual(digest, expected) else { return fail(.badCookie(peer: peer)) }
            }
            switch HandshakeMessage.digest(cookie: identity.cookie, challenge: challenge) {
            case .failure(let status): return fail(.digest(code: status.code))
            case .success(let answer): return complete(send: [HandshakeMessage.ack(digest: answer)])
            }
        default:
            return fail(.unexpected(peer: peerName, tag: tag, expected: expectation))
        }
    }

    private var oldPeer = false

    /// The status (if any), then our challenge.
    private mutating func challenge(after status: [UInt8]?, next: State) -> HandshakeStep {
        state = next
        let challenge = HandshakeMessage.challenge(flags: identity.flags, challenge: ourChallenge,
                                                   creation: identity.creation, name: identity.nodeName)
        return .send((status.map { [$0] } ?? []) + [challenge])
    }

    // MARK: Ending

    private mutating func complete(send: [[UInt8]]) -> HandshakeStep {
        state = .done
        let peer = DistPeer(name: peerName ?? "", flags: peerFlags,
                            negotiated: identity.flags.intersection(peerFlags),
                            creation: peerCreation, replacesConnection: replaces)
        return .completed(peer, send: send)
    }

    private mutating func fail(_ error: HandshakeError, send: [[UInt8]] = []) -> HandshakeStep {
        state = .done
        return .failed(error, send: send)
    }

    private var expectation: String {
        switch state {
        case .awaitStatus: return "a status ('s')"
        case .awaitChallenge: return "a challenge ('N')"
        case .awaitAck: return "a challenge_ack ('a')"
        case .awaitName: return "a send_name ('N' or 'n')"
        case .awaitAliveAnswer: return "an answer to alive ('s')"
        case .awaitComplement: return "a complement ('c')"
        case .awaitReply: return "a challenge_reply ('r')"
        case .idle, .done: return "nothing"
        }
    }

    /// `name@host` with both parts non-empty (static names only).
    static func isNodeName(_ name: String) -> Bool {
        let parts = name.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty
    }
}
