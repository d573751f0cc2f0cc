import ArgumentParser
import Ergo
import Logging

/// `ergo ping NODE`: net_adm:ping from a hidden node with a generated name.
struct PingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ping",
        abstract: "Ping a node as net_adm:ping does: prints pong (status 0) or pang (status 1)."
    )

    @Argument(help: "The node, NAME@HOST.")
    var target: String

    @Option(help: "The cookie (default: ~/.erlang.cookie).")
    var cookie: String?

    func run() async throws {
        var logger = Logger(label: "ergo")
        logger.logLevel = .error
        let host = target.split(separator: "@").dropFirst().first.map(String.init) ?? ""
        guard !host.isEmpty, !target.hasPrefix("@") else {
            throw CLI.fail("\(target) is not a node name (NAME@HOST)", status: .validationFailure)
        }
        let me = "ergo_ping_\(UInt32.random(in: 0...UInt32.max))@\(host)"
        let node = Node(name: me, cookie: cookie ?? "", schedulers: 1, logger: logger)
        var options = DistributionOptions(cookie: cookie)
        options.hidden = true
        do {
            try await node.startDistribution(options)
        } catch {
            await node.stop()
            throw CLI.fail("cannot start distribution: \(error)", status: ExitCode(69))
        }
        let pong = await node.ping(Atom(target))
        await node.stop()
        print(pong ? "pong" : "pang")
        if !pong { throw ExitCode(1) }
    }
}
