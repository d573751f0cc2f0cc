/*
 * test_loop_basic.c — the event loop's life cycle on one backend: echo over
 * loopback (listen, connect, send, receive, close on both sides), connect
 * refused and timed out, stale ids, timers in order, wake-ups, the limits
 * on timers and connections, stop from another thread.
 */
#include "loop_test.h"

/* The server side echoes; the client side (t->user) records. */
static void echo_hook(lt *t, ergo_loop_id c, const uint8_t *p, size_t n)
{
    if (c == *(ergo_loop_id *)t->user) {
        lt_record(t, p, n);
        return;
    }
    struct iovec iov = {(void *)p, n};
    CHECK_EQ(ergo_loop_send(t->loop, c, &iov, 1), 0);
}

static void test_echo(void)
{
    lt *t = lt_start(NULL);
    ergo_loop_id lid, cid = 0;
    uint16_t port = 0;
    CHECK_EQ(ergo_loop_listen(t->loop, "127.0.0.1", 0, 16, &lid, &port), 0);
    CHECK(port != 0);
    t->user = &cid;
    t->hook = echo_hook;
    pthread_mutex_lock(&t->mu); /* cid is read by the hook */
    CHECK_EQ(ergo_loop_connect(t->loop, "127.0.0.1", port, 2000, 7, &cid), 0);
    pthread_mutex_unlock(&t->mu);
    CHECK(cid != 0);
    LT_WAIT(t, t->nconnects == 1 && t->naccepted == 1);
    CHECK_EQ(t->connects[0].err, 0);
    CHECK_EQU(t->connects[0].tag, 7);
    CHECK_EQU(t->connects[0].id, cid);
    CHECK(strncmp(t->peer, "127.0.0.1:", 10) == 0);
    for (int i = 0; i < 5; i++) {
        char msg[6];
        snprintf(msg, sizeof msg, "hell%d", i);
        struct iovec iov[2] = {{msg, 3}, {msg + 3, 2}};
        CHECK_EQ(ergo_loop_send(t->loop, cid, iov, 2), 0);
    }
    LT_WAIT(t, t->rx_len == 25);
    CHECK_MEM(t->rx, "hell0hell1hell2hell3hell4", 25);
    ergo_loop_id acc = t->accepted[0];
    CHECK_EQ(ergo_loop_close(t->loop, cid), 0);
    LT_WAIT(t, t->ncloses == 2);
    for (int i = 0; i < t->ncloses; i++) {
        if (t->closes[i].id == cid)
            CHECK_EQ(t->closes[i].err, ERGO_LOOP_E_CLOSED);
        else
            CHECK(t->closes[i].id == acc && t->closes[i].err == 0);
    }
    struct iovec iov = {"x", 1};
    CHECK_EQ(ergo_loop_send(t->loop, cid, &iov, 1), ERGO_LOOP_E_STALE);
    CHECK_EQ(ergo_loop_close(t->loop, cid), ERGO_LOOP_E_STALE);
    CHECK_EQ(ergo_loop_set_tick(t->loop, acc, 10), ERGO_LOOP_E_STALE);
    CHECK_EQ(ergo_loop_send(t->loop, 0, &iov, 1), ERGO_LOOP_E_STALE);
    CHECK_EQ(ergo_loop_send(t->loop, 0xFFFFFFFFFFFFull, &iov, 1), ERGO_LOOP_E_STALE);
    /* A new connection reuses a slot with a new generation. */
    ergo_loop_id cid2;
    CHECK_EQ(ergo_loop_connect(t->loop, "127.0.0.1", port, 2000, 8, &cid2), 0);
    CHECK(cid2 != cid);
    LT_WAIT(t, t->nconnects == 2 && t->naccepted == 2);
    CHECK_EQ(t->connects[1].err, 0);
    CHECK_EQ(ergo_loop_send(t->loop, cid, &iov, 1), ERGO_LOOP_E_STALE);
    lt_finish(t); /* destroy with open connections and a listener */
    CHECK_EQ(t == NULL, 0);
}

