/// A small direct-mapped memo from atom text to interned atoms, so that
/// decoding the same atoms again skips the global table and its lock (and,
/// for atoms over 16 bytes, building a `String` and counting its
/// characters). Belongs to one codec (one thread at a time).
final class AtomMemo {
    private struct Entry {
        var lo: UInt64 = 0
        var hi: UInt64 = 0
        var tag: UInt32 = 0  // length << 1 | latin1; 0 = empty slot
        var atom: UInt32 = 0
    }

    private static let slots = 256
    private var entries = ContiguousArray(repeating: Entry(), count: AtomMemo.slots)

    /// Longer atoms (node names in every pid and reference: 20–40 bytes)
    /// keep their bytes, compared in full on a hit.
    private struct LongEntry {
        var bytes: [UInt8] = []
        var latin1 = false
        var atom: UInt32 = 0
    }

    private static let longSlots = 64
    private static let longMax = 255 * 4
    private var long = ContiguousArray(repeating: LongEntry(), count: AtomMemo.longSlots)

    private func longAtom(_ text: UnsafePointer<UInt8>, _ count: Int, latin1: Bool,
                          make: () throws(TermError) -> Atom) throws(TermError) -> Atom {
        guard count <= AtomMemo.longMax else { return try make() }
        // Every byte counts: node names share long prefixes and suffixes
        // ("name_a@127.0.0.1", "name_b@127.0.0.1").
        let raw = UnsafeRawPointer(text)
        var h = UInt64(count)
        var at = 0
        while at < count {
            let word = raw.loadUnaligned(fromByteOffset: min(at, count - 8), as: UInt64.self)
            h = (h ^ word) &* 0x9E37_79B9_7F4A_7C15
            h ^= h >> 29
            at += 8
        }
        let slot = Int(truncatingIfNeeded: (h >> 29) ^ h) & (AtomMemo.longSlots - 1)
        return try long.withUnsafeMutableBufferPointer { (e) throws(TermError) -> Atom in
            if e[slot].latin1 == latin1, e[slot].bytes.count == count,
               e[slot].bytes.elementsEqual(UnsafeBufferPointer(start: text, count: count)) {
                return Atom(index: e[slot].atom)
            }
            let atom = try make()
            e[slot] = LongEntry(bytes: Array(UnsafeBufferPointer(start: text, count: count)), latin1: latin1,
                                atom: atom.index)
            return atom
        }
    }

    /// The atom for `count` bytes at `text`, interned through `make` on a miss.
    @inline(__always)
    func atom(_ text: UnsafePointer<UInt8>, _ count: Int, latin1: Bool,
              make: () throws(TermError) -> Atom) throws(TermError) -> Atom {
        guard count > 0 && count <= 16 else {
            return count > 16 ? try longAtom(text, count, latin1: latin1, make: make) : try make()
        }
        var lo: UInt64 = 0
        var hi: UInt64 = 0
        withUnsafeMutableBytes(of: &lo) { dst in
            UnsafeMutableRawBufferPointer(rebasing: dst[0..<min(count, 8)])
                .copyMemory(from: UnsafeRawBufferPointer(start: text, count: min(count, 8)))
        }
        if count > 8 {
            withUnsafeMutableBytes(of: &hi) { dst in
                UnsafeMutableRawBufferPointer(rebasing: dst[0..<(count - 8)])
                    .copyMemory(from: UnsafeRawBufferPointer(start: text + 8, count: count - 8))
            }
        }
        let tag = UInt32(count) << 1 | (latin1 ? 1 : 0)
        let h = (lo &* 0x9E37_79B9_7F4A_7C15) ^ (hi &* 0xC2B2_AE3D_27D4_EB4F) ^ UInt64(tag)
        let slot = Int(truncatingIfNeeded: (h >> 32) ^ h) & (AtomMemo.slots - 1)
        return try entries.withUnsafeMutableBufferPointer { (e) throws(TermError) -> Atom in
            if e[slot].tag == tag && e[slot].lo == lo && e[slot].hi == hi {
                return Atom(index: e[slot].atom)
            }
            let atom = try make()
            e[slot] = Entry(lo: lo, hi: hi, tag: tag, atom: atom.index)
            return atom
        }
    }
}
