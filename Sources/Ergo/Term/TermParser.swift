extension Term {
    /// Parses one term written in Erlang syntax: `{ok, [1,2,3]}`,
    /// `#{name => <<"ergo">>}`, `'Quoted atom'`, `"a string"`, `16#FF`,
    /// `1.0e10`, `<<1,2:3>>`, `fun lists:map/2`, and the printed forms of pids,
    /// ports and references (`<0.42.0>`, `<node@host.42.0>`,
    /// `#Ref<0.1.2.3>`, `#Port<0.7>`). Whitespace, `%` comments and one
    /// trailing `.` are allowed.
    ///
    /// A string reads as a list of code points (`"ab"` is `[97,98]`, `""` is
    /// `[]`), as in Erlang. Atoms are interned with ``Atom/init(external:)``,
    /// so a full atom table throws ``TermError/atomTableFull``; every other
    /// failure is ``TermError/parse(message:offset:)``, with the offset in
    /// UTF-8 bytes from the start of `text`.
    public init(parsing text: String) throws(TermError) {
        var parser = TermParser(text)
        self = try parser.parseText()
    }
}

/// A recursive-descent parser of Erlang term syntax over UTF-8 bytes.
struct TermParser {
    /// How deeply tuples, lists, maps and binaries may nest (as the decoder).
    static let maxDepth = 1024
    /// The most bits one binary may hold (16 MiB).
    static let maxBinaryBits = 1 << 27

    private let bytes: [UInt8]
    private var pos = 0
    private var depth = 0

    init(_ text: String) { bytes = Array(text.utf8) }

    /// The whole text: one term, then an optional `.`.
    mutating func parseText() throws(TermError) -> Term {
        let term = try parseTerm()
        skipSpace()
        if peek() == UInt8(ascii: ".") {
            pos += 1
            skipSpace()
        }
        guard pos == bytes.count else {
            throw fail("unexpected \(describeHere()) after the term")
        }
        return term
    }

    // MARK: - Terms

