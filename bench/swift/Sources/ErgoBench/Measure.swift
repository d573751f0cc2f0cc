#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The method of BENCHMARKS.md: a run repeats the workload until at least
/// ``minSeconds`` have passed; the figure is the median of ``runs`` runs, and
/// each run is printed on a `#` line.
enum Method {
    static let runs = 3
    static let minSeconds = 1.0
    /// The clock is read once per batch of operations lasting about this long.
    static let batchSeconds = 0.005
}

/// Seconds on a monotonic clock.
@inline(__always)
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Operations per second of `batch`, which performs the number of operations
/// it is given: one calibration (that also warms up), then ``Method/runs``
/// runs of at least ``Method/minSeconds`` each.
func measureRates(_ batch: (Int) throws -> Void) rethrows -> [Double] {
    var n = 1
    var perBatch = 1
    while true {
        let t0 = now()
        try batch(n)
        let dt = now() - t0
        if dt >= Method.batchSeconds || n >= 1 << 40 {
            let perOp = dt / Double(n)
            perBatch = perOp > 0 ? max(1, Int(Method.batchSeconds / perOp)) : n
            break
        }
        n *= 2
    }
    var rates: [Double] = []
    for _ in 0..<Method.runs {
        var done = 0
        let t0 = now()
        var dt = 0.0
        repeat {
            try batch(perBatch)
            done += perBatch
            dt = now() - t0
        } while dt < Method.minSeconds
        rates.append(Double(done) / dt)
    }
    return rates
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s[(s.count - 1) / 2]
}

/// As the other benchmark programs print figures: whole numbers from 1000
/// up, one decimal below.
func format(_ v: Double) -> String {
    if !v.isFinite { return "\(v)" }
    if v >= 1000 { return String(Int64(v.rounded())) }
    let tenths = Int64((v * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}

/// Prints one line and flushes, so lines interleave correctly with other
/// programs writing to the same pipe.
func emit(_ line: String) {
    print(line)
    fflush(nil)
}

/// Writes to standard error (notes that are not figures).
func warn(_ text: String) {
    var t = text + "\n"
    t.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// The system name on every line this program prints.
let system = "ergo-swift"

/// Results are folded in here so that no operation can be optimised away.
nonisolated(unsafe) var sink = 0
