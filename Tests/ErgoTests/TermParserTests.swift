import Testing
@testable import Ergo

@Suite struct TermParserTests {
    private func parse(_ text: String) throws -> Term { try Term(parsing: text) }

    /// The error's offset, or nil when the text parses.
    private func errorOffset(_ text: String) -> Int? {
        do {
            _ = try Term(parsing: text)
            return nil
        } catch {
            guard case let .parse(_, offset) = error else { return -1 }
            return offset
        }
    }

    private func errorMessage(_ text: String) -> String {
        do {
            _ = try Term(parsing: text)
            return ""
        } catch {
            return error.description
        }
    }

    @Test func integers() throws {
        #expect(try parse("42") == 42)
        #expect(try parse("-7") == -7)
        #expect(try parse("- 7") == -7)
        #expect(try parse("+7") == 7)
        #expect(try parse("1_000_000") == 1_000_000)
        #expect(try parse("16#FF") == 255)
        #expect(try parse("16#ff") == 255)
        #expect(try parse("-16#F_F") == -255)
        #expect(try parse("2#1010") == 10)
        #expect(try parse("36#zz") == 1295)
        #expect(try parse("9223372036854775807") == .int(Int.max))
        #expect(try parse("-9223372036854775808") == .int(Int.min))
        #expect(try parse("9223372036854775808") == .bigInt(BigInteger("9223372036854775808")!))
        #expect(try parse("-123456789012345678901234567890")
                == .bigInt(BigInteger("-123456789012345678901234567890")!))
        #expect(try parse("16#10000000000000000") == .bigInt(BigInteger("18446744073709551616")!))
        #expect(try parse("007") == 7)
    }

    @Test func characterLiterals() throws {
        #expect(try parse("$a") == 97)
        #expect(try parse("$ ") == 32)
        #expect(try parse(#"$\n"#) == 10)
        #expect(try parse(#"$\\"#) == 92)
        #expect(try parse(#"$\s"#) == 32)
        #expect(try parse(#"$\x{1F600}"#) == 0x1F600)
        #expect(try parse("$é") == 233)
        #expect(try parse("$😀") == 0x1F600)
        #expect(try parse("-$a") == -97)
        #expect(try parse(#"[$a,$\^A]"#) == [97, 1])
    }

    @Test func floats() throws {
        #expect(try parse("1.0") == 1.0)
        #expect(try parse("-2.5e-3") == -2.5e-3)
        #expect(try parse("1.0e10") == 1.0e10)
        #expect(try parse("1.5E+3") == 1500.0)
        #expect(try parse("0.1") == .float(0.1))
        #expect(try parse("1_0.5") == 10.5)
        #expect(try parse("5.0e-324") == .float(.leastNonzeroMagnitude))
        #expect(try parse("1.7976931348623157e308") == .float(.greatestFiniteMagnitude))
        guard case let .float(z) = try parse("-0.0") else { Issue.record("not a float"); return }
        #expect(z.sign == .minus)
        #expect(try parse("#Float<inf>") == .float(.infinity))
        #expect(try parse("#Float<-inf>") == .float(-.infinity))
        guard case let .float(nan) = try parse("#Float<nan>") else { Issue.record("not a float"); return }
        #expect(nan.isNaN)
    }

    @Test func atoms() throws {
        #expect(try parse("ok") == "ok")
        #expect(try parse("node@host") == "node@host")
        #expect(try parse("a_B9") == "a_B9")
        #expect(try parse("'Hello World'") == "Hello World")
        #expect(try parse("''") == .atom(""))
        #expect(try parse("éa") == "éa")
        #expect(try parse("'日本'") == "日本")
        #expect(try parse("true") == .bool(true))
        #expect(try parse("'end'") == "end")
        #expect(try parse("maybe") == "maybe")  // OTP 25 prints it bare
        #expect(try parse("else") == "else")
    }

    @Test func escapes() throws {
        #expect(try parse(#"'it\'s'"#) == "it's")
        #expect(try parse(#"'a\\b'"#) == #"a\b"#)
        #expect(try parse(#"'\n\t\r\v\b\f\e\d\s'"#) == "\n\t\r\u{B}\u{8}\u{C}\u{1B}\u{7F} ")
        #expect(try parse(#"'\001\1\12\101\1011'"#) == "\u{1}\u{1}\n\u{41}\u{41}1")
        #expect(try parse(#"'\x41\x{42}\x{1F600}'"#) == "AB😀")
        #expect(try parse(#"'\^a\^Z\^['"#) == "\u{1}\u{1A}\u{1B}")
        #expect(try parse(#"'\z\"'"#) == "z\"")
        #expect(try parse(#""\"q\"""#) == .charlist("\"q\""))
    }

    @Test func strings() throws {
        #expect(try parse(#""abc""#) == .charlist("abc"))
        #expect(try parse(#""""#) == .nil)
        #expect(try parse(#""ab" "cd""#) == .charlist("abcd"))
        #expect(try parse(#""é日😀""#) == .list([233, 0x65E5, 0x1F600]))
        #expect(try parse(#""a\x{D7FF}""#) == .list([97, 0xD7FF]))
        #expect(try parse("\"line\nbreak\"") == .charlist("line\nbreak"))
    }

    @Test func binaries() throws {
        #expect(try parse("<<>>") == .binary(Binary()))
        #expect(try parse(#"<<"abc">>"#) == .string("abc"))
        #expect(try parse("<<1,2,3>>") == .binary([1, 2, 3]))
        #expect(try parse("<< 1 , 2 >>") == .binary([1, 2]))
        #expect(try parse(#"<<"é"/utf8>>"#) == .string("é"))
        #expect(try parse(#"<<"é">>"#) == .binary([233]))
        #expect(try parse(#"<<"ā">>"#) == .binary([1]))  // Latin-1: the low 8 bits, as Erlang
        #expect(try parse(#"<<"a", 0, "b">>"#) == .binary([97, 0, 98]))
        #expect(try parse("<<300>>") == .binary([44]))
        #expect(try parse("<<-1>>") == .binary([255]))
        #expect(try parse("<<300:16>>") == .binary([1, 44]))
        #expect(try parse("<<300:16/little>>") == .binary([44, 1]))
        #expect(try parse("<<-1:12>>") == .bitString(BitString(bytes: [255, 0xF0], bitsInLastByte: 4)))
        #expect(try parse(#"<<"ab":16>>"#) == .binary([0, 97, 0, 98]))
        #expect(try parse("<<1:2/integer-unit:8>>") == .binary([0, 1]))
        #expect(try parse("<<1:2/unsigned-big-integer-unit:8>>") == .binary([0, 1]))
        #expect(try parse("<<1.5/float>>") == .binary([63, 248, 0, 0, 0, 0, 0, 0]))
        #expect(try parse("<<1.0:32/float>>") == .binary([63, 128, 0, 0]))
        #expect(try parse("<<65/utf8>>") == .binary([65]))
        #expect(try parse(#"<<"é"/utf16-little>>"#) == .binary([233, 0]))
        #expect(try parse(#"<<"abc"/binary>>"#) == .string("abc"))
        #expect(try parse("<<16#123456789ABCDEF0123:80>>")
                == .binary([0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0x01, 0x23]))
        #expect(try parse("<<-16#123456789ABCDEF0123:72>>")
                == .binary([0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10, 0xFE, 0xDD]))
    }

    @Test func bitStrings() throws {
        #expect(try parse("<<1,2:3>>") == .bitString(BitString(bytes: [1, 0b0100_0000], bitsInLastByte: 3)))
        #expect(try parse("<<1:1>>") == .bitString(BitString(bytes: [0x80], bitsInLastByte: 1)))
        #expect(try parse("<<0:7>>") == .bitString(BitString(bytes: [0], bitsInLastByte: 7)))
        #expect(try parse("<<97,98,99,5:7>>")
                == .bitString(BitString(bytes: [97, 98, 99, 0b0000_1010], bitsInLastByte: 7)))
        #expect(try parse("<<1:4,2:4>>") == .binary([0x12]))
        #expect(try parse("<<1:3,255,1:5>>") == .binary([0b0011_1111, 0b1110_0001]))
    }

    @Test func tuplesListsMaps() throws {
        #expect(try parse("{}") == .tuple([]))
        #expect(try parse("{ a , 1 , [ ] }") == .tuple(["a", 1, []]))
        #expect(try parse("[1,2,3]") == [1, 2, 3])
        #expect(try parse("[a|b]") == .improperList(["a"], tail: "b"))
        #expect(try parse("[1,2|3]") == .improperList([1, 2], tail: 3))
        #expect(try parse("[1|[2,3]]") == [1, 2, 3])
        #expect(try parse("[1|[2|x]]") == .improperList([1, 2], tail: "x"))
        #expect(try parse("[1|[]]") == [1])
        #expect(try parse("#{}") == .map(TermMap()))
        #expect(try parse("#{a => 1, \"k\" => <<\"v\">>}")
                == .map(TermMap([.init(key: "a", value: 1), .init(key: .charlist("k"), value: .string("v"))])))
        #expect(try parse("#{a => 1, a => 2}") == ["a": 2])
        #expect(try parse("#{#{} => #{x => []}}") == .map(TermMap([.init(key: .map(TermMap()), value: ["x": []])])))
    }

    @Test func mapsKeepTheirWrittenOrder() throws {
        guard case let .map(m) = try parse("#{b => 1, a => 2}") else { Issue.record("not a map"); return }
        #expect(m.entries.map(\.key) == ["b", "a"])
    }

    @Test func identifiers() throws {
        #expect(try parse("<0.42.0>") == .pid(PID(node: .nonode, id: 42, serial: 0)))
        #expect(try parse("<node@host.42.1>") == .pid(PID(node: "node@host", id: 42, serial: 1)))
        #expect(try parse("<'a@b.example.com'.1.2>") == .pid(PID(node: "a@b.example.com", id: 1, serial: 2)))
        #expect(try parse("#Ref<0.1.2.3>") == .ref(Ref(node: .nonode, ids: [3, 2, 1])))
        #expect(try parse("#Ref<n@h.1.2.3.4>") == .ref(Ref(node: "n@h", ids: [4, 3, 2, 1])))
        #expect(try parse("#Port<0.7>") == .port(Port(node: .nonode, id: 7)))
        #expect(try parse("#Port<n@h.1099511627776>") == .port(Port(node: "n@h", id: 1 << 40)))
        #expect(try parse("fun lists:map/2") == .export(Export(module: "lists", function: "map", arity: 2)))
        #expect(try parse("fun 'A' : 'b c' / 1") == .export(Export(module: "A", function: "b c", arity: 1)))
        #expect(try parse("fun fun:end/255") == .export(Export(module: "fun", function: "end", arity: 255)))
        #expect(try parse("[<0.1.2>,<<1>>]") == [.pid(PID(node: .nonode, id: 1, serial: 2)), .binary([1])])
    }

    @Test func layout() throws {
        #expect(try parse("  {ok, 1} .  ") == .tuple(["ok", 1]))
        #expect(try parse("{ok,1}.") == .tuple(["ok", 1]))
        #expect(try parse("1.") == 1)
        #expect(try parse("% a comment\n[1, % one\n 2]\n") == [1, 2])
        #expect(try parse("\t[\r\n]\n") == .nil)
    }

    @Test func errorsCarryTheirOffset() {
        #expect(errorOffset("") == 0)
        #expect(errorOffset("   ") == 3)
        #expect(errorOffset("{a,b") == 4)
        #expect(errorOffset("{a b}") == 3)
        #expect(errorOffset("[1,2") == 4)
        #expect(errorOffset("[1|2,3]") == 4)
        #expect(errorOffset("#{a 1}") == 4)
        #expect(errorOffset("'abc") == 0)
        #expect(errorOffset("\"abc") == 0)
        #expect(errorOffset("Var") == 0)
        #expect(errorOffset("_") == 0)
        #expect(errorOffset("{1, end}") == 4)
        #expect(errorOffset("1 2") == 2)
        #expect(errorOffset("{ok}.x") == 5)
        #expect(errorOffset("1.0e") == 4)
        #expect(errorOffset("1.0e400") == 0)
        #expect(errorOffset("37#1") == 0)
        #expect(errorOffset("16#") == 3)
        #expect(errorOffset("-a") == 1)
        #expect(errorOffset("<1.2.3>") == 1)
        #expect(errorOffset("<0.1>") == 4)
        #expect(errorOffset("<0.1.99999999999>") == 5)
        #expect(errorOffset("#Ref<0.1.2.3.4.5.6>") == 0)
        #expect(errorOffset("#Fun<erl_eval.1.2>") == 0)
        #expect(errorOffset("#Foo<1>") == 0)
        #expect(errorOffset("#x") == 0)
        #expect(errorOffset("fun lists:map/256") == 14)
        #expect(errorOffset("fun lists") == 9)
        #expect(errorOffset("<<1.5>>") == 2)
        #expect(errorOffset("<<1:x>>") == 4)
        #expect(errorOffset("<<1/foo>>") == 4)
        #expect(errorOffset("<<1/unit:8>>") == 2)
        #expect(errorOffset("<<0:134217729>>") == 4)
        #expect(errorOffset("<<1, \"abcdefgh\":16777216>>") == 5)
        #expect(errorOffset("<<a>>") == 2)
        #expect(errorOffset(#"'\x{110000}'"#) == 1)
        #expect(errorOffset(#"'\x{D800}'"#) == 1)
        #expect(errorOffset(#""\xZ""#) == 1)
        // Offsets count UTF-8 bytes.
        #expect(errorOffset("['日本' x]") == 10)
        #expect(errorOffset("'" + String(repeating: "a", count: 256) + "'") == 0)
    }

    @Test func errorMessagesSayWhatWasExpected() {
        #expect(errorMessage("{a b}") == "term syntax error at offset 3: expected ',' or '}' after a tuple element, found 'b'")
        #expect(errorMessage("[1,2") == "term syntax error at offset 4: expected ',', '|' or ']' after a list element, found the end of the text")
        #expect(errorMessage("X").contains("variable"))
        #expect(errorMessage("end").contains("reserved word"))
        #expect(errorMessage("#Fun<erl_eval.1.2>").contains("cannot be read back"))
        #expect(errorMessage("<12.1.2>").contains("node index 12"))
        #expect(errorMessage("'" + String(repeating: "a", count: 256) + "'").contains("atom too long (256"))
        #expect(errorMessage("{\u{7F}}").contains("U+007F"))
    }

    @Test func nestingIsBounded() throws {
        let deep = String(repeating: "[", count: TermParser.maxDepth) + String(repeating: "]", count: TermParser.maxDepth)
        var expected: Term = []
        for _ in 1..<TermParser.maxDepth { expected = [expected] }
        #expect(try parse(deep) == expected)
        let tooDeep = "{" + deep + "}"
        #expect(errorOffset(tooDeep) == TermParser.maxDepth)
    }
}

