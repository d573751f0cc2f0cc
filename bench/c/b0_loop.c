/*
 * b0_loop.c — B0 loopback through the C core's event loop (BENCHMARKS.md
 * line format, system ergo-c), beside b0_loopback's plain-socket ceiling:
 *   loop-rtt/<backend>  1-byte ping-pong: the loop's side answers each byte
 *                       from on_packet with ergo_loop_send; the other end
 *                       is a plain blocking echo thread. Round trips/s.
 *   loop-bw/<backend>   a plain thread streams 64 KiB writes, the loop
 *                       receives them (raw framing): MB/s (10^6 bytes).
 * for <backend> = epoll and io_uring (a FAILED line if the kernel refuses
 * io_uring). Method as b0_loopback: each run lasts at least MIN_SECONDS,
 * the figure is the median of RUNS runs, each printed on a '#' line.
 *
 * Usage: b0_loop
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ergo_loop.h"

enum { RUNS = 3, CHUNK = 64 * 1024 };
static const double MIN_SECONDS = 1.0;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *name, const char *be, const char *unit, const double *runs,
                   const char *failed)
{
    if (failed) {
        printf("B0 %s/%s ergo-c FAILED %s\n", name, be, failed);
        fflush(stdout);
        return;
    }
    double sorted[RUNS];
    printf("# B0 %s/%s ergo-c runs (%s):", name, be, unit);
    for (int r = 0; r < RUNS; r++) {
        printf(" %.0f", runs[r]);
        sorted[r] = runs[r];
    }
    printf("\n");
    qsort(sorted, RUNS, sizeof sorted[0], cmp_double);
    printf("B0 %s/%s ergo-c %.0f %s\n", name, be, sorted[RUNS / 2], unit);
    fflush(stdout);
}

/* What the callbacks share with the main thread. */
typedef struct {
    ergo_loop *loop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    ergo_loop_id conn;
    bool rtt;       /* ping-pong mode (else: count bytes) */
    int run;        /* current run; RUNS = done */
    double t0;
    uint64_t count; /* round trips or bytes in this run */
    double runs[RUNS];
    int err;
} bench;

