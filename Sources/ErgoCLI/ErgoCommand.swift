import ArgumentParser
import Ergo

@main
struct ErgoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ergo",
        abstract: "Ergo for Swift: an Erlang/OTP-compatible node and term tools.",
        subcommands: [NodeCommand.self, PingCommand.self, TermCommand.self]
    )
}
