// How containers find their values in a term: a map or proplist by name, a
// tuple by field order, an enum case by tag.

extension TermDecodingContext {
    /// The pairs of a map, or of a proplist (`{Key, Value}` or a bare atom,
    /// which means `{Atom, true}`).
    func pairs<T>(of term: Term, as type: T.Type, at path: [any CodingKey]) throws -> [(Term, Term)] {
        switch term {
        case let .map(m):
            return m.entries.map { ($0.key, $0.value) }
        case let .list(items):
            return try proplist(items, at: path)
        default:
            throw mismatch(T.self, expected: "a map or a proplist", found: term, at: path)
        }
    }

    func proplist(_ items: [Term], at path: [any CodingKey]) throws -> [(Term, Term)] {
        var out: [(Term, Term)] = []
        out.reserveCapacity(items.count)
        for (n, item) in items.enumerated() {
            switch item {
            case let .tuple(e) where e.count == 2:
                out.append((e[0], e[1]))
            case .atom:
                out.append((item, .atom(.true)))
            default:
                throw DecodingError.typeMismatch((Term, Term).self, .init(
                    codingPath: path + [TermCodingKey(index: n)],
                    debugDescription: "expected a proplist element ({Key, Value} or an atom), found \(TermSummary.describe(item))"))
            }
        }
        return out
    }

    /// Where a keyed container over `term` finds its values.
    func fieldSource(_ term: Term, keyType: any CodingKey.Type, recordTag: Atom?,
                     at path: [any CodingKey]) throws -> FieldSource
    {
        switch term {
        case let .map(m):
            return .named(NamedFields(m.entries))
        case let .list(items):
            return .named(NamedFields(proplist: try proplist(items, at: path)))
        case let .tuple(elements):
            return try tupleSource(elements, term: term, keyType: keyType, recordTag: recordTag, at: path)
        case let .atom(a) where recordTag == nil:
            return .tagged(a, args: [], source: term)
        default:
            let what = recordTag.map { "a record {\($0), …}" } ?? "a map, a proplist or a tuple"
            throw DecodingError.typeMismatch([String: Term].self, .init(
                codingPath: path, debugDescription: "expected \(what), found \(TermSummary.describe(term))"))
        }
    }

    private func tupleSource(_ elements: [Term], term: Term, keyType: any CodingKey.Type, recordTag: Atom?,
                             at path: [any CodingKey]) throws -> FieldSource
    {
        guard let names = caseNames(of: keyType) else {
            if let tag = recordTag {
                throw DecodingError.dataCorrupted(.init(
                    codingPath: path,
                    debugDescription: "record \(tag) is read by field order, which needs CodingKeys that are CaseIterable"))
            }
            if case let .atom(tag) = elements.first {
                return .tagged(tag, args: Array(elements.dropFirst()), source: term)
            }
            throw DecodingError.typeMismatch([String: Term].self, .init(
                codingPath: path,
                debugDescription: "found \(TermSummary.describe(term)): reading a struct from a tuple goes by field order, which needs CodingKeys that are CaseIterable"))
        }
        let fields = "(" + names.joined(separator: ", ") + ")"
        if let tag = recordTag {
            guard elements.first == .atom(tag) else {
                throw DecodingError.typeMismatch([String: Term].self, .init(
                    codingPath: path, debugDescription: "expected a record {\(tag), …}, found \(TermSummary.describe(term))"))
            }
            guard elements.count == names.count + 1 else {
                throw DecodingError.dataCorrupted(.init(
                    codingPath: path,
                    debugDescription: "expected record \(tag) with \(names.count) fields \(fields), found \(elements.count - 1): \(TermSummary.describe(term))"))
            }
            return .positional(Array(elements.dropFirst()), names: names)
        }
        if elements.count == names.count {
            return .positional(elements, names: names)
        }
        if elements.count == names.count + 1, case .atom = elements[0] {
            return .positional(Array(elements.dropFirst()), names: names)  // {Tag, Fields…}
        }
        if case let .atom(tag) = elements.first,
           names.contains(where: { options.keyStrategy.termName($0) == tag.name })
        {
            return .tagged(tag, args: Array(elements.dropFirst()), source: term)
        }
        throw DecodingError.dataCorrupted(.init(
            codingPath: path,
            debugDescription: "expected a tuple of \(names.count) fields \(fields), found \(elements.count) elements: \(TermSummary.describe(term))"))
    }

