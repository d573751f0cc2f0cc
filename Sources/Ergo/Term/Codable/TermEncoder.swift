/// Turns `Encodable` Swift values into ``Term``s.
///
/// ```swift
/// struct User: Codable { var name: String; var age: Int }
/// let t = try TermEncoder().encode(User(name: "Ann", age: 41))
/// // #{name => <<"Ann">>, age => 41}
/// ```
///
/// The defaults follow Erlang: structs are maps with atom keys, `String` is a
/// UTF-8 binary, `nil` is `undefined`. See `docs/codable.md` for every rule.
/// ``Term``, ``Atom``, ``PID``, ``Ref``, ``Alias``, ``Port``, ``Binary``,
/// ``BitString``, ``BigInteger``, ``Export``, ``Fun`` and ``TermMap`` values
/// are written as themselves, and ``TermEncodable`` types write themselves.
public struct TermEncoder: Sendable {
    /// How structs (keyed containers) are written.
    public enum StructEncoding: Sendable, Hashable {
        /// `#{name => <<"Ann">>, age => 41}`: a map with atom keys.
        case map
        /// `#{<<"name">> => <<"Ann">>, <<"age">> => 41}`: a map with binary
        /// keys, as Elixir writes string-keyed maps.
        case mapWithBinaryKeys
        /// `[{name, <<"Ann">>}, {age, 41}]`: a proplist with atom keys.
        case proplist
        /// `{<<"Ann">>, 41}`: fields by position, in the order of the type's
        /// `CodingKeys` when they are `CaseIterable`, else in the order the
        /// fields are encoded (declared order, for synthesized `Codable`).
        /// A field that is `nil` or not encoded takes its place as `undefined`.
        case tuple
    }

    /// How `String` values are written.
    public enum StringEncoding: Sendable, Hashable {
        /// `<<"héllo"/utf8>>`: a UTF-8 binary (Elixir's strings).
        case binary
        /// `"héllo"`: a list of Unicode code points (Erlang's strings).
        case charlist
    }

    /// How the `String` keys of a `Dictionary` are written.
    public enum KeyEncoding: Sendable, Hashable {
        /// `<<"key">>`: a UTF-8 binary.
        case binary
        /// `key`: an atom. The receiving node keeps every atom forever, so
        /// use this only for keys from a small, fixed set.
        case atom
    }

    /// How structs are written. Default ``StructEncoding/map``.
    public var structEncoding: StructEncoding = .map
    /// How strings are written. Default ``StringEncoding/binary``.
    public var stringEncoding: StringEncoding = .binary
    /// The atom written for `nil`: `undefined` (Erlang's convention, the
    /// default), or `nil` for Elixir.
    public var nilAtom: Atom = .undefined
    /// Whether a map or proplist leaves out fields whose value is `nil`
    /// (default false: they are written as ``nilAtom``, as Erlang records and
    /// Elixir structs carry every field). Tuples always keep every position.
    public var omitsNilFields: Bool = false
    /// How `Dictionary<String, _>` keys are written. Default
    /// ``KeyEncoding/binary``: keys are data, and atoms are never freed.
    public var dictionaryKeyEncoding: KeyEncoding = .binary
    /// How struct field names and enum case names become atoms or binaries.
    /// Default ``TermKeyStrategy/useDefaultKeys``.
    public var keyStrategy: TermKeyStrategy = .useDefaultKeys
    /// Values for `encode(to:)` implementations, as `Encoder.userInfo`.
    public var userInfo: [CodingUserInfoKey: any Sendable] = [:]

    public init() {}

    /// The term for `value`.
    ///
    /// Throws `EncodingError.invalidValue` naming the coding path when a
    /// value has no term (a float that is NaN or infinite, a dictionary key
    /// too long for an atom, a ``TermEncodable`` that throws).
    public func encode<T: Encodable>(_ value: T) throws -> Term {
        let core = TermEncoderCore(context: TermEncodingContext(self), codingPath: [], recordTag: nil)
        return try core.box(value, at: [])
    }
}
