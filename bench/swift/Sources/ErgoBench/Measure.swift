import Ergo
import Logging
import Synchronization

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

// MARK: process workloads (B1, B2, B5, B9)

/// How long one run of a process workload may take before it counts as hung.
nonisolated(unsafe) var watchdogSeconds = 120.0

/// What a watched run came to.
enum Watched<T: Sendable>: Sendable {
    case done(T)
    case failed(String)
    /// The watchdog fired; the run was abandoned (its node is left as it is).
    case timedOut(Double)
}

/// Runs `body` as a task, waiting at most ``watchdogSeconds``: a run that
/// hangs becomes `.timedOut` instead of hanging the program.
func watched<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async -> Watched<T> {
    let slot = WatchSlot<T>()
    let seconds = watchdogSeconds
    return await withCheckedContinuation { (c: CheckedContinuation<Watched<T>, Never>) in
        slot.set(c)
        let timer = Task {
            try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
            slot.finish(.timedOut(seconds))
        }
        Task {
            do {
                slot.finish(.done(try await body()))
            } catch {
                slot.finish(.failed("\(error)"))
            }
            timer.cancel()
        }
    }
}

/// The continuation `watched` resumes once, from whichever side comes first.
final class WatchSlot<T: Sendable>: Sendable {
    private let state = Mutex<CheckedContinuation<Watched<T>, Never>?>(nil)
    func set(_ c: CheckedContinuation<Watched<T>, Never>) { state.withLock { $0 = c } }
    func finish(_ outcome: Watched<T>) {
        state.withLock { $0.take() }?.resume(returning: outcome)
    }
}

/// A node for a workload (one scheduler thread per CPU); its log lines go to
/// standard error once ``routeLogsToStandardErrorOnce()`` has run.
func benchNode() -> Node {
    Node(name: "bench@localhost", schedulers: nil)
}

/// swift-log's default handler writes to standard output, which the figures
/// own: the nodes log to standard error instead, warnings and worse only.
func routeLogsToStandardErrorOnce() {
    if logsRouted { return }
    logsRouted = true
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = .warning
        return handler
    }
}

nonisolated(unsafe) private var logsRouted = false

/// Resident memory of this OS process in bytes (/proc/self/statm: the
/// second field, in pages); -1 if it cannot be read.
func residentBytes() -> Int {
    guard let f = fopen("/proc/self/statm", "r") else { return -1 }
    defer { fclose(f) }
    var line = [CChar](repeating: 0, count: 256)
    guard fgets(&line, Int32(line.count), f) != nil else { return -1 }
    let fields = line.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }.split(separator: " ")
    guard fields.count >= 2, let pages = Int(fields[1]) else { return -1 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Gives the memory malloc holds but does not use back to the system, so
/// that resident memory follows what is allocated (Erlang's measurement
/// garbage-collects first for the same reason).
func trimMalloc() {
    // glibc's malloc_trim, which the Glibc module does not bring in.
    typealias MallocTrim = @convention(c) (Int) -> Int32
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
    _ = unsafeBitCast(symbol, to: MallocTrim.self)(0)
}

/// A workload's '#' runs line and its figure line (the median of `rates`).
func reportRates(_ id: String, _ name: String, _ unit: String, _ rates: [Double]) {
    emit("# \(id) runs: " + rates.map(format).joined(separator: " "))
    emit("\(id) \(name) \(system) \(format(median(rates))) \(unit)")
}

/// Why a run failed, as a FAILED line.
func failedLine<T>(_ id: String, _ name: String, _ outcome: Watched<T>, run: Int) -> String? {
    switch outcome {
    case .done: return nil
    case .failed(let why): return "\(id) \(name) \(system) FAILED run \(run): \(why)"
    case .timedOut(let s): return "\(id) \(name) \(system) FAILED run \(run) timed out after \(format(s)) s"
    }
}

/// Runs a rate workload on a node of its own: ``Method/runs`` runs of `run`
/// (each watched, each returning a rate), then the '#' runs line and the
/// figure line. A failed or hung run prints a FAILED line instead and ends
/// the workload. `after` runs on the node before it stops, when all went well.
func runRateWorkload(_ id: String, _ name: String, _ unit: String,
                     _ run: @escaping @Sendable (Node) async throws -> Double,
                     after: (Node) async -> Void = { _ in }) async {
    routeLogsToStandardErrorOnce()
    let node = benchNode()
    var rates: [Double] = []
    for k in 1...Method.runs {
        let outcome = await watched { try await run(node) }
        if let failed = failedLine(id, name, outcome, run: k) {
            emit(failed)
            if case .failed = outcome { await node.stop() }
            return
        }
        if case .done(let rate) = outcome { rates.append(rate) }
    }
    reportRates(id, name, unit, rates)
    await after(node)
    await node.stop()
}

/// Thrown by a workload that sees something other than what it expects.
struct Unexpected: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension ProcessContext {
    /// Waits for `{tag, pid}`: a worker telling the driver it is done.
    func awaitReport(_ tag: Atom, from pid: PID) async throws {
        _ = try await receive { message -> Void? in
            guard case .tuple(let e) = message, e.count == 2, case .atom(tag) = e[0], e[1] == .pid(pid) else { return nil }
            return ()
        }
    }
}
