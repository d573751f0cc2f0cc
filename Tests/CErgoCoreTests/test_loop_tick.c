/*
 * test_loop_tick.c — net_ticktime on one backend: with a 50 ms interval
 * the loop sends ticks (4 zero bytes) while it has nothing else to write,
 * a peer that ticks back keeps the connection, and once the peer falls
 * silent the connection is closed with ERGO_LOOP_E_TICK_TIMEOUT after 4
 * intervals. Ticks received are never delivered to on_packet.
 */
#include "loop_test.h"

#include <stdatomic.h>

typedef struct {
    int fd;
    atomic_bool stop;
    pthread_t th;
} ticker;

/* The peer's own ticks, every 20 ms: its behaviour, not synchronisation. */
static void *ticker_main(void *arg)
{
    ticker *k = arg;
    static const uint8_t tick[4];
    while (!atomic_load(&k->stop)) {
        if (!blk_write_all(k->fd, tick, 4))
            break;
        struct timespec d = {0, 20 * 1000 * 1000};
        nanosleep(&d, NULL);
    }
    return NULL;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void test_ticks(void)
{
    lt *t = lt_start(NULL);
    ergo_loop_id c;
    int fd = lt_pair(t, &c);
    CHECK_EQ(ergo_loop_set_framing(t->loop, c, ERGO_LOOP_PACKET4, 0), 0);
    CHECK_EQ(ergo_loop_set_tick(t->loop, c, 50), 0);
    ticker k = {.fd = fd};
    atomic_init(&k.stop, false);
    pthread_create(&k.th, NULL, ticker_main, &k);
    /* Ticks arrive while the loop has nothing to send: read 6 (≥ 250 ms,
     * longer than 4 intervals, so the peer's ticks kept it open). */
    uint64_t t0 = now_ms();
    for (int i = 0; i < 6; i++) {
        uint8_t b[4] = {1, 1, 1, 1};
        CHECK(blk_read_all(fd, b, 4));
        CHECK(b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 0);
    }
    uint64_t took = now_ms() - t0;
    CHECK(took >= 200);
    pthread_mutex_lock(&t->mu);
    CHECK_EQ(t->ncloses, 0);
    CHECK_EQ(t->npk, 0);
    pthread_mutex_unlock(&t->mu);
    /* Data written by the loop counts as activity: a packet goes out and the
     * next bytes the peer sees are that packet, then ticks again. */
    struct iovec iov = {"data", 4};
    CHECK_EQ(ergo_loop_send_packet(t->loop, c, &iov, 1), 0);
    /* The peer falls silent. */
    atomic_store(&k.stop, true);
    pthread_join(k.th, NULL);
    uint64_t silent = now_ms();
    LT_WAIT(t, t->ncloses == 1);
    uint64_t waited = now_ms() - silent;
    CHECK_EQU(t->closes[0].id, c);
    CHECK_EQ(t->closes[0].err, ERGO_LOOP_E_TICK_TIMEOUT);
    fprintf(stderr, "closed %llu ms after the peer fell silent\n", (unsigned long long)waited);
    CHECK(waited >= 150 && waited < 2000);
    CHECK_EQ(t->npk, 0);
    /* The data packet is in the stream, between ticks. */
    uint8_t b[64];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof b && (r = recv(fd, b + n, sizeof b - n, 0)) > 0)
        n += (size_t)r;
    bool found = false;
    for (size_t i = 0; i + 8 <= n; i += 4)
        if (memcmp(b + i, "\0\0\0\4data", 8) == 0)
            found = true;
    CHECK(found);
    ergo_loop_stats st;
    lt_stop(t, &st);
    CHECK(st.ticks_sent >= 6);
    CHECK(st.ticks_received >= 6);
    close(fd);
    lt_finish(t);
}

/* Both ends on the loop, as two Ergo nodes would be: a {packet, 2}
 * handshake message each way, then both switch to {packet, 4} with ticks
 * from inside the callback. Idle for 6 intervals, the ticks keep both ends
 * open; then one side closes and the other sees the peer close (0). */
static void node_hook(lt *t, ergo_loop_id c, const uint8_t *p, size_t n)
{
    if (n == 5 && memcmp(p, "hello", 5) == 0) {
        /* Server side: answer, then switch. */
        uint8_t m[7] = {0, 5, 'w', 'o', 'r', 'l', 'd'};
        struct iovec iov = {m, sizeof m};
        CHECK_EQ(ergo_loop_send(t->loop, c, &iov, 1), 0);
        CHECK_EQ(ergo_loop_set_framing(t->loop, c, ERGO_LOOP_PACKET4, 0), 0);
        CHECK_EQ(ergo_loop_set_tick(t->loop, c, 50), 0);
    } else if (n == 5 && memcmp(p, "world", 5) == 0) {
        CHECK_EQ(ergo_loop_set_framing(t->loop, c, ERGO_LOOP_PACKET4, 0), 0);
        CHECK_EQ(ergo_loop_set_tick(t->loop, c, 50), 0);
    }
    lt_record(t, p, n);
}

static void test_two_ends(void)
{
    lt *t = lt_start(NULL);
    t->hook = node_hook;
    ergo_loop_id lid, cid;
    uint16_t port;
    CHECK_EQ(ergo_loop_listen(t->loop, "127.0.0.1", 0, 4, &lid, &port), 0);
    CHECK_EQ(ergo_loop_connect(t->loop, "127.0.0.1", port, 2000, 1, &cid), 0);
    LT_WAIT(t, t->nconnects == 1 && t->naccepted == 1);
    ergo_loop_id sid = t->accepted[0];
    CHECK_EQ(ergo_loop_set_framing(t->loop, sid, ERGO_LOOP_PACKET2, 0), 0);
    CHECK_EQ(ergo_loop_set_framing(t->loop, cid, ERGO_LOOP_PACKET2, 0), 0);
    lt_sync(t);
    uint8_t m[7] = {0, 5, 'h', 'e', 'l', 'l', 'o'};
    struct iovec iov = {m, sizeof m};
    CHECK_EQ(ergo_loop_send(t->loop, cid, &iov, 1), 0);
    LT_WAIT(t, t->npk == 2);
    CHECK_EQ(ergo_loop_timer(t->loop, 300, 1), 0);
    LT_WAIT(t, t->ntimers == 1);
    CHECK_EQ(t->ncloses, 0);
    struct iovec d = {"dist", 4};
    CHECK_EQ(ergo_loop_send_packet(t->loop, cid, &d, 1), 0);
    LT_WAIT(t, t->npk == 3);
    CHECK_EQU(t->pk_len[2], 4);
    CHECK_EQ(ergo_loop_close(t->loop, cid), 0);
    LT_WAIT(t, t->ncloses == 2);
    for (int i = 0; i < 2; i++)
        CHECK_EQ(t->closes[i].err, t->closes[i].id == cid ? ERGO_LOOP_E_CLOSED : 0);
    ergo_loop_stats st;
    lt_stop(t, &st);
    fprintf(stderr, "two ends: %llu ticks sent, %llu received\n",
            (unsigned long long)st.ticks_sent, (unsigned long long)st.ticks_received);
    CHECK(st.ticks_sent >= 8);
    CHECK(st.ticks_received >= 8);
    lt_finish(t);
}

int main(int argc, char **argv)
{
    lt_setup(argc, argv);
    test_ticks();
    test_two_ends();
    CHECK_DONE();
}