    mutating func parseTerm() throws(TermError) -> Term {
        skipSpace()
        guard let c = peek() else { throw fail("expected a term, found the end of the text") }
        switch c {
        case UInt8(ascii: "{"):
            return try parseTuple()
        case UInt8(ascii: "["):
            return try parseList()
        case UInt8(ascii: "\""):
            return .list(try parseString().map { .int(Int($0)) })
        case UInt8(ascii: "'"):
            return .atom(try parseQuotedAtom())
        case UInt8(ascii: "<"):
            return peek(1) == UInt8(ascii: "<") ? try parseBinary() : .pid(try parsePID())
        case UInt8(ascii: "#"):
            return try parseHashForm()
        case UInt8(ascii: "$"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try parseNumber()
        default:
            let (s, _) = scalar(at: pos)
            if AtomSyntax.isLowerStart(s) { return try parseBareWord() }
            if (s >= "A" && s <= "Z") || s == "_" || (s.value >= 0xC0 && s.value <= 0xDE && s.value != 0xD7) {
                throw fail("\(describeHere()) starts a variable, which is not a term; quote it to make an atom")
            }
            throw fail("expected a term, found \(describeHere())")
        }
    }

    private mutating func parseTuple() throws(TermError) -> Term {
        try enter()
        defer { depth -= 1 }
        pos += 1
        skipSpace()
        if peek() == UInt8(ascii: "}") {
            pos += 1
            return .tuple([])
        }
        var elements: [Term] = []
        while true {
            elements.append(try parseTerm())
            skipSpace()
            if try consumeSeparator(close: "}", what: "a tuple element") { return .tuple(elements) }
        }
    }

    private mutating func parseList() throws(TermError) -> Term {
        try enter()
        defer { depth -= 1 }
        pos += 1
        skipSpace()
        if peek() == UInt8(ascii: "]") {
            pos += 1
            return .nil
        }
        var elements: [Term] = []
        while true {
            elements.append(try parseTerm())
            skipSpace()
            if peek() == UInt8(ascii: "|") {
                pos += 1
                let tail = try parseTerm()
                skipSpace()
                guard peek() == UInt8(ascii: "]") else {
                    throw fail("expected ']' after the tail of a list, found \(describeHere())")
                }
                pos += 1
                switch tail {
                case let .list(rest): return .list(elements + rest)
                case let .improperList(rest, t): return .improperList(elements + rest, tail: t)
                default: return .improperList(elements, tail: tail)
                }
            }
            if try consumeSeparator(close: "]", what: "a list element", orBar: true) { return .list(elements) }
        }
    }

    private mutating func parseMap() throws(TermError) -> Term {
        try enter()
        defer { depth -= 1 }
        pos += 2  // #{
        skipSpace()
        if peek() == UInt8(ascii: "}") {
            pos += 1
            return .map(TermMap())
        }
        var entries: [TermMap.Entry] = []
        while true {
            let key = try parseTerm()
            skipSpace()
            guard peek() == UInt8(ascii: "="), peek(1) == UInt8(ascii: ">") else {
                throw fail("expected '=>' after a map key, found \(describeHere())")
            }
            pos += 2
            let value = try parseTerm()
            entries.append(TermMap.Entry(key: key, value: value))
            skipSpace()
            if try consumeSeparator(close: "}", what: "a map value") { return .map(TermMap(entries)) }
        }
    }

    /// After an element: `,` (returns false) or the closing bracket (true).
    private mutating func consumeSeparator(close: Unicode.Scalar, what: String,
                                           orBar: Bool = false) throws(TermError) -> Bool
    {
        switch peek() {
        case UInt8(ascii: ","):
            pos += 1
            return false
        case UInt8(close.value):
            pos += 1
            return true
        default:
            let expected = orBar ? "',', '|' or '\(close)'" : "',' or '\(close)'"
            throw fail("expected \(expected) after \(what), found \(describeHere())")
        }
    }

    private mutating func enter() throws(TermError) {
        depth += 1
        guard depth <= TermParser.maxDepth else {
            depth -= 1
            throw fail("terms nested more than \(TermParser.maxDepth) deep")
        }
    }

    // MARK: - Atoms

    /// An unquoted atom, or `fun M:F/A`.
    private mutating func parseBareWord() throws(TermError) -> Term {
        let start = pos
        let name = scanName()
        if name == "fun" { return .export(try parseExport(start: start)) }
        if AtomSyntax.reserved.contains(name) && name != "maybe" && name != "else" {
            throw fail("'\(name)' is a reserved word; write '\(name)' in quotes to make an atom", at: start)
        }
        return .atom(try makeAtom(name, at: start))
    }

    /// Letters, digits, `_` and `@` from the current position.
    private mutating func scanName() -> String {
        var name = String.UnicodeScalarView()
        while pos < bytes.count {
            let (s, n) = scalar(at: pos)
            guard AtomSyntax.isNameChar(s) else { break }
            name.append(s)
            pos += n
        }
        return String(name)
    }

    private mutating func parseQuotedAtom() throws(TermError) -> Atom {
        let start = pos
        var name = String.UnicodeScalarView()
        for v in try parseQuoted(UInt8(ascii: "'"), what: "atom") {
            guard let s = Unicode.Scalar(v) else {
                throw fail("an atom cannot hold the code point \(v)", at: start)
            }
            name.append(s)
        }
        return try makeAtom(String(name), at: start)
    }

    /// An atom in a place where a reserved word is still a name (`fun end:f/0`
    /// as Erlang prints it, a node name).
    private mutating func parseAnyAtom(what: String) throws(TermError) -> Atom {
        let start = pos
        if peek() == UInt8(ascii: "'") { return try parseQuotedAtom() }
        guard pos < bytes.count, AtomSyntax.isLowerStart(scalar(at: pos).0) else {
            throw fail("expected \(what), found \(describeHere())")
        }
        return try makeAtom(scanName(), at: start)
    }

    private func makeAtom(_ name: String, at offset: Int) throws(TermError) -> Atom {
        do {
            return try Atom(external: name)
        } catch .atomTooLong(let n) {
            throw .parse(message: "atom too long (\(n) characters, at most \(Atom.maxCharacters))", offset: offset)
        } catch {
            throw error
        }
    }

    /// `fun M:F/A`, after the word `fun`.
    private mutating func parseExport(start: Int) throws(TermError) -> Export {
        skipSpace()
        let module = try parseAnyAtom(what: "a module name after 'fun'")
        skipSpace()
        guard peek() == UInt8(ascii: ":") else {
            throw fail("expected ':' in 'fun Module:Function/Arity', found \(describeHere())")
        }
        pos += 1
        skipSpace()
        let function = try parseAnyAtom(what: "a function name")
        skipSpace()
        guard peek() == UInt8(ascii: "/") else {
            throw fail("expected '/' in 'fun Module:Function/Arity', found \(describeHere())")
        }
        pos += 1
        skipSpace()
        let arityAt = pos
        guard let arity = scanDecimal(), arity <= 255 else {
            throw fail("expected an arity from 0 to 255", at: arityAt)
        }
        return Export(module: module, function: function, arity: UInt8(arity))
    }

    // MARK: - Strings and characters

    /// One or more adjacent `"..."` literals, as code points.
    private mutating func parseString() throws(TermError) -> [UInt32] {
        var values = try parseQuoted(UInt8(ascii: "\""), what: "string")
        while true {
            let save = pos
            skipSpace()
            guard peek() == UInt8(ascii: "\"") else {
                pos = save
                return values
            }
            values += try parseQuoted(UInt8(ascii: "\""), what: "string")
        }
    }

    /// The code points between two `quote`s, escapes resolved.
    private mutating func parseQuoted(_ quote: UInt8, what: String) throws(TermError) -> [UInt32] {
        let start = pos
        pos += 1
        var values: [UInt32] = []
        while true {
            guard let c = peek() else { throw fail("unterminated \(what)", at: start) }
            if c == quote {
                pos += 1
                return values
            }
            if c == UInt8(ascii: "\\") {
                pos += 1
                values.append(try parseEscape())
            } else {
                let (s, n) = scalar(at: pos)
                values.append(s.value)
                pos += n
            }
        }
    }

    /// `\b \d \e \f \n \r \s \t \v`.
    private static let namedEscapes: [UInt8: UInt32] = [
        UInt8(ascii: "b"): 8, UInt8(ascii: "d"): 127, UInt8(ascii: "e"): 27,
        UInt8(ascii: "f"): 12, UInt8(ascii: "n"): 10, UInt8(ascii: "r"): 13,
        UInt8(ascii: "s"): 32, UInt8(ascii: "t"): 9, UInt8(ascii: "v"): 11,
    ]

    /// `$c` or `$\n`: the code point as an integer.
    private mutating func parseCharLiteral() throws(TermError) -> Int {
        pos += 1
        guard let c = peek() else { throw fail("expected a character after '$'") }
        if c == UInt8(ascii: "\\") {
            pos += 1
            return Int(try parseEscape())
        }
        let (s, n) = scalar(at: pos)
        pos += n
        return Int(s.value)
    }

    /// The escape after a `\`: `\n \t \r \v \b \f \e \d \s`, octal `\101`,
    /// `\x41`, `\x{1F600}`, control `\^A`, or the character itself (`\\`, `\'`).
    private mutating func parseEscape() throws(TermError) -> UInt32 {
        let start = pos - 1
        guard let c = peek() else { throw fail("unterminated escape sequence", at: start) }
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "7"):
            var v: UInt32 = 0
            var n = 0
            while n < 3, let d = peek(), d >= UInt8(ascii: "0"), d <= UInt8(ascii: "7") {
                v = v * 8 + UInt32(d - UInt8(ascii: "0"))
                pos += 1
                n += 1
            }
            return v
        case UInt8(ascii: "x"):
            pos += 1
            var v: UInt32 = 0
            if peek() == UInt8(ascii: "{") {
                pos += 1
                var n = 0
                while let d = peek(), let h = hexValue(d) {
                    guard v <= 0x10FFFF else { break }
                    v = v * 16 + UInt32(h)
                    pos += 1
                    n += 1
                }
                guard n > 0, peek() == UInt8(ascii: "}") else {
                    throw fail("malformed \\x{...} escape", at: start)
                }
                pos += 1
            } else {
                for _ in 0..<2 {
                    guard let d = peek(), let h = hexValue(d) else {
                        throw fail("malformed \\x escape: two hex digits or \\x{...} expected", at: start)
                    }
                    v = v * 16 + UInt32(h)
                    pos += 1
                }
            }
            guard Unicode.Scalar(v) != nil else {
                throw fail("escape \\x{\(String(v, radix: 16, uppercase: true))} is not a Unicode character", at: start)
            }
            return v
        case UInt8(ascii: "^"):
            pos += 1
            guard pos < bytes.count else { throw fail("unterminated escape sequence", at: start) }
            let (s, n) = scalar(at: pos)
            pos += n
            return s.value & 31
        default:
            if let v = TermParser.namedEscapes[c] {
                pos += 1
                return v
            }
            let (s, n) = scalar(at: pos)
            pos += n
            return s.value
        }
    }

    // MARK: - Numbers

    /// `42`, `-7`, `1_000`, `16#FF`, `$a`, `1.5`, `-2.5e-3`, and integers
    /// of any size.
    private mutating func parseNumber() throws(TermError) -> Term {
        let start = pos
        var negative = false
        if let c = peek(), c == UInt8(ascii: "-") || c == UInt8(ascii: "+") {
            negative = c == UInt8(ascii: "-")
            pos += 1
            skipSpace()
        }
        if peek() == UInt8(ascii: "$") {
            let v = try parseCharLiteral()
            return .int(negative ? -v : v)
        }
        guard let first = peek(), isDigit(first) else {
            throw fail("expected a number after '\(negative ? "-" : "+")', found \(describeHere())")
        }
        let digits = scanDigits(base: 10)
        if peek() == UInt8(ascii: "#") {
            let base = digits.count <= 2 ? digits.reduce(0) { $0 * 10 + Int($1) } : 0
            guard (2...36).contains(base) else { throw fail("a base must be from 2 to 36", at: start) }
            pos += 1
            let based = scanDigits(base: base)
            guard !based.isEmpty else {
                throw fail("expected base-\(base) digits after '#', found \(describeHere())")
            }
            return integer(based, base: base, negative: negative)
        }
        if peek() == UInt8(ascii: "."), let d = peek(1), isDigit(d) {
            pos += 1
            let fraction = scanDigits(base: 10)
            var text = digits.map { String($0) }.joined() + "." + fraction.map { String($0) }.joined()
            if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
                pos += 1
                text += "e"
                if let s = peek(), s == UInt8(ascii: "-") || s == UInt8(ascii: "+") {
                    text += s == UInt8(ascii: "-") ? "-" : "+"
                    pos += 1
                }
                guard let d = peek(), isDigit(d) else {
                    throw fail("expected the digits of an exponent, found \(describeHere())")
                }
                text += scanDigits(base: 10).map { String($0) }.joined()
            }
            guard let value = Double(text), value.isFinite else {
                throw fail("float out of range", at: start)
            }
            return .float(negative ? -value : value)
        }
        return integer(digits, base: 10, negative: negative)
    }

    /// Digit values in `base`, allowing `_` between two digits.
    private mutating func scanDigits(base: Int) -> [UInt8] {
        var values: [UInt8] = []
        while let c = peek() {
            if let v = digitValue(c), Int(v) < base {
                values.append(v)
                pos += 1
            } else if c == UInt8(ascii: "_"), !values.isEmpty,
                      let n = peek(1), let v = digitValue(n), Int(v) < base
            {
                pos += 1
            } else {
                break
            }
        }
        return values
    }

    /// A plain decimal number that fits `UInt64` (inside pids, refs, ports).
    private mutating func scanDecimal() -> UInt64? {
        var v: UInt64 = 0
        var n = 0
        while let c = peek(), isDigit(c) {
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(c - UInt8(ascii: "0")))
            guard !o1 && !o2 else { return nil }
            v = s
            pos += 1
            n += 1
        }
        return n > 0 ? v : nil
    }

    /// The integer the digits spell, `.int` when it fits and `.bigInt` beyond.
    private func integer(_ digits: [UInt8], base: Int, negative: Bool) -> Term {
        var limbs: [UInt32] = []  // little-endian base 2^32
        for d in digits {
            var carry = UInt64(d)
            for i in limbs.indices {
                let v = UInt64(limbs[i]) * UInt64(base) + carry
                limbs[i] = UInt32(truncatingIfNeeded: v)
                carry = v >> 32
            }
            if carry != 0 { limbs.append(UInt32(carry)) }
        }
        var magnitude: [UInt8] = []
        magnitude.reserveCapacity(limbs.count * 4)
        for l in limbs {
            for shift in stride(from: 0, to: 32, by: 8) { magnitude.append(UInt8(truncatingIfNeeded: l >> UInt32(shift))) }
        }
        return .integer(BigInteger(isNegative: negative, magnitude: magnitude))
    }

    // MARK: - Binaries

    /// `<<"text">>`, `<<1,2,3>>`, `<<"é"/utf8>>`, `<<1,2:3>>`,
    /// `<<1.5/float>>`, `<<300:16/little>>`.
    private mutating func parseBinary() throws(TermError) -> Term {
        try enter()
        defer { depth -= 1 }
        pos += 2
        var writer = BitWriter()
        skipSpace()
        if peek() == UInt8(ascii: ">"), peek(1) == UInt8(ascii: ">") {
            pos += 2
            return .binary(Binary())
        }
        while true {
            try parseSegment(into: &writer)
            skipSpace()
            if peek() == UInt8(ascii: ",") {
                pos += 1
                continue
            }
            guard peek() == UInt8(ascii: ">"), peek(1) == UInt8(ascii: ">") else {
                throw fail("expected ',' or '>>' after a binary segment, found \(describeHere())")
            }
            pos += 2
            let tail = writer.bitCount % 8
            if tail == 0 { return .binary(Binary(writer.bytes)) }
            return .bitString(BitString(bytes: Binary(writer.bytes), bitsInLastByte: UInt8(tail)))
        }
    }

    private enum SegmentValue {
        case integer(Term)
        case float(Double)
        case string([UInt32])
    }

    private enum SegmentType: String {
        case integer, float, binary, bytes, bitstring, bits, utf8, utf16, utf32
    }

    /// `Value[:Size][/Type-Specifiers]`.
    private mutating func parseSegment(into writer: inout BitWriter) throws(TermError) {
        skipSpace()
        let start = pos
        let value: SegmentValue
        switch peek() {
        case UInt8(ascii: "\""):
            value = .string(try parseString())
        case .some(let c) where c == UInt8(ascii: "$") || c == UInt8(ascii: "-") || c == UInt8(ascii: "+") || isDigit(c):
            switch try parseNumber() {
            case let .float(d): value = .float(d)
            case let t: value = .integer(t)
            }
        default:
            throw fail("expected a string or a number in a binary segment, found \(describeHere())")
        }
        skipSpace()
        var size: Int?
        if peek() == UInt8(ascii: ":") {
            pos += 1
            skipSpace()
            let at = pos
            guard let s = scanDecimal(), s <= UInt64(TermParser.maxBinaryBits) else {
                throw fail("expected a segment size (a number of bits)", at: at)
            }
            size = Int(s)
            skipSpace()
        }
        var type: SegmentType?
        var little = false
        var unit: Int?
        if peek() == UInt8(ascii: "/") {
            pos += 1
            while true {
                skipSpace()
                let at = pos
                let word = scanName()
                if let t = SegmentType(rawValue: word) {
                    guard type == nil else { throw fail("a segment has one type", at: at) }
                    type = t
                } else {
                    switch word {
                    case "big": little = false
                    case "little": little = true
                    #if _endian(little)
                    case "native": little = true
                    #else
                    case "native": little = false
                    #endif
                    case "signed", "unsigned": break
                    case "unit":
                        guard peek() == UInt8(ascii: ":") else { throw fail("expected ':' after 'unit'") }
                        pos += 1
                        let u = pos
                        guard let n = scanDecimal(), (1...256).contains(n) else {
                            throw fail("a unit is from 1 to 256", at: u)
                        }
                        unit = Int(n)
                    default:
                        throw fail("unknown binary type specifier '\(word)'", at: at)
                    }
                }
                skipSpace()
                guard peek() == UInt8(ascii: "-") else { break }
                pos += 1
            }
        }
        try writeSegment(value, type: type, size: size, unit: unit, little: little, at: start, into: &writer)
        guard writer.bitCount <= TermParser.maxBinaryBits else {
            throw fail("binary larger than \(TermParser.maxBinaryBits / 8) bytes", at: start)
        }
    }

    private func writeSegment(_ value: SegmentValue, type: SegmentType?, size: Int?, unit: Int?,
                              little: Bool, at start: Int, into writer: inout BitWriter) throws(TermError)
    {
        if unit != nil && size == nil {
            throw fail("a unit needs a size", at: start)
        }
        switch type {
        case .utf8, .utf16, .utf32:
            guard size == nil, unit == nil else { throw fail("a utf segment takes no size or unit", at: start) }
            let code: [UInt32]
            switch value {
            case let .string(s): code = s
            case let .integer(.int(i)) where i >= 0 && i <= 0x10FFFF: code = [UInt32(i)]
            default: throw fail("a utf segment needs a character or a string", at: start)
            }
            for v in code {
                guard let s = Unicode.Scalar(v) else {
                    throw fail("\(v) is not a Unicode character", at: start)
                }
                switch type {
                case .utf8:
                    for b in String(s).utf8 { writer.append(UInt64(b), bits: 8) }
                case .utf16:
                    for u in String(s).utf16 { writer.appendInteger(BigInteger(Int(u)), bits: 16, little: little) }
                default:
                    writer.appendInteger(BigInteger(Int(v)), bits: 32, little: little)
                }
            }
        case .float:
            let d: Double
            switch value {
            case let .float(f): d = f
            case let .integer(.int(i)): d = Double(i)
            default: throw fail("a float segment needs a number", at: start)
            }
            let bits = (size ?? 64) * (unit ?? 1)
            if bits == 64 {
                writer.appendInteger(BigInteger(isNegative: false, magnitude: bytesLE(d.bitPattern)), bits: 64, little: little)
            } else if bits == 32 {
                let f = Float(d)
                guard f.isFinite else { throw fail("float too large for 32 bits", at: start) }
                writer.appendInteger(BigInteger(Int(f.bitPattern)), bits: 32, little: little)
            } else {
                throw fail("a float segment is 32 or 64 bits", at: start)
            }
        case .binary, .bytes, .bitstring, .bits:
            guard case let .string(s) = value, size == nil else {
                throw fail("a binary segment takes a string and no size", at: start)
            }
            for v in s { writer.append(UInt64(v & 0xFF), bits: 8) }
        case .integer, nil:
            let bits = (size ?? 8) * (unit ?? 1)
            let count: Int
            if case let .string(s) = value { count = s.count } else { count = 1 }
            guard bits <= TermParser.maxBinaryBits,
                  writer.bitCount + bits * count <= TermParser.maxBinaryBits else {
                throw fail("binary larger than \(TermParser.maxBinaryBits / 8) bytes", at: start)
            }
            if little && bits % 8 != 0 && bits > 8 {
                throw fail("a little-endian segment is a whole number of bytes", at: start)
            }
            switch value {
            case let .string(s):
                for v in s { writer.appendInteger(BigInteger(Int(v)), bits: bits, little: little) }
            case let .integer(.int(i)) where bits <= 64 && (!little || bits <= 8):
                writer.append(UInt64(bitPattern: Int64(i)), bits: bits)
            case let .integer(.int(i)):
                writer.appendInteger(BigInteger(i), bits: bits, little: little)
            case let .integer(.bigInt(b)):
                writer.appendInteger(b, bits: bits, little: little)
            case .integer, .float:
                throw fail("a float in a binary needs '/float'", at: start)
            }
        }
    }

    private func bytesLE(_ v: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: v >> UInt64($0 * 8)) }
    }

    // MARK: - Pids, ports, references

    /// `#{...}`, `#Ref<...>`, `#Port<...>`, `#Float<...>`; `#Fun<...>` is refused.
    private mutating func parseHashForm() throws(TermError) -> Term {
        let start = pos
        if peek(1) == UInt8(ascii: "{") { return try parseMap() }
        pos += 1
        let word = scanName()
        guard peek() == UInt8(ascii: "<") else {
            throw fail("expected '#{', '#Ref<', '#Port<' after '#'", at: start)
        }
        pos += 1
        switch word {
        case "Ref":
            let node = try parseNode()
            var ids: [UInt32] = []
            while peek() == UInt8(ascii: ".") {
                pos += 1
                ids.append(try parseWord(UInt32.self, what: "reference"))
            }
            guard (1...5).contains(ids.count) else {
                throw fail("a reference has 1 to 5 numbers after its node", at: start)
            }
            try expectClose()
            return .ref(Ref(node: node, ids: ids.reversed()))
        case "Port":
            let node = try parseNode()
            try expectDot()
            let id = try parseWord(UInt64.self, what: "port")
            try expectClose()
            return .port(Port(node: node, id: id))
        case "Float":
            let at = pos
            let negative = peek() == UInt8(ascii: "-")
            if negative { pos += 1 }
            let name = scanName()
            let value: Double
            switch (name, negative) {
            case ("inf", _): value = negative ? -.infinity : .infinity
            case ("nan", false): value = .nan
            default: throw fail("expected inf, -inf or nan in #Float<...>", at: at)
            }
            try expectClose()
            return .float(value)
        case "Fun":
            throw fail("a local fun (#Fun<...>) cannot be read back: its code and environment are not in the text",
                       at: start)
        default:
            throw fail("unknown form '#\(word)<'", at: start)
        }
    }

    /// `<0.42.0>` (a process of `nonode@nohost`) or `<node@host.42.0>`.
    private mutating func parsePID() throws(TermError) -> PID {
        pos += 1
        let node = try parseNode()
        try expectDot()
        let id = try parseWord(UInt32.self, what: "pid")
        try expectDot()
        let serial = try parseWord(UInt32.self, what: "pid")
        try expectClose()
        return PID(node: node, id: id, serial: serial)
    }

    /// The node part of a pid, port or reference: `0` for `nonode@nohost`, or
    /// an atom, bare (`node@host`) or quoted (`'node@host.example.com'`).
    private mutating func parseNode() throws(TermError) -> Atom {
        let start = pos
        if let c = peek(), isDigit(c) {
            guard scanDecimal() == 0 else {
                throw fail("node index \(bytes[start..<pos].map { String(UnicodeScalar($0)) }.joined()) "
                           + "is known only to the node that printed it; write the node's name, "
                           + "or 0 for nonode@nohost", at: start)
            }
            return .nonode
        }
        return try parseAnyAtom(what: "a node name (an atom, or 0)")
    }

    private mutating func parseWord<T: FixedWidthInteger & UnsignedInteger>(_: T.Type,
                                                                            what: String) throws(TermError) -> T
    {
        let start = pos
        guard let v = scanDecimal(), let w = T(exactly: v) else {
            throw fail("expected a \(what) number (at most \(T.max))", at: start)
        }
        return w
    }

    private mutating func expectDot() throws(TermError) {
        guard peek() == UInt8(ascii: ".") else { throw fail("expected '.', found \(describeHere())") }
        pos += 1
    }

    private mutating func expectClose() throws(TermError) {
        guard peek() == UInt8(ascii: ">") else { throw fail("expected '>', found \(describeHere())") }
        pos += 1
    }

    // MARK: - Scanning

    private func peek(_ ahead: Int = 0) -> UInt8? {
        pos + ahead < bytes.count ? bytes[pos + ahead] : nil
    }

    /// Whitespace (every character up to the space) and `%` comments.
    private mutating func skipSpace() {
        while pos < bytes.count {
            let c = bytes[pos]
            if c <= 0x20 {
                pos += 1
            } else if c == UInt8(ascii: "%") {
                while pos < bytes.count && bytes[pos] != 0x0A { pos += 1 }
            } else {
                return
            }
        }
    }

    /// The scalar starting at byte `i` and its length (the text is valid UTF-8).
    private func scalar(at i: Int) -> (Unicode.Scalar, Int) {
        let b0 = UInt32(bytes[i])
        let n = b0 < 0x80 ? 1 : b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4
        var v = n == 1 ? b0 : b0 & (0x7F >> UInt32(n))
        for k in 1..<n { v = (v << 6) | (UInt32(bytes[i + k]) & 0x3F) }
        return (Unicode.Scalar(v) ?? "\u{FFFD}", n)
    }

    private func describeHere() -> String {
        guard pos < bytes.count else { return "the end of the text" }
        let (s, _) = scalar(at: pos)
        if s.value < 0x20 || s.value == 0x7F {
            let hex = String(s.value, radix: 16, uppercase: true)
            return "U+" + String(repeating: "0", count: 4 - hex.count) + hex
        }
        return "'\(s)'"
    }

    private func fail(_ message: String, at offset: Int? = nil) -> TermError {
        .parse(message: message, offset: offset ?? pos)
    }

    private func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    private func digitValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    private func hexValue(_ c: UInt8) -> UInt8? {
        guard let v = digitValue(c), v < 16 else { return nil }
        return v
    }
}

