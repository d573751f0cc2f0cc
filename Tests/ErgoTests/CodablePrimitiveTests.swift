import Foundation
import Testing
@testable import Ergo

@Suite struct CodablePrimitiveTests {
    let decoder = TermDecoder()

    // MARK: Strings

    @Test func stringIsABinaryByDefault() throws {
        try roundTrip("héllo", bin("héllo"))
        try roundTrip("", .binary(Binary()))
    }

    @Test func stringAsCharlist() throws {
        let e = TermEncoder.with { $0.stringEncoding = .charlist }
        try roundTrip("hé", [104, 233], encoder: e)
        try roundTrip("", .nil, encoder: e)
        try roundTrip("😀", [0x1F600], encoder: e)
    }

    @Test func stringReadsFromBinaryCharlistOrAtom() throws {
        #expect(try decoder.decode(String.self, from: bin("abc")) == "abc")
        #expect(try decoder.decode(String.self, from: [97, 98, 99]) == "abc")
        #expect(try decoder.decode(String.self, from: .nil) == "")
        #expect(try decoder.decode(String.self, from: "abc") == "abc")
        #expect(try decoder.decode(String.self, from: .atom(.undefined)) == "undefined")
    }

    @Test func aListOfSmallIntegersReadsAsStringOrIntsOrBytes() throws {
        let term: Term = [104, 105]
        #expect(try decoder.decode(String.self, from: term) == "hi")
        #expect(try decoder.decode([Int].self, from: term) == [104, 105])
        #expect(try decoder.decode([UInt8].self, from: term) == [104, 105])
        #expect(try decoder.decode(Data.self, from: term) == Data([104, 105]))
        #expect(try decoder.decode([Int].self, from: .nil) == [])
    }

    @Test func badStrings() {
        let f = decodingFailure(String.self, from: 42)
        #expect(f?.kind == "typeMismatch")
        #expect(f?.message.contains("expected a string") == true)
        let g = decodingFailure(String.self, from: [104, -1])
        #expect(g?.kind == "typeMismatch")
        #expect(g?.message.contains("-1") == true)
        let h = decodingFailure(String.self, from: .binary([0xFF, 0xFE]))
        #expect(h?.kind == "dataCorrupted")
        #expect(h?.message.contains("UTF-8") == true)
        // A surrogate is no character.
        #expect(decodingFailure(String.self, from: [0xD800])?.kind == "typeMismatch")
    }

    // MARK: Bytes

    @Test func bytesAreBinaries() throws {
        try roundTrip([UInt8]([1, 2, 255]), .binary([1, 2, 255]))
        try roundTrip(Data([0, 9]), .binary([0, 9]))
        try roundTrip(Binary([7, 8]), .binary([7, 8]))
        let f = decodingFailure([UInt8].self, from: [1, 256])
        #expect(f?.kind == "typeMismatch")
        #expect(f?.path == "[1]")
        #expect(decodingFailure([UInt8].self, from: 5)?.kind == "typeMismatch")
        // Other integer arrays stay lists.
        try roundTrip([Int8]([1, -1]), [1, -1])
        #expect(decodingFailure([Int].self, from: .binary([1]))?.kind == "typeMismatch")
    }

    // MARK: Booleans and integers

    @Test func boolsAreAtoms() throws {
        try roundTrip(true, "true")
        try roundTrip(false, "false")
        #expect(decodingFailure(Bool.self, from: 1)?.kind == "typeMismatch")
        #expect(decodingFailure(Bool.self, from: "yes")?.message.contains("true or false") == true)
    }

    @Test func integersOfEveryWidth() throws {
        try roundTrip(Int.min, .int(Int.min))
        try roundTrip(Int8(-128), -128)
        try roundTrip(Int16(300), 300)
        try roundTrip(Int32.max, .int(Int(Int32.max)))
        try roundTrip(Int64(-5), -5)
        try roundTrip(UInt(7), 7)
        try roundTrip(UInt8(255), 255)
        try roundTrip(UInt16(65535), 65535)
        try roundTrip(UInt32.max, .int(Int(UInt32.max)))
        try roundTrip(UInt64(Int.max), .int(Int.max))
        // Past Int: a bignum.
        try roundTrip(UInt64.max, .bigInt(BigInteger("18446744073709551615")!))
        try roundTrip(UInt.max, .bigInt(BigInteger("18446744073709551615")!))
        try roundTrip(Int128.min, .bigInt(BigInteger("-170141183460469231731687303715884105728")!))
        try roundTrip(UInt128.max, .bigInt(BigInteger("340282366920938463463374607431768211455")!))
        try roundTrip(Int128(42), 42)
    }

