import Logging
@testable import Ergo

/// Keeps what a node logs at `minimum` and above, so a test can check that
/// nothing went wrong on the Swift side.
final class LogCapture: Sendable {
    struct Entry: Sendable, CustomStringConvertible {
        let level: Logger.Level
        let message: String
        let metadata: String
        var description: String { "[\(level)] \(message) \(metadata)" }
    }

    private let entries = Locked<[Entry]>([])
    let minimum: Logger.Level

    init(minimum: Logger.Level = .warning) { self.minimum = minimum }

    var logger: Logger {
        Logger(label: "ergo-test") { _ in Handler(capture: self) }
    }

    var captured: [Entry] { entries.withLock { $0 } }

    fileprivate func add(_ entry: Entry) { entries.withLock { $0.append(entry) } }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level

        init(capture: LogCapture) {
            self.capture = capture
            logLevel = capture.minimum
        }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            capture.add(Entry(level: event.level, message: "\(event.message)",
                              metadata: all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")))
        }
    }
}
