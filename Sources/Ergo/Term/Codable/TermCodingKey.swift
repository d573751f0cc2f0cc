/// A coding key made at run time: list indices, dictionary keys, `super`.
struct TermCodingKey: CodingKey, Sendable {
    private enum Kind: Sendable {
        case name(String)
        case int(Int)
        case index(Int)
    }

    private let kind: Kind

    init(stringValue: String) { kind = .name(stringValue) }
    init(intValue: Int) { kind = .int(intValue) }

    /// The key of the element at `index` of a list ("Index 3", made only
    /// when asked for: paths are built for every element, read for few).
    init(index: Int) { kind = .index(index) }

    var stringValue: String {
        switch kind {
        case let .name(s): return s
        case let .int(i): return String(i)
        case let .index(i): return "Index \(i)"
        }
    }

    var intValue: Int? {
        switch kind {
        case .name: return nil
        case let .int(i), let .index(i): return i
        }
    }

    /// The key `superEncoder()` and `superDecoder()` use.
    static let `super` = TermCodingKey(stringValue: "super")

    /// The key naming a map or proplist entry in a coding path.
    init(mapKey term: Term) {
        switch term {
        case let .atom(a): self.init(stringValue: a.name)
        case let .binary(b): self.init(stringValue: b.utf8String ?? term.description)
        case let .int(i): self.init(intValue: i)
        default: self.init(stringValue: term.description)
        }
    }
}

extension CodingKey {
    /// The position `N` of a key spelled `_N`, as Swift names the unlabelled
    /// associated values of an enum case.
    var associatedValueIndex: Int? {
        let s = stringValue.utf8
        guard s.count >= 2, s.first == UInt8(ascii: "_") else { return nil }
        var n = 0
        for c in s.dropFirst() {
            guard c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") else { return nil }
            let (m, o1) = n.multipliedReportingOverflow(by: 10)
            let (r, o2) = m.addingReportingOverflow(Int(c - UInt8(ascii: "0")))
            guard !o1 && !o2 else { return nil }
            n = r
        }
        return n
    }
}

/// The names of a key type's cases in declared order, when it is
/// `CaseIterable` (the field order of a tuple or record).
func caseNames(of keyType: any CodingKey.Type) -> [String]? {
    guard let iterable = keyType as? any (CodingKey & CaseIterable).Type else { return nil }
    return allCaseNames(iterable)
}

private func allCaseNames<K: CodingKey & CaseIterable>(_ type: K.Type) -> [String] {
    type.allCases.map(\.stringValue)
}
