

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

    /// An atom already in the table (the decoder's memo hands these out).
    init(index: UInt32) { self.index = index }

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

    /// Calls `body` with the atom's UTF-8 text (no copy, no lock).
    @inline(__always)
    public func withUTF8<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        let e = AtomTable.shared.entry(index)
        return try body(UnsafeBufferPointer(start: e.pointee.utf8, count: e.pointee.count))
    }

    /// Erlang syntax: quoted when it must be (`'hello world'`, `'Upper'`).
    public var description: String { AtomSyntax.quoted(name) }

    /// Atoms order alphabetically by text, as in Erlang's term order.
    public static func < (lhs: Atom, rhs: Atom) -> Bool {
        lhs != rhs && lhs.withUTF8 { l in rhs.withUTF8 { r in l.lexicographicallyPrecedes(r) } }
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

/// The one process-wide atom table.
///
/// Atoms are immortal, as in the BEAM: an entry, once written, never changes
/// or moves. Interning takes a short lock; reading an atom's text takes none
/// (entries live in fixed chunks whose addresses never change, and an `Atom`
/// value can only be had after its entry was written).
public final class AtomTable: @unchecked Sendable {
    /// The most atoms the table holds before ``Atom/init(external:)`` refuses
    /// new ones (the BEAM's default `+t` limit).
    public static let limit = 1_048_576
    /// Atoms written in code may go past ``limit`` up to this hard cap;
    /// past it the program stops, as the BEAM does when its table is full.
    static let hardCap = limit * 4

    static let shared = AtomTable()

    struct Entry {
        let name: String
        /// NUL-terminated UTF-8 text, immortal.
        let utf8: UnsafePointer<UInt8>
        let count: Int
        /// The atom in ETF (SMALL_ATOM_UTF8_EXT or ATOM_UTF8_EXT), just
        /// before `utf8` in the same allocation; 0 bytes when the atom is
        /// too long for ETF (more than 255 characters).
        let etfCount: Int
        var etf: UnsafePointer<UInt8> { utf8 - (etfCount - count) }
    }

    private static let chunkBits = 12
    private static let chunkSize = 1 << chunkBits
    private let chunks: UnsafeMutablePointer<UnsafeMutablePointer<Entry>?>
    /// Keyed by the UTF-8 bytes, not by `String`: Swift compares strings by
    /// canonical equivalence, but 'é' (U+00E9) and 'é' (e, U+0301), or ';'
    /// and U+037E, are distinct atoms in Erlang.
    private let index = Locked([[UInt8]: UInt32]())

    private init() {
        let n = AtomTable.hardCap / AtomTable.chunkSize
        chunks = .allocate(capacity: n)
        chunks.initialize(repeating: nil, count: n)
    }

    /// Number of atoms interned so far.
    public static var count: Int { shared.index.withLock { $0.count } }

    func intern(_ name: String, bounded: Bool) -> UInt32? {
        let utf8 = Array(name.utf8)
        return index.withLock { map in
            if let i = map[utf8] { return i }
            if bounded && map.count >= AtomTable.limit { return nil }
            precondition(map.count < AtomTable.hardCap, "atom table full (\(AtomTable.hardCap) atoms)")
            let i = UInt32(map.count)
            let chunk = Int(i) >> AtomTable.chunkBits
            if chunks[chunk] == nil { chunks[chunk] = .allocate(capacity: AtomTable.chunkSize) }
            // [ETF header][text][NUL]: the encoder copies header and text
            // in one go, without checking the text again.
            let encodable = name.unicodeScalars.count <= Atom.maxCharacters
            let header: [UInt8] = !encodable ? []
                : utf8.count < 256 ? [119, UInt8(utf8.count)]
                : [118, UInt8(utf8.count >> 8), UInt8(utf8.count & 0xFF)]
            let block = UnsafeMutablePointer<UInt8>.allocate(capacity: header.count + utf8.count + 1)
            block.initialize(from: header, count: header.count)
            let text = block + header.count
            text.initialize(from: utf8, count: utf8.count)
            text[utf8.count] = 0
            (chunks[chunk]! + (Int(i) & (AtomTable.chunkSize - 1)))
                .initialize(to: Entry(name: name, utf8: UnsafePointer(text), count: utf8.count,
                                      etfCount: encodable ? header.count + utf8.count : 0))
            map[utf8] = i
            return i
        }
    }

    @inline(__always)
    func entry(_ i: UInt32) -> UnsafePointer<Entry> {
        UnsafePointer(chunks[Int(i) >> AtomTable.chunkBits]! + (Int(i) & (AtomTable.chunkSize - 1)))
    }

    func name(of i: UInt32) -> String { entry(i).pointee.name }
}
