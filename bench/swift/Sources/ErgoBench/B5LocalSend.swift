import Ergo

/// B5 local-send, as anchors_bench.erl measures it (b5/0, send_bench/2):
/// the driver process spawns a receiver, then (clock on) sends it 1,000,000
/// times the same term `{msg, 123, <<"hello">>}` and waits for the
/// receiver's `{counted, Receiver}`, sent once it has received that many
/// messages matching `{msg, _, _}` (a selective receive, as Erlang's). Clock
/// off. A run shorter than ``Method/minSeconds`` repeats with a fresh
/// receiver until it has lasted that long; msgs/s over the whole run.
/// Then, as Erlang's script does, one run of 10,000,000 messages as a check,
/// and one run (of at least ``Method/minSeconds``) where the receiver takes
/// each message with a plain `receive()` instead of a selective one, as a
/// '#' line: Ergo has a fast path for that case.
enum B5LocalSend {
    static let messages = 1_000_000
    static let checkMessages = 10 * messages

    static func run() async {
        await runRateWorkload("B5", "local-send", "msgs/s", { node in
            try await sendRun(node, messages, repeatUntilMinimum: true)
        }, after: { node in
            switch await watched({ try await sendRun(node, checkMessages, repeatUntilMinimum: false) }) {
            case .done(let rate): emit("# B5 check with N=\(checkMessages): \(format(rate)) msgs/s")
            case .failed(let why): emit("# B5 check with N=\(checkMessages): failed: \(why)")
            case .timedOut(let s): emit("# B5 check with N=\(checkMessages): timed out after \(format(s)) s")
            }
            let plain = "# B5 with a plain receive() in the receiver (not what Erlang's script does)"
            switch await watched({ try await sendRun(node, messages, repeatUntilMinimum: true, selective: false) }) {
            case .done(let rate): emit("\(plain): \(format(rate)) msgs/s")
            case .failed(let why): emit("\(plain): failed: \(why)")
            case .timedOut(let s): emit("\(plain): timed out after \(format(s)) s")
            }
        })
    }

    /// One run: msgs/s.
    static func sendRun(_ node: Node, _ n: Int, repeatUntilMinimum: Bool,
                        selective: Bool = true) async throws -> Double {
        try await node.withProcess { driver in
            let me = driver.pid
            let message: Term = .tuple([.atom("msg"), .int(123), .string("hello")])
            let countedAtom = Atom("counted")
            var sent = 0
            var elapsed = 0.0
            repeat {
                let receiver = try driver.spawn { process in
                    let msg = Atom("msg")
                    if selective {
                        for _ in 0..<n {
                            _ = try await process.receive { term -> Void? in
                                guard case .tuple(let e) = term, e.count == 3, case .atom(msg) = e[0] else { return nil }
                                return ()
                            }
                        }
                    } else {
                        for _ in 0..<n { _ = try await process.receive() }
                    }
                    process.send(to: me, .tuple([.atom(countedAtom), .pid(process.pid)]))
                }
                let t0 = now()
                for _ in 0..<n { driver.send(to: receiver, message) }
                try await driver.awaitReport(countedAtom, from: receiver)
                elapsed += now() - t0
                sent += n
            } while repeatUntilMinimum && elapsed < Method.minSeconds
            return Double(sent) / elapsed
        }
    }
}
