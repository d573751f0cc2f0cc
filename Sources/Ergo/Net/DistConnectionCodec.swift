import CErgoCore

/// The per-connection state of the distribution protocol after the
/// handshake: control messages to packet bodies (distribution header,
/// send-side atom cache, fragments) and packet bodies back to control
/// messages (receive-side atom cache, reassembly). No I/O.
///
/// **Not thread-safe, on purpose.** The send side assigns atom-cache slots
/// and fragment sequence ids, so ``encode(_:)`` must run where the packets'
/// place on the wire is fixed: the connection holds one lock around
/// `encode` plus enqueueing the packets it returns, so no other packet can
/// overtake them. The receive side is used by the one reader of the
/// connection, in packet order. (Send and receive state are separate; a
/// connection may guard them with two locks.)
///
/// Ticks (empty packets) belong to the framing loop; ``decode(_:)`` returns
/// nil for one anyway.
public final class DistConnectionCodec {
    /// Bounds on what a peer can make this side hold.
    public struct Limits: Sendable {
        /// Body bytes per fragment of an outgoing message when the peer has
        /// FRAGMENTS (ERTS also cuts at 64 KiB).
        public var fragmentBytes: Int = 64 * 1024
        /// Bytes of incomplete fragmented messages held at once.
        public var reassemblyBytes: Int = 64 << 20
        /// Fragmented messages in flight at once.
        public var sequences: Int = 64
        /// Longest atom text a cache entry may hold (1020 = 255 four-byte characters).
        public var atomBytes: Int = 1020
        /// Largest encoded outgoing message.
        public var messageBytes: Int = 1 << 30
        /// Term limits (depth, nodes, inflated size) for decoding.
        public var decode = ETF.DecodeOptions()

        public init() {}
    }

    /// Counters, for tests and metrics.
    public struct Statistics: Sendable, Equatable {
        public var packetsIn = 0
        public var fragmentsIn = 0
        public var messagesIn = 0
        /// ATOM_CACHE_REF table entries of received messages.
        public var atomRefsIn = 0
        public var packetsOut = 0
        public var messagesOut = 0
        /// Atoms of sent messages written as cache references.
        public var atomRefsOut = 0
    }

    public let peer: DistPeer
    public let limits: Limits
    public private(set) var statistics = Statistics()

    private let rx: UnsafeMutablePointer<ergo_dist_rx>
    private let txCache: UnsafeMutablePointer<ergo_dist_tx_cache>
    private let txAtoms: UnsafeMutablePointer<ergo_dist_tx_atoms>
    private let body: UnsafeMutablePointer<ergo_etf_buf>
    private let out: UnsafeMutablePointer<ergo_etf_buf>
    private let terms: ETFCodec
    /// The atom last resolved for each receive cache slot, reused while the
    /// slot holds the same text.
    private var slotAtoms = [Atom?](repeating: nil, count: Int(ERGO_DIST_ATOM_CACHE_SIZE))

    public init(peer: DistPeer, limits: Limits = .init()) {
        self.peer = peer
        self.limits = limits
        var rxLimits = ergo_dist_rx_limits()
        rxLimits.max_bytes = UInt64(max(1, limits.reassemblyBytes))
        rxLimits.max_sequences = UInt32(clamping: max(1, limits.sequences))
        rx = .allocate(capacity: 1)
        rx.initialize(to: ergo_dist_rx())
        ergo_dist_rx_init(rx, &rxLimits, UInt32(clamping: max(1, limits.atomBytes)))
        txCache = .allocate(capacity: 1)
        txCache.initialize(to: ergo_dist_tx_cache())
        ergo_dist_tx_cache_init(txCache)
        txAtoms = .allocate(capacity: 1)
        txAtoms.initialize(to: ergo_dist_tx_atoms())
        body = .allocate(capacity: 1)
        body.initialize(to: ergo_etf_buf())
        ergo_etf_buf_init(body, limits.messageBytes)
        out = .allocate(capacity: 1)
        out.initialize(to: ergo_etf_buf())
        ergo_etf_buf_init(out, limits.messageBytes + limits.messageBytes / 8 + 4096)
        // Binaries go into `body` by value (one copy, no flattening), and
        // `encode(_:framedUpTo:_:)` lends runs of 4 KiB or more of it to `out`.
        body.pointee.ref_threshold = Int.max
        out.pointee.ref_threshold = 4096
        var options = limits.decode
        options.expectsVersionByte = false
        terms = ETFCodec(decodeOptions: options)
    }

    deinit {
        ergo_dist_rx_free(rx)
        rx.deallocate()
        ergo_dist_tx_cache_free(txCache)
        txCache.deallocate()
        txAtoms.deallocate()
        ergo_etf_buf_free(body)
        body.deallocate()
        ergo_etf_buf_free(out)
        out.deallocate()
    }

    // MARK: Sending

