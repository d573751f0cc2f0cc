#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What every encoder of one ``TermEncoder/encode(_:)`` call shares.
final class TermEncodingContext {
    let options: TermEncoder
    let userInfo: [CodingUserInfoKey: Any]
    let nilTerm: Term
    /// Field and case names already turned into atoms in this call.
    private var nameAtoms: [String: Atom] = [:]

    init(_ options: TermEncoder) {
        self.options = options
        var info: [CodingUserInfoKey: Any] = [:]
        for (k, v) in options.userInfo { info[k] = v }
        userInfo = info
        nilTerm = .atom(options.nilAtom)
    }

    /// The atom for a key name written in code (a field or case name).
    func nameAtom(_ key: any CodingKey) -> Atom {
        let name = options.keyStrategy.termName(key.stringValue)
        if let a = nameAtoms[name] { return a }
        let a = Atom(name)
        nameAtoms[name] = a
        return a
    }

    /// A struct field's key in a map or proplist.
    func fieldKey(_ key: any CodingKey) -> Term {
        if options.structEncoding == .mapWithBinaryKeys {
            return .string(options.keyStrategy.termName(key.stringValue))
        }
        return .atom(nameAtom(key))
    }

    func string(_ s: String) -> Term {
        switch options.stringEncoding {
        case .binary: return .string(s)
        case .charlist: return .charlist(s)
        }
    }

    /// A `Dictionary<String, _>` key.
    func dictionaryKey(_ s: String, at path: @autoclosure () -> [any CodingKey]) throws -> Term {
        switch options.dictionaryKeyEncoding {
        case .binary:
            return .string(s)
        case .atom:
            do {
                return .atom(try Atom(external: s))
            } catch {
                throw EncodingError.invalidValue(s, .init(
                    codingPath: path(),
                    debugDescription: "dictionary key \"\(s)\" cannot be an atom: \(error)",
                    underlyingError: error))
            }
        }
    }

    func float(_ d: Double, at path: @autoclosure () -> [any CodingKey]) throws -> Term {
        guard d.isFinite else {
            throw EncodingError.invalidValue(d, .init(
                codingPath: path(), debugDescription: "Erlang has no float \(d) (only finite floats)"))
        }
        return .float(d)
    }

    static func integer<I: BinaryInteger>(_ v: I) -> Term {
        if let i = Int(exactly: v) { return .int(i) }
        var m = v.magnitude
        var bytes: [UInt8] = []
        while m != 0 {
            bytes.append(UInt8(truncatingIfNeeded: m))
            m >>= 8
        }
        return .bigInt(BigInteger(isNegative: v < 0, magnitude: bytes))
    }

    /// A struct that encoded no fields.
    func emptyStruct(recordTag: Atom?) -> Term {
        if let tag = recordTag { return .tuple([.atom(tag)]) }
        switch options.structEncoding {
        case .map, .mapWithBinaryKeys: return .map(TermMap())
        case .proplist: return .nil
        case .tuple: return .tuple([])
        }
    }
}

/// The `Encoder` handed to `encode(to:)`: one per value that is not a leaf.
final class TermEncoderCore: Encoder {
    let context: TermEncodingContext
    let codingPath: [any CodingKey]
    /// Set when the value being encoded is a ``TermRecord``.
    let recordTag: Atom?
    var node: EncodedNode?
    /// The `String` a single-value container was last given (a `String`
    /// raw-value enum's case, written as an atom).
    var singleString: String?

    var userInfo: [CodingUserInfoKey: Any] { context.userInfo }

