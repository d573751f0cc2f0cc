/*
 * loop_common.c — the backend-independent part of the event loop: the slot
 * table (connections and listeners with generations), the cross-thread
 * command queue and wake-up, outgoing queues in pooled chunks, timers (a
 * binary heap), connect deadlines and ticks (one sweep over the slots when
 * the earliest of them is due), and the run loop that ties them to a
 * backend (loop_uring.c, loop_epoll.c).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "loop_internal.h"

/* ---- Small helpers ------------------------------------------------------------ */

uint64_t loop_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

ergo_loop_id loop_slot_id(const slot *s)
{
    return (uint64_t)s->gen << 32 | (uint64_t)(s->index + 1);
}

static bool on_loop_thread(ergo_loop *loop)
{
    return atomic_load_explicit(&loop->running, memory_order_acquire) &&
           pthread_equal(loop->thread, pthread_self());
}

static void set_state(slot *s, slot_state st)
{
    pthread_mutex_lock(&s->lock);
    s->state = st;
    pthread_mutex_unlock(&s->lock);
}

/* The slot named by id, locked, if its generation matches and its state is
 * one of mask (bit per slot_state); NULL otherwise. */
static slot *lookup_locked(ergo_loop *loop, ergo_loop_id id, unsigned mask)
{
    uint32_t low = (uint32_t)id;
    if (low == 0 || low > loop->nslots)
        return NULL;
    slot *s = &loop->slots[low - 1];
    pthread_mutex_lock(&s->lock);
    if (s->gen != (uint32_t)(id >> 32) || !(mask & (1u << s->state))) {
        pthread_mutex_unlock(&s->lock);
        return NULL;
    }
    return s;
}

#define LIVE_CONN ((1u << SLOT_CONNECTING) | (1u << SLOT_OPEN))

static void wake_fd_write(ergo_loop *loop)
{
    uint64_t one = 1;
    ssize_t r = write(loop->wake_fd, &one, sizeof one);
    (void)r; /* EAGAIN: the counter is saturated, the loop wakes anyway */
}

static void wake(ergo_loop *loop)
{
    if (!atomic_exchange_explicit(&loop->wake_pending, true, memory_order_acq_rel))
        wake_fd_write(loop);
}

/* ---- Slots -------------------------------------------------------------------- */

/* Take a free slot (any thread) in state st; NULL if the table is full. */
static slot *slot_alloc(ergo_loop *loop, slot_state st, int fd)
{
    pthread_mutex_lock(&loop->cmd_lock);
    uint32_t i = loop->free_head;
    if (i) {
        loop->free_head = loop->slots[i - 1].next_free;
        loop->used_slots++;
    }
    pthread_mutex_unlock(&loop->cmd_lock);
    if (!i)
        return NULL;
    slot *s = &loop->slots[i - 1];
    pthread_mutex_lock(&s->lock);
    s->gen = s->gen + 1 ? s->gen + 1 : 1;
    s->state = st;
    s->out_head = s->out_tail = NULL;
    s->out_bytes = 0;
    s->flush_queued = false;
    s->refused = false;
    s->wrote_direct = false;
    s->tx_err = 0;
    s->lazy = false;
    s->tx_last = 0;
    s->tx_run = 0;
    pthread_mutex_unlock(&s->lock);
    s->fd = fd;
    s->close_err = 0;
    s->report_close = s->report_connect = s->cancel_sent = false;
    s->closing_listed = false;
    s->send_busy = false;
    s->close_drained = false;
    s->recv_armed = false;
    s->want_out = false;
    s->ops = 0;
    s->tag = 0;
    s->listener = 0;
    s->addrlen = 0;
    s->connect_deadline = 0;
    s->tick_ns = s->tick_next = 0;
    s->last_read = s->last_write = 0;
    memset(&s->fr, 0, sizeof s->fr);
    s->fr.max_packet = s->fr.next_max = loop->cfg.max_packet;
    s->iov = NULL;
    s->iov_n = 0;
    memset(&s->msg, 0, sizeof s->msg);
    s->next_flush = s->next_closing = NULL;
    return s;
}

static void chunk_put(ergo_loop *loop, out_chunk *c)
{
    pthread_mutex_lock(&loop->cmd_lock);
    if (loop->pool_n < loop->cfg.pool_chunks) {
        c->next = loop->pool;
        loop->pool = c;
        loop->pool_n++;
        c = NULL;
    }
    pthread_mutex_unlock(&loop->cmd_lock);
    free(c);
}

void loop_slot_release(ergo_loop *loop, slot *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    loop_framer_free(&s->fr);
    free(s->iov);
    s->iov = NULL;
    pthread_mutex_lock(&s->lock);
    out_chunk *c = s->out_head;
    s->out_head = s->out_tail = NULL;
    s->out_bytes = 0;
    s->state = SLOT_FREE;
    pthread_mutex_unlock(&s->lock);
    while (c) {
        out_chunk *n = c->next;
        chunk_put(loop, c);
        c = n;
    }
    s->live = false;
    pthread_mutex_lock(&loop->cmd_lock);
    /* Off the pending flush list before the slot can be reused (release never
     * runs while the loop walks a detached list). */
    for (slot **pp = &loop->flush_head, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->next_flush) {
        if (*pp == s) {
            *pp = s->next_flush;
            if (loop->flush_tail == s)
                loop->flush_tail = prev;
            break;
        }
    }
    s->next_flush = NULL;
    s->next_free = loop->free_head;
    loop->free_head = s->index + 1;
    loop->used_slots--;
    pthread_mutex_unlock(&loop->cmd_lock);
}

void loop_conn_fail(ergo_loop *loop, slot *s, int err)
{
    if (s->state == SLOT_FREE || s->state == SLOT_CLOSING)
        return;
    s->report_close = s->state == SLOT_OPEN;
    s->report_connect = s->state == SLOT_CONNECTING;
    s->close_err = err;
    set_state(s, SLOT_CLOSING);
    s->closing_listed = true;
    s->next_closing = loop->closing_head;
    loop->closing_head = s;
}

