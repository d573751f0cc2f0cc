/*
 * test_loop_send.c — the outgoing side on one backend: 100,000 small
 * packets arrive whole and in order and are gathered into far fewer
 * sendmsg calls; two threads sending at once keep each one's order; a full
 * queue refuses with ERGO_LOOP_E_BUSY (all or nothing), reports
 * on_writable once drained to half and accepts again; bytes sent while connecting go out once connected.
 * The direct path (the sending thread writes when nothing is queued): small
 * packets go out whole and in order; a packet the socket takes only in part
 * has its rest queued, and packets sent meanwhile, from this thread or
 * another, queue behind it without mixing bytes.
 * Lazy packets: alone they still go out (the loop's timer); followed by a
 * send they go first, in one write with it; sent while connecting, from a
 * callback, or mixed with a flood from two threads, they keep their place.
 */
#include "loop_test.h"

#include <sched.h>

enum { SMALL = 100000, PER_THREAD = 20000 };

/* Read n {packet, 4} packets of 8 bytes (sender, seq) and check each
 * sender's sequence counts up from 0. */
typedef struct {
    int fd;
    int n;
    int senders;
    bool ok;
    pthread_t th;
} reader;

static void *reader_main(void *arg)
{
    reader *r = arg;
    uint32_t next[4] = {0};
    r->ok = true;
    static uint8_t buf[1 << 16];
    size_t have = 0, off = 0;
    for (int i = 0; i < r->n && r->ok;) {
        if (have - off < 12) {
            memmove(buf, buf + off, have - off);
            have -= off;
            off = 0;
            ssize_t k = recv(r->fd, buf + have, sizeof buf - have, 0);
            if (k <= 0) {
                fprintf(stderr, "reader: recv %zd after %d packets\n", k, i);
                r->ok = false;
                break;
            }
            have += (size_t)k;
            continue;
        }
        const uint8_t *p = buf + off;
        uint32_t len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        uint32_t who = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
        uint32_t seq = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
        if (len != 8 || who >= (uint32_t)r->senders || seq != next[who]) {
            fprintf(stderr, "reader: packet %d: len %u sender %u seq %u (want %u)\n", i, len, who,
                    seq, who < 4 ? next[who] : 0);
            r->ok = false;
            break;
        }
        next[who]++;
        off += 12;
        i++;
    }
    return NULL;
}

/* A {packet, 4} of (who, seq), sent plainly or lazily, retried while busy. */
static int send_seq_with(int (*send)(ergo_loop *, ergo_loop_id, const struct iovec *, int),
                         ergo_loop *loop, ergo_loop_id c, uint32_t who, uint32_t seq)
{
    uint8_t a[4], b[4];
    put_be32(a, who);
    put_be32(b, seq);
    struct iovec iov[2] = {{a, 4}, {b, 4}};
    int rc;
    while ((rc = send(loop, c, iov, 2)) == ERGO_LOOP_E_BUSY)
        sched_yield();
    return rc;
}

static int send_seq(ergo_loop *loop, ergo_loop_id c, uint32_t who, uint32_t seq)
{
    return send_seq_with(ergo_loop_send_packet, loop, c, who, seq);
}

static int send_lazy_seq(ergo_loop *loop, ergo_loop_id c, uint32_t who, uint32_t seq)
{
    return send_seq_with(ergo_loop_send_packet_lazy, loop, c, who, seq);
}

/* direct false: the loop gathers everything into far fewer sendmsg calls.
 * direct true, no burst limit: the reader keeps up, so most packets are
 * written by this thread. Either way every byte is counted once. */
