// The three containers `init(from:)` reads from. Methods the standard
// library gives defaults for (`decodeIfPresent`, the 128-bit integers) are
// written out: a generic method would not replace those defaults.

struct TermKeyedDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let context: TermDecodingContext
    /// The container's own term, for messages.
    let term: Term
    let codingPath: [any CodingKey]
    let source: FieldSource

    private var strategy: TermKeyStrategy { context.options.keyStrategy }

    var allKeys: [Key] {
        switch source {
        case let .named(fields):
            return fields.keys.compactMap { k in
                switch k {
                case let .atom(a): return key(named: a.name)
                case let .binary(b): return b.utf8String.flatMap(key(named:))
                case let .int(i): return Key(intValue: i)
                default: return nil
                }
            }
        case let .positional(elements, names):
            return names.prefix(elements.count).compactMap { Key(stringValue: $0) }
        case let .tagged(tag, _, _):
            return key(named: tag.name).map { [$0] } ?? []
        case let .payload(args, slots):
            if let names = slots.names { return names.prefix(args.count).compactMap { Key(stringValue: $0) } }
            return args.indices.compactMap { Key(stringValue: "_\($0)") }
        }
    }

    /// The key whose term name is `name`.
    private func key(named name: String) -> Key? {
        guard strategy != .useDefaultKeys else { return Key(stringValue: name) }
        if let names = caseNames(of: Key.self) {
            return names.first(where: { strategy.termName($0) == name }).flatMap { Key(stringValue: $0) }
        }
        return Key(stringValue: strategy.swiftName(name))
    }

    private func isTag(_ key: Key, _ tag: Atom) -> Bool {
        strategy.termName(key.stringValue) == tag.name
    }

    /// The value for `key`, or nil when there is none.
    private func lookup(_ key: Key) throws -> Term? {
        switch source {
        case let .named(fields):
            if let v = fields.value(named: strategy.termName(key.stringValue)) { return v }
            if let i = key.intValue { return fields.value(at: i) }
            return nil
        case let .positional(elements, names):
            return names.firstIndex(of: key.stringValue).map { elements[$0] }
        case let .tagged(tag, args, source):
            guard isTag(key, tag) else { throw notAField(key, in: source) }
            return args.count == 1 ? args[0] : .tuple(args)
        case let .payload(args, slots):
            let i = slots.slot(for: key)
            return i < args.count ? args[i] : nil
        }
    }

    /// A struct asked for a field of an enum-shaped term (an atom, or a
    /// tuple whose field order is unknown).
    private func notAField(_ key: Key, in source: Term) -> DecodingError {
        let text: String
        if case .tuple = source {
            text = "cannot read field \(key.stringValue) from \(TermSummary.describe(source)): reading a struct from a tuple goes by field order, which needs CodingKeys that are CaseIterable"
        } else {
            text = "expected a map, a proplist or a tuple, found \(TermSummary.describe(source))"
        }
        return .typeMismatch(KeyedDecodingContainer<Key>.self, .init(codingPath: codingPath + [key], debugDescription: text))
    }

    private func value(_ key: Key) throws -> Term {
        guard let v = try lookup(key) else {
            let name = strategy.termName(key.stringValue)
            let text: String
            switch source {
            case .payload(let args, _):
                text = "no associated value \(key.stringValue) in \(TermSummary.describe(term)) (\(args.count) values)"
            default:
                text = "no key \(name) (atom or binary) in \(TermSummary.describe(term))"
            }
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: text))
        }
        return v
    }

    func contains(_ key: Key) -> Bool { (try? lookup(key)) != nil }

    func decodeNil(forKey key: Key) throws -> Bool { context.isNil(try value(key)) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try context.unbox(try value(key), as: T.self, at: codingPath + [key])
    }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    func decode(_ type: Int128.Type, forKey key: Key) throws -> Int128 { try required(type, key) }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    func decode(_ type: UInt128.Type, forKey key: Key) throws -> UInt128 { try required(type, key) }

    /// Absent, or a nil atom: nil.
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let v = try lookup(key), !context.isNil(v) else { return nil }
        return try context.unbox(v, as: T.self, at: codingPath + [key])
    }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try optional(type, key) }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try optional(type, key) }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try optional(type, key) }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try optional(type, key) }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try optional(type, key) }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try optional(type, key) }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try optional(type, key) }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try optional(type, key) }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try optional(type, key) }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    func decodeIfPresent(_ type: Int128.Type, forKey key: Key) throws -> Int128? { try optional(type, key) }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try optional(type, key) }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try optional(type, key) }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try optional(type, key) }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try optional(type, key) }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try optional(type, key) }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    func decodeIfPresent(_ type: UInt128.Type, forKey key: Key) throws -> UInt128? { try optional(type, key) }

    /// The generic methods, for the typed ones the standard library has
    /// defaults for (`unbox` reads every primitive).
    private func required<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T {
        try decode(type, forKey: key)
    }
    private func optional<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T? {
        try decodeIfPresent(type, forKey: key)
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        let path = codingPath + [key]
        let nestedSource: FieldSource
        let nestedTerm: Term
        if case let .tagged(tag, args, _) = source, isTag(key, tag) {
            nestedTerm = .tuple(args)
            nestedSource = .payload(args, PayloadSlots(keyType: NestedKey.self))
        } else {
            nestedTerm = try value(key)
            nestedSource = try context.fieldSource(nestedTerm, keyType: NestedKey.self, recordTag: nil, at: path)
        }
        return KeyedDecodingContainer(TermKeyedDecodingContainer<NestedKey>(
            context: context, term: nestedTerm, codingPath: path, source: nestedSource))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        let path = codingPath + [key]
        if case let .tagged(tag, args, _) = source, isTag(key, tag) {
            return TermUnkeyedDecodingContainer(context: context, elements: args, codingPath: path)
        }
        return TermUnkeyedDecodingContainer(
            context: context, elements: try context.elements(of: try value(key), at: path), codingPath: path)
    }

    func superDecoder() throws -> any Decoder {
        let name = TermCodingKey.super.stringValue
        guard case let .named(fields) = source, let v = fields.value(named: name) else {
            throw DecodingError.keyNotFound(TermCodingKey.super, .init(
                codingPath: codingPath, debugDescription: "no key super in \(TermSummary.describe(term))"))
        }
        return TermDecoderCore(context: context, term: v, codingPath: codingPath + [TermCodingKey.super])
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        TermDecoderCore(context: context, term: try value(key), codingPath: codingPath + [key])
    }
}

