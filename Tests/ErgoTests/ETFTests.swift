import CErgoCore
import Testing
@testable import Ergo

/// The Swift face of the C codec: options, errors, sharing, compression.
@Suite struct ETFTests {
    @Test func literalTermsRoundTrip() throws {
        let terms: [Term] = [
            0, 255, 256, -1, 2_147_483_647, -2_147_483_648, 2_147_483_648, .int(Int.max), .int(Int.min),
            1.5, -0.0, "ok", "Quoted Atom", "ünïcødé", [], [1, 2, 3], ["a", ["b"]],
            .tuple([]), .tuple(["ok", 1]), .string("hello"), .binary(Binary()),
            .improperList([1, 2], tail: 3), ["k": "v", 1: [2]],
            .integer(BigInteger("123456789012345678901234567890")!),
            .integer(BigInteger("-123456789012345678901234567890")!),
            .bitString(BitString(bytes: [0xFF, 0x80], bitsInLastByte: 3)),
            .pid(PID(node: "a@host", id: 42, serial: 1, creation: 7)),
            .port(Port(node: "a@host", id: 1 << 40, creation: 3)),
            .ref(Ref(node: "a@host", creation: 9, ids: [1, 2, 3])),
            .export(Export(module: "lists", function: "seq", arity: 2)),
            .charlist("hello"), .charlist("héllo→"),
        ]
        for t in terms {
            let bytes = try ETF.encode(t)
            #expect(bytes.first == 131)
            #expect(try ETF.decode(bytes) == t, "round trip of \(t)")
        }
    }

    @Test func byteListsUseStringExtLikeErlang() throws {
        // term_to_binary([1,2,3]) = <<131,107,0,3,1,2,3>>
        #expect(try ETF.encode([1, 2, 3]) == [131, 107, 0, 3, 1, 2, 3])
        // and it still decodes as a list of integers, not a string
        #expect(try ETF.decode([131, 107, 0, 3, 1, 2, 3]) == [1, 2, 3])
    }

    @Test func listTailsThatAreListsJoin() throws {
        // [1 | [2]] hand-encoded with a LIST_EXT tail: the same term as [1,2].
        let bytes: [UInt8] = [131, 108, 0, 0, 0, 1, 97, 1, 108, 0, 0, 0, 1, 97, 2, 106]
        #expect(try ETF.decode(bytes) == [1, 2])
    }

