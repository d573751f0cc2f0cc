#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// The executor every process of a node runs on: a fixed set of worker
/// threads.
///
/// Wake-ups between threads cost microseconds, so the scheduler keeps a woken
/// process on the thread that woke it where it can:
/// - A job enqueued from a worker goes into that worker's `next` slot and runs
///   as soon as the current job suspends (a call's server, then its client,
///   run back to back on one thread). The job it displaces goes to the shared
///   queue, where an idle worker can take it.
/// - Jobs enqueued from other threads go to the shared queue.
/// - An idle worker spins briefly before it parks.
/// - After `fairnessBudget` `next` jobs in a row a worker serves the shared
///   queue first, so a ping-pong pair cannot starve the others.
/// - A monitor thread moves a `next` job that has waited behind a long-running
///   job to the shared queue and wakes a worker for it.
final class Scheduler: TaskExecutor, @unchecked Sendable {
    /// One worker thread's slots.
    final class Worker: @unchecked Sendable {
        /// The job to run next (the bits of an `UnownedJob`, or 0).
        let next = Atomic<UInt>(0)
        /// Jobs started; the monitor reads it to find a worker stuck in one job.
        let started = Atomic<UInt>(0)
        /// Touched by its own thread only.
        var streak = 0
        unowned let scheduler: Scheduler
        init(scheduler: Scheduler) { self.scheduler = scheduler }
    }

    static let fairnessBudget = 64
    static let spinRounds = 64

    let workerCount: Int
    private var workers: [Worker] = []
    private var threads: [pthread_t] = []

    // The shared queue, its lock and the parking condition.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var shared: [UInt] = []
    private var sharedHead = 0
    private var sleepers = 0
    private var stopping = false
    /// Mirrors the shared queue's length for lock-free peeks.
    private let sharedCount = Atomic<Int>(0)
    /// Workers not parked; the monitor sleeps while it is 0.
    private let busy = Atomic<Int>(0)
    private let monitorWake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    /// The thread-local worker of the current thread (any scheduler).
    private nonisolated(unsafe) static var currentKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    init(threads count: Int) {
        precondition(MemoryLayout<UnownedJob>.size == MemoryLayout<UInt>.size)
        workerCount = max(1, count)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        pthread_cond_init(monitorWake, nil)
        workers = (0..<workerCount).map { _ in Worker(scheduler: self) }
        for worker in workers {
            threads.append(OSThread.start { [self] in self.run(worker) })
        }
        threads.append(OSThread.start { [self] in self.monitor() })
    }

    deinit {
        pthread_mutex_destroy(mutex)
        pthread_cond_destroy(wake)
        pthread_cond_destroy(monitorWake)
        mutex.deallocate()
        wake.deallocate()
        monitorWake.deallocate()
    }

