import Synchronization

/// A process's inbox: a lock-free multi-producer, single-consumer queue
/// (Vyukov's intrusive list) with a parking slot for its one consumer.
///
/// Producers link a node in with one compare-and-swap on `head`; the consumer
/// follows `next` pointers from `tail` without atomics read-modify-writes.
/// Closing swaps `head` for a sentinel, so every later push fails and the
/// sender knows the receiver is gone.
final class Mailbox: @unchecked Sendable {
    final class Node: @unchecked Sendable {
        let next = Atomic<Unmanaged<Node>?>(nil)
        var signal: Signal?
        init(_ signal: Signal?) { self.signal = signal }
    }

    /// Pushes after close see this and fail.
    private static let closedMark = Node(nil)

    // Producers' side: written by every push.
    private let head: Atomic<Unmanaged<Node>>
    /// 1 while the consumer is parked in `waiter`.
    private let parked = Atomic<Int>(0)
    /// The parked consumer's continuation (its bits). An atomic, though
    /// `parked` orders it, because a consumer resumed before it finished
    /// suspending runs on without passing through anything the thread
    /// sanitizer can see.
    private let waiter = Atomic<UInt>(0)
    /// Keeps `tail`, which the consumer writes at every pop, off the
    /// producers' cache line.
    private let padding: (Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0)
    /// Consumer only: the last node taken (its signal already moved out).
    private var tail: Unmanaged<Node>

    init() {
        let stub = Unmanaged.passRetained(Node(nil))
        head = Atomic(stub)
        tail = stub
    }

    deinit {
        var node: Unmanaged<Node>? = tail
        while let current = node {
            node = current.takeUnretainedValue().next.load(ordering: .acquiring)
            current.release()
        }
    }

    /// Adds a signal and wakes the consumer if it is parked. Returns false
    /// when the mailbox is closed (its process has exited).
    @discardableResult
    func push(_ signal: Signal) -> Bool {
        let node = Unmanaged.passRetained(Node(signal))
        let closed = Unmanaged.passUnretained(Self.closedMark).toOpaque()
        var current = head.load(ordering: .sequentiallyConsistent)
        while true {
            if current.toOpaque() == closed {
                node.release()
                return false
            }
            let (exchanged, original) = head.compareExchange(
                expected: current, desired: node, ordering: .sequentiallyConsistent)
            if exchanged { break }
            current = original
        }
        current.takeUnretainedValue().next.store(node, ordering: .releasing)
        if parked.load(ordering: .sequentiallyConsistent) == 1,
           parked.compareExchange(expected: 1, desired: 0, ordering: .sequentiallyConsistent).exchanged {
            unsafeBitCast(waiter.load(ordering: .acquiring), to: UnsafeContinuation<Void, Never>.self).resume()
        }
        return true
    }

    /// Takes the oldest signal; nil when empty (or a push is half done).
    func pop() -> Signal? {
        let tailNode = tail.takeUnretainedValue()
        guard let next = tailNode.next.load(ordering: .acquiring) else { return nil }
        let nextNode = next.takeUnretainedValue()
        let signal = nextNode.signal.take()
        tail = next
        Unmanaged.passUnretained(tailNode).release()
        return signal
    }

    /// Whether the mailbox was closed (its process exited or is exiting).
    var isClosed: Bool {
        head.load(ordering: .acquiring).toOpaque() == Unmanaged.passUnretained(Self.closedMark).toOpaque()
    }

    /// Whether nothing is queued and no push is in progress.
    var isEmpty: Bool {
        head.load(ordering: .sequentiallyConsistent).toOpaque() == tail.toOpaque()
    }

    /// Suspends the consumer until a push (or returns at once if one raced).
    @inline(__always)
    func park() async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            waiter.store(unsafeBitCast(continuation, to: UInt.self), ordering: .releasing)
            parked.store(1, ordering: .sequentiallyConsistent)
            if !isEmpty,
               parked.compareExchange(expected: 1, desired: 0, ordering: .sequentiallyConsistent).exchanged {
                continuation.resume()
            }
        }
    }

    /// Closes the mailbox: later pushes fail. Returns the signals that got
    /// in before, oldest first.
    func close() -> [Signal] {
        let last = head.exchange(Unmanaged.passUnretained(Self.closedMark), ordering: .sequentiallyConsistent)
        var rest: [Signal] = []
        while tail.toOpaque() != last.toOpaque() {
            if let signal = pop() { rest.append(signal) }
        }
        return rest
    }
}