/* Report and tear down the slots decided closed. */
static void process_closing(ergo_loop *loop)
{
    while (loop->closing_head) {
        slot *s = loop->closing_head;
        loop->closing_head = s->next_closing;
        ergo_loop_id id = loop_slot_id(s);
        if (s->report_close) {
            if (loop->cb.on_close)
                loop->cb.on_close(loop->ctx, id, s->close_err);
        } else if (s->report_connect) {
            if (loop->cb.on_connect)
                loop->cb.on_connect(loop->ctx, id, s->tag, s->close_err);
        }
        s->live = false;
        loop->ops->close(loop, s);
    }
}

/* ---- Outgoing queues ------------------------------------------------------------ */

static out_chunk *chunk_get(ergo_loop *loop)
{
    pthread_mutex_lock(&loop->cmd_lock);
    out_chunk *c = loop->pool;
    if (c) {
        loop->pool = c->next;
        loop->pool_n--;
    }
    pthread_mutex_unlock(&loop->cmd_lock);
    if (!c)
        c = malloc(sizeof *c + loop->cfg.send_chunk);
    if (c) {
        c->next = NULL;
        c->off = c->len = 0;
    }
    return c;
}

/* Put s on the flush list (its flush_queued was just set; s is locked, so
 * the loop cannot release it meanwhile). The caller wakes the loop. */
static void queue_flush(ergo_loop *loop, slot *s)
{
    pthread_mutex_lock(&loop->cmd_lock);
    s->next_flush = NULL;
    if (loop->flush_tail)
        loop->flush_tail->next_flush = s;
    else
        loop->flush_head = s;
    loop->flush_tail = s;
    pthread_mutex_unlock(&loop->cmd_lock);
}

/* Append hdr (hl bytes, may be 0) then the iovec to s's queue, s locked,
 * leaving out their first skip bytes (already written); total is what
 * remains. All or nothing. */
static int out_append(ergo_loop *loop, slot *s, const uint8_t *hdr, size_t hl,
                      const struct iovec *iov, int iovcnt, size_t skip, size_t total)
{
    size_t chunk = loop->cfg.send_chunk;
    if (total > loop->cfg.max_send_queue || s->out_bytes > loop->cfg.max_send_queue - total)
        return ERGO_LOOP_E_BUSY;
    size_t room = s->out_tail ? chunk - s->out_tail->len : 0;
    size_t fresh = total > room ? (total - room + chunk - 1) / chunk : 0;
    out_chunk *first = NULL, *last = NULL;
    for (size_t i = 0; i < fresh; i++) {
        out_chunk *c = chunk_get(loop);
        if (!c) {
            while (first) {
                out_chunk *n = first->next;
                chunk_put(loop, first);
                first = n;
            }
            return ERGO_LOOP_E_NOMEM;
        }
        if (last)
            last->next = c;
        else
            first = c;
        last = c;
    }
    if (first) {
        if (s->out_tail)
            s->out_tail->next = first;
        else
            s->out_head = first;
    }
    out_chunk *c = s->out_tail ? s->out_tail : first;
    if (last)
        s->out_tail = last;
    for (int i = -1; i < iovcnt; i++) {
        const uint8_t *p = i < 0 ? hdr : iov[i].iov_base;
        size_t n = i < 0 ? hl : iov[i].iov_len;
        if (skip >= n) {
            skip -= n;
            continue;
        }
        p += skip;
        n -= skip;
        skip = 0;
        while (n > 0) {
            if (c->len == chunk)
                c = c->next;
            size_t take = chunk - c->len < n ? chunk - c->len : n;
            memcpy(c->data + c->len, p, take);
            c->len += (uint32_t)take;
            p += take;
            n -= take;
        }
    }
    s->out_bytes += total;
    return 0;
}

enum { DIRECT_IOV = 64 }; /* iovecs a direct send passes (more: queue) */

/* A stream of sends (each less than DIRECT_GAP_NS after the one before)
 * writes its first cfg.direct_burst directly; after that the sends queue
 * and the loop thread writes them in batches, on its own core, as it did
 * before direct sends: a request/reply exchange gets the short path, a
 * flood of messages does not pay one system call per message. */
#define DIRECT_GAP_NS 50000u

/* s locked: note a send; may it be written directly? */
static bool direct_ok(ergo_loop *loop, slot *s, size_t total, int iovcnt)
{
    if (!loop->cfg.direct_send)
        return false;
    uint64_t now = loop_now_ns();
    if (now - s->tx_last >= DIRECT_GAP_NS)
        s->tx_run = 0;
    s->tx_last = now;
    if (loop->cfg.direct_burst && s->tx_run >= loop->cfg.direct_burst)
        return false;
    s->tx_run++;
    return s->state == SLOT_OPEN && ((!s->flush_queued && s->out_bytes == 0) || s->lazy) &&
           s->tx_err == 0 && !s->refused && total <= loop->cfg.max_send_queue - s->out_bytes &&
           iovcnt < DIRECT_IOV;
}

/* The direct path: s is locked, open, with nothing queued and no send in
 * flight (flush_queued false), so no other writer can touch the socket
 * before we unlock, and the loop cannot close its fd (it decides a close
 * under this lock first). Write what the socket takes now, without
 * blocking; returns the bytes written (0 on EAGAIN or an error, which the
 * loop meets again on its own send of the rest). */
