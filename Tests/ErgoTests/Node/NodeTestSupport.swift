#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging
import Testing
@testable import Ergo

// Helpers shared by the process-layer tests. Waits are on messages (replies,
// 'DOWN', 'EXIT'); every receive has an upper bound so that a broken rule
// fails the test instead of hanging it.
//
// Each suite runs its tests one at a time (`.serialized`; the suites still
// run in parallel): every test starts a node with its own scheduler threads,
// and a hundred nodes at once on two CPUs (worse under the sanitizers) made
// wake-ups take seconds.

/// The longest any test waits for a message it expects (generous: the
/// sanitizer runs share two CPUs with every other suite).
let patience: Duration = .seconds(10)

/// A node for one test.
/// Its logger drops everything below `critical` (the crash reports the tests
/// provoke on purpose would bury the results); `ERGO_TEST_LOG=debug` (or
/// another level) shows them.
func makeTestNode() -> Node {
    var logger = Logger(label: "ergo-test")
    logger.logLevel = getenv("ERGO_TEST_LOG").flatMap { Logger.Level(rawValue: String(cString: $0)) } ?? .critical
    return Node(name: "test@localhost", schedulers: 2, logger: logger)
}

/// Runs `body` with a fresh node, then stops the node and expects a clean
/// stop (every process ended on `shutdown`) with no process left.
func withNode(_ body: (Node) async throws -> Void) async throws {
    let node = makeTestNode()
    do {
        try await body(node)
    } catch {
        _ = await node.stop(timeout: .seconds(1))
        throw error
    }
    let clean = await node.stop(timeout: patience)
    #expect(clean, "node.stop() had to kill processes")
    #expect(node.processCount == 0)
}

/// Runs `body` as a process of a fresh node (see `withNode`).
func inProcess<T: Sendable>(options: SpawnOptions = SpawnOptions(),
                            _ body: nonisolated(nonsending) @escaping @Sendable (ProcessContext) async throws -> T) async throws -> T {
    var result: T?
    try await withNode { node in result = try await node.withProcess(options: options, body) }
    return result!
}

/// A wait that ran out of patience.
struct NothingArrived: Error, CustomStringConvertible {
    let what: String
    var description: String { "nothing arrived: \(what)" }
}

/// An error a test process throws on purpose.
struct Boom: Error, CustomStringConvertible {
    let detail: String
    init(_ detail: String = "boom") { self.detail = detail }
    var description: String { detail }
}

// MARK: terms

extension Term {
    /// `{tag, args...}` as a term.
    static func tag(_ tag: String, _ args: Term...) -> Term { .tuple([.atom(Atom(tag))] + args) }

    /// The elements after the tag of `{tag, ...}` when it has `count` of them.
    func args(_ tag: String, _ count: Int) -> [Term]? {
        guard case .tuple(let e) = self, e.count == count + 1, e[0] == .atom(Atom(tag)) else { return nil }
        return Array(e.dropFirst())
    }

    /// `{'DOWN', Ref, process, Object, Reason}` for `ref`: (object, reason).
    func down(_ ref: Ref) -> (object: Term, reason: Term)? {
        guard let a = args("DOWN", 4), a[0] == .ref(ref), a[1] == .atom("process") else { return nil }
        return (a[2], a[3])
    }

    /// `{'EXIT', From, Reason}` from `from`: the reason.
    func exit(from: PID) -> Term? {
        guard let a = args("EXIT", 2), a[0] == .pid(from) else { return nil }
        return a[1]
    }

    /// `{swift_error, <<Description>>}`: the description.
    var swiftError: String? {
        guard let a = args("swift_error", 1), case .binary(let text) = a[0] else { return nil }
        return text.utf8String
    }
}

/// An exit reason that is a custom term.
func custom(_ tag: String = "custom") -> ExitReason { .other(.tag(tag, 42)) }

// MARK: process helpers

extension ProcessContext {
    /// The first message `match` accepts, waiting at most `within`.
    nonisolated(nonsending) func expect<T>(_ what: String, within: Duration = patience, _ match: (Term) -> T?) async throws -> T {
        guard let value = try await receive(timeout: within, matching: match) else { throw NothingArrived(what: what) }
        return value
    }

    /// The next message, whatever it is.
    nonisolated(nonsending) func next(_ what: String = "a message", within: Duration = patience) async throws -> Term {
        guard let message = try await receive(timeout: within) else { throw NothingArrived(what: what) }
        return message
    }

    /// The message equal to `message`.
    nonisolated(nonsending) func expect(_ message: Term, within: Duration = patience) async throws {
        _ = try await expect("\(message)", within: within) { $0 == message ? true : nil }
    }

    /// The `'DOWN'` message of monitor `ref`: (object, reason).
    nonisolated(nonsending) func down(_ ref: Ref, within: Duration = patience) async throws -> (object: Term, reason: Term) {
        try await expect("'DOWN' for \(ref)", within: within) { $0.down(ref) }
    }

