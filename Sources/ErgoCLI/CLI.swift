import ArgumentParser
import Ergo

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What the `ergo` verbs share: reading and writing bytes, turning errors into
/// a one-line message on standard error and an exit status (never a crash).
enum CLI {
    /// The input is not a valid term: bad syntax, corrupt bytes (EX_DATAERR).
    static let dataError = ExitCode(65)
    /// The input file cannot be read (EX_NOINPUT).
    static let noInput = ExitCode(66)
    /// The output file cannot be written (EX_CANTCREAT).
    static let cannotCreate = ExitCode(73)

    /// Writes `ergo: message` to standard error and returns the status to throw.
    static func fail(_ message: String, status: ExitCode) -> ExitCode {
        try? writeAll(Array(("ergo: " + message + "\n").utf8), to: 2)
        return status
    }

    static func displayName(_ path: String) -> String { path == "-" ? "<stdin>" : path }

    static func validate(compressionLevel: Int?) throws {
        if let level = compressionLevel, !(0...9).contains(level) {
            throw ValidationError("--compressed takes a zlib level from 0 to 9, not \(level).")
        }
    }

    /// Parses Erlang syntax; `-` reads the text from standard input.
    static func parse(_ argument: String) throws -> Term {
        var text = argument
        if argument == "-" {
            let bytes = try read("-")
            guard let decoded = String(validating: bytes, as: UTF8.self) else {
                throw fail("<stdin>: the term is not valid UTF-8 text", status: dataError)
            }
            text = decoded
        }
        do {
            return try Term(parsing: text)
        } catch {
            throw fail(describe(error, in: text), status: dataError)
        }
    }

    static func encode(_ term: Term, compressionLevel: Int?) throws -> [UInt8] {
        var options = ETF.EncodeOptions()
        options.compressionLevel = compressionLevel
        do {
            return try ETF.encode(term, options: options)
        } catch {
            throw fail("\(error)", status: dataError)
        }
    }

    /// A syntax error, with the line of input and a caret under the offset
    /// when the input is short enough to show.
    static func describe(_ error: TermError, in text: String) -> String {
        var line = Substring(text)
        while line.last?.isNewline == true { line.removeLast() }
        guard case let .parse(_, offset) = error,
              line.utf8.count <= 160, !line.contains(where: \.isNewline), offset >= 0, offset <= line.utf8.count
        else { return "\(error)" }
        let column = String(decoding: line.utf8.prefix(offset), as: UTF8.self).unicodeScalars.count
        return "\(error)\n  \(line)\n  " + String(repeating: " ", count: column) + "^"
    }

    // MARK: Bytes in and out

    /// All bytes of a file, or of standard input for `-`.
    static func read(_ path: String) throws -> [UInt8] {
        let fd = path == "-" ? 0 : open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw fail("\(path): \(errorText(errno))", status: noInput) }
        defer { if fd != 0 { close(fd) } }
        var out: [UInt8] = []
        var info = stat()
        if fstat(fd, &info) == 0, info.st_size > 0 { out.reserveCapacity(Int(info.st_size)) }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                out.append(contentsOf: chunk[0..<n])
            } else if n == 0 {
                return out
            } else if errno != EINTR {
                throw fail("\(displayName(path)): \(errorText(errno))", status: noInput)
            }
        }
    }

    static func write(_ bytes: [UInt8], toFile path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw fail("\(path): \(errorText(errno))", status: cannotCreate) }
        defer { close(fd) }
        do {
            try writeAll(bytes, to: fd)
        } catch {
            throw fail("\(path): \(errorText(error.code))", status: cannotCreate)
        }
    }

    static func writeStandardOutput(_ bytes: [UInt8]) throws {
        do {
            try writeAll(bytes, to: 1)
        } catch {
            throw fail("<stdout>: \(errorText(error.code))", status: cannotCreate)
        }
    }

    static var standardOutputIsTerminal: Bool { isatty(1) == 1 }

    struct WriteError: Error { let code: Int32 }

    private static func writeAll(_ bytes: [UInt8], to fd: Int32) throws(WriteError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { all in
                systemWrite(fd, all.baseAddress! + done, all.count - done)
            }
            if n >= 0 {
                done += n
            } else if errno != EINTR {
                throw WriteError(code: errno)
            }
        }
    }

    private static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }
}

// The C calls, outside `CLI` whose own `read` and `write` would shadow them.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}

private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
