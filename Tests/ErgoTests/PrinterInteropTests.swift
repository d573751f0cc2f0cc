import Foundation
import Testing
@testable import Ergo

/// The printer against a real `erl`: a fixed corpus of tricky terms, and a few
/// thousand doubles, printed by `io:format("~0tp~n", [T])` in a runtime
/// started with `+pc unicode` (`Erlang/ergo_print_terms.erl`), must come out
/// of `Term.description` as the same lines. Erlang's lines must also parse
/// back (with `Term(parsing:)`) to the same terms.
///
/// Pids, ports and references are left out (Erlang prints a node index; the
/// unit tests cover their forms). Without `erl` the tests are skipped, except
/// under CI=true, where that is a failure.
@Suite struct PrinterInteropTests {
    /// Terms in Erlang syntax that both Erlang and `Term(parsing:)` read.
    /// Maps are written in Erlang's key order, which is how Erlang prints them.
    static let corpus: [String] = [
        // Integers
        "0", "1", "-1", "42", "255", "256", "-256", "65535", "2147483647", "-2147483648", "4294967296",
        "9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9223372036854775809",
        "18446744073709551616", "123456789012345678901234567890", "-99999999999999999999999999999999999999",
        "16#FF", "2#1010", "36#ZZ", "$a", #"$\n"#, "1_000_000",
        // Floats
        "1.0", "-1.0", "0.0", "-0.0", "0.1", "0.5", "3.14", "100.0", "1000.0", "1200.0", "1230.0", "1.0e10",
        "1.5e-7", "0.001", "0.0001", "0.00012", "0.0012", "12345.0", "123456789.0", "1.7976931348623157e308",
        "5.0e-324", "2.2250738585072014e-308", "0.30000000000000004", "9007199254740992.0",
        "4503599627370496.0", "1234567890123400.0", "1.0e23", "6.02214076e23", "-2.5e-3", "1.0e-300",
        // Atoms
        "ok", "'Ok'", "'hello world'", "''", #"'a\'b'"#, #"'a\\b'"#, #"'with"quote'"#, #"'\n'"#,
        #"'tab\there'"#, #"'a\x{1}'"#, #"'a\d'"#, #"'a\e'"#, #"'a\x{9f}'"#, #"'a\x{a0}b'"#, "'é'", "éa",
        "'Émile'", "'日本'", "'a😀'", "node@host", "'a.b'", "'a-b'", "'_x'", "'X'", "'9a'", "a9", "true",
        "false", "undefined", "'receive'", "'end'", "'fun'", "'cond'", "'let'", "spec", "'×'", "aÀb", "ß",
        // Strings and lists of integers
        #""""#, #""abc""#, #""hello world""#, #""line\nbreak""#, #""\t\e\b\f\v\r""#,
        #""quote\"s and 'single'""#, #""back\\slash""#, #""é""#, #""日本語""#, #""😀""#, "[7]", "[127]",
        "[128]", "[159]", "[160]", "[255]", "[256]", "[16#D7FF]", "[16#E000]", "[16#FFFD]", "[16#FFFE]",
        "[16#FFFF]", "[16#10000]", "[16#10FFFF]", "[97,0]", "[97,-1]", "[$a,b]", "[97|98]", "[$a,$b|$c]",
        // Lists and tuples
        "[]", "[[]]", "[1,2,3]", "[1,[2,[3]]]", "[a|b]", "[1,2|3]", "[a,b|{c}]", #"["ab","cd"]"#,
        "[[97],[98]]", "{}", "{a}", "{a,b,{c,{d}}}", "{[],<<>>,#{}}", "{-1,-1.5,'-'}",
        // Binaries
        "<<>>", #"<<"abc">>"#, "<<1,2,3>>", "<<0>>", #"<<"é"/utf8>>"#, "<<233>>", #"<<"日本"/utf8>>"#,
        #"<<"😀"/utf8>>"#, #"<<"tab\t\n\e">>"#, "<<127>>", #"<<"a",0>>"#, "<<195,169,0>>", "<<239,191,190>>",
        "<<194,160>>", #"<<"\"'\\">>"#, "<<169,233>>", "<<195,40>>", "<<255,254>>", "<<128>>",
        "<<244,144,128,128>>", "<<237,160,128>>", "<<192,128>>",
        // Bit strings
        "<<1,2:3>>", "<<1:1>>", #"<<"abc",5:7>>"#, "<<0:7>>", "<<255,255:8>>", "<<300:16>>",
        #"<<"é"/utf8,1:2>>"#,
        // Maps
        "#{}", "#{a => 1}", "#{a => 1,b => 2}", #"#{1 => a,a => 1,{t} => [l],"s" => <<"b">>}"#,
        "#{#{} => []}", "#{[1] => #{x => y}}", #"{a,[1,2],#{k => "x"}}"#, "#{1 => 1.0,1.0 => 1}",
        // External funs
        "fun lists:map/2", "fun erlang:'+'/2", "fun 'Elixir.Foo':bar/0", "fun 'A':'b c'/1",
        "fun 'fun':'end'/255", "fun 'a@b':c/0", #"fun x:'a\e\n\'\\'/0"#, "fun 'a b':'c.d'/3",
    ] + generated

