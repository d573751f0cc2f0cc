/// What every decoder of one ``TermDecoder/decode(_:from:)`` call shares,
/// and the rules that turn terms into values.
final class TermDecodingContext {
    let options: TermDecoder
    let userInfo: [CodingUserInfoKey: Any]

    init(_ options: TermDecoder) {
        self.options = options
        var info: [CodingUserInfoKey: Any] = [:]
        for (k, v) in options.userInfo { info[k] = v }
        userInfo = info
    }

    /// Whether `term` reads as `nil` (see ``TermDecoder/nilAtoms``).
    func isNil(_ term: Term) -> Bool {
        if case let .atom(a) = term { return options.nilAtoms.contains(a) }
        return false
    }

    /// Reads a `T` from `term`, found at `path`.
    func unbox<T: Decodable>(_ term: Term, as type: T.Type, at path: @autoclosure () -> [any CodingKey]) throws -> T {
        if let leaf = try leafValue(term, as: T.self, at: path) { return leaf }
        let path = path()
        if let convertible = T.self as? any TermDecodable.Type {
            do {
                return try convertible.init(term: term) as! T
            } catch let error as DecodingError {
                throw error.prefixingPath(path)
            } catch {
                throw DecodingError.dataCorrupted(.init(
                    codingPath: path,
                    debugDescription: "\(T.self)(term:) rejected \(TermSummary.describe(term)): \(error)",
                    underlyingError: error))
            }
        }
        if let dictionary = T.self as? any TermDecodableDictionary.Type {
            return try dictionary.fromTerm(term, context: self, at: path) as! T
        }
        let tag = (T.self as? any TermRecord.Type)?.recordTag
        return try T(from: TermDecoderCore(context: self, term: term, codingPath: path, recordTag: tag))
    }

    /// "expected X, found Y"; a nil atom where a value was needed is
    /// `valueNotFound`.
    func mismatch<T>(_ type: T.Type, expected: String, found term: Term, at path: @autoclosure () -> [any CodingKey]) -> DecodingError {
        let context = DecodingError.Context(
            codingPath: path(), debugDescription: "expected \(expected), found \(TermSummary.describe(term))")
        return isNil(term) ? .valueNotFound(T.self, context) : .typeMismatch(T.self, context)
    }
}

extension Term {
    /// Decimal digits of an integer term (for messages).
    var integerText: String {
        switch self {
        case let .int(i): return String(i)
        case let .bigInt(b): return b.description
        default: return description
        }
    }
}

/// The `Decoder` handed to `init(from:)`.
struct TermDecoderCore: Decoder {
    let context: TermDecodingContext
    let term: Term
    let codingPath: [any CodingKey]
    /// Set when the value being decoded is a ``TermRecord``.
    let recordTag: Atom?

    init(context: TermDecodingContext, term: Term, codingPath: [any CodingKey], recordTag: Atom? = nil) {
        self.context = context
        self.term = term
        self.codingPath = codingPath
        self.recordTag = recordTag
    }

    var userInfo: [CodingUserInfoKey: Any] { context.userInfo }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        let source = try context.fieldSource(term, keyType: Key.self, recordTag: recordTag, at: codingPath)
        return KeyedDecodingContainer(TermKeyedDecodingContainer<Key>(
            context: context, term: term, codingPath: codingPath, source: source))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        TermUnkeyedDecodingContainer(
            context: context, elements: try context.elements(of: term, at: codingPath), codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        TermSingleValueDecodingContainer(context: context, term: term, codingPath: codingPath)
    }
}
