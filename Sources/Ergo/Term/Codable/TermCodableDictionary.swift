// Dictionaries are maps keyed by the keys' own terms, whatever the key type:
// `String` keys are binaries (or atoms, by option), an `Int` key is an
// integer, a struct key is the struct's term. Swift's own `Dictionary` coding
// (a keyed container for `String`/`Int` keys, a flat list of keys and values
// otherwise) is bypassed.

protocol TermEncodableDictionary {
    func termMap(encoder: TermEncoderCore, at path: [any CodingKey]) throws -> Term
}

protocol TermDecodableDictionary {
    static func fromTerm(_ term: Term, context: TermDecodingContext, at path: [any CodingKey]) throws -> Self
}

extension Dictionary: TermEncodableDictionary where Key: Encodable, Value: Encodable {
    func termMap(encoder: TermEncoderCore, at path: [any CodingKey]) throws -> Term {
        var entries: [TermMap.Entry] = []
        entries.reserveCapacity(count)
        for (key, value) in self {
            let keyTerm: Term
            if Key.self == String.self {
                let s = key as! String
                keyTerm = try encoder.context.dictionaryKey(s, at: path + [TermCodingKey(stringValue: s)])
            } else if Key.self == Int.self {
                keyTerm = .int(key as! Int)
            } else {
                keyTerm = try encoder.box(key, at: path + [TermCodingKey(stringValue: String(describing: key))])
            }
            let valueTerm = try encoder.box(value, at: path + [TermCodingKey(mapKey: keyTerm)])
            entries.append(TermMap.Entry(key: keyTerm, value: valueTerm))
        }
        return .map(TermMap(distinct: entries))
    }
}

extension Dictionary: TermDecodableDictionary where Key: Decodable, Value: Decodable {
    static func fromTerm(_ term: Term, context: TermDecodingContext, at path: [any CodingKey]) throws -> Self {
        let pairs = try context.pairs(of: term, as: Self.self, at: path)
        var out = Self(minimumCapacity: pairs.count)
        for (k, v) in pairs {
            let key = try context.unbox(k, as: Key.self, at: path + [TermCodingKey(mapKey: k)])
            // As `proplists:get_value/2`: the first of repeated keys wins.
            if out[key] == nil {
                out[key] = try context.unbox(v, as: Value.self, at: path + [TermCodingKey(mapKey: k)])
            }
        }
        return out
    }
}

extension TermMap {
    /// A map of `entries` whose keys should be distinct; should two be equal
    /// after all, the last value wins at the first one's place (as
    /// ``init(_:)`` does), in linear time.
    init(distinct entries: [Entry]) {
        var seen: [Term: Int] = [:]
        seen.reserveCapacity(entries.count)
        var out: [Entry] = []
        out.reserveCapacity(entries.count)
        for e in entries {
            if let i = seen[e.key] {
                out[i].value = e.value
            } else {
                seen[e.key] = out.count
                out.append(e)
            }
        }
        self.init(uncheckedEntries: out)
    }
}
