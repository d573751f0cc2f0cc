import Foundation
import Testing
import Ergo

/// Thousands of random terms made by Erlang (`Erlang/etf_gen.erl`: every kind
/// of term, nesting to depth 45, atoms of 255 characters, bignums of
/// thousands of digits, subnormal floats and -0.0, hash maps, funs, pids,
/// ports and references of other nodes) go through Ergo's codec and back:
/// - re-encoding gives Erlang's bytes exactly (so -0.0 stays -0.0 and maps
///   keep their order; comparing terms alone would miss both);
/// - Erlang decodes Ergo's bytes, plain and compressed, to the same terms;
/// - the compressed and legacy (`minor_version 0`) forms decode to the same terms;
/// - printed terms parse back, and print as Erlang prints them.
///
/// `ERGO_PROPERTY_SEED` and `ERGO_PROPERTY_COUNT` change the seed (default
/// 20251126) and the number of random terms (default 3000; about 320 fixed
/// boundary terms come first). A failure names the seed and the first few
/// terms as Erlang prints them (`ERGO_PROPERTY_SHOW=N` shows N). Without `erl` the tests are skipped, except
/// under CI=true, where that is a failure (`ErlangAvailability.swift`).
@Suite struct PropertyInteropTests {
    @Test func reencodingGivesErlangsBytes() throws {
        let corpus = try InteropCorpus.get()
        let failures = corpus.failures { i, original, failures in
            let ours = try ETF.encode(try ETF.decode(original))
            if ours != original {
                failures.append(corpus.report(i, "re-encoded to other bytes", ours: ours))
            }
        }
        corpus.expectNone(failures, "plain terms that do not re-encode to Erlang's bytes")
    }

    @Test func erlangDecodesOurBytes() throws {
        let corpus = try InteropCorpus.get()
        var plain: [[UInt8]] = []
        var compressed: [[UInt8]] = []
        for original in corpus.plain {
            let term = try ETF.decode(original)
            plain.append(try ETF.encode(term))
            compressed.append(try ETF.encode(term, options: .init(compressionLevel: 6)))
        }
        let fm = FileManager.default
        let directory = fm.temporaryDirectory.appendingPathComponent("ergo-verify-\(UUID().uuidString)")
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        defer {
            try? fm.removeItem(at: directory)
            // The last use of the compiled etf_gen.
            try? fm.removeItem(at: corpus.beamDirectory)
        }
        let original = directory.appendingPathComponent("plain.etfs")
        let ours = directory.appendingPathComponent("ours.etfs")
        let oursCompressed = directory.appendingPathComponent("ours-compressed.etfs")
        try InteropCorpus.writeRecords(corpus.plain, to: original)
        try InteropCorpus.writeRecords(plain, to: ours)
        try InteropCorpus.writeRecords(compressed, to: oursCompressed)
        // Erlang checks binary_to_term(Ours) =:= binary_to_term(Original) for
        // every record, and byte equality for the plain ones.
        let run = try corpus.erlang("verify", [original.path, ours.path, "exact",
                                               original.path, oursCompressed.path, "term"])
        #expect(run.status == 0, "Erlang refused our bytes (seed \(corpus.seed)):\n\(run.stdoutText)\(run.stderrText)")
    }

    @Test func compressedAndLegacyFormsDecodeToTheSameTerms() throws {
        let corpus = try InteropCorpus.get()
        var compressedCount = 0
        let failures = corpus.failures { i, plain, failures in
            let term = try ETF.decode(plain)
            if corpus.compressed[i].count > 1, corpus.compressed[i][1] == 80 { compressedCount += 1 }
            for (form, bytes) in [("compressed form", corpus.compressed[i]), ("minor_version 0 form", corpus.legacy[i])] {
                let decoded = try ETF.decode(bytes)
                if !TermIdentity.same(decoded, term) {
                    failures.append(corpus.report(i, "\(form) decodes to \(decoded.description.prefix(300))"))
                }
            }
        }
        #expect(compressedCount > corpus.plain.count / 4, "few terms were compressed: \(compressedCount)")
        corpus.expectNone(failures, "compressed or legacy forms that decode differently")
    }

    @Test func printedTermsParseBack() throws {
        let corpus = try InteropCorpus.get()
        var checked = 0
        let failures = corpus.failures { i, bytes, failures in
            let term = try ETF.decode(bytes)
            // Local funs, and pids, ports and references made by a node with
            // a creation number, print without part of their value.
            guard !TermIdentity.containsOpaqueValue(term) else { return }
            checked += 1
            let text = term.description
            do {
                let parsed = try Term(parsing: text)
                if !TermIdentity.same(parsed, term) {
                    failures.append(corpus.report(i, "printed as \(text.prefix(300)), parses to \(parsed.description.prefix(300))"))
                }
            } catch {
                failures.append(corpus.report(i, "printed as \(text.prefix(300)), does not parse: \(error)"))
            }
        }
        #expect(checked > corpus.plain.count / 3, "too few terms without funs and remote identifiers: \(checked)")
        corpus.expectNone(failures, "printed terms that do not parse back to the same term")
    }

