/// An Erlang term.
///
/// Each value has one representation: integers that fit `Int` are `.int`,
/// larger ones `.bigInt`; `[]` is `.list([])`; a proper list is `.list`, an
/// improper one `.improperList`. A list of small integers stays a list (it is
/// the decoding target's choice to read it as a `String`); strings written as
/// Swift literals become atoms, since atoms tag nearly every message.
///
/// Equality is exact (`=:=`), except that floats compare as Swift `Double`s
/// (`0.0 == -0.0`); maps are equal when they hold the same pairs in any order.
public enum Term: Hashable, Sendable {
    case int(Int)
    case bigInt(BigInteger)
    case float(Double)
    case atom(Atom)
    case tuple([Term])
    /// A proper list; `.list([])` is `[]` (nil).
    case list([Term])
    /// `[e1, e2 | tail]` where tail is not a list.
    indirect case improperList([Term], tail: Term)
    case binary(Binary)
    indirect case bitString(BitString)
    case map(TermMap)
    case pid(PID)
    case port(Port)
    case ref(Ref)
    indirect case fun(Fun)
    case export(Export)

    /// `[]`.
    public static let `nil` = Term.list([])

    /// An integer term from a bignum, normalised to `.int` when it fits.
    public static func integer(_ value: BigInteger) -> Term {
        if let i = value.intValue { return .int(i) }
        return .bigInt(value)
    }

    /// A binary holding the UTF-8 text (how Elixir writes strings).
    public static func string(_ text: String) -> Term { .binary(Binary(utf8: text)) }

    /// A list of the text's Unicode code points (how Erlang writes strings).
    public static func charlist(_ text: String) -> Term {
        .list(text.unicodeScalars.map { .int(Int($0.value)) })
    }

    /// `true` or `false`.
    public static func bool(_ value: Bool) -> Term { .atom(value ? .true : .false) }

    /// The atom, if this is one.
    public var atomValue: Atom? { if case let .atom(a) = self { return a } else { return nil } }

    /// The elements of a tuple.
    public var tupleElements: [Term]? { if case let .tuple(e) = self { return e } else { return nil } }

    /// The elements of a proper list.
    public var listElements: [Term]? { if case let .list(e) = self { return e } else { return nil } }

    /// The integer, if this is one that fits `Int`.
    public var intValue: Int? { if case let .int(i) = self { return i } else { return nil } }
}

extension Term: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByStringLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .float(value) }
    /// A string literal is an atom: `["ok", 1]` is `[ok, 1]`.
    public init(stringLiteral value: String) { self = .atom(Atom(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An array literal is a proper list.
    public init(arrayLiteral elements: Term...) { self = .list(elements) }
    public init(dictionaryLiteral elements: (Term, Term)...) {
        self = .map(TermMap(elements.map { TermMap.Entry(key: $0.0, value: $0.1) }))
    }
}

extension Term: CustomStringConvertible {
    /// The term in Erlang syntax on one line, as `io:format("~0tp", [T])`.
    public var description: String { TermPrinter.print(self) }
}

/// An Erlang map: pairs in the order they were built or decoded (so a decoded
/// map encodes back to the same bytes), with lookup by key. Two maps are
/// equal when they hold the same pairs, whatever the order.
public struct TermMap: Hashable, Sendable, RandomAccessCollection {
    public struct Entry: Hashable, Sendable {
        public var key: Term
        public var value: Term
        public init(key: Term, value: Term) {
            self.key = key
            self.value = value
        }
    }

    public private(set) var entries: [Entry]

    public init() { entries = [] }

    /// Pairs in order; a repeated key keeps its last value at its first place.
    public init(_ entries: [Entry]) {
        self.entries = []
        self.entries.reserveCapacity(entries.count)
        for e in entries { self[e.key] = e.value }
    }

    /// Pairs exactly as given, trusting that keys are distinct (the decoder's
    /// path: ETF from a correct peer never repeats a key).
    public init(uncheckedEntries entries: [Entry]) { self.entries = entries }

    public var startIndex: Int { 0 }
    public var endIndex: Int { entries.count }
    public subscript(position: Int) -> Entry { entries[position] }

    /// The value for `key`; setting `nil` removes the pair.
    public subscript(key: Term) -> Term? {
        get { entries.first(where: { $0.key == key })?.value }
        set {
            if let i = entries.firstIndex(where: { $0.key == key }) {
                if let v = newValue { entries[i].value = v } else { entries.remove(at: i) }
            } else if let v = newValue {
                entries.append(Entry(key: key, value: v))
            }
        }
    }

    public static func == (a: TermMap, b: TermMap) -> Bool {
        guard a.entries.count == b.entries.count else { return false }
        if a.entries == b.entries { return true }
        if a.entries.count <= 8 {
            return a.entries.allSatisfy { e in b[e.key] == e.value }
        }
        var index: [Term: Term] = [:]
        index.reserveCapacity(b.entries.count)
        for e in b.entries { index[e.key] = e.value }
        return a.entries.allSatisfy { e in index[e.key] == e.value }
    }

    public func hash(into hasher: inout Hasher) {
        // Order-independent: combine the entries' own hashes commutatively.
        var sum = 0
        for e in entries { sum &+= e.hashValue }
        hasher.combine(entries.count)
        hasher.combine(sum)
    }
}
