import CErgoCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An error of the event loop: an `ERGO_LOOP_E_*` code or a negated errno
/// from a system call, as `ergo_loop.h` returns them. The only place Swift
/// turns loop codes into errors.
public struct LoopError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The C code (negative).
    public let code: Int32

    public init(code: Int32) { self.code = code }

    /// `ergo_loop_strerror`'s name for the code ("busy", "Connection refused", ...).
    public var description: String { String(cString: ergo_loop_strerror(code)) }

    /// The send queue is over its byte limit: back off until `onWritable`.
    public static let busy = LoopError(code: Int32(ERGO_LOOP_E_BUSY))
    /// No such connection or listener (closed, or never existed).
    public static let stale = LoopError(code: Int32(ERGO_LOOP_E_STALE))
    public static let closed = LoopError(code: Int32(ERGO_LOOP_E_CLOSED))
    public static let timeout = LoopError(code: Int32(ERGO_LOOP_E_TIMEOUT))
    public static let tickTimeout = LoopError(code: Int32(ERGO_LOOP_E_TICK_TIMEOUT))
    public static let tooBig = LoopError(code: Int32(ERGO_LOOP_E_TOO_BIG))
    public static let unsupported = LoopError(code: Int32(ERGO_LOOP_E_UNSUPPORTED))
    public static let limit = LoopError(code: Int32(ERGO_LOOP_E_LIMIT))
    public static let argument = LoopError(code: Int32(ERGO_LOOP_E_ARG))
    public static let address = LoopError(code: Int32(ERGO_LOOP_E_ADDR))
    public static let state = LoopError(code: Int32(ERGO_LOOP_E_STATE))
    public static let connectionRefused = LoopError(code: -ECONNREFUSED)
    public static let addressInUse = LoopError(code: -EADDRINUSE)

    /// Turns a C result into `()` or a thrown `LoopError`.
    @inline(__always)
    static func check(_ rc: Int32) throws(LoopError) {
        if rc < 0 { throw LoopError(code: rc) }
    }
}
