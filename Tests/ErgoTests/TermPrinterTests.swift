import Testing
@testable import Ergo

/// The printer writes what `io:format("~0tp", [T])` writes on OTP 25 with
/// `+pc unicode` (the expected strings below were checked against `erl`;
/// PrinterInteropTests asks a real `erl` for a larger corpus).
@Suite struct TermPrinterTests {
    @Test func integers() {
        #expect(Term.int(0).description == "0")
        #expect(Term.int(-42).description == "-42")
        #expect(Term.int(Int.max).description == "9223372036854775807")
        #expect(Term.int(Int.min).description == "-9223372036854775808")
        let big = BigInteger("-123456789012345678901234567890")!
        #expect(Term.bigInt(big).description == "-123456789012345678901234567890")
    }

    @Test(arguments: [
        (1.0, "1.0"), (0.1, "0.1"), (-1.5, "-1.5"), (1.0e10, "1.0e10"), (1.5e-7, "1.5e-7"),
        (-0.0, "-0.0"), (0.0, "0.0"), (1.7976931348623157e308, "1.7976931348623157e308"),
        (.leastNonzeroMagnitude, "5.0e-324"), (2.2250738585072014e-308, "2.2250738585072014e-308"),
        (100.0, "100.0"), (1000.0, "1.0e3"), (12345.0, "12345.0"), (123456789.0, "123456789.0"),
        (0.001, "0.001"), (0.0001, "0.0001"), (0.00012, "1.2e-4"), (0.00025, "2.5e-4"), (1.0e-5, "1.0e-5"),
        (123.456, "123.456"), (0.30000000000000004, "0.30000000000000004"), (1.0e15, "1.0e15"),
        (9007199254740992.0, "9.007199254740992e15"), (12345678901234567890.0, "1.2345678901234567e19"),
        (1.0e23, "1.0e23"), (4503599627370496.0, "4503599627370496.0"), (1200.0, "1.2e3"), (1230.0, "1230.0"),
        (1234567890123400.0, "1234567890123400.0"), (0.0012, "0.0012"), (0.0001234567890123456, "1.234567890123456e-4"), (1.0e100, "1.0e100"), (3.14, "3.14"), (12345678.0, "12345678.0"),
    ] as [(Double, String)])
    func floats(value: Double, text: String) {
        #expect(Term.float(value).description == text)
    }

    @Test func nonFiniteFloatsHaveAVisibleForm() {
        #expect(Term.float(.infinity).description == "#Float<inf>")
        #expect(Term.float(-.infinity).description == "#Float<-inf>")
        #expect(Term.float(.nan).description == "#Float<nan>")
    }

    @Test func atoms() {
        #expect(Term.atom("ok").description == "ok")
        #expect(Term.atom("Ok").description == "'Ok'")
        #expect(Term.atom("").description == "''")
        #expect(Term.atom("node@host").description == "node@host")
        #expect(Term.atom("a.b").description == "'a.b'")
        #expect(Term.atom("_x").description == "'_x'")
        #expect(Term.atom("é").description == "é")
        #expect(Term.atom("Émile").description == "'Émile'")
        #expect(Term.atom("日本").description == "'日本'")
        #expect(Term.atom("×").description == "'×'")
        #expect(Term.atom("aÀb").description == "aÀb")
        #expect(Term.atom("end").description == "'end'")
        #expect(Term.atom("maybe").description == "'maybe'")
        #expect(Term.atom("spec").description == "spec")
    }

    @Test func atomEscapes() {
        #expect(Term.atom("it's").description == #"'it\'s'"#)
        #expect(Term.atom(#"a\b"#).description == #"'a\\b'"#)
        #expect(Term.atom(#"a"b"#).description == #"'a"b'"#)
        #expect(Term.atom("\n").description == #"'\n'"#)
        #expect(Term.atom("a\t\r\u{B}\u{8}\u{C}\u{1B}\u{7F}").description == #"'a\t\r\v\b\f\e\d'"#)
        #expect(Term.atom("a\u{1}").description == #"'a\001'"#)
        #expect(Term.atom("a\u{0}").description == #"'a\000'"#)
        #expect(Term.atom("a\u{80}").description == #"'a\200'"#)
        #expect(Term.atom("a\u{9F}").description == #"'a\237'"#)
        #expect(Term.atom("a\u{A0}").description == "'a\u{A0}'")
        #expect(Term.atom("a b").description == "'a b'")
    }

