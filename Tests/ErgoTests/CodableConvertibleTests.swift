import Foundation
import Testing
@testable import Ergo

/// Writes itself as `{celsius, Degrees}`.
private struct Celsius: TermConvertible, Equatable {
    var degrees: Double
    init(degrees: Double) { self.degrees = degrees }
    init(term: Term) throws {
        guard case let .tuple(e) = term, e.count == 2, e[0] == "celsius", case let .float(d) = e[1] else {
            throw TermConversionError(expected: "{celsius, Float}", found: term)
        }
        degrees = d
    }
    var term: Term { .tuple(["celsius", .float(degrees)]) }
}

/// Encodes only (a message tag built by hand).
private struct Tag: TermEncodable {
    var name: String
    var term: Term { get throws { .atom(try Atom(external: name)) } }
}

private struct Station: Codable, Equatable {
    var name: String
    var readings: [Celsius]
    var latest: Celsius?
    var byHour: [Int: Celsius]
}

private struct Envelope: Codable, Equatable {
    var from: PID
    var ref: Ref
    var alias: Alias?
    var port: Ergo.Port?
    var payload: Term
    var kind: Atom
    var blob: Binary
    var bits: BitString?
    var count: BigInteger
    var extra: TermMap?
    var callback: Export?
}

@Suite struct CodableConvertibleTests {
    let pid = PID(node: "a@host", id: 42, serial: 1, creation: 3)
    let ref = Ref(node: "a@host", creation: 3, ids: [1, 2, 3])

    @Test func convertibleAtAnyDepth() throws {
        let s = Station(name: "north", readings: [Celsius(degrees: 1.5)], latest: nil,
                        byHour: [7: Celsius(degrees: -2)])
        let expected: Term = [
            "name": bin("north"),
            "readings": [.tuple(["celsius", 1.5])],
            "latest": "undefined",
            "byHour": .map(TermMap([.init(key: 7, value: .tuple(["celsius", -2.0]))])),
        ]
        try roundTrip(s, expected)
        try roundTrip(Celsius(degrees: 3), .tuple(["celsius", 3.0]))
    }

    @Test func convertibleAsDictionaryKey() throws {
        struct Key: TermConvertible, Hashable {
            var id: Int
            init(id: Int) { self.id = id }
            init(term: Term) throws {
                guard case let .tuple(e) = term, e.count == 2, e[0] == "key", case let .int(i) = e[1] else {
                    throw TermConversionError(expected: "{key, Id}", found: term)
                }
                id = i
            }
            var term: Term { .tuple(["key", .int(id)]) }
        }
        try roundTrip([Key(id: 1): true], .map(TermMap([.init(key: .tuple(["key", 1]), value: "true")])))
    }

    @Test func convertibleErrorsNameThePath() {
        let term: Term = ["name": bin("n"), "readings": [.tuple(["celsius", 1.0]), .tuple(["kelvin", 2.0])],
                          "byHour": .map(TermMap())]
        let f = decodingFailure(Station.self, from: term)
        #expect(f?.kind == "dataCorrupted")
        #expect(f?.path == "readings[1]")
        #expect(f?.message.contains("{celsius, Float}") == true)
    }

    @Test func convertibleCodableMethodsWorkThroughTheTermCoders() throws {
        // Custom Codable code that hands the encoder or decoder on.
        struct Wrapper: Codable, Equatable {
            var inner: Celsius
            init(inner: Celsius) { self.inner = inner }
            init(from decoder: any Decoder) throws { inner = try Celsius(from: decoder) }
            func encode(to encoder: any Encoder) throws { try inner.encode(to: encoder) }
        }
        try roundTrip(Wrapper(inner: Celsius(degrees: 2)), .tuple(["celsius", 2.0]))
        let f = decodingFailure([Wrapper].self, from: [.tuple(["celsius", 1.0]), 5])
        #expect(f?.kind == "dataCorrupted")
        #expect(f?.path == "[1]")
    }

    @Test func encodableOnly() throws {
        struct Msg: Encodable { var tag: Tag; var n: Int }
        #expect(try TermEncoder().encode(Msg(tag: Tag(name: "hello"), n: 1)) == ["tag": "hello", "n": 1])
        let f = encodingFailure(Msg(tag: Tag(name: String(repeating: "x", count: 256)), n: 1))
        #expect(f?.kind == "invalidValue")
        #expect(f?.path == "tag")
    }

    @Test func decodingErrorsFromInitTermKeepTheirKind() {
        struct Inner: TermDecodable {
            init(term: Term) throws {
                struct Wrapped: Decodable { var v: Int }
                _ = try TermDecoder().decode(Wrapped.self, from: term)
            }
        }
        struct Outer: Decodable { var inner: Inner }
        let f = decodingFailure(Outer.self, from: ["inner": ["v": bin("x")]])
        #expect(f?.kind == "typeMismatch")
        #expect(f?.path == "inner.v")
    }

