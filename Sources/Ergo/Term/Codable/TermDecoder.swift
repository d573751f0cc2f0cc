/// Reads `Decodable` Swift values from ``Term``s.
///
/// ```swift
/// struct User: Codable { var name: String; var age: Int }
/// let user = try TermDecoder().decode(User.self, from: ["name": .string("Ann"), "age": 41])
/// ```
///
/// Decoding accepts every form ``TermEncoder`` can write, whatever its
/// options: a struct reads from a map with atom or binary keys, from a
/// proplist, or from a tuple by field order (when its `CodingKeys` are
/// `CaseIterable`); a `String` from a binary, a charlist or an atom. See
/// `docs/codable.md` for every rule.
public struct TermDecoder: Sendable {
    /// The atoms that read as `nil` for an optional (and a field holding one
    /// counts as absent). Default: `undefined` (Erlang) and `nil` (Elixir).
    public var nilAtoms: Set<Atom> = [.undefined, "nil"]
    /// How struct field names and enum case names are looked for. With
    /// ``TermKeyStrategy/snakeCase`` the field `firstName` is read from the
    /// key `first_name`. Default ``TermKeyStrategy/useDefaultKeys``.
    public var keyStrategy: TermKeyStrategy = .useDefaultKeys
    /// Values for `init(from:)` implementations, as `Decoder.userInfo`.
    public var userInfo: [CodingUserInfoKey: any Sendable] = [:]

    public init() {}

    /// Reads a `T` from `term`.
    ///
    /// Throws `DecodingError` naming the coding path and saying what term was
    /// expected and what was found.
    public func decode<T: Decodable>(_ type: T.Type = T.self, from term: Term) throws -> T {
        try TermDecodingContext(self).unbox(term, as: T.self, at: [])
    }
}
