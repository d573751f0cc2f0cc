#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// How leaf values (primitives, term types, bytes) are read from terms.

extension TermDecodingContext {
    /// Types read without `init(from:)`: Swift's primitives, the term types
    /// themselves, and bytes.
    func leafValue<T>(_ term: Term, as type: T.Type, at path: () -> [any CodingKey]) throws -> T? {
        if T.self == String.self { return try string(term, at: path()) as? T }
        if T.self == Int.self { return try integer(term, as: Int.self, at: path()) as? T }
        if T.self == Bool.self { return try bool(term, at: path()) as? T }
        if T.self == Double.self { return try double(term, at: path()) as? T }
        if T.self == Term.self { return term as? T }
        if T.self == Atom.self { return try atom(term, at: path()) as? T }
        if T.self == Binary.self { return try binary(term, at: path()) as? T }
        if T.self == [UInt8].self { return try bytes(term, as: [UInt8].self, at: path()) as? T }
        if T.self == Data.self { return try Data(bytes(term, as: Data.self, at: path())) as? T }
        if T.self == Float.self { return try float(term, at: path()) as? T }
        if T.self == Int8.self { return try integer(term, as: Int8.self, at: path()) as? T }
        if T.self == Int16.self { return try integer(term, as: Int16.self, at: path()) as? T }
        if T.self == Int32.self { return try integer(term, as: Int32.self, at: path()) as? T }
        if T.self == Int64.self { return try integer(term, as: Int64.self, at: path()) as? T }
        if T.self == UInt.self { return try integer(term, as: UInt.self, at: path()) as? T }
        if T.self == UInt8.self { return try integer(term, as: UInt8.self, at: path()) as? T }
        if T.self == UInt16.self { return try integer(term, as: UInt16.self, at: path()) as? T }
        if T.self == UInt32.self { return try integer(term, as: UInt32.self, at: path()) as? T }
        if T.self == UInt64.self { return try integer(term, as: UInt64.self, at: path()) as? T }
        if T.self == BigInteger.self { return try bigInteger(term, at: path()) as? T }
        if T.self == PID.self {
            guard case let .pid(v) = term else { throw mismatch(PID.self, expected: "a pid", found: term, at: path()) }
            return v as? T
        }
        if T.self == Ref.self {
            guard case let .ref(v) = term else { throw mismatch(Ref.self, expected: "a reference", found: term, at: path()) }
            return v as? T
        }
        if T.self == Alias.self {
            guard case let .ref(v) = term else { throw mismatch(Alias.self, expected: "an alias (a reference)", found: term, at: path()) }
            return Alias(v) as? T
        }
        if T.self == Port.self {
            guard case let .port(v) = term else { throw mismatch(Port.self, expected: "a port", found: term, at: path()) }
            return v as? T
        }
        if T.self == TermMap.self {
            guard case let .map(v) = term else { throw mismatch(TermMap.self, expected: "a map", found: term, at: path()) }
            return v as? T
        }
        if T.self == BitString.self {
            guard case let .bitString(v) = term else { throw mismatch(BitString.self, expected: "a bitstring", found: term, at: path()) }
            return v as? T
        }
        if T.self == Export.self {
            guard case let .export(v) = term else { throw mismatch(Export.self, expected: "an external fun", found: term, at: path()) }
            return v as? T
        }
        if T.self == Fun.self {
            guard case let .fun(v) = term else { throw mismatch(Fun.self, expected: "a fun", found: term, at: path()) }
            return v as? T
        }
        if #available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *) {
            if T.self == Int128.self { return try integer(term, as: Int128.self, at: path()) as? T }
            if T.self == UInt128.self { return try integer(term, as: UInt128.self, at: path()) as? T }
        }
        return nil
    }

    // MARK: Leaves

    /// A binary (UTF-8), a charlist (code points; `[]` is ""), or an atom
    /// (its name).
    func string(_ term: Term, at path: @autoclosure () -> [any CodingKey]) throws -> String {
        switch term {
        case let .binary(b):
            guard let s = b.utf8String else {
                throw DecodingError.dataCorrupted(.init(
                    codingPath: path(), debugDescription: "expected a string, found a binary that is not UTF-8: \(TermSummary.describe(term))"))
            }
            return s
        case let .list(items):
            var scalars = String.UnicodeScalarView()
            for item in items {
                guard case let .int(i) = item, let u = UInt32(exactly: i), let s = Unicode.Scalar(u) else {
                    throw mismatch(String.self, expected: "a string (a binary, a charlist or an atom), but the list holds \(TermSummary.describe(item))",
                                   found: term, at: path())
                }
                scalars.append(s)
            }
            return String(scalars)
        case let .atom(a):
            return a.name
        default:
            throw mismatch(String.self, expected: "a string (a binary, a charlist or an atom)", found: term, at: path())
        }
    }

    func bool(_ term: Term, at path: @autoclosure () -> [any CodingKey]) throws -> Bool {
        if case let .atom(a) = term {
            if a == .true { return true }
            if a == .false { return false }
        }
        throw mismatch(Bool.self, expected: "true or false", found: term, at: path())
    }

    func integer<I: FixedWidthInteger>(_ term: Term, as type: I.Type, at path: @autoclosure () -> [any CodingKey]) throws -> I {
        switch term {
        case let .int(i):
            if let v = I(exactly: i) { return v }
        case let .bigInt(b):
            if let v = Self.fixedWidth(b, as: I.self) { return v }
        default:
            throw mismatch(I.self, expected: "an integer", found: term, at: path())
        }
        throw DecodingError.dataCorrupted(.init(
            codingPath: path(),
            debugDescription: "integer \(term.integerText) does not fit \(I.self) (\(I.min)...\(I.max))"))
    }

    static func fixedWidth<I: FixedWidthInteger>(_ b: BigInteger, as type: I.Type) -> I? {
        if b.isNegative && !I.isSigned { return nil }
        guard b.magnitude.count * 8 <= I.bitWidth else { return nil }
        var magnitude: I.Magnitude = 0
        for d in b.magnitude.reversed() { magnitude = magnitude << 8 | I.Magnitude(d) }
        if !b.isNegative { return I(exactly: magnitude) }
        if magnitude == I.min.magnitude { return I.min }
        return I(exactly: magnitude).map { 0 - $0 }
    }

    func bigInteger(_ term: Term, at path: @autoclosure () -> [any CodingKey]) throws -> BigInteger {
        switch term {
        case let .int(i): return BigInteger(i)
        case let .bigInt(b): return b
        default: throw mismatch(BigInteger.self, expected: "an integer", found: term, at: path())
        }
    }

    /// A float, or an integer the `Double` holds exactly.
    func double(_ term: Term, at path: @autoclosure () -> [any CodingKey]) throws -> Double {
        switch term {
        case let .float(d):
            return d
        case let .int(i):
            if let d = Double(exactly: i) { return d }
            throw DecodingError.dataCorrupted(.init(
                codingPath: path(), debugDescription: "integer \(i) has no exact Double"))
        default:
            throw mismatch(Double.self, expected: "a float (or an integer)", found: term, at: path())
        }
    }

    func float(_ term: Term, at path: @autoclosure () -> [any CodingKey]) throws -> Float {
        switch term {
        case let .float(d):
            let f = Float(d)
            if f.isFinite { return f }
            throw DecodingError.dataCorrupted(.init(
                codingPath: path(), debugDescription: "float \(d) does not fit Float"))
        case let .int(i):
            if let f = Float(exactly: i) { return f }
            throw DecodingError.dataCorrupted(.init(
                codingPath: path(), debugDescription: "integer \(i) has no exact Float"))
        default:
            throw mismatch(Float.self, expected: "a float (or an integer)", found: term, at: path())
        }
    }

    func atom(_ term: Term, at path: @autoclosure () -> [any CodingKey]) throws -> Atom {
        guard case let .atom(a) = term else { throw mismatch(Atom.self, expected: "an atom", found: term, at: path()) }
        return a
    }

    func binary(_ term: Term, at path: @autoclosure () -> [any CodingKey]) throws -> Binary {
        guard case let .binary(b) = term else { throw mismatch(Binary.self, expected: "a binary", found: term, at: path()) }
        return b
    }

    /// A binary, or a list of integers 0...255.
    func bytes<T>(_ term: Term, as type: T.Type, at path: @autoclosure () -> [any CodingKey]) throws -> [UInt8] {
        switch term {
        case let .binary(b):
            return b.bytes
        case let .list(items):
            var out: [UInt8] = []
            out.reserveCapacity(items.count)
            for (n, item) in items.enumerated() {
                guard case let .int(i) = item, let byte = UInt8(exactly: i) else {
                    throw mismatch(UInt8.self, expected: "a byte (0...255)", found: item,
                                   at: path() + [TermCodingKey(index: n)])
                }
                out.append(byte)
            }
            return out
        default:
            throw mismatch(T.self, expected: "a binary (or a list of bytes)", found: term, at: path())
        }
    }
}
