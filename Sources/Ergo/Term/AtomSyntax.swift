/// How atoms are written in Erlang syntax.
enum AtomSyntax {
    /// The atom as Erlang prints it: bare when it is a lowercase identifier
    /// that is not a reserved word, quoted otherwise.
    static func quoted(_ name: String) -> String {
        needsQuotes(name) ? "'" + escape(name) + "'" : name
    }

    static func needsQuotes(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first else { return true }
        guard isLowerStart(first) else { return true }
        for s in name.unicodeScalars.dropFirst() where !isNameChar(s) { return true }
        return reserved.contains(name)
    }

    static func isLowerStart(_ s: Unicode.Scalar) -> Bool {
        (s >= "a" && s <= "z") || (s.value >= 0xDF && s.value <= 0xFF && s.value != 0xF7)
    }

    static func isNameChar(_ s: Unicode.Scalar) -> Bool {
        (s >= "a" && s <= "z") || (s >= "A" && s <= "Z") || (s >= "0" && s <= "9")
            || s == "_" || s == "@"
            || (s.value >= 0xC0 && s.value <= 0xFF && s.value != 0xD7 && s.value != 0xF7)
    }

    /// Escapes for the inside of a quoted atom or a string.
    static func escape(_ text: String, quote: Character = "'") -> String {
        var out = ""
        for s in text.unicodeScalars {
            switch s {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\u{8}": out += "\\b"
            case "\u{C}": out += "\\f"
            case "\u{B}": out += "\\v"
            case "\u{1B}": out += "\\e"
            case "\u{7F}": out += "\\d"
            default:
                if Character(s) == quote {
                    out += "\\" + String(quote)
                } else if s.value < 0x20 {
                    out += "\\^" + String(Character(Unicode.Scalar(s.value + 64)!))
                } else {
                    out.unicodeScalars.append(s)
                }
            }
        }
        return out
    }

    static let reserved: Set<String> = [
        "after", "and", "andalso", "band", "begin", "bnot", "bor", "bsl", "bsr", "bxor",
        "case", "catch", "cond", "div", "end", "fun", "if", "let", "maybe", "not", "of",
        "or", "orelse", "receive", "rem", "try", "when", "xor",
    ]
}
