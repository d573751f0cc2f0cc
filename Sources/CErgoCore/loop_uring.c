/*
 * loop_uring.c — the io_uring backend: multishot accept, multishot recv
 * into a provided buffer ring (registered with io_uring_register_buf_ring,
 * liburing 2.3), connect, one sendmsg in flight per socket with the
 * gathered iovec, a read on the eventfd for wake-ups, and the wait timeout
 * of io_uring_submit_and_wait_timeout for timers. The operation kind and
 * the slot index are packed into user_data, so no operation allocates;
 * completions are drained in batches. A slot's operations are counted; a
 * closed slot is released when the last one (the cancellation included)
 * has completed.
 */
#define _GNU_SOURCE
#include "loop_internal.h"

#if ERGO_HAVE_LIBURING
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

enum { OP_WAKE = 1, OP_ACCEPT, OP_RECV, OP_SEND, OP_CONNECT, OP_CANCEL, OP_LAZY };
enum { BGID = 0 };

typedef struct {
    struct io_uring ring;
    struct io_uring_buf_ring *br;
    uint8_t *bufs;
    uint32_t nbufs, bufsize;
    uint64_t wake_val;
    uint64_t lazy_val;
    bool wake_armed;
    bool lazy_armed; /* a read on the lazy timerfd is in flight */
    bool ring_ok;
    bool finishing; /* destroy: no more callbacks or re-arming */
} ur_state;

static uint64_t ud(int op, uint32_t idx)
{
    return (uint64_t)op << 32 | idx;
}

/* A free SQE, submitting the queue once if it is full. */
static struct io_uring_sqe *get_sqe(ur_state *u)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    if (!sqe) {
        io_uring_submit(&u->ring);
        sqe = io_uring_get_sqe(&u->ring);
    }
    return sqe;
}

/* A read on the wake eventfd (OP_WAKE) or the lazy timerfd (OP_LAZY). */
static int arm_read(ergo_loop *loop, int op)
{
    ur_state *u = loop->be;
    struct io_uring_sqe *sqe = get_sqe(u);
    if (!sqe)
        return ERGO_LOOP_E_LIMIT;
    bool wake = op == OP_WAKE;
    io_uring_prep_read(sqe, wake ? loop->wake_fd : loop->lazy_fd, wake ? &u->wake_val : &u->lazy_val,
                       sizeof(uint64_t), 0);
    io_uring_sqe_set_data64(sqe, ud(op, 0));
    if (wake)
        u->wake_armed = true;
    else
        u->lazy_armed = true;
    return 0;
}

static int arm_wake(ergo_loop *loop)
{
    return arm_read(loop, OP_WAKE);
}

static void ur_fini(ergo_loop *loop);

/* Multishot recv came in Linux 6.0, and no probe tells whether a kernel
 * has it: an older kernel gets epoll. */
static bool kernel_has_multishot_recv(void)
{
    struct utsname un;
    unsigned major = 0;
    if (uname(&un) != 0 || sscanf(un.release, "%u", &major) != 1)
        return false;
    return major >= 6;
}

