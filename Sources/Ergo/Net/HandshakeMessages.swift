import CErgoCore

/// One handshake message, read by the C codec (`ergo_dist_hs_parse`) into
/// Swift values, and the bodies the C encoders write. Bodies only: the
/// 2-byte framing is the transport's.
/// A negative C status code, as an error value.
struct CStatus: Error {
    let code: Int32
}

enum HandshakeMessage {
    /// send_name: 'N' (version 6) or the old 'n' (then `version` is 5 and
    /// `flags` has only the low 32 bits).
    case name(flags: DistFlags, creation: UInt32, name: String, old: Bool)
    /// challenge: 'N' (or the old 'n', which this node refuses).
    case challenge(flags: DistFlags, challenge: UInt32, creation: UInt32, name: String, old: Bool)
    /// 's': the status text (`ok`, `nok`, `alive`, `true`, ...).
    case status(String)
    /// 'c': the high flag word (already shifted) and the creation.
    case complement(flags: DistFlags, creation: UInt32)
    /// 'r'
    case reply(challenge: UInt32, digest: [UInt8])
    /// 'a'
    case ack(digest: [UInt8])

    /// Parses one body. `challenge`: an 'N'/'n' is a challenge (we
    /// initiated), else a send_name.
    static func parse(_ body: [UInt8], challenge: Bool) -> Result<HandshakeMessage, CStatus> {
        body.withUnsafeBufferPointer { buf -> Result<HandshakeMessage, CStatus> in
            var m = ergo_dist_hs()
            let rc = ergo_dist_hs_parse(buf.baseAddress, buf.count, challenge ? 1 : 0, &m)
            guard rc == 0 else { return .failure(CStatus(code: rc)) }
            func text(_ p: UnsafePointer<UInt8>?, _ n: UInt64) -> String {
                guard let p else { return "" }
                return String(decoding: UnsafeBufferPointer(start: p, count: Int(n)), as: UTF8.self)
            }
            let digest = withUnsafeBytes(of: m.digest) { Array($0) }
            switch Int32(m.tag) {
            case Int32(UInt8(ascii: "N")), Int32(UInt8(ascii: "n")):
                let old = m.tag == UInt8(ascii: "n")
                let name = text(m.name, m.name_len)
                return .success(challenge
                    ? .challenge(flags: DistFlags(rawValue: m.flags), challenge: m.challenge,
                                 creation: m.creation, name: name, old: old)
                    : .name(flags: DistFlags(rawValue: m.flags), creation: m.creation, name: name, old: old))
            case Int32(UInt8(ascii: "s")):
                return .success(.status(text(m.text, m.text_len)))
            case Int32(UInt8(ascii: "c")):
                return .success(.complement(flags: DistFlags(rawValue: m.flags), creation: m.creation))
            case Int32(UInt8(ascii: "r")):
                return .success(.reply(challenge: m.challenge, digest: digest))
            case Int32(UInt8(ascii: "a")):
                return .success(.ack(digest: digest))
            default:
                return .failure(CStatus(code: Int32(ERGO_DIST_E_TAG)))
            }
        }
    }

    // MARK: Encoding

    static func name(flags: DistFlags, creation: UInt32, name: String) -> [UInt8] {
        encode { b in
            withBytes(name) { ergo_dist_hs_encode_name(b, flags.rawValue, creation, $0, $1) }
        }
    }

    static func challenge(flags: DistFlags, challenge: UInt32, creation: UInt32, name: String) -> [UInt8] {
        encode { b in
            withBytes(name) { ergo_dist_hs_encode_challenge(b, flags.rawValue, challenge, creation, $0, $1) }
        }
    }

    static func status(_ status: ergo_dist_status) -> [UInt8] {
        encode { ergo_dist_hs_encode_status($0, status, nil, 0, 0) }
    }

    static func reply(challenge: UInt32, digest: [UInt8]) -> [UInt8] {
        encode { b in digest.withUnsafeBufferPointer { ergo_dist_hs_encode_reply(b, challenge, $0.baseAddress) } }
    }

    static func ack(digest: [UInt8]) -> [UInt8] {
        encode { b in digest.withUnsafeBufferPointer { ergo_dist_hs_encode_ack(b, $0.baseAddress) } }
    }

    /// Test and compatibility forms a node of this project never sends
    /// first: the old 'n' send_name and the complement.
    static func oldName(flags: DistFlags, name: String) -> [UInt8] {
        encode { b in
            withBytes(name) {
                ergo_dist_hs_encode_name_old(b, 5, UInt32(truncatingIfNeeded: flags.rawValue), $0, $1)
            }
        }
    }

    static func complement(flags: DistFlags, creation: UInt32) -> [UInt8] {
        encode { ergo_dist_hs_encode_complement($0, flags.rawValue, creation) }
    }

    /// MD5 of the cookie and the challenge's decimal text; nil if the C
    /// code fails (its code in `error`).
    static func digest(cookie: [UInt8], challenge: UInt32) -> Result<[UInt8], CStatus> {
        var out = [UInt8](repeating: 0, count: 16)
        let rc = cookie.withUnsafeBufferPointer { c in
            out.withUnsafeMutableBufferPointer { ergo_dist_digest(c.baseAddress, c.count, challenge, $0.baseAddress) }
        }
        return rc == 0 ? .success(out) : .failure(CStatus(code: rc))
    }

    static func digestsEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == 16, b.count == 16 else { return false }
        return a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in ergo_dist_digest_equal(x.baseAddress, y.baseAddress) == 1 }
        }
    }

    private static func withBytes(_ s: String, _ body: (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32 {
        let bytes = Array(s.utf8)
        return bytes.withUnsafeBufferPointer { body($0.baseAddress, $0.count) }
    }

    /// Runs one encoder into a fresh buffer. The encoders fail only on
    /// arguments this file controls (a name past 65535 bytes), so a failure
    /// is a programming error.
    private static func encode(_ write: (UnsafeMutablePointer<ergo_etf_buf>) -> Int32) -> [UInt8] {
        var b = ergo_etf_buf()
        ergo_etf_buf_init(&b, 1 << 17)
        defer { ergo_etf_buf_free(&b) }
        let rc = write(&b)
        precondition(rc == 0, "handshake encoder failed: \(String(cString: ergo_dist_strerror(rc)))")
        return [UInt8](unsafeUninitializedCapacity: ergo_etf_buf_size(&b)) { out, n in
            ergo_etf_buf_flatten(&b, out.baseAddress)
            n = ergo_etf_buf_size(&b)
        }
    }
}
