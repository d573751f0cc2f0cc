import Testing
@testable import Ergo

/// What a coding error says: its kind, its path as text ("a.b[2]"), and its
/// description.
struct CodingFailure: CustomStringConvertible {
    var kind: String
    var path: String
    var message: String
    var description: String { "\(kind) at \(path): \(message)" }
}

func decodingFailure<T: Decodable>(_ type: T.Type, from term: Term,
                                   decoder: TermDecoder = TermDecoder()) -> CodingFailure?
{
    do {
        _ = try decoder.decode(T.self, from: term)
        return nil
    } catch let error as DecodingError {
        switch error {
        case let .typeMismatch(_, c): return CodingFailure(kind: "typeMismatch", path: pathText(c.codingPath), message: c.debugDescription)
        case let .valueNotFound(_, c): return CodingFailure(kind: "valueNotFound", path: pathText(c.codingPath), message: c.debugDescription)
        case let .keyNotFound(k, c): return CodingFailure(kind: "keyNotFound", path: pathText(c.codingPath + [k]), message: c.debugDescription)
        case let .dataCorrupted(c): return CodingFailure(kind: "dataCorrupted", path: pathText(c.codingPath), message: c.debugDescription)
        @unknown default: return CodingFailure(kind: "unknown", path: "", message: "\(error)")
        }
    } catch {
        return CodingFailure(kind: "other", path: "", message: "\(error)")
    }
}

func encodingFailure<T: Encodable>(_ value: T, encoder: TermEncoder = TermEncoder()) -> CodingFailure? {
    do {
        _ = try encoder.encode(value)
        return nil
    } catch let error as EncodingError {
        switch error {
        case let .invalidValue(_, c): return CodingFailure(kind: "invalidValue", path: pathText(c.codingPath), message: c.debugDescription)
        @unknown default: return CodingFailure(kind: "unknown", path: "", message: "\(error)")
        }
    } catch {
        return CodingFailure(kind: "other", path: "", message: "\(error)")
    }
}

/// Encodes with `encoder`, checks the term, decodes it back and checks the value.
func roundTrip<T: Codable & Equatable>(_ value: T, _ expected: Term, encoder: TermEncoder = TermEncoder(),
                                       sourceLocation: SourceLocation = #_sourceLocation) throws
{
    let term = try encoder.encode(value)
    #expect(term == expected, sourceLocation: sourceLocation)
    let back = try TermDecoder().decode(T.self, from: term)
    #expect(back == value, sourceLocation: sourceLocation)
}

extension TermEncoder {
    static func with(_ change: (inout TermEncoder) -> Void) -> TermEncoder {
        var e = TermEncoder()
        change(&e)
        return e
    }
}

/// A binary holding `text`.
func bin(_ text: String) -> Term { .string(text) }
