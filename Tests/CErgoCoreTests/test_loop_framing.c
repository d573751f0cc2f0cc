/*
 * test_loop_framing.c — the framer on one backend, fed by a plain blocking
 * socket from a helper thread: {packet, 2} and {packet, 4} written one byte
 * per send(), ticks (zero-length packets in 4-byte mode) not delivered, a
 * switch from 2-byte to 4-byte framing inside the callback with the next
 * packets already in the same receive buffer, a switch from another thread
 * in the middle of a packet (applied at its end), a claimed length over the
 * limit (connection closed with ERGO_LOOP_E_TOO_BIG, nothing allocated),
 * and an 8 MiB packet assembled in a buffer of its own.
 */
#include "loop_test.h"

static bool pk_is(lt *t, size_t i, size_t off, const char *want)
{
    size_t n = strlen(want);
    return i < t->npk && t->pk_len[i] == n && off + n <= t->rx_len && memcmp(t->rx + off, want, n) == 0;
}

static void test_packet2_bytewise(void)
{
    lt *t = lt_start(NULL);
    ergo_loop_id c;
    int fd = lt_pair(t, &c);
    CHECK_EQ(ergo_loop_set_framing(t->loop, c, ERGO_LOOP_PACKET2, 0), 0);
    lt_sync(t);
    static const uint8_t wire[] = {0, 3, 'a', 'b', 'c', 0, 0, 0, 1, 'z', 1, 0};
    static uint8_t big[2 + 256];
    big[0] = 1;
    big[1] = 0;
    for (int i = 0; i < 256; i++)
        big[2 + i] = (uint8_t)i;
    lt_writer w;
    lt_write_async(&w, fd, wire, 10, true);
    CHECK(lt_write_join(&w));
    lt_write_async(&w, fd, big, sizeof big, true);
    CHECK(lt_write_join(&w));
    LT_WAIT(t, t->npk == 4);
    CHECK(pk_is(t, 0, 0, "abc"));
    CHECK_EQU(t->pk_len[1], 0); /* a zero-length packet is delivered in 2-byte mode */
    CHECK(pk_is(t, 2, 3, "z"));
    CHECK_EQU(t->pk_len[3], 256);
    CHECK_MEM(t->rx + 4, big + 2, 256);
    ergo_loop_stats st;
    lt_stop(t, &st);
    CHECK(st.carried_packets >= 1);
    CHECK_EQU(st.large_packets, 0);
    close(fd);
    lt_finish(t);
}

static void test_packet4_ticks_bytewise(void)
{
    lt *t = lt_start(NULL);
    ergo_loop_id c;
    int fd = lt_pair(t, &c);
    CHECK_EQ(ergo_loop_set_framing(t->loop, c, ERGO_LOOP_PACKET4, 0), 0);
    lt_sync(t);
    static const uint8_t wire[] = {0, 0, 0, 0, 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o',
                                   0, 0, 0, 0, 0, 0, 0, 1, '!', 0, 0, 0, 0};
    lt_writer w;
    lt_write_async(&w, fd, wire, sizeof wire, true);
    CHECK(lt_write_join(&w));
    LT_WAIT(t, t->npk == 2);
    CHECK(pk_is(t, 0, 0, "hello"));
    CHECK(pk_is(t, 1, 5, "!"));
    ergo_loop_stats st;
    lt_stop(t, &st);
    CHECK_EQU(st.packets, 2);
    CHECK_EQU(st.ticks_received, 3);
    close(fd);
    lt_finish(t);
}

/* The handshake's last 2-byte packet switches the connection to 4-byte
 * framing; the peer's first distribution packets follow in the same
 * segment. */
static void switch_hook(lt *t, ergo_loop_id c, const uint8_t *p, size_t n)
{
    if (n == 2 && memcmp(p, "hs", 2) == 0)
        CHECK_EQ(ergo_loop_set_framing(t->loop, c, ERGO_LOOP_PACKET4, 0), 0);
    lt_record(t, p, n);
}

static void test_switch_in_callback(bool bytewise)
{
    lt *t = lt_start(NULL);
    t->hook = switch_hook;
    ergo_loop_id c;
    int fd = lt_pair(t, &c);
    CHECK_EQ(ergo_loop_set_framing(t->loop, c, ERGO_LOOP_PACKET2, 0), 0);
    lt_sync(t);
    static const uint8_t wire[] = {0, 2, 'h', 's', 0, 0, 0, 3, 'a', 'b', 'c',
                                   0, 0, 0, 0, 0, 0, 0, 1, 'd'};
    lt_writer w;
    lt_write_async(&w, fd, wire, sizeof wire, bytewise);
    CHECK(lt_write_join(&w));
    LT_WAIT(t, t->npk == 3);
    CHECK(pk_is(t, 0, 0, "hs"));
    CHECK(pk_is(t, 1, 2, "abc"));
    CHECK(pk_is(t, 2, 5, "d"));
    close(fd);
    lt_finish(t);
}

/* From another thread, in the middle of a packet: the packet completes in
 * the old mode, the bytes after it are raw. */
