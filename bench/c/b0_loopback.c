/*
 * b0_loopback.c — B0 loopback (BENCHMARKS.md): the ceiling that every remote
 * workload runs under. Plain sockets over 127.0.0.1, no Ergo code:
 *   loopback-rtt  1-byte ping-pong between two threads over one TCP
 *                 connection (TCP_NODELAY): round trips per second
 *   loopback-bw   one thread streams 64 KiB writes, the other reads: MB/s
 *                 (MB = 10^6 bytes)
 * Method: each run lasts at least MIN_SECONDS; the figure is the median of
 * RUNS runs, each printed on a '#' line.
 *
 * Usage: b0_loopback
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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

/* A connected pair of TCP sockets over 127.0.0.1. Returns 0 or -errno. */
static int tcp_pair(int fds[2])
{
    int one = 1, err = 0;
    int lst = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lst < 0) return -errno;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof addr;
    fds[0] = fds[1] = -1;
    if (bind(lst, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lst, 1) < 0 ||
        getsockname(lst, (struct sockaddr *)&addr, &alen) < 0) {
        err = -errno;
        goto out;
    }
    fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fds[0] < 0 || connect(fds[0], (struct sockaddr *)&addr, sizeof addr) < 0) {
        err = -errno;
        goto out;
    }
    fds[1] = accept4(lst, NULL, NULL, SOCK_CLOEXEC);
    if (fds[1] < 0) {
        err = -errno;
        goto out;
    }
    setsockopt(fds[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fds[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
out:
    close(lst);
    if (err) {
        if (fds[0] >= 0) close(fds[0]);
        if (fds[1] >= 0) close(fds[1]);
    }
    return err;
}

static void report(const char *name, const char *unit, const double *runs, int err, const char *why)
{
    if (err) {
        printf("B0 %s ergo-c FAILED %s: %s\n", name, why, strerror(-err));
        fflush(stdout);
        return;
    }
    double sorted[RUNS];
    printf("# B0 %s ergo-c runs (%s):", name, unit);
    for (int r = 0; r < RUNS; r++) {
        printf(" %.0f", runs[r]);
        sorted[r] = runs[r];
    }
    printf("\n");
    qsort(sorted, RUNS, sizeof sorted[0], cmp_double);
    printf("B0 %s ergo-c %.0f %s\n", name, sorted[RUNS / 2], unit);
    fflush(stdout);
}

/* ---- loopback-rtt -------------------------------------------------------- */

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

static int ping(int fd)
{
    char c = 'p';
    if (send(fd, &c, 1, MSG_NOSIGNAL) != 1) return errno ? -errno : -EIO;
    ssize_t n = recv(fd, &c, 1, 0);
    if (n == 1) return 0;
    return n < 0 ? -errno : -ECONNRESET;
}

static void bench_rtt(void)
{
    int fds[2], err = tcp_pair(fds);
    double runs[RUNS] = {0};
    if (err) {
        report("loopback-rtt", "rt/s", runs, err, "socket pair");
        return;
    }
    pthread_t th;
    if ((err = pthread_create(&th, NULL, echo_thread, &fds[1])) != 0) {
        close(fds[0]);
        close(fds[1]);
        report("loopback-rtt", "rt/s", runs, -err, "thread");
        return;
    }
    for (int i = 0; i < 1000 && !err; i++) err = ping(fds[0]); /* warm-up */
    for (int r = 0; r < RUNS && !err; r++) {
        uint64_t done = 0;
        double t0 = now_s(), dt;
        do {
            for (int i = 0; i < 256 && !err; i++) err = ping(fds[0]);
            done += 256;
            dt = now_s() - t0;
        } while (dt < MIN_SECONDS && !err);
        runs[r] = (double)done / dt;
    }
    shutdown(fds[0], SHUT_WR); /* the echo thread sees EOF */
    pthread_join(th, NULL);
    close(fds[0]);
    close(fds[1]);
    report("loopback-rtt", "rt/s", runs, err, "ping-pong");
}

/* ---- loopback-bw --------------------------------------------------------- */

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
    shutdown(s->fd, SHUT_WR);
    return NULL;
}

static void bench_bw(void)
{
    int fds[2], err = tcp_pair(fds);
    double runs[RUNS] = {0};
    if (err) {
        report("loopback-bw", "MB/s", runs, err, "socket pair");
        return;
    }
    stream_arg s = {.fd = fds[1]};
    atomic_init(&s.stop, 0);
    pthread_t th;
    if ((err = pthread_create(&th, NULL, stream_thread, &s)) != 0) {
        close(fds[0]);
        close(fds[1]);
        report("loopback-bw", "MB/s", runs, -err, "thread");
        return;
    }
    static char sink[CHUNK];
    size_t warm = 0;
    while (warm < (size_t)64 << 20 && !err) { /* warm-up: 64 MiB */
        ssize_t n = recv(fds[0], sink, sizeof sink, 0);
        if (n <= 0) err = n < 0 ? -errno : -ECONNRESET;
        else warm += (size_t)n;
    }
    for (int r = 0; r < RUNS && !err; r++) {
        uint64_t bytes = 0;
        double t0 = now_s(), dt;
        do {
            for (int i = 0; i < 64 && !err; i++) {
                ssize_t n = recv(fds[0], sink, sizeof sink, 0);
                if (n <= 0) err = n < 0 ? -errno : -ECONNRESET;
                else bytes += (uint64_t)n;
            }
            dt = now_s() - t0;
        } while (dt < MIN_SECONDS && !err);
        runs[r] = (double)bytes / dt / 1e6;
    }
    atomic_store(&s.stop, 1);
    /* drain until the streamer notices and closes its side */
    while (recv(fds[0], sink, sizeof sink, 0) > 0) {
    }
    pthread_join(th, NULL);
    close(fds[0]);
    close(fds[1]);
    report("loopback-bw", "MB/s", runs, err, "stream");
}

int main(void)
{
    bench_rtt();
    bench_bw();
    return 0;
}
