import CErgoCore

/// Walks a decoded C tape (pre-order nodes) and builds the `Term`.
/// Depth is bounded by the decoder's depth limit, so recursion is bounded.
struct TapeReader {
    let nodes: UnsafeBufferPointer<ergo_etf_node>
    /// Start of the bytes that node offsets refer to.
    let data: UnsafePointer<UInt8>
    /// Position of `data` inside `storage`.
    let base: Int
    /// The buffer large binaries share.
    let storage: [UInt8]
    let atomCache: [Atom]
    let memo: AtomMemo
    var next = 0

    init(nodes: UnsafeBufferPointer<ergo_etf_node>, data: UnsafePointer<UInt8>, base: Int,
         storage: [UInt8], atomCache: [Atom], memo: AtomMemo) {
        self.nodes = nodes
        self.data = data
        self.base = base
        self.storage = storage
        self.atomCache = atomCache
        self.memo = memo
    }

    private func invalid() -> TermError { .decoding(Int32(ERGO_ETF_E_VALUE), offset: 0) }

    mutating func readTerm() throws(TermError) -> Term {
        guard next < nodes.count else { throw invalid() }
        let n = nodes[next]
        next += 1
        switch Int32(n.kind) {
        case Int32(ERGO_ETF_K_INT.rawValue):
            return .int(Int(n.v.i))
        case Int32(ERGO_ETF_K_ATOM.rawValue), Int32(ERGO_ETF_K_ATOM_REF.rawValue):
            return .atom(try atom(n))
        case Int32(ERGO_ETF_K_TUPLE.rawValue):
            return .tuple(try readElements(Int(n.size)))
        case Int32(ERGO_ETF_K_NIL.rawValue):
            return .list([])
        case Int32(ERGO_ETF_K_LIST.rawValue):
            let elements = try readElements(Int(n.size))
            switch try readTerm() {
            case let .list(rest): return .list(rest.isEmpty ? elements : elements + rest)
            case let .improperList(rest, tail): return .improperList(elements + rest, tail: tail)
            case let tail: return .improperList(elements, tail: tail)
            }
        case Int32(ERGO_ETF_K_STRING.rawValue):
            let bytes = UnsafeBufferPointer(start: data + Int(n.v.off), count: Int(n.size))
            return .list(bytes.map { .int(Int($0)) })
        case Int32(ERGO_ETF_K_BINARY.rawValue):
            return .binary(binary(n))
        case Int32(ERGO_ETF_K_MAP.rawValue):
            return .map(try readMap(Int(n.size)))
        case Int32(ERGO_ETF_K_FLOAT.rawValue):
            return .float(n.v.f)
        case Int32(ERGO_ETF_K_BIG.rawValue):
            let digits = Array(UnsafeBufferPointer(start: data + Int(n.v.off), count: Int(n.size)))
            return .integer(BigInteger(isNegative: n.flags & UInt8(ERGO_ETF_F_NEGATIVE) != 0, magnitude: digits))
        case Int32(ERGO_ETF_K_BITS.rawValue):
            guard n.size > 0, (1...8).contains(n.aux) else { throw invalid() }
            return .bitString(BitString(bytes: binary(n), bitsInLastByte: UInt8(n.aux)))
        case Int32(ERGO_ETF_K_PID.rawValue):
            return .pid(try pid(n))
        case Int32(ERGO_ETF_K_PORT.rawValue):
            return .port(Port(node: try childAtom(), id: n.v.u, creation: n.size))
        case Int32(ERGO_ETF_K_REF.rawValue):
            let words = Int(n.aux)
            guard (1...5).contains(words) else { throw invalid() }
            let ids = (0..<words).map { bigEndian32(data + Int(n.v.off) + 4 * $0) }
            return .ref(Ref(node: try childAtom(), creation: n.size, ids: ids))
        case Int32(ERGO_ETF_K_EXPORT.rawValue):
            let module = try childAtom()
            let function = try childAtom()
            guard case let .int(arity) = try readTerm(), (0...255).contains(arity) else { throw invalid() }
            return .export(Export(module: module, function: function, arity: UInt8(arity)))
        case Int32(ERGO_ETF_K_FUN.rawValue):
            return .fun(try fun(n))
        default:
            throw invalid()
        }
    }