    @Test func integerOverflowNamesThePath() {
        struct Small: Codable { var level: Int8 }
        let f = decodingFailure(Small.self, from: ["level": 300])
        #expect(f?.kind == "dataCorrupted")
        #expect(f?.path == "level")
        #expect(f?.message.contains("300 does not fit Int8") == true)
        struct Counts: Codable { var counts: [UInt16] }
        let g = decodingFailure(Counts.self, from: ["counts": [1, -1]])
        #expect(g?.path == "counts[1]")
        #expect(g?.message.contains("UInt16") == true)
        let big = Term.bigInt(BigInteger("18446744073709551616")!)
        #expect(decodingFailure(UInt64.self, from: big)?.kind == "dataCorrupted")
        #expect(decodingFailure(Int.self, from: big)?.kind == "dataCorrupted")
        #expect(decodingFailure(UInt8.self, from: .bigInt(BigInteger("-99999999999999999999")!))?.kind == "dataCorrupted")
        #expect(decodingFailure(Int.self, from: 1.5)?.kind == "typeMismatch")
        // `undefined` where a value is needed: valueNotFound.
        #expect(decodingFailure(Small.self, from: ["level": "undefined"])?.kind == "valueNotFound")
    }

    @Test func bigIntegers() throws {
        let huge = BigInteger("123456789012345678901234567890")!
        try roundTrip(huge, .bigInt(huge))
        // A BigInteger that fits Int is written as a small integer.
        try roundTrip(BigInteger(5), 5)
        #expect(try decoder.decode(BigInteger.self, from: -3) == BigInteger(-3))
        #expect(decodingFailure(BigInteger.self, from: 1.0)?.kind == "typeMismatch")
    }

    // MARK: Floats

    @Test func floats() throws {
        try roundTrip(1.5, 1.5)
        try roundTrip(Float(0.25), 0.25)
        // Integers read into floating point when exact.
        #expect(try decoder.decode(Double.self, from: 3) == 3.0)
        #expect(try decoder.decode(Float.self, from: 3) == 3.0)
        #expect(decodingFailure(Double.self, from: .int(Int.max))?.kind == "dataCorrupted")
        #expect(decodingFailure(Float.self, from: 1e300)?.kind == "dataCorrupted")
        #expect(decodingFailure(Double.self, from: bin("1.0"))?.kind == "typeMismatch")
    }

    @Test func nonFiniteFloatsDoNotEncode() {
        struct Reading: Codable { var values: [Double] }
        let f = encodingFailure(Reading(values: [1, .nan]))
        #expect(f?.kind == "invalidValue")
        #expect(f?.path == "values[1]")
        #expect(encodingFailure(Float.infinity)?.kind == "invalidValue")
    }

    // MARK: Optionals

    @Test func nilIsUndefinedByDefault() throws {
        try roundTrip(Int?.none, "undefined")
        try roundTrip(Int?.some(1), 1)
        try roundTrip([1, nil, 3] as [Int?], [1, "undefined", 3])
    }

    @Test func nilAsElixirNil() throws {
        let e = TermEncoder.with { $0.nilAtom = "nil" }
        try roundTrip(String?.none, "nil", encoder: e)
        struct Note: Codable, Equatable { var text: String?; var by: String }
        try roundTrip(Note(text: nil, by: "x"), ["text": "nil", "by": bin("x")], encoder: e)
    }

    @Test func nilAtomsAreConfigurable() throws {
        #expect(try decoder.decode(Int?.self, from: "nil") == nil)
        var strict = TermDecoder()
        strict.nilAtoms = [.undefined]
        #expect(decodingFailure(Int?.self, from: "nil", decoder: strict)?.kind == "typeMismatch")
        // An optional atom: the nil atom reads as nil, others as themselves.
        #expect(try decoder.decode(Atom?.self, from: "undefined") == nil)
        #expect(try decoder.decode(Atom?.self, from: "ok") == .ok)
    }

    @Test func missingKeyOrNilAtomIsNil() throws {
        struct Opt: Codable, Equatable { var a: Int?; var b: [String]? }
        #expect(try decoder.decode(Opt.self, from: .map(TermMap())) == Opt(a: nil, b: nil))
        #expect(try decoder.decode(Opt.self, from: ["a": "undefined", "b": "nil"]) == Opt(a: nil, b: nil))
        #expect(try decoder.decode(Opt.self, from: ["a": 1, "b": [bin("x")]]) == Opt(a: 1, b: ["x"]))
        let f = decodingFailure(Opt.self, from: ["a": bin("one")])
        #expect(f?.kind == "typeMismatch")
        #expect(f?.path == "a")
    }
}
