import CErgoCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A node as EPMD knows it (ALIVE2_REQ registers it, PORT2_RESP describes it).
public struct EPMDNodeInfo: Sendable, Hashable {
    public var name: String
    /// The node's distribution port.
    public var port: Int
    /// A hidden node (`-hidden`, node type 72) rather than a normal one (77).
    public var hidden: Bool
    public var highestVersion: Int
    public var lowestVersion: Int
    public var extra: [UInt8]

    public init(name: String, port: Int, hidden: Bool = false, highestVersion: Int = 6, lowestVersion: Int = 5,
                extra: [UInt8] = []) {
        self.name = name
        self.port = port
        self.hidden = hidden
        self.highestVersion = highestVersion
        self.lowestVersion = lowestVersion
        self.extra = extra
    }
}

/// One line of an EPMD NAMES answer.
public struct EPMDName: Sendable, Hashable {
    public var name: String
    public var port: Int
}

/// Why an EPMD exchange failed.
public enum EPMDError: Error, Sendable, Hashable, CustomStringConvertible {
    /// EPMD could not be reached (refused, timed out, ...).
    case unreachable(host: String, port: Int, LoopError)
    /// ALIVE2 refused with this result: the name is taken (or EPMD refused it).
    case registrationRefused(name: String, result: Int)
    /// EPMD closed the connection before a whole answer.
    case closed
    /// EPMD did not answer in time (`EPMDClient.answerTimeout`).
    case timedOut
    /// Bytes that are not an EPMD answer (`ergo_dist_strerror`'s name).
    case malformed(String)
    /// A name EPMD cannot carry (empty or over 255 bytes, as for `erl`).
    case badName(String)

    public var description: String {
        switch self {
        case .unreachable(let host, let port, let e): "EPMD at \(host):\(port) unreachable: \(e)"
        case .registrationRefused(let name, let result): "EPMD refused to register \(name) (result \(result); name in use?)"
        case .closed: "EPMD closed the connection before answering"
        case .timedOut: "EPMD did not answer in time"
        case .malformed(let what): "malformed EPMD message: \(what)"
        case .badName(let name): "bad node name for EPMD: \(name)"
        }
    }

    static func dist(_ rc: Int32) -> EPMDError { .malformed(String(cString: ergo_dist_strerror(rc))) }
}

/// The C codecs (`ergo_dist_epmd_*`) in Swift terms. Nothing here parses
/// EPMD bytes by hand.
enum EPMDWire {
    /// Bytes an encoder appends to a fresh buffer.
    static func encode(_ body: (UnsafeMutablePointer<ergo_etf_buf>) -> Int32) throws(EPMDError) -> [UInt8] {
        var b = ergo_etf_buf()
        ergo_etf_buf_init(&b, 0)
        defer { ergo_etf_buf_free(&b) }
        let rc = body(&b)
        if rc < 0 { throw .dist(rc) }
        let n = ergo_etf_buf_size(&b)
        return [UInt8](unsafeUninitializedCapacity: n) { out, count in
            ergo_etf_buf_flatten(&b, out.baseAddress)
            count = n
        }
    }

    /// Calls `body` with a C node description of `info`.
    static func withNode<R>(_ info: EPMDNodeInfo, _ body: (UnsafePointer<ergo_dist_epmd_node>) -> R) -> R {
        let name = Array(info.name.utf8)
        return name.withUnsafeBufferPointer { n in
            info.extra.withUnsafeBufferPointer { e in
                var node = ergo_dist_epmd_node()
                node.name = n.baseAddress
                node.name_len = UInt64(n.count)
                node.extra = e.baseAddress
                node.extra_len = UInt64(e.count)
                node.port = UInt16(truncatingIfNeeded: info.port)
                node.node_type = UInt8(info.hidden ? ERGO_DIST_EPMD_NODE_HIDDEN : ERGO_DIST_EPMD_NODE_NORMAL)
                node.protocol = UInt8(ERGO_DIST_EPMD_PROTOCOL_TCP)
                node.highest_version = UInt16(truncatingIfNeeded: info.highestVersion)
                node.lowest_version = UInt16(truncatingIfNeeded: info.lowestVersion)
                return body(&node)
            }
        }
    }

    /// A node from a C description whose text points into live bytes.
    static func info(_ node: ergo_dist_epmd_node) -> EPMDNodeInfo {
        let name = node.name.map { Array(UnsafeBufferPointer(start: $0, count: Int(node.name_len))) } ?? []
        let extra = node.extra.map { Array(UnsafeBufferPointer(start: $0, count: Int(node.extra_len))) } ?? []
        return EPMDNodeInfo(name: String(decoding: name, as: UTF8.self), port: Int(node.port),
                            hidden: node.node_type == UInt8(ERGO_DIST_EPMD_NODE_HIDDEN),
                            highestVersion: Int(node.highest_version), lowestVersion: Int(node.lowest_version),
                            extra: extra)
    }