static void many_small(bool direct)
{
    ergo_loop_config cfg;
    ergo_loop_config_init(&cfg);
    cfg.direct_send = direct;
    cfg.direct_burst = 0; /* every send may be direct */
    lt *t = lt_start(&cfg);
    ergo_loop_id c;
    int fd = lt_pair(t, &c);
    reader r = {.fd = fd, .n = SMALL, .senders = 1};
    pthread_create(&r.th, NULL, reader_main, &r);
    int fails = 0;
    for (uint32_t i = 0; i < SMALL; i++)
        fails += send_seq(t->loop, c, 0, i) != 0;
    CHECK_EQ(fails, 0);
    pthread_join(r.th, NULL);
    CHECK(r.ok);
    ergo_loop_stats st;
    lt_stop(t, &st);
    fprintf(stderr, "%d packets in %llu sendmsg calls, %llu of them direct\n", SMALL,
            (unsigned long long)st.send_calls, (unsigned long long)st.direct_sends);
    if (direct) {
        CHECK(st.direct_sends > 0);
        CHECK(st.send_calls >= st.direct_sends);
    } else {
        CHECK(st.send_calls < SMALL / 4);
        CHECK_EQU(st.direct_sends, 0);
    }
    CHECK_EQU(st.bytes_sent, (uint64_t)SMALL * 12);
    close(fd);
    lt_finish(t);
}

/* Mixed sizes: sender 0 sends 8-byte packets, sender 1 packets of BIG
 * bytes that a socket nobody reads yet takes only in part (the rest is
 * queued by the direct path). Packet: who, seq, then filler bytes equal to
 * (seq + who) & 0xff. The reader starts late, then checks every byte. */
enum { BIG = 3 << 20, MIXED_BIG = 6, MIXED_SMALL = 5000 };

typedef struct {
    int fd;
    bool ok;
    pthread_t th;
} mixed_reader;