    /// The reason of the `{'EXIT', from, Reason}` message.
    nonisolated(nonsending) func exitMessage(from: PID, within: Duration = patience) async throws -> Term {
        try await expect("'EXIT' from \(from)", within: within) { $0.exit(from: from) }
    }

    /// Monitors `pid`, kills it and waits for its end.
    nonisolated(nonsending) func kill(_ pid: PID) async throws {
        let ref = monitor(pid)
        try exit(pid, reason: .kill)
        _ = try await down(ref)
    }

    /// Asks a `puppet` for a pong: a round trip that proves it alive and that
    /// it handled everything this process sent it before.
    nonisolated(nonsending) func ping(_ pid: PID) async throws {
        send(to: pid, .tag("ping", .pid(self.pid)))
        try await expect(.tag("pong", .pid(pid)))
    }

    /// The links a `puppet` has, as it sees them.
    nonisolated(nonsending) func linksOf(_ pid: PID) async throws -> Set<PID> {
        send(to: pid, .tag("links", .pid(self.pid)))
        return try await expect("links of \(pid)") { message -> Set<PID>? in
            guard let a = message.args("links", 2), a[0] == .pid(pid), case .list(let pids) = a[1] else { return nil }
            return Set(pids.compactMap { if case .pid(let p) = $0 { return p } else { return nil } })
        }
    }

    /// Has a `puppet` run a command and waits for its `{done, Pid, Tag}`.
    nonisolated(nonsending) func command(_ pid: PID, _ command: Term) async throws {
        send(to: pid, command)
        _ = try await expect("\(pid) done \(command)") { message -> Bool? in
            guard let a = message.args("done", 2), a[0] == .pid(pid), a[1] == command else { return nil }
            return true
        }
    }

    /// The pids of the processes alive now, without this one.
    var others: [PID] { node.processes.filter { $0 != pid } }
}

/// A process that does what it is told and reports any other message it
/// gets to `owner` as `{got, Self, Message}`:
/// - `{ping, From}` → `{pong, Self}` to From
/// - `{links, From}` → `{links, Self, [Pid]}`
/// - `{exit_with, Reason}` → ends with Reason (thrown)
/// - `{link, Pid}` / `{unlink, Pid}` / `{exit_signal, Pid, Reason}` /
///   `{monitor, Pid}` / `{trap, Bool}` → acts, then `{done, Self, Command}` to owner
/// - `{send, Pid, Msg}` → sends Msg to Pid
func puppet(owner: PID, trap: Bool = false) -> nonisolated(nonsending) @Sendable (ProcessContext) async throws -> Void {
    { process in
        process.trapExit = trap
        while true {
            let message = try await process.receive()
            let done: Term = .tag("done", .pid(process.pid), message)
            if let a = message.args("ping", 1), case .pid(let from) = a[0] {
                process.send(to: from, .tag("pong", .pid(process.pid)))
            } else if let a = message.args("links", 1), case .pid(let from) = a[0] {
                let links = process.links.sorted { ($0.serial, $0.id) < ($1.serial, $1.id) }.map(Term.pid)
                process.send(to: from, .tag("links", .pid(process.pid), .list(links)))
            } else if let a = message.args("exit_with", 1) {
                throw ExitReason(a[0])
            } else if let a = message.args("link", 1), case .pid(let target) = a[0] {
                try process.link(target)
                process.send(to: owner, done)
            } else if let a = message.args("unlink", 1), case .pid(let target) = a[0] {
                process.unlink(target)
                process.send(to: owner, done)
            } else if let a = message.args("monitor", 1), case .pid(let target) = a[0] {
                process.monitor(target)
                process.send(to: owner, done)
            } else if let a = message.args("exit_signal", 2), case .pid(let target) = a[0] {
                try process.exit(target, reason: ExitReason(a[1]))
                process.send(to: owner, done)
            } else if let a = message.args("trap", 1) {
                process.trapExit = a[0] == .atom(.true)
                process.send(to: owner, done)
            } else if let a = message.args("send", 2), case .pid(let target) = a[0] {
                process.send(to: target, a[1])
            } else {
                process.send(to: owner, .tag("got", .pid(process.pid), message))
            }
        }
    }
}

/// A process that waits for messages and ignores them until it is told `stop`.
let idle: nonisolated(nonsending) @Sendable (ProcessContext) async throws -> Void = { process in
    while try await process.receive() != .atom("stop") {}
}

/// Thread-safe storage a test and its processes share.
final class Shared<Value: Sendable>: @unchecked Sendable {
    private let state: Locked<Value>
    init(_ value: Value) { state = Locked(value) }
    var value: Value { state.withLock { $0 } }
    func update<R>(_ body: (inout Value) -> R) -> R { state.withLock(body) }
}