static size_t direct_write(ergo_loop *loop, slot *s, const uint8_t *hdr, size_t hl,
                           const struct iovec *iov, int iovcnt)
{
    struct iovec v[2 * DIRECT_IOV + 1];
    size_t k = 0;
    /* Lazy bytes queued before (s->lazy) go first. */
    for (out_chunk *c = s->out_head; c && k < DIRECT_IOV; c = c->next) {
        if (c->len > c->off) {
            v[k].iov_base = c->data + c->off;
            v[k].iov_len = c->len - c->off;
            k++;
        }
    }
    if (k == DIRECT_IOV)
        return 0; /* an unlikely long lazy queue: leave it to the loop */
    if (hl) {
        v[k].iov_base = (void *)hdr;
        v[k].iov_len = hl;
        k++;
    }
    for (int i = 0; i < iovcnt; i++) {
        if (iov[i].iov_len) {
            v[k].iov_base = iov[i].iov_base;
            v[k].iov_len = iov[i].iov_len;
            k++;
        }
    }
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = v;
    m.msg_iovlen = k;
    ssize_t n;
    do {
        n = sendmsg(s->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n <= 0)
        return 0;
    s->wrote_direct = true;
    atomic_fetch_add_explicit(&loop->direct_sends, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&loop->direct_bytes, (uint64_t)n, memory_order_relaxed);
    return (size_t)n;
}

static out_chunk *out_consume(slot *s, size_t n);
static void chunks_put(ergo_loop *loop, out_chunk *done);

/* Make sure the loop runs within ERGO_LOOP_LAZY_MS: arm the lazy timer
 * unless it is armed already (then it fires after the bytes were listed,
 * and the loop flushes them after it wakes). Without a timerfd, wake. */
static void lazy_arm(ergo_loop *loop)
{
    if (loop->lazy_fd < 0) {
        wake(loop);
        return;
    }
    if (atomic_exchange_explicit(&loop->lazy_timer, true, memory_order_acq_rel))
        return;
    struct itimerspec it;
    memset(&it, 0, sizeof it);
    it.it_value.tv_nsec = ERGO_LOOP_LAZY_MS * 1000000L;
    if (timerfd_settime(loop->lazy_fd, 0, &it, NULL) < 0) {
        atomic_store_explicit(&loop->lazy_timer, false, memory_order_release);
        wake(loop);
    }
}

void loop_lazy_fired(ergo_loop *loop)
{
    atomic_store_explicit(&loop->lazy_timer, false, memory_order_release);
}

/* A lazy packet (s locked, unlocked here): queued in order; the slot goes
 * on the flush list without a wake-up, marked lazy so the next send may
 * still write directly (taking these bytes along). */
static int send_lazy(ergo_loop *loop, slot *s, const uint8_t *hdr, size_t hl,
                     const struct iovec *iov, int iovcnt, size_t total)
{
    int rc = out_append(loop, s, hdr, hl, iov, iovcnt, 0, total);
    if (rc == ERGO_LOOP_E_BUSY)
        s->refused = true;
    bool arm = false;
    if (rc == 0 && !s->flush_queued) {
        s->flush_queued = true;
        s->lazy = true;
        queue_flush(loop, s);
        arm = true;
    }
    pthread_mutex_unlock(&s->lock);
    if (rc == 0)
        atomic_fetch_add_explicit(&loop->lazy_sends, 1, memory_order_relaxed);
    if (arm && !on_loop_thread(loop)) /* the loop itself flushes before it sleeps */
        lazy_arm(loop);
    return rc;
}

static int send_common(ergo_loop *loop, ergo_loop_id id, const struct iovec *iov, int iovcnt,
                       bool packet, bool lazy)
{
    if (!loop || iovcnt < 0 || (iovcnt > 0 && !iov))
        return ERGO_LOOP_E_ARG;
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++) {
        if (iov[i].iov_len && !iov[i].iov_base)
            return ERGO_LOOP_E_ARG;
        if (total + iov[i].iov_len < total)
            return ERGO_LOOP_E_BUSY;
        total += iov[i].iov_len;
    }
    uint8_t hdr[4];
    size_t hl = 0;
    if (packet) {
        if (total > UINT32_MAX)
            return ERGO_LOOP_E_TOO_BIG;
        hdr[0] = (uint8_t)(total >> 24);
        hdr[1] = (uint8_t)(total >> 16);
        hdr[2] = (uint8_t)(total >> 8);
        hdr[3] = (uint8_t)total;
        hl = 4;
    }
    if (total + hl == 0)
        return 0;
    slot *s = lookup_locked(loop, id, LIVE_CONN);
    if (!s)
        return ERGO_LOOP_E_STALE;
    if (lazy)
        return send_lazy(loop, s, hdr, hl, iov, iovcnt, total + hl);
    size_t done = 0;      /* bytes of this send already written */
    out_chunk *freed = NULL;
    if (direct_ok(loop, s, total + hl, iovcnt)) {
        size_t queued = s->out_bytes; /* lazy bytes, written first */
        size_t n = direct_write(loop, s, hdr, hl, iov, iovcnt);
        size_t q = n < queued ? n : queued;
        if (q)
            freed = out_consume(s, q);
        done = n - q;
        if (done == total + hl) {
            pthread_mutex_unlock(&s->lock);
            chunks_put(loop, freed);
            return 0; /* a lazy flush still listed finds an empty queue */
        }
    }
    /* The rest fits (the queue bound was checked), so after a partial write
     * only an allocation failure can refuse it. */
    int rc = out_append(loop, s, hdr, hl, iov, iovcnt, done, total + hl - done);
    if (rc == ERGO_LOOP_E_BUSY)
        s->refused = true;
    if (rc != 0 && done > 0) {
        /* Part of the packet is on the wire and the rest cannot follow: the
         * stream is broken, the loop closes the connection. */
        s->tx_err = rc;
        rc = 0;
    }
    bool kick = false;
    if (rc == 0 && !s->flush_queued) {
        s->flush_queued = true;
        queue_flush(loop, s);
        kick = true;
    } else if (rc == 0 && s->lazy) {
        s->lazy = false; /* listed already; this send is urgent */
        kick = true;
    }
    pthread_mutex_unlock(&s->lock);
    chunks_put(loop, freed);
    if (kick && !on_loop_thread(loop))
        wake(loop);
    return rc;
}

int ergo_loop_send(ergo_loop *loop, ergo_loop_id conn, const struct iovec *iov, int iovcnt)
{
    return send_common(loop, conn, iov, iovcnt, false, false);
}

int ergo_loop_send_packet(ergo_loop *loop, ergo_loop_id conn, const struct iovec *iov, int iovcnt)
{
    return send_common(loop, conn, iov, iovcnt, true, false);
}

int ergo_loop_send_packet_lazy(ergo_loop *loop, ergo_loop_id conn, const struct iovec *iov,
                               int iovcnt)
{
    return send_common(loop, conn, iov, iovcnt, true, true);
}

uint32_t loop_out_gather(ergo_loop *loop, slot *s)
{
    if (!s->iov) {
        s->iov = malloc(sizeof *s->iov * loop->cfg.max_iov);
        if (!s->iov)
            return 0;
    }
    uint32_t k = 0;
    pthread_mutex_lock(&s->lock);
    s->lazy = false; /* the loop writes from here on */
    for (out_chunk *c = s->out_head; c && k < loop->cfg.max_iov; c = c->next) {
        if (c->len > c->off) {
            s->iov[k].iov_base = c->data + c->off;
            s->iov[k].iov_len = c->len - c->off;
            k++;
        }
    }
    if (k == 0)
        s->flush_queued = false;
    pthread_mutex_unlock(&s->lock);
    s->iov_n = k;
    memset(&s->msg, 0, sizeof s->msg);
    s->msg.msg_iov = s->iov;
    s->msg.msg_iovlen = k;
    return k;
}