static bool read_exact(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = recv(fd, p, n, 0);
        if (k <= 0)
            return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

static void *mixed_reader_main(void *arg)
{
    mixed_reader *r = arg;
    struct timespec d = {0, 50 * 1000 * 1000}; /* let the socket fill first */
    nanosleep(&d, NULL);
    uint8_t *buf = malloc(BIG);
    uint32_t next[2] = {0, 0};
    r->ok = buf != NULL;
    for (int i = 0; r->ok && i < MIXED_BIG + MIXED_SMALL; i++) {
        uint8_t h[12];
        if (!read_exact(r->fd, h, 12)) {
            fprintf(stderr, "mixed reader: eof after %d packets\n", i);
            r->ok = false;
            break;
        }
        uint32_t len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
        uint32_t who = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
        uint32_t seq = (uint32_t)h[8] << 24 | (uint32_t)h[9] << 16 | (uint32_t)h[10] << 8 | h[11];
        uint32_t want = who == 1 ? BIG : 8;
        if (who > 1 || len != want || seq != next[who]) {
            fprintf(stderr, "mixed reader: packet %d: len %u sender %u seq %u\n", i, len, who, seq);
            r->ok = false;
            break;
        }
        next[who]++;
        if (len > 8) {
            if (!read_exact(r->fd, buf, len - 8)) {
                r->ok = false;
                break;
            }
            for (uint32_t k = 0; k < len - 8; k++) {
                if (buf[k] != (uint8_t)(seq + who)) {
                    fprintf(stderr, "mixed reader: packet %d byte %u\n", i, k);
                    r->ok = false;
                    break;
                }
            }
        }
    }
    free(buf);
    return NULL;
}

typedef struct {
    lt *t;
    ergo_loop_id c;
    int fails;
} big_sender;

static void *big_sender_main(void *arg)
{
    big_sender *b = arg;
    uint8_t *fill = malloc(BIG - 8);
    for (uint32_t i = 0; fill && i < MIXED_BIG; i++) {
        uint8_t a[4], q[4];
        put_be32(a, 1);
        put_be32(q, i);
        memset(fill, (uint8_t)(i + 1), BIG - 8);
        /* Split the filler so a partial write can end inside any iovec. */
        struct iovec iov[4] = {{a, 4}, {q, 4}, {fill, 1000}, {fill + 1000, BIG - 8 - 1000}};
        int rc;
        while ((rc = ergo_loop_send_packet(b->t->loop, b->c, iov, 4)) == ERGO_LOOP_E_BUSY)
            sched_yield();
        b->fails += rc != 0;
    }
    b->fails += fill == NULL;
    free(fill);
    return NULL;
}

/* concurrent: the big packets come from another thread while this one sends
 * small ones; else this thread sends the big ones, then the small ones
 * right behind them, which must wait for the big ones' rest. */
static void direct_partial(bool concurrent)
{
    ergo_loop_config cfg;
    ergo_loop_config_init(&cfg);
    cfg.direct_burst = 0;
    lt *t = lt_start(&cfg);
    ergo_loop_id c;
    int fd = lt_pair(t, &c);
    int small = 32 * 1024; /* a small receive window: big packets are taken in part */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    mixed_reader r = {.fd = fd};
    pthread_create(&r.th, NULL, mixed_reader_main, &r);
    big_sender b = {t, c, 0};
    pthread_t bt;
    if (concurrent)
        pthread_create(&bt, NULL, big_sender_main, &b);
    else
        big_sender_main(&b);
    int fails = 0;
    for (uint32_t i = 0; i < MIXED_SMALL; i++)
        fails += send_seq(t->loop, c, 0, i) != 0;
    if (concurrent)
        pthread_join(bt, NULL);
    CHECK_EQ(fails + b.fails, 0);
    pthread_join(r.th, NULL);
    CHECK(r.ok);
    ergo_loop_stats st;
    lt_stop(t, &st);
    fprintf(stderr, "partial (%s): %llu direct sendmsg calls of %llu\n",
            concurrent ? "two threads" : "one thread", (unsigned long long)st.direct_sends,
            (unsigned long long)st.send_calls);
    CHECK(st.direct_sends > 0);
    CHECK(st.send_calls > st.direct_sends); /* the loop wrote queued rests */
    CHECK_EQU(st.bytes_sent, (uint64_t)MIXED_BIG * (BIG + 4) + (uint64_t)MIXED_SMALL * 12);
    close(fd);
    lt_finish(t);
}

typedef struct {
    lt *t;
    ergo_loop_id c;
    uint32_t who;
    int fails;
} sender;

static void *sender_main(void *arg)
{
    sender *s = arg;
    for (uint32_t i = 0; i < PER_THREAD; i++)
        s->fails += send_seq(s->t->loop, s->c, s->who, i) != 0;
    return NULL;
}

/* Two threads send through one connection (each with `body`); the reader
 * checks each one's order. */
static void two_threads(const ergo_loop_config *cfg, void *(*body)(void *))
{
    lt *t = lt_start(cfg);
    ergo_loop_id c;
    int fd = lt_pair(t, &c);
    reader r = {.fd = fd, .n = 2 * PER_THREAD, .senders = 2};
    pthread_create(&r.th, NULL, reader_main, &r);
    sender s[2] = {{t, c, 0, 0}, {t, c, 1, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, body, &s[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ(s[0].fails + s[1].fails, 0);
    pthread_join(r.th, NULL); /* the last packets may be lazy: they still come */
    CHECK(r.ok);
    close(fd);
    lt_finish(t);
}

static void test_two_threads(void)
{
    ergo_loop_config cfg;
    ergo_loop_config_init(&cfg);
    cfg.max_send_queue = 4096; /* small: the senders meet E_BUSY and back off */
    cfg.send_chunk = 1000;     /* packets straddle chunks */
    two_threads(&cfg, sender_main);
}

/* connected: the loop's side made by ergo_loop_connect (a nonblocking
 * socket) rather than accepted. */
static void test_busy(bool connected)
{
    ergo_loop_config cfg;
    ergo_loop_config_init(&cfg);
    cfg.max_send_queue = 64 * 1024;
    lt *t = lt_start(&cfg);
    ergo_loop_id c;
    int fd;
    if (connected) {
        uint16_t port;
        int lfd = blk_listen(&port, 4);
        CHECK_EQ(ergo_loop_connect(t->loop, "127.0.0.1", port, 5000, 1, &c), 0);
        fd = accept(lfd, NULL, NULL);
        close(lfd);
        LT_WAIT(t, t->nconnects == 1);
        CHECK_EQ(t->connects[0].err, 0);
    } else {
        fd = lt_pair(t, &c);
    }
    static uint8_t block[10000];
    memset(block, 'b', sizeof block);
    struct iovec iov = {block, sizeof block};
    /* The peer does not read: socket buffers fill, then the queue. */
    size_t accepted = 0;
    int rc = 0;
    for (int i = 0; i < 100000 && rc == 0; i++) {
        rc = ergo_loop_send(t->loop, c, &iov, 1);
        if (rc == 0)
            accepted += sizeof block;
        else if (rc == ERGO_LOOP_E_BUSY) {
            /* Might be only the queue between flushes: wait a little for
             * the socket to take it, then insist once more. */
            struct timespec d = {0, 20 * 1000 * 1000};
            nanosleep(&d, NULL);
            rc = ergo_loop_send(t->loop, c, &iov, 1);
            if (rc == 0)
                accepted += sizeof block;
        }
    }
    CHECK_EQ(rc, ERGO_LOOP_E_BUSY);
    /* Earlier refusals while the socket still took bytes each ended with an
     * on_writable; this one cannot end before the peer reads. */
    pthread_mutex_lock(&t->mu);
    int writable = t->nwritable;
    pthread_mutex_unlock(&t->mu);
    /* Drain what was accepted: on_writable comes (once) on the way, and
     * after it the queue takes bytes again. */
    uint8_t *sink = malloc(accepted);
    CHECK(blk_read_all(fd, sink, accepted));
    LT_WAIT(t, t->nwritable == writable + 1);
    for (size_t i = 0; i < accepted; i += 4099)
        CHECK_EQ(sink[i], 'b');
    free(sink);
    CHECK_EQ(ergo_loop_send(t->loop, c, &iov, 1), 0);
    uint8_t tail[sizeof block];
    CHECK(blk_read_all(fd, tail, sizeof tail));
    pthread_mutex_lock(&t->mu);
    CHECK_EQ(t->ncloses, 0);
    CHECK_EQ(t->nwritable, writable + 1);
    pthread_mutex_unlock(&t->mu);
    close(fd);
    lt_finish(t);
}

static void expect_seq(int fd, uint32_t who, uint32_t seq);

/* Plain and lazy packets sent while connecting go out in order once
 * connected. */
static void test_send_while_connecting(void)
{
    lt *t = lt_start(NULL);
    uint16_t port;
    int lfd = blk_listen(&port, 4);
    ergo_loop_id c;
    CHECK_EQ(ergo_loop_connect(t->loop, "127.0.0.1", port, 5000, 1, &c), 0);
    struct iovec iov = {"early", 5};
    CHECK_EQ(ergo_loop_send(t->loop, c, &iov, 1), 0);
    CHECK_EQ(send_lazy_seq(t->loop, c, 0, 0), 0);
    CHECK_EQ(send_seq(t->loop, c, 0, 1), 0);
    CHECK_EQ(send_lazy_seq(t->loop, c, 0, 2), 0);
    int fd = accept(lfd, NULL, NULL);
    CHECK(fd >= 0);
    char buf[5];
    CHECK(blk_read_all(fd, buf, 5));
    CHECK_MEM(buf, "early", 5);
    for (uint32_t k = 0; k < 3; k++)
        expect_seq(fd, 0, k);
    LT_WAIT(t, t->nconnects == 1);
    CHECK_EQ(t->connects[0].err, 0);
    close(fd);
    LT_WAIT(t, t->ncloses == 1);
    CHECK_EQ(t->closes[0].err, 0);
    close(lfd);
    lt_finish(t);
}

/* {packet, 4} of 8 bytes: who, seq. */
static void expect_seq(int fd, uint32_t who, uint32_t seq)
{
    uint8_t p[12], want[12];
    put_be32(want, 8);
    put_be32(want + 4, who);
    put_be32(want + 8, seq);
    CHECK(blk_read_all(fd, p, 12));
    CHECK_MEM(p, want, 12);
}

static void test_lazy(void)
{
    ergo_loop_config cfg;
    ergo_loop_config_init(&cfg);
    cfg.direct_burst = 0; /* the urgent send takes the lazy ones along, directly */
    lt *t = lt_start(&cfg);
    ergo_loop_id c;
    int fd = lt_pair(t, &c);
    /* Alone: nothing else will be sent, the loop's timer sends it. */
    CHECK_EQ(send_lazy_seq(t->loop, c, 0, 0), 0);
    expect_seq(fd, 0, 0);
    /* Two lazy packets, then an urgent one: all three, in order. */
    for (uint32_t round = 1; round < 200; round++) {
        CHECK_EQ(send_lazy_seq(t->loop, c, 0, 3 * round), 0);
        CHECK_EQ(send_lazy_seq(t->loop, c, 0, 3 * round + 1), 0);
        CHECK_EQ(send_seq(t->loop, c, 0, 3 * round + 2), 0);
        for (uint32_t k = 0; k < 3; k++)
            expect_seq(fd, 0, 3 * round + k);
    }
    ergo_loop_stats st;
    lt_stop(t, &st);
    fprintf(stderr, "lazy: %llu lazy sends, %llu direct sendmsg calls of %llu\n",
            (unsigned long long)st.lazy_sends, (unsigned long long)st.direct_sends,
            (unsigned long long)st.send_calls);
    CHECK_EQU(st.lazy_sends, 1 + 2 * 199);
    CHECK_EQU(st.bytes_sent, (uint64_t)(1 + 3 * 199) * 12);
    close(fd);
    lt_finish(t);
}

/* Lazy and urgent packets from two threads while the reader keeps up:
 * each thread's packets arrive in its order. */
static void *lazy_sender_main(void *arg)
{
    sender *s = arg;
    for (uint32_t i = 0; i < PER_THREAD; i++)
        s->fails += (i % 3 ? send_seq : send_lazy_seq)(s->t->loop, s->c, s->who, i) != 0;
    return NULL;
}

static void test_lazy_two_threads(void)
{
    two_threads(NULL, lazy_sender_main);
}

/* From a callback on the loop thread: the packet goes when the loop is done
 * with this round, with no timer. */
static void lazy_echo_hook(lt *t, ergo_loop_id c, const uint8_t *p, size_t n)
{
    struct iovec iov = {(void *)p, n};
    CHECK_EQ(ergo_loop_send_packet_lazy(t->loop, c, &iov, 1), 0);
}

static void test_lazy_in_callback(void)
{
    lt *t = lt_start(NULL);
    ergo_loop_id c;
    int fd = lt_pair(t, &c);
    t->hook = lazy_echo_hook;
    CHECK_EQ(ergo_loop_set_framing(t->loop, c, ERGO_LOOP_PACKET4, 0), 0);
    uint8_t pk[12];
    put_be32(pk, 8);
    put_be32(pk + 4, 7);
    put_be32(pk + 8, 9);
    CHECK(blk_write_all(fd, pk, 12));
    expect_seq(fd, 7, 9);
    close(fd);
    lt_finish(t);
}


int main(int argc, char **argv)
{
    lt_setup(argc, argv);
    many_small(false);
    many_small(true);
    direct_partial(true);
    direct_partial(false);
    test_two_threads();
    test_busy(false);
    test_busy(true);
    test_send_while_connecting();
    test_lazy();
    test_lazy_two_threads();
    test_lazy_in_callback();
    CHECK_DONE();
}
