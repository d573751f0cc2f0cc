#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The magic cookie nodes prove to each other in the handshake. Its
/// description hides the value, so it never reaches a log by accident.
public struct Cookie: Hashable, Sendable, CustomStringConvertible {
    public let value: String

    public init(_ value: String) { self.value = value }

    public var description: String { "Cookie(<\(value.utf8.count) bytes>)" }

    /// The cookie `erl` would use without `-setcookie` (kernel's auth.erl):
    /// `$HOME/.erlang.cookie`; if absent, `$XDG_CONFIG_HOME/erlang/.erlang.cookie`
    /// (`~/.config` when unset); if neither exists, a new `$HOME/.erlang.cookie`
    /// of 20 random uppercase letters, mode 0400. As `erl` does, a cookie file
    /// that is not a regular file, or that group or others may access, is
    /// refused (an error, not a warning: `erl` does not start either).
    public static func `default`(environment: [String: String]? = nil) throws(CookieError) -> Cookie {
        let env = environment ?? Self.processEnvironment(["HOME", "XDG_CONFIG_HOME"])
        let home = env["HOME"].flatMap { $0.isEmpty ? nil : $0 }
        let xdgBase = env["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? home.map { "\($0)/.config" }
        let xdgPath = xdgBase.map { "\($0)/erlang/.erlang.cookie" }
        if let home {
            let homePath = "\(home)/.erlang.cookie"
            if let cookie = try read(path: homePath) { return cookie }
            if let xdgPath, let cookie = try read(path: xdgPath) { return cookie }
            try create(path: homePath)
            guard let cookie = try read(path: homePath) else { throw .unreadable(homePath, "vanished after creation") }
            return cookie
        }
        guard let xdgPath else { throw .noHome }
        if let cookie = try read(path: xdgPath) { return cookie }
        try create(path: xdgPath)
        guard let cookie = try read(path: xdgPath) else { throw .unreadable(xdgPath, "vanished after creation") }
        return cookie
    }

    /// The cookie in the file at `path`, or nil when there is no such file.
    public static func read(path: String) throws(CookieError) -> Cookie? {
        var info = stat()
        if stat(path, &info) != 0 {
            if errno == ENOENT { return nil }
            throw .unreadable(path, String(cString: strerror(errno)))
        }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .notARegularFile(path) }
        guard info.st_mode & 0o077 == 0 else { throw .accessibleByOthers(path) }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(path, String(cString: strerror(errno))) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = Glibc.read(fd, &chunk, chunk.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadable(path, String(cString: strerror(errno)))
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return try parse(bytes, path: path)
    }

    /// As auth.erl checks a cookie: printable ASCII (space to '~'), then
    /// nothing but line ends and spaces.
    static func parse(_ bytes: [UInt8], path: String) throws(CookieError) -> Cookie {
        let printable = bytes.prefix { (0x20...0x7E).contains($0) }
        let rest = bytes.dropFirst(printable.count)
        guard rest.allSatisfy({ $0 == 0x0A || $0 == 0x0D || $0 == 0x20 }) else { throw .badCharacters(path) }
        guard !printable.isEmpty else { throw .empty(path) }
        return Cookie(String(decoding: printable, as: UTF8.self))
    }

    /// Writes a new cookie of 20 random letters A-Z with mode 0400.
    static func create(path: String) throws(CookieError) {
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            makeDirectories(String(path[..<slash]))
        }
        var rng = SystemRandomNumberGenerator()
        let letters = (0..<20).map { _ in UInt8(ascii: "A") + UInt8.random(in: 0..<26, using: &rng) }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o400)
        guard fd >= 0 else { throw .cannotCreate(path, String(cString: strerror(errno))) }
        defer { close(fd) }
        let written = letters.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == letters.count else { throw .cannotCreate(path, String(cString: strerror(errno))) }
        guard fchmod(fd, 0o400) == 0 else { throw .cannotCreate(path, String(cString: strerror(errno))) }
    }

    private static func makeDirectories(_ path: String) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            _ = mkdir(current, 0o700)  // EEXIST is fine; a real failure shows at open
        }
    }

    private static func processEnvironment(_ names: [String]) -> [String: String] {
        var env: [String: String] = [:]
        for name in names { if let v = getenv(name) { env[name] = String(cString: v) } }
        return env
    }
}

/// Why the default cookie could not be had (each names the file).
public enum CookieError: Error, Hashable, Sendable, CustomStringConvertible {
    case noHome
    case notARegularFile(String)
    case accessibleByOthers(String)
    case unreadable(String, String)
    case badCharacters(String)
    case empty(String)
    case cannotCreate(String, String)

    public var description: String {
        switch self {
        case .noHome: "no HOME (nor XDG_CONFIG_HOME) for the cookie file"
        case .notARegularFile(let p): "cookie file \(p) is not a regular file"
        case .accessibleByOthers(let p): "cookie file \(p) must be accessible by owner only (chmod 400 \(p))"
        case .unreadable(let p, let why): "cannot read cookie file \(p): \(why)"
        case .badCharacters(let p): "bad characters in cookie file \(p)"
        case .empty(let p): "cookie file \(p) is empty"
        case .cannotCreate(let p, let why): "cannot create cookie file \(p): \(why)"
        }
    }
}