    @Test func tuplesAndLists() {
        #expect(Term.tuple([]).description == "{}")
        #expect(Term.tuple(["a", 1, ["b"]]).description == "{a,1,[b]}")
        #expect(Term.nil.description == "[]")
        #expect(Term.list([1, 2, 3]).description == "[1,2,3]")
        #expect(Term.list([[]]).description == "[[]]")
        #expect(Term.improperList([1, 2], tail: 3).description == "[1,2|3]")
        #expect(Term.improperList(["a"], tail: .tuple([])).description == "[a|{}]")
        #expect(Term.tuple(["a", [1, 2], ["k": .charlist("x")]]).description == #"{a,[1,2],#{k => "x"}}"#)
    }

    @Test func printableListsAreStrings() {
        #expect(Term.charlist("abc").description == #""abc""#)
        #expect(Term.charlist("").description == "[]")
        #expect(Term.charlist("hello world").description == #""hello world""#)
        #expect(Term.charlist("a\n\t\r\u{B}\u{8}\u{C}\u{1B}").description == #""a\n\t\r\v\b\f\e""#)
        #expect(Term.charlist(#"say "hi" \ 'x'"#).description == #""say \"hi\" \\ 'x'""#)
        #expect(Term.charlist("é日本😀").description == #""é日本😀""#)
        #expect(Term.list([160, 255, 256]).description == "\"\u{A0}ÿĀ\"")
        #expect(Term.list([0xFFFD, 0xE000, 0x10FFFF]).description == "\"\u{FFFD}\u{E000}\u{10FFFF}\"")
    }

    @Test func listsThatAreNotStrings() {
        #expect(Term.list([7]).description == "[7]")
        #expect(Term.list([97, 127]).description == "[97,127]")
        #expect(Term.list([97, 0]).description == "[97,0]")
        #expect(Term.list([128]).description == "[128]")
        #expect(Term.list([159]).description == "[159]")
        #expect(Term.list([0xD800]).description == "[55296]")
        #expect(Term.list([0xFFFE]).description == "[65534]")
        #expect(Term.list([0xFFFF]).description == "[65535]")
        #expect(Term.list([0x110000]).description == "[1114112]")
        #expect(Term.list([97, -1]).description == "[97,-1]")
        #expect(Term.list([97, "b"]).description == "[97,b]")
        #expect(Term.list([97, 98.0]).description == "[97,98.0]")
        #expect(Term.improperList([97, 98], tail: 99).description == "[97,98|99]")
        #expect(Term.list(["a", 98, 99]).description == "[a,98,99]")
    }

    @Test func binaries() {
        #expect(Term.binary(Binary()).description == "<<>>")
        #expect(Term.string("abc").description == #"<<"abc">>"#)
        #expect(Term.binary([1, 2, 3]).description == "<<1,2,3>>")
        #expect(Term.string("é").description == #"<<"é"/utf8>>"#)
        #expect(Term.string("日本").description == #"<<"日本"/utf8>>"#)
        #expect(Term.binary([233]).description == #"<<"é">>"#)
        #expect(Term.binary([169, 233]).description == #"<<"©é">>"#)
        #expect(Term.binary([195, 169, 255]).description == #"<<"Ã©ÿ">>"#)
        #expect(Term.string("\t\n\u{1B}\"'\\").description == #"<<"\t\n\e\"'\\">>"#)
        #expect(Term.binary([127]).description == "<<127>>")
        #expect(Term.binary([97, 0]).description == "<<97,0>>")
        #expect(Term.binary([128]).description == "<<128>>")
        #expect(Term.binary([195, 169, 0]).description == "<<195,169,0>>")
        // Valid UTF-8 of a non-printable character: bytes, no Latin-1 fallback.
        #expect(Term.binary([0xEF, 0xBF, 0xBE]).description == "<<239,191,190>>")
        #expect(Term.binary([0xC2, 0xA0]).description == "<<\"\u{A0}\"/utf8>>")
        #expect(Binary(utf8: "ok").description == #"<<"ok">>"#)
    }

