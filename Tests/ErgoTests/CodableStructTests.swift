import Testing
@testable import Ergo

private struct User: Codable, Equatable {
    var name: String
    var age: Int
}

/// Field order known: tuples and records work both ways.
private struct Point: Codable, Equatable {
    var x: Int
    var y: Int
    enum CodingKeys: CodingKey, CaseIterable { case x, y }
}

private struct Person: Codable, Equatable, TermRecord {
    static let recordTag: Atom = "person"
    var name: String
    var age: Int
    var email: String?
    enum CodingKeys: CodingKey, CaseIterable { case name, age, email }
}

private struct Team: Codable, Equatable {
    var name: String
    var lead: User
    var members: [User]
    var origin: Point?
}

private struct Profile: Codable, Equatable {
    var firstName: String
    var lastLoginAt: Int?
}

private struct Flags: Codable, Equatable {
    var verbose: Bool
    var debug: Bool?
    var level: Int?
}

@Suite struct CodableStructTests {
    fileprivate let ann = User(name: "Ann", age: 41)

    @Test func structIsAMapWithAtomKeysByDefault() throws {
        try roundTrip(ann, ["name": bin("Ann"), "age": 41])
        // The map keeps the fields in declared order.
        guard case let .map(m) = try TermEncoder().encode(ann) else { Issue.record("not a map"); return }
        #expect(m.entries.map(\.key) == ["name", "age"])
    }

    @Test func mapWithBinaryKeys() throws {
        let e = TermEncoder.with { $0.structEncoding = .mapWithBinaryKeys }
        try roundTrip(ann, .map(TermMap([.init(key: bin("name"), value: bin("Ann")), .init(key: bin("age"), value: 41)])), encoder: e)
    }

    @Test func proplist() throws {
        let e = TermEncoder.with { $0.structEncoding = .proplist }
        try roundTrip(ann, [.tuple(["name", bin("Ann")]), .tuple(["age", 41])], encoder: e)
    }

    @Test func proplistBareAtomsMeanTrue() throws {
        let term: Term = ["verbose", .tuple(["level", 3])]
        let flags = try TermDecoder().decode(Flags.self, from: term)
        #expect(flags == Flags(verbose: true, debug: nil, level: 3))
        // The first of repeated keys wins, as in proplists:get_value/2.
        let repeated: Term = [.tuple(["verbose", false]), "verbose"]
        #expect(try TermDecoder().decode(Flags.self, from: repeated).verbose == false)
    }

    @Test func proplistWithBinaryKeysAndEmptyList() throws {
        let term: Term = [.tuple([bin("name"), bin("Bo")]), .tuple([bin("age"), 7])]
        #expect(try TermDecoder().decode(User.self, from: term) == User(name: "Bo", age: 7))
        // `[]` is the empty proplist: every optional field is absent.
        struct Options: Codable, Equatable { var a: Int?; var b: String? }
        #expect(try TermDecoder().decode(Options.self, from: .nil) == Options(a: nil, b: nil))
        let f = decodingFailure(Flags.self, from: .nil)
        #expect(f?.kind == "keyNotFound")
        #expect(f?.path == "verbose")
    }

    @Test func notAProplist() {
        let f = decodingFailure(User.self, from: [1, 2])
        #expect(f?.kind == "typeMismatch")
        #expect(f?.path == "[0]")
        #expect(f?.message.contains("proplist") == true)
    }

    @Test func decodingAcceptsAtomOrBinaryKeys() throws {
        let mixed: Term = .map(TermMap([.init(key: "name", value: bin("Ann")), .init(key: bin("age"), value: 41)]))
        #expect(try TermDecoder().decode(User.self, from: mixed) == ann)
        // Extra keys are ignored.
        let extra: Term = ["name": bin("Ann"), "age": 41, "role": "admin"]
        #expect(try TermDecoder().decode(User.self, from: extra) == ann)
    }