static int ur_init(ergo_loop *loop)
{
    if (!kernel_has_multishot_recv())
        return -ENOSYS;
    ur_state *u = calloc(1, sizeof *u);
    if (!u)
        return ERGO_LOOP_E_NOMEM;
    loop->be = u;
    /* SUBMIT_ALL (5.18) where the kernel has it, else plain. Not
     * SINGLE_ISSUER/DEFER_TASKRUN: the ring is set up here, on the thread
     * that creates the loop, while another thread runs it. Not COOP_TASKRUN:
     * measured with bench/c/b0_loop it cut loop-rtt about five-fold (the
     * sleeping loop thread learns of completions late). */
    static const unsigned flag_sets[] = {IORING_SETUP_SUBMIT_ALL, 0};
    int rc = -ENOSYS;
    for (size_t i = 0; i < sizeof flag_sets / sizeof flag_sets[0]; i++) {
        struct io_uring_params p;
        memset(&p, 0, sizeof p);
        p.flags = flag_sets[i];
        p.flags |= IORING_SETUP_CQSIZE;
        p.cq_entries = loop->cfg.uring_entries * 4;
        rc = io_uring_queue_init_params(loop->cfg.uring_entries, &u->ring, &p);
        if (rc == 0)
            break;
        if (rc != -EINVAL)
            break; /* EPERM (io_uring_disabled, seccomp), ENOSYS, ENOMEM: give up */
    }
    if (rc < 0) {
        free(u);
        loop->be = NULL;
        return rc;
    }
    u->ring_ok = true;
    u->nbufs = loop->cfg.recv_buf_count;
    u->bufsize = loop->cfg.recv_buf_size;
    size_t ring_bytes = (size_t)u->nbufs * sizeof(struct io_uring_buf);
    long page = sysconf(_SC_PAGESIZE);
    void *mem = NULL;
    if (posix_memalign(&mem, page > 0 ? (size_t)page : 4096, ring_bytes) != 0) {
        ur_fini(loop);
        return ERGO_LOOP_E_NOMEM;
    }
    u->br = mem;
    u->bufs = malloc((size_t)u->nbufs * u->bufsize);
    if (!u->bufs) {
        ur_fini(loop);
        return ERGO_LOOP_E_NOMEM;
    }
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof reg);
    reg.ring_addr = (uint64_t)(uintptr_t)u->br;
    reg.ring_entries = u->nbufs;
    reg.bgid = BGID;
    rc = io_uring_register_buf_ring(&u->ring, &reg, 0);
    if (rc < 0) {
        ur_fini(loop);
        return rc; /* before 5.19: no buffer rings, use epoll */
    }
    io_uring_buf_ring_init(u->br);
    int mask = io_uring_buf_ring_mask(u->nbufs);
    for (uint32_t i = 0; i < u->nbufs; i++)
        io_uring_buf_ring_add(u->br, u->bufs + (size_t)i * u->bufsize, u->bufsize, (unsigned short)i,
                              mask, (int)i);
    io_uring_buf_ring_advance(u->br, (int)u->nbufs);
    rc = arm_wake(loop);
    if (rc == 0) {
        rc = io_uring_submit(&u->ring);
        rc = rc < 0 ? rc : 0;
    }
    if (rc < 0) {
        ur_fini(loop);
        return rc;
    }
    return 0;
}

static void handle_cqe(ergo_loop *loop, struct io_uring_cqe *cqe);

/* Destroy: wait (a bounded time) for the cancelled operations to end, so the
 * kernel no longer uses our buffers, then tear the ring down. */
static void ur_fini(ergo_loop *loop)
{
    ur_state *u = loop->be;
    if (!u)
        return;
    u->finishing = true;
    if (u->ring_ok) {
        const bool armed[2] = {u->wake_armed, u->lazy_armed};
        const int reads[2] = {OP_WAKE, OP_LAZY};
        for (int i = 0; i < 2; i++) {
            struct io_uring_sqe *sqe = armed[i] ? get_sqe(u) : NULL;
            if (sqe) {
                io_uring_prep_cancel64(sqe, ud(reads[i], 0), 0);
                io_uring_sqe_set_data64(sqe, ud(OP_CANCEL, UINT32_MAX));
            }
        }
        io_uring_submit(&u->ring);
        for (int tries = 0; tries < 200; tries++) {
            bool busy = u->wake_armed || u->lazy_armed;
            for (uint32_t i = 0; i < loop->nslots && !busy; i++)
                busy = loop->slots[i].ops > 0;
            if (!busy)
                break;
            struct io_uring_cqe *cqe;
            struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
            if (io_uring_wait_cqe_timeout(&u->ring, &cqe, &ts) == 0) {
                unsigned head, n = 0;
                io_uring_for_each_cqe(&u->ring, head, cqe) {
                    handle_cqe(loop, cqe);
                    n++;
                }
                io_uring_cq_advance(&u->ring, n);
            }
            io_uring_submit(&u->ring);
        }
        if (u->br)
            io_uring_unregister_buf_ring(&u->ring, BGID);
        io_uring_queue_exit(&u->ring);
    }
    free(u->br);
    free(u->bufs);
    free(u);
    loop->be = NULL;
}

