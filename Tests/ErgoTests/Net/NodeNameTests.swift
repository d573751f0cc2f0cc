import Foundation
import Testing
@testable import Ergo

@Suite struct NodeNameTests {
    let host = NodeName.LocalHost(short: "box", fullyQualified: "box.example.org")

    @Test func longNames() throws {
        #expect(try NodeName("a@h.example.org", kind: .long, localHost: host).description == "a@h.example.org")
        #expect(try NodeName("a@127.0.0.1", kind: .long, localHost: host).host == "127.0.0.1")
        #expect(try NodeName("a@::1", kind: .long, localHost: host).host == "::1")
        #expect(try NodeName("web-1_x", kind: .long, localHost: host).description == "web-1_x@box.example.org")
        let noFQDN = NodeName.LocalHost(short: "box", fullyQualified: nil)
        #expect(try NodeName("a", kind: .long, localHost: noFQDN).description == "a@127.0.0.1")
        #expect(throws: NodeNameError.longNameWithoutDots("a@box")) { try NodeName("a@box", kind: .long, localHost: host) }
    }

    @Test func shortNames() throws {
        #expect(try NodeName("a", kind: .short, localHost: host).description == "a@box")
        #expect(try NodeName("a@other", kind: .short, localHost: host).description == "a@other")
        #expect(throws: NodeNameError.shortNameWithDots("a@b.c")) { try NodeName("a@b.c", kind: .short, localHost: host) }
        let none = NodeName.LocalHost(short: nil, fullyQualified: nil)
        #expect(throws: NodeNameError.noHostName("a")) { try NodeName("a", kind: .short, localHost: none) }
    }

    @Test func badNames() {
        #expect(throws: NodeNameError.emptyName("@h.x")) { try NodeName("@h.x", kind: .long, localHost: host) }
        #expect(throws: NodeNameError.invalidName("a b@h.x")) { try NodeName("a b@h.x", kind: .long, localHost: host) }
        #expect(throws: NodeNameError.invalidName("é@h.x")) { try NodeName("é@h.x", kind: .long, localHost: host) }
        #expect(throws: NodeNameError.invalidHost("a@")) { try NodeName("a@", kind: .short, localHost: host) }
        #expect(throws: NodeNameError.invalidHost("a@b@c")) { try NodeName("a@b@c", kind: .short, localHost: host) }
        #expect(NodeNameError.shortNameWithDots("a@b.c").description.contains("--name"))
    }

    @Test func thisMachine() throws {
        let local = NodeName.LocalHost.current()
        if let short = local.short { #expect(!short.contains(".")) }
        if let fqdn = local.fullyQualified { #expect(fqdn.contains(".")) }
        let long = try NodeName("n", kind: .long)
        #expect(long.host.contains("."))
    }
}

@Suite struct CookieTests {
    private func tempHome() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ergo-cookie-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.path
    }

    private func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
    }

    @Test func createdWhenAbsentAsErlDoes() throws {
        let home = try tempHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let cookie = try Cookie.default(environment: ["HOME": home])
        #expect(cookie.value.count == 20)
        #expect(cookie.value.allSatisfy { ("A"..."Z").contains($0) })
        let path = home + "/.erlang.cookie"
        #expect(try mode(path) == 0o400)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == cookie.value)
        // Read back the same the next time.
        #expect(try Cookie.default(environment: ["HOME": home]) == cookie)
        #expect(!cookie.description.contains(cookie.value))
    }

    @Test func readWithTrailingNewlineAndXDGFallback() throws {
        let home = try tempHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let xdg = home + "/cfg"
        try FileManager.default.createDirectory(atPath: xdg + "/erlang", withIntermediateDirectories: true)
        let xdgFile = xdg + "/erlang/.erlang.cookie"
        try "from xdg\n".write(toFile: xdgFile, atomically: false, encoding: .utf8)
        chmod(xdgFile, 0o600)
        #expect(try Cookie.default(environment: ["HOME": home, "XDG_CONFIG_HOME": xdg]).value == "from xdg")
        let homeFile = home + "/.erlang.cookie"
        try "SECRET\r\n".write(toFile: homeFile, atomically: false, encoding: .utf8)
        chmod(homeFile, 0o400)
        #expect(try Cookie.default(environment: ["HOME": home, "XDG_CONFIG_HOME": xdg]).value == "SECRET")
    }

    @Test func refusedAsErlRefusesThem() throws {
        let home = try tempHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let path = home + "/.erlang.cookie"
        try "OPEN".write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, 0o644)
        #expect(throws: CookieError.accessibleByOthers(path)) { try Cookie.default(environment: ["HOME": home]) }
        chmod(path, 0o600)
        try "bad\u{1}cookie".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(throws: CookieError.badCharacters(path)) { try Cookie.default(environment: ["HOME": home]) }
        try "\n".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(throws: CookieError.empty(path)) { try Cookie.default(environment: ["HOME": home]) }
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        #expect(throws: CookieError.notARegularFile(path)) { try Cookie.default(environment: ["HOME": home]) }
    }
}
