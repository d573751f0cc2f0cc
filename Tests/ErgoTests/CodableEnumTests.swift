import Testing
@testable import Ergo

private enum Color: String, Codable, Equatable { case red, darkBlue = "dark_blue" }
private enum Priority: Int, Codable, Equatable { case low = 1, high = 9 }

/// A string wrapper that is not an enum stays a string.
private struct UserID: RawRepresentable, Codable, Equatable { var rawValue: String }

private enum Command: Codable, Equatable {
    case ping
    case echo(String)
    case move(x: Int, y: Int)
    case mixed(Int, label: String)
    case wait(ms: Int?)
    case userJoined(name: String)
}

private enum Shape: Codable, Equatable {
    case point(Point)
    case none
    struct Point: Codable, Equatable { var x: Int; var y: Int }
}

@Suite struct CodableEnumTests {
    @Test func stringRawValuesAreAtoms() throws {
        try roundTrip(Color.red, "red")
        try roundTrip(Color.darkBlue, "dark_blue")
        try roundTrip([Color.red, .darkBlue], ["red", "dark_blue"])
        // Also read from a binary or a charlist.
        #expect(try TermDecoder().decode(Color.self, from: bin("red")) == .red)
        #expect(try TermDecoder().decode(Color.self, from: [114, 101, 100]) == .red)
        let f = decodingFailure(Color.self, from: "purple")
        #expect(f?.kind == "dataCorrupted")
        #expect(f?.message.contains("purple") == true)
    }

    @Test func stringRawValueStructsStayStrings() throws {
        try roundTrip(UserID(rawValue: "u1"), bin("u1"))
    }

    @Test func intRawValuesAreIntegers() throws {
        try roundTrip(Priority.high, 9)
        #expect(decodingFailure(Priority.self, from: 5)?.kind == "dataCorrupted")
    }

    @Test func casesWithoutValuesAreAtoms() throws {
        try roundTrip(Command.ping, "ping")
        try roundTrip(Shape.none, "none")
    }

    @Test func casesWithValuesAreTaggedTuples() throws {
        try roundTrip(Command.echo("hi"), .tuple(["echo", bin("hi")]))
        try roundTrip(Command.move(x: 1, y: 2), .tuple(["move", 1, 2]))
        try roundTrip(Command.mixed(7, label: "l"), .tuple(["mixed", 7, bin("l")]))
        try roundTrip(Command.wait(ms: nil), .tuple(["wait", "undefined"]))
        try roundTrip(Command.wait(ms: 5), .tuple(["wait", 5]))
        try roundTrip(Shape.point(.init(x: 1, y: 2)), .tuple(["point", ["x": 1, "y": 2]]))
    }

    @Test func enumsNestInsideStructsAndLists() throws {
        struct Script: Codable, Equatable { var steps: [Command]; var color: Color? }
        let s = Script(steps: [.ping, .move(x: 0, y: -1)], color: .red)
        try roundTrip(s, ["steps": ["ping", .tuple(["move", 0, -1])], "color": "red"])
    }

    @Test func caseNamesFollowTheKeyStrategy() throws {
        let e = TermEncoder.with { $0.keyStrategy = .snakeCase }
        let t = try e.encode(Command.userJoined(name: "ann"))
        #expect(t == .tuple(["user_joined", bin("ann")]))
        var d = TermDecoder()
        d.keyStrategy = .snakeCase
        #expect(try d.decode(Command.self, from: t) == .userJoined(name: "ann"))
    }

    @Test func theMapFormAlsoReads() throws {
        // Swift's own shape for enums: #{case => #{label => value}}.
        let t: Term = ["move": ["x": 3, "y": 4]]
        #expect(try TermDecoder().decode(Command.self, from: t) == .move(x: 3, y: 4))
        #expect(try TermDecoder().decode(Command.self, from: ["ping": .map(TermMap())]) == .ping)
    }

    @Test func unknownCasesAndWrongArity() {
        let f = decodingFailure(Command.self, from: "jump")
        #expect(f != nil)
        let g = decodingFailure(Command.self, from: .tuple(["move", 1]))
        #expect(g?.kind == "keyNotFound")
        #expect(g?.path == "move.y")
        let h = decodingFailure(Command.self, from: .tuple(["move", 1, bin("2")]))
        #expect(h?.kind == "typeMismatch")
        #expect(h?.path == "move.y")
        #expect(decodingFailure(Command.self, from: 3)?.kind == "typeMismatch")
    }
}
