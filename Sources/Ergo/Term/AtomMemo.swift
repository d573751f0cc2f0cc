/// A small direct-mapped memo from atom text (up to 16 bytes) to interned
/// atoms, so that decoding the same atoms again skips the global table and
/// its lock. Belongs to one codec (one thread at a time).
final class AtomMemo {
    private struct Entry {
        var lo: UInt64 = 0
        var hi: UInt64 = 0
        var tag: UInt32 = 0  // length << 1 | latin1; 0 = empty slot
        var atom: UInt32 = 0
    }

    private static let slots = 256
    private var entries = ContiguousArray(repeating: Entry(), count: AtomMemo.slots)

    /// The atom for `count` bytes at `text`, interned through `make` on a miss.
    @inline(__always)
    func atom(_ text: UnsafePointer<UInt8>, _ count: Int, latin1: Bool,
              make: () throws(TermError) -> Atom) throws(TermError) -> Atom {
        guard count > 0 && count <= 16 else { return try make() }
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
