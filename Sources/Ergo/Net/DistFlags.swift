import CErgoCore

/// The capability flags of the distribution handshake (`DFLAG_*` in OTP's
/// `dist.hrl`, "Distribution Flags" in the protocol document), over the C
/// core's constants.
public struct DistFlags: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let published = DistFlags(rawValue: ERGO_DIST_DFLAG_PUBLISHED)
    public static let atomCache = DistFlags(rawValue: ERGO_DIST_DFLAG_ATOM_CACHE)
    public static let extendedReferences = DistFlags(rawValue: ERGO_DIST_DFLAG_EXTENDED_REFERENCES)
    public static let distMonitor = DistFlags(rawValue: ERGO_DIST_DFLAG_DIST_MONITOR)
    public static let funTags = DistFlags(rawValue: ERGO_DIST_DFLAG_FUN_TAGS)
    public static let distMonitorName = DistFlags(rawValue: ERGO_DIST_DFLAG_DIST_MONITOR_NAME)
    public static let hiddenAtomCache = DistFlags(rawValue: ERGO_DIST_DFLAG_HIDDEN_ATOM_CACHE)
    public static let newFunTags = DistFlags(rawValue: ERGO_DIST_DFLAG_NEW_FUN_TAGS)
    public static let extendedPidsPorts = DistFlags(rawValue: ERGO_DIST_DFLAG_EXTENDED_PIDS_PORTS)
    public static let exportPtrTag = DistFlags(rawValue: ERGO_DIST_DFLAG_EXPORT_PTR_TAG)
    public static let bitBinaries = DistFlags(rawValue: ERGO_DIST_DFLAG_BIT_BINARIES)
    public static let newFloats = DistFlags(rawValue: ERGO_DIST_DFLAG_NEW_FLOATS)
    public static let unicodeIO = DistFlags(rawValue: ERGO_DIST_DFLAG_UNICODE_IO)
    public static let distHdrAtomCache = DistFlags(rawValue: ERGO_DIST_DFLAG_DIST_HDR_ATOM_CACHE)
    public static let smallAtomTags = DistFlags(rawValue: ERGO_DIST_DFLAG_SMALL_ATOM_TAGS)
    public static let utf8Atoms = DistFlags(rawValue: ERGO_DIST_DFLAG_UTF8_ATOMS)
    public static let mapTag = DistFlags(rawValue: ERGO_DIST_DFLAG_MAP_TAG)
    public static let bigCreation = DistFlags(rawValue: ERGO_DIST_DFLAG_BIG_CREATION)
    public static let sendSender = DistFlags(rawValue: ERGO_DIST_DFLAG_SEND_SENDER)
    public static let bigSeqtraceLabels = DistFlags(rawValue: ERGO_DIST_DFLAG_BIG_SEQTRACE_LABELS)
    public static let exitPayload = DistFlags(rawValue: ERGO_DIST_DFLAG_EXIT_PAYLOAD)
    public static let fragments = DistFlags(rawValue: ERGO_DIST_DFLAG_FRAGMENTS)
    public static let handshake23 = DistFlags(rawValue: ERGO_DIST_DFLAG_HANDSHAKE_23)
    public static let unlinkID = DistFlags(rawValue: ERGO_DIST_DFLAG_UNLINK_ID)
    public static let mandatory25Digest = DistFlags(rawValue: ERGO_DIST_DFLAG_MANDATORY_25_DIGEST)
    public static let spawn = DistFlags(rawValue: ERGO_DIST_DFLAG_SPAWN)
    public static let nameMe = DistFlags(rawValue: ERGO_DIST_DFLAG_NAME_ME)
    public static let v4NC = DistFlags(rawValue: ERGO_DIST_DFLAG_V4_NC)
    public static let alias = DistFlags(rawValue: ERGO_DIST_DFLAG_ALIAS)

    /// What this node advertises: exactly what is implemented. A hidden node
    /// leaves out ``published`` (see ``advertised(hidden:)``).
    public static let advertised: DistFlags = [
        .published,           // a visible node (hidden nodes drop it)
        .extendedReferences,  // references with up to 5 id words (mandatory since OTP 23)
        .distMonitor,         // MONITOR_P / DEMONITOR_P / MONITOR_P_EXIT
        .distMonitorName,     // monitors of registered names ({Name, Node})
        .funTags,             // NEW_FUN_EXT is decoded and encoded (OTP 25 mandatory)
        .newFunTags,          // as above, the OTP R9+ form (mandatory since OTP 23)
        .extendedPidsPorts,   // NEW_PID_EXT / NEW_PORT_EXT (mandatory since OTP 23)
        .exportPtrTag,        // EXPORT_EXT, `fun M:F/A` (OTP 25 mandatory)
        .bitBinaries,         // BIT_BINARY_EXT (OTP 25 mandatory)
        .newFloats,           // NEW_FLOAT_EXT (OTP 25 mandatory)
        .distHdrAtomCache,    // the distribution header's atom cache, both ways
        .smallAtomTags,       // SMALL_ATOM_EXT / SMALL_ATOM_UTF8_EXT are read
        .utf8Atoms,           // UTF-8 atoms (mandatory since OTP 23)
        .mapTag,              // MAP_EXT (OTP 25 mandatory)
        .bigCreation,         // 32-bit creations (mandatory since OTP 23)
        .sendSender,          // SEND_SENDER, the sender named in sends
        .exitPayload,         // PAYLOAD_EXIT / PAYLOAD_EXIT2 / PAYLOAD_MONITOR_P_EXIT
        .fragments,           // fragmented messages, sent and reassembled
        .handshake23,         // handshake version 6 (OTP 25 mandatory)
        .unlinkID,            // the new link protocol (OTP 26 mandatory)
        .mandatory25Digest,   // "all of OTP 25's mandatory flags" (OTP 27 mandatory)
        .v4NC,                // 64-bit port ids (V4_PORT_EXT) (OTP 26 mandatory)
        .alias,               // ALIAS_SEND and alias references
        // Not advertised: SPAWN (spawn requests are a later issue; rpc:call
        // to this node answers {badrpc, notsup}), NAME_ME (dynamic names),
        // UNICODE_IO (no group leaders or io protocol), BIG_SEQTRACE_LABELS
        // (no sequential tracing: _TT messages are refused), the old
        // ATOM_CACHE and HIDDEN_ATOM_CACHE.
    ]

    /// ``advertised``, less ``published`` for a hidden node.
    public static func advertised(hidden: Bool) -> DistFlags {
        hidden ? advertised.subtracting(.published) : advertised
    }

    /// What a peer must have for this node to talk to it: OTP 25's mandatory
    /// set (which every OTP 23+ node sends) and UNLINK_ID, since links here
    /// speak only the new link protocol.
    public static let required = DistFlags(rawValue: ERGO_DIST_MANDATORY_OTP25).union(.unlinkID)

    /// The flags Erlang/OTP `release` (23...28) requires of a peer; empty
    /// for other releases.
    public static func mandatory(otpRelease release: Int) -> DistFlags {
        guard (23...28).contains(release) else { return [] }
        return DistFlags(rawValue: ergo_dist_mandatory_flags(UInt32(release)))
    }

    /// The flags of `required` this set lacks, counting
    /// ``mandatory25Digest`` as all of OTP 25's mandatory flags, as OTP does.
    public func missing(_ required: DistFlags) -> DistFlags {
        DistFlags(rawValue: ergo_dist_missing_flags(rawValue, required.rawValue))
    }

    /// With ``mandatory25Digest`` expanded into the flags it stands for.
    public var expandingMandatory25: DistFlags {
        contains(.mandatory25Digest) ? union(DistFlags(rawValue: ERGO_DIST_MANDATORY_OTP25)) : self
    }

    private static let names: [(DistFlags, String)] = [
        (.published, "PUBLISHED"), (.atomCache, "ATOM_CACHE"), (.extendedReferences, "EXTENDED_REFERENCES"),
        (.distMonitor, "DIST_MONITOR"), (.funTags, "FUN_TAGS"), (.distMonitorName, "DIST_MONITOR_NAME"),
        (.hiddenAtomCache, "HIDDEN_ATOM_CACHE"), (.newFunTags, "NEW_FUN_TAGS"),
        (.extendedPidsPorts, "EXTENDED_PIDS_PORTS"), (.exportPtrTag, "EXPORT_PTR_TAG"),
        (.bitBinaries, "BIT_BINARIES"), (.newFloats, "NEW_FLOATS"), (.unicodeIO, "UNICODE_IO"),
        (.distHdrAtomCache, "DIST_HDR_ATOM_CACHE"), (.smallAtomTags, "SMALL_ATOM_TAGS"),
        (.utf8Atoms, "UTF8_ATOMS"), (.mapTag, "MAP_TAG"), (.bigCreation, "BIG_CREATION"),
        (.sendSender, "SEND_SENDER"), (.bigSeqtraceLabels, "BIG_SEQTRACE_LABELS"),
        (.exitPayload, "EXIT_PAYLOAD"), (.fragments, "FRAGMENTS"), (.handshake23, "HANDSHAKE_23"),
        (.unlinkID, "UNLINK_ID"), (.mandatory25Digest, "MANDATORY_25_DIGEST"), (.spawn, "SPAWN"),
        (.nameMe, "NAME_ME"), (.v4NC, "V4_NC"), (.alias, "ALIAS"),
    ]

    /// The `DFLAG_` names of the set bits, as `dist_util` prints them
    /// (unknown bits in hex).
    public var names: [String] {
        var rest = rawValue
        var out: [String] = []
        for (flag, name) in Self.names where contains(flag) {
            out.append(name)
            rest &= ~flag.rawValue
        }
        if rest != 0 { out.append("0x" + String(rest, radix: 16)) }
        return out
    }

    public var description: String { "[" + names.joined(separator: ", ") + "]" }
}
