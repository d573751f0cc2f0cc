/// An integer of any size, as Erlang's bignums: sign and magnitude, the
/// magnitude in little-endian base-256 digits (the form ETF carries).
///
/// ``Term`` keeps integers that fit `Int` as `.int`; `.bigInt` holds only the
/// rest, so each value has one representation.
public struct BigInteger: Hashable, Sendable, CustomStringConvertible, Comparable {
    public let isNegative: Bool
    /// Little-endian digits without trailing zeros (empty for zero).
    public let magnitude: [UInt8]

    public init(isNegative: Bool, magnitude: [UInt8]) {
        var m = magnitude
        while m.last == 0 { m.removeLast() }
        self.magnitude = m
        self.isNegative = isNegative && !m.isEmpty
    }

    public init(_ value: Int) {
        var m: [UInt8] = []
        var u = value.magnitude
        while u != 0 { m.append(UInt8(truncatingIfNeeded: u)); u >>= 8 }
        self.init(isNegative: value < 0, magnitude: m)
    }

    /// Parses decimal digits with an optional leading `-` (or `+`).
    public init?(_ text: some StringProtocol) {
        var digits = Substring(text)
        var negative = false
        if let f = digits.first, f == "-" || f == "+" { negative = f == "-"; digits = digits.dropFirst() }
        guard !digits.isEmpty else { return nil }
        var limbs: [UInt32] = []  // little-endian base 2^32
        for ch in digits.utf8 {
            guard ch >= 48 && ch <= 57 else { return nil }
            var carry = UInt64(ch - 48)
            for i in limbs.indices {
                let v = UInt64(limbs[i]) * 10 + carry
                limbs[i] = UInt32(truncatingIfNeeded: v)
                carry = v >> 32
            }
            if carry != 0 { limbs.append(UInt32(carry)) }
        }
        var m: [UInt8] = []
        for l in limbs { for s in stride(from: 0, to: 32, by: 8) { m.append(UInt8(truncatingIfNeeded: l >> UInt32(s))) } }
        self.init(isNegative: negative, magnitude: m)
    }

    /// The value as `Int`, when it fits.
    public var intValue: Int? {
        guard magnitude.count <= 8 else { return nil }
        var u: UInt64 = 0
        for (i, d) in magnitude.enumerated() { u |= UInt64(d) << (8 * UInt64(i)) }
        if isNegative {
            if u <= UInt64(Int64.max) { return -Int(u) }
            return u == UInt64(Int64.max) + 1 ? Int.min : nil
        }
        return u <= UInt64(Int64.max) ? Int(u) : nil
    }

    /// Decimal digits, with `-` when negative.
    public var description: String {
        if magnitude.isEmpty { return "0" }
        var limbs: [UInt32] = stride(from: 0, to: magnitude.count, by: 4).map { i in
            var v: UInt32 = 0
            for j in 0..<min(4, magnitude.count - i) { v |= UInt32(magnitude[i + j]) << (8 * UInt32(j)) }
            return v
        }
        var chunks: [UInt32] = []  // base 10^9, least significant first
        while !limbs.isEmpty {
            var rem: UInt64 = 0
            for i in stride(from: limbs.count - 1, through: 0, by: -1) {
                let cur = (rem << 32) | UInt64(limbs[i])
                limbs[i] = UInt32(cur / 1_000_000_000)
                rem = cur % 1_000_000_000
            }
            chunks.append(UInt32(rem))
            while limbs.last == 0 { limbs.removeLast() }
        }
        var s = isNegative ? "-" : ""
        s += String(chunks.last!)
        for c in chunks.dropLast().reversed() {
            let d = String(c)
            s += String(repeating: "0", count: 9 - d.count) + d
        }
        return s
    }

    public static func < (a: BigInteger, b: BigInteger) -> Bool {
        if a.isNegative != b.isNegative { return a.isNegative }
        let magLess: Bool
        if a.magnitude.count != b.magnitude.count {
            magLess = a.magnitude.count < b.magnitude.count
        } else {
            magLess = a.magnitude.reversed().lexicographicallyPrecedes(b.magnitude.reversed())
        }
        return a.isNegative ? (a != b && !magLess) : magLess
    }
}