/// Bits written most significant first, as a binary's segments lay them out.
struct BitWriter {
    private(set) var bytes: [UInt8] = []
    private(set) var bitCount = 0

    /// The low `bits` bits of `value` (at most 64), high bit first.
    mutating func append(_ value: UInt64, bits: Int) {
        var left = bits
        while left > 0 {
            let used = bitCount & 7
            if used == 0 { bytes.append(0) }
            let room = 8 - used
            let take = min(room, left)
            let chunk = UInt8(truncatingIfNeeded: (value >> UInt64(left - take)) & ((1 << UInt64(take)) - 1))
            bytes[bytes.count - 1] |= chunk << UInt8(room - take)
            bitCount += take
            left -= take
        }
    }

    /// `value` modulo 2^bits, in two's complement, big- or little-endian
    /// (little-endian only for whole bytes, or less than one).
    mutating func appendInteger(_ value: BigInteger, bits: Int, little: Bool) {
        guard bits > 0 else { return }
        let width = (bits + 7) / 8
        var le = [UInt8](repeating: 0, count: width)
        for (i, d) in value.magnitude.prefix(width).enumerated() { le[i] = d }
        if value.isNegative {
            var carry: UInt16 = 1
            for i in le.indices {
                let v = UInt16(~le[i]) + carry
                le[i] = UInt8(truncatingIfNeeded: v)
                carry = v >> 8
            }
        }
        if little && bits >= 8 {
            for b in le { append(UInt64(b), bits: 8) }
            return
        }
        append(UInt64(le[width - 1]), bits: bits - 8 * (width - 1))
        for i in stride(from: width - 2, through: 0, by: -1) { append(UInt64(le[i]), bits: 8) }
    }
}