static int ur_listen(ergo_loop *loop, slot *s)
{
    struct io_uring_sqe *sqe = get_sqe(loop->be);
    if (!sqe)
        return ERGO_LOOP_E_LIMIT;
    io_uring_prep_multishot_accept(sqe, s->fd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, ud(OP_ACCEPT, s->index));
    s->ops++;
    return 0;
}

static int ur_connect(ergo_loop *loop, slot *s)
{
    struct io_uring_sqe *sqe = get_sqe(loop->be);
    if (!sqe)
        return ERGO_LOOP_E_LIMIT;
    io_uring_prep_connect(sqe, s->fd, (struct sockaddr *)&s->addr, s->addrlen);
    io_uring_sqe_set_data64(sqe, ud(OP_CONNECT, s->index));
    s->ops++;
    return 0;
}

static int ur_start(ergo_loop *loop, slot *s)
{
    struct io_uring_sqe *sqe = get_sqe(loop->be);
    if (!sqe)
        return ERGO_LOOP_E_LIMIT;
    io_uring_prep_recv_multishot(sqe, s->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BGID;
    io_uring_sqe_set_data64(sqe, ud(OP_RECV, s->index));
    s->ops++;
    s->recv_armed = true;
    return 0;
}

static void ur_flush(ergo_loop *loop, slot *s)
{
    if (s->send_busy || s->state != SLOT_OPEN)
        return;
    if (loop_out_gather(loop, s) == 0) {
        if (!s->iov)
            loop_conn_fail(loop, s, ERGO_LOOP_E_NOMEM);
        return;
    }
    struct io_uring_sqe *sqe = get_sqe(loop->be);
    if (!sqe) {
        loop_conn_fail(loop, s, ERGO_LOOP_E_LIMIT);
        return;
    }
    io_uring_prep_sendmsg(sqe, s->fd, &s->msg, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, ud(OP_SEND, s->index));
    s->ops++;
    s->send_busy = true;
}

static void ur_close(ergo_loop *loop, slot *s)
{
    if (s->cancel_sent)
        return;
    s->cancel_sent = true;
    if (s->ops == 0) {
        loop_slot_release(loop, s);
        return;
    }
    struct io_uring_sqe *sqe = get_sqe(loop->be);
    if (sqe) {
        io_uring_prep_cancel_fd(sqe, s->fd, IORING_ASYNC_CANCEL_ALL);
        io_uring_sqe_set_data64(sqe, ud(OP_CANCEL, s->index));
        s->ops++;
    }
    shutdown(s->fd, SHUT_RDWR); /* ends a recv or send the cancel misses */
}

static void recycle(ur_state *u, unsigned bid)
{
    io_uring_buf_ring_add(u->br, u->bufs + (size_t)bid * u->bufsize, u->bufsize,
                          (unsigned short)bid, io_uring_buf_ring_mask(u->nbufs), 0);
    io_uring_buf_ring_advance(u->br, 1);
}

static void on_recv(ergo_loop *loop, slot *s, int res, unsigned flags)
{
    ur_state *u = loop->be;
    bool more = flags & IORING_CQE_F_MORE;
    if (res > 0 && (flags & IORING_CQE_F_BUFFER)) {
        unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
        if (s->state == SLOT_OPEN && bid < u->nbufs) {
            s->last_read = loop_now_ns();
            loop->stats.recv_calls++;
            loop->stats.bytes_received += (uint64_t)res;
            loop_framer_feed(loop, s, u->bufs + (size_t)bid * u->bufsize, (size_t)res);
        }
        if (bid < u->nbufs)
            recycle(u, bid);
    } else if (res == 0) {
        loop_conn_fail(loop, s, 0);
    } else if (res < 0 && res != -ENOBUFS && res != -ECANCELED) {
        loop_conn_fail(loop, s, res);
    }
    if (!more) {
        s->ops--;
        s->recv_armed = false;
        if (s->state == SLOT_OPEN) {
            int rc = ur_start(loop, s); /* multishot ended (ENOBUFS, ...): re-arm */
            if (rc < 0)
                loop_conn_fail(loop, s, rc);
        }
    }
}

static void handle_cqe(ergo_loop *loop, struct io_uring_cqe *cqe)
{
    ur_state *u = loop->be;
    uint64_t data = io_uring_cqe_get_data64(cqe);
    int op = (int)(data >> 32);
    uint32_t idx = (uint32_t)data;
    int res = cqe->res;
    if (op == OP_WAKE) {
        u->wake_armed = false;
        if (!u->finishing) /* re-armed by the next poll */
            loop_wake_drain(loop);
        return;
    }
    if (op == OP_LAZY) {
        u->lazy_armed = false;
        if (!u->finishing) /* re-armed by the next poll; the flushes run next */
            loop_lazy_fired(loop);
        return;
    }
    if (idx >= loop->nslots)
        return;
    slot *s = &loop->slots[idx];
    switch (op) {
    case OP_ACCEPT:
        if (res >= 0) {
            if (s->state == SLOT_LISTENER)
                loop_accepted(loop, s, res);
            else
                close(res);
        }
        if (!(cqe->flags & IORING_CQE_F_MORE)) {
            s->ops--;
            if (s->state == SLOT_LISTENER && res != -EINVAL && res != -EBADF) {
                int rc = ur_listen(loop, s);
                if (rc < 0)
                    loop_conn_fail(loop, s, rc);
            }
        }
        break;
    case OP_RECV: on_recv(loop, s, res, cqe->flags); break;
    case OP_SEND:
        s->ops--;
        s->send_busy = false;
        if (s->state != SLOT_OPEN)
            break;
        if (res > 0) {
            loop_out_sent(loop, s, (size_t)res);
            ur_flush(loop, s);
        } else {
            loop_conn_fail(loop, s, res < 0 ? res : -EPIPE);
        }
        break;
    case OP_CONNECT:
        s->ops--;
        loop_connect_done(loop, s, res);
        break;
    case OP_CANCEL: s->ops--; break;
    default: break;
    }
    if (s->state == SLOT_CLOSING && s->cancel_sent && s->ops == 0)
        loop_slot_release(loop, s);
}

static int ur_poll(ergo_loop *loop, int timeout_ms)
{
    ur_state *u = loop->be;
    if (!u->wake_armed) {
        int rc = arm_wake(loop);
        if (rc < 0)
            return rc;
    }
    if (!u->lazy_armed && loop->lazy_fd >= 0) {
        int rc = arm_read(loop, OP_LAZY);
        if (rc < 0)
            return rc;
    }
    struct io_uring_cqe *cqe = NULL;
    int rc;
    if (timeout_ms < 0) {
        rc = io_uring_submit_and_wait(&u->ring, 1);
    } else {
        struct __kernel_timespec ts = {.tv_sec = timeout_ms / 1000,
                                       .tv_nsec = (long long)(timeout_ms % 1000) * 1000000};
        rc = timeout_ms == 0 ? io_uring_submit(&u->ring)
                             : io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
    }
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
        return rc;
    unsigned head, n = 0;
    io_uring_for_each_cqe(&u->ring, head, cqe) {
        handle_cqe(loop, cqe);
        n++;
    }
    io_uring_cq_advance(&u->ring, n);
    return 0;
}

const loop_backend_ops ergo_loop_uring_ops = {
    .name = "io_uring",
    .kind = ERGO_LOOP_BACKEND_URING,
    .init = ur_init,
    .fini = ur_fini,
    .listen = ur_listen,
    .connect = ur_connect,
    .start = ur_start,
    .flush = ur_flush,
    .close = ur_close,
    .poll = ur_poll,
};

#endif
