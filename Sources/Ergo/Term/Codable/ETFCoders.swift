/// Encodes `Encodable` values straight to External Term Format bytes: a
/// ``TermEncoder`` followed by ``ETF/encode(_:options:)``.
///
/// ```swift
/// var encoder = ETFEncoder()
/// encoder.structEncoding = .proplist          // any TermEncoder option
/// let bytes = try encoder.encode(user)        // <<131, ...>>
/// ```
@dynamicMemberLookup
public struct ETFEncoder: Sendable {
    /// How values become terms.
    public var termEncoder = TermEncoder()
    /// How terms become bytes.
    public var options = ETF.EncodeOptions()

    public init() {}

    /// The ``TermEncoder`` options, as `encoder.stringEncoding = .charlist`.
    public subscript<V>(dynamicMember keyPath: WritableKeyPath<TermEncoder, V>) -> V {
        get { termEncoder[keyPath: keyPath] }
        set { termEncoder[keyPath: keyPath] = newValue }
    }

    /// The ETF bytes of `value`. Throws `EncodingError` for values with no
    /// term and ``TermError`` when the codec refuses the term.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        try ETF.encode(termEncoder.encode(value), options: options)
    }
}

/// Decodes `Decodable` values straight from External Term Format bytes:
/// ``ETF/decode(_:options:)`` followed by a ``TermDecoder``.
@dynamicMemberLookup
public struct ETFDecoder: Sendable {
    /// How terms become values.
    public var termDecoder = TermDecoder()
    /// How bytes become terms (limits for untrusted input).
    public var options = ETF.DecodeOptions()

    public init() {}

    /// The ``TermDecoder`` options, as `decoder.keyStrategy = .snakeCase`.
    public subscript<V>(dynamicMember keyPath: WritableKeyPath<TermDecoder, V>) -> V {
        get { termDecoder[keyPath: keyPath] }
        set { termDecoder[keyPath: keyPath] = newValue }
    }

    /// Reads a `T` from ETF bytes. Throws ``TermError`` for bytes that are
    /// not a term and `DecodingError` for a term that is not a `T`.
    public func decode<T: Decodable>(_ type: T.Type = T.self, from bytes: [UInt8]) throws -> T {
        try termDecoder.decode(T.self, from: ETF.decode(bytes, options: options))
    }
}
