// Erlang for interop tests, and running programs from tests.
//
//     @Test func matchesErlang() throws {
//         let erlang = try erlangOrSkip()              // skip, or fail under CI
//         let beams = try erlang.compile("ergo_print_terms")
//         let run = try erlang.call("ergo_print_terms", "terms", [file.path], codePath: beams)
//         #expect(run.status == 0, "\(run.stderrText)")
//     }
//
// - `erlangOrSkip()` finds `erl` and `erlc` on PATH. Without them it cancels
//   the running test (Swift Testing reports it as skipped, with the reason),
//   except when the environment variable CI is "true": there a missing Erlang
//   is a failure (it throws `ErlangUnavailable`).
// - `ErlangInstallation.compile(_:)` compiles `Tests/ErgoTests/Erlang/NAME.erl`
//   with erlc (warnings are errors) into a new temporary directory.
// - `ErlangInstallation.call(_:_:_:codePath:)` runs `erl -noshell +pc unicode`
//   with `-run Module Function Args...` (the function gets the arguments as a
//   list of strings and should stop the runtime, e.g. `init:stop(0)`).
// - `runCommand(_:_:stdin:timeout:)` runs any program, optionally with bytes
//   on its standard input, and captures its status and output as bytes
//   (through temporary files, so a chatty child never blocks).
import Foundation
import Testing

/// The Erlang programs found on PATH.
struct ErlangInstallation: Sendable {
    let erl: URL
    let erlc: URL

    /// `erl` and `erlc` from PATH, or nil when either is missing.
    static func find() -> ErlangInstallation? {
        guard let erl = executable(named: "erl"), let erlc = executable(named: "erlc") else { return nil }
        return ErlangInstallation(erl: erl, erlc: erlc)
    }

    /// True when the environment variable CI is "true".
    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// The directory of the test helpers written in Erlang.
    static let sourceDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Erlang")

    /// Compiles `Tests/ErgoTests/Erlang/<module>.erl` into a new temporary
    /// directory and returns that directory (for `-pa`).
    func compile(_ module: String) throws -> URL {
        let fm = FileManager.default
        let out = fm.temporaryDirectory.appendingPathComponent("ergo-erlc-\(module)-\(UUID().uuidString)")
        try fm.createDirectory(at: out, withIntermediateDirectories: true)
        let source = ErlangInstallation.sourceDirectory.appendingPathComponent("\(module).erl")
        let run = try runCommand(erlc, ["+warnings_as_errors", "-o", out.path, source.path])
        guard run.status == 0 else {
            throw CommandFailed(description: "erlc \(module).erl failed (status \(run.status)):\n\(run.stdoutText)\(run.stderrText)")
        }
        return out
    }

    /// Runs `Module:Function(Arguments)` in a fresh runtime started with
    /// `+pc unicode` (so `~tp` prints Unicode text as text).
    func call(_ module: String, _ function: String, _ arguments: [String], codePath: URL,
              timeout: Duration = .seconds(120)) throws -> CommandOutput {
        try runCommand(erl, ["+pc", "unicode", "-noshell", "-pa", codePath.path,
                             "-run", module, function] + arguments, timeout: timeout)
    }

    private static func executable(named name: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let url = URL(fileURLWithPath: String(dir)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }
}

/// Thrown by ``erlangOrSkip(sourceLocation:)`` under CI when Erlang is missing.
struct ErlangUnavailable: Error, CustomStringConvertible {
    var description: String {
        "erl and erlc must be on PATH: CI=true makes a missing Erlang a failure, not a skip"
    }
}

/// Erlang, or: the current test is cancelled (skipped) without it, or fails
/// when CI is "true".
func erlangOrSkip(sourceLocation: SourceLocation = #_sourceLocation) throws -> ErlangInstallation {
    if let erlang = ErlangInstallation.find() { return erlang }
    if ErlangInstallation.isCI { throw ErlangUnavailable() }
    try Test.cancel("erl or erlc is not on PATH; Erlang interop test skipped", sourceLocation: sourceLocation)
}

/// A finished program: exit status and output, as bytes and as text (UTF-8).
struct CommandOutput: Sendable {
    let status: Int32
    let stdout: [UInt8]
    let stderr: [UInt8]
    let timedOut: Bool

    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

struct CommandFailed: Error, CustomStringConvertible {
    let description: String
}

/// Runs `program` with `arguments` (no shell) and `stdin` on its standard
/// input (nil: none), waits up to `timeout` (then terminates it), and returns
/// its status and output.
func runCommand(_ program: URL, _ arguments: [String], stdin: [UInt8]? = nil,
                timeout: Duration = .seconds(120)) throws -> CommandOutput {
    let fm = FileManager.default
    let scratch = fm.temporaryDirectory.appendingPathComponent("ergo-command-\(UUID().uuidString)")
    try fm.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? fm.removeItem(at: scratch) }
    let outURL = scratch.appendingPathComponent("stdout")
    let errURL = scratch.appendingPathComponent("stderr")
    try Data().write(to: outURL)
    try Data().write(to: errURL)
    let out = try FileHandle(forWritingTo: outURL)
    let err = try FileHandle(forWritingTo: errURL)
    let input = try stdin.map { bytes in
        let inURL = scratch.appendingPathComponent("stdin")
        try Data(bytes).write(to: inURL)
        return try FileHandle(forReadingFrom: inURL)
    }
    defer {
        try? out.close()
        try? err.close()
        try? input?.close()
    }
    let process = Process()
    process.executableURL = program
    process.arguments = arguments
    process.standardInput = input ?? FileHandle.nullDevice
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    var timedOut = false
    while process.isRunning {
        if clock.now > deadline {
            process.terminate()
            timedOut = true
            break
        }
        Thread.sleep(forTimeInterval: 0.005)
    }
    process.waitUntilExit()
    return CommandOutput(status: process.terminationStatus,
                         stdout: [UInt8](try Data(contentsOf: outURL)),
                         stderr: [UInt8](try Data(contentsOf: errURL)),
                         timedOut: timedOut)
}
