import Testing
@testable import Ergo

@Suite struct CodableETFTests {
    struct Job: Codable, Equatable {
        var id: Int
        var name: String
        var tags: [String]
        var owner: PID?
    }

    @Test func bytesRoundTrip() throws {
        let job = Job(id: 7, name: "build", tags: ["ci"], owner: PID(node: "n@h", id: 1))
        let bytes = try ETFEncoder().encode(job)
        #expect(bytes.first == 131)
        #expect(try ETF.decode(bytes) == TermEncoder().encode(job))
        #expect(try ETFDecoder().decode(Job.self, from: bytes) == job)
    }

    @Test func optionsReachBothLayers() throws {
        var encoder = ETFEncoder()
        encoder.structEncoding = .proplist
        encoder.stringEncoding = .charlist
        encoder.options.compressionLevel = 6
        let job = Job(id: 1, name: "x", tags: [], owner: nil)
        let bytes = try encoder.encode(job)
        #expect(try ETF.decode(bytes) == [.tuple(["id", 1]), .tuple(["name", [120]]), .tuple(["tags", .nil]),
                                          .tuple(["owner", "undefined"])])
        var decoder = ETFDecoder()
        decoder.nilAtoms = [.undefined]
        #expect(try decoder.decode(Job.self, from: bytes) == job)
    }

    @Test func badBytesAreTermErrors() {
        #expect(throws: TermError.self) { try ETFDecoder().decode(Job.self, from: [131, 255]) }
        #expect(throws: DecodingError.self) { try ETFDecoder().decode(Job.self, from: ETF.encode(42)) }
    }
}
