import Foundation
import Testing

/// `Examples/SupervisionTree` run as a user runs it: its log shows the
/// crash, the supervisor's report and the restart with a new pid.
@Suite struct ExampleTests {
    @Test func theSupervisionExampleShowsARestart() throws {
        let binary = try #require(ErgoBinary.product("supervision-example"),
                                  "supervision-example not built next to the tests (`swift build`)")
        let run = try runCommand(binary, [], stdin: nil, timeout: .seconds(60))
        #expect(run.status == 0, "\(run.stderrText)")
        CLITests.expectNoCrash(run)
        let out = run.stdoutText
        #expect(out.contains("Generic server inventory terminating"))
        #expect(out.contains("supervisor: child terminated"))
        #expect(out.contains("supervisor: child restarted"))
        #expect(out.contains("{error,inventory_down}"))
        let line = try #require(out.split(separator: "\n").first { $0.contains("inventory was") })
        let pids = line.split(separator: " ").filter { $0.hasPrefix("<") }.map { $0.trimmingCharacters(in: .punctuationCharacters) }
        #expect(pids.count == 2 && pids[0] != pids[1], "\(line)")
        #expect(out.contains("application stopped"))
    }
}