static void test_refused(void)
{
    lt *t = lt_start(NULL);
    uint16_t port;
    int fd = blk_listen(&port, 1);
    close(fd); /* nothing listens there now */
    ergo_loop_id cid;
    CHECK_EQ(ergo_loop_connect(t->loop, "127.0.0.1", port, 2000, 1, &cid), 0);
    LT_WAIT(t, t->nconnects == 1);
    CHECK_EQ(t->connects[0].err, -ECONNREFUSED);
    CHECK_EQ(ergo_loop_send(t->loop, cid, &(struct iovec){"x", 1}, 1), ERGO_LOOP_E_STALE);
    CHECK_EQ(ergo_loop_connect(t->loop, "no.such.host.invalid", 1, 0, 1, &cid), ERGO_LOOP_E_ADDR);
    CHECK_EQ(t->ncloses, 0);
    lt_finish(t);
}

/* A listener whose accept queue is full drops SYNs: connect times out. */
static void test_timeout(void)
{
    lt *t = lt_start(NULL);
    uint16_t port;
    int lfd = blk_listen(&port, 0);
    int fill[8];
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    for (int i = 0; i < 8; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        connect(fill[i], (struct sockaddr *)&a, sizeof a);
    }
    struct timespec d = {0, 50 * 1000 * 1000};
    nanosleep(&d, NULL); /* let the fillers' handshakes settle: setup, not sync */
    ergo_loop_id cid;
    CHECK_EQ(ergo_loop_connect(t->loop, "127.0.0.1", port, 200, 5, &cid), 0);
    LT_WAIT(t, t->nconnects == 1);
    CHECK_EQ(t->connects[0].err, ERGO_LOOP_E_TIMEOUT);
    CHECK_EQU(t->connects[0].tag, 5);
    /* Closing a connect in progress reports on_connect(E_CLOSED). */
    CHECK_EQ(ergo_loop_connect(t->loop, "127.0.0.1", port, 0, 6, &cid), 0);
    CHECK_EQ(ergo_loop_close(t->loop, cid), 0);
    LT_WAIT(t, t->nconnects == 2);
    CHECK_EQ(t->connects[1].err, ERGO_LOOP_E_CLOSED);
    CHECK_EQ(t->ncloses, 0);
    for (int i = 0; i < 8; i++)
        close(fill[i]);
    close(lfd);
    lt_finish(t);
}

static void test_timers(void)
{
    ergo_loop_config cfg;
    ergo_loop_config_init(&cfg);
    cfg.max_timers = 6;
    lt *t = lt_start(&cfg);
    /* 50 ms apart at least: adding them takes far less, even under TSan. */
    CHECK_EQ(ergo_loop_timer(t->loop, 250, 4), 0);
    CHECK_EQ(ergo_loop_timer(t->loop, 100, 1), 0);
    CHECK_EQ(ergo_loop_timer(t->loop, 200, 3), 0);
    CHECK_EQ(ergo_loop_timer(t->loop, 150, 2), 0);
    CHECK_EQ(ergo_loop_timer(t->loop, 50, 0), 0);
    CHECK_EQ(ergo_loop_timer(t->loop, 100000, 99), 0);
    CHECK_EQ(ergo_loop_timer(t->loop, 1, 100), ERGO_LOOP_E_LIMIT);
    LT_WAIT(t, t->ntimers == 5);
    for (int i = 0; i < 5; i++)
        CHECK_EQU(t->timers[i], (uint64_t)i);
    CHECK_EQ(ergo_loop_timer(t->loop, 1, 5), 0); /* fired timers free their place */
    LT_WAIT(t, t->ntimers == 6);
    CHECK_EQU(t->timers[5], 5);
    /* Cancel: the 100 s timer and two more go, their places come back. */
    CHECK_EQ(ergo_loop_timer(t->loop, 100, 7), 0);
    CHECK_EQ(ergo_loop_timer(t->loop, 60000, 7), 0);
    CHECK_EQ(ergo_loop_timer(t->loop, 100, 8), 0);
    CHECK_EQ(ergo_loop_timer_cancel(t->loop, 7), 0);
    CHECK_EQ(ergo_loop_timer_cancel(t->loop, 99), 0);
    CHECK_EQ(ergo_loop_timer_cancel(t->loop, 12345), 0);
    lt_sync(t);
    for (uint64_t i = 0; i < 5; i++)
        CHECK_EQ(ergo_loop_timer(t->loop, 150 + (uint32_t)i * 50, 10 + i), 0);
    CHECK_EQ(ergo_loop_timer(t->loop, 1, 100), ERGO_LOOP_E_LIMIT);
    LT_WAIT(t, t->ntimers == 12);
    CHECK_EQU(t->timers[6], 8);
    for (int i = 0; i < 5; i++)
        CHECK_EQU(t->timers[7 + i], 10u + (unsigned)i);
    lt_finish(t);
}

