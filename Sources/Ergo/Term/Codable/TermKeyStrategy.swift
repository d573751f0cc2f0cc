/// How the names of coding keys (struct fields, enum cases) are spelled in
/// terms. Dictionary keys are data and are never converted.
public enum TermKeyStrategy: Sendable, Hashable {
    /// Names as Swift spells them: `firstName` stays `firstName`.
    case useDefaultKeys
    /// Erlang's spelling: `firstName` is written as `first_name`, and read
    /// back from `first_name`.
    case snakeCase

    /// The name written into a term for a Swift key name.
    func termName(_ swiftName: String) -> String {
        switch self {
        case .useDefaultKeys: return swiftName
        case .snakeCase: return TermKeyStrategy.snakeCased(swiftName)
        }
    }

    /// The Swift key name for a name found in a term, when the key type
    /// cannot be searched (see ``snakeCased(_:)`` for the other direction).
    func swiftName(_ termName: String) -> String {
        switch self {
        case .useDefaultKeys: return termName
        case .snakeCase: return TermKeyStrategy.camelCased(termName)
        }
    }

    /// `first_name` → `firstName`; leading and trailing underscores stay.
    static func camelCased(_ name: String) -> String {
        let core = name.drop(while: { $0 == "_" })
        let lead = name.prefix(name.count - core.count)
        let body = core.reversed().drop(while: { $0 == "_" })
        let trail = core.suffix(core.count - body.count)
        let words = String(body.reversed()).split(separator: "_", omittingEmptySubsequences: true)
        guard let first = words.first else { return name }
        let rest = words.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }
        return lead + first + rest.joined() + trail
    }

    /// `myURLValue` → `my_url_value`. A capital starts a word when it follows
    /// a lowercase letter or digit, or when it is the last capital of a run
    /// that a lowercase letter follows.
    static func snakeCased(_ name: String) -> String {
        let scalars = Array(name.unicodeScalars)
        var out = String.UnicodeScalarView()
        for (i, s) in scalars.enumerated() {
            let upper = s.properties.isUppercase
            if upper && i > 0 && scalars[i - 1] != "_" {
                let prev = scalars[i - 1]
                let next = i + 1 < scalars.count ? scalars[i + 1] : nil
                let prevLowerOrDigit = prev.properties.isLowercase || prev.properties.numericType != nil
                let endsRun = prev.properties.isUppercase && (next?.properties.isLowercase ?? false)
                if prevLowerOrDigit || endsRun { out.append("_") }
            }
            if upper {
                out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
            } else {
                out.append(s)
            }
        }
        return String(out)
    }
}