    /// The elements an unkeyed container reads: a list's, or a tuple's.
    func elements(of term: Term, at path: [any CodingKey]) throws -> [Term] {
        switch term {
        case let .list(items): return items
        case let .tuple(items): return items
        default: throw mismatch([Term].self, expected: "a list", found: term, at: path)
        }
    }
}

/// Where a keyed container finds its values.
enum FieldSource {
    /// A map or a proplist: values by name (atom or binary keys) and by
    /// integer key.
    case named(NamedFields)
    /// A tuple read by field order: element i is the field `names[i]`.
    case positional([Term], names: [String])
    /// An enum case: `tag`, or `{tag, V1, V2…}`.
    case tagged(Atom, args: [Term], source: Term)
    /// The associated values of an enum case, by position.
    case payload([Term], PayloadSlots)
}

/// A map's or proplist's values by key (an atom or binary named like the
/// field, or an integer); the first of repeated keys wins. Small ones are
/// searched in order; large ones get an index on first use.
final class NamedFields {
    let entries: [TermMap.Entry]
    private var index: [String: Int]?

    init(_ entries: [TermMap.Entry]) { self.entries = entries }

    convenience init(proplist pairs: [(Term, Term)]) {
        self.init(pairs.map { TermMap.Entry(key: $0.0, value: $0.1) })
    }

    /// The value whose key is the atom or binary `name`.
    func value(named name: String) -> Term? {
        if entries.count > 16 {
            if index == nil { index = makeIndex() }
            return index![name].map { entries[$0].value }
        }
        for e in entries where NamedFields.key(e.key, isNamed: name) { return e.value }
        return nil
    }

    /// The value whose key is the integer `i`.
    func value(at i: Int) -> Term? {
        entries.first(where: { $0.key == .int(i) })?.value
    }

    /// Keys with a name or an integer, each once, in order.
    var keys: [Term] {
        var names = Set<String>()
        var ints = Set<Int>()
        return entries.compactMap { e in
            switch e.key {
            case let .atom(a): return names.insert(a.name).inserted ? e.key : nil
            case let .binary(b): return b.utf8String.flatMap { names.insert($0).inserted ? e.key : nil }
            case let .int(i): return ints.insert(i).inserted ? e.key : nil
            default: return nil
            }
        }
    }

    private static func key(_ key: Term, isNamed name: String) -> Bool {
        switch key {
        case let .atom(a): return a.name == name
        case let .binary(b): return b.withUnsafeBytes { $0.elementsEqual(name.utf8) }
        default: return false
        }
    }

    private func makeIndex() -> [String: Int] {
        var index: [String: Int] = [:]
        for (i, e) in entries.enumerated() {
            let name: String?
            switch e.key {
            case let .atom(a): name = a.name
            case let .binary(b): name = b.utf8String
            default: name = nil
            }
            if let name, index[name] == nil { index[name] = i }
        }
        return index
    }
}

/// Which associated value a key of an enum case reads: `_N` is position N;
/// otherwise the key type's order when it is `CaseIterable`, else the order
/// in which keys are first asked for (declared order, for synthesized code).
final class PayloadSlots {
    let names: [String]?
    private var seen: [String: Int] = [:]

    init(keyType: any CodingKey.Type) { names = caseNames(of: keyType) }

    func slot(for key: any CodingKey) -> Int {
        if let n = key.associatedValueIndex {
            if seen[key.stringValue] == nil { seen[key.stringValue] = n }
            return n
        }
        if let names, let i = names.firstIndex(of: key.stringValue) { return i }
        if let i = seen[key.stringValue] { return i }
        let i = seen.count
        seen[key.stringValue] = i
        return i
    }
}
