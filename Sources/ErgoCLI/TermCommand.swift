import ArgumentParser
import Ergo

struct TermCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "term",
        abstract: "Print, encode and decode Erlang terms.",
        subcommands: []
    )
}