static bool queue_empty(slot *s)
{
    pthread_mutex_lock(&s->lock);
    bool empty = s->out_bytes == 0;
    pthread_mutex_unlock(&s->lock);
    return empty;
}

/* n written bytes leave the head of s's queue (s locked); returns the
 * chunks emptied, for chunk_put once unlocked. */
static out_chunk *out_consume(slot *s, size_t n)
{
    out_chunk *done = NULL;
    s->out_bytes -= n;
    while (s->out_head) {
        out_chunk *c = s->out_head;
        size_t take = c->len - c->off < n ? c->len - c->off : n;
        c->off += (uint32_t)take;
        n -= take;
        if (c->off < c->len)
            break;
        if (c == s->out_tail) {
            c->off = c->len = 0; /* keep the tail for the next append */
            break;
        }
        s->out_head = c->next;
        c->next = done;
        done = c;
    }
    return done;
}

static void chunks_put(ergo_loop *loop, out_chunk *done)
{
    while (done) {
        out_chunk *nx = done->next;
        chunk_put(loop, done);
        done = nx;
    }
}

void loop_out_sent(ergo_loop *loop, slot *s, size_t n)
{
    loop->stats.send_calls++;
    loop->stats.bytes_sent += n;
    if (n > 0)
        s->last_write = loop_now_ns();
    pthread_mutex_lock(&s->lock);
    bool writable = s->refused && s->out_bytes - n <= loop->cfg.max_send_queue / 2;
    if (writable)
        s->refused = false;
    out_chunk *done = out_consume(s, n);
    pthread_mutex_unlock(&s->lock);
    chunks_put(loop, done);
    if (writable && loop->cb.on_writable && s->state == SLOT_OPEN)
        loop->cb.on_writable(loop->ctx, loop_slot_id(s));
    if (s->close_drained && s->state == SLOT_OPEN && queue_empty(s))
        loop_conn_fail(loop, s, ERGO_LOOP_E_CLOSED);
}

/* ---- Timers ----------------------------------------------------------------------- */

static bool timer_less(const timer_ent *a, const timer_ent *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void timer_push(ergo_loop *loop, uint64_t deadline, uint64_t tag)
{
    timer_ent e = {deadline, loop->timer_seq++, tag};
    uint32_t i = loop->ntimers++;
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (!timer_less(&e, &loop->timers[p]))
            break;
        loop->timers[i] = loop->timers[p];
        i = p;
    }
    loop->timers[i] = e;
}

/* Put e into the hole at i and sift it down. */
static void timer_sift_down(ergo_loop *loop, uint32_t i, timer_ent e)
{
    uint32_t n = loop->ntimers;
    for (;;) {
        uint32_t l = 2 * i + 1, m = i;
        const timer_ent *best = &e;
        if (l < n && timer_less(&loop->timers[l], best)) {
            m = l;
            best = &loop->timers[l];
        }
        if (l + 1 < n && timer_less(&loop->timers[l + 1], best))
            m = l + 1;
        if (m == i)
            break;
        loop->timers[i] = loop->timers[m];
        i = m;
    }
    loop->timers[i] = e;
}

static timer_ent timer_pop(ergo_loop *loop)
{
    timer_ent top = loop->timers[0];
    timer_ent last = loop->timers[--loop->ntimers];
    if (loop->ntimers > 0)
        timer_sift_down(loop, 0, last);
    return top;
}

/* Drop every pending timer with this tag (O(pending timers)). */
static void timer_cancel(ergo_loop *loop, uint64_t tag)
{
    uint32_t k = 0, n = loop->ntimers;
    for (uint32_t i = 0; i < n; i++)
        if (loop->timers[i].tag != tag)
            loop->timers[k++] = loop->timers[i];
    if (k == n)
        return;
    atomic_fetch_sub_explicit(&loop->timers_reserved, n - k, memory_order_relaxed);
    loop->ntimers = k;
    for (uint32_t i = k / 2; i-- > 0;)
        timer_sift_down(loop, i, loop->timers[i]);
}

static void run_timers(ergo_loop *loop, uint64_t now)
{
    while (loop->ntimers > 0 && loop->timers[0].deadline <= now) {
        timer_ent e = timer_pop(loop);
        atomic_fetch_sub_explicit(&loop->timers_reserved, 1, memory_order_relaxed);
        if (loop->cb.on_timer)
            loop->cb.on_timer(loop->ctx, e.tag);
    }
}

static void sweep_at(ergo_loop *loop, uint64_t t)
{
    if (loop->sweep_due == 0 || t < loop->sweep_due)
        loop->sweep_due = t;
}

/* A tick, unless bytes are already waiting to go out. */
static void queue_tick(ergo_loop *loop, slot *s)
{
    static const uint8_t zero[4];
    pthread_mutex_lock(&s->lock);
    int rc = s->out_bytes ? 1 : out_append(loop, s, zero, 4, NULL, 0, 0, 4);
    if (rc == 0 && !s->flush_queued) {
        s->flush_queued = true;
        queue_flush(loop, s);
    }
    pthread_mutex_unlock(&s->lock);
    if (rc == 0)
        loop->stats.ticks_sent++;
}

/* Connect deadlines and ticks. */
static void sweep(ergo_loop *loop, uint64_t now)
{
    if (loop->sweep_due == 0 || now < loop->sweep_due)
        return;
    loop->sweep_due = 0;
    for (uint32_t i = 0; i < loop->nslots; i++) {
        slot *s = &loop->slots[i];
        if (!s->live)
            continue;
        if (s->state == SLOT_CONNECTING && s->connect_deadline) {
            if (now >= s->connect_deadline)
                loop_conn_fail(loop, s, ERGO_LOOP_E_TIMEOUT);
            else
                sweep_at(loop, s->connect_deadline);
        } else if (s->state == SLOT_OPEN && s->tick_ns) {
            if (now >= s->tick_next) {
                if (now - s->last_read >= 4 * s->tick_ns) {
                    loop_conn_fail(loop, s, ERGO_LOOP_E_TICK_TIMEOUT);
                    continue;
                }
                /* Written during the last interval (give a tenth of slack for
                 * timer jitter), here or by a direct send: no tick needed. */
                pthread_mutex_lock(&s->lock);
                if (s->wrote_direct)
                    s->last_write = now;
                s->wrote_direct = false;
                pthread_mutex_unlock(&s->lock);
                if (now - s->last_write >= s->tick_ns - s->tick_ns / 10)
                    queue_tick(loop, s);
                s->tick_next = now + s->tick_ns;
            }
            sweep_at(loop, s->tick_next);
        }
    }
}