struct TermUnkeyedDecodingContainer: UnkeyedDecodingContainer {
    let context: TermDecodingContext
    let elements: [Term]
    let codingPath: [any CodingKey]
    private(set) var currentIndex = 0

    init(context: TermDecodingContext, elements: [Term], codingPath: [any CodingKey]) {
        self.context = context
        self.elements = elements
        self.codingPath = codingPath
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }
    private var currentPath: [any CodingKey] { codingPath + [TermCodingKey(index: currentIndex)] }

    private func current<T>(_ type: T.Type) throws -> Term {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(T.self, .init(
                codingPath: currentPath, debugDescription: "the list ends after \(elements.count) elements"))
        }
        return elements[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard context.isNil(try current(Any?.self)) else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let v = try context.unbox(try current(T.self), as: T.self, at: currentPath)
        currentIndex += 1
        return v
    }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    mutating func decode(_ type: Int128.Type) throws -> Int128 { try generic(type) }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    mutating func decode(_ type: UInt128.Type) throws -> UInt128 { try generic(type) }
    /// The generic `decode`, for the typed ones the standard library has
    /// defaults for (`unbox` reads every primitive).
    private mutating func generic<T: Decodable>(_ type: T.Type) throws -> T { try decode(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) throws -> KeyedDecodingContainer<NestedKey> {
        let term = try current(KeyedDecodingContainer<NestedKey>.self)
        let path = currentPath
        let source = try context.fieldSource(term, keyType: NestedKey.self, recordTag: nil, at: path)
        currentIndex += 1
        return KeyedDecodingContainer(TermKeyedDecodingContainer<NestedKey>(
            context: context, term: term, codingPath: path, source: source))
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let term = try current([Term].self)
        let path = currentPath
        let nested = TermUnkeyedDecodingContainer(
            context: context, elements: try context.elements(of: term, at: path), codingPath: path)
        currentIndex += 1
        return nested
    }

    mutating func superDecoder() throws -> any Decoder {
        let term = try current(Term.self)
        let path = currentPath
        currentIndex += 1
        return TermDecoderCore(context: context, term: term, codingPath: path)
    }
}

struct TermSingleValueDecodingContainer: SingleValueDecodingContainer {
    let context: TermDecodingContext
    let term: Term
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool { context.isNil(term) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try context.unbox(term, as: T.self, at: codingPath)
    }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    func decode(_ type: Int128.Type) throws -> Int128 { try generic(type) }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    func decode(_ type: UInt128.Type) throws -> UInt128 { try generic(type) }
    /// The generic `decode`, for the typed ones the standard library has
    /// defaults for (`unbox` reads every primitive).
    private func generic<T: Decodable>(_ type: T.Type) throws -> T { try decode(type) }
}