    @Test func termTypesPassThrough() throws {
        let e = Envelope(from: pid, ref: ref, alias: Alias(ref), port: Ergo.Port(node: "a@host", id: 9),
                         payload: .tuple(["ok", [1, 2]]), kind: "call", blob: [1, 2],
                         bits: BitString(bytes: [0xF0], bitsInLastByte: 4),
                         count: BigInteger("99999999999999999999999")!, extra: TermMap([.init(key: 1, value: 2)]),
                         callback: Export(module: "m", function: "f", arity: 1))
        let expected: Term = [
            "from": .pid(pid), "ref": .ref(ref), "alias": .ref(ref), "port": .port(Ergo.Port(node: "a@host", id: 9)),
            "payload": .tuple(["ok", [1, 2]]), "kind": "call", "blob": .binary([1, 2]),
            "bits": .bitString(BitString(bytes: [0xF0], bitsInLastByte: 4)),
            "count": .bigInt(BigInteger("99999999999999999999999")!), "extra": [1: 2],
            "callback": .export(Export(module: "m", function: "f", arity: 1)),
        ]
        try roundTrip(e, expected)
        try roundTrip(Term.tuple(["a", 1]), .tuple(["a", 1]))
        try roundTrip(pid, .pid(pid))
    }

    @Test func termTypesCheckTheirKind() {
        #expect(decodingFailure(PID.self, from: "self")?.message.contains("expected a pid") == true)
        #expect(decodingFailure(Ref.self, from: 1)?.kind == "typeMismatch")
        #expect(decodingFailure(Atom.self, from: bin("ok"))?.kind == "typeMismatch")
        #expect(decodingFailure(Binary.self, from: [1])?.kind == "typeMismatch")
        struct P: Decodable { var owner: PID }
        let f = decodingFailure(P.self, from: ["owner": "undefined"])
        #expect(f?.kind == "valueNotFound")
        #expect(f?.path == "owner")
    }

    @Test func otherCodersGetANaturalFormOrAClearError() throws {
        struct Named: Codable, Equatable { var a: Atom; var n: BigInteger; var b: Binary }
        let json = try { () throws -> Data in
            let e = JSONEncoder()
            e.outputFormatting = .sortedKeys
            return try e.encode(Named(a: "ok", n: BigInteger("123456789012345678901234")!, b: [1, 2]))
        }()
        #expect(String(decoding: json, as: UTF8.self) == #"{"a":"ok","b":[1,2],"n":"123456789012345678901234"}"#)
        #expect(try JSONDecoder().decode(Named.self, from: json) == Named(a: "ok", n: BigInteger("123456789012345678901234")!, b: [1, 2]))
        #expect(throws: EncodingError.self) { try JSONEncoder().encode([pid]) }
        #expect(throws: EncodingError.self) { try JSONEncoder().encode([Term.int(1)]) }
        #expect(throws: EncodingError.self) { try JSONEncoder().encode(Celsius(degrees: 1)) }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([Term].self, from: Data("[1]".utf8)) }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([Celsius].self, from: Data("[1]".utf8)) }
    }

    @Test func customContainersAndSuperEncoders() throws {
        class Base: Codable {
            var id: Int
            init(id: Int) { self.id = id }
        }
        final class Child: Base, @unchecked Sendable {
            var name: String
            init(id: Int, name: String) {
                self.name = name
                super.init(id: id)
            }
            enum CodingKeys: CodingKey { case name }
            override func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(name, forKey: .name)
                try super.encode(to: c.superEncoder())
            }
            required init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                name = try c.decode(String.self, forKey: .name)
                try super.init(from: c.superDecoder())
            }
        }
        let t = try TermEncoder().encode(Child(id: 1, name: "c"))
        #expect(t == ["name": bin("c"), "super": ["id": 1]])
        let back = try TermDecoder().decode(Child.self, from: t)
        #expect(back.id == 1 && back.name == "c")
    }

    @Test func hand_writtenTuples() throws {
        // A type that reads and writes `{Int, String}` through an unkeyed container.
        struct Pair: Codable, Equatable {
            var n: Int
            var s: String
            init(n: Int, s: String) { self.n = n; self.s = s }
            init(from decoder: any Decoder) throws {
                var c = try decoder.unkeyedContainer()
                n = try c.decode(Int.self)
                s = try c.decode(String.self)
                if !c.isAtEnd { throw DecodingError.dataCorruptedError(in: c, debugDescription: "too long") }
            }
            func encode(to encoder: any Encoder) throws {
                var c = encoder.unkeyedContainer()
                try c.encode(n)
                try c.encode(s)
            }
        }
        try roundTrip(Pair(n: 1, s: "a"), [1, bin("a")])
        #expect(try TermDecoder().decode(Pair.self, from: .tuple([1, bin("a")])) == Pair(n: 1, s: "a"))
        let f = decodingFailure(Pair.self, from: [1])
        #expect(f?.kind == "valueNotFound")
        #expect(f?.path == "[1]")
    }

    @Test func userInfoReachesCodableCode() throws {
        let key = CodingUserInfoKey(rawValue: "unit")!
        struct Probe: Codable {
            var seen: String?
            init() {}
            init(from decoder: any Decoder) throws { seen = decoder.userInfo[CodingUserInfoKey(rawValue: "unit")!] as? String }
            func encode(to encoder: any Encoder) throws {
                var c = encoder.singleValueContainer()
                try c.encode(encoder.userInfo[CodingUserInfoKey(rawValue: "unit")!] as? String ?? "none")
            }
        }
        var e = TermEncoder()
        e.userInfo[key] = "kg"
        #expect(try e.encode(Probe()) == bin("kg"))
        var d = TermDecoder()
        d.userInfo[key] = "lb"
        #expect(try d.decode(Probe.self, from: 1).seen == "lb")
    }
}
