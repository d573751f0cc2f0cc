import Foundation
import Testing

/// The `ergo term` verbs, run as a user runs them: the built `ergo` binary in
/// a child process, checked by its output and exit status.
@Suite struct CLITests {
    static let small = FixtureFiles.bytes("small.etf")
    static let smallText = #"{ping,1,<<"hello">>}"#

    @Test func printDecodesAFile() throws {
        let run = try ergo(["term", "print", FixtureFiles.url("small.etf").path])
        #expect(run.status == 0)
        #expect(run.stdoutText == Self.smallText + "\n")
        #expect(run.stderr.isEmpty)
    }

    @Test func printReadsStandardInput() throws {
        let run = try ergo(["term", "print", "-"], stdin: Self.small)
        #expect(run.status == 0)
        #expect(run.stdoutText == Self.smallText + "\n")
        let implicit = try ergo(["term", "print"], stdin: Self.small)
        #expect(implicit.stdoutText == Self.smallText + "\n")
    }

    @Test func printDecodesCompressedBytes() throws {
        // term_to_binary(lists:duplicate(100, <<"ergo">>), [compressed]) in erl.
        let compressed: [UInt8] = [131, 80, 0, 0, 3, 138, 120, 156, 203, 97, 96, 96, 72, 201, 5, 18, 44, 169,
                                   69, 233, 249, 163, 140, 81, 198, 40, 99, 64, 24, 89, 0, 99, 41, 212, 243]
        let run = try ergo(["term", "print", "-"], stdin: compressed)
        #expect(run.status == 0, "\(run.stderrText)")
        #expect(run.stdoutText == "[" + Array(repeating: #"<<"ergo">>"#, count: 100).joined(separator: ",") + "]\n")
    }

    @Test func encodeWritesErlangsBytes() throws {
        let run = try ergo(["term", "encode", Self.smallText])
        #expect(run.status == 0, "\(run.stderrText)")
        #expect(run.stdout == Self.small)
        let fromStdin = try ergo(["term", "encode", "-"], stdin: Array((Self.smallText + "\n").utf8))
        #expect(fromStdin.stdout == Self.small)
    }

