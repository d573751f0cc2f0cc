// ergo-bench: Ergo's Swift-level benchmarks, printing the lines of
// BENCHMARKS.md with system `ergo-swift`.
//
// Usage: ergo-bench [--corpus DIR] [--files a,b,...] [--list] [B<k> ...]
//   B<k> ...   workloads to run (default: every one implemented here);
//              workloads not implemented yet print nothing
//   --corpus   B8's corpus folder (default: the project's Tests/ErgoTests/Fixtures)
//   --files    B8's files, without .etf (default: all six)
//   --list     print the implemented workloads and exit
//        ergo-bench serve --name NODE --cookie C [--epmd-port P]
//              node B of the remote workloads (B3 B4 B6 B7 B10 start it
//              themselves); exits when its standard input closes
//   --timeout S
//              process and remote workloads: a run that takes longer than S seconds
//              (default 120) prints a FAILED line and ends its workload
//   --fixed N --op decode|encode
//              B8 only: exactly N operations per file, untimed, no figures
//              (a repeatable load for profilers such as callgrind)

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Config {
    var corpus: String
    var files: [String] = []
    var fixed = 0
    var op = "decode"
}

/// The implemented workloads, in the order they run.
let workloads: [(id: String, run: (Config) async -> Void)] = [
    ("B1", { _ in await B1LocalCall.runSeq() }),
    ("B2", { _ in await B1LocalCall.runPar() }),
    ("B3", { _ in await RemoteBench.runB3() }),
    ("B4", { _ in await RemoteBench.runB4() }),
    ("B5", { _ in await B5LocalSend.run() }),
    ("B6", { _ in await RemoteBench.runB6() }),
    ("B7", { _ in await RemoteBench.runB7() }),
    ("B8", { B8Codec.run(corpus: $0.corpus, files: $0.files, fixed: $0.fixed, op: $0.op) }),
    ("B9", { _ in await B9Spawn.run() }),
    ("B10", { _ in await RemoteBench.runB10() }),
]

/// The project root, from this file's place in bench/swift/Sources/ErgoBench.
func projectRoot(_ file: String = #filePath) -> String {
    var parts = file.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(5)
    return parts.joined(separator: "/")
}

func usage() -> Never {
    warn("usage: ergo-bench [--corpus DIR] [--files a,b,...] [--list] [--timeout S] [--fixed N --op decode|encode] [B<k> ...]")
    exit(2)
}

// Node B of the remote workloads: this program re-executed by itself.
if CommandLine.arguments.count > 1 && CommandLine.arguments[1] == "serve" {
    await serveMain(Array(CommandLine.arguments.dropFirst(2)))
}

var config = Config(corpus: projectRoot() + "/Tests/ErgoTests/Fixtures")
var selected: [String] = []
var args = CommandLine.arguments.dropFirst()
while let arg = args.popFirst() {
    switch arg {
    case "--corpus":
        guard let v = args.popFirst() else { usage() }
        config.corpus = v
    case "--files":
        guard let v = args.popFirst() else { usage() }
        config.files = v.split(separator: ",").map(String.init)
    case "--fixed":
        guard let v = args.popFirst(), let n = Int(v), n > 0 else { usage() }
        config.fixed = n
    case "--op":
        guard let v = args.popFirst(), v == "decode" || v == "encode" else { usage() }
        config.op = v
    case "--timeout":
        guard let v = args.popFirst(), let s = Double(v), s > 0 else { usage() }
        watchdogSeconds = s
    case "--list":
        print(workloads.map(\.id).joined(separator: " "))
        exit(0)
    default:
        let id = arg.uppercased()
        guard id.hasPrefix("B"), let k = Int(id.dropFirst()), (0...11).contains(k) else { usage() }
        selected.append("B\(k)")
    }
}

for (id, run) in workloads where selected.isEmpty || selected.contains(id) {
    await run(config)
}
await RemoteBench.tearDown()
for id in selected where !workloads.contains(where: { $0.id == id }) {
    warn("ergo-bench: \(id) is not implemented at the Swift level yet")
}
warn("(sink \(sink))")