    /// The packet bodies (without their 4-byte lengths) that carry `control`,
    /// in the order they must go on the wire. Call it under the
    /// connection's send lock and enqueue the result before releasing it.
    public func encode(_ control: DistControl) throws(DistCodecError) -> [[UInt8]] {
        guard try encodeBody(control) else {
            statistics.packetsOut += 1
            return [Self.flatten(body)]
        }
        return try encodeMessage(lend: false) { count in Self.splitPackets(out, count: count) }
    }

    /// What ``encode(_:framedUpTo:_:)`` hands over.
    public enum Encoded {
        /// Every packet of the message, each after its 4-byte length, as
        /// slices of the codec's buffers (valid during the call only): large
        /// runs of the message are not copied into them.
        case framed(UnsafeBufferPointer<iovec>)
        /// Packet bodies without their lengths (a message over the limit, or
        /// a peer without the atom-cache header), as ``encode(_:)`` returns.
        case packets([[UInt8]])
    }

    /// Encodes `control` and passes its packets to `use`: framed and
    /// gathered without copying the message body when it is at most
    /// `limit` bytes, else as separate packets. Call it under the
    /// connection's send lock and send from inside `use`.
    public func encode<R>(_ control: DistControl, framedUpTo limit: Int,
                          _ use: (Encoded) -> R) throws(DistCodecError) -> R {
        guard try encodeBody(control) else {
            statistics.packetsOut += 1
            return use(.packets([Self.flatten(body)]))
        }
        guard ergo_etf_buf_size(body) <= limit else {
            return use(.packets(try encodeMessage(lend: false) { count in Self.splitPackets(out, count: count) }))
        }
        return try encodeMessage(lend: true) { _ in
            let n = ergo_etf_buf_slices(out, nil, 0)
            return withUnsafeTemporaryAllocation(of: iovec.self, capacity: max(n, 1)) { iov in
                iov.withMemoryRebound(to: ergo_etf_slice.self) { s in _ = ergo_etf_buf_slices(out, s.baseAddress, n) }
                return use(.framed(UnsafeBufferPointer(rebasing: iov[0..<n])))
            }
        }
    }

    /// Writes `control` (and its payload) into `body`: true for the
    /// atom-cache form (the header comes with `encodeMessage`), false for a
    /// peer without it (`body` is then the whole packet).
    private func encodeBody(_ control: DistControl) throws(DistCodecError) -> Bool {
        let flags = peer.negotiated
        var control = control
        if case .send(.some, let to, let message) = control, !flags.contains(.sendSender) {
            control = .send(from: nil, to: to, message: message)
        }
        let (tuple, payload) = control.toTerm(exitPayload: flags.contains(.exitPayload))
        ergo_etf_buf_reset(body)
        statistics.messagesOut += 1
        guard flags.contains(.distHdrAtomCache) else {
            // No header: 112, then each term with its version byte.
            var pass: UInt8 = UInt8(ERGO_DIST_HDR_PASS_THROUGH)
            ergo_etf_encode_raw(body, &pass, 1)
            ergo_etf_encode_version(body)
            TermWriter(buffer: body).write(tuple)
            if let payload {
                ergo_etf_encode_version(body)
                TermWriter(buffer: body).write(payload)
            }
            if body.pointee.error != 0 { throw .encode(code: body.pointee.error) }
            return false
        }
        ergo_dist_tx_atoms_reset(txAtoms)
        TermWriter(buffer: body, atomTable: txAtoms).write(tuple)
        if let payload { TermWriter(buffer: body, atomTable: txAtoms).write(payload) }
        if body.pointee.error != 0 { throw .encode(code: body.pointee.error) }
        return true
    }

    /// The header and fragments of the message in `body`, into `out`
    /// (lending `body`'s bytes to it when `lend`); `then` gets the packet
    /// count while they are valid.
    private func encodeMessage<R>(lend: Bool, _ then: (Int) -> R) throws(DistCodecError) -> R {
        let fragment = peer.negotiated.contains(.fragments) ? max(1, limits.fragmentBytes) : 0
        func run(_ data: UnsafePointer<UInt8>?, _ len: Int) -> Result<R, DistCodecError> {
            ergo_etf_buf_reset(out)
            var count = 0
            let rc = lend
                ? ergo_dist_encode_message_ref(txCache, txAtoms, data, len, fragment, out, &count)
                : ergo_dist_encode_message(txCache, txAtoms, data, len, fragment, out, &count)
            guard rc == 0 else { return .failure(.encode(code: rc)) }
            statistics.atomRefsOut += Int(txAtoms.pointee.count)
            statistics.packetsOut += count
            return .success(then(count))
        }
        // `body` holds no references (its threshold is Int.max); flatten if
        // a caller changed that.
        let result = if body.pointee.nrefs == 0 {
            run(body.pointee.data, body.pointee.len)
        } else {
            Self.flatten(body).withUnsafeBufferPointer { run($0.baseAddress, $0.count) }
        }
        return try result.get()
    }

