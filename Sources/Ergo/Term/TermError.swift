/// Errors of the term layer: decoding, encoding, parsing and atom interning.
public enum TermError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The C codec refused the input: `code` is its ERGO_ETF_E_* value,
    /// `offset` the byte where decoding stopped.
    case decode(code: Int32, reason: String, offset: Int)
    /// The C encoder refused a value (too large, out of range).
    case encode(code: Int32, reason: String)
    /// The atom table is full (see ``AtomTable/limit``).
    case atomTableFull(Int)
    /// An atom longer than 255 characters.
    case atomTooLong(Int)
    /// Erlang term syntax that does not parse.
    case parse(message: String, offset: Int)

    public var description: String {
        switch self {
        case let .decode(code, reason, offset):
            return "ETF decode error \(code) (\(reason)) at byte \(offset)"
        case let .encode(code, reason):
            return "ETF encode error \(code) (\(reason))"
        case let .atomTableFull(limit):
            return "atom table full (\(limit) atoms)"
        case let .atomTooLong(n):
            return "atom too long (\(n) characters, at most 255)"
        case let .parse(message, offset):
            return "term syntax error at offset \(offset): \(message)"
        }
    }
}