/* ---- Connections: events from the backends ------------------------------------------ */

static void nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void format_addr(const struct sockaddr_storage *ss, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        port = ntohs(a->sin_port);
        snprintf(out, cap, "%s:%u", host, port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        port = ntohs(a->sin6_port);
        snprintf(out, cap, "[%s]:%u", host, port);
    } else {
        snprintf(out, cap, "?");
    }
}

static void conn_opened(slot *s)
{
    nodelay(s->fd);
    s->last_read = s->last_write = loop_now_ns();
    s->live = true;
}

void loop_accepted(ergo_loop *loop, slot *ls, int fd)
{
    slot *s = slot_alloc(loop, SLOT_OPEN, fd);
    if (!s) {
        close(fd); /* table full: refuse */
        return;
    }
    conn_opened(s);
    s->listener = loop_slot_id(ls);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char peer[INET6_ADDRSTRLEN + 16];
    memset(&ss, 0, sizeof ss);
    if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
        format_addr(&ss, peer, sizeof peer);
    else
        snprintf(peer, sizeof peer, "?");
    if (loop->cb.on_accept)
        loop->cb.on_accept(loop->ctx, s->listener, loop_slot_id(s), peer);
    if (s->state != SLOT_OPEN)
        return;
    int rc = loop->ops->start(loop, s);
    if (rc < 0)
        loop_conn_fail(loop, s, rc);
}

void loop_connect_done(ergo_loop *loop, slot *s, int err)
{
    if (s->state != SLOT_CONNECTING)
        return;
    if (err) {
        loop_conn_fail(loop, s, err);
        return;
    }
    conn_opened(s);
    set_state(s, SLOT_OPEN);
    if (loop->cb.on_connect)
        loop->cb.on_connect(loop->ctx, loop_slot_id(s), s->tag, 0);
    if (s->state != SLOT_OPEN)
        return;
    int rc = loop->ops->start(loop, s);
    if (rc < 0) {
        loop_conn_fail(loop, s, rc);
        return;
    }
    if (s->tick_ns)
        sweep_at(loop, s->tick_next);
    loop->ops->flush(loop, s); /* bytes queued while connecting */
}

/* ---- Commands ---------------------------------------------------------------------------- */

static void apply_framing(ergo_loop *loop, slot *s, uint64_t mode, uint64_t max)
{
    framer *f = &s->fr;
    f->next_mode = (uint8_t)mode;
    f->next_max = max ? (size_t)max : loop->cfg.max_packet;
    if (f->hdr_have == 0 && f->have == 0)
        loop_framer_reset(f);
}

static void apply_tick(ergo_loop *loop, slot *s, uint64_t ms)
{
    uint64_t now = loop_now_ns();
    s->tick_ns = ms * 1000000u;
    if (ms) {
        s->tick_next = now + s->tick_ns;
        s->last_read = now;
        sweep_at(loop, s->tick_next);
    }
}

static void do_close(ergo_loop *loop, slot *s)
{
    loop_conn_fail(loop, s, ERGO_LOOP_E_CLOSED);
}

/* Loop thread: the slot for a command, if it is still that incarnation. */
static slot *cmd_slot(ergo_loop *loop, ergo_loop_id id, unsigned mask)
{
    slot *s = lookup_locked(loop, id, mask);
    if (s)
        pthread_mutex_unlock(&s->lock);
    return s;
}

static void run_cmd(ergo_loop *loop, cmd *c)
{
    slot *s;
    switch (c->kind) {
    case CMD_LISTEN:
        if ((s = cmd_slot(loop, c->id, 1u << SLOT_LISTENER))) {
            s->live = true;
            int rc = loop->ops->listen(loop, s);
            if (rc < 0)
                loop_conn_fail(loop, s, rc);
        }
        break;
    case CMD_CONNECT:
        if ((s = cmd_slot(loop, c->id, 1u << SLOT_CONNECTING))) {
            s->live = true;
            if (c->a) {
                s->connect_deadline = loop_now_ns() + c->a * 1000000u;
                sweep_at(loop, s->connect_deadline);
            }
            int rc = loop->ops->connect(loop, s);
            if (rc < 0)
                loop_conn_fail(loop, s, rc);
        }
        break;
    case CMD_CLOSE:
        if ((s = cmd_slot(loop, c->id, LIVE_CONN | 1u << SLOT_LISTENER)))
            do_close(loop, s);
        break;
    case CMD_CLOSE_FLUSHED:
        if ((s = cmd_slot(loop, c->id, LIVE_CONN))) {
            if (s->state == SLOT_OPEN && queue_empty(s))
                do_close(loop, s);
            else
                s->close_drained = true;
        }
        break;
    case CMD_FRAMING:
        if ((s = cmd_slot(loop, c->id, LIVE_CONN)))
            apply_framing(loop, s, c->a, c->b);
        break;
    case CMD_TICK:
        if ((s = cmd_slot(loop, c->id, LIVE_CONN)))
            apply_tick(loop, s, c->a);
        break;
    case CMD_TIMER: timer_push(loop, c->a, c->b); break;
    case CMD_TIMER_CANCEL: timer_cancel(loop, c->a); break;
    case CMD_WAKE:
        if (loop->cb.on_wake)
            loop->cb.on_wake(loop->ctx, c->a);
        break;
    }
}

static int push_cmd(ergo_loop *loop, cmd_kind kind, ergo_loop_id id, uint64_t a, uint64_t b)
{
    cmd *c = malloc(sizeof *c);
    if (!c)
        return ERGO_LOOP_E_NOMEM;
    c->next = NULL;
    c->kind = kind;
    c->id = id;
    c->a = a;
    c->b = b;
    pthread_mutex_lock(&loop->cmd_lock);
    if (loop->cmd_count >= loop->cfg.max_commands) {
        pthread_mutex_unlock(&loop->cmd_lock);
        free(c);
        return ERGO_LOOP_E_LIMIT;
    }
    loop->cmd_count++;
    if (loop->cmd_tail)
        loop->cmd_tail->next = c;
    else
        loop->cmd_head = c;
    loop->cmd_tail = c;
    pthread_mutex_unlock(&loop->cmd_lock);
    wake(loop);
    return 0;
}

