import CErgoCore

/// The External Term Format: Erlang's binary encoding of terms
/// (`term_to_binary` / `binary_to_term`). The bytes are handled by the C core;
/// this is the Swift face of it.
///
/// ```swift
/// let bytes = try ETF.encode(["ok", 42])          // <<131,108,...>>
/// let term  = try ETF.decode(bytes)               // [ok,42]
/// ```
///
/// For many terms in a row, an ``ETFCodec`` reuses its memory.
public enum ETF {
    /// Limits applied while decoding untrusted bytes. Every field has the
    /// default ERTS-like value; lower them for stricter peers.
    public struct DecodeOptions: Sendable, Equatable {
        /// Deepest container nesting accepted.
        public var maxDepth: Int = 1024
        /// Most nodes (terms and sub-terms) in one decoded term.
        public var maxNodes: Int = 1 << 26
        /// Most bytes a compressed term may inflate to.
        public var maxInflatedBytes: Int = 64 << 20
        /// Most characters per atom (ERTS: 255).
        public var maxAtomCharacters: Int = 255
        /// Atoms an ATOM_CACHE_REF may name (the distribution header's cache).
        public var atomCache: [Atom] = []
        /// Whether the input starts with the version byte 131.
        public var expectsVersionByte: Bool = true

        public init() {}
    }

    /// Choices when encoding.
    public struct EncodeOptions: Sendable, Equatable {
        /// zlib level 0...9 to compress the term as `term_to_binary(T,
        /// [{compressed, Level}])` does; nil (the default) leaves it plain.
        /// As in Erlang, the plain form is kept when compressing does not
        /// make it smaller.
        public var compressionLevel: Int? = nil
        /// Whether to write the version byte 131 first.
        public var writesVersionByte: Bool = true
        /// Most bytes the encoding may take.
        public var maxBytes: Int = 1 << 30

        public init() {}
        public init(compressionLevel: Int?) { self.compressionLevel = compressionLevel }
    }

    /// Decodes one term; the whole input must be that term.
    /// Large binaries in the result share `bytes` rather than copying it.
    public static func decode(_ bytes: [UInt8], options: DecodeOptions = .init()) throws(TermError) -> Term {
        try ETFCodec(decodeOptions: options).decode(bytes)
    }

    /// Encodes one term.
    public static func encode(_ term: Term, options: EncodeOptions = .init()) throws(TermError) -> [UInt8] {
        try ETFCodec(encodeOptions: options).encode(term)
    }
}

extension TermError {
    /// The one place a C codec status becomes a Swift error.
    static func decoding(_ code: Int32, offset: Int) -> TermError {
        .decode(code: code, reason: String(cString: ergo_etf_strerror(code)), offset: offset)
    }

    static func encoding(_ code: Int32) -> TermError {
        .encode(code: code, reason: String(cString: ergo_etf_strerror(code)))
    }
}