    @Test func errorsCarryCodeAndOffset() {
        #expect(throws: TermError.self) { try ETF.decode([]) }
        do {
            _ = try ETF.decode([131, 104, 2, 97, 1])  // a 2-tuple with one element
            Issue.record("truncated input decoded")
        } catch let .decode(code, reason, offset) {
            #expect(code == ERGO_ETF_E_TRUNCATED)
            #expect(reason == "truncated input")
            #expect(offset == 5)
        } catch {
            Issue.record("unexpected error \(error)")
        }
        do {
            _ = try ETF.decode([130, 106])
            Issue.record("bad version decoded")
        } catch let .decode(code, _, offset) {
            #expect(code == ERGO_ETF_E_VERSION)
            #expect(offset == 0)
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func duplicateMapKeysAreRefused() {
        // #{a => 1, a => 2} cannot exist; binary_to_term refuses it too.
        let bytes: [UInt8] = [131, 116, 0, 0, 0, 2, 119, 1, 97, 97, 1, 119, 1, 97, 97, 2]
        #expect(throws: TermError.self) { try ETF.decode(bytes) }
    }

    @Test func depthLimitIsTheCallers() throws {
        var deep: Term = []
        for _ in 0..<50 { deep = .tuple([deep]) }
        let bytes = try ETF.encode(deep)
        var strict = ETF.DecodeOptions()
        strict.maxDepth = 10
        #expect(throws: TermError.self) { try ETF.decode(bytes, options: strict) }
        #expect(try ETF.decode(bytes) == deep)
    }

    @Test func atomCacheReferencesResolveThroughTheOptions() throws {
        // {ATOM_CACHE_REF 0, ATOM_CACHE_REF 1} without a version byte
        let bytes: [UInt8] = [104, 2, 82, 0, 82, 1]
        var options = ETF.DecodeOptions()
        options.expectsVersionByte = false
        #expect(throws: TermError.self) { try ETF.decode(bytes, options: options) }
        options.atomCache = ["cached_zero", "cached_one"]
        #expect(try ETF.decode(bytes, options: options) == .tuple(["cached_zero", "cached_one"]))
    }

    @Test func largeBinariesShareTheInputAndSmallOnesCopy() throws {
        let big = Term.binary(Binary([UInt8](repeating: 7, count: 4096)))
        let small = Term.binary(Binary([1, 2, 3]))
        let bytes = try ETF.encode(.tuple([big, small]))
        guard case let .tuple(elements) = try ETF.decode(bytes),
              case let .binary(b1) = elements[0], case let .binary(b2) = elements[1]
        else { Issue.record("not a tuple of binaries"); return }
        #expect(b1.isShared)
        #expect(!b2.isShared)
        #expect(b1 == Binary([UInt8](repeating: 7, count: 4096)))
        #expect(b1.startIndex == 0 && b1[4095] == 7)
    }

    @Test func compressionRoundTripsAndFallsBackWhenLarger() throws {
        let repetitive: Term = .list(Array(repeating: .string("the same words again"), count: 200))
        let packed = try ETF.encode(repetitive, options: .init(compressionLevel: 6))
        let plain = try ETF.encode(repetitive)
        #expect(packed[1] == 80)
        #expect(packed.count < plain.count)
        #expect(try ETF.decode(packed) == repetitive)
        // A tiny term does not shrink, so it stays plain (as Erlang does).
        #expect(try ETF.encode("ok", options: .init(compressionLevel: 9)) == ETF.encode("ok"))
    }

    @Test func decompressionBombIsRefused() throws {
        let huge: Term = .binary(Binary([UInt8](repeating: 0, count: 1 << 20)))
        let packed = try ETF.encode(huge, options: .init(compressionLevel: 9))
        #expect(packed.count < 10_000)
        var options = ETF.DecodeOptions()
        options.maxInflatedBytes = 64 << 10
        do {
            _ = try ETF.decode(packed, options: options)
            Issue.record("bomb decoded")
        } catch let .decode(code, _, _) {
            #expect(code == ERGO_ETF_E_BOMB)
        }
    }

    @Test func prefixDecodingWalksAStreamOfTerms() throws {
        let stream = try ETF.encode("first") + ETF.encode(.tuple([2])) + ETF.encode([3])
        let codec = ETFCodec()
        var at = 0
        var seen: [Term] = []
        while at < stream.count {
            let (t, end) = try codec.decodePrefix(stream, from: at)
            seen.append(t)
            at = end
        }
        #expect(seen == ["first", .tuple([2]), [3]])
        #expect(throws: TermError.self) { try codec.decode(stream) }  // trailing bytes
    }

    @Test func encodingLimitIsReported() {
        var options = ETF.EncodeOptions()
        options.maxBytes = 16
        #expect(throws: TermError.self) {
            try ETF.encode(.string(String(repeating: "x", count: 100)), options: options)
        }
    }

    @Test func codecReuseGivesTheSameResults() throws {
        let codec = ETFCodec()
        let terms: [Term] = ["a", .tuple(["b", 1]), ["c": .string("d")], "a"]
        for t in terms { #expect(try codec.decode(codec.encode(t)) == t) }
    }
}

@Suite struct ETFAtomEncodingTests {
    @Test func atomsEncodeAsErlangWritesThem() throws {
        // term_to_binary(ok, [{minor_version, 2}]) = <<131,119,2,111,107>>
        #expect(try ETF.encode("ok") == [131, 119, 2, 111, 107])
        // an atom of 100 two-byte characters (200 bytes) is still SMALL_ATOM_UTF8
        let mid = String(repeating: "é", count: 100)
        #expect(Array(try ETF.encode(.atom(Atom(mid))).prefix(3)) == [131, 119, 200])
        // 255 two-byte characters (510 bytes) need ATOM_UTF8_EXT with a 2-byte length
        let long = String(repeating: "é", count: 255)
        #expect(Array(try ETF.encode(.atom(Atom(long))).prefix(4)) == [131, 118, 1, 254])
    }

    @Test func atomsTooLongForETFAreRefused() {
        // Swift code may make such an atom, but no peer could read it.
        let tooLong = Atom(String(repeating: "a", count: 256))
        #expect(throws: TermError.self) { try ETF.encode(.atom(tooLong)) }
    }
}

@Suite struct ETFLongListTests {
    /// A failure deep inside a long list leaves no half-built array behind
    /// (the ASan run of the suite checks the memory side).
    @Test func errorInsideALongListIsReported() throws {
        // #{a => 1, a => 2}: a map binary_to_term refuses.
        let badMap: [UInt8] = [116, 0, 0, 0, 2, 119, 1, 97, 97, 1, 119, 1, 97, 97, 2]
        var bytes: [UInt8] = [131, 108, 0, 0, 0, 20]
        for i in 0..<20 {
            bytes += i == 17 ? badMap : [109, 0, 0, 0, 3, 1, 2, 3]  // <<1,2,3>> otherwise
        }
        bytes.append(106)
        #expect(throws: TermError.self) { try ETF.decode(bytes) }
        bytes.replaceSubrange(6 + 17 * 8..<6 + 17 * 8 + badMap.count, with: [109, 0, 0, 0, 3, 1, 2, 3])
        let good = try ETF.decode(bytes)
        #expect(good.listElements?.count == 20)
    }
}

@Suite struct AtomMemoTests {
    static func atomBytes(_ text: [UInt8], latin1: Bool) -> [UInt8] {
        [131, latin1 ? 100 : 118, UInt8(text.count >> 8), UInt8(text.count & 0xFF)] + text
    }

    /// One codec decodes long atoms again and again (node names, memoised
    /// with their bytes): names that share a long prefix and suffix stay
    /// apart, and Latin-1 text is not taken for the same bytes as UTF-8.
    @Test func longAtomsThatShareAffixesStayApart() throws {
        let codec = ETFCodec()
        let names = ["ergobench_a1xahrxi28422@127.0.0.1", "ergobench_b1xahrxi28422@127.0.0.1",
                     "ergobench_a1xahrxi28423@127.0.0.1", "abcdefghijklmnopq", "abcdefghijklmnopr"]
        for _ in 0..<3 {
            for name in names {
                #expect(try codec.decode(Self.atomBytes(Array(name.utf8), latin1: false)) == .atom(Atom(name)))
                #expect(try codec.decode(Self.atomBytes(Array(name.utf8), latin1: true)) == .atom(Atom(name)))
            }
        }
        // 20 bytes of 0xE9: "é" x 20 in Latin-1, invalid UTF-8.
        let e9 = [UInt8](repeating: 0xE9, count: 20)
        let latin = String(repeating: "é", count: 20)
        #expect(try codec.decode(Self.atomBytes(e9, latin1: true)) == .atom(Atom(latin)))
        #expect(throws: TermError.self) { try codec.decode(Self.atomBytes(e9, latin1: false)) }
        #expect(try codec.decode(Self.atomBytes(e9, latin1: true)) == .atom(Atom(latin)))
    }
}
