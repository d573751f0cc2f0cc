// The term types are Codable so that they can be fields of Codable structs.
// ``TermEncoder`` and ``TermDecoder`` pass them through as themselves without
// calling these methods. Other coders (JSON, property lists) get a natural
// form where there is one: an atom is its name, a bignum its decimal digits,
// a binary its bytes. The rest have no form outside terms, and other coders
// get an error.


/// Term types with no form outside terms: the term coders pass them
/// through; other coders get the error `encodeAsTerm` / `decodeAsTerm` throw.
protocol TermOnlyCodable: Codable {}

extension TermOnlyCodable {
    public func encode(to encoder: any Encoder) throws { try encodeAsTerm(self, to: encoder) }
    public init(from decoder: any Decoder) throws { self = try decodeAsTerm(Self.self, from: decoder) }
}

extension Term: Codable, TermOnlyCodable {}
extension PID: Codable, TermOnlyCodable {}
extension Ref: Codable, TermOnlyCodable {}
extension Alias: Codable, TermOnlyCodable {}
extension Port: Codable, TermOnlyCodable {}
extension BitString: Codable, TermOnlyCodable {}
extension Export: Codable, TermOnlyCodable {}
extension Fun: Codable, TermOnlyCodable {}
extension TermMap: Codable, TermOnlyCodable {}

extension Atom: Codable {
    /// With other encoders, the atom's name.
    public func encode(to encoder: any Encoder) throws {
        guard encoder is TermEncoderCore else {
            var c = encoder.singleValueContainer()
            return try c.encode(name)
        }
        try encodeAsTerm(self, to: encoder)
    }

    /// With other decoders, an atom named by a string, within the atom
    /// table's bound (``Atom/init(external:)``).
    public init(from decoder: any Decoder) throws {
        guard decoder is TermDecoderCore else {
            let c = try decoder.singleValueContainer()
            let name = try c.decode(String.self)
            do {
                self = try Atom(external: name)
            } catch {
                throw DecodingError.dataCorrupted(.init(
                    codingPath: decoder.codingPath, debugDescription: "not an atom: \(error)", underlyingError: error))
            }
            return
        }
        self = try decodeAsTerm(Atom.self, from: decoder)
    }
}

extension BigInteger: Codable {
    /// With other encoders, the decimal digits as a string.
    public func encode(to encoder: any Encoder) throws {
        guard encoder is TermEncoderCore else {
            var c = encoder.singleValueContainer()
            return try c.encode(description)
        }
        try encodeAsTerm(self, to: encoder)
    }

    public init(from decoder: any Decoder) throws {
        guard decoder is TermDecoderCore else {
            let c = try decoder.singleValueContainer()
            let text = try c.decode(String.self)
            guard let value = BigInteger(text) else {
                throw DecodingError.dataCorrupted(.init(
                    codingPath: decoder.codingPath, debugDescription: "not a decimal integer: \(text)"))
            }
            self = value
            return
        }
        self = try decodeAsTerm(BigInteger.self, from: decoder)
    }
}

extension Binary: Codable {
    /// With other encoders, the bytes (as `[UInt8]` encodes them).
    public func encode(to encoder: any Encoder) throws {
        guard encoder is TermEncoderCore else {
            var c = encoder.singleValueContainer()
            return try c.encode(bytes)
        }
        try encodeAsTerm(self, to: encoder)
    }

    public init(from decoder: any Decoder) throws {
        guard decoder is TermDecoderCore else {
            let c = try decoder.singleValueContainer()
            self.init(try c.decode([UInt8].self))
            return
        }
        self = try decodeAsTerm(Binary.self, from: decoder)
    }
}









/// Writes a term type through ``TermEncoder`` (which passes it through), or
/// fails for any other encoder.
private func encodeAsTerm<T: Encodable>(_ value: T, to encoder: any Encoder) throws {
    guard encoder is TermEncoderCore else {
        throw EncodingError.invalidValue(value, .init(
            codingPath: encoder.codingPath,
            debugDescription: "\(T.self) can only be encoded by TermEncoder or ETFEncoder"))
    }
    var c = encoder.singleValueContainer()
    try c.encode(value)
}

/// Reads a term type through ``TermDecoder``, or fails for any other decoder.
private func decodeAsTerm<T: Decodable>(_ type: T.Type, from decoder: any Decoder) throws -> T {
    guard let core = decoder as? TermDecoderCore else {
        throw DecodingError.typeMismatch(T.self, .init(
            codingPath: decoder.codingPath,
            debugDescription: "\(T.self) can only be decoded by TermDecoder or ETFDecoder"))
    }
    return try core.context.unbox(core.term, as: T.self, at: core.codingPath)
}