/// parse(print(t)) == t for every kind of term the printer writes.
@Suite struct TermParserRoundTripTests {
    static let samples: [Term] = [
        0, -1, .int(Int.max), .int(Int.min), .bigInt(BigInteger("170141183460469231731687303715884105728")!),
        .bigInt(BigInteger("-9223372036854775809")!),
        1.0, -0.0, 0.1, 1.0e10, 1.5e-7, .float(.leastNonzeroMagnitude), .float(.greatestFiniteMagnitude), 0.00012, 1.0e3,
        .float(.infinity), .float(-.infinity),
        "ok", "Ok", "", "it's", "a\u{0}\u{1B}\u{7F}\u{80}\u{9F}\u{A0}", "日本", "maybe", "end", "node@host",
        .charlist("hello\n\"world\""), .charlist("é😀"), .list([0xD800, 0xFFFE]), .list([97, 127]),
        .improperList([1, 2], tail: 3), .improperList([.charlist("ab")], tail: .string("c")),
        .tuple([]), .tuple(["a", .tuple(["b", []])]),
        .binary(Binary()), .string("abc"), .string("é日本"), .binary([0, 255, 128]), .binary([233]),
        .binary([0xEF, 0xBF, 0xBE]), .binary([195, 169, 255]),
        .bitString(BitString(bytes: [1, 0x40], bitsInLastByte: 3)), .bitString(BitString(bytes: [0xFE], bitsInLastByte: 7)),
        ["k": .charlist("v"), 1: ["x"], .tuple([]): .map(TermMap())],
        .pid(PID(node: .nonode, id: 1, serial: 2)), .pid(PID(node: "a@b.example.com", id: 3, serial: 4)),
        .port(Port(node: "n@h", id: UInt64.max)), .ref(Ref(node: .nonode, ids: [1, 2, 3])),
        .ref(Ref(node: "x@y", ids: [UInt32.max, 0, 1, 2, 3])), .ref(Ref(node: "Upper@host", ids: [9])),
        .export(Export(module: "lists", function: "map", arity: 2)),
        .export(Export(module: "a@b", function: "end", arity: 0)),
        .export(Export(module: "x", function: "a\u{1B}\u{7F}'\\", arity: 255)),
    ]

