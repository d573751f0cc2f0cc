/*
 * loop_test.h — harness for the event loop tests: a loop running on a
 * helper thread, callbacks that record what happened under a mutex, waits
 * on a condition variable (with a deadline) instead of sleeps, and plain
 * blocking sockets for the other end. Each test_loop_*.c runs as two ctests,
 * one per backend (argv[1] = "epoll" or "uring"); the uring one exits 77 if
 * the kernel refuses io_uring.
 */
#ifndef ERGO_LOOP_TEST_H
#define ERGO_LOOP_TEST_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "ergo_loop.h"

enum { LT_MAX = 256 };

typedef struct lt lt;
typedef void (*lt_packet_hook)(lt *t, ergo_loop_id conn, const uint8_t *p, size_t n);

struct lt {
    ergo_loop *loop;
    pthread_t th;
    bool joined;
    int run_rc;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    ergo_loop_id accepted[LT_MAX];
    int naccepted;
    char peer[64];
    struct {
        ergo_loop_id id;
        uint64_t tag;
        int err;
    } connects[LT_MAX];
    int nconnects;
    struct {
        ergo_loop_id id;
        int err;
    } closes[LT_MAX];
    int ncloses;
    uint64_t timers[LT_MAX];
    int ntimers;
    uint64_t wakes[LT_MAX];
    int nwakes;
    int nwritable;
    /* Payload received on all connections, concatenated; packet lengths. */
    uint8_t *rx;
    size_t rx_len, rx_cap;
    size_t npk;
    size_t pk_len[LT_MAX];
    lt_packet_hook hook; /* replaces the recording above when set */
    void *user;
};

static ergo_loop_backend lt_backend = ERGO_LOOP_BACKEND_EPOLL;

