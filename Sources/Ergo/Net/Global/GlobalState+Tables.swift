/// The lock and name tables, with OTP's rules (`handle_set_lock`,
/// `handle_del_lock`, `ins_name`, `exchange_names`, `do_ops`).
extension GlobalState {
    // MARK: locks

    /// Sets `id` for `pid`: free, or held by the same requester id.
    mutating func setLock(_ id: LockID, for pid: PID, _ process: ProcessContext) -> Bool {
        if var lock = locks.byResource[id.resource] {
            guard lock.requester == id.requester else { return false }
            if lock.holders[pid] == nil { lock.holders[pid] = process.monitor(pid) }
            locks.byResource[id.resource] = lock
        } else {
            locks.byResource[id.resource] = .init(requester: id.requester, holders: [pid: process.monitor(pid)])
        }
        return true
    }

    mutating func deleteLock(_ id: LockID, for pid: PID, _ process: ProcessContext) {
        guard var lock = locks.byResource[id.resource], lock.requester == id.requester,
              let ref = lock.holders.removeValue(forKey: pid) else { return }
        _ = process.demonitor(ref, flush: true)
        locks.byResource[id.resource] = lock.holders.isEmpty ? nil : lock
    }

    // MARK: names

    mutating func registerName(_ name: Term, pid: Term, method: Term, _ process: ProcessContext) {
        guard case .pid(let pid) = pid else { return }
        deleteName(name, process)
        names.byName[name] = .init(pid: pid, method: method, monitor: process.monitor(pid))
    }

    mutating func deleteName(_ name: Term, _ process: ProcessContext) {
        guard let entry = names.byName.removeValue(forKey: name) else { return }
        _ = process.demonitor(entry.monitor, flush: true)
    }

    /// A monitored lock holder or name owner is gone.
    mutating func down(_ ref: Ref) {
        for (resource, var lock) in locks.byResource {
            guard let pid = lock.holders.first(where: { $0.value == ref })?.key else { continue }
            lock.holders[pid] = nil
            locks.byResource[resource] = lock.holders.isEmpty ? nil : lock
        }
        for (name, entry) in names.byName where entry.monitor == ref { names.byName[name] = nil }
    }

    /// Compares the peer's names with ours (`exchange_names`): names new
    /// here become inserts; a clash is resolved by the smaller node. Returns
    /// our operations and the ones the peer must run (`Resolved`).
    func exchangeNames(_ theirs: Term, with peer: Atom, me: Atom, _ log: (String) -> Void) -> (ops: [Term], resolved: [Term]) {
        guard case .list(let list) = theirs else { return ([], []) }
        var ops: [Term] = []
        for item in list {
            guard case .tuple(let e) = item, e.count == 3, case .pid(let pid) = e[1] else { continue }
            let insert = Term.tuple([.atom("insert"), item])
            guard let ours = names.byName[e[0]] else {
                ops.append(insert)
                continue
            }
            if ours.pid == pid { continue }
            // The smaller node resolves a clash. OTP calls the resolve fun
            // by rpc on the owner's node; an Erlang fun cannot run here, so
            // we do what OTP does when that rpc fails: take theirs.
            if me < peer {
                log("global: name clash on \(TermPrinter.print(e[0])) with \(peer), keeping \(pid)")
                ops.append(insert)
            }
        }
        return (ops, [])
    }

    /// Runs `{insert, {Name, Pid, Method}}` and `{delete, Name}` operations.
    mutating func apply(_ ops: [Term], _ process: ProcessContext) {
        for op in ops {
            guard case .tuple(let e) = op, e.count == 2 else { continue }
            switch e[0] {
            case .atom("insert"):
                if case .tuple(let n) = e[1], n.count == 3 { registerName(n[0], pid: n[1], method: n[2], process) }
            case .atom("delete"):
                deleteName(e[1], process)
            default:
                continue
            }
        }
    }
}
