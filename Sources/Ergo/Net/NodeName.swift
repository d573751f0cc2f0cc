#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A distributed node's name, `name@host`, as `erl -name` (long) and
/// `erl -sname` (short) make it.
public struct NodeName: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// `-name`: the host is fully qualified (contains a dot) or an IP address.
        case long
        /// `-sname`: the host is a short host name (no dot).
        case short
    }

    /// The part before `@` (what EPMD registers).
    public let name: String
    public let host: String
    public let kind: Kind

    /// `name@host`.
    public var description: String { "\(name)@\(host)" }
    /// The node's atom, as peers see it.
    public var atom: Atom { Atom(description) }

    /// The local host's names, as a node would use them by default.
    public struct LocalHost: Sendable {
        /// The host name up to its first dot (`-sname` default).
        public var short: String?
        /// The fully qualified name, if the resolver knows one with a dot
        /// (`-name` default; 127.0.0.1 when there is none).
        public var fullyQualified: String?

        public init(short: String?, fullyQualified: String?) {
            self.short = short
            self.fullyQualified = fullyQualified
        }

        /// This machine's names, from `gethostname` and the resolver's
        /// canonical name.
        public static func current() -> LocalHost {
            var buffer = [UInt8](repeating: 0, count: 256)
            let rc = buffer.withUnsafeMutableBufferPointer { p in
                p.withMemoryRebound(to: CChar.self) { gethostname($0.baseAddress!, $0.count - 1) }
            }
            guard rc == 0 else { return LocalHost(short: nil, fullyQualified: nil) }
            let hostname = String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
            guard !hostname.isEmpty else { return LocalHost(short: nil, fullyQualified: nil) }
            let short = String(hostname.prefix { $0 != "." })
            var fqdn: String? = hostname.contains(".") ? hostname : nil
            if fqdn == nil {
                var hints = addrinfo()
                hints.ai_flags = AI_CANONNAME
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                var result: UnsafeMutablePointer<addrinfo>?
                if getaddrinfo(hostname, nil, &hints, &result) == 0, let result {
                    if let canon = result.pointee.ai_canonname.map({ String(cString: $0) }), canon.contains(".") {
                        fqdn = canon
                    }
                    freeaddrinfo(result)
                }
            }
            return LocalHost(short: short, fullyQualified: fqdn)
        }
    }

    /// Parses what `--name`/`-name` (`.long`) or `--sname`/`-sname`
    /// (`.short`) was given: `name` alone takes the local host's name
    /// (long: the fully qualified name, or 127.0.0.1 when there is none;
    /// short: the host name up to its first dot), `name@host` is checked.
    public init(_ text: String, kind: Kind, localHost: LocalHost = .current()) throws(NodeNameError) {
        let parts = text.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        let name = String(parts[0])
        guard !name.isEmpty else { throw .emptyName(text) }
        // As net_kernel: letters, digits, '_' and '-'.
        guard name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-") })
        else { throw .invalidName(text) }
        var host: String
        if parts.count == 2 {
            host = String(parts[1])
            guard !host.isEmpty else { throw .invalidHost(text) }
            // As net_kernel: printable, no spaces, no '@'.
            guard host.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F && $0.value <= 0xFF && $0 != "@" })
            else { throw .invalidHost(text) }
            switch kind {
            case .short where host.contains("."):
                throw .shortNameWithDots(text)
            case .long where !host.contains(".") && !Self.isIPAddress(host):
                throw .longNameWithoutDots(text)
            default: break
            }
        } else {
            switch kind {
            case .short:
                guard let short = localHost.short, !short.isEmpty else { throw .noHostName(text) }
                host = short
            case .long:
                host = localHost.fullyQualified ?? "127.0.0.1"
            }
        }
        self.name = name
        self.host = host
        self.kind = kind
    }

    /// An IPv4 or IPv6 address literal.
    static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }
}

/// Why a node name was refused (each names the text it was given).
public enum NodeNameError: Error, Hashable, Sendable, CustomStringConvertible {
    case emptyName(String)
    case invalidName(String)
    case invalidHost(String)
    case shortNameWithDots(String)
    case longNameWithoutDots(String)
    case noHostName(String)

    public var description: String {
        switch self {
        case .emptyName(let t): "node name '\(t)': the part before '@' is empty"
        case .invalidName(let t): "node name '\(t)': the part before '@' may hold only letters, digits, '_' and '-'"
        case .invalidHost(let t): "node name '\(t)': the host part is empty or holds spaces, control characters or '@'"
        case .shortNameWithDots(let t): "node name '\(t)': a short name (--sname) takes a host without dots; use --name for a fully qualified host"
        case .longNameWithoutDots(let t): "node name '\(t)': a long name (--name) takes a fully qualified host (with a dot) or an IP address; use --sname for a short host"
        case .noHostName(let t): "node name '\(t)': this machine has no host name to use; give one as name@host"
        }
    }
}