static void lt_on_accept(void *ctx, ergo_loop_id l, ergo_loop_id c, const char *peer)
{
    lt *t = ctx;
    (void)l;
    pthread_mutex_lock(&t->mu);
    if (t->naccepted < LT_MAX)
        t->accepted[t->naccepted++] = c;
    snprintf(t->peer, sizeof t->peer, "%s", peer);
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

static void lt_on_connect(void *ctx, ergo_loop_id c, uint64_t tag, int err)
{
    lt *t = ctx;
    pthread_mutex_lock(&t->mu);
    if (t->nconnects < LT_MAX) {
        t->connects[t->nconnects].id = c;
        t->connects[t->nconnects].tag = tag;
        t->connects[t->nconnects].err = err;
        t->nconnects++;
    }
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

/* Append a packet to t->rx (any thread). */
static void lt_record(lt *t, const uint8_t *p, size_t n)
{
    pthread_mutex_lock(&t->mu);
    if (t->rx_len + n > t->rx_cap) {
        size_t cap = t->rx_cap ? t->rx_cap : 4096;
        while (cap < t->rx_len + n)
            cap *= 2;
        uint8_t *b = realloc(t->rx, cap);
        if (!b) {
            pthread_mutex_unlock(&t->mu);
            abort();
        }
        t->rx = b;
        t->rx_cap = cap;
    }
    if (n)
        memcpy(t->rx + t->rx_len, p, n);
    t->rx_len += n;
    if (t->npk < LT_MAX)
        t->pk_len[t->npk] = n;
    t->npk++;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

static void lt_on_packet(void *ctx, ergo_loop_id c, const uint8_t *p, size_t n)
{
    lt *t = ctx;
    if (t->hook)
        t->hook(t, c, p, n);
    else
        lt_record(t, p, n);
}

static void lt_on_close(void *ctx, ergo_loop_id c, int err)
{
    lt *t = ctx;
    pthread_mutex_lock(&t->mu);
    if (t->ncloses < LT_MAX) {
        t->closes[t->ncloses].id = c;
        t->closes[t->ncloses].err = err;
        t->ncloses++;
    }
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

static void lt_on_timer(void *ctx, uint64_t tag)
{
    lt *t = ctx;
    pthread_mutex_lock(&t->mu);
    if (t->ntimers < LT_MAX)
        t->timers[t->ntimers++] = tag;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

static void lt_on_wake(void *ctx, uint64_t tag)
{
    lt *t = ctx;
    pthread_mutex_lock(&t->mu);
    if (t->nwakes < LT_MAX)
        t->wakes[t->nwakes++] = tag;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

static void lt_on_writable(void *ctx, ergo_loop_id c)
{
    lt *t = ctx;
    (void)c;
    pthread_mutex_lock(&t->mu);
    t->nwritable++;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

static void *lt_thread(void *arg)
{
    lt *t = arg;
    t->run_rc = ergo_loop_run(t->loop);
    return NULL;
}

/* Pick the backend from argv[1]; exits 77 (skip) if io_uring is refused. */
static inline void lt_setup(int argc, char **argv)
{
    lt_backend = argc > 1 && strcmp(argv[1], "uring") == 0 ? ERGO_LOOP_BACKEND_URING
                                                          : ERGO_LOOP_BACKEND_EPOLL;
    ergo_loop_config cfg;
    ergo_loop_config_init(&cfg);
    cfg.backend = lt_backend;
    ergo_loop *l = NULL;
    int rc = ergo_loop_create(&l, &cfg, NULL, NULL);
    if (rc < 0 && lt_backend == ERGO_LOOP_BACKEND_URING) {
        fprintf(stderr, "io_uring refused (%s): skip\n", ergo_loop_strerror(rc));
        exit(77);
    }
    if (rc < 0) {
        fprintf(stderr, "ergo_loop_create: %s\n", ergo_loop_strerror(rc));
        exit(1);
    }
    fprintf(stderr, "backend: %s\n", ergo_loop_backend_name(l));
    ergo_loop_destroy(l);
}

/* A loop on a helper thread (cfg NULL = defaults), with lt_backend. */
static inline lt *lt_start(const ergo_loop_config *cfg_in)
{
    lt *t = calloc(1, sizeof *t);
    if (!t)
        abort();
    pthread_mutex_init(&t->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cv, &ca);
    pthread_condattr_destroy(&ca);
    ergo_loop_config cfg;
    if (cfg_in)
        cfg = *cfg_in;
    else
        ergo_loop_config_init(&cfg);
    cfg.backend = lt_backend;
    ergo_loop_callbacks cb = {lt_on_accept, lt_on_connect, lt_on_packet,  lt_on_close,
                              lt_on_timer,  lt_on_wake,    lt_on_writable};
    int rc = ergo_loop_create(&t->loop, &cfg, &cb, t);
    if (rc < 0) {
        fprintf(stderr, "ergo_loop_create: %s\n", ergo_loop_strerror(rc));
        exit(1);
    }
    if (pthread_create(&t->th, NULL, lt_thread, t) != 0)
        abort();
    return t;
}

/* Stop the loop from this thread; stats may be read after. */
static inline void lt_stop(lt *t, ergo_loop_stats *stats)
{
    CHECK_EQ(ergo_loop_stop(t->loop), 0);
    pthread_join(t->th, NULL);
    t->joined = true;
    CHECK_EQ(t->run_rc, 0);
    if (stats)
        ergo_loop_get_stats(t->loop, stats);
}

static inline void lt_finish(lt *t)
{
    if (!t->joined)
        lt_stop(t, NULL);
    ergo_loop_destroy(t->loop);
    free(t->rx);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* Wait (up to 20 s) until cond holds, evaluated under t->mu. */
#define LT_WAIT(t, cond) lt_wait_impl((t), __FILE__, __LINE__, #cond, ({                  \
    bool lt_ok_;                                                                        \
    struct timespec lt_dl_;                                                             \
    clock_gettime(CLOCK_MONOTONIC, &lt_dl_);                                            \
    lt_dl_.tv_sec += 20;                                                                \
    pthread_mutex_lock(&(t)->mu);                                                       \
    while (!(lt_ok_ = (cond)))                                                          \
        if (pthread_cond_timedwait(&(t)->cv, &(t)->mu, &lt_dl_) == ETIMEDOUT) {         \
            lt_ok_ = (cond);                                                            \
            break;                                                                      \
        }                                                                               \
    pthread_mutex_unlock(&(t)->mu);                                                     \
    lt_ok_;                                                                             \
}))

static bool lt_wait_impl(lt *t, const char *file, int line, const char *what, bool ok)
{
    (void)t;
    if (!ok) {
        fprintf(stderr, "%s:%d: timed out waiting for %s\n", file, line, what);
        check_failures++;
    }
    return ok;
}

/* ---- Plain blocking sockets for the other end ---- */

static inline int blk_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("blk_connect");
        exit(1);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static inline int blk_listen(uint16_t *port, int backlog)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, backlog) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        perror("blk_listen");
        exit(1);
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static inline bool blk_write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        b += w;
        n -= (size_t)w;
    }
    return true;
}

static inline bool blk_read_all(int fd, void *p, size_t n)
{
    uint8_t *b = p;
    while (n > 0) {
        ssize_t r = recv(fd, b, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        b += r;
        n -= (size_t)r;
    }
    return true;
}

/* Listen on the loop, connect a blocking socket, wait for the accept.
 * Returns the blocking fd; *conn is the loop's side. */
static inline int lt_pair(lt *t, ergo_loop_id *conn)
{
    ergo_loop_id lid;
    uint16_t port = 0;
    CHECK_EQ(ergo_loop_listen(t->loop, "127.0.0.1", 0, 16, &lid, &port), 0);
    pthread_mutex_lock(&t->mu);
    int before = t->naccepted;
    pthread_mutex_unlock(&t->mu);
    int fd = blk_connect(port);
    LT_WAIT(t, t->naccepted > before);
    pthread_mutex_lock(&t->mu);
    *conn = t->accepted[before];
    pthread_mutex_unlock(&t->mu);
    CHECK_EQ(ergo_loop_close(t->loop, lid), 0);
    return fd;
}

/* Write bytes from a helper thread, optionally one send() per byte. */
typedef struct {
    int fd;
    const uint8_t *p;
    size_t n;
    bool bytewise;
    bool ok;
    pthread_t th;
} lt_writer;

static void *lt_writer_main(void *arg)
{
    lt_writer *w = arg;
    w->ok = true;
    if (!w->bytewise) {
        w->ok = blk_write_all(w->fd, w->p, w->n);
        return NULL;
    }
    for (size_t i = 0; i < w->n && w->ok; i++)
        w->ok = blk_write_all(w->fd, w->p + i, 1);
    return NULL;
}

static inline void lt_write_async(lt_writer *w, int fd, const void *p, size_t n, bool bytewise)
{
    w->fd = fd;
    w->p = p;
    w->n = n;
    w->bytewise = bytewise;
    if (pthread_create(&w->th, NULL, lt_writer_main, w) != 0)
        abort();
}

static inline bool lt_write_join(lt_writer *w)
{
    pthread_join(w->th, NULL);
    return w->ok;
}

/* Apply queued commands: a wake is queued behind them (FIFO) and waited for. */
static inline void lt_sync(lt *t)
{
    pthread_mutex_lock(&t->mu);
    int n = t->nwakes;
    pthread_mutex_unlock(&t->mu);
    CHECK_EQ(ergo_loop_wake(t->loop, 0xC0FFEE), 0);
    LT_WAIT(t, t->nwakes > n);
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

#endif