    @Test func encodeWritesAFile() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ergo-cli-\(UUID().uuidString).etf")
        defer { try? FileManager.default.removeItem(at: file) }
        let run = try ergo(["term", "encode", Self.smallText, "-o", file.path])
        #expect(run.status == 0, "\(run.stderrText)")
        #expect(run.stdout.isEmpty)
        #expect([UInt8](try Data(contentsOf: file)) == Self.small)
    }

    @Test func encodeCompressesAndPrintReadsItBack() throws {
        let term = "[" + Array(repeating: #"{item,<<"ergo ergo ergo">>,3.5}"#, count: 50).joined(separator: ",") + "]"
        let run = try ergo(["term", "encode", "--compressed", "9", term])
        #expect(run.status == 0, "\(run.stderrText)")
        #expect(run.stdout.prefix(2) == [131, 80])
        let plain = try ergo(["term", "encode", term])
        #expect(run.stdout.count * 4 < plain.stdout.count)
        let back = try ergo(["term", "print", "-"], stdin: run.stdout)
        #expect(back.stdoutText == term + "\n")
    }

    @Test func bytesShowsTheEncodingAsAnErlangBinary() throws {
        let expected = "<<" + Self.small.map(String.init).joined(separator: ",") + ">>\n"
        let run = try ergo(["term", "bytes", Self.smallText])
        #expect(run.status == 0, "\(run.stderrText)")
        #expect(run.stdoutText == expected)
        let file = try ergo(["term", "bytes", "--file", FixtureFiles.url("small.etf").path])
        #expect(file.stdoutText == expected)
    }

    @Test func corruptBytesAreReportedWithTheOffset() throws {
        let truncated = try ergo(["term", "print", "-"], stdin: Array(Self.small.prefix(10)))
        #expect(truncated.status == 65)
        #expect(truncated.stdout.isEmpty)
        #expect(truncated.stderrText.hasPrefix("ergo: <stdin>: ETF decode error"))
        #expect(truncated.stderrText.contains("truncated"))
        #expect(truncated.stderrText.contains("at byte"))
        Self.expectNoCrash(truncated)

        let version = try ergo(["term", "print", "-"], stdin: [130] + Self.small.dropFirst())
        #expect(version.status == 65)
        #expect(version.stderrText.contains("at byte 0"))
        Self.expectNoCrash(version)

        let trailing = try ergo(["term", "print", "-"], stdin: Self.small + [0])
        #expect(trailing.status == 65)
        #expect(trailing.stderrText.contains("at byte \(Self.small.count)"))

        let empty = try ergo(["term", "print", "-"], stdin: [])
        #expect(empty.status == 65)
        Self.expectNoCrash(empty)
    }

    @Test func syntaxErrorsAreReported() throws {
        let run = try ergo(["term", "encode", "{ok, [1,2}"])
        #expect(run.status == 65)
        #expect(run.stdout.isEmpty)
        #expect(run.stderrText.hasPrefix("ergo: term syntax error"))
        #expect(run.stderrText.contains("{ok, [1,2}"))
        Self.expectNoCrash(run)
    }

    @Test func unreadableFilesAndBadArgumentsAreReported() throws {
        let missing = try ergo(["term", "print", "/nonexistent/ergo-test.etf"])
        #expect(missing.status == 66)
        #expect(missing.stderrText == "ergo: /nonexistent/ergo-test.etf: No such file or directory\n")

        let directory = try ergo(["term", "print", FileManager.default.temporaryDirectory.path])
        #expect(directory.status == 66)
        Self.expectNoCrash(directory)

        let unwritable = try ergo(["term", "encode", "ok", "-o", "/nonexistent/dir/out.etf"])
        #expect(unwritable.status == 73)

        let level = try ergo(["term", "encode", "ok", "--compressed", "12"])
        #expect(level.status == 64)
        #expect(level.stderrText.contains("0 to 9"))

        let unknown = try ergo(["term", "frobnicate"])
        #expect(unknown.status == 64)
    }

    // MARK: Helpers

    static func expectNoCrash(_ run: CommandOutput, sourceLocation: SourceLocation = #_sourceLocation) {
        for sign in ["Fatal error", "Stack dump", "backtrace", "Crash"] {
            #expect(!run.stderrText.contains(sign), "ergo crashed:\n\(run.stderrText)", sourceLocation: sourceLocation)
        }
        #expect(!run.timedOut, sourceLocation: sourceLocation)
    }

    func ergo(_ arguments: [String], stdin: [UInt8]? = nil) throws -> CommandOutput {
        let binary = try #require(ErgoBinary.url, """
            the ergo binary was not found next to the tests (looked in \(ErgoBinary.searched.map(\.path))); \
            build it with `swift build`, or set ERGO_BIN
            """)
        return try runCommand(binary, arguments, stdin: stdin, timeout: .seconds(30))
    }
}

/// The `ergo` executable SwiftPM built with the tests: in the build products
/// directory, where the test runner itself lives (`ERGO_BIN` overrides).
enum ErgoBinary {
    static let url: URL? = {
        if let path = ProcessInfo.processInfo.environment["ERGO_BIN"] { return URL(fileURLWithPath: path) }
        return product("ergo")
    }()

    /// Another executable of the package, built beside the tests.
    static func product(_ name: String) -> URL? {
        searched.map { $0.appendingPathComponent(name) }.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Linux runs the tests in `<products>/<Package>PackageTests.xctest`, an
    /// executable; macOS loads a bundle of that name from the same directory.
    static let searched: [URL] = {
        var dirs: [URL] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            dirs.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            dirs.append(bundle.bundleURL.deletingLastPathComponent())
        }
        if let first = CommandLine.arguments.first {
            dirs.append(URL(fileURLWithPath: first).deletingLastPathComponent())
        }
        return dirs
    }()
}

/// The ETF files Erlang wrote, in `Fixtures/` beside this file.
enum FixtureFiles {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    static func bytes(_ name: String) -> [UInt8] {
        (try? [UInt8](Data(contentsOf: url(name)))) ?? []
    }

    static var names: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0.hasSuffix(".etf") }.sorted()
    }
}