    @Test func termsPrintAsErlangPrintsThem() throws {
        let corpus = try InteropCorpus.get()
        var checked = 0
        let failures = corpus.failures { i, bytes, failures in
            let term = try ETF.decode(bytes)
            // Left out, where Ergo cannot or should not print Erlang's text:
            // - another node's pid, which Erlang prints as <Index.Id.Serial>
            //   with an index only that runtime knows (Ergo names the node);
            // - a map of more than 32 keys, which Erlang prints in its hash
            //   order, different in each runtime (Ergo keeps the wire order);
            // - `fun M:F/A` with non-ASCII names, which OTP 25 prints as
            //   Latin-1 mojibake (fun m:'fÃ¼n'/1).
            guard !TermIdentity.containsRemoteIdentifier(term), !TermIdentity.containsHashMap(term),
                  !TermIdentity.containsNonASCIIExport(term)
            else { return }
            checked += 1
            let ours = term.description
            if ours != corpus.printed[i] {
                failures.append(corpus.report(i, "Ergo prints \(ours.prefix(300))"))
            }
        }
        #expect(checked > corpus.plain.count / 3, "too few terms without remote identifiers and hash maps: \(checked)")
        corpus.expectNone(failures, "terms Ergo prints differently from io_lib:format(\"~0tp\")")
    }
}

/// The terms etf_gen.erl wrote, made once per test run (in a temporary
/// directory that is removed once the files are read).
struct InteropCorpus: Sendable {
    let seed: Int
    let erlang: ErlangInstallation
    /// The compiled etf_gen (removed by erlangDecodesOurBytes, its last user).
    let beamDirectory: URL
    /// term_to_binary(T, [{minor_version, 2}])
    let plain: [[UInt8]]
    /// term_to_binary(T, [{compressed, 1..9}, {minor_version, 2}])
    let compressed: [[UInt8]]
    /// term_to_binary(T, [{minor_version, 0}])
    let legacy: [[UInt8]]
    /// io_lib:format("~0tp", [T]) in a runtime started with +pc unicode.
    let printed: [String]

    private static let shared = Result { try InteropCorpus.make() }

    /// The corpus; the running test is skipped without Erlang (a failure under CI=true).
    static func get(sourceLocation: SourceLocation = #_sourceLocation) throws -> InteropCorpus {
        _ = try erlangOrSkip(sourceLocation: sourceLocation)
        return try shared.get()
    }

    private static func make() throws -> InteropCorpus {
        let environment = ProcessInfo.processInfo.environment
        let seed = environment["ERGO_PROPERTY_SEED"].flatMap { Int($0) } ?? 20_251_126
        let count = environment["ERGO_PROPERTY_COUNT"].flatMap { Int($0) } ?? 3000
        guard let erlang = ErlangInstallation.find() else { throw ErlangUnavailable() }
        let beams = try erlang.compile("etf_gen")
        let fm = FileManager.default
        let directory = fm.temporaryDirectory.appendingPathComponent("ergo-property-\(UUID().uuidString)")
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: directory) }
        let generate = try erlang.call("etf_gen", "generate", [String(seed), String(count), directory.path],
                                       codePath: beams)
        guard generate.status == 0 else {
            throw InteropError("etf_gen generate failed (status \(generate.status)):\n\(generate.stdoutText)\(generate.stderrText)")
        }
        func records(_ name: String) throws -> [[UInt8]] {
            try readRecords(directory.appendingPathComponent(name))
        }
        let corpus = InteropCorpus(seed: seed, erlang: erlang, beamDirectory: beams,
                                   plain: try records("plain.etfs"),
                                   compressed: try records("compressed.etfs"),
                                   legacy: try records("legacy.etfs"),
                                   printed: try records("printed.etfs").map { String(decoding: $0, as: UTF8.self) })
        let n = corpus.plain.count
        guard n >= count, corpus.compressed.count == n, corpus.legacy.count == n, corpus.printed.count == n else {
            throw InteropError("etf_gen wrote \(n) terms, expected at least \(count) in each file")
        }
        return corpus
    }

    /// Runs an etf_gen entry point in a fresh runtime.
    func erlang(_ function: String, _ arguments: [String]) throws -> CommandOutput {
        try erlang.call("etf_gen", function, arguments, codePath: beamDirectory)
    }

    /// A failure line for record `index`: the term as Erlang printed it.
    func report(_ index: Int, _ problem: String, ours: [UInt8]? = nil) -> String {
        var line = "#\(index) \(printed[index].prefix(300)): \(problem)"
        if let ours {
            let original = plain[index]
            let at = firstDifference(original, ours)
            line += " (\(original.count) vs \(ours.count) bytes, first difference at byte \(at):"
                + " Erlang \(original[at..<min(at + 12, original.count)].map(String.init))"
                + " ours \(ours[at..<min(at + 12, ours.count)].map(String.init)))"
        }
        return line
    }

    /// The failure lines `check` appends for the plain terms (it gets each
    /// one's index and bytes); an error it throws is a failure line too.
    func failures(_ check: (_ index: Int, _ bytes: [UInt8], _ failures: inout [String]) throws -> Void) -> [String] {
        var failures: [String] = []
        for (i, bytes) in plain.enumerated() {
            do {
                try check(i, bytes, &failures)
            } catch {
                failures.append(report(i, "\(error)"))
            }
        }
        return failures
    }

    func expectNone(_ failures: [String], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard !failures.isEmpty else { return }
        let text = "\(failures.count) \(what) (seed \(seed), \(plain.count) terms); the first:\n"
            + failures.prefix(Int(ProcessInfo.processInfo.environment["ERGO_PROPERTY_SHOW"] ?? "") ?? 5).joined(separator: "\n")
        Issue.record(Comment(rawValue: text), sourceLocation: sourceLocation)
    }

    static func readRecords(_ url: URL) throws -> [[UInt8]] {
        let data = [UInt8](try Data(contentsOf: url))
        var records: [[UInt8]] = []
        var i = 0
        while i + 4 <= data.count {
            let n = data[i..<i + 4].reduce(0) { $0 << 8 | Int($1) }
            guard i + 4 + n <= data.count else { throw InteropError("\(url.lastPathComponent): truncated record") }
            records.append(Array(data[i + 4..<i + 4 + n]))
            i += 4 + n
        }
        return records
    }

    static func writeRecords(_ records: [[UInt8]], to url: URL) throws {
        var data: [UInt8] = []
        for r in records {
            let n = UInt32(r.count)
            data += [UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8),
                     UInt8(truncatingIfNeeded: n)]
            data += r
        }
        try Data(data).write(to: url)
    }
}

