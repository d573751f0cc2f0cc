/// A process identifier: `<0.42.0>` locally, `<12345.42.0>` for a remote one
/// (Erlang prints a node index; ``description`` prints the node name).
public struct PID: Hashable, Sendable, CustomStringConvertible {
    public var node: Atom
    public var id: UInt32
    public var serial: UInt32
    public var creation: UInt32

    public init(node: Atom, id: UInt32, serial: UInt32 = 0, creation: UInt32 = 0) {
        self.node = node
        self.id = id
        self.serial = serial
        self.creation = creation
    }

    public var description: String { TermPrinter.pid(self) }
}

/// A port identifier (`#Port<node.id>`).
public struct Port: Hashable, Sendable, CustomStringConvertible {
    public var node: Atom
    public var id: UInt64
    public var creation: UInt32

    public init(node: Atom, id: UInt64, creation: UInt32 = 0) {
        self.node = node
        self.id = id
        self.creation = creation
    }

    public var description: String { TermPrinter.port(self) }
}

/// A reference (`#Ref<node.w1.w2.w3>`): 1 to 5 id words (OTP 25 makes 3, or 4
/// for process-bound references and aliases).
public struct Ref: Hashable, Sendable, CustomStringConvertible {
    public var node: Atom
    public var creation: UInt32
    /// Id words in wire order (least significant first, as ETF holds them).
    public var ids: [UInt32]

    public init(node: Atom, creation: UInt32 = 0, ids: [UInt32]) {
        precondition((1...5).contains(ids.count), "a reference has 1 to 5 id words")
        self.node = node
        self.creation = creation
        self.ids = ids
    }

    /// Erlang prints the words most significant first.
    public var description: String { TermPrinter.ref(self) }

    /// Hashes the id words only (one 64-bit word for the usual 3–4): equal
    /// references have equal words, and the words alone rarely collide.
    public func hash(into hasher: inout Hasher) {
        var folded = UInt64(truncatingIfNeeded: ids.count)
        for (index, word) in ids.enumerated() {
            folded ^= UInt64(word) << ((index & 1) * 32) &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15
        }
        hasher.combine(folded)
    }
}

/// A process alias (OTP 24): a reference that delivers messages to the
/// process that made it while it is active. On the wire it is a reference.
public struct Alias: Hashable, Sendable, CustomStringConvertible {
    public var ref: Ref
    public init(_ ref: Ref) { self.ref = ref }
    public var description: String { ref.description }
}

/// `fun Module:Function/Arity` (EXPORT_EXT).
public struct Export: Hashable, Sendable, CustomStringConvertible {
    public var module: Atom
    public var function: Atom
    public var arity: UInt8

    public init(module: Atom, function: Atom, arity: UInt8) {
        self.module = module
        self.function = function
        self.arity = arity
    }

    public var description: String { TermPrinter.export(self) }
}

/// A local fun (NEW_FUN_EXT), kept whole so it encodes back byte for byte.
/// Swift cannot call it; it can be stored, compared, and sent back.
public struct Fun: Hashable, Sendable, CustomStringConvertible {
    public var module: Atom
    public var arity: UInt8
    /// The 16-byte MD5 of the module's code.
    public var uniq: [UInt8]
    public var index: UInt32
    public var oldIndex: Int64
    public var oldUniq: Int64
    public var pid: PID
    public var freeVariables: [Term]

    public init(module: Atom, arity: UInt8, uniq: [UInt8], index: UInt32,
                oldIndex: Int64, oldUniq: Int64, pid: PID, freeVariables: [Term]) {
        precondition(uniq.count == 16, "a fun's uniq is 16 bytes")
        self.module = module
        self.arity = arity
        self.uniq = uniq
        self.index = index
        self.oldIndex = oldIndex
        self.oldUniq = oldUniq
        self.pid = pid
        self.freeVariables = freeVariables
    }

    public var description: String { TermPrinter.fun(self) }
}
