import CErgoCore

/// A reusable ETF encoder/decoder: keeps the C tape and buffer between calls
/// so that decoding or encoding many terms allocates little. One codec is
/// used by one thread at a time (it is not `Sendable`); make one per task.
public final class ETFCodec {
    public let decodeOptions: ETF.DecodeOptions
    public let encodeOptions: ETF.EncodeOptions

    private let tape: UnsafeMutablePointer<ergo_etf_tape>
    private let buffer: UnsafeMutablePointer<ergo_etf_buf>
    private var atomMemo = AtomMemo()

    public init(decodeOptions: ETF.DecodeOptions = .init(), encodeOptions: ETF.EncodeOptions = .init()) {
        self.decodeOptions = decodeOptions
        self.encodeOptions = encodeOptions
        var limits = ergo_etf_limits()
        limits.max_depth = UInt32(clamping: max(1, decodeOptions.maxDepth))
        limits.max_nodes = UInt64(max(1, decodeOptions.maxNodes))
        limits.max_inflated = UInt64(max(1, decodeOptions.maxInflatedBytes))
        limits.max_atom_chars = UInt32(clamping: max(1, decodeOptions.maxAtomCharacters))
        limits.atom_cache_refs = UInt32(clamping: decodeOptions.atomCache.count)
        tape = .allocate(capacity: 1)
        tape.initialize(to: ergo_etf_tape())
        ergo_etf_tape_init(tape, &limits)
        buffer = .allocate(capacity: 1)
        buffer.initialize(to: ergo_etf_buf())
        ergo_etf_buf_init(buffer, encodeOptions.maxBytes)
    }

    deinit {
        ergo_etf_tape_free(tape)
        tape.deallocate()
        ergo_etf_buf_free(buffer)
        buffer.deallocate()
    }

    // MARK: Decoding

    /// Decodes one term; the whole input must be that term. Large binaries in
    /// the result share `bytes`.
    public func decode(_ bytes: [UInt8]) throws(TermError) -> Term {
        let (term, _) = try decode(bytes, from: 0, prefix: false,
                                   versionByte: decodeOptions.expectsVersionByte, atomCache: decodeOptions.atomCache)
        return term
    }

    /// Decodes the term that starts at `offset`; returns it and the offset
    /// just past it (for streams of terms, like a distribution message).
    public func decodePrefix(_ bytes: [UInt8], from offset: Int = 0) throws(TermError) -> (term: Term, end: Int) {
        try decode(bytes, from: offset, prefix: true,
                   versionByte: decodeOptions.expectsVersionByte, atomCache: decodeOptions.atomCache)
    }

    /// Decodes one term of a distribution message, whose ATOM_CACHE_REFs
    /// name `atomCache` (the message's own atom table, which changes from
    /// packet to packet). `prefix`: more terms may follow.
    func decodeDistribution(_ bytes: [UInt8], from offset: Int, versionByte: Bool, atomCache: [Atom],
                            prefix: Bool) throws(TermError) -> (term: Term, end: Int) {
        try decode(bytes, from: offset, prefix: prefix, versionByte: versionByte, atomCache: atomCache)
    }

    private func decode(_ bytes: [UInt8], from offset: Int, prefix: Bool, versionByte: Bool,
                        atomCache: [Atom]) throws(TermError) -> (Term, Int) {
        precondition(offset >= 0 && offset <= bytes.count, "offset out of range")
        var flags: UInt32 = 0
        if !versionByte { flags |= UInt32(ERGO_ETF_DECODE_NO_VERSION) }
        if prefix { flags |= UInt32(ERGO_ETF_DECODE_PREFIX) }
        tape.pointee.limits.atom_cache_refs = UInt32(clamping: atomCache.count)
        var used = 0
        let status: Int32 = bytes.withUnsafeBufferPointer { all in
            ergo_etf_decode(tape, all.baseAddress.map { $0 + offset }, all.count - offset, flags, &used)
        }
        guard status == 0 else { throw .decoding(status, offset: offset + tape.pointee.error_offset) }

        // Offsets refer to the input, or to the tape's own inflated buffer
        // for a compressed term: binaries then share a copy of that buffer.
        let inflated = tape.pointee.inflated != nil && tape.pointee.data == UnsafePointer(tape.pointee.inflated)
        let storage = inflated ? Array(UnsafeBufferPointer(start: tape.pointee.data, count: tape.pointee.data_len)) : bytes
        let base = inflated ? 0 : offset
        let term = try storage.withUnsafeBufferPointer { (buf) throws(TermError) -> Term in
            var reader = TapeReader(
                nodes: UnsafeBufferPointer(start: tape.pointee.nodes, count: tape.pointee.count),
                data: buf.baseAddress! + base, base: base, storage: storage,
                atomCache: atomCache, memo: atomMemo)
            defer { atomMemo = reader.memo }
            return try reader.readTerm()
        }
        return (term, offset + used)
    }

    // MARK: Encoding

    /// Encodes one term (with the version byte unless the options say not).
    public func encode(_ term: Term) throws(TermError) -> [UInt8] {
        ergo_etf_buf_reset(buffer)
        if encodeOptions.writesVersionByte { ergo_etf_encode_version(buffer) }
        TermWriter(buffer: buffer).write(term)
        if buffer.pointee.error != 0 { throw .encoding(buffer.pointee.error) }
        let plain = [UInt8](unsafeUninitializedCapacity: ergo_etf_buf_size(buffer)) { out, count in
            ergo_etf_buf_flatten(buffer, out.baseAddress)
            count = ergo_etf_buf_size(buffer)
        }
        guard let level = encodeOptions.compressionLevel, encodeOptions.writesVersionByte else { return plain }
        return try compress(plain, level: level)
    }

    private func compress(_ plain: [UInt8], level: Int) throws(TermError) -> [UInt8] {
        var out = ergo_etf_buf()
        ergo_etf_buf_init(&out, encodeOptions.maxBytes)
        defer { ergo_etf_buf_free(&out) }
        let status = plain.withUnsafeBufferPointer {
            ergo_etf_compress(&out, $0.baseAddress, $0.count, Int32(clamping: level))
        }
        guard status == 0 else { throw .encoding(status) }
        let size = ergo_etf_buf_size(&out)
        guard size < plain.count else { return plain }
        return [UInt8](unsafeUninitializedCapacity: size) { dst, count in
            ergo_etf_buf_flatten(&out, dst.baseAddress)
            count = size
        }
    }
}
