/// Writes terms in Erlang syntax on one line, as `io:format("~0tp", [T])`
/// does on OTP 25 in a runtime started with `+pc unicode`: `[1,2,3]`,
/// `{ok,"text"}`, `#{k => v}`, `<<"bin">>`, `1.0e10`.
///
/// Where Erlang's text cannot be reproduced the printer writes a form that
/// ``Term/init(parsing:)`` reads back (see `docs/terms.md`):
/// - a pid, port or reference of another node names the node
///   (`<node@host.42.0>`) where Erlang prints a node index it alone knows;
///   those of `nonode@nohost` print as Erlang prints local ones (`<0.42.0>`);
/// - maps print in their stored order (Erlang sorts small maps; a decoded map
///   keeps the wire order, which for small maps is that sorted order; OTP 25
///   prints a map of more than 32 pairs in the reverse of its wire order);
/// - `'maybe'` and `'else'` are quoted (keywords from OTP 27; OTP 25 leaves
///   them bare);
/// - non-finite floats, which Erlang does not have, print as `#Float<inf>`,
///   `#Float<-inf>` and `#Float<nan>`;
/// - `fun M:F/A` and `#Fun<...>` quote their atoms as the runtime does
///   (``AtomSyntax/runtimeQuoted(_:)``), but keep non-ASCII characters where
///   the runtime writes each UTF-8 byte as a Latin-1 character.
enum TermPrinter {
    /// The term in Erlang syntax, on one line.
    static func print(_ term: Term) -> String {
        var out = ""
        write(term, into: &out)
        return out
    }

    /// A binary (`bits == 8`) or a bitstring whose last byte holds `bits`
    /// bits (1–7), as Erlang prints them.
    static func binary(_ b: Binary, bits: Int) -> String {
        var out = ""
        writeBinary(b, bits: bits, into: &out)
        return out
    }

    /// `<0.42.0>` for `nonode@nohost`, `<node@host.42.0>` otherwise.
    static func pid(_ p: PID) -> String {
        "<" + node(p.node) + ".\(p.id).\(p.serial)>"
    }

    /// `#Port<0.7>` for `nonode@nohost`, `#Port<node@host.7>` otherwise.
    static func port(_ p: Port) -> String {
        "#Port<" + node(p.node) + ".\(p.id)>"
    }

    /// `#Ref<0.3.2.1>`: the id words most significant first, as Erlang.
    static func ref(_ r: Ref) -> String {
        var out = "#Ref<" + node(r.node)
        for w in r.ids.reversed() { out += ".\(w)" }
        return out + ">"
    }

    /// `fun m:f/2`, its atoms quoted as the runtime quotes them.
    static func export(_ e: Export) -> String {
        "fun " + AtomSyntax.runtimeQuoted(e.module.name) + ":" + AtomSyntax.runtimeQuoted(e.function.name)
            + "/\(e.arity)"
    }

    /// `#Fun<module.index.uniq>`, as Erlang prints a local fun.
    static func fun(_ f: Fun) -> String {
        "#Fun<" + AtomSyntax.runtimeQuoted(f.module.name) + ".\(f.oldIndex).\(f.oldUniq)>"
    }

    /// The node of a pid, port or reference: `0` for a process that is not
    /// distributed (as Erlang prints its own), else the node's name.
    static func node(_ node: Atom) -> String {
        node == .nonode ? "0" : AtomSyntax.quoted(node.name)
    }

    // MARK: - Terms

    static func write(_ term: Term, into out: inout String) {
        switch term {
        case let .int(i):
            out += String(i)
        case let .bigInt(b):
            out += b.description
        case let .float(d):
            out += float(d)
        case let .atom(a):
            out += AtomSyntax.quoted(a.name)
        case let .tuple(elements):
            out += "{"
            writeElements(elements, into: &out)
            out += "}"
        case let .list(elements):
            if elements.isEmpty {
                out += "[]"
            } else if isPrintableString(elements) {
                out += "\""
                for e in elements {
                    if case let .int(c) = e {
                        AtomSyntax.appendEscaped(Unicode.Scalar(UInt32(c))!, quote: "\"", into: &out)
                    }
                }
                out += "\""
            } else {
                out += "["
                writeElements(elements, into: &out)
                out += "]"
            }
        case let .improperList(elements, tail):
            out += "["
            writeElements(elements, into: &out)
            out += "|"
            write(tail, into: &out)
            out += "]"
        case let .binary(b):
            writeBinary(b, bits: 8, into: &out)
        case let .bitString(bs):
            writeBinary(bs.bytes, bits: Int(bs.bitsInLastByte), into: &out)
        case let .map(m):
            out += "#{"
            var first = true
            for e in m.entries {
                if !first { out += "," }
                first = false
                write(e.key, into: &out)
                out += " => "
                write(e.value, into: &out)
            }
            out += "}"
        case let .pid(p):
            out += pid(p)
        case let .port(p):
            out += port(p)
        case let .ref(r):
            out += ref(r)
        case let .fun(f):
            out += fun(f)
        case let .export(e):
            out += export(e)
        }
    }

    private static func writeElements(_ elements: [Term], into out: inout String) {
        var first = true
        for e in elements {
            if !first { out += "," }
            first = false
            write(e, into: &out)
        }
    }

    // MARK: - Strings

