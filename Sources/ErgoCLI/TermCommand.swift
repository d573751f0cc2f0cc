import ArgumentParser
import Ergo

/// `ergo term`: the verbs that turn Erlang terms into ETF bytes and back.
struct TermCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "term",
        abstract: "Print, encode and decode Erlang terms.",
        discussion: """
            Terms are written in Erlang syntax, as in the Erlang shell: \
            {ok, [1,2,3]}, #{name => <<"ergo">>}, 'Quoted atom', "a string". \
            Bytes are the External Term Format of term_to_binary/1, starting with 131.

            Exit status: 0 on success, 64 for a usage error, 65 when the input \
            is not a valid term (bad syntax, corrupt bytes), 66 when the input \
            cannot be read, 73 when the output cannot be written.
            """,
        subcommands: [PrintTerm.self, EncodeTerm.self, TermBytes.self]
    )
}

/// `ergo term print FILE`: decode ETF bytes and print the term in Erlang syntax.
struct PrintTerm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "print",
        abstract: "Decode ETF bytes and print the term in Erlang syntax, on one line.",
        discussion: """
            The bytes may be compressed (term_to_binary(T, [compressed])). \
            Corrupt input is reported with the error and the byte offset where \
            decoding stopped.
            """
    )

    @Argument(help: ArgumentHelp("A file of ETF bytes, or - for standard input.", valueName: "file"))
    var file: String = "-"

    func run() throws {
        let bytes = try CLI.read(file)
        let term: Term
        do {
            term = try ETF.decode(bytes)
        } catch {
            throw CLI.fail("\(CLI.displayName(file)): \(error)", status: CLI.dataError)
        }
        try CLI.writeStandardOutput(Array((term.description + "\n").utf8))
    }
}

/// `ergo term encode 'TERM'`: parse Erlang syntax and write the ETF bytes.
struct EncodeTerm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Parse a term in Erlang syntax and write its ETF bytes.",
        discussion: """
            The bytes are those of term_to_binary(T, [{minor_version, 2}]), \
            or of term_to_binary(T, [{compressed, LEVEL}]) with --compressed. \
            Binary output is not written to a terminal: use -o, a pipe, or \
            `ergo term bytes` to see the bytes.
            """
    )

    @Argument(help: ArgumentHelp("The term, e.g. '{ok, [1,2,3]}', or - to read it from standard input.",
                                 valueName: "term"))
    var term: String

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the bytes to this file instead of standard output.",
                                                    valueName: "file"))
    var output: String?

    @Option(name: .customLong("compressed"),
            help: ArgumentHelp("Compress with zlib at this level (0-9); as in Erlang, a term that "
                                   + "does not get smaller stays plain.", valueName: "level"))
    var compressionLevel: Int?

    func validate() throws {
        try CLI.validate(compressionLevel: compressionLevel)
    }

    func run() throws {
        let bytes = try CLI.encode(try CLI.parse(term), compressionLevel: compressionLevel)
        if let output {
            try CLI.write(bytes, toFile: output)
        } else if CLI.standardOutputIsTerminal {
            throw CLI.fail("refusing to write binary ETF to a terminal; use -o FILE, a pipe, or `ergo term bytes`",
                           status: ExitCode.validationFailure)
        } else {
            try CLI.writeStandardOutput(bytes)
        }
    }
}

/// `ergo term bytes`: show ETF bytes as Erlang writes a binary, `<<131,...>>`.
struct TermBytes: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bytes",
        abstract: "Show the ETF bytes of a term (or of a file) as Erlang writes a binary: <<131,...>>.",
        discussion: """
            The output can be pasted into the Erlang shell: \
            binary_to_term(<<131,...>>) gives the term back.
            """
    )

    @Argument(help: ArgumentHelp("The term in Erlang syntax, or - to read it from standard input.",
                                 valueName: "term"))
    var term: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("Show the bytes of this file instead (- for standard input).",
                                                    valueName: "file"))
    var file: String?

    @Option(name: .customLong("compressed"),
            help: ArgumentHelp("Compress with zlib at this level (0-9).", valueName: "level"))
    var compressionLevel: Int?

    func validate() throws {
        switch (term, file) {
        case (nil, nil): throw ValidationError("Give a term, or a file with --file.")
        case (.some, .some): throw ValidationError("Give a term or --file, not both.")
        default: break
        }
        if file != nil, compressionLevel != nil {
            throw ValidationError("--compressed applies to a term, not to --file.")
        }
        try CLI.validate(compressionLevel: compressionLevel)
    }

    func run() throws {
        let bytes: [UInt8]
        if let file {
            bytes = try CLI.read(file)
        } else {
            bytes = try CLI.encode(try CLI.parse(term ?? "-"), compressionLevel: compressionLevel)
        }
        let text = "<<" + bytes.map { String($0) }.joined(separator: ",") + ">>\n"
        try CLI.writeStandardOutput(Array(text.utf8))
    }
}
