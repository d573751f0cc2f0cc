// A real Erlang/OTP node that a test starts and drives (see
// `Tests/ErgoTests/Erlang/ergo_peer.erl`):
//
//     let erl = try await ErlangPeer.start(name: "e1@127.0.0.1", cookie: "secret", epmdPort: port)
//     defer { erl.kill() }
//     #expect(try await erl.eval("net_adm:ping('s1@127.0.0.1').") == .atom("pong"))
//     let pid = try await erl.eval("self().")                  // the evaluating process
//     try await erl.eval("Dest ! hello, ok.", ["Dest": .pid(swiftPid)])
//
// Requests and replies travel as ETF (base64 lines), so pids, refs and
// binaries cross intact. Every request runs in the same Erlang process,
// so messages sent to `self()` wait in its mailbox for a later `receive`.
import Foundation
import Testing
@testable import Ergo

final class ErlangPeer: @unchecked Sendable {
    let name: String
    private let process: Process
    private let input: FileHandle
    private let replies = Locked<Replies>(Replies())
    /// Everything the node printed that was not a reply (for failure messages).
    private let chatter = Locked<[String]>([])

    private struct Replies {
        var lines: [String] = []
        var waiter: CheckedContinuation<String?, Never>?
        var closed = false
    }

    struct Failed: Error, CustomStringConvertible {
        let description: String
    }

    private init(name: String, process: Process, input: FileHandle) {
        self.name = name
        self.process = process
        self.input = input
    }

    /// Starts `erl -name NAME -setcookie COOKIE` (`-sname` when the name has
    /// no dot in its host) with `ERL_EPMD_PORT` set, and waits until it runs.
    static func start(name: String, cookie: String, epmdPort: Int? = nil, hidden: Bool = false,
                      extraArguments: [String] = []) async throws -> ErlangPeer {
        let erlang = try erlangOrSkip()
        let beams = try erlang.compile("ergo_peer")
        let host = name.split(separator: "@").last.map(String.init) ?? ""
        let nameFlag = host.contains(".") ? "-name" : "-sname"
        let process = Process()
        process.executableURL = erlang.erl
        process.arguments = [nameFlag, name, "-setcookie", cookie, "-noshell", "-pa", beams.path]
            + (hidden ? ["-hidden"] : []) + extraArguments + ["-run", "ergo_peer", "start"]
        var env = ProcessInfo.processInfo.environment
        if let epmdPort { env["ERL_EPMD_PORT"] = "\(epmdPort)" }
        process.environment = env
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stdout
        try process.run()
        let peer = ErlangPeer(name: name, process: process, input: stdin.fileHandleForWriting)
        peer.readLines(from: stdout.fileHandleForReading)
        guard let ready = await peer.nextLine(prefix: "ergo-ready:", timeout: .seconds(30)) else {
            peer.kill()
            throw Failed(description: "erl \(name) did not start:\n\(peer.output)")
        }
        guard ready == name else {
            peer.kill()
            throw Failed(description: "erl started as \(ready), not \(name)")
        }
        return peer
    }

    /// Evaluates Erlang expressions (ending with a dot) with `bindings`;
    /// returns the value, or throws the Erlang error.
    @discardableResult
    func eval(_ source: String, _ bindings: [String: Term] = [:], timeout: Duration = .seconds(30)) async throws -> Term {
        let request = Term.tuple([.binary(Binary(Array(source.utf8))),
                                  .list(bindings.map { .tuple([.atom(Atom($0.key)), $0.value]) })])
        let line = Data(try ETF.encode(request)).base64EncodedString() + "\n"
        try input.write(contentsOf: Data(line.utf8))
        guard let text = await nextLine(prefix: "ergo-reply:", timeout: timeout) else {
            throw Failed(description: "no reply from \(name) to \(source) within \(timeout):\n\(output)")
        }
        guard let bytes = Data(base64Encoded: text) else { throw Failed(description: "bad reply line \(text)") }
        let reply = try ETF.decode([UInt8](bytes))
        guard case .tuple(let e) = reply, e.count == 2 else { throw Failed(description: "bad reply \(reply)") }
        if e[0] == .atom("ok") { return e[1] }
        throw Failed(description: "\(name): \(source) failed: \(e[1])")
    }