/// The first index where `a` and `b` differ (the shorter count if one is a
/// prefix of the other).
func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> Int {
    zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
}

struct InteropError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Term comparison stricter than `==`: floats by bit pattern (so -0.0 is not
/// 0.0) all the way down; maps still compare in any order.
enum TermIdentity {
    static func same(_ a: Term, _ b: Term) -> Bool {
        switch (a, b) {
        case let (.float(x), .float(y)):
            return x.bitPattern == y.bitPattern
        case let (.tuple(x), .tuple(y)), let (.list(x), .list(y)):
            return same(x, y)
        case let (.improperList(x, xt), .improperList(y, yt)):
            return same(x, y) && same(xt, yt)
        case let (.map(x), .map(y)):
            guard x.count == y.count else { return false }
            return x.allSatisfy { e in y[e.key].map { same($0, e.value) } ?? false }
        case let (.fun(x), .fun(y)):
            return x.module == y.module && x.arity == y.arity && x.uniq == y.uniq && x.index == y.index
                && x.oldIndex == y.oldIndex && x.oldUniq == y.oldUniq && x.pid == y.pid
                && same(x.freeVariables, y.freeVariables)
        default:
            return a == b
        }
    }

    static func same(_ x: [Term], _ y: [Term]) -> Bool {
        x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
    }

    /// Whether the term holds a value its printed form does not carry whole:
    /// a local fun (its code hash), or a pid, port or reference with a
    /// creation number other than 0.
    static func containsOpaqueValue(_ term: Term) -> Bool {
        contains(term) {
            switch $0 {
            case .fun: return true
            case let .pid(p): return p.creation != 0
            case let .port(p): return p.creation != 0
            case let .ref(r): return r.creation != 0
            default: return false
            }
        }
    }

    /// Whether the term holds a pid, port or reference of a node other than
    /// `nonode@nohost` (a local fun holds its creator's pid).
    static func containsRemoteIdentifier(_ term: Term) -> Bool {
        contains(term) {
            switch $0 {
            case let .pid(p): return p.node != .nonode
            case let .port(p): return p.node != .nonode
            case let .ref(r): return r.node != .nonode
            case let .fun(f): return f.pid.node != .nonode
            default: return false
            }
        }
    }

    /// Whether the term holds a map of more than 32 keys (a hash map in ERTS).
    static func containsHashMap(_ term: Term) -> Bool {
        contains(term) {
            if case let .map(m) = $0 { return m.count > 32 }
            return false
        }
    }

    /// Whether the term holds `fun M:F/A` with a non-ASCII module or function name.
    static func containsNonASCIIExport(_ term: Term) -> Bool {
        contains(term) {
            if case let .export(e) = $0 { return !(e.module.name + e.function.name).utf8.allSatisfy { $0 < 128 } }
            return false
        }
    }

    static func contains(_ term: Term, where match: (Term) -> Bool) -> Bool {
        if match(term) { return true }
        switch term {
        case let .tuple(e), let .list(e):
            return e.contains { contains($0, where: match) }
        case let .improperList(e, tail):
            return e.contains { contains($0, where: match) } || contains(tail, where: match)
        case let .map(m):
            return m.contains { contains($0.key, where: match) || contains($0.value, where: match) }
        case let .fun(f):
            return f.freeVariables.contains { contains($0, where: match) }
        default:
            return false
        }
    }
}
