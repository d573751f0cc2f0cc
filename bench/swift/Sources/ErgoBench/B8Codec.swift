import Ergo

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// B8 etf-codec at the Swift API level: for each corpus file,
///   decode = bytes -> `Term` with one reused `ETFCodec`,
///   encode = that `Term` -> bytes with the same codec,
/// in MB/s of external-format bytes (the file size, version byte included;
/// MB = 10^6 bytes). Before timing, the encoding is checked against the file.
enum B8Codec {
    static let defaultFiles = ["small", "rpc", "list1000", "map100", "nested", "bin1m"]

    static func run(corpus: String, files: [String], fixed: Int = 0, op: String = "decode") {
        for name in files.isEmpty ? defaultFiles : files {
            if fixed > 0 {
                runFixed(corpus: corpus, name: name, iterations: fixed, op: op)
            } else {
                runFile(corpus: corpus, name: name)
            }
        }
    }

    /// `iterations` operations, untimed: a repeatable load for profilers.
    static func runFixed(corpus: String, name: String, iterations: Int, op: String) {
        guard let bytes = readFile("\(corpus)/\(name).etf") else {
            emit("# \(name): cannot read the file")
            return
        }
        let codec = ETFCodec(decodeOptions: .init(), encodeOptions: .init())
        do {
            let term = try codec.decode(bytes)
            var acc = 0
            for _ in 0..<iterations {
                if op == "encode" {
                    acc &+= try codec.encode(term).count
                } else {
                    acc &+= shape(try codec.decode(bytes))
                }
            }
            sink &+= acc
            emit("# B8 \(name): \(iterations) fixed \(op) operations")
        } catch {
            emit("# B8 \(name): failed: \(error)")
        }
    }

    static func line(_ name: String, _ op: String) -> String { "B8 etf-codec/\(name)/\(op) \(system)" }

    static func runFile(corpus: String, name: String) {
        let path = "\(corpus)/\(name).etf"
        guard let bytes = readFile(path) else {
            emit("\(line(name, "decode")) FAILED cannot read \(path)")
            emit("\(line(name, "encode")) FAILED cannot read \(path)")
            return
        }
        let codec = ETFCodec(decodeOptions: .init(), encodeOptions: .init())

        let term: Term
        do {
            term = try codec.decode(bytes)
        } catch {
            emit("\(line(name, "decode")) FAILED \(error)")
            emit("\(line(name, "encode")) FAILED the file does not decode")
            return
        }

        // decode
        do {
            let rates = try measureRates { (n: Int) throws(TermError) in
                var acc = 0
                for _ in 0..<n { acc &+= shape(try codec.decode(bytes)) }
                sink &+= acc
            }
            report(name, "decode", rates: rates, bytes: bytes.count)
        } catch {
            emit("\(line(name, "decode")) FAILED \(error)")
        }

        // encode: checked once against the file first
        let encoded: [UInt8]
        do {
            encoded = try codec.encode(term)
        } catch {
            emit("\(line(name, "encode")) FAILED \(error)")
            return
        }
        if encoded != bytes {
            let at = zip(encoded, bytes).prefix(while: { $0 == $1 }).count
            let roundTrips = (try? codec.decode(encoded)) == term
            let what = "differs from the file (\(encoded.count) vs \(bytes.count) bytes, first difference at byte \(at))"
            if encoded.count != bytes.count || !roundTrips {
                emit("\(line(name, "encode")) FAILED output \(what)\(roundTrips ? "" : " and does not decode to the same term")")
                return
            }
            emit("# note: \(name) encoded by ergo-swift \(what), same size, decodes to the same term")
        }
        do {
            let rates = try measureRates { (n: Int) throws(TermError) in
                var acc = 0
                for _ in 0..<n { acc &+= try codec.encode(term).count }
                sink &+= acc
            }
            report(name, "encode", rates: rates, bytes: bytes.count)
        } catch {
            emit("\(line(name, "encode")) FAILED \(error)")
        }
    }

    static func report(_ name: String, _ op: String, rates: [Double], bytes: Int) {
        let mb = Double(bytes) / 1e6
        emit("# \(line(name, op)) runs (MB/s): " + rates.map { format($0 * mb) }.joined(separator: " "))
        let m = median(rates)
        emit("\(line(name, op)) \(format(m * mb)) MB/s \(format(m)) terms/s (\(bytes) bytes)")
    }

    /// Something cheap that depends on the decoded term.
    @inline(__always)
    static func shape(_ t: Term) -> Int {
        switch t {
        case let .tuple(e): return e.count
        case let .list(e): return e.count &+ 1
        case let .map(m): return m.count &+ 2
        case let .binary(b): return b.count &+ 3
        default: return 4
        }
    }

    static func readFile(_ path: String) -> [UInt8]? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return ferror(f) == 0 ? out : nil
    }
}