    @Test(arguments: samples)
    func printedTermsParseBack(term: Term) throws {
        let text = term.description
        let back = try Term(parsing: text)
        #expect(back == term, "printed as \(text)")
        #expect(back.description == text)
    }

    @Test func randomTermsRoundTrip() throws {
        var rng = SplitMix64(seed: 0x5EED)
        for i in 0..<3000 {
            let term = RandomTerm.make(&rng, depth: 0)
            let text = term.description
            let back: Term
            do {
                back = try Term(parsing: text)
            } catch {
                Issue.record("#\(i): \(text) does not parse: \(error)")
                continue
            }
            if back != term || back.description != text {
                Issue.record("#\(i): \(text) parses to \(back.description)")
            }
        }
    }
}

/// A small deterministic generator (SplitMix64).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random terms of every kind the parser can read back.
enum RandomTerm {
    static func make(_ rng: inout SplitMix64, depth: Int) -> Term {
        let leafOnly = depth >= 4
        switch Int.random(in: 0..<(leafOnly ? 9 : 14), using: &rng) {
        case 0: return .int(Int.random(in: -1000...1000, using: &rng))
        case 1: return .int(Int(bitPattern: UInt(rng.next())))
        case 2:
            let bytes = (0..<Int.random(in: 9...20, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            return .integer(BigInteger(isNegative: Bool.random(using: &rng), magnitude: bytes + [1]))
        case 3:
            var d: Double
            repeat { d = Double(bitPattern: rng.next()) } while !d.isFinite
            return .float(Bool.random(using: &rng) ? d : Double(Int.random(in: -99999...99999, using: &rng)) / 100)
        case 4: return .atom(Atom(text(&rng, max: 12)))
        case 5: return .list(text(&rng, max: 10).unicodeScalars.map { .int(Int($0.value)) })
        case 6:
            let n = Int.random(in: 0...12, using: &rng)
            return .binary(Binary((0..<n).map { _ in
                Bool.random(using: &rng) ? UInt8.random(in: 32...126, using: &rng) : UInt8.random(in: 0...255, using: &rng)
            }))
        case 7:
            if Bool.random(using: &rng) { return .string(text(&rng, max: 10)) }
            let n = Int.random(in: 1...4, using: &rng)
            let bits = UInt8.random(in: 1...7, using: &rng)
            var bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            bytes[n - 1] &= ~UInt8(0xFF >> bits)
            return .bitString(BitString(bytes: Binary(bytes), bitsInLastByte: bits))
        case 8:
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: return .pid(PID(node: node(&rng), id: UInt32.random(in: 0...UInt32.max, using: &rng),
                                    serial: UInt32.random(in: 0...8191, using: &rng)))
            case 1: return .port(Port(node: node(&rng), id: rng.next()))
            case 2: return .ref(Ref(node: node(&rng), ids: (0..<Int.random(in: 1...5, using: &rng)).map { _ in
                UInt32.random(in: 0...UInt32.max, using: &rng)
            }))
            default: return .export(Export(module: Atom(text(&rng, max: 6)), function: Atom(text(&rng, max: 6)),
                                            arity: UInt8.random(in: 0...255, using: &rng)))
            }
        case 9, 10: return .tuple(children(&rng, depth: depth))
        case 11: return .list(children(&rng, depth: depth))
        case 12:
            var elements = children(&rng, depth: depth)
            if elements.isEmpty { elements = [1] }
            var tail = make(&rng, depth: depth + 1)
            if case .list = tail { tail = "tail" }
            if case .improperList = tail { tail = "tail" }
            return .improperList(elements, tail: tail)
        default:
            let keys = children(&rng, depth: depth)
            return .map(TermMap(keys.map { TermMap.Entry(key: $0, value: make(&rng, depth: depth + 1)) }))
        }
    }

    static func children(_ rng: inout SplitMix64, depth: Int) -> [Term] {
        (0..<Int.random(in: 0...5, using: &rng)).map { _ in make(&rng, depth: depth + 1) }
    }

    static func node(_ rng: inout SplitMix64) -> Atom {
        [.nonode, "a@b", "node@host.example.com", "Ü@x", "n-1@10.0.0.1"][Int.random(in: 0..<5, using: &rng)]
    }

    /// Text mixing ASCII, controls, Latin-1 and beyond.
    static func text(_ rng: inout SplitMix64, max: Int) -> String {
        let pools: [ClosedRange<UInt32>] = [0x61...0x7A, 0x20...0x7E, 0x00...0x1F, 0x7F...0xFF, 0x100...0x2FFF, 0x1F300...0x1F64F]
        var s = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0...max, using: &rng) {
            let pool = pools[Int.random(in: 0..<pools.count, using: &rng)]
            s.append(Unicode.Scalar(UInt32.random(in: pool, using: &rng))!)
        }
        return String(s)
    }
}
