import Testing
@testable import Ergo

private struct Cell: Codable, Hashable {
    var row: Int
    var col: Int
    enum CodingKeys: CodingKey, CaseIterable { case row, col }
}

private enum Suit: String, Codable, Hashable { case hearts, spades }

@Suite struct CodableCollectionTests {
    let decoder = TermDecoder()

    @Test func arraysAreLists() throws {
        try roundTrip([1, 2, 3], [1, 2, 3])
        try roundTrip([String](), .nil)
        try roundTrip([["a"], [], ["b", "c"]], [[bin("a")], [], [bin("b"), bin("c")]])
        // A tuple reads as an array too.
        #expect(try decoder.decode([Int].self, from: .tuple([1, 2])) == [1, 2])
        #expect(decodingFailure([Int].self, from: ["a": 1])?.kind == "typeMismatch")
        let f = decodingFailure([[Int]].self, from: [[1], [2, "x"]])
        #expect(f?.path == "[1][1]")
    }

    @Test func setsAreLists() throws {
        let t = try TermEncoder().encode(Set([3]))
        #expect(t == [3])
        #expect(try decoder.decode(Set<Int>.self, from: [1, 2, 2]) == [1, 2])
    }

    @Test func stringKeyedDictionariesHaveBinaryKeysByDefault() throws {
        try roundTrip(["a": 1], .map(TermMap([.init(key: bin("a"), value: 1)])))
        let atoms = TermEncoder.with { $0.dictionaryKeyEncoding = .atom }
        try roundTrip(["a": 1, "b": 2], ["a": 1, "b": 2], encoder: atoms)
        // Keys read from atoms, binaries or charlists.
        let mixed: Term = .map(TermMap([.init(key: "a", value: 1), .init(key: bin("b"), value: 2),
                                        .init(key: [99], value: 3)]))
        #expect(try decoder.decode([String: Int].self, from: mixed) == ["a": 1, "b": 2, "c": 3])
    }

    @Test func atomKeysMustFitAnAtom() {
        let atoms = TermEncoder.with { $0.dictionaryKeyEncoding = .atom }
        let long = String(repeating: "k", count: 300)
        let f = encodingFailure(["outer": [long: 1]], encoder: atoms)
        #expect(f?.kind == "invalidValue")
        #expect(f?.path == "outer.\(long)")
    }

    @Test func intAndEnumKeys() throws {
        try roundTrip([1: "one"], .map(TermMap([.init(key: 1, value: bin("one"))])))
        try roundTrip([Suit.hearts: 2], .map(TermMap([.init(key: "hearts", value: 2)])))
    }

    @Test func structKeysAreTermKeys() throws {
        // Maps with tuple keys: a struct key with the tuple encoding.
        let tuples = TermEncoder.with { $0.structEncoding = .tuple }
        let grid: [Cell: String] = [Cell(row: 0, col: 1): "x"]
        try roundTrip(grid, .map(TermMap([.init(key: .tuple([0, 1]), value: bin("x"))])), encoder: tuples)
        // And with map keys (the default struct encoding).
        try roundTrip(grid, .map(TermMap([.init(key: ["row": 0, "col": 1], value: bin("x"))])))
        // Decoding a tuple-keyed map written by Erlang.
        let erlang: Term = .map(TermMap([.init(key: .tuple([2, 3]), value: bin("o")),
                                         .init(key: .tuple([0, 0]), value: bin("x"))]))
        #expect(try decoder.decode([Cell: String].self, from: erlang)
            == [Cell(row: 2, col: 3): "o", Cell(row: 0, col: 0): "x"])
    }

    @Test func arrayKeys() throws {
        let d: [[Int]: Bool] = [[1, 2]: true]
        try roundTrip(d, .map(TermMap([.init(key: [1, 2], value: "true")])))
    }

    @Test func dictionariesReadFromProplists() throws {
        let t: Term = [.tuple(["a", 1]), .tuple([bin("b"), 2]), "c", .tuple(["a", 9])]
        #expect(try decoder.decode([String: Int?].self, from: [.tuple(["a", 1])]) == ["a": 1])
        #expect(try decoder.decode([String: Term].self, from: t) == ["a": 1, "b": 2, "c": "true"])
        #expect(try decoder.decode([String: Int].self, from: .nil) == [:])
    }

    @Test func dictionaryErrorsNameTheKey() {
        let f = decodingFailure([String: Int].self, from: ["a": 1, "b": bin("x")])
        #expect(f?.kind == "typeMismatch")
        #expect(f?.path == "b")
        let g = decodingFailure([Int: Int].self, from: ["a": 1])
        #expect(g?.kind == "typeMismatch")
        #expect(g?.path == "a")
        #expect(decodingFailure([String: Int].self, from: 5)?.message.contains("map or a proplist") == true)
    }

    @Test func dictionariesInsideStructs() throws {
        struct Inventory: Codable, Equatable { var counts: [String: Int]; var tags: [String: [String]]? }
        let inv = Inventory(counts: ["apple": 3], tags: nil)
        try roundTrip(inv, ["counts": .map(TermMap([.init(key: bin("apple"), value: 3)])), "tags": "undefined"])
    }
}
