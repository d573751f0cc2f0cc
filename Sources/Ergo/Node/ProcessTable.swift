/// The node's live processes, by pid: shards of dictionaries under their own
/// locks, so lookups from many threads rarely meet.
final class ProcessTable: Sendable {
    private static let shardCount = 64
    private let shards: [Locked<[UInt64: ProcessCore]>]

    init() {
        shards = (0..<Self.shardCount).map { _ in Locked([:]) }
    }

    static func key(_ pid: PID) -> UInt64 { UInt64(pid.serial) << 32 | UInt64(pid.id) }

    private func shard(_ key: UInt64) -> Locked<[UInt64: ProcessCore]> {
        shards[Int(truncatingIfNeeded: key) & (Self.shardCount - 1)]
    }

    func insert(_ process: ProcessCore) {
        let key = Self.key(process.pid)
        shard(key).withLock { $0[key] = process }
    }

    func remove(_ pid: PID) {
        let key = Self.key(pid)
        shard(key).withLock { _ = $0.removeValue(forKey: key) }
    }

    func lookup(key: UInt64) -> ProcessCore? {
        shard(key).withLock { $0[key] }
    }

    /// The process with exactly this pid (node and creation included).
    func lookup(_ pid: PID) -> ProcessCore? {
        guard let process = lookup(key: Self.key(pid)), process.pid == pid else { return nil }
        return process
    }

    var all: [ProcessCore] {
        shards.flatMap { shard in shard.withLock { Array($0.values) } }
    }

    var count: Int { shards.reduce(0) { sum, shard in sum + shard.withLock { $0.count } } }
}

/// Registered names: unique, and freed when their process exits.
final class Registry: Sendable {
    private struct Names {
        var byName: [Atom: PID] = [:]
        var byPid: [PID: Atom] = [:]
    }
    private let names = Locked(Names())

    func register(_ name: Atom, _ pid: PID) throws(ProcessError) {
        let failure = names.withLock { (names: inout Names) -> ProcessError? in
            if let holder = names.byName[name] { return .alreadyRegistered(name, holder) }
            if let other = names.byPid[pid] { return .alreadyNamed(pid, other) }
            names.byName[name] = pid
            names.byPid[pid] = name
            return nil
        }
        if let failure { throw failure }
    }

    /// Removes the name; false if it was not registered.
    @discardableResult
    func unregister(_ name: Atom) -> Bool {
        names.withLock { names in
            guard let pid = names.byName.removeValue(forKey: name) else { return false }
            names.byPid.removeValue(forKey: pid)
            return true
        }
    }

    /// Frees the name of a process that exited.
    func remove(_ pid: PID) {
        names.withLock { names in
            if let name = names.byPid.removeValue(forKey: pid) { names.byName.removeValue(forKey: name) }
        }
    }

    func whereis(_ name: Atom) -> PID? { names.withLock { $0.byName[name] } }
    func name(of pid: PID) -> Atom? { names.withLock { $0.byPid[pid] } }
    var registered: [Atom] { names.withLock { Array($0.byName.keys) } }
}