    /// The node's own pid for a registered process or the evaluator.
    var isRunning: Bool { process.isRunning }

    /// SIGKILL: the OS process dies at once (connections drop without a word).
    func kill() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Ends the node as `init:stop()` does (its input closes) and waits.
    func stop() {
        try? input.close()
        process.waitUntilExit()
    }

    /// What the node printed besides replies.
    var output: String { chatter.withLock { $0.joined(separator: "\n") } }

    private func readLines(from handle: FileHandle) {
        let thread = Thread { [self] in
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: 0x0A) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    if line.hasPrefix("ergo-") { deliver(line) } else { chatter.withLock { $0.append(line) } }
                }
            }
            let waiter = replies.withLock { r -> CheckedContinuation<String?, Never>? in
                r.closed = true
                defer { r.waiter = nil }
                return r.waiter
            }
            waiter?.resume(returning: nil)
        }
        thread.start()
    }

    private func deliver(_ line: String) {
        let waiter = replies.withLock { r -> CheckedContinuation<String?, Never>? in
            if let w = r.waiter { r.waiter = nil; return w }
            r.lines.append(line)
            return nil
        }
        waiter?.resume(returning: line)
    }

    /// The next `ergo-` line, with `prefix` removed (nil: the node's output
    /// closed, a line with another prefix came, or `timeout` passed).
    private func nextLine(prefix: String, timeout: Duration) async -> String? {
        let line: String? = await withTaskGroup(of: String?.self) { group in
            group.addTask {
                await withCheckedContinuation { (c: CheckedContinuation<String?, Never>) in
                    let now = self.replies.withLock { r -> (ready: Bool, line: String?) in
                        if !r.lines.isEmpty { return (true, r.lines.removeFirst()) }
                        if r.closed { return (true, nil) }
                        r.waiter = c
                        return (false, nil)
                    }
                    if now.ready { c.resume(returning: now.line) }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return "ergo-timeout"
            }
            let first = await group.next()!
            if first == "ergo-timeout" {
                // Wake the reader's continuation so the group can finish.
                let waiter = self.replies.withLock { r -> CheckedContinuation<String?, Never>? in
                    defer { r.waiter = nil }
                    return r.waiter
                }
                waiter?.resume(returning: nil)
            }
            group.cancelAll()
            return first == "ergo-timeout" ? nil : first
        }
        guard let line, line.hasPrefix(prefix) else { return nil }
        return String(line.dropFirst(prefix.count))
    }
}

/// A free TCP port on 127.0.0.1 (bound, read, released).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw ErlangPeer.Failed(description: "socket failed") }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard bound else { throw ErlangPeer.Failed(description: "bind failed") }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// `epmd -port PORT` as a child process (not a daemon), for one test cluster.
final class EPMDDaemon: @unchecked Sendable {
    let port: Int
    private let process: Process

    init(port: Int) throws {
        let erlang = try erlangOrSkip()
        let epmd = erlang.erl.deletingLastPathComponent().appendingPathComponent("epmd")
        self.port = port
        process = Process()
        process.executableURL = epmd
        process.arguments = ["-port", "\(port)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Ready once it accepts connections.
        let deadline = ContinuousClock.now + .seconds(10)
        while !Self.accepts(port) {
            guard ContinuousClock.now < deadline, process.isRunning else {
                stop()
                throw ErlangPeer.Failed(description: "epmd -port \(port) did not start")
            }
            Thread.sleep(forTimeInterval: 0.01)  // polling a port: no event to await
        }
    }

    static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// SIGKILL (epmd ignores SIGTERM).
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
