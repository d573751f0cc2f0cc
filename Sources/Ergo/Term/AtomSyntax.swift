/// How atoms are written in Erlang syntax (the rules of `io_lib:write_atom/1`).
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

    /// `a`–`z` and the Latin-1 lowercase letters `ß`–`ÿ` (but not `÷`).
    static func isLowerStart(_ s: Unicode.Scalar) -> Bool {
        (s >= "a" && s <= "z") || (s.value >= 0xDF && s.value <= 0xFF && s.value != 0xF7)
    }

    /// Letters (ASCII and Latin-1, but not `×` or `÷`), digits, `_` and `@`.
    static func isNameChar(_ s: Unicode.Scalar) -> Bool {
        (s >= "a" && s <= "z") || (s >= "A" && s <= "Z") || (s >= "0" && s <= "9")
            || s == "_" || s == "@"
            || (s.value >= 0xC0 && s.value <= 0xFF && s.value != 0xD7 && s.value != 0xF7)
    }

    /// Escapes for the inside of a quoted atom or a string, as `io_lib` writes
    /// them: the quote and `\` escaped, the usual control characters by name
    /// (`\n`, `\t`, `\e`, `\d`, ...), other characters below U+00A0 as
    /// three octal digits (`\001`, `\237`), everything else as itself.
    static func escape(_ text: String, quote: Character = "'") -> String {
        var out = ""
        escape(text, quote: quote, into: &out)
        return out
    }

    static func escape(_ text: String, quote: Character, into out: inout String) {
        let q = quote.unicodeScalars.first!
        for s in text.unicodeScalars {
            appendEscaped(s, quote: q, into: &out)
        }
    }

    static func appendEscaped(_ s: Unicode.Scalar, quote: Unicode.Scalar, into out: inout String) {
        if s == quote || s == "\\" {
            out.unicodeScalars.append("\\")
            out.unicodeScalars.append(s)
            return
        }
        let v = s.value
        if (v >= 0x20 && v <= 0x7E) || v >= 0xA0 {
            out.unicodeScalars.append(s)
            return
        }
        switch v {
        case 0x0A: out += "\\n"
        case 0x0D: out += "\\r"
        case 0x09: out += "\\t"
        case 0x0B: out += "\\v"
        case 0x08: out += "\\b"
        case 0x0C: out += "\\f"
        case 0x1B: out += "\\e"
        case 0x7F: out += "\\d"
        default:
            out.unicodeScalars.append("\\")
            for shift in [6, 3, 0] as [UInt32] {
                out.unicodeScalars.append(Unicode.Scalar(UInt8(48 + ((v >> shift) & 7))))
            }
        }
    }

    /// The atom as the Erlang runtime itself writes it in `fun M:F/A` and
    /// `#Fun<M.I.U>` (`erlang:fun_to_list/1`), which quotes a little
    /// differently from `io_lib`: reserved words stay bare (`fun fun:end/0`),
    /// `@` needs quotes (`fun 'a@b':f/0`), and only `\b \t \n \v \f \r`
    /// have named escapes (ESC is `\033`, DEL is itself). The runtime writes
    /// non-ASCII text as its UTF-8 bytes, one Latin-1 character per byte;
    /// this keeps the characters instead.
    static func runtimeQuoted(_ name: String) -> String {
        var bare = false
        if let first = name.unicodeScalars.first, isLowerStart(first) {
            bare = name.unicodeScalars.dropFirst().allSatisfy { isNameChar($0) && $0 != "@" }
        }
        if bare { return name }
        var out = "'"
        for s in name.unicodeScalars {
            switch s.value {
            case 0x1B: out += "\\033"
            case 0x7F: out.unicodeScalars.append(s)
            default: appendEscaped(s, quote: "'", into: &out)
            }
        }
        return out + "'"
    }

    /// Words that must be quoted to be atoms. `maybe` and `else` are only
    /// keywords where the `maybe_expr` feature is on (by default from OTP 27);
    /// they are quoted anyway, so the text reads back on every release.
    static let reserved: Set<String> = [
        "after", "and", "andalso", "band", "begin", "bnot", "bor", "bsl", "bsr", "bxor",
        "case", "catch", "cond", "div", "else", "end", "fun", "if", "let", "maybe", "not",
        "of", "or", "orelse", "receive", "rem", "try", "when", "xor",
    ]
}
