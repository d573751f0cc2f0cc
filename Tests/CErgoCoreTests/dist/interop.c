/*
 * interop.c — the distribution codecs against a real Erlang node, by hand
 * (not a ctest: it needs erl, epmd and sockets). Run it with interop.sh,
 * which starts epmd and a node target@HOST with an echo process. This
 * program asks epmd for the node's port, does the handshake as a hidden
 * node, then sends the echo process messages using the atom cache (new
 * entries, cached entries, a long atom) and a fragmented message, and
 * checks that what comes back decodes to the same terms.
 *   interop EPMD_PORT HOST COOKIE [CAPTURE_DIR]
 * With CAPTURE_DIR, every packet received is written there (rx_NN.bin).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "ergo_dist.h"

#define DIE(...)                          \
    do {                                  \
        fprintf(stderr, "interop: " __VA_ARGS__); \
        fprintf(stderr, "\n");            \
        exit(1);                          \
    } while (0)

static int dial(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        DIE("connect %u", port);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w <= 0)
            DIE("write");
        b += w;
        n -= (size_t)w;
    }
}

static void recv_exact(int fd, uint8_t *p, size_t n)
{
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r <= 0)
            DIE("read (%zd)", r);
        p += r;
        n -= (size_t)r;
    }
}

/* One handshake packet (2-byte length). */
static size_t recv_hs(int fd, uint8_t *p, size_t cap)
{
    uint8_t h[2];
    recv_exact(fd, h, 2);
    size_t n = (size_t)h[0] << 8 | h[1];
    if (n > cap)
        DIE("handshake packet too long");
    recv_exact(fd, p, n);
    return n;
}

static void send_hs(int fd, ergo_etf_buf *b)
{
    uint8_t h[2] = {(uint8_t)(b->len >> 8), (uint8_t)b->len};
    send_all(fd, h, 2);
    send_all(fd, b->data, b->len);
    ergo_etf_buf_reset(b);
}

static uint8_t pkt[1 << 22];
static char me[64];
static ergo_dist_rx rx;
static ergo_dist_tx_cache tx;
static ergo_dist_tx_atoms atoms;
static const char *capture_dir;   /* optional: write each packet received there */
static int captured;

/* Encode {6, Self, '', echo} + {Self, Body} where Body = {hello, [atoms...], Bin}. */
static void send_echo(int fd, const char **words, int nwords, size_t binsize, size_t max_fragment)
{
    ergo_etf_buf body, out;
    ergo_etf_buf_init(&body, 0);
    ergo_etf_buf_init(&out, 0);
    ergo_dist_tx_atoms_reset(&atoms);
#define ATOM(s)                                                                            \
    do {                                                                                   \
        int i_ = ergo_dist_tx_atoms_add(&atoms, (const uint8_t *)(s), strlen(s));           \
        if (i_ >= 0)                                                                       \
            ergo_etf_encode_atom_cache_ref(&body, (uint8_t)i_);                            \
        else                                                                               \
            ergo_etf_encode_atom(&body, (s), strlen(s));                                   \
    } while (0)
    ergo_etf_encode_tuple_header(&body, 4);
    ergo_etf_encode_int(&body, 6);
    ergo_etf_encode_pid(&body, me, strlen(me), 1, 0, 7);
    ATOM("");
    ATOM("echo");
    ergo_etf_encode_tuple_header(&body, 2);
    ergo_etf_encode_pid(&body, me, strlen(me), 1, 0, 7);
    ergo_etf_encode_tuple_header(&body, 3);
    ATOM("hello");
    if (nwords > 0)
        ergo_etf_encode_list_header(&body, (uint32_t)nwords);
    for (int i = 0; i < nwords; i++)
        ATOM(words[i]);
    ergo_etf_encode_nil(&body);
    uint8_t *bin = malloc(binsize + 1);
    for (size_t i = 0; i < binsize; i++)
        bin[i] = (uint8_t)(i * 7);
    ergo_etf_encode_binary(&body, bin, binsize);
    free(bin);
    if (body.error)
        DIE("encode body: %s", ergo_etf_strerror(body.error));
    size_t n = 0;
    int rc = ergo_dist_encode_message(&tx, &atoms, body.data, body.len, max_fragment, &out, &n);
    if (rc)
        DIE("encode: %s", ergo_dist_strerror(rc));
    send_all(fd, out.data, out.len);
    printf("sent %zu packet(s), %u atom ref(s), body %zu bytes\n", n, atoms.count, body.len);
    ergo_etf_buf_free(&body);
    ergo_etf_buf_free(&out);
}