    /// The packets `encode_message` wrote, each after its 4-byte length.
    private static func splitPackets(_ b: UnsafeMutablePointer<ergo_etf_buf>, count: Int) -> [[UInt8]] {
        var packets: [[UInt8]] = []
        packets.reserveCapacity(count)
        guard let data = b.pointee.data else { return [] }
        var at = 0
        let end = b.pointee.len
        while at + 4 <= end {
            let n = Int(bigEndian32(data + at))
            at += 4
            packets.append(Array(UnsafeBufferPointer(start: data + at, count: min(n, end - at))))
            at += n
        }
        return packets
    }

    private static func flatten(_ b: UnsafeMutablePointer<ergo_etf_buf>) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: ergo_etf_buf_size(b)) { dst, n in
            ergo_etf_buf_flatten(b, dst.baseAddress)
            n = ergo_etf_buf_size(b)
        }
    }

    // MARK: Receiving

    /// One packet body (without its 4-byte length). Returns the control
    /// message, or nil while a fragmented message is incomplete (and for a
    /// tick). A thrown error means the connection must be dropped.
    public func decode(_ packet: [UInt8]) throws(DistCodecError) -> DistControl? {
        guard !packet.isEmpty else { return nil }
        statistics.packetsIn += 1
        let first = packet.count > 1 && packet[0] == 131 ? packet[1] : 0
        if first == UInt8(ERGO_DIST_HDR_FRAGMENT_START) || first == UInt8(ERGO_DIST_HDR_FRAGMENT_CONT) {
            statistics.fragmentsIn += 1
        }
        let received = packet.withUnsafeBufferPointer { buf in receive(buf, packet) }
        guard let message = try received.get() else { return nil }
        statistics.messagesIn += 1
        statistics.atomRefsIn += message.atoms.count
        let end = message.offset + message.count
        let control: Term
        var at: Int
        do {
            (control, at) = try terms.decodeDistribution(message.bytes, from: message.offset,
                                                         versionByte: message.passThrough,
                                                         atomCache: message.atoms, prefix: true)
        } catch { throw .term(error) }
        var payload: Term? = nil
        if at < end {
            do {
                let (term, next) = try terms.decodeDistribution(message.bytes, from: at,
                                                               versionByte: message.passThrough,
                                                               atomCache: message.atoms, prefix: true)
                payload = term
                at = next
            } catch { throw .term(error) }
        }
        guard at == end else { throw .term(.decoding(Int32(ERGO_ETF_E_TRAILING), offset: at)) }
        do {
            return try DistControl(controlTuple: control, payload: payload)
        } catch { throw .control(error) }
    }

    private struct Received {
        /// The bytes the message lies in (the packet itself for a 'D' packet).
        var bytes: [UInt8]
        var offset: Int
        var count: Int
        var atoms: [Atom]
        var passThrough: Bool
    }

    private func receive(_ buf: UnsafeBufferPointer<UInt8>, _ packet: [UInt8]) -> Result<Received?, DistCodecError> {
        var msg = ergo_dist_message()
        let rc = ergo_dist_rx_packet(rx, buf.baseAddress, buf.count, &msg)
        if rc == Int32(ERGO_DIST_NEED_MORE) { return .success(nil) }
        guard rc == 0 else { return .failure(.packet(code: rc)) }
        var atoms: [Atom] = []
        atoms.reserveCapacity(Int(msg.nrefs))
        for i in 0..<Int(msg.nrefs) {
            switch resolve(msg.refs[i]) {
            case .success(let atom): atoms.append(atom)
            case .failure(let error): return .failure(error)
            }
        }
        let count = Int(msg.len)
        guard let data = msg.data, count > 0 else { return .failure(.packet(code: Int32(ERGO_DIST_E_MALFORMED))) }
        let passThrough = msg.pass_through != 0
        if let base = buf.baseAddress, data >= base, data + count <= base + buf.count {
            return .success(Received(bytes: packet, offset: data - base, count: count, atoms: atoms,
                                     passThrough: passThrough))
        }
        // A reassembled message lives in the C receiver's memory until the
        // next packet: copy it out.
        return .success(Received(bytes: Array(UnsafeBufferPointer(start: data, count: count)), offset: 0,
                                 count: count, atoms: atoms, passThrough: passThrough))
    }

    /// The atom a header entry names, interned within the atom table's bound.
    private func resolve(_ ref: ergo_dist_atom) -> Result<Atom, DistCodecError> {
        let text = UnsafeBufferPointer(start: ref.text, count: Int(ref.len))
        let slot = Int(ref.slot)
        if slot < slotAtoms.count, let known = slotAtoms[slot], ref.utf8 != 0,
           known.withUTF8({ $0.elementsEqual(text) }) {
            return .success(known)
        }
        let name = ref.utf8 != 0
            ? String(decoding: text, as: UTF8.self)
            : String(String.UnicodeScalarView(text.map { Unicode.Scalar($0) }))
        do {
            let atom = try Atom(external: name)
            if slot < slotAtoms.count { slotAtoms[slot] = atom }
            return .success(atom)
        } catch {
            return .failure(.term(error))
        }
    }
}
