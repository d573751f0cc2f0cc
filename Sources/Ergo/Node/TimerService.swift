#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One thread that fires a node's timers (`sendAfter`, receive and call
/// timeouts): a hashed timing wheel of 1 ms ticks, so that arming and
/// cancelling (what every call with a timeout does) cost one lock and one
/// dictionary operation. Timers fire on the first tick at or after their
/// deadline; the thread sleeps while no timer is armed.
final class TimerService: @unchecked Sendable {
    private struct Entry {
        let deadline: UInt64  // tick
        let owner: UInt64
        let action: @Sendable () -> Void
    }

    static let tick: UInt64 = 1_000_000
    private static let slotBits = 10
    private static let slotMask = UInt64(1 << slotBits - 1)

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var slots = [[UInt64: Entry]](repeating: [:], count: 1 << slotBits)
    // Receive timeouts: at most one per process, so the wheel holds processes
    // and each process's armed deadline lives in the process (an atomic the
    // process sets and clears without a lock). A process sits in the slot of
    // the tick at which the thread looks at it next; if its deadline moved
    // later meanwhile, it moves on. `watchedTick` says where each one is.
    private var watchedSlots = [[ProcessCore]](repeating: [], count: 1 << slotBits)
    private var watchedTick: [ObjectIdentifier: UInt64] = [:]
    private var watchRequests: [ProcessCore] = []
    private var byOwner: [UInt64: Set<UInt64>] = [:]
    private var armed = 0
    private var nextSerial: UInt64 = 1
    private var lastTick: UInt64
    private var stopping = false
    /// The thread sleeps without a deadline (no timer armed); only then does
    /// arming one need to wake it: otherwise it wakes at the next tick anyway.
    private var idle = false
    private var thread = pthread_t()

    init() {
        lastTick = Self.now() / Self.tick
        pthread_mutex_init(mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(cond, &attr)
        pthread_condattr_destroy(&attr)
        thread = OSThread.start { [self] in self.run() }
    }

    deinit {
        pthread_mutex_destroy(mutex)
        pthread_cond_destroy(cond)
        mutex.deallocate()
        cond.deallocate()
    }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
        if seconds > 1 << 33 { return UInt64(1) << 62 }
        return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
    }

    /// The first tick at or after `delay` from now.
    static func tick(after delay: Duration) -> UInt64 {
        (now() &+ nanoseconds(delay) &+ tick &- 1) / tick
    }

    /// Asks the thread to look at a process whose receive timeout is armed.
    func watch(_ process: ProcessCore) {
        pthread_mutex_lock(mutex)
        watchRequests.append(process)
        if idle { pthread_cond_signal(cond) }
        pthread_mutex_unlock(mutex)
    }

    /// Files a process under the tick of its deadline (or fires it at once).
    private func place(_ process: ProcessCore, now: UInt64, into due: inout [(ProcessCore, UInt64)]) {
        let token = process.deadline.load(ordering: .sequentiallyConsistent)
        guard token != 0 else { return }
        let tick = token >> 16
        let id = ObjectIdentifier(process)
        if let at = watchedTick[id], at <= tick { return }
        if tick <= now {
            due.append((process, token))
            return
        }
        watchedTick[id] = tick
        watchedSlots[Int(tick & Self.slotMask)].append(process)
        process.watchedAt.store(tick, ordering: .sequentiallyConsistent)
    }

    /// Looks at the processes filed under `tick`: fires those due, moves
    /// those whose deadline moved, forgets those disarmed.
    private func visit(slot: Int, tick: UInt64, into due: inout [(ProcessCore, UInt64)]) {
        guard !watchedSlots[slot].isEmpty else { return }
        let filed = watchedSlots[slot]
        watchedSlots[slot] = []
        for process in filed {
            let id = ObjectIdentifier(process)
            guard let at = watchedTick[id] else { continue }
            if at > tick {  // a later lap round the wheel
                watchedSlots[slot].append(process)
                continue
            }
            watchedTick.removeValue(forKey: id)
            process.watchedAt.store(0, ordering: .sequentiallyConsistent)
            // Seen after clearing `watchedAt`: a process arming now either
            // sees 0 and asks again, or its deadline is seen here.
            place(process, now: tick, into: &due)
        }
    }

