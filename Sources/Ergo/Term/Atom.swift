import Synchronization

/// An Erlang atom: a name interned once in the process-wide atom table, as the
/// BEAM does, and compared by index.
///
/// Atoms made by Swift code (`Atom("ok")`, `"ok" as Atom`) always succeed.
/// Atoms that arrive from outside (decoded ETF, parsed text) are bounded by
/// ``AtomTable/limit``: past it, decoding fails with ``TermError/atomTableFull``
/// instead of growing the table without end.
public struct Atom: Hashable, Sendable, Comparable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    /// Index in the atom table.
    public let index: UInt32

    /// Interns `name` (never fails; use for names written in code).
    public init(_ name: String) {
        index = AtomTable.shared.intern(name, bounded: false)!
    }

    public init(stringLiteral value: String) { self.init(value) }

    /// Interns a name that came from outside, within the table's bound.
    /// Throws ``TermError/atomTableFull`` when the table is full, and
    /// ``TermError/atomTooLong`` past 255 characters.
    public init(external name: String) throws(TermError) {
        guard name.unicodeScalars.count <= Atom.maxCharacters else {
            throw .atomTooLong(name.unicodeScalars.count)
        }
        guard let i = AtomTable.shared.intern(name, bounded: true) else {
            throw .atomTableFull(AtomTable.limit)
        }
        index = i
    }

    /// The atom's text.
    public var name: String { AtomTable.shared.name(of: index) }

    /// Erlang syntax: quoted when it must be (`'hello world'`, `'Upper'`).
    public var description: String { AtomSyntax.quoted(name) }

    /// Atoms order alphabetically by text, as in Erlang's term order.
    public static func < (lhs: Atom, rhs: Atom) -> Bool {
        lhs != rhs && Array(lhs.name.utf8).lexicographicallyPrecedes(Array(rhs.name.utf8))
    }

    /// The most characters an atom may have (as in ERTS).
    public static let maxCharacters = 255

    public static let `true`: Atom = "true"
    public static let `false`: Atom = "false"
    public static let undefined: Atom = "undefined"
    public static let ok: Atom = "ok"
    public static let error: Atom = "error"
    /// The node name of a process that is not distributed.
    public static let nonode: Atom = "nonode@nohost"
}

/// The one process-wide atom table. Reads and writes take a short lock.
public final class AtomTable: Sendable {
    /// The most atoms the table holds before ``Atom/init(external:)`` refuses
    /// new ones (the BEAM's default `+t` limit).
    public static let limit = 1_048_576

    static let shared = AtomTable()

    private struct State {
        var names: [String] = []
        var indices: [String: UInt32] = [:]
    }
    private let state = Mutex(State())

    /// Number of atoms interned so far.
    public static var count: Int { shared.state.withLock { $0.names.count } }

    func intern(_ name: String, bounded: Bool) -> UInt32? {
        state.withLock { s in
            if let i = s.indices[name] { return i }
            if bounded && s.names.count >= AtomTable.limit { return nil }
            let i = UInt32(s.names.count)
            s.names.append(name)
            s.indices[name] = i
            return i
        }
    }

    func name(of index: UInt32) -> String {
        state.withLock { $0.names[Int(index)] }
    }
}
