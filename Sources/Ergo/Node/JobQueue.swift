#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// A FIFO of scheduler jobs (the bits of `UnownedJob`s) under a pthread
/// mutex, with a lock-free count for peeking.
final class JobQueue: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var jobs: [UInt] = []
    private var head = 0
    /// The number of queued jobs (may lag the truth by one operation).
    let count = Atomic<Int>(0)

    init() {
        pthread_mutex_init(mutex, nil)
        jobs.reserveCapacity(64)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    var isEmpty: Bool { count.load(ordering: .sequentiallyConsistent) == 0 }

    func push(_ job: UInt) {
        pthread_mutex_lock(mutex)
        jobs.append(job)
        count.add(1, ordering: .sequentiallyConsistent)
        pthread_mutex_unlock(mutex)
    }

    /// The oldest job, or 0.
    func pop() -> UInt {
        if count.load(ordering: .sequentiallyConsistent) == 0 { return 0 }
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard head < jobs.count else { return 0 }
        let job = jobs[head]
        head += 1
        count.subtract(1, ordering: .releasing)
        if head == jobs.count {
            jobs.removeAll(keepingCapacity: jobs.count <= 4096)
            head = 0
        } else if head >= 1024 && head * 2 >= jobs.count {
            jobs.removeFirst(head)
            head = 0
        }
        return job
    }
}