    @Test func tupleByFieldOrder() throws {
        let e = TermEncoder.with { $0.structEncoding = .tuple }
        try roundTrip(Point(x: 1, y: 2), .tuple([1, 2]), encoder: e)
        // A leading tag atom is accepted and skipped.
        #expect(try TermDecoder().decode(Point.self, from: .tuple(["point", 1, 2])) == Point(x: 1, y: 2))
    }

    @Test func tupleEncodingWithoutCaseIterableUsesDeclaredOrder() throws {
        let e = TermEncoder.with { $0.structEncoding = .tuple }
        #expect(try e.encode(ann) == .tuple([bin("Ann"), 41]))
    }

    @Test func tupleDecodingNeedsCaseIterableKeys() {
        let f = decodingFailure(User.self, from: .tuple([bin("Ann"), 41]))
        #expect(f?.kind == "typeMismatch")
        #expect(f?.message.contains("CaseIterable") == true)
        // With a leading atom, the error comes when a field is read.
        let g = decodingFailure(User.self, from: .tuple(["user", bin("Ann"), 41]))
        #expect(g?.kind == "typeMismatch")
        #expect(g?.path == "name")
        #expect(g?.message.contains("CaseIterable") == true)
    }

    @Test func tupleArityMismatch() {
        let f = decodingFailure(Point.self, from: .tuple([1, 2, 3]))
        #expect(f?.kind == "dataCorrupted")
        #expect(f?.message.contains("2 fields") == true)
    }

    @Test func tupleKeepsNilPositions() throws {
        let e = TermEncoder.with { $0.structEncoding = .tuple }
        let t = try e.encode(Profile(firstName: "Al", lastLoginAt: nil))
        #expect(t == .tuple([bin("Al"), "undefined"]))
    }

    @Test func recordsCarryTheirTag() throws {
        let p = Person(name: "Ann", age: 41, email: nil)
        // A record is a tagged tuple whatever the struct encoding.
        try roundTrip(p, .tuple(["person", bin("Ann"), 41, "undefined"]))
        try roundTrip(p, .tuple(["person", bin("Ann"), 41, "undefined"]),
                      encoder: .with { $0.structEncoding = .proplist })
        let withEmail = Person(name: "Ann", age: 41, email: "a@x")
        try roundTrip(withEmail, .tuple(["person", bin("Ann"), 41, bin("a@x")]))
        // A record also reads from a map.
        #expect(try TermDecoder().decode(Person.self, from: ["name": bin("Ann"), "age": 41]) == p)
    }

    @Test func recordsAtDepth() throws {
        struct Registry: Codable, Equatable { var people: [Person]; var owner: Person? }
        let r = Registry(people: [Person(name: "A", age: 1, email: nil)], owner: nil)
        try roundTrip(r, ["people": [.tuple(["person", bin("A"), 1, "undefined"])], "owner": "undefined"])
        let f = decodingFailure(Registry.self, from: ["people": [.tuple(["person", bin("A"), bin("x"), "undefined"])]])
        #expect(f?.kind == "typeMismatch")
        #expect(f?.path == "people[0].age")
    }

    @Test func recordTagAndArityAreChecked() {
        let wrongTag = decodingFailure(Person.self, from: .tuple(["dog", bin("Rex"), 3, "undefined"]))
        #expect(wrongTag?.kind == "typeMismatch")
        #expect(wrongTag?.message.contains("person") == true)
        let short = decodingFailure(Person.self, from: .tuple(["person", bin("Ann")]))
        #expect(short?.kind == "dataCorrupted")
        #expect(short?.message.contains("3 fields") == true)
        let atom = decodingFailure(Person.self, from: "person")
        #expect(atom?.kind == "typeMismatch")
    }