    @Test func bitStrings() {
        #expect(Term.bitString(BitString(bytes: [1, 0b0100_0000], bitsInLastByte: 3)).description == "<<1,2:3>>")
        #expect(Term.bitString(BitString(bytes: [0x80], bitsInLastByte: 1)).description == "<<1:1>>")
        #expect(Term.bitString(BitString(bytes: [97, 98, 99, 0b1010_0000], bitsInLastByte: 3)).description
                == "<<97,98,99,5:3>>")
        #expect(BitString(bytes: [0xFE], bitsInLastByte: 7).description == "<<127:7>>")
    }

    @Test func maps() {
        #expect(Term.map(TermMap()).description == "#{}")
        #expect(Term.map(TermMap([.init(key: "a", value: 1), .init(key: "b", value: 2)])).description
                == "#{a => 1,b => 2}")
        // Stored order, not Erlang's key order.
        #expect(Term.map(TermMap([.init(key: "b", value: 1), .init(key: "a", value: 2)])).description
                == "#{b => 1,a => 2}")
        #expect(Term.map(TermMap([.init(key: .charlist("k"), value: .string("v")),
                                  .init(key: .map(TermMap()), value: [])])).description
                == #"#{"k" => <<"v">>,#{} => []}"#)
    }

    @Test func identifiers() {
        #expect(Term.pid(PID(node: .nonode, id: 42, serial: 0)).description == "<0.42.0>")
        #expect(Term.pid(PID(node: "node@host", id: 42, serial: 1, creation: 3)).description == "<node@host.42.1>")
        #expect(Term.pid(PID(node: "a@b.example.com", id: 1, serial: 2)).description == "<'a@b.example.com'.1.2>")
        #expect(Term.port(Port(node: .nonode, id: 7)).description == "#Port<0.7>")
        #expect(Term.port(Port(node: "n@h", id: 1 << 40)).description == "#Port<n@h.1099511627776>")
        #expect(Term.ref(Ref(node: .nonode, ids: [3, 2, 1])).description == "#Ref<0.1.2.3>")
        #expect(Term.ref(Ref(node: "n@h", ids: [4, 3, 2, 1])).description == "#Ref<n@h.1.2.3.4>")
    }

    @Test func funs() {
        #expect(Term.export(Export(module: "lists", function: "map", arity: 2)).description == "fun lists:map/2")
        #expect(Term.export(Export(module: "A", function: "b c", arity: 1)).description == "fun 'A':'b c'/1")
        // As the runtime writes them: reserved words bare, '@' quoted, ESC in octal.
        #expect(Term.export(Export(module: "fun", function: "end", arity: 255)).description == "fun fun:end/255")
        #expect(Term.export(Export(module: "a@b", function: "c", arity: 0)).description == "fun 'a@b':c/0")
        #expect(Term.export(Export(module: "x", function: "a\u{1B}\n", arity: 0)).description == #"fun x:'a\033\n'/0"#)
        let f = Fun(module: "erl_eval", arity: 0, uniq: Array(repeating: 0, count: 16), index: 43,
                    oldIndex: 43, oldUniq: 3_316_493, pid: PID(node: .nonode, id: 1), freeVariables: [])
        #expect(Term.fun(f).description == "#Fun<erl_eval.43.3316493>")
    }

    @Test func deepTermsPrint() {
        var t: Term = []
        for _ in 0..<1024 { t = [t] }
        let text = t.description
        #expect(text.count == 2 * 1025)
        #expect(text.hasPrefix("[[[[") && text.hasSuffix("]]]]"))
    }
}