/* Wait for {echo, {hello, Words, Bin}}; check it. */
static void expect_echo(int fd, const char **words, int nwords, size_t binsize)
{
    ergo_etf_limits lim = {0};
    ergo_etf_tape t;
    for (;;) {
        uint8_t h[4];
        recv_exact(fd, h, 4);
        size_t n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
        if (n == 0) {
            send_all(fd, h, 4);   /* tick */
            continue;
        }
        if (n > sizeof pkt)
            DIE("packet too long");
        recv_exact(fd, pkt, n);
        if (capture_dir) {
            char path[512];
            snprintf(path, sizeof path, "%s/rx_%02d.bin", capture_dir, ++captured);
            FILE *f = fopen(path, "wb");
            if (f) {
                fwrite(pkt, 1, n, f);
                fclose(f);
            }
        }
        ergo_dist_message msg;
        int rc = ergo_dist_rx_packet(&rx, pkt, n, &msg);
        if (rc == ERGO_DIST_NEED_MORE) {
            printf("  fragment stored (%c)\n", pkt[1]);
            continue;
        }
        if (rc)
            DIE("rx: %s", ergo_dist_strerror(rc));
        printf("  received: header %c, %u atom ref(s), %llu bytes\n", rx.hdr.kind, msg.nrefs,
               (unsigned long long)msg.len);
        lim.atom_cache_refs = msg.nrefs;
        ergo_etf_tape_init(&t, &lim);
        size_t used;
        if (ergo_etf_decode(&t, msg.data, msg.len, ERGO_ETF_DECODE_NO_VERSION | ERGO_ETF_DECODE_PREFIX, &used))
            DIE("control does not decode");
        int64_t op = t.nodes[1].v.i;
        if (op != 2 && op != 22) {
            printf("  (control op %lld, skipped)\n", (long long)op);
            ergo_etf_tape_free(&t);
            continue;
        }
        if (ergo_etf_decode(&t, msg.data + used, msg.len - used, ERGO_ETF_DECODE_NO_VERSION, NULL))
            DIE("payload does not decode");
        /* {echo, {hello, [W...], Bin}}: walk atoms, resolving cache refs */
        size_t wi = 0;
        int words_seen = 0;
        for (size_t i = 0; i < t.count; i++) {
            const ergo_etf_node *nd = &t.nodes[i];
            const uint8_t *text = NULL;
            size_t len = 0;
            if (nd->kind == ERGO_ETF_K_ATOM) {
                text = t.data + nd->v.off;
                len = nd->size;
            } else if (nd->kind == ERGO_ETF_K_ATOM_REF) {
                text = msg.refs[nd->v.u].text;
                len = msg.refs[nd->v.u].len;
            } else if (nd->kind == ERGO_ETF_K_BINARY) {
                if (nd->size != binsize)
                    DIE("binary size %u != %zu", nd->size, binsize);
                for (size_t k = 0; k < binsize; k++)
                    if (t.data[nd->v.off + k] != (uint8_t)(k * 7))
                        DIE("binary differs at %zu", k);
                continue;
            } else {
                continue;
            }
            if (wi == 0 && !(len == 4 && memcmp(text, "echo", 4) == 0))
                DIE("not an echo");
            if (wi == 1 && !(len == 5 && memcmp(text, "hello", 5) == 0))
                DIE("no hello");
            if (wi >= 2) {
                const char *w = words[wi - 2];
                if (len != strlen(w) || memcmp(text, w, len) != 0)
                    DIE("word %zu differs", wi - 2);
                words_seen++;
            }
            wi++;
        }
        if (words_seen != nwords)
            DIE("%d of %d words came back", words_seen, nwords);
        printf("  echo ok: %d atoms and %zu binary bytes back\n", nwords, binsize);
        ergo_etf_tape_free(&t);
        return;
    }
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5)
        DIE("usage: interop EPMD_PORT HOST COOKIE [CAPTURE_DIR]");
    capture_dir = argc == 5 ? argv[4] : NULL;
    uint16_t epmd_port = (uint16_t)atoi(argv[1]);
    const char *cookie = argv[3];
    snprintf(me, sizeof me, "ergo@%s", argv[2]);
    ergo_etf_buf b;
    ergo_etf_buf_init(&b, 0);

    /* EPMD: where is target? */
    int fd = dial(epmd_port);
    ergo_dist_epmd_encode_port_please2_req(&b, (const uint8_t *)"target", 6);
    send_all(fd, b.data, b.len);
    ergo_etf_buf_reset(&b);
    size_t got = 0;
    ssize_t r;
    while ((r = read(fd, pkt + got, 512)) > 0)
        got += (size_t)r;
    close(fd);
    uint8_t result;
    ergo_dist_epmd_node node;
    size_t used;
    if (ergo_dist_epmd_parse_port2_resp(pkt, got, &result, &node, &used) || result)
        DIE("PORT2_RESP");
    printf("epmd: target at port %u (versions %u..%u)\n", node.port, node.lowest_version, node.highest_version);

    /* Handshake as a hidden node. */
    fd = dial(node.port);
    const uint64_t flags = 0xd07df7fbcULL;   /* OTP 25's, without PUBLISHED */
    ergo_dist_hs_encode_name(&b, flags, 7, (const uint8_t *)me, strlen(me));
    send_hs(fd, &b);
    ergo_dist_hs m;
    size_t n = recv_hs(fd, pkt, sizeof pkt);
    if (ergo_dist_hs_parse(pkt, n, 0, &m) || m.tag != 's' || m.status != ERGO_DIST_STATUS_OK)
        DIE("status");
    n = recv_hs(fd, pkt, sizeof pkt);
    if (ergo_dist_hs_parse(pkt, n, 1, &m) || m.tag != 'N')
        DIE("challenge");
    printf("handshake: %.*s, flags %llx, missing for OTP 25: %llx\n", (int)m.name_len, m.name,
           (unsigned long long)m.flags, (unsigned long long)ergo_dist_missing_flags(m.flags, ERGO_DIST_MANDATORY_OTP25));
    uint8_t digest[16];
    ergo_dist_digest((const uint8_t *)cookie, strlen(cookie), m.challenge, digest);
    const uint32_t mine = 0x5eed1234;
    ergo_dist_hs_encode_reply(&b, mine, digest);
    send_hs(fd, &b);
    n = recv_hs(fd, pkt, sizeof pkt);
    if (ergo_dist_hs_parse(pkt, n, 0, &m) || m.tag != 'a')
        DIE("ack");
    ergo_dist_digest((const uint8_t *)cookie, strlen(cookie), mine, digest);
    if (!ergo_dist_digest_equal(digest, m.digest))
        DIE("peer's digest is wrong");
    printf("handshake: done, peer's digest checked\n");

    ergo_dist_rx_init(&rx, NULL, 0);
    ergo_dist_tx_cache_init(&tx);
    static char wide[401];
    for (int i = 0; i < 200; i++) {   /* 200 x U+00E9: 200 characters, 400 bytes */
        wide[2 * i] = (char)0xC3;
        wide[2 * i + 1] = (char)0xA9;
    }
    const char *words[] = {"world", "foo", "bar", "baz", wide};
    printf("1. new cache entries (odd count, long atom)\n");
    send_echo(fd, words, 5, 16, 0);
    expect_echo(fd, words, 5, 16);
    printf("2. the same atoms again: cached entries\n");
    send_echo(fd, words, 5, 16, 0);
    expect_echo(fd, words, 5, 16);
    printf("3. fragmented: 100 KB in 4 KB fragments\n");
    send_echo(fd, words, 4, 100000, 4096);
    expect_echo(fd, words, 4, 100000);
    printf("4. fragmented, 1 MB in 64 KB fragments, no atoms cached\n");
    send_echo(fd, words, 0, 1 << 20, 65536);
    expect_echo(fd, words, 0, 1 << 20);
    close(fd);
    ergo_dist_rx_free(&rx);
    ergo_dist_tx_cache_free(&tx);
    ergo_etf_buf_free(&b);
    printf("interop: all ok\n");
    return 0;
}
