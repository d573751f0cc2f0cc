import Testing
@testable import Ergo

@Suite struct AtomTests {
    @Test func interningGivesOneIndexPerName() {
        let a = Atom("hello_atom_test")
        let b: Atom = "hello_atom_test"
        #expect(a == b)
        #expect(a.index == b.index)
        #expect(a.name == "hello_atom_test")
        #expect(Atom("other_atom_test") != a)
    }

    @Test func externalAtomsAreBoundedInLength() throws {
        let long = String(repeating: "x", count: 256)
        #expect(throws: TermError.atomTooLong(256)) { try Atom(external: long) }
        let ok = String(repeating: "é", count: 255)
        #expect(try Atom(external: ok).name == ok)
    }

    @Test func atomsOrderByTheirBytesAsInErlang() {
        #expect(Atom("Zebra") < Atom("apple"))   // 'Z' (90) before 'a' (97)
        #expect(Atom("ab") < Atom("abc"))
        #expect(Atom("zzz") < Atom("\u{E9}t\u{E9}"))  // UTF-8 0xC3 sorts after ASCII
        #expect(!(Atom("same_atom") < Atom("same_atom")))
        #expect([Atom("c"), Atom("a"), Atom("b")].sorted() == [Atom("a"), Atom("b"), Atom("c")])
    }

    @Test func quotingFollowsErlang() {
        #expect(Atom("ok").description == "ok")
        #expect(Atom("Ok").description == "'Ok'")
        #expect(Atom("hello world").description == "'hello world'")
        #expect(Atom("a@b_1").description == "a@b_1")
        #expect(Atom("").description == "''")
        #expect(Atom("receive").description == "'receive'")
        #expect(Atom("it's").description == "'it\\'s'")
    }
}

@Suite struct BigIntegerTests {
    @Test func decimalRoundTrip() throws {
        let text = "1267650600228229401496703205457"
        let b = try #require(BigInteger(text))
        #expect(b.description == text)
        #expect(BigInteger("-" + text)!.description == "-" + text)
        #expect(BigInteger("0")!.description == "0")
        #expect(BigInteger("-0")!.isNegative == false)
        #expect(BigInteger("12x") == nil)
    }

    @Test func intConversion() {
        #expect(BigInteger(Int.min).intValue == Int.min)
        #expect(BigInteger(Int.max).intValue == Int.max)
        #expect(BigInteger("9223372036854775808")!.intValue == nil)
        #expect(BigInteger(-42).description == "-42")
    }

    @Test func ordering() {
        #expect(BigInteger(-5) < BigInteger(3))
        #expect(BigInteger(-5) < BigInteger(-3))
        #expect(BigInteger(300) > BigInteger(299))
        #expect(!(BigInteger(7) < BigInteger(7)))
    }
}

@Suite struct AtomConcurrencyTests {
    /// Many tasks intern overlapping names at once; each name must get one
    /// index and read back its own text (run under the thread sanitizer too).
    @Test func concurrentInterningAgrees() async {
        let results = await withTaskGroup(of: [String: UInt32].self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var seen: [String: UInt32] = [:]
                    for i in 0..<2_000 {
                        let name = "concurrent_atom_\((i * 7 + worker) % 1_500)"
                        let atom = Atom(name)
                        #expect(atom.name == name)
                        atom.withUTF8 { #expect(Array($0) == Array(name.utf8)) }
                        seen[name] = atom.index
                    }
                    return seen
                }
            }
            var all: [[String: UInt32]] = []
            for await r in group { all.append(r) }
            return all
        }
        var merged: [String: UInt32] = [:]
        for r in results {
            for (name, index) in r {
                if let prior = merged[name] { #expect(prior == index, "\(name) interned twice") }
                merged[name] = index
            }
        }
        #expect(merged.count == 1_500)
        #expect(Set(merged.values).count == 1_500)
    }
}

@Suite struct AtomIdentityTests {
    /// Erlang atoms are byte strings: canonically equivalent Unicode texts
    /// (';' and U+037E, 'é' and 'e'+U+0301) are different atoms.
    @Test func atomsCompareByBytesNotUnicodeEquivalence() {
        #expect(Atom(";") != Atom("\u{37E}"))
        #expect(Atom("\u{E9}") != Atom("e\u{301}"))
        #expect(Atom("\u{37E}").withUTF8 { Array($0) } == [0xCD, 0xBE])
    }
}