static void on_accept(void *ctx, ergo_loop_id l, ergo_loop_id c, const char *peer)
{
    bench *b = ctx;
    (void)l;
    (void)peer;
    pthread_mutex_lock(&b->mu);
    b->conn = c;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

static void finish_run(bench *b, double t)
{
    double dt = t - b->t0;
    b->runs[b->run] = b->rtt ? (double)b->count / dt : (double)b->count / dt / 1e6;
    b->count = 0;
    b->t0 = t;
    if (++b->run == RUNS) {
        pthread_mutex_lock(&b->mu);
        pthread_cond_broadcast(&b->cv);
        pthread_mutex_unlock(&b->mu);
    }
}

static void on_packet(void *ctx, ergo_loop_id c, const uint8_t *p, size_t n)
{
    bench *b = ctx;
    if (b->run >= RUNS || b->run < 0)
        return;
    if (b->rtt) {
        b->count++;
        if ((b->count & 255) == 0 && now_s() - b->t0 >= MIN_SECONDS) {
            finish_run(b, now_s());
            if (b->run == RUNS)
                return;
        }
        struct iovec iov = {(void *)p, 1};
        int rc = ergo_loop_send(b->loop, c, &iov, 1);
        if (rc < 0)
            b->err = rc;
    } else {
        b->count += n;
        double t;
        if ((b->count & ((1u << 22) - 1)) < n && (t = now_s()) - b->t0 >= MIN_SECONDS)
            finish_run(b, t);
    }
}

static void on_close(void *ctx, ergo_loop_id c, int err)
{
    bench *b = ctx;
    (void)c;
    pthread_mutex_lock(&b->mu);
    if (b->run < RUNS && !b->err)
        b->err = err ? err : -ECONNRESET;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

static void *run_thread(void *arg)
{
    ergo_loop_run(arg);
    return NULL;
}

static void *echo_thread(void *arg)
{
    int fd = *(int *)arg;
    char c;
    for (;;) {
        ssize_t n = recv(fd, &c, 1, 0);
        if (n <= 0) break;
        if (send(fd, &c, 1, MSG_NOSIGNAL) != 1) break;
    }
    return NULL;
}

typedef struct {
    int fd;
    atomic_int stop;
} stream_arg;

static void *stream_thread(void *arg)
{
    stream_arg *s = arg;
    static char chunk[CHUNK];
    memset(chunk, 'x', sizeof chunk);
    while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
        if (send(s->fd, chunk, sizeof chunk, MSG_NOSIGNAL) < 0) break;
    }
    return NULL;
}

/* One workload on one backend. */
static void bench_one(ergo_loop_backend be, bool rtt)
{
    const char *name = rtt ? "loop-rtt" : "loop-bw";
    const char *unit = rtt ? "rt/s" : "MB/s";
    const char *bename = be == ERGO_LOOP_BACKEND_URING ? "io_uring" : "epoll";
    bench b;
    memset(&b, 0, sizeof b);
    pthread_mutex_init(&b.mu, NULL);
    pthread_cond_init(&b.cv, NULL);
    b.rtt = rtt;
    b.run = -1;
    ergo_loop_config cfg;
    ergo_loop_config_init(&cfg);
    cfg.backend = be;
    ergo_loop_callbacks cb = {.on_accept = on_accept, .on_packet = on_packet, .on_close = on_close};
    char why[128];
    int rc = ergo_loop_create(&b.loop, &cfg, &cb, &b);
    if (rc < 0) {
        snprintf(why, sizeof why, "ergo_loop_create: %s", ergo_loop_strerror(rc));
        report(name, bename, unit, b.runs, why);
        return;
    }
    ergo_loop_id lid;
    uint16_t port;
    rc = ergo_loop_listen(b.loop, "127.0.0.1", 0, 4, &lid, &port);
    pthread_t lt;
    pthread_create(&lt, NULL, run_thread, b.loop);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    int one = 1;
    if (rc < 0 || fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        snprintf(why, sizeof why, "setup: %s", rc < 0 ? ergo_loop_strerror(rc) : strerror(errno));
        ergo_loop_stop(b.loop);
        pthread_join(lt, NULL);
        ergo_loop_destroy(b.loop);
        if (fd >= 0) close(fd);
        report(name, bename, unit, b.runs, why);
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pthread_mutex_lock(&b.mu);
    while (!b.conn)
        pthread_cond_wait(&b.cv, &b.mu);
    pthread_mutex_unlock(&b.mu);
    pthread_t peer;
    stream_arg s = {.fd = fd};
    atomic_init(&s.stop, 0);
    if (rtt)
        pthread_create(&peer, NULL, echo_thread, &fd);
    else
        pthread_create(&peer, NULL, stream_thread, &s);
    /* Warm up for a moment, then the callbacks time RUNS runs themselves:
     * the loop thread reads b.run/t0 only after this wake-up ran. */
    struct timespec d = {0, 200 * 1000 * 1000};
    if (!rtt)
        nanosleep(&d, NULL);
    b.t0 = now_s();
    b.run = 0;
    atomic_thread_fence(memory_order_seq_cst);
    if (rtt) {
        struct iovec iov = {"p", 1};
        ergo_loop_send(b.loop, b.conn, &iov, 1);
    }
    pthread_mutex_lock(&b.mu);
    while (b.run < RUNS && !b.err)
        pthread_cond_wait(&b.cv, &b.mu);
    int err = b.err;
    pthread_mutex_unlock(&b.mu);
    atomic_store(&s.stop, 1);
    shutdown(fd, SHUT_RDWR);
    pthread_join(peer, NULL);
    ergo_loop_stop(b.loop);
    pthread_join(lt, NULL);
    ergo_loop_destroy(b.loop);
    close(fd);
    if (err) {
        snprintf(why, sizeof why, "%s", ergo_loop_strerror(err));
        report(name, bename, unit, b.runs, why);
        return;
    }
    report(name, bename, unit, b.runs, NULL);
}

int main(void)
{
    static const ergo_loop_backend backends[] = {ERGO_LOOP_BACKEND_EPOLL, ERGO_LOOP_BACKEND_URING};
    for (int i = 0; i < 2; i++) {
        bench_one(backends[i], true);
        bench_one(backends[i], false);
    }
    return 0;
}