static void test_switch_cross_thread(void)
{
    lt *t = lt_start(NULL);
    ergo_loop_id c;
    int fd = lt_pair(t, &c);
    CHECK_EQ(ergo_loop_set_framing(t->loop, c, ERGO_LOOP_PACKET4, 0), 0);
    lt_sync(t);
    /* One segment: a whole packet (its delivery tells us the loop read the
     * segment) and the first half of the next one. */
    static const uint8_t part1[] = {0, 0, 0, 1, 'x', 0, 0, 0, 6, 'p', 'a', 'c'};
    CHECK(blk_write_all(fd, part1, sizeof part1));
    LT_WAIT(t, t->npk == 1);
    CHECK_EQ(ergo_loop_set_framing(t->loop, c, ERGO_LOOP_RAW, 0), 0);
    lt_sync(t);
    CHECK(blk_write_all(fd, "ketRAW", 6));
    LT_WAIT(t, t->rx_len == 10);
    CHECK(t->npk >= 3);
    CHECK(pk_is(t, 0, 0, "x"));
    CHECK(pk_is(t, 1, 1, "packet"));
    CHECK_MEM(t->rx + 7, "RAW", 3);
    close(fd);
    lt_finish(t);
}

static void test_too_big(size_t limit, uint32_t claimed)
{
    lt *t = lt_start(NULL);
    ergo_loop_id c;
    int fd = lt_pair(t, &c);
    CHECK_EQ(ergo_loop_set_framing(t->loop, c, ERGO_LOOP_PACKET4, limit), 0);
    lt_sync(t);
    uint8_t hdr[8];
    put_be32(hdr, claimed);
    memcpy(hdr + 4, "abcd", 4);
    CHECK(blk_write_all(fd, hdr, sizeof hdr));
    LT_WAIT(t, t->ncloses == 1);
    CHECK_EQU(t->closes[0].id, c);
    CHECK_EQ(t->closes[0].err, ERGO_LOOP_E_TOO_BIG);
    CHECK_EQ(t->npk, 0);
    char b;
    CHECK_EQ(recv(fd, &b, 1, 0), 0); /* the loop closed its side */
    ergo_loop_stats st;
    lt_stop(t, &st);
    CHECK_EQU(st.large_packets, 0);
    close(fd);
    lt_finish(t);
}

static void test_large_packet(bool tiny_buffers)
{
    enum { N = 8 << 20 };
    ergo_loop_config cfg;
    ergo_loop_config_init(&cfg);
    if (tiny_buffers) { /* io_uring runs out of buffers (ENOBUFS) and re-arms */
        cfg.recv_buf_count = 2;
        cfg.recv_buf_size = 64;
        cfg.carry_size = 16;
    }
    lt *t = lt_start(&cfg);
    ergo_loop_id c;
    int fd = lt_pair(t, &c);
    CHECK_EQ(ergo_loop_set_framing(t->loop, c, ERGO_LOOP_PACKET4, N), 0);
    lt_sync(t);
    uint8_t *buf = malloc(N + 4 + 4 + 3);
    put_be32(buf, N);
    for (size_t i = 0; i < N; i++)
        buf[4 + i] = (uint8_t)(i * 7 + (i >> 13));
    put_be32(buf + 4 + N, 3);
    memcpy(buf + 8 + N, "end", 3);
    lt_writer w;
    lt_write_async(&w, fd, buf, N + 11, false);
    LT_WAIT(t, t->npk == 2);
    CHECK(lt_write_join(&w));
    CHECK_EQU(t->pk_len[0], N);
    CHECK_EQU(t->rx_len, (size_t)N + 3);
    CHECK_MEM(t->rx, buf + 4, N);
    CHECK_MEM(t->rx + N, "end", 3);
    ergo_loop_stats st;
    lt_stop(t, &st);
    CHECK_EQU(st.large_packets, 1);
    free(buf);
    close(fd);
    lt_finish(t);
}

/* Closing inside on_packet: nothing more is delivered, on_close comes once,
 * after the callback returned. */
static void close_hook(lt *t, ergo_loop_id c, const uint8_t *p, size_t n)
{
    lt_record(t, p, n);
    if (n == 3 && memcmp(p, "bye", 3) == 0) {
        CHECK_EQ(ergo_loop_close(t->loop, c), 0);
        pthread_mutex_lock(&t->mu);
        CHECK_EQ(t->ncloses, 0);
        pthread_mutex_unlock(&t->mu);
        CHECK_EQ(ergo_loop_close(t->loop, c), ERGO_LOOP_E_STALE);
        struct iovec iov = {"x", 1};
        CHECK_EQ(ergo_loop_send(t->loop, c, &iov, 1), ERGO_LOOP_E_STALE);
    }
}

static void test_close_in_callback(void)
{
    lt *t = lt_start(NULL);
    t->hook = close_hook;
    ergo_loop_id c;
    int fd = lt_pair(t, &c);
    CHECK_EQ(ergo_loop_set_framing(t->loop, c, ERGO_LOOP_PACKET2, 0), 0);
    lt_sync(t);
    static const uint8_t wire[] = {0, 2, 'h', 'i', 0, 3, 'b', 'y', 'e', 0, 4, 'm', 'o', 'r', 'e'};
    CHECK(blk_write_all(fd, wire, sizeof wire));
    LT_WAIT(t, t->ncloses == 1);
    CHECK_EQ(t->closes[0].err, ERGO_LOOP_E_CLOSED);
    CHECK_EQ(t->npk, 2);
    char b;
    CHECK_EQ(recv(fd, &b, 1, 0), 0);
    lt_stop(t, NULL);
    CHECK_EQ(t->ncloses, 1);
    close(fd);
    lt_finish(t);
}

int main(int argc, char **argv)
{
    lt_setup(argc, argv);
    test_packet2_bytewise();
    test_packet4_ticks_bytewise();
    test_switch_in_callback(false);
    test_switch_in_callback(true);
    test_switch_cross_thread();
    test_too_big(0, 0xFFFFFFFFu);   /* 4 GiB claimed, default 64 MiB limit */
    test_too_big(1000, 1001);       /* just over a caller-set limit */
    test_large_packet(false);
    test_large_packet(true);
    test_close_in_callback();
    CHECK_DONE();
}
