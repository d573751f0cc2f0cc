/*
 * loop_epoll.c — the fallback backend: level-triggered epoll over
 * nonblocking sockets, one receive buffer for the loop, sendmsg with the
 * gathered iovec until the queue is empty or the socket is full (then
 * EPOLLOUT), the eventfd for wake-ups and epoll_wait's timeout for timers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop_internal.h"

enum { EP_EVENTS = 256, EP_READS = 8, EP_ACCEPTS = 64 };
/* epoll data of the wake eventfd (0) and the lazy timerfd (1); a slot's id
 * has a generation >= 1 in its high half, so it is never either. */
enum { EP_WAKE = 0, EP_LAZY = 1 };

typedef struct {
    int epfd;
    struct epoll_event ev[EP_EVENTS];
} ep_state;

static int ep_init(ergo_loop *loop)
{
    ep_state *e = calloc(1, sizeof *e);
    if (!e)
        return ERGO_LOOP_E_NOMEM;
    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (e->epfd < 0) {
        int rc = -errno;
        free(e);
        return rc;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EP_WAKE};
    loop->recv_buf = malloc(loop->cfg.recv_buf_size);
    if (!loop->recv_buf || epoll_ctl(e->epfd, EPOLL_CTL_ADD, loop->wake_fd, &ev) < 0) {
        int rc = loop->recv_buf ? -errno : ERGO_LOOP_E_NOMEM;
        close(e->epfd);
        free(e);
        return rc;
    }
    struct epoll_event lz = {.events = EPOLLIN, .data.u64 = EP_LAZY};
    if (loop->lazy_fd >= 0 && epoll_ctl(e->epfd, EPOLL_CTL_ADD, loop->lazy_fd, &lz) < 0) {
        int rc = -errno;
        close(e->epfd);
        free(e);
        return rc;
    }
    loop->be = e;
    return 0;
}

static void ep_fini(ergo_loop *loop)
{
    ep_state *e = loop->be;
    if (!e)
        return;
    close(e->epfd);
    free(e);
    loop->be = NULL;
}

/* Register (or change) the events of s; recv_armed means "registered". */
static int ep_set(ergo_loop *loop, slot *s, uint32_t events)
{
    ep_state *e = loop->be;
    struct epoll_event ev = {.events = events, .data.u64 = loop_slot_id(s)};
    if (epoll_ctl(e->epfd, s->recv_armed ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s->fd, &ev) < 0)
        return -errno;
    s->recv_armed = true;
    return 0;
}

static int ep_listen(ergo_loop *loop, slot *s)
{
    return ep_set(loop, s, EPOLLIN);
}

static int ep_connect(ergo_loop *loop, slot *s)
{
    if (connect(s->fd, (struct sockaddr *)&s->addr, s->addrlen) == 0) {
        loop_connect_done(loop, s, 0);
        return 0;
    }
    if (errno != EINPROGRESS)
        return -errno;
    return ep_set(loop, s, EPOLLOUT);
}

static int ep_start(ergo_loop *loop, slot *s)
{
    return ep_set(loop, s, EPOLLIN | (s->want_out ? EPOLLOUT : 0));
}

static void ep_flush(ergo_loop *loop, slot *s)
{
    if (s->send_busy || s->state != SLOT_OPEN)
        return;
    while (loop_out_gather(loop, s) > 0) {
        ssize_t n = sendmsg(s->fd, &s->msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0) {
            loop_out_sent(loop, s, (size_t)n); /* may call on_writable */
            if (s->state != SLOT_OPEN)
                return;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            s->send_busy = true;
            if (!s->want_out) {
                s->want_out = true;
                int rc = ep_set(loop, s, EPOLLIN | EPOLLOUT);
                if (rc < 0)
                    loop_conn_fail(loop, s, rc);
            }
            return;
        }
        loop_conn_fail(loop, s, -errno);
        return;
    }
    if (!s->iov) {
        loop_conn_fail(loop, s, ERGO_LOOP_E_NOMEM);
        return;
    }
    if (s->want_out) {
        s->want_out = false;
        int rc = ep_set(loop, s, EPOLLIN);
        if (rc < 0)
            loop_conn_fail(loop, s, rc);
    }
}

static void ep_close(ergo_loop *loop, slot *s)
{
    ep_state *e = loop->be;
    if (s->recv_armed && e)
        epoll_ctl(e->epfd, EPOLL_CTL_DEL, s->fd, NULL);
    s->recv_armed = false;
    loop_slot_release(loop, s);
}

static void ep_accept(ergo_loop *loop, slot *ls)
{
    for (int i = 0; i < EP_ACCEPTS && ls->state == SLOT_LISTENER; i++) {
        int fd = accept4(ls->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN, or a transient error (EMFILE...): level-triggered retry */
        loop_accepted(loop, ls, fd);
    }
}

static void ep_read(ergo_loop *loop, slot *s)
{
    for (int i = 0; i < EP_READS && s->state == SLOT_OPEN; i++) {
        ssize_t n = recv(s->fd, loop->recv_buf, loop->cfg.recv_buf_size, 0);
        if (n > 0) {
            s->last_read = loop_now_ns();
            loop->stats.recv_calls++;
            loop->stats.bytes_received += (uint64_t)n;
            if (!loop_framer_feed(loop, s, loop->recv_buf, (size_t)n))
                return;
            if ((size_t)n < loop->cfg.recv_buf_size)
                return;
        } else if (n == 0) {
            loop_conn_fail(loop, s, 0);
            return;
        } else if (errno == EINTR) {
            continue;
        } else {
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                loop_conn_fail(loop, s, -errno);
            return;
        }
    }
}

static void ep_event(ergo_loop *loop, uint64_t id, uint32_t events)
{
    uint32_t low = (uint32_t)id;
    if (low == 0 || low > loop->nslots)
        return;
    slot *s = &loop->slots[low - 1];
    if (!s->live || s->gen != (uint32_t)(id >> 32))
        return;
    switch (s->state) {
    case SLOT_LISTENER: ep_accept(loop, s); break;
    case SLOT_CONNECTING: {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        loop_connect_done(loop, s, -err);
        break;
    }
    case SLOT_OPEN:
        if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
            ep_read(loop, s);
        if ((events & EPOLLOUT) && s->state == SLOT_OPEN) {
            s->send_busy = false;
            ep_flush(loop, s);
        }
        break;
    default: break;
    }
}

static int ep_poll(ergo_loop *loop, int timeout_ms)
{
    ep_state *e = loop->be;
    int n = epoll_wait(e->epfd, e->ev, EP_EVENTS, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        if (e->ev[i].data.u64 == EP_WAKE) {
            uint64_t v;
            ssize_t r = read(loop->wake_fd, &v, sizeof v);
            (void)r;
            loop_wake_drain(loop);
        } else if (e->ev[i].data.u64 == EP_LAZY) {
            uint64_t v;
            ssize_t r = read(loop->lazy_fd, &v, sizeof v);
            (void)r;
            loop_lazy_fired(loop); /* the flushes run next */
        } else {
            ep_event(loop, e->ev[i].data.u64, e->ev[i].events);
        }
    }
    return 0;
}

const loop_backend_ops ergo_loop_epoll_ops = {
    .name = "epoll",
    .kind = ERGO_LOOP_BACKEND_EPOLL,
    .init = ep_init,
    .fini = ep_fini,
    .listen = ep_listen,
    .connect = ep_connect,
    .start = ep_start,
    .flush = ep_flush,
    .close = ep_close,
    .poll = ep_poll,
};