    /// `count` sibling terms. Long runs are written straight into the
    /// array's storage (integers, the commonest leaves, without a call).
    private mutating func readElements(_ count: Int) throws(TermError) -> [Term] {
        if count < 16 {
            var out: [Term] = []
            out.reserveCapacity(count)
            for _ in 0..<count { out.append(try readTerm()) }
            return out
        }
        var failure: TermError? = nil
        let out = [Term](unsafeUninitializedCapacity: count) { slots, initialized in
            for i in 0..<count {
                let slot = slots.baseAddress! + i
                if next < nodes.count && nodes[next].kind == UInt8(ERGO_ETF_K_INT.rawValue) {
                    slot.initialize(to: .int(Int(nodes[next].v.i)))
                    next += 1
                } else {
                    do throws(TermError) { slot.initialize(to: try readTerm()) } catch {
                        failure = error
                        return
                    }
                }
                initialized = i + 1
            }
        }
        if let failure { throw failure }
        return out
    }

    private mutating func readMap(_ pairs: Int) throws(TermError) -> TermMap {
        var entries: [TermMap.Entry] = []
        entries.reserveCapacity(pairs)
        for _ in 0..<pairs {
            let key = try readTerm()
            entries.append(TermMap.Entry(key: key, value: try readTerm()))
        }
        // binary_to_term refuses a map that repeats a key; so do we.
        if pairs > 1 && TapeReader.hasRepeatedKey(entries) { throw invalid() }
        return TermMap(uncheckedEntries: entries)
    }

    /// Whether two entries share a key. Atom keys (the common case) are
    /// compared by atom index; small maps pairwise; the rest through a set.
    static func hasRepeatedKey(_ entries: [TermMap.Entry]) -> Bool {
        if entries.count <= 8 {
            for i in 1..<entries.count {
                for j in 0..<i where entries[i].key == entries[j].key { return true }
            }
            return false
        }
        var atoms: [UInt32] = []
        atoms.reserveCapacity(entries.count)
        for e in entries {
            guard case let .atom(a) = e.key else { atoms.removeAll(); break }
            atoms.append(a.index)
        }
        if atoms.count == entries.count {
            atoms.sort()
            for i in 1..<atoms.count where atoms[i] == atoms[i - 1] { return true }
            return false
        }
        var seen = Set<Term>(minimumCapacity: entries.count)
        for e in entries where !seen.insert(e.key).inserted { return true }
        return false
    }

    private func binary(_ n: ergo_etf_node) -> Binary {
        let start = base + Int(n.v.off)
        return Binary(slice: start..<start + Int(n.size), of: storage)
    }

    private mutating func childAtom() throws(TermError) -> Atom {
        guard next < nodes.count else { throw invalid() }
        let n = nodes[next]
        next += 1
        guard n.kind == ERGO_ETF_K_ATOM.rawValue || n.kind == ERGO_ETF_K_ATOM_REF.rawValue else { throw invalid() }
        return try atom(n)
    }

    private mutating func pid(_ n: ergo_etf_node) throws(TermError) -> PID {
        PID(node: try childAtom(), id: n.size, serial: UInt32(truncatingIfNeeded: n.v.u >> 32),
            creation: UInt32(truncatingIfNeeded: n.v.u))
    }

    private mutating func fun(_ n: ergo_etf_node) throws(TermError) -> Fun {
        let at = data + Int(n.v.off)
        let uniq = Array(UnsafeBufferPointer(start: at, count: 16))
        let index = bigEndian32(at + 16)
        let module = try childAtom()
        guard case let .int(oldIndex) = try readTerm(), case let .int(oldUniq) = try readTerm(),
              case let .pid(pid) = try readTerm() else { throw invalid() }
        let free = try readElements(Int(n.size))
        return Fun(module: module, arity: UInt8(truncatingIfNeeded: n.aux), uniq: uniq, index: index,
                   oldIndex: Int64(oldIndex), oldUniq: Int64(oldUniq), pid: pid, freeVariables: free)
    }

    private func atom(_ n: ergo_etf_node) throws(TermError) -> Atom {
        if n.kind == ERGO_ETF_K_ATOM_REF.rawValue {
            guard n.v.u < UInt64(atomCache.count) else {
                throw .decoding(Int32(ERGO_ETF_E_ATOM_CACHE), offset: 0)
            }
            return atomCache[Int(n.v.u)]
        }
        let text = data + Int(n.v.off)
        let count = Int(n.size)
        let latin1 = n.flags & UInt8(ERGO_ETF_F_LATIN1) != 0
        return try memo.atom(text, count, latin1: latin1) { () throws(TermError) -> Atom in
            let bytes = UnsafeBufferPointer(start: text, count: count)
            let name = latin1
                ? String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
                : String(decoding: bytes, as: UTF8.self)
            return try Atom(external: name)
        }
    }
}

@inline(__always)
func bigEndian32(_ p: UnsafePointer<UInt8>) -> UInt32 {
    UInt32(p[0]) << 24 | UInt32(p[1]) << 16 | UInt32(p[2]) << 8 | UInt32(p[3])
}