/* From the loop thread a command runs at once; otherwise it is queued. */
static int submit(ergo_loop *loop, cmd_kind kind, ergo_loop_id id, uint64_t a, uint64_t b)
{
    if (on_loop_thread(loop)) {
        cmd c = {NULL, kind, id, a, b};
        run_cmd(loop, &c);
        return 0;
    }
    return push_cmd(loop, kind, id, a, b);
}

static void process_cmds(ergo_loop *loop)
{
    pthread_mutex_lock(&loop->cmd_lock);
    cmd *c = loop->cmd_head;
    loop->cmd_head = loop->cmd_tail = NULL;
    loop->cmd_count = 0;
    pthread_mutex_unlock(&loop->cmd_lock);
    while (c) {
        cmd *n = c->next;
        run_cmd(loop, c);
        free(c);
        c = n;
    }
}

static void process_flushes(ergo_loop *loop)
{
    pthread_mutex_lock(&loop->cmd_lock);
    slot *s = loop->flush_head;
    loop->flush_head = loop->flush_tail = NULL;
    pthread_mutex_unlock(&loop->cmd_lock);
    while (s) {
        slot *n = s->next_flush;
        if (s->state == SLOT_OPEN) {
            pthread_mutex_lock(&s->lock);
            int err = s->tx_err;
            pthread_mutex_unlock(&s->lock);
            if (err)
                loop_conn_fail(loop, s, err);
            else
                loop->ops->flush(loop, s);
        }
        s = n;
    }
}

void loop_wake_drain(ergo_loop *loop)
{
    atomic_store_explicit(&loop->wake_pending, false, memory_order_release);
    process_cmds(loop);
}

/* ---- Public API ---------------------------------------------------------------------------- */

void ergo_loop_config_init(ergo_loop_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->backend = ERGO_LOOP_BACKEND_ENV;
    cfg->max_conns = 1024;
    cfg->max_timers = 4096;
    cfg->max_commands = 4096;
    cfg->max_iov = 64;
    cfg->send_chunk = 64 * 1024;
    cfg->pool_chunks = 64;
    cfg->max_send_queue = (size_t)64 << 20;
    cfg->max_packet = (size_t)64 << 20;
    cfg->carry_size = 4096;
    cfg->recv_buf_size = 64 * 1024;
    cfg->recv_buf_count = 64;
    cfg->uring_entries = 256;
    cfg->direct_send = 1;
    cfg->direct_burst = 4;
}

static ergo_loop_backend pick_backend(ergo_loop_backend b)
{
    if (b != ERGO_LOOP_BACKEND_ENV)
        return b;
    const char *e = getenv("ERGO_EVENT_LOOP");
    if (e && strcmp(e, "epoll") == 0)
        return ERGO_LOOP_BACKEND_EPOLL;
    if (e && (strcmp(e, "uring") == 0 || strcmp(e, "io_uring") == 0))
        return ERGO_LOOP_BACKEND_URING;
    return ERGO_LOOP_BACKEND_AUTO;
}

int ergo_loop_create(ergo_loop **out, const ergo_loop_config *cfg, const ergo_loop_callbacks *cb,
                     void *ctx)
{
    if (!out)
        return ERGO_LOOP_E_ARG;
    *out = NULL;
    ergo_loop_config c;
    if (cfg)
        c = *cfg;
    else
        ergo_loop_config_init(&c);
    if (c.max_conns == 0 || c.max_conns > (1u << 24) || c.max_iov == 0 || c.max_iov > 1024 ||
        c.send_chunk < 64 || c.carry_size == 0 || c.recv_buf_size < 64 ||
        c.recv_buf_count == 0 || c.recv_buf_count > 32768 ||
        (c.recv_buf_count & (c.recv_buf_count - 1)) || c.max_commands == 0 ||
        c.uring_entries == 0 || c.max_packet == 0 || (unsigned)c.backend > 3)
        return ERGO_LOOP_E_ARG;
    ergo_loop *loop = calloc(1, sizeof *loop);
    if (!loop)
        return ERGO_LOOP_E_NOMEM;
    loop->cfg = c;
    if (cb)
        loop->cb = *cb;
    loop->ctx = ctx;
    loop->wake_fd = -1;
    loop->lazy_fd = -1;
    pthread_mutex_init(&loop->cmd_lock, NULL);
    atomic_init(&loop->wake_pending, false);
    atomic_init(&loop->stop, false);
    atomic_init(&loop->running, false);
    atomic_init(&loop->in_run, false);
    atomic_init(&loop->timers_reserved, 0);
    atomic_init(&loop->direct_sends, 0);
    atomic_init(&loop->direct_bytes, 0);
    atomic_init(&loop->lazy_sends, 0);
    atomic_init(&loop->lazy_timer, false);
    loop->slots = calloc(c.max_conns, sizeof *loop->slots);
    loop->timers = c.max_timers ? calloc(c.max_timers, sizeof *loop->timers) : NULL;
    if (!loop->slots || (c.max_timers && !loop->timers)) {
        free(loop->slots);
        free(loop->timers);
        pthread_mutex_destroy(&loop->cmd_lock);
        free(loop);
        return ERGO_LOOP_E_NOMEM;
    }
    loop->nslots = c.max_conns;
    for (uint32_t i = 0; i < c.max_conns; i++) {
        slot *s = &loop->slots[i];
        pthread_mutex_init(&s->lock, NULL);
        s->index = i;
        s->fd = -1;
        s->next_free = i + 2 <= c.max_conns ? i + 2 : 0;
    }
    loop->free_head = 1;
    int rc = 0;
    loop->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (loop->wake_fd < 0)
        rc = -errno;
    /* Without a timerfd, a lazy send wakes the loop like any other. */
    loop->lazy_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    ergo_loop_backend want = pick_backend(c.backend);
    if (rc == 0) {
        rc = ERGO_LOOP_E_UNSUPPORTED;
#if ERGO_HAVE_LIBURING
        if (want != ERGO_LOOP_BACKEND_EPOLL) {
            loop->ops = &ergo_loop_uring_ops;
            rc = loop->ops->init(loop);
            if (rc < 0 && rc != ERGO_LOOP_E_NOMEM)
                rc = ERGO_LOOP_E_UNSUPPORTED; /* disabled, filtered or too old */
        }
#endif
        if (rc < 0 && want != ERGO_LOOP_BACKEND_URING) {
            loop->ops = &ergo_loop_epoll_ops;
            rc = loop->ops->init(loop);
        }
    }
    if (rc < 0) {
        loop->ops = NULL;
        ergo_loop_destroy(loop);
        return rc;
    }
    *out = loop;
    return 0;
}

