#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// The executor every process of a node runs on: a fixed set of worker
/// threads, scheduled the way Go's runtime and BEAM's schedulers are.
///
/// Wake-ups between threads cost microseconds, so a woken process stays on
/// the thread that woke it where it can:
/// - A job enqueued from a worker goes into that worker's `next` slot and runs
///   as soon as the current job suspends (a call's server, then its client,
///   run back to back on one thread). The job it displaces goes to the
///   worker's own queue.
/// - Jobs enqueued from other threads go to the shared queue.
/// - A worker out of work takes from the shared queue, then steals from the
///   other workers' queues, spins briefly, and only then parks. A parked
///   worker is woken when work lands where it could take it.
/// - After `fairnessBudget` `next` jobs in a row a worker serves its queue
///   first, so a ping-pong pair cannot starve the others; every
///   `sharedInterval` jobs it looks at the shared queue first.
/// - A monitor thread moves a `next` job that has waited behind one
///   long-running job (no job started on that worker for a monitor period)
///   to the shared queue and wakes a worker for it: a time slice.
final class Scheduler: TaskExecutor, @unchecked Sendable {
    /// One worker thread's slots.
    final class Worker: @unchecked Sendable {
        /// The job to run next (the bits of an `UnownedJob`, or 0).
        let next = Atomic<UInt>(0)
        /// Jobs started; the monitor reads it to find a worker stuck in one job.
        let started = Atomic<UInt>(0)
        let local = JobQueue()
        /// Touched by its own thread only.
        var streak = 0
        var ticks = 0
        unowned let scheduler: Scheduler
        init(scheduler: Scheduler) { self.scheduler = scheduler }
    }

    static let fairnessBudget = 64
    static let sharedInterval = 61
    static let spinRounds = 16

    let workerCount: Int
    private var workers: [Worker] = []
    private var threads: [pthread_t] = []
    private let shared = JobQueue()

    // Parking: a mutex and condition, the parked count, and a mirror of it.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var sleepers = 0
    private var stopping = false
    private let parked = Atomic<Int>(0)
    /// Workers looking for work (not parked, not running a job).
    private let spinning = Atomic<Int>(0)
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
            if displaced != 0 {
                worker.local.push(displaced)
                wakeIfIdle()
            }
        } else {
            shared.push(bits)
            wakeIfIdle()
        }
    }

    /// Wakes a parked worker when work became available and no worker is
    /// already looking for it.
    private func wakeIfIdle() {
        guard parked.load(ordering: .sequentiallyConsistent) > 0,
              spinning.load(ordering: .sequentiallyConsistent) == 0 else { return }
        pthread_mutex_lock(mutex)
        if sleepers > 0 { pthread_cond_signal(wake) }
        pthread_mutex_unlock(mutex)
    }

    // MARK: workers

    private func run(_ worker: Worker) {
        pthread_setspecific(Self.currentKey, Unmanaged.passUnretained(worker).toOpaque())
        busy.add(1, ordering: .relaxed)
        let executor = asUnownedTaskExecutor()
        while true {
            var bits = findJob(worker)
            if bits == 0 { bits = spinThenPark(worker) }
            if bits == UInt.max { break }
            worker.started.add(1, ordering: .relaxed)
            unsafeBitCast(bits, to: UnownedJob.self).runSynchronously(on: executor)
        }
        busy.subtract(1, ordering: .relaxed)
        pthread_setspecific(Self.currentKey, nil)
    }

    /// The next job for this worker, or 0.
    private func findJob(_ worker: Worker) -> UInt {
        worker.ticks &+= 1
        if worker.ticks % Self.sharedInterval == 0 {
            let bits = shared.pop()
            if bits != 0 { return bits }
        }
        if worker.streak >= Self.fairnessBudget {
            worker.streak = 0
            let waiting = worker.next.exchange(0, ordering: .acquiringAndReleasing)
            if waiting != 0 { worker.local.push(waiting) }
        } else {
            let bits = worker.next.exchange(0, ordering: .acquiringAndReleasing)
            if bits != 0 {
                worker.streak += 1
                return bits
            }
        }
        worker.streak = 0
        var bits = worker.local.pop()
        if bits == 0 { bits = shared.pop() }
        if bits == 0 { bits = steal(for: worker) }
        return bits
    }

    private func steal(for worker: Worker) -> UInt {
        for victim in workers where victim !== worker && !victim.local.isEmpty {
            let bits = victim.local.pop()
            if bits != 0 { return bits }
        }
        return 0
    }

    /// Looks for work a while, then parks. Returns a job, or `UInt.max` when
    /// the scheduler stops.
    private func spinThenPark(_ worker: Worker) -> UInt {
        spinning.add(1, ordering: .sequentiallyConsistent)
        for _ in 0..<Self.spinRounds {
            let bits = findJob(worker)
            if bits != 0 {
                spinning.subtract(1, ordering: .sequentiallyConsistent)
                return bits
            }
            sched_yield()
        }
        spinning.subtract(1, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while true {
            sleepers += 1
            parked.add(1, ordering: .sequentiallyConsistent)
            // Work pushed before `parked` went up saw no sleeper: look again.
            let bits = findJob(worker)
            if bits != 0 || stopping {
                sleepers -= 1
                parked.subtract(1, ordering: .sequentiallyConsistent)
                return bits != 0 ? bits : UInt.max
            }
            busy.subtract(1, ordering: .relaxed)
            pthread_cond_signal(monitorWake)
            pthread_cond_wait(wake, mutex)
            busy.add(1, ordering: .relaxed)
            sleepers -= 1
            parked.subtract(1, ordering: .sequentiallyConsistent)
            pthread_cond_signal(monitorWake)
        }
    }

    // MARK: monitor

    /// Moves `next` jobs stuck behind a long job to the shared queue, and
    /// wakes a worker when a busy worker's queue holds work. It sleeps while
    /// there is nobody to hand work to; otherwise it looks every 200 µs,
    /// backing off to 5 ms while it finds nothing to do.
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
                if started == seen[index] {
                    if worker.next.load(ordering: .relaxed) != 0 {
                        let bits = worker.next.exchange(0, ordering: .acquiringAndReleasing)
                        if bits != 0 { shared.push(bits); moved = true }
                    }
                    if !worker.local.isEmpty { moved = true }
                }
                seen[index] = started
            }
            if moved { wakeIfIdle() }
            interval = moved ? 200_000 : min(interval * 2, 5_000_000)
            pthread_mutex_lock(mutex)
        }
        pthread_mutex_unlock(mutex)
    }
}