    init(context: TermEncodingContext, codingPath: [any CodingKey], recordTag: Atom?) {
        self.context = context
        self.codingPath = codingPath
        self.recordTag = recordTag
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let keyed: KeyedNode
        if case let .keyed(existing)? = node {
            keyed = existing
        } else {
            keyed = KeyedNode(keyType: Key.self, isNested: false, recordTag: recordTag)
            node = .keyed(keyed)
        }
        return KeyedEncodingContainer(TermKeyedEncodingContainer<Key>(core: self, node: keyed, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let unkeyed: UnkeyedNode
        if case let .unkeyed(existing)? = node {
            unkeyed = existing
        } else {
            unkeyed = UnkeyedNode()
            node = .unkeyed(unkeyed)
        }
        return TermUnkeyedEncodingContainer(core: self, node: unkeyed, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        TermSingleValueEncodingContainer(core: self)
    }
}

// MARK: - Values to terms

extension TermEncoderCore {
    /// The term for `value`, found at `path` (built only when needed).
    func box<T: Encodable>(_ value: T, at path: @autoclosure () -> [any CodingKey]) throws -> Term {
        if let leaf = try leafTerm(value, at: path) { return leaf }
        let path = path()
        if let convertible = value as? any TermEncodable {
            do {
                return try convertible.term
            } catch let error as EncodingError {
                throw error.prefixingPath(path)
            } catch {
                throw EncodingError.invalidValue(value, .init(
                    codingPath: path,
                    debugDescription: "\(T.self).term failed: \(error)",
                    underlyingError: error))
            }
        }
        if let dictionary = value as? any TermEncodableDictionary {
            return try dictionary.termMap(encoder: self, at: path)
        }
        let tag = (T.self as? any TermRecord.Type)?.recordTag
        let sub = TermEncoderCore(context: context, codingPath: path, recordTag: tag)
        try value.encode(to: sub)
        return try sub.finish(encoding: value)
    }

    /// Values that never reach `encode(to:)`: Swift's primitives, the term
    /// types themselves, and bytes.
    private func leafTerm<T: Encodable>(_ value: T, at path: () -> [any CodingKey]) throws -> Term? {
        // By exact type, not by cast: an empty `[String]` casts to `[UInt8]`,
        // and a cast would look inside optionals.
        let t = T.self
        if t == String.self { return context.string(value as! String) }
        if t == Int.self { return .int(value as! Int) }
        if t == Bool.self { return .bool(value as! Bool) }
        if t == Double.self { return try context.float(value as! Double, at: path()) }
        if t == Term.self { return (value as! Term) }
        if t == Atom.self { return .atom(value as! Atom) }
        if t == Binary.self { return .binary(value as! Binary) }
        if t == [UInt8].self { return .binary(Binary(value as! [UInt8])) }
        if t == Data.self { return .binary(Binary(value as! Data)) }
        if t == Float.self { return try context.float(Double(value as! Float), at: path()) }
        if t == Int8.self { return .int(Int(value as! Int8)) }
        if t == Int16.self { return .int(Int(value as! Int16)) }
        if t == Int32.self { return .int(Int(value as! Int32)) }
        if t == Int64.self { return .int(Int(value as! Int64)) }
        if t == UInt.self { return TermEncodingContext.integer(value as! UInt) }
        if t == UInt8.self { return .int(Int(value as! UInt8)) }
        if t == UInt16.self { return .int(Int(value as! UInt16)) }
        if t == UInt32.self { return .int(Int(value as! UInt32)) }
        if t == UInt64.self { return TermEncodingContext.integer(value as! UInt64) }
        if t == BigInteger.self { return .integer(value as! BigInteger) }
        if t == PID.self { return .pid(value as! PID) }
        if t == Ref.self { return .ref(value as! Ref) }
        if t == Alias.self { return .ref((value as! Alias).ref) }
        if t == Port.self { return .port(value as! Port) }
        if t == TermMap.self { return .map(value as! TermMap) }
        if t == BitString.self { return .bitString(value as! BitString) }
        if t == Export.self { return .export(value as! Export) }
        if t == Fun.self { return .fun(value as! Fun) }
        if #available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *) {
            if t == Int128.self { return TermEncodingContext.integer(value as! Int128) }
            if t == UInt128.self { return TermEncodingContext.integer(value as! UInt128) }
        }
        return nil
    }

    /// The term for what `value.encode(to: self)` wrote.
    func finish<T>(encoding value: T) throws -> Term {
        guard let node else { return context.emptyStruct(recordTag: recordTag) }
        switch node {
        case let .keyed(keyed):
            // An enum case: one key (the case) whose value is a nested keyed
            // container (the associated values).
            if keyed.fields.count == 1, case let .keyed(payload) = keyed.fields[0].node,
               payload.isNested, Self.isEnum(value)
            {
                keyed.isEnumCase = true
            }
        case .term:
            // A `String` raw-value enum is an atom.
            if let s = singleString, value is any RawRepresentable, Self.isEnum(value) {
                return .atom(Atom(s))
            }
        default:
            break
        }
        return try render(node)
    }

    private static func isEnum<T>(_ value: T) -> Bool {
        Mirror(reflecting: value).displayStyle == .enum
    }
}
