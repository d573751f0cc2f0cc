import Ergo

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// B9 spawn and spawn-mem, as anchors_bench.erl measures them (b9/0,
/// b9_once/0). A run, from a driver process on a fresh node:
///
/// 1. spawns 100,000 processes that each wait for one message (clock on for
///    the spawns only: spawns/s);
/// 2. waits until every one of them is parked in its receive (it asks each
///    for its `processInfo`, which a process answers from its receive), then
///    takes the growth of the OS process's resident memory
///    (/proc/self/statm) since before the spawns, divided by 100,000:
///    bytes/process. malloc's free memory is returned to the system
///    (malloc_trim) before both readings, as Erlang's script garbage-collects
///    before both of its readings, each reading waits until resident memory
///    stops moving (see ``settledResidentBytes(_:)``), and the driver's array of pids is
///    allocated and filled before the first one, as Erlang's script
///    subtracts the driver's own growth;
/// 3. (clock on) monitors them all, sends each `stop`, and waits for all
///    100,000 `'DOWN'` messages (clock off: exits/s, a '#' figure).
///
/// A run repeats this on its node until the spawns have taken
/// ``Method/minSeconds`` in all: spawns/s over all its rounds, and
/// bytes/process the median of its rounds' (the first round of a node also
/// pays for the growth of its process table, ~45 B/process; later ones find
/// it grown, as Erlang's preallocated process table is not in
/// `erlang:memory(processes)` either). Three runs, each on a fresh node;
/// each figure is the median of the three. (Erlang's script reports the run
/// with the median spawn rate; its memory figure hardly varies.)
enum B9Spawn {
    static let processes = 100_000

    /// Resident memory once it has settled: processes of an earlier round
    /// (or node) that have sent their 'DOWN' may still be freeing their
    /// memory on another thread. Trims malloc and reads until two readings
    /// 20 ms apart differ by less than 64 KiB (at most 1 s).
    static func settledResidentBytes(_ driver: ProcessContext) async throws -> Int {
        trimMalloc()
        var last = residentBytes()
        for _ in 0..<50 {
            _ = try await driver.receive(timeout: .milliseconds(20))
            trimMalloc()
            let rss = residentBytes()
            defer { last = rss }
            if abs(rss - last) < 64 << 10 { break }
        }
        guard last > 0 else { throw Unexpected("cannot read /proc/self/statm") }
        return last
    }

    /// One b9_once: 100,000 processes spawned, measured, stopped.
    struct Round: Sendable {
        var spawnSeconds: Double
        var bytesPerProcess: Double
        var infoEstimate: Int
        var exitSeconds: Double
        var barrierSeconds: Double
    }

    static func run() async {
        routeLogsToStandardErrorOnce()
        var runs: [(rate: Double, rounds: [Round])] = []
        for k in 1...Method.runs {
            let node = benchNode()
            let outcome = await watched { () async throws -> [Round] in
                var rounds: [Round] = []
                var spawnSeconds = 0.0
                repeat {
                    let round = try await once(node)
                    rounds.append(round)
                    spawnSeconds += round.spawnSeconds
                } while spawnSeconds < Method.minSeconds
                return rounds
            }
            switch outcome {
            case .done(let rounds):
                let seconds = rounds.reduce(0) { $0 + $1.spawnSeconds }
                runs.append((Double(rounds.count * processes) / seconds, rounds))
                await node.stop()
            default:
                for name in ["spawn", "spawn-mem"] {
                    emit(failedLine("B9", name, outcome, run: k)!)
                }
                if case .failed = outcome { await node.stop() }
                return
            }
        }
        for (k, run) in runs.enumerated() {
            let exits = run.rounds.map { Double(processes) / $0.exitSeconds }
            emit("# B9 run \(k + 1): \(format(run.rate)) spawns/s over \(run.rounds.count) rounds of \(processes)"
                + " (each: " + run.rounds.map { format(Double(processes) / $0.spawnSeconds) }.joined(separator: " ")
                + "); \(format(bytesPerProcess(run.rounds))) B/proc (resident memory delta, median of the rounds: "
                + run.rounds.map { format($0.bytesPerProcess) }.joined(separator: " ")
                + "), \(run.rounds[0].infoEstimate) B (processInfo estimate), exit "
                + "\(format(median(exits))) procs/s, all parked \(format(1000 * median(run.rounds.map(\.barrierSeconds)))) ms"
                + " after the last spawn")
        }
        emit("B9 spawn \(system) \(format(median(runs.map(\.rate)))) spawns/s")
        emit("B9 spawn-mem \(system) \(format(median(runs.map { bytesPerProcess($0.rounds) }))) "
            + "bytes/process (resident memory delta / N)")
    }

    /// A run's bytes/process: the median of its rounds' (one reading can be
    /// off by tens of MB when memory freed elsewhere moves the baseline).
    static func bytesPerProcess(_ rounds: [Round]) -> Double {
        median(rounds.map(\.bytesPerProcess))
    }

    static func once(_ node: Node) async throws -> Round {
        try await node.withProcess { driver in
            let n = processes
            var pids = [PID](repeating: driver.pid, count: n)
            let rss0 = try await settledResidentBytes(driver)

            let t0 = now()
            for i in 0..<n {
                pids[i] = try driver.spawn { process in _ = try await process.receive() }
            }
            let t1 = now()

            // Every process answers from its receive: then all are idle.
            var estimate = 0
            for pid in pids {
                guard let info = await driver.node.processInfo(pid) else {
                    throw Unexpected("process \(pid) is gone before it was told to stop")
                }
                estimate = info.memory
            }
            let t2 = now()
            let rss1 = try await settledResidentBytes(driver)

            // Stop them all; wait until every one has exited.
            let t3 = now()
            for pid in pids { driver.monitor(pid) }
            let stop = Term.atom("stop")
            for pid in pids { driver.send(to: pid, stop) }
            let down = Atom("DOWN")
            for _ in 0..<n {
                _ = try await driver.receive { term -> Void? in
                    guard case .tuple(let e) = term, e.count == 5, case .atom(down) = e[0] else { return nil }
                    return ()
                }
            }
            let t4 = now()
            return Round(spawnSeconds: t1 - t0,
                         bytesPerProcess: Double(rss1 - rss0) / Double(n),
                         infoEstimate: estimate,
                         exitSeconds: t4 - t3,
                         barrierSeconds: t2 - t1)
        }
    }
}
