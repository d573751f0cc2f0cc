/// What an encoder or a nested container has been given so far. Containers
/// are filled after they are made, so they are references, turned into terms
/// once the value that made them has finished encoding.
enum EncodedNode {
    case term(Term)
    case keyed(KeyedNode)
    case unkeyed(UnkeyedNode)
    /// A `superEncoder()`: its own node, read when rendered.
    case pending(TermEncoderCore)
}

final class KeyedNode {
    struct Field {
        var key: any CodingKey
        var node: EncodedNode
        /// Written by `encodeIfPresent` with `nil`: left out of maps when
        /// ``TermEncoder/omitsNilFields`` says so.
        var isAbsent: Bool
    }

    let keyType: any CodingKey.Type
    /// Made by `nestedContainer(keyedBy:forKey:)`: the shape of an enum
    /// case's associated values.
    let isNested: Bool
    let recordTag: Atom?
    /// This is an enum value: one field (the case) holding the associated values.
    var isEnumCase = false
    private(set) var fields: [Field] = []
    /// Field positions by name, made once a struct has many fields.
    private var positions: [String: Int]?

    init(keyType: any CodingKey.Type, isNested: Bool, recordTag: Atom?) {
        self.keyType = keyType
        self.isNested = isNested
        self.recordTag = recordTag
    }

    /// Sets a field; writing a key again replaces its value in place.
    func set(_ key: any CodingKey, _ node: EncodedNode, isAbsent: Bool = false) {
        let field = Field(key: key, node: node, isAbsent: isAbsent)
        let name = key.stringValue
        if let i = position(of: name) {
            fields[i] = field
        } else {
            positions?[name] = fields.count
            fields.append(field)
            if positions == nil && fields.count > 16 {
                var index: [String: Int] = [:]
                for (i, f) in fields.enumerated() { index[f.key.stringValue] = i }
                positions = index
            }
        }
    }

    private func position(of name: String) -> Int? {
        if let positions { return positions[name] }
        return fields.firstIndex { $0.key.stringValue == name }
    }
}

final class UnkeyedNode {
    var elements: [EncodedNode] = []
}

// MARK: - Nodes to terms

extension TermEncoderCore {
    func render(_ node: EncodedNode) throws -> Term {
        switch node {
        case let .term(t): return t
        case let .keyed(k): return try render(k)
        case let .unkeyed(u): return .list(try u.elements.map(render))
        case let .pending(core):
            guard let inner = core.node else { return context.emptyStruct(recordTag: nil) }
            return try core.render(inner)
        }
    }

    private func render(_ keyed: KeyedNode) throws -> Term {
        if keyed.isEnumCase { return try renderEnumCase(keyed) }
        if let tag = keyed.recordTag {
            return .tuple([.atom(tag)] + (try positionalValues(keyed)))
        }
        let options = context.options
        switch options.structEncoding {
        case .map, .mapWithBinaryKeys:
            var entries: [TermMap.Entry] = []
            entries.reserveCapacity(keyed.fields.count)
            for f in keyed.fields where !(f.isAbsent && options.omitsNilFields) {
                entries.append(TermMap.Entry(key: context.fieldKey(f.key), value: try render(f.node)))
            }
            // Field names are distinct; converted names might not be.
            return .map(options.keyStrategy == .useDefaultKeys
                ? TermMap(uncheckedEntries: entries) : TermMap(distinct: entries))
        case .proplist:
            var items: [Term] = []
            items.reserveCapacity(keyed.fields.count)
            for f in keyed.fields where !(f.isAbsent && options.omitsNilFields) {
                items.append(.tuple([.atom(context.nameAtom(f.key)), try render(f.node)]))
            }
            return .list(items)
        case .tuple:
            return .tuple(try positionalValues(keyed))
        }
    }

    /// Field values in the key type's declared order when it is
    /// `CaseIterable` (missing fields as `undefined`, unknown ones after),
    /// else in the order they were written.
    private func positionalValues(_ keyed: KeyedNode) throws -> [Term] {
        guard let order = caseNames(of: keyed.keyType) else {
            return try keyed.fields.map { try render($0.node) }
        }
        var index: [String: Int] = [:]
        for (i, f) in keyed.fields.enumerated() { index[f.key.stringValue] = i }
        var out: [Term] = []
        out.reserveCapacity(max(order.count, keyed.fields.count))
        for name in order {
            if let i = index.removeValue(forKey: name) {
                out.append(try render(keyed.fields[i].node))
            } else {
                out.append(context.nilTerm)
            }
        }
        for (i, f) in keyed.fields.enumerated() where index[f.key.stringValue] == i {
            out.append(try render(f.node))
        }
        return out
    }

    /// `tag` for a case without associated values, `{tag, V1, V2}` otherwise.
    private func renderEnumCase(_ keyed: KeyedNode) throws -> Term {
        let field = keyed.fields[0]
        guard case let .keyed(payload) = field.node else { return .nil }
        let tag = Term.atom(context.nameAtom(field.key))
        var args: [Term]
        let numbered = payload.fields.compactMap { $0.key.associatedValueIndex }
        if !payload.fields.isEmpty && numbered.count == payload.fields.count {
            // `_0`, `_1`…: each at its number.
            let slots = payload.fields.indices.sorted { numbered[$0] < numbered[$1] }
            args = try slots.map { try render(payload.fields[$0].node) }
        } else {
            args = try positionalValues(payload)
        }
        if args.isEmpty { return tag }
        args.insert(tag, at: 0)
        return .tuple(args)
    }
}