    /// Runs `action` on the timer thread after `delay`; `owner` (a process
    /// key, 0 for none) lets `cancelAll(owner:)` drop it. Returns its id.
    func schedule(after delay: Duration, owner: UInt64 = 0, _ action: @escaping @Sendable () -> Void) -> UInt64 {
        let due = (Self.now() &+ Self.nanoseconds(delay) &+ Self.tick &- 1) / Self.tick
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        // A tick the thread has already passed would be seen only a lap later.
        let deadline = max(due, lastTick + 1)
        let slot = deadline & Self.slotMask
        let id = nextSerial << Self.slotBits | slot
        nextSerial += 1
        slots[Int(slot)][id] = Entry(deadline: deadline, owner: owner, action: action)
        if owner != 0 { byOwner[owner, default: []].insert(id) }
        armed += 1
        if idle { pthread_cond_signal(cond) }
        return id
    }

    /// Cancels a timer; false if it already fired or was cancelled.
    @discardableResult
    func cancel(_ id: UInt64) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return removeLocked(id) != nil
    }

    private func removeLocked(_ id: UInt64) -> Entry? {
        guard let entry = slots[Int(id & Self.slotMask)].removeValue(forKey: id) else { return nil }
        armed -= 1
        if entry.owner != 0 { forget(id, owner: entry.owner) }
        return entry
    }

    private func forget(_ id: UInt64, owner: UInt64) {
        guard var ids = byOwner[owner] else { return }
        ids.remove(id)
        byOwner[owner] = ids.isEmpty ? nil : ids
    }

    /// Cancels every timer that targets a process.
    func cancelAll(owner: UInt64) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard let ids = byOwner.removeValue(forKey: owner) else { return }
        for id in ids where slots[Int(id & Self.slotMask)].removeValue(forKey: id) != nil { armed -= 1 }
    }

    /// Timers armed and not yet fired.
    var count: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return armed
    }

    func shutdown() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_signal(cond)
        pthread_mutex_unlock(mutex)
        pthread_join(thread, nil)
        // Drop what the wheel still holds: timer actions capture the node,
        // and watched processes hold it too, so both would keep the stopped
        // node alive (a cycle through `Node.timers`).
        pthread_mutex_lock(mutex)
        for slot in slots.indices { slots[slot].removeAll() }
        for slot in watchedSlots.indices { watchedSlots[slot].removeAll() }
        watchedTick.removeAll()
        watchRequests.removeAll()
        byOwner.removeAll()
        armed = 0
        pthread_mutex_unlock(mutex)
    }

    private func run() {
        var due: [@Sendable () -> Void] = []
        var timeouts: [(ProcessCore, UInt64)] = []
        pthread_mutex_lock(mutex)
        while !stopping {
            if !watchRequests.isEmpty {
                let requests = watchRequests
                watchRequests.removeAll(keepingCapacity: true)
                let now = Self.now() / Self.tick
                for process in requests { place(process, now: now, into: &timeouts) }
            }
            if armed == 0 && watchedTick.isEmpty && timeouts.isEmpty {
                idle = true
                pthread_cond_wait(cond, mutex)
                idle = false
                // `lastTick` stays: timers armed while idle may already be due,
                // and the ticks since are visited (no more than one lap).
                continue
            }
            let nowTick = Self.now() / Self.tick
            if nowTick > lastTick {
                let span = min(nowTick - lastTick, Self.slotMask + 1)
                for step in 1...span {
                    let tick = nowTick - span + step
                    collect(slot: Int(tick & Self.slotMask), upTo: nowTick, into: &due)
                    visit(slot: Int(tick & Self.slotMask), tick: tick, into: &timeouts)
                }
                lastTick = nowTick
            }
            if !due.isEmpty || !timeouts.isEmpty {
                pthread_mutex_unlock(mutex)
                for action in due { action() }
                for (process, token) in timeouts { process.deliver(.timeout(token)) }
                due.removeAll(keepingCapacity: true)
                timeouts.removeAll(keepingCapacity: true)
                pthread_mutex_lock(mutex)
                continue
            }
            let next = (lastTick + 1) * Self.tick
            var ts = timespec(tv_sec: Int(next / 1_000_000_000), tv_nsec: Int(next % 1_000_000_000))
            pthread_cond_timedwait(cond, mutex, &ts)
        }
        pthread_mutex_unlock(mutex)
    }

    private func collect(slot: Int, upTo tick: UInt64, into due: inout [@Sendable () -> Void]) {
        guard !slots[slot].isEmpty else { return }
        // In the order they were set (ids grow): timers due in one tick would
        // otherwise fire in the dictionary's order.
        let ids = slots[slot].compactMap { $0.value.deadline <= tick ? $0.key : nil }.sorted()
        for id in ids {
            guard let entry = slots[slot].removeValue(forKey: id) else { continue }
            armed -= 1
            if entry.owner != 0 { forget(id, owner: entry.owner) }
            due.append(entry.action)
        }
    }
}
