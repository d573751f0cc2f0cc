import CErgoCore

/// Why a connection's codec refused a packet or a message. Any of these on
/// receive means the connection must be dropped (its atom cache and
/// fragment state can no longer be trusted).
public enum DistCodecError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The distribution header, atom cache or fragment sequence is bad, or
    /// past a limit (`code` is the C codec's ERGO_DIST_E_*).
    case packet(code: Int32)
    /// A term of the message does not decode.
    case term(TermError)
    /// The control message is not one this node reads.
    case control(DistControlError)
    /// Encoding failed (a term past the size limit, or an ETF/dist code).
    case encode(code: Int32)

    public var description: String {
        switch self {
        case let .packet(code): return "distribution packet refused: \(String(cString: ergo_dist_strerror(code)))"
        case let .term(error): return "distribution message: \(error)"
        case let .control(error): return "distribution control message: \(error)"
        case let .encode(code): return "distribution encode failed: \(String(cString: ergo_dist_strerror(code)))"
        }
    }
}