    /// Larger terms: no line is ever wrapped.
    static let generated: [String] = [
        "[" + (1...100).map(String.init).joined(separator: ",") + "]",
        "{" + (1...40).map { "a\($0)" }.joined(separator: ",") + "}",
        "\"" + String(repeating: "The quick brown fox. ", count: 20) + "\"",
        "<<" + (0...255).map(String.init).joined(separator: ",") + ">>",
        String(repeating: "{", count: 50) + "x" + String(repeating: "}", count: 50),
        "#{" + (1...32).map { "k\(String($0 + 100))  => \($0)" }.joined(separator: ",") + "}",
    ]

    @Test func corpusPrintsAsErlangPrintsIt() throws {
        let erlang = try erlangOrSkip()
        let lines = try printWithErlang(erlang, "terms", Self.corpus.joined(separator: ".\n") + ".\n")
        try #require(lines.count == Self.corpus.count, "erl printed \(lines.count) lines for \(Self.corpus.count) terms")
        for (source, expected) in zip(Self.corpus, lines) {
            let term = try Term(parsing: source)
            #expect(term.description == expected, "for \(source)")
            let fromErlang = try Term(parsing: expected)
            #expect(fromErlang == term, "Erlang's \(expected) parses to \(fromErlang.description)")
        }
    }

    @Test func floatsPrintAsErlangPrintsThem() throws {
        let erlang = try erlangOrSkip()
        let values = Self.floats()
        let lines = try printWithErlang(erlang, "floats", values.map { "\($0.bitPattern).\n" }.joined())
        try #require(lines.count == values.count, "erl printed \(lines.count) lines for \(values.count) floats")
        var mismatches: [String] = []
        for (value, expected) in zip(values, lines) {
            let ours = Term.float(value).description
            if ours != expected { mismatches.append("\(value.bitPattern): Erlang \(expected), ours \(ours)") }
            if case let .float(back)? = try? Term(parsing: expected), back.bitPattern == value.bitPattern {
                continue
            }
            mismatches.append("\(value.bitPattern): Erlang's \(expected) does not parse back to the same double")
        }
        let report = mismatches.prefix(10).joined(separator: "\n")
        #expect(mismatches.count == 0, "\(mismatches.count) of \(values.count) floats differ:\n\(report)")
    }

    /// Doubles where layouts change: powers of two and ten and their
    /// neighbours, integers around 2^53, short decimals, random bit patterns.
    static func floats() -> [Double] {
        var values: [Double] = [0, -0.0, .leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude]
        for e in -1074...1023 where e % 3 == 0 || abs(e) < 70 {
            let p = Double(sign: .plus, exponent: e, significand: 1)
            values += [p, p.nextUp, p.nextDown]
        }
        for e in -323...308 {
            if let p = Double("1e\(e)") { values += [p, p.nextUp, p.nextDown, -p] }
        }
        var rng = SplitMix64(seed: 0xF10A7)
        for _ in 0..<600 {
            var d: Double
            repeat { d = Double(bitPattern: rng.next()) } while !d.isFinite
            values.append(d)
        }
        for _ in 0..<300 {
            let digits = Int.random(in: 1...17, using: &rng)
            var mantissa = 0
            for _ in 0..<digits { mantissa = mantissa * 10 + Int.random(in: 0...9, using: &rng) }
            let exponent = Int.random(in: -25...25, using: &rng)
            values.append(Double("\(mantissa)e\(exponent)")!)
            values.append(Double(mantissa))
        }
        for k in -40...40 { values.append(0x1p53 + Double(k) * 2) }
        return values
    }

    /// Erlang's lines for `input`, written to a temporary file.
    private func printWithErlang(_ erlang: ErlangInstallation, _ mode: String, _ input: String) throws -> [String] {
        let beams = try erlang.compile("ergo_print_terms")
        defer { try? FileManager.default.removeItem(at: beams) }
        let file = beams.appendingPathComponent("input.txt")
        try Data(input.utf8).write(to: file)
        let run = try erlang.call("ergo_print_terms", mode, [file.path], codePath: beams)
        try #require(run.status == 0 && !run.timedOut, "erl failed (status \(run.status)): \(run.stderrText)")
        var lines = run.stdoutText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }
}