static void *wake_thread(void *arg)
{
    lt *t = arg;
    for (uint64_t i = 0; i < 100; i++)
        CHECK_EQ(ergo_loop_wake(t->loop, i), 0);
    return NULL;
}

static void test_wake(void)
{
    lt *t = lt_start(NULL);
    pthread_t th;
    pthread_create(&th, NULL, wake_thread, t);
    pthread_join(th, NULL);
    LT_WAIT(t, t->nwakes == 100);
    for (int i = 0; i < 100; i++)
        CHECK_EQU(t->wakes[i], (uint64_t)i);
    lt_finish(t);
}

static void test_limits(void)
{
    ergo_loop_config cfg;
    ergo_loop_config_init(&cfg);
    cfg.max_conns = 2;
    lt *t = lt_start(&cfg);
    ergo_loop_id l1, l2, l3;
    uint16_t p1;
    CHECK_EQ(ergo_loop_listen(t->loop, "127.0.0.1", 0, 4, &l1, &p1), 0);
    CHECK_EQ(ergo_loop_listen(t->loop, "127.0.0.1", 0, 4, &l2, NULL), 0);
    CHECK_EQ(ergo_loop_listen(t->loop, "127.0.0.1", 0, 4, &l3, NULL), ERGO_LOOP_E_LIMIT);
    CHECK_EQ(ergo_loop_connect(t->loop, "127.0.0.1", p1, 0, 0, &l3), ERGO_LOOP_E_LIMIT);
    CHECK_EQ(ergo_loop_set_framing(t->loop, l1, ERGO_LOOP_PACKET4, 0), ERGO_LOOP_E_STALE);
    lt_finish(t);
    ergo_loop *l;
    cfg.max_conns = 0;
    CHECK_EQ(ergo_loop_create(&l, &cfg, NULL, NULL), ERGO_LOOP_E_ARG);
    cfg.max_conns = 4;
    cfg.recv_buf_count = 3;
    CHECK_EQ(ergo_loop_create(&l, &cfg, NULL, NULL), ERGO_LOOP_E_ARG);
    CHECK(strcmp(ergo_loop_strerror(ERGO_LOOP_E_TICK_TIMEOUT), "unknown error") != 0);
    CHECK(strcmp(ergo_loop_strerror(-ECONNREFUSED), "connection refused") == 0);
}

/* The backend the config asks for, or the environment's. */
static void test_backend_choice(void)
{
    ergo_loop_config cfg;
    ergo_loop_config_init(&cfg);
    cfg.backend = ERGO_LOOP_BACKEND_EPOLL;
    ergo_loop *l;
    CHECK_EQ(ergo_loop_create(&l, &cfg, NULL, NULL), 0);
    CHECK(strcmp(ergo_loop_backend_name(l), "epoll") == 0);
    ergo_loop_destroy(l);
    cfg.backend = ERGO_LOOP_BACKEND_ENV;
    setenv("ERGO_EVENT_LOOP", "epoll", 1);
    CHECK_EQ(ergo_loop_create(&l, &cfg, NULL, NULL), 0);
    CHECK_EQ(ergo_loop_backend_kind(l), ERGO_LOOP_BACKEND_EPOLL);
    ergo_loop_destroy(l);
    unsetenv("ERGO_EVENT_LOOP");
    cfg.backend = ERGO_LOOP_BACKEND_AUTO;
    CHECK_EQ(ergo_loop_create(&l, &cfg, NULL, NULL), 0); /* whichever: never fails */
    fprintf(stderr, "auto picks %s\n", ergo_loop_backend_name(l));
    ergo_loop_destroy(l);
}