    @Test func nestedStructs() throws {
        let team = Team(name: "core", lead: ann, members: [ann, User(name: "Bo", age: 7)], origin: Point(x: 0, y: 1))
        let expected: Term = [
            "name": bin("core"),
            "lead": ["name": bin("Ann"), "age": 41],
            "members": [["name": bin("Ann"), "age": 41], ["name": bin("Bo"), "age": 7]],
            "origin": ["x": 0, "y": 1],
        ]
        try roundTrip(team, expected)
        let tuples = TermEncoder.with { $0.structEncoding = .tuple }
        // Team's keys are not CaseIterable: it encodes in declared order, but
        // only types with CaseIterable keys read back from tuples.
        #expect(try tuples.encode(team) == .tuple([bin("core"), .tuple([bin("Ann"), 41]),
                                                   [.tuple([bin("Ann"), 41]), .tuple([bin("Bo"), 7])], .tuple([0, 1])]))
    }

    @Test func nestedErrorsNameThePath() {
        let term: Term = [
            "name": bin("core"),
            "lead": ["name": bin("Ann"), "age": 41],
            "members": [["name": bin("Ann"), "age": 41], ["name": bin("Bo"), "age": bin("seven")]],
        ]
        let f = decodingFailure(Team.self, from: term)
        #expect(f?.kind == "typeMismatch")
        #expect(f?.path == "members[1].age")
        #expect(f?.message.contains("expected an integer") == true)
        #expect(f?.message.contains("binary") == true)
        let missing: Term = ["name": bin("core"), "lead": ["name": bin("Ann")], "members": []]
        let g = decodingFailure(Team.self, from: missing)
        #expect(g?.kind == "keyNotFound")
        #expect(g?.path == "lead.age")
    }

    @Test func notAStruct() {
        let f = decodingFailure(User.self, from: 42)
        #expect(f?.kind == "typeMismatch")
        #expect(f?.message.contains("map") == true)
        let g = decodingFailure(User.self, from: "ann")
        #expect(g?.kind == "typeMismatch")
        #expect(g?.path == "name")
    }

    @Test func snakeCaseKeys() throws {
        let e = TermEncoder.with { $0.keyStrategy = .snakeCase }
        let p = Profile(firstName: "Al", lastLoginAt: 5)
        let t = try e.encode(p)
        #expect(t == ["first_name": bin("Al"), "last_login_at": 5])
        var d = TermDecoder()
        d.keyStrategy = .snakeCase
        #expect(try d.decode(Profile.self, from: t) == p)
        // Without the strategy, the snake_case keys are not found.
        #expect(decodingFailure(Profile.self, from: t)?.kind == "keyNotFound")
        #expect(TermKeyStrategy.snakeCased("myURLValue") == "my_url_value")
        #expect(TermKeyStrategy.snakeCased("id") == "id")
        #expect(TermKeyStrategy.snakeCased("value2Go") == "value2_go")
        #expect(TermKeyStrategy.camelCased("last_login_at") == "lastLoginAt")
        #expect(TermKeyStrategy.camelCased("_private_x") == "_privateX")
    }

    @Test func omittingNilFields() throws {
        let p = Profile(firstName: "Al", lastLoginAt: nil)
        #expect(try TermEncoder().encode(p) == ["firstName": bin("Al"), "lastLoginAt": "undefined"])
        let e = TermEncoder.with { $0.omitsNilFields = true }
        let t = try e.encode(p)
        #expect(t == ["firstName": bin("Al")])
        #expect(try TermDecoder().decode(Profile.self, from: t) == p)
        let pl = TermEncoder.with { $0.omitsNilFields = true; $0.structEncoding = .proplist }
        #expect(try pl.encode(p) == [.tuple(["firstName", bin("Al")])])
    }

    @Test func emptyStruct() throws {
        struct Empty: Codable, Equatable {}
        #expect(try TermEncoder().encode(Empty()) == .map(TermMap()))
        #expect(try TermEncoder.with { $0.structEncoding = .proplist }.encode(Empty()) == .nil)
        #expect(try TermEncoder.with { $0.structEncoding = .tuple }.encode(Empty()) == .tuple([]))
        #expect(try TermDecoder().decode(Empty.self, from: .map(TermMap())) == Empty())
    }
}
