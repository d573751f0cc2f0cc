import CErgoCore

/// Writes a `Term` through the C encoder's cursor. Errors are sticky in the
/// buffer, so the caller checks `buffer.pointee.error` once at the end.
struct TermWriter {
    let buffer: UnsafeMutablePointer<ergo_etf_buf>
    /// The distribution atom table of the message being written: atoms that
    /// fit in it go out as ATOM_CACHE_REF (nil: every atom is written whole).
    /// Only atoms written as terms are cached, not the node names inside
    /// pids, ports and references (the C encoders write those).
    var atomTable: UnsafeMutablePointer<ergo_dist_tx_atoms>? = nil

    func write(_ term: Term) {
        switch term {
        case let .int(v):
            ergo_etf_encode_int(buffer, Int64(v))
        case let .atom(a):
            atom(a)
        case let .tuple(elements):
            ergo_etf_encode_tuple_header(buffer, UInt32(truncatingIfNeeded: elements.count))
            for e in elements { write(e) }
        case let .list(elements):
            list(elements)
        case let .improperList(elements, tail):
            if !elements.isEmpty {
                ergo_etf_encode_list_header(buffer, UInt32(truncatingIfNeeded: elements.count))
                for e in elements { write(e) }
            }
            write(tail)
        case let .binary(b):
            b.withUnsafeBytes { _ = ergo_etf_encode_binary(buffer, $0.baseAddress, $0.count) }
        case let .map(m):
            ergo_etf_encode_map_header(buffer, UInt32(truncatingIfNeeded: m.count))
            for e in m.entries {
                write(e.key)
                write(e.value)
            }
        case let .float(d):
            ergo_etf_encode_double(buffer, d)
        case let .bigInt(big):
            big.magnitude.withUnsafeBufferPointer {
                _ = ergo_etf_encode_big(buffer, big.isNegative ? 1 : 0, $0.baseAddress, $0.count)
            }
        case let .bitString(bits):
            bits.bytes.withUnsafeBytes {
                _ = ergo_etf_encode_bits(buffer, $0.baseAddress, $0.count, UInt32(bits.bitsInLastByte))
            }
        case let .pid(p):
            withName(p.node) { ergo_etf_encode_pid(buffer, $0, $1, p.id, p.serial, p.creation) }
        case let .port(p):
            withName(p.node) { ergo_etf_encode_port(buffer, $0, $1, p.id, p.creation) }
        case let .ref(r):
            withName(r.node) { node, len in
                r.ids.withUnsafeBufferPointer {
                    ergo_etf_encode_ref(buffer, node, len, r.creation, $0.baseAddress, $0.count)
                }
            }
        case let .export(e):
            withName(e.module) { m, ml in
                withName(e.function) { f, fl in ergo_etf_encode_export(buffer, m, ml, f, fl, e.arity) }
            }
        case let .fun(f):
            fun(f)
        }
    }

    /// A list of bytes goes out as STRING_EXT, as Erlang writes it.
    private func list(_ elements: [Term]) {
        if elements.isEmpty {
            ergo_etf_encode_nil(buffer)
            return
        }
        if elements.count <= 0xFFFF, elements.allSatisfy({ if case let .int(v) = $0 { (0...255).contains(v) } else { false } }) {
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: elements.count) { bytes in
                for (i, e) in elements.enumerated() { if case let .int(v) = e { bytes[i] = UInt8(v) } }
                _ = ergo_etf_encode_string(buffer, bytes.baseAddress, elements.count)
            }
            return
        }
        ergo_etf_encode_list_header(buffer, UInt32(truncatingIfNeeded: elements.count))
        for e in elements { write(e) }
        ergo_etf_encode_nil(buffer)
    }

    private func atom(_ a: Atom) {
        let e = AtomTable.shared.entry(a.index)
        // Atom text is immortal, so the table may point at it until the
        // header is written.
        if let atomTable, e.pointee.etfCount > 0 {
            let i = ergo_dist_tx_atoms_add(atomTable, e.pointee.utf8, e.pointee.count)
            if i >= 0 {
                ergo_etf_encode_atom_cache_ref(buffer, UInt8(i))
                return
            }
        }
        if e.pointee.etfCount > 0 {
            ergo_etf_encode_raw(buffer, e.pointee.etf, e.pointee.etfCount)
        } else {
            withName(a) { ergo_etf_encode_atom(buffer, $0, $1) }  // too long: the encoder refuses it
        }
    }

    private func fun(_ f: Fun) {
        var mark = 0
        _ = f.uniq.withUnsafeBufferPointer { uniq in
            withName(f.module) { m, ml in
                ergo_etf_encode_fun_begin(buffer, f.arity, uniq.baseAddress, f.index,
                                          UInt32(truncatingIfNeeded: f.freeVariables.count),
                                          m, ml, f.oldIndex, f.oldUniq, &mark)
            }
        }
        write(.pid(f.pid))
        for v in f.freeVariables { write(v) }
        ergo_etf_encode_fun_end(buffer, mark)
    }

    @discardableResult
    private func withName(_ a: Atom, _ body: (UnsafePointer<CChar>, Int) -> Int32) -> Int32 {
        a.withUTF8 { utf8 in
            utf8.withMemoryRebound(to: CChar.self) { body($0.baseAddress!, $0.count) }
        }
    }
}