void ergo_loop_destroy(ergo_loop *loop)
{
    if (!loop)
        return;
    if (loop->ops) {
        loop->closing_head = NULL;
        for (uint32_t i = 0; i < loop->nslots; i++) {
            slot *s = &loop->slots[i];
            if (s->state != SLOT_FREE && s->state != SLOT_CLOSING)
                set_state(s, SLOT_CLOSING);
        }
        for (uint32_t i = 0; i < loop->nslots; i++) {
            slot *s = &loop->slots[i];
            if (s->state == SLOT_CLOSING)
                loop->ops->close(loop, s);
        }
        loop->ops->fini(loop);
    }
    for (uint32_t i = 0; i < loop->nslots; i++) {
        slot *s = &loop->slots[i];
        if (s->state != SLOT_FREE)
            loop_slot_release(loop, s);
        pthread_mutex_destroy(&s->lock);
    }
    cmd *c = loop->cmd_head;
    while (c) {
        cmd *n = c->next;
        free(c);
        c = n;
    }
    while (loop->pool) {
        out_chunk *n = loop->pool->next;
        free(loop->pool);
        loop->pool = n;
    }
    if (loop->wake_fd >= 0)
        close(loop->wake_fd);
    if (loop->lazy_fd >= 0)
        close(loop->lazy_fd);
    free(loop->recv_buf);
    free(loop->slots);
    free(loop->timers);
    pthread_mutex_destroy(&loop->cmd_lock);
    free(loop);
}

const char *ergo_loop_backend_name(const ergo_loop *loop)
{
    return loop && loop->ops ? loop->ops->name : "none";
}

ergo_loop_backend ergo_loop_backend_kind(const ergo_loop *loop)
{
    return loop && loop->ops ? loop->ops->kind : ERGO_LOOP_BACKEND_AUTO;
}

static int poll_timeout(ergo_loop *loop, uint64_t now)
{
    pthread_mutex_lock(&loop->cmd_lock);
    bool busy = loop->cmd_head || loop->flush_head;
    pthread_mutex_unlock(&loop->cmd_lock);
    if (busy || loop->closing_head || atomic_load(&loop->stop))
        return 0;
    uint64_t due = loop->sweep_due;
    if (loop->ntimers && (due == 0 || loop->timers[0].deadline < due))
        due = loop->timers[0].deadline;
    if (due == 0)
        return -1;
    if (due <= now)
        return 0;
    uint64_t ms = (due - now + 999999) / 1000000;
    return ms > 60000 ? 60000 : (int)ms;
}

int ergo_loop_run(ergo_loop *loop)
{
    if (!loop)
        return ERGO_LOOP_E_ARG;
    if (atomic_exchange(&loop->in_run, true))
        return ERGO_LOOP_E_STATE;
    loop->thread = pthread_self();
    atomic_store_explicit(&loop->running, true, memory_order_release);
    int rc = 0;
    while (!atomic_load(&loop->stop)) {
        process_cmds(loop);
        process_closing(loop);
        process_flushes(loop);
        uint64_t now = loop_now_ns();
        rc = loop->ops->poll(loop, poll_timeout(loop, now));
        if (rc < 0)
            break;
        now = loop_now_ns();
        run_timers(loop, now);
        sweep(loop, now);
        process_closing(loop);
    }
    process_closing(loop);
    atomic_store(&loop->stop, false);
    atomic_store_explicit(&loop->running, false, memory_order_release);
    atomic_store(&loop->in_run, false);
    return rc;
}

int ergo_loop_stop(ergo_loop *loop)
{
    if (!loop)
        return ERGO_LOOP_E_ARG;
    atomic_store(&loop->stop, true);
    wake_fd_write(loop);
    return 0;
}

/* Resolve host:port into ss (host NULL: the wildcard address). */
static int resolve(const char *host, uint16_t port, bool passive, struct sockaddr_storage *ss,
                   socklen_t *len)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    char serv[8];
    snprintf(serv, sizeof serv, "%u", (unsigned)port);
    if (getaddrinfo(host, serv, &hints, &res) != 0 || !res)
        return ERGO_LOOP_E_ADDR;
    /* Prefer IPv4 for the wildcard, as Erlang's default inet does. */
    struct addrinfo *pick = res;
    for (struct addrinfo *a = res; passive && !host && a; a = a->ai_next)
        if (a->ai_family == AF_INET) {
            pick = a;
            break;
        }
    memcpy(ss, pick->ai_addr, pick->ai_addrlen);
    *len = pick->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

int ergo_loop_listen(ergo_loop *loop, const char *host, uint16_t port, int backlog,
                     ergo_loop_id *id, uint16_t *bound_port)
{
    if (!loop || !id)
        return ERGO_LOOP_E_ARG;
    *id = 0;
    struct sockaddr_storage ss;
    socklen_t len;
    int rc = resolve(host, port, true, &ss, &len);
    if (rc < 0)
        return rc;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    len = ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, backlog > 0 ? backlog : 128) < 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    slot *s = slot_alloc(loop, SLOT_LISTENER, fd);
    if (!s) {
        close(fd);
        return ERGO_LOOP_E_LIMIT;
    }
    ergo_loop_id lid = loop_slot_id(s);
    rc = submit(loop, CMD_LISTEN, lid, 0, 0);
    if (rc < 0) {
        loop_slot_release(loop, s);
        return rc;
    }
    if (bound_port)
        *bound_port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                                    : ((struct sockaddr_in6 *)&ss)->sin6_port);
    *id = lid;
    return 0;
}

