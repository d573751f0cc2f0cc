import ArgumentParser
import Ergo
import ErgoDemo
import Logging
import ServiceLifecycle

/// `ergo node`: a node in the foreground hosting the demo application.
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run a node that hosts the demo application (demo_sup, echo) until SIGINT or SIGTERM."
    )

    @Option(name: .customLong("name"), help: "Long node name, as erl -name (NAME or NAME@HOST).")
    var longName: String?

    @Option(name: .customLong("sname"), help: "Short node name, as erl -sname (NAME or NAME@HOST).")
    var shortName: String?

    @Option(help: "The cookie (default: ~/.erlang.cookie, created if absent).")
    var cookie: String?

    @Option(help: "Port to listen on for other nodes (default: any).")
    var port: Int = 0

    @Flag(help: "Log every line, debug level included.")
    var verbose = false

    func validate() throws {
        if (longName == nil) == (shortName == nil) {
            throw ValidationError("Give exactly one of --name and --sname.")
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = verbose ? .debug : .info
            return handler
        }
        let nodeName: NodeName
        do {
            nodeName = try longName.map { try NodeName($0, kind: .long) } ?? NodeName(shortName!, kind: .short)
        } catch {
            throw CLI.fail("\(error)", status: .validationFailure)
        }
        let logger = Logger(label: "ergo")
        let node = try await Node.start(name: nodeName.description, cookie: cookie ?? "", logger: logger,
                                        applications: [DemoApplication.make()])
        var options = DistributionOptions(cookie: cookie)
        options.listenPort = port
        do {
            try await node.startDistribution(options)
        } catch {
            await node.stop()
            throw CLI.fail("cannot start distribution: \(error)", status: ExitCode(69))
        }
        let group = ServiceGroup(services: [NodeService(node: node)], gracefulShutdownSignals: [.sigterm, .sigint],
                                 logger: logger)
        try await group.run()
    }
}

/// The node as a service: runs until the node stops; a graceful shutdown
/// (SIGINT, SIGTERM) stops the node.
struct NodeService: Service {
    let node: Node

    func run() async throws {
        let node = self.node
        await withGracefulShutdownHandler {
            await node.waitUntilStopped()
        } onGracefulShutdown: {
            Task { await node.stop() }
        }
    }
}
