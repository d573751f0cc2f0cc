import Foundation
import Testing
import Ergo

/// The ETF files Erlang wrote (`Fixtures/`, copied from ../shared/testdata/etf)
/// decode, encode back to the same bytes, and print as Erlang prints them.
@Suite struct FixtureRoundTripTests {
    @Test func theFixturesAreThere() {
        #expect(FixtureFiles.names == ["bin1m.etf", "list1000.etf", "map100.etf", "nested.etf", "rpc.etf", "small.etf"])
    }

    @Test(arguments: FixtureFiles.names)
    func reencodesByteForByte(_ name: String) throws {
        let bytes = FixtureFiles.bytes(name)
        try #require(!bytes.isEmpty, "cannot read Fixtures/\(name)")
        let term = try ETF.decode(bytes)
        let again = try ETF.encode(term)
        #expect(again.count == bytes.count)
        #expect(again == bytes, "first difference at byte \(firstDifference(again, bytes))")
    }

    @Test func aLargeBinarySharesTheInputBuffer() throws {
        let bytes = FixtureFiles.bytes("bin1m.etf")
        guard case let .binary(binary) = try ETF.decode(bytes) else {
            Issue.record("bin1m.etf is not a binary")
            return
        }
        #expect(binary.count == 1 << 20)
        #expect(binary.isShared, "a 1 MiB binary was copied out of the input")
        #expect(binary.first == 0 && binary[255] == 255 && binary[256] == 0)
    }

    /// Checked against `io:format("~0tp~n", [binary_to_term(B)])` in erl
    /// (OTP 25) on the fixture files.
    @Test func smallPrintsAsErlangPrintsIt() throws {
        let term = try ETF.decode(FixtureFiles.bytes("small.etf"))
        #expect(term.description == #"{ping,1,<<"hello">>}"#)
    }

    /// Erlang (OTP 25) prints this fixture as
    ///   {'$gen_call',{<8775.9.0>,#Ref<8775.4133516895.2709258242.104221>},{call,lists,seq,[1,100],<8775.9.0>}}
    /// where 8775 is an index into that runtime's table of nodes (another run
    /// gave 8987). Ergo writes the node's name in its place, as documented in
    /// TermPrinter; everything else is Erlang's text.
    @Test func rpcPrintsAsErlangPrintsItWithTheNodeNamed() throws {
        let term = try ETF.decode(FixtureFiles.bytes("rpc.etf"))
        let node = "'a@127.0.0.1'"
        #expect(term.description == "{'$gen_call',{<\(node).9.0>,#Ref<\(node).4133516895.2709258242.104221>},"
                + "{call,lists,seq,[1,100],<\(node).9.0>}}")
    }

    /// The fixtures printed by erl itself, but rpc.etf (another node's pids,
    /// see above) and map100.etf (a map of more than 32 keys, which Erlang
    /// prints in its hash order, different from one runtime to the next;
    /// Ergo prints the wire order).
    @Test func fixturesPrintAsErlangPrintsThem() throws {
        let erlang = try erlangOrSkip()
        let names = FixtureFiles.names.filter { $0 != "rpc.etf" && $0 != "map100.etf" }
        let files = names.map { "\"" + FixtureFiles.url($0).path + "\"" }.joined(separator: ",")
        let program = """
            ok = io:setopts([{encoding, unicode}]),
            [begin {ok, B} = file:read_file(F), io:format("~0tp~n", [binary_to_term(B)]) end || F <- [\(files)]],
            halt().
            """
        let run = try runCommand(erlang.erl, ["+pc", "unicode", "-noshell", "-eval", program])
        try #require(run.status == 0, "erl failed: \(run.stderrText)")
        let lines = run.stdoutText.split(separator: "\n", omittingEmptySubsequences: false)
        try #require(lines.count >= names.count)
        for (name, printed) in zip(names, lines) {
            let ours = try ETF.decode(FixtureFiles.bytes(name)).description
            #expect(ours == printed, "\(name): Ergo prints \(ours.prefix(200))…, Erlang \(printed.prefix(200))…")
        }
    }
}
