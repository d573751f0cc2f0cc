// TEMPORARY: replaced by the printer implementation.
enum TermPrinter {
    static func print(_ term: Term) -> String { String(reflecting: term) }
    static func binary(_ b: Binary, bits: Int) -> String { "<<\(b.count) bytes>>" }
}
