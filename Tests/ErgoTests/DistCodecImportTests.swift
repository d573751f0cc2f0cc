import CErgoCore
import Testing

/// The distribution codecs are usable from Swift: flag constants import,
/// plain structs are readable, the heap-allocated caches work through
/// pointers. (The codecs themselves are tested in C, Tests/CErgoCoreTests.)
@Suite struct DistCodecImportTests {
    @Test func flagsImport() {
        #expect(ERGO_DIST_MANDATORY_OTP25 == 0x1070f94)
        #expect(ERGO_DIST_DFLAG_SPAWN == 1 << 32)
        #expect(ergo_dist_missing_flags(0xd07df7fbd, ergo_dist_mandatory_flags(27)) == 0)
    }

    @Test func digestMatchesErlang() {
        var digest = [UInt8](repeating: 0, count: 16)
        let cookie = Array("secret".utf8)
        #expect(ergo_dist_digest(cookie, cookie.count, 3_735_928_559, &digest) == 0)
        #expect(digest.prefix(4) == [0xC3, 0x93, 0x9B, 0x31])
    }

    @Test func headerRoundTripThroughPointers() {
        let tx = UnsafeMutablePointer<ergo_dist_tx_cache>.allocate(capacity: 1)
        let rx = UnsafeMutablePointer<ergo_dist_rx>.allocate(capacity: 1)
        let atoms = UnsafeMutablePointer<ergo_dist_tx_atoms>.allocate(capacity: 1)
        defer {
            ergo_dist_tx_cache_free(tx); tx.deallocate()
            ergo_dist_rx_free(rx); rx.deallocate()
            atoms.deallocate()
        }
        ergo_dist_tx_cache_init(tx)
        ergo_dist_rx_init(rx, nil, 0)
        ergo_dist_tx_atoms_reset(atoms)
        let text = Array("net_kernel".utf8)
        text.withUnsafeBufferPointer { t in
            #expect(ergo_dist_tx_atoms_add(atoms, t.baseAddress, t.count) == 0)
            var body = ergo_etf_buf()
            ergo_etf_buf_init(&body, 0)
            ergo_etf_encode_atom_cache_ref(&body, 0)
            var out = ergo_etf_buf()
            ergo_etf_buf_init(&out, 0)
            defer { ergo_etf_buf_free(&body); ergo_etf_buf_free(&out) }
            var packets = 0
            #expect(ergo_dist_encode_message(tx, atoms, body.data, body.len, 0, &out, &packets) == 0)
            #expect(packets == 1)
            var msg = ergo_dist_message()
            #expect(ergo_dist_rx_packet(rx, out.data + 4, out.len - 4, &msg) == 0)
            #expect(msg.nrefs == 1)
            let name = Array(UnsafeBufferPointer(start: msg.refs[0].text, count: Int(msg.refs[0].len)))
            #expect(name == text)
        }
    }
}