    /// Stops the threads once the jobs queued now have run; waits for them.
    func shutdown() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_broadcast(wake)
        pthread_cond_broadcast(monitorWake)
        pthread_mutex_unlock(mutex)
        let me = pthread_self()
        for thread in threads where pthread_equal(thread, me) == 0 {
            pthread_join(thread, nil)
        }
    }

    /// Whether the calling thread is one of this scheduler's workers.
    var isCurrent: Bool { currentWorker != nil }

    private var currentWorker: Worker? {
        guard let raw = pthread_getspecific(Self.currentKey) else { return nil }
        let worker = Unmanaged<Worker>.fromOpaque(raw).takeUnretainedValue()
        return worker.scheduler === self ? worker : nil
    }

    // MARK: TaskExecutor

    func enqueue(_ job: consuming ExecutorJob) {
        let bits = unsafeBitCast(UnownedJob(job), to: UInt.self)
        if let worker = currentWorker {
            let displaced = worker.next.exchange(bits, ordering: .acquiringAndReleasing)
            if displaced != 0 { pushShared(displaced) }
        } else {
            pushShared(bits)
        }
    }

    // MARK: workers

    private func pushShared(_ bits: UInt) {
        pthread_mutex_lock(mutex)
        shared.append(bits)
        sharedCount.add(1, ordering: .releasing)
        if sleepers > 0 { pthread_cond_signal(wake) }
        pthread_mutex_unlock(mutex)
    }

    private func popShared() -> UInt {
        if sharedCount.load(ordering: .acquiring) == 0 { return 0 }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return popSharedLocked()
    }

    private func popSharedLocked() -> UInt {
        guard sharedHead < shared.count else { return 0 }
        let bits = shared[sharedHead]
        sharedHead += 1
        sharedCount.subtract(1, ordering: .releasing)
        if sharedHead == shared.count {
            shared.removeAll(keepingCapacity: shared.count <= 4096)
            sharedHead = 0
        } else if sharedHead >= 1024 && sharedHead * 2 >= shared.count {
            shared.removeFirst(sharedHead)
            sharedHead = 0
        }
        return bits
    }

    private func run(_ worker: Worker) {
        pthread_setspecific(Self.currentKey, Unmanaged.passUnretained(worker).toOpaque())
        busy.add(1, ordering: .relaxed)
        let executor = asUnownedTaskExecutor()
        while true {
            var bits: UInt = 0
            if worker.streak >= Self.fairnessBudget {
                worker.streak = 0
                bits = popShared()
                if bits != 0 {
                    let waiting = worker.next.exchange(0, ordering: .acquiringAndReleasing)
                    if waiting != 0 { pushShared(waiting) }
                }
            }
            if bits == 0 {
                bits = worker.next.exchange(0, ordering: .acquiringAndReleasing)
                if bits != 0 { worker.streak += 1 } else { worker.streak = 0 }
            }
            if bits == 0 { bits = popShared() }
            if bits == 0 { bits = spinThenPark(worker) }
            if bits == UInt.max { break }
            worker.started.add(1, ordering: .relaxed)
            unsafeBitCast(bits, to: UnownedJob.self).runSynchronously(on: executor)
        }
        busy.subtract(1, ordering: .relaxed)
        pthread_setspecific(Self.currentKey, nil)
    }

    /// Returns a job, or `UInt.max` when the scheduler stops.
    private func spinThenPark(_ worker: Worker) -> UInt {
        for _ in 0..<Self.spinRounds {
            if sharedCount.load(ordering: .relaxed) > 0 { break }
            sched_yield()
        }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while true {
            let bits = popSharedLocked()
            if bits != 0 { return bits }
            if stopping { return UInt.max }
            sleepers += 1
            busy.subtract(1, ordering: .relaxed)
            pthread_cond_signal(monitorWake)
            pthread_cond_wait(wake, mutex)
            busy.add(1, ordering: .relaxed)
            sleepers -= 1
            pthread_cond_signal(monitorWake)
        }
    }

    // MARK: monitor

    /// Moves `next` jobs stuck behind a long job to the shared queue. It
    /// sleeps while there is nobody to hand work to; otherwise it looks every
    /// 200 µs, backing off to 5 ms while it finds nothing to move.
    private func monitor() {
        var seen = [UInt](repeating: 0, count: workers.count)
        var interval = 200_000
        pthread_mutex_lock(mutex)
        while !stopping {
            if busy.load(ordering: .relaxed) == 0 || sleepers == 0 {
                pthread_cond_wait(monitorWake, mutex)
                interval = 200_000
                continue
            }
            pthread_mutex_unlock(mutex)
            var pause = timespec(tv_sec: 0, tv_nsec: interval)
            nanosleep(&pause, nil)
            var moved = false
            for (index, worker) in workers.enumerated() {
                let started = worker.started.load(ordering: .relaxed)
                if started == seen[index], worker.next.load(ordering: .relaxed) != 0 {
                    let bits = worker.next.exchange(0, ordering: .acquiringAndReleasing)
                    if bits != 0 { pushShared(bits); moved = true }
                }
                seen[index] = started
            }
            interval = moved ? 200_000 : min(interval * 2, 5_000_000)
            pthread_mutex_lock(mutex)
        }
        pthread_mutex_unlock(mutex)
    }
}