    /// A code point `io_lib:printable_unicode_list/1` accepts: the graphic
    /// characters, and the control characters that have a named escape.
    static func isPrintable(_ c: Int) -> Bool {
        switch c {
        case 0x20...0x7E, 0xA0..<0xD800, 0xE000..<0xFFFE, 0x10000...0x10FFFF: return true
        case 0x08...0x0D, 0x1B: return true  // \b \t \n \v \f \r \e
        default: return false
        }
    }

    /// A byte `io_lib_pretty` accepts in a Latin-1 binary.
    static func isPrintableLatin1(_ c: UInt8) -> Bool {
        switch c {
        case 0x20...0x7E, 0xA0...0xFF, 0x08...0x0D, 0x1B: return true
        default: return false
        }
    }

    /// A non-empty list of printable code points prints as `"text"`.
    static func isPrintableString(_ elements: [Term]) -> Bool {
        for e in elements {
            guard case let .int(c) = e, isPrintable(c) else { return false }
        }
        return true
    }

    // MARK: - Binaries

    /// `<<"text">>` when the bytes are printable ASCII (or printable Latin-1
    /// that is not UTF-8), `<<"tëxt"/utf8>>` when they are printable UTF-8
    /// beyond ASCII, `<<1,2,3>>` otherwise; a bitstring as `<<1,2:3>>`.
    static func writeBinary(_ b: Binary, bits: Int, into out: inout String) {
        if (1...7).contains(bits), let last = b.last {
            out += "<<"
            for byte in b.dropLast() { out += String(byte); out += "," }
            out += String(last >> UInt8(8 - bits))
            out += ":"
            out += String(bits)
            out += ">>"
            return
        }
        guard !b.isEmpty else {
            out += "<<>>"
            return
        }
        if let text = b.utf8String {
            // Valid UTF-8: text when every character is printable, else bytes
            // (Erlang does not fall back to Latin-1 for valid UTF-8).
            if text.unicodeScalars.allSatisfy({ isPrintable(Int($0.value)) }) {
                out += "<<\""
                for s in text.unicodeScalars { AtomSyntax.appendEscaped(s, quote: "\"", into: &out) }
                out += text.unicodeScalars.count == b.count ? "\">>" : "\"/utf8>>"
                return
            }
        } else if b.allSatisfy(isPrintableLatin1) {
            out += "<<\""
            for byte in b { AtomSyntax.appendEscaped(Unicode.Scalar(byte), quote: "\"", into: &out) }
            out += "\">>"
            return
        }
        out += "<<"
        var first = true
        for byte in b {
            if !first { out += "," }
            first = false
            out += String(byte)
        }
        out += ">>"
    }

    // MARK: - Floats

    /// The shortest text that reads back as the same `Double`, laid out as
    /// Erlang does: `1.0`, `0.1`, `123.456`, `1.0e10`, `1.5e-7`, `-0.0`. Of the
    /// plain and the scientific layout Erlang takes the shorter, the plain
    /// one when they tie (`100.0`, `1.0e3`, `0.0001`, `1.2e-4`), and always
    /// the scientific one from 2^53 up (`4503599627370496.0` but
    /// `9.007199254740992e15`).
    static func float(_ d: Double) -> String {
        guard d.isFinite else {
            return d.isNaN ? "#Float<nan>" : (d < 0 ? "#Float<-inf>" : "#Float<inf>")
        }
        let sign = d.sign == .minus ? "-" : ""
        if d == 0 { return sign + "0.0" }
        let (digits, exponent) = shortestDigits(d.magnitude)
        // value = d0.d1d2... × 10^exponent
        var plain: String
        if exponent >= 0 {
            if digits.count <= exponent + 1 {
                plain = digits + String(repeating: "0", count: exponent + 1 - digits.count) + ".0"
            } else {
                let cut = digits.index(digits.startIndex, offsetBy: exponent + 1)
                plain = String(digits[..<cut]) + "." + String(digits[cut...])
            }
        } else {
            plain = "0." + String(repeating: "0", count: -exponent - 1) + digits
        }
        let rest = digits.dropFirst()
        let scientific = String(digits.prefix(1)) + "." + (rest.isEmpty ? "0" : rest) + "e" + String(exponent)
        if d.magnitude >= 0x1p53 { return sign + scientific }
        return sign + (plain.count <= scientific.count ? plain : scientific)
    }

    /// The shortest round-trip decimal digits of a positive finite `Double`
    /// (no leading or trailing zeros) and the power of ten of the first one.
    /// Swift's `description` already gives the shortest digits; this takes
    /// them out of its layout (`123.45`, `1e-05`, `1.5e+20`).
    static func shortestDigits(_ d: Double) -> (digits: String, exponent: Int) {
        let text = d.description.utf8
        var digits: [UInt8] = []
        var pointAt: Int?
        var exponent = 0
        var i = text.startIndex
        while i != text.endIndex {
            let c = text[i]
            if c == UInt8(ascii: ".") {
                pointAt = digits.count
            } else if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                exponent = Int(Substring(text[text.index(after: i)...]))!
                break
            } else {
                digits.append(c)
            }
            i = text.index(after: i)
        }
        var intDigits = pointAt ?? digits.count
        while digits.first == UInt8(ascii: "0") {
            digits.removeFirst()
            intDigits -= 1
        }
        while digits.last == UInt8(ascii: "0") { digits.removeLast() }
        return (String(decoding: digits, as: UTF8.self), intDigits - 1 + exponent)
    }
}