int ergo_loop_connect(ergo_loop *loop, const char *host, uint16_t port, uint32_t timeout_ms,
                      uint64_t tag, ergo_loop_id *id)
{
    if (!loop || !host || !id)
        return ERGO_LOOP_E_ARG;
    *id = 0;
    struct sockaddr_storage ss;
    socklen_t len;
    int rc = resolve(host, port, false, &ss, &len);
    if (rc < 0)
        return rc;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    slot *s = slot_alloc(loop, SLOT_CONNECTING, fd);
    if (!s) {
        close(fd);
        return ERGO_LOOP_E_LIMIT;
    }
    s->addr = ss;
    s->addrlen = len;
    s->tag = tag;
    ergo_loop_id cid = loop_slot_id(s);
    rc = submit(loop, CMD_CONNECT, cid, timeout_ms, 0);
    if (rc < 0) {
        loop_slot_release(loop, s);
        return rc;
    }
    *id = cid;
    return 0;
}

/* Thread-safe check that id names a live slot of the kinds in mask. */
static int check_id(ergo_loop *loop, ergo_loop_id id, unsigned mask)
{
    slot *s = lookup_locked(loop, id, mask);
    if (!s)
        return ERGO_LOOP_E_STALE;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

int ergo_loop_close(ergo_loop *loop, ergo_loop_id id)
{
    if (!loop)
        return ERGO_LOOP_E_ARG;
    int rc = check_id(loop, id, LIVE_CONN | 1u << SLOT_LISTENER);
    return rc < 0 ? rc : submit(loop, CMD_CLOSE, id, 0, 0);
}

int ergo_loop_close_flushed(ergo_loop *loop, ergo_loop_id conn)
{
    if (!loop)
        return ERGO_LOOP_E_ARG;
    int rc = check_id(loop, conn, LIVE_CONN);
    return rc < 0 ? rc : submit(loop, CMD_CLOSE_FLUSHED, conn, 0, 0);
}

int ergo_loop_set_framing(ergo_loop *loop, ergo_loop_id conn, ergo_loop_framing mode,
                          size_t max_packet)
{
    if (!loop || (mode != ERGO_LOOP_RAW && mode != ERGO_LOOP_PACKET2 && mode != ERGO_LOOP_PACKET4))
        return ERGO_LOOP_E_ARG;
    int rc = check_id(loop, conn, LIVE_CONN);
    return rc < 0 ? rc : submit(loop, CMD_FRAMING, conn, (uint64_t)mode, max_packet);
}

int ergo_loop_set_tick(ergo_loop *loop, ergo_loop_id conn, uint32_t interval_ms)
{
    if (!loop)
        return ERGO_LOOP_E_ARG;
    int rc = check_id(loop, conn, LIVE_CONN);
    return rc < 0 ? rc : submit(loop, CMD_TICK, conn, interval_ms, 0);
}

int ergo_loop_timer(ergo_loop *loop, uint32_t ms, uint64_t tag)
{
    if (!loop)
        return ERGO_LOOP_E_ARG;
    uint32_t n = atomic_fetch_add(&loop->timers_reserved, 1);
    if (n >= loop->cfg.max_timers) {
        atomic_fetch_sub(&loop->timers_reserved, 1);
        return ERGO_LOOP_E_LIMIT;
    }
    int rc = submit(loop, CMD_TIMER, 0, loop_now_ns() + (uint64_t)ms * 1000000u, tag);
    if (rc < 0)
        atomic_fetch_sub(&loop->timers_reserved, 1);
    return rc;
}

int ergo_loop_timer_cancel(ergo_loop *loop, uint64_t tag)
{
    if (!loop)
        return ERGO_LOOP_E_ARG;
    return submit(loop, CMD_TIMER_CANCEL, 0, tag, 0);
}

int ergo_loop_wake(ergo_loop *loop, uint64_t tag)
{
    if (!loop)
        return ERGO_LOOP_E_ARG;
    return submit(loop, CMD_WAKE, 0, tag, 0);
}

void ergo_loop_get_stats(const ergo_loop *loop, ergo_loop_stats *out)
{
    if (loop && out) {
        *out = loop->stats;
        ergo_loop *l = (ergo_loop *)loop; /* atomic loads take non-const in C11 */
        out->direct_sends = atomic_load_explicit(&l->direct_sends, memory_order_relaxed);
        out->send_calls += out->direct_sends;
        out->bytes_sent += atomic_load_explicit(&l->direct_bytes, memory_order_relaxed);
        out->lazy_sends = atomic_load_explicit(&l->lazy_sends, memory_order_relaxed);
    }
}

const char *ergo_loop_strerror(int code)
{
    switch (code) {
    case ERGO_LOOP_OK: return "ok";
    case ERGO_LOOP_E_ARG: return "bad argument";
    case ERGO_LOOP_E_NOMEM: return "out of memory";
    case ERGO_LOOP_E_BUSY: return "send queue full";
    case ERGO_LOOP_E_LIMIT: return "table full (connections, timers or commands)";
    case ERGO_LOOP_E_STALE: return "no such connection";
    case ERGO_LOOP_E_TOO_BIG: return "packet longer than the limit";
    case ERGO_LOOP_E_TICK_TIMEOUT: return "tick timeout: peer silent";
    case ERGO_LOOP_E_TIMEOUT: return "connect timed out";
    case ERGO_LOOP_E_CLOSED: return "closed locally";
    case ERGO_LOOP_E_UNSUPPORTED: return "event loop backend not available";
    case ERGO_LOOP_E_ADDR: return "address does not resolve";
    case ERGO_LOOP_E_STATE: return "wrong state";
    case -ECONNREFUSED: return "connection refused";
    case -ECONNRESET: return "connection reset by peer";
    case -ECONNABORTED: return "connection aborted";
    case -EPIPE: return "broken pipe";
    case -ETIMEDOUT: return "timed out";
    case -ENETUNREACH: return "network unreachable";
    case -EHOSTUNREACH: return "host unreachable";
    case -EADDRINUSE: return "address in use";
    case -EADDRNOTAVAIL: return "address not available";
    case -EACCES: return "permission denied";
    case -EPERM: return "operation not permitted";
    case -EMFILE: return "too many open files";
    case -ENFILE: return "too many open files in system";
    case -ENOMEM: return "kernel out of memory";
    case -ENOSYS: return "system call not available";
    case -EINVAL: return "invalid argument (system call)";
    case -ENOBUFS: return "no buffer space";
    default: return code < 0 && code > -4096 ? "system error" : "unknown error";
    }
}
