/// Short descriptions of terms for error messages.
enum TermSummary {
    /// The most characters of a term's text an error message quotes.
    static let maxQuoted = 80

    /// "atom undefined", "tuple {a,1}", "binary <<...>>": kind, then the
    /// term's text, shortened when long.
    static func describe(_ term: Term) -> String {
        var text = term.description
        if text.count > maxQuoted { text = String(text.prefix(maxQuoted)) + "…" }
        return kind(of: term) + " " + text
    }

    static func kind(of term: Term) -> String {
        switch term {
        case .int, .bigInt: return "integer"
        case .float: return "float"
        case .atom: return "atom"
        case .tuple: return "tuple"
        case .list([]): return "empty list"
        case .list: return "list"
        case .improperList: return "improper list"
        case .binary: return "binary"
        case .bitString: return "bitstring"
        case .map: return "map"
        case .pid: return "pid"
        case .port: return "port"
        case .ref: return "reference"
        case .fun, .export: return "fun"
        }
    }
}

extension DecodingError {
    /// The error with `prefix` put before its coding path: for errors thrown
    /// by code that decoded a sub-term on its own (``TermDecodable``).
    func prefixingPath(_ prefix: [any CodingKey]) -> DecodingError {
        guard !prefix.isEmpty else { return self }
        func moved(_ c: Context) -> Context {
            Context(codingPath: prefix + c.codingPath, debugDescription: c.debugDescription,
                    underlyingError: c.underlyingError)
        }
        switch self {
        case let .typeMismatch(t, c): return .typeMismatch(t, moved(c))
        case let .valueNotFound(t, c): return .valueNotFound(t, moved(c))
        case let .keyNotFound(k, c): return .keyNotFound(k, moved(c))
        case let .dataCorrupted(c): return .dataCorrupted(moved(c))
        @unknown default: return self
        }
    }
}

extension EncodingError {
    func prefixingPath(_ prefix: [any CodingKey]) -> EncodingError {
        guard !prefix.isEmpty else { return self }
        switch self {
        case let .invalidValue(v, c):
            return .invalidValue(v, Context(codingPath: prefix + c.codingPath,
                                            debugDescription: c.debugDescription,
                                            underlyingError: c.underlyingError))
        @unknown default: return self
        }
    }
}

/// "name.address[2].city": a coding path as text, for messages and tests.
func pathText(_ path: [any CodingKey]) -> String {
    var out = ""
    for key in path {
        if let i = key.intValue, key.stringValue.hasPrefix("Index ") {
            out += "[\(i)]"
        } else {
            out += out.isEmpty ? key.stringValue : "." + key.stringValue
        }
    }
    return out
}
