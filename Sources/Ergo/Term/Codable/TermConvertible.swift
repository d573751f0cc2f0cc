/// A type that writes itself as a term (Ergo's `Marshal`).
///
/// ``TermEncoder`` calls ``term`` whenever it meets such a value, at any
/// depth, instead of the value's `encode(to:)`. The protocol refines
/// `Encodable` and supplies `encode(to:)`, so conforming is enough to use the
/// type in any `Codable` struct; that supplied `encode(to:)` works only with
/// ``TermEncoder`` (other encoders get an `EncodingError`). Write your own
/// `encode(to:)` if the type must also go to JSON.
///
/// ```swift
/// struct Celsius: TermConvertible {
///     var degrees: Double
///     init(term: Term) throws {
///         guard case let .tuple(e) = term, e.count == 2, e[0] == "celsius",
///               case let .float(d) = e[1] else {
///             throw TermConversionError(expected: "{celsius, Float}", found: term)
///         }
///         degrees = d
///     }
///     var term: Term { .tuple([.atom("celsius"), .float(degrees)]) }
/// }
/// ```
public protocol TermEncodable: Encodable {
    /// The value as a term. Errors thrown here reach the caller of
    /// ``TermEncoder/encode(_:)`` as an `EncodingError` naming the path.
    var term: Term { get throws }
}

/// A type that reads itself from a term (Ergo's `Unmarshal`).
///
/// ``TermDecoder`` calls ``init(term:)`` whenever the target is such a type,
/// at any depth. The supplied `init(from:)` works only with ``TermDecoder``.
public protocol TermDecodable: Decodable {
    /// Reads the value. Errors thrown here reach the caller of
    /// ``TermDecoder/decode(_:from:)`` as a `DecodingError` naming the path
    /// (a `DecodingError` keeps its kind, its path prefixed with the path of
    /// this value).
    init(term: Term) throws
}

/// A type that converts itself to and from a term.
public typealias TermConvertible = TermEncodable & TermDecodable

extension TermEncodable {
    /// Writes ``term`` through ``TermEncoder``; other encoders get an error.
    public func encode(to encoder: any Encoder) throws {
        guard encoder is TermEncoderCore else {
            throw EncodingError.invalidValue(self, .init(
                codingPath: encoder.codingPath,
                debugDescription: "\(Self.self) is TermEncodable: only TermEncoder or ETFEncoder can encode it"))
        }
        var c = encoder.singleValueContainer()
        try c.encode(self)  // the encoder calls `term`
    }
}

extension TermDecodable {
    /// Reads with ``init(term:)`` through ``TermDecoder``; other decoders get
    /// an error.
    public init(from decoder: any Decoder) throws {
        guard let core = decoder as? TermDecoderCore else {
            throw DecodingError.typeMismatch(Self.self, .init(
                codingPath: decoder.codingPath,
                debugDescription: "\(Self.self) is TermDecodable: only TermDecoder or ETFDecoder can decode it"))
        }
        self = try core.context.unbox(core.term, as: Self.self, at: core.codingPath)
    }
}

/// A convenient error for ``TermDecodable/init(term:)``: "expected X, found Y".
public struct TermConversionError: Error, Sendable, CustomStringConvertible {
    public var expected: String
    public var found: Term

    public init(expected: String, found: Term) {
        self.expected = expected
        self.found = found
    }

    public var description: String { "expected \(expected), found \(TermSummary.describe(found))" }
}

/// A struct written as an Erlang record: a tuple whose first element is the
/// record's tag, then the fields in declared order, whatever
/// ``TermEncoder/structEncoding`` says.
///
/// The field order is the order of the type's `CodingKeys`, which must be
/// `CaseIterable` for decoding (declare them: `enum CodingKeys: CodingKey,
/// CaseIterable { case name, age }`).
///
/// ```swift
/// struct Person: Codable, TermRecord {       // -record(person, {name, age}).
///     static let recordTag: Atom = "person"
///     var name: String
///     var age: Int
///     enum CodingKeys: CodingKey, CaseIterable { case name, age }
/// }
/// // {person, <<"Ann">>, 41}
/// ```
public protocol TermRecord {
    /// The record's name: the tuple's first element.
    static var recordTag: Atom { get }
}