    static func checkName(_ name: String) throws(EPMDError) {
        let n = name.utf8.count
        if n == 0 || n > 255 || name.contains("@") { throw .badName(name) }
    }

    // MARK: Client side

    static func alive2Request(_ info: EPMDNodeInfo) throws(EPMDError) -> [UInt8] {
        try encode { b in withNode(info) { ergo_dist_epmd_encode_alive2_req(b, $0) } }
    }

    static func portPlease2Request(_ name: String) throws(EPMDError) -> [UInt8] {
        let bytes = Array(name.utf8)
        return try encode { b in ergo_dist_epmd_encode_port_please2_req(b, bytes, bytes.count) }
    }

    static func namesRequest() throws(EPMDError) -> [UInt8] {
        try encode { ergo_dist_epmd_encode_names_req($0) }
    }

    /// ALIVE2_(X_)RESP: nil for a valid prefix, else (result, creation).
    static func parseAlive2(_ bytes: [UInt8]) throws(EPMDError) -> (result: Int, creation: UInt32)? {
        var result: UInt8 = 0, creation: UInt32 = 0, used = 0
        let rc = bytes.withUnsafeBufferPointer {
            ergo_dist_epmd_parse_alive2_resp($0.baseAddress, $0.count, &result, &creation, &used)
        }
        if rc == Int32(ERGO_DIST_NEED_MORE) { return nil }
        if rc < 0 { throw .dist(rc) }
        return (Int(result), creation)
    }

    /// PORT2_RESP: nil for a valid prefix; `.some(nil)` when not registered.
    static func parsePort2(_ bytes: [UInt8]) throws(EPMDError) -> EPMDNodeInfo?? {
        // The text fields point into `bytes`: copied out while it lives.
        let (rc, result, node) = bytes.withUnsafeBufferPointer { p -> (Int32, UInt8, EPMDNodeInfo?) in
            var result: UInt8 = 0, used = 0
            var node = ergo_dist_epmd_node()
            let rc = ergo_dist_epmd_parse_port2_resp(p.baseAddress, p.count, &result, &node, &used)
            return (rc, result, rc == 0 && result == 0 ? info(node) : nil)
        }
        if rc == Int32(ERGO_DIST_NEED_MORE) { return nil }
        if rc < 0 { throw .dist(rc) }
        return result != 0 ? .some(nil) : .some(node)
    }

    /// A whole NAMES answer (EPMD closed the connection after it).
    static func parseNames(_ bytes: [UInt8]) throws(EPMDError) -> [EPMDName] {
        try bytes.withUnsafeBufferPointer { p throws(EPMDError) -> [EPMDName] in
            var epmdPort: UInt32 = 0
            let head = ergo_dist_epmd_parse_names_head(p.baseAddress, p.count, &epmdPort)
            if head == Int32(ERGO_DIST_NEED_MORE) { throw .closed }
            if head < 0 { throw .dist(head) }
            var pos = 4
            var names: [EPMDName] = []
            while pos < p.count {
                var entry = ergo_dist_epmd_name_entry()
                let rc = ergo_dist_epmd_names_next(p.baseAddress, p.count, &pos, &entry)
                if rc == Int32(ERGO_DIST_NEED_MORE) { throw .closed }
                if rc < 0 { throw .dist(rc) }
                let name = Array(UnsafeBufferPointer(start: entry.name, count: Int(entry.name_len)))
                names.append(EPMDName(name: String(decoding: name, as: UTF8.self), port: Int(entry.port)))
            }
            return names
        }
    }

    // MARK: Server side

    static func alive2Response(x: Bool, result: Int, creation: UInt32) throws(EPMDError) -> [UInt8] {
        try encode { ergo_dist_epmd_encode_alive2_resp($0, x ? 1 : 0, UInt8(result), creation) }
    }

    static func port2Response(_ info: EPMDNodeInfo?) throws(EPMDError) -> [UInt8] {
        guard let info else { return try encode { ergo_dist_epmd_encode_port2_resp($0, 1, nil) } }
        return try encode { b in withNode(info) { ergo_dist_epmd_encode_port2_resp(b, 0, $0) } }
    }

    static func namesResponse(epmdPort: Int, _ names: [EPMDName]) throws(EPMDError) -> [UInt8] {
        try encode { b in
            var rc = ergo_dist_epmd_encode_names_head(b, UInt32(epmdPort))
            for n in names where rc == 0 {
                let bytes = Array(n.name.utf8)
                rc = ergo_dist_epmd_encode_names_line(b, bytes, bytes.count, UInt32(n.port))
            }
            return rc
        }
    }
}

extension EPMDClient {
    /// The EPMD port: `ERL_EPMD_PORT` as for `erl`, else 4369.
    public static var defaultPort: Int {
        if let text = getenv("ERL_EPMD_PORT").map({ String(cString: $0) }), let port = Int(text),
           (1...65535).contains(port) {
            return port
        }
        return Int(ERGO_DIST_EPMD_DEFAULT_PORT)
    }
}
