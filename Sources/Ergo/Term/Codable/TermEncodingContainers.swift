// The three containers `encode(to:)` writes into. Every primitive has its own
// method: the standard library supplies defaults for some (`encodeIfPresent`,
// the 128-bit integers) that a generic method would not replace.

struct TermKeyedEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let core: TermEncoderCore
    let node: KeyedNode
    let codingPath: [any CodingKey]

    private var context: TermEncodingContext { core.context }

    private func put(_ term: Term, _ key: Key) { node.set(key, .term(term)) }
    private func putInteger<I: BinaryInteger>(_ v: I, _ key: Key) { put(TermEncodingContext.integer(v), key) }
    private func absent(_ key: Key) { node.set(key, .term(context.nilTerm), isAbsent: true) }

    mutating func encodeNil(forKey key: Key) throws { put(context.nilTerm, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { put(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { put(context.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        put(try context.float(value, at: codingPath + [key]), key)
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        put(try context.float(Double(value), at: codingPath + [key]), key)
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { put(.int(value), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { putInteger(value, key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { putInteger(value, key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { putInteger(value, key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { putInteger(value, key) }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    mutating func encode(_ value: Int128, forKey key: Key) throws { putInteger(value, key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { putInteger(value, key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { putInteger(value, key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { putInteger(value, key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { putInteger(value, key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { putInteger(value, key) }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    mutating func encode(_ value: UInt128, forKey key: Key) throws { putInteger(value, key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        put(try core.box(value, at: codingPath + [key]), key)
    }

    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try present(value, key) }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    mutating func encodeIfPresent(_ value: Int128?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try present(value, key) }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    mutating func encodeIfPresent(_ value: UInt128?, forKey key: Key) throws { try present(value, key) }
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws { try present(value, key) }

    /// Every `encodeIfPresent`: nil marks the key absent (the standard
    /// library's defaults would call `encodeNil`).
    private mutating func present<T: Encodable>(_ value: T?, _ key: Key) throws {
        if let value { try encode(value, forKey: key) } else { absent(key) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let nested = KeyedNode(keyType: NestedKey.self, isNested: true, recordTag: nil)
        node.set(key, .keyed(nested))
        return KeyedEncodingContainer(TermKeyedEncodingContainer<NestedKey>(
            core: core, node: nested, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = UnkeyedNode()
        node.set(key, .unkeyed(nested))
        return TermUnkeyedEncodingContainer(core: core, node: nested, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder { makeSuperEncoder(TermCodingKey.super) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { makeSuperEncoder(key) }

    private func makeSuperEncoder(_ key: any CodingKey) -> any Encoder {
        let sub = TermEncoderCore(context: context, codingPath: codingPath + [key], recordTag: nil)
        node.set(key, .pending(sub))
        return sub
    }
}

/// The unkeyed and single-value containers: each primitive becomes one term,
/// put where the container's next value goes.
/// (The 128-bit integers stay in each container: the standard library's
/// defaults for them would make a shared method ambiguous.)
protocol TermValueEncodingContainer {
    var core: TermEncoderCore { get }
    /// Where the next value goes (for errors).
    var valuePath: [any CodingKey] { get }
    func put(_ term: Term)
}

extension TermValueEncodingContainer {
    var context: TermEncodingContext { core.context }

    func putInteger<I: BinaryInteger>(_ v: I) { put(TermEncodingContext.integer(v)) }

    func encodeNil() throws { put(context.nilTerm) }
    func encode(_ value: Bool) throws { put(.bool(value)) }
    func encode(_ value: Double) throws { put(try context.float(value, at: valuePath)) }
    func encode(_ value: Float) throws { put(try context.float(Double(value), at: valuePath)) }
    func encode(_ value: Int) throws { put(.int(value)) }
    func encode(_ value: Int8) throws { putInteger(value) }
    func encode(_ value: Int16) throws { putInteger(value) }
    func encode(_ value: Int32) throws { putInteger(value) }
    func encode(_ value: Int64) throws { putInteger(value) }
    func encode(_ value: UInt) throws { putInteger(value) }
    func encode(_ value: UInt8) throws { putInteger(value) }
    func encode(_ value: UInt16) throws { putInteger(value) }
    func encode(_ value: UInt32) throws { putInteger(value) }
    func encode(_ value: UInt64) throws { putInteger(value) }
}

struct TermUnkeyedEncodingContainer: UnkeyedEncodingContainer, TermValueEncodingContainer {
    let core: TermEncoderCore
    let node: UnkeyedNode
    let codingPath: [any CodingKey]

    var count: Int { node.elements.count }

    var valuePath: [any CodingKey] { codingPath + [TermCodingKey(index: count)] }
    func put(_ term: Term) { node.elements.append(.term(term)) }

    mutating func encode(_ value: String) throws { put(context.string(value)) }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    mutating func encode(_ value: Int128) throws { putInteger(value) }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    mutating func encode(_ value: UInt128) throws { putInteger(value) }
    mutating func encode<T: Encodable>(_ value: T) throws { put(try core.box(value, at: valuePath)) }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type
    ) -> KeyedEncodingContainer<NestedKey> {
        let path = valuePath
        let nested = KeyedNode(keyType: NestedKey.self, isNested: true, recordTag: nil)
        node.elements.append(.keyed(nested))
        return KeyedEncodingContainer(TermKeyedEncodingContainer<NestedKey>(
            core: core, node: nested, codingPath: path))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = valuePath
        let nested = UnkeyedNode()
        node.elements.append(.unkeyed(nested))
        return TermUnkeyedEncodingContainer(core: core, node: nested, codingPath: path)
    }

    mutating func superEncoder() -> any Encoder {
        let sub = TermEncoderCore(context: context, codingPath: valuePath, recordTag: nil)
        node.elements.append(.pending(sub))
        return sub
    }
}

struct TermSingleValueEncodingContainer: SingleValueEncodingContainer, TermValueEncodingContainer {
    let core: TermEncoderCore

    var codingPath: [any CodingKey] { core.codingPath }
    var valuePath: [any CodingKey] { codingPath }

    func put(_ term: Term) {
        core.node = .term(term)
        core.singleString = nil
    }

    /// A `String` is remembered too: a `String` raw-value enum's case is
    /// written as an atom.
    mutating func encode(_ value: String) throws {
        put(context.string(value))
        core.singleString = value
    }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    mutating func encode(_ value: Int128) throws { putInteger(value) }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    mutating func encode(_ value: UInt128) throws { putInteger(value) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        put(try core.box(value, at: codingPath))
        if T.self == String.self { core.singleString = (value as! String) }
    }
}