/* run returns on stop and may run again, on another thread. */
static void test_restart(void)
{
    lt *t = lt_start(NULL);
    lt_sync(t);
    CHECK_EQ(ergo_loop_run(t->loop), ERGO_LOOP_E_STATE); /* already running */
    lt_stop(t, NULL);
    t->joined = false;
    pthread_create(&t->th, NULL, lt_thread, t);
    lt_sync(t);
    CHECK_EQ(ergo_loop_timer(t->loop, 5, 42), 0);
    LT_WAIT(t, t->ntimers == 1);
    lt_finish(t);
}

/* IPv6 loopback, where the machine has it. */
static void test_ipv6(void)
{
    lt *t = lt_start(NULL);
    ergo_loop_id lid, cid;
    uint16_t port;
    int rc = ergo_loop_listen(t->loop, "::1", 0, 4, &lid, &port);
    if (rc < 0) {
        fprintf(stderr, "no IPv6 loopback (%s): IPv6 case skipped\n", ergo_loop_strerror(rc));
        lt_finish(t);
        return;
    }
    CHECK_EQ(ergo_loop_connect(t->loop, "::1", port, 2000, 9, &cid), 0);
    LT_WAIT(t, t->nconnects == 1 && t->naccepted == 1);
    CHECK_EQ(t->connects[0].err, 0);
    CHECK(strncmp(t->peer, "[::1]:", 6) == 0);
    lt_finish(t);
}

/* close_flushed: every queued byte reaches the peer, then EOF. */
static void test_close_flushed(void)
{
    lt *t = lt_start(NULL);
    ergo_loop_id lid;
    uint16_t port = 0;
    CHECK_EQ(ergo_loop_listen(t->loop, "127.0.0.1", 0, 4, &lid, &port), 0);
    int fd = blk_connect(port);
    CHECK(fd >= 0);
    LT_WAIT(t, t->naccepted == 1);
    ergo_loop_id acc = t->accepted[0];
    enum { N = 1 << 20 };
    uint8_t *big = malloc(N);
    CHECK(big != NULL);
    for (size_t i = 0; i < N; i++)
        big[i] = (uint8_t)(i * 7);
    struct iovec iov = {big, N};
    CHECK_EQ(ergo_loop_send(t->loop, acc, &iov, 1), 0);
    CHECK_EQ(ergo_loop_close_flushed(t->loop, acc), 0);
    uint8_t *got = malloc(N);
    CHECK(got != NULL);
    CHECK(blk_read_all(fd, got, N));
    CHECK_MEM(got, big, N);
    uint8_t extra;
    CHECK_EQ((int)read(fd, &extra, 1), 0); /* EOF after the last byte */
    LT_WAIT(t, t->ncloses == 1);
    CHECK_EQ(t->closes[0].err, ERGO_LOOP_E_CLOSED);
    CHECK_EQ(ergo_loop_close_flushed(t->loop, acc), ERGO_LOOP_E_STALE);
    /* With nothing queued it closes at once. */
    int fd2 = blk_connect(port);
    CHECK(fd2 >= 0);
    LT_WAIT(t, t->naccepted == 2);
    CHECK_EQ(ergo_loop_close_flushed(t->loop, t->accepted[1]), 0);
    CHECK_EQ((int)read(fd2, &extra, 1), 0);
    LT_WAIT(t, t->ncloses == 2);
    close(fd);
    close(fd2);
    free(big);
    free(got);
    lt_finish(t);
}

int main(int argc, char **argv)
{
    lt_setup(argc, argv);
    test_echo();
    test_refused();
    test_timeout();
    test_timers();
    test_wake();
    test_limits();
    test_backend_choice();
    test_restart();
    test_ipv6();
    test_close_flushed();
    CHECK_DONE();
}
