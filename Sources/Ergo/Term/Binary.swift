/// An immutable Erlang binary.
///
/// Like the BEAM's reference-counted binaries, a large binary decoded from a
/// buffer shares that buffer instead of copying it; small ones are copied so
/// they never keep a large buffer alive. Indices always start at 0.
public struct Binary: Hashable, Sendable, RandomAccessCollection,
    ExpressibleByArrayLiteral, CustomStringConvertible
{
    @usableFromInline let storage: [UInt8]
    @usableFromInline let start: UInt32
    @usableFromInline let length: UInt32

    /// Binaries at least this long share the buffer they were decoded from.
    public static let shareThreshold = 64

    public init() {
        storage = []
        start = 0
        length = 0
    }

    /// A binary holding a copy of `bytes`.
    public init<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        storage = Array(bytes)
        start = 0
        length = UInt32(storage.count)
    }

    /// The UTF-8 bytes of `text`.
    public init(utf8 text: String) { self.init(Array(text.utf8)) }

    public init(arrayLiteral elements: UInt8...) { self.init(elements) }

    /// Buffers no larger than this are shared by all their binaries, small
    /// ones too: pinning a few KiB costs less than a copy per binary.
    public static let smallBufferLimit = 4096

    /// A binary over `range` of `buffer`: shared when large (or when the
    /// whole buffer is small), copied when small, so that a small binary
    /// never keeps a large buffer alive.
    public init(slice range: Range<Int>, of buffer: [UInt8]) {
        precondition(range.count <= Int(UInt32.max), "a binary is at most 4 GiB")
        if range.count < Binary.shareThreshold && buffer.count > Binary.smallBufferLimit {
            storage = Array(buffer[range])
            start = 0
        } else {
            storage = buffer
            start = UInt32(range.lowerBound)
        }
        length = UInt32(range.count)
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { Int(length) }

    @inlinable public subscript(position: Int) -> UInt8 {
        precondition(position >= 0 && position < Int(length), "Binary index out of range")
        return storage[Int(start) + position]
    }

    /// Calls `body` with the binary's bytes (valid only inside the call).
    @inlinable public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes { all in
            try body(UnsafeRawBufferPointer(rebasing: all[Int(start)..<Int(start) + Int(length)]))
        }
    }

    /// The bytes as an array (a copy unless the binary owns its whole buffer).
    public var bytes: [UInt8] {
        start == 0 && Int(length) == storage.count ? storage : Array(storage[Int(start)..<Int(start) + Int(length)])
    }

    /// True when this binary shares a larger buffer (it was not copied).
    public var isShared: Bool { Int(length) != storage.count }

    /// The text, if the bytes are valid UTF-8.
    public var utf8String: String? {
        withUnsafeBytes { String(validating: $0, as: UTF8.self) }
    }

    public static func == (a: Binary, b: Binary) -> Bool {
        a.length == b.length && a.withUnsafeBytes { x in b.withUnsafeBytes { y in x.elementsEqual(y) } }
    }

    public func hash(into hasher: inout Hasher) {
        withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    /// Erlang syntax: `<<"text">>` when printable, else `<<1,2,3>>`.
    public var description: String { TermPrinter.binary(self, bits: 8) }
}

/// A bitstring whose length is not a whole number of bytes (BIT_BINARY_EXT).
public struct BitString: Hashable, Sendable, CustomStringConvertible {
    /// The bytes; the last one holds `bitsInLastByte` bits, high bits first.
    public var bytes: Binary
    /// 1...8.
    public var bitsInLastByte: UInt8

    public init(bytes: Binary, bitsInLastByte: UInt8) {
        precondition(!bytes.isEmpty && (1...8).contains(bitsInLastByte), "a bitstring needs a last byte with 1 to 8 bits")
        self.bytes = bytes
        self.bitsInLastByte = bitsInLastByte
    }

    /// Length in bits.
    public var bitCount: Int { (bytes.count - 1) * 8 + Int(bitsInLastByte) }

    public var description: String { TermPrinter.binary(bytes, bits: Int(bitsInLastByte)) }
}
