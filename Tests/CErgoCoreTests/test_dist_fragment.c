/*
 * test_dist_fragment.c — receiving whole messages: 'D' and pass-through
 * packets, fragmented messages split by the send side and reassembled
 * (three interleaved on the wire), the atom table surviving cache updates
 * between fragments, out-of-order and unknown fragments, and the limits;
 * and what OTP 25 sent: atom cache headers and a fragmented message.
 */
#include "check.h"
#include "dist_vectors.h"
#include "ergo_dist.h"

/* Packets of `out` (each with a 4-byte length) into offsets and lengths. */
static size_t split(const ergo_etf_buf *out, size_t *off, size_t *len, size_t max)
{
    size_t n = 0, p = 0;
    while (p + 4 <= out->len && n < max) {
        uint32_t l = (uint32_t)out->data[p] << 24 | (uint32_t)out->data[p + 1] << 16 |
                     (uint32_t)out->data[p + 2] << 8 | out->data[p + 3];
        off[n] = p + 4;
        len[n] = l;
        n++;
        p += 4 + l;
    }
    return p == out->len ? n : 0;
}

/* A body: {A0, Bytes} with atom 0 cached, Bytes n bytes of `fill`. */
static void make_body(ergo_etf_buf *b, size_t n, uint8_t fill, uint8_t *scratch)
{
    memset(scratch, fill, n);
    ergo_etf_buf_reset(b);
    ergo_etf_encode_tuple_header(b, 2);
    ergo_etf_encode_atom_cache_ref(b, 0);
    ergo_etf_encode_binary(b, scratch, n);
}

static uint8_t scratch[1 << 16];

static void test_interleaved(void)
{
    ergo_dist_tx_cache tx;
    ergo_dist_tx_cache_init(&tx);
    ergo_dist_rx rx;
    ergo_dist_rx_init(&rx, NULL, 0);

    static const char *names[3] = {"first", "second", "third"};
    static const size_t sizes[3] = {1000, 2500, 777};
    ergo_etf_buf bodies[3], out[3];
    size_t off[3][64], len[3][64], np[3];
    for (int m = 0; m < 3; m++) {
        ergo_etf_buf_init(&bodies[m], 0);
        ergo_etf_buf_init(&out[m], 0);
        make_body(&bodies[m], sizes[m], (uint8_t)('a' + m), scratch);
        ergo_dist_tx_atoms atoms;
        ergo_dist_tx_atoms_reset(&atoms);
        CHECK_EQ(ergo_dist_tx_atoms_add(&atoms, (const uint8_t *)names[m], strlen(names[m])), 0);
        size_t count = 0;
        CHECK_EQ(ergo_dist_encode_message(&tx, &atoms, bodies[m].data, bodies[m].len, 300, &out[m], &count), 0);
        np[m] = split(&out[m], off[m], len[m], 64);
        CHECK_EQU(np[m], count);
        CHECK_EQU(count, (bodies[m].len + 299) / 300);
        CHECK_EQ(out[m].data[5], 'E');
        CHECK_EQ(out[m].data[off[m][1] + 1], 'F');
    }
    /* round robin: E1 E2 E3 F1 F2 F3 ... */
    int got[3] = {0, 0, 0};
    size_t k[3] = {0, 0, 0};
    for (int left = 1; left;) {
        left = 0;
        for (int m = 0; m < 3; m++) {
            if (k[m] >= np[m])
                continue;
            left = 1;
            ergo_dist_message msg;
            int rc = ergo_dist_rx_packet(&rx, out[m].data + off[m][k[m]], len[m][k[m]], &msg);
            k[m]++;
            if (k[m] < np[m]) {
                CHECK_EQ(rc, ERGO_DIST_NEED_MORE);
                continue;
            }
            CHECK_EQ(rc, ERGO_DIST_OK);
            CHECK_EQU(msg.len, bodies[m].len);
            CHECK(msg.len == bodies[m].len && memcmp(msg.data, bodies[m].data, msg.len) == 0);
            CHECK_EQ(msg.nrefs, 1);
            CHECK(msg.refs[0].len == strlen(names[m]) && memcmp(msg.refs[0].text, names[m], msg.refs[0].len) == 0);
            /* decode with the table */
            ergo_etf_limits lim = {0};
            lim.atom_cache_refs = msg.nrefs;
            ergo_etf_tape t;
            ergo_etf_tape_init(&t, &lim);
            CHECK_EQ(ergo_etf_decode(&t, msg.data, msg.len, ERGO_ETF_DECODE_NO_VERSION, NULL), 0);
            CHECK_EQ(t.nodes[1].kind, ERGO_ETF_K_ATOM_REF);
            CHECK_EQU(t.nodes[2].size, sizes[m]);
            ergo_etf_tape_free(&t);
            got[m] = 1;
        }
    }
    CHECK(got[0] && got[1] && got[2]);
    ergo_dist_message msg;
    /* everything released after the next packet */
    static const uint8_t tick_like[] = {131, 'D', 0, 106};
    CHECK_EQ(ergo_dist_rx_packet(&rx, tick_like, sizeof tick_like, &msg), 0);
    CHECK_EQU(rx.bytes, 0);
    CHECK_EQ(rx.nseqs, 0);
    for (int m = 0; m < 3; m++) {
        ergo_etf_buf_free(&bodies[m]);
        ergo_etf_buf_free(&out[m]);
    }
    ergo_dist_rx_free(&rx);
    ergo_dist_tx_cache_free(&tx);
}

static void test_single_and_cache(void)
{
    ergo_dist_tx_cache tx;
    ergo_dist_tx_cache_init(&tx);
    ergo_dist_rx rx;
    ergo_dist_rx_init(&rx, NULL, 0);
    ergo_etf_buf body, out;
    ergo_etf_buf_init(&body, 0);
    ergo_etf_buf_init(&out, 0);
    ergo_dist_tx_atoms atoms;
    ergo_dist_message msg;
    size_t off[64], len[64], count;

    /* fits: one 'D' packet */
    make_body(&body, 10, 'x', scratch);
    ergo_dist_tx_atoms_reset(&atoms);
    ergo_dist_tx_atoms_add(&atoms, (const uint8_t *)"alpha", 5);
    CHECK_EQ(ergo_dist_encode_message(&tx, &atoms, body.data, body.len, 300, &out, &count), 0);
    CHECK_EQU(count, 1);
    CHECK_EQ(split(&out, off, len, 64), 1);
    CHECK_EQ(out.data[5], 'D');
    CHECK_EQ(ergo_dist_rx_packet(&rx, out.data + off[0], len[0], &msg), 0);
    CHECK(msg.nrefs == 1 && msg.refs[0].len == 5 && memcmp(msg.refs[0].text, "alpha", 5) == 0);
    CHECK(msg.len == body.len && memcmp(msg.data, body.data, body.len) == 0);

    /* A fragmented message's atom table is kept, though a 'D' packet in
     * between gives the slot another atom. */
    char other[16];
    uint16_t slot = ergo_dist_atom_slot((const uint8_t *)"beta", 4);
    int found = 0;
    for (unsigned i = 0; i < 100000 && !found; i++) {
        snprintf(other, sizeof other, "o%u", i);
        found = ergo_dist_atom_slot((const uint8_t *)other, strlen(other)) == slot;
    }
    CHECK(found);
    make_body(&body, 1000, 'y', scratch);
    ergo_dist_tx_atoms_reset(&atoms);
    ergo_dist_tx_atoms_add(&atoms, (const uint8_t *)"beta", 4);
    ergo_etf_buf_reset(&out);
    CHECK_EQ(ergo_dist_encode_message(&tx, &atoms, body.data, body.len, 400, &out, &count), 0);
    CHECK_EQU(count, 3);
    CHECK_EQ(split(&out, off, len, 64), 3);
    ergo_etf_buf mid, midbody;
    ergo_etf_buf_init(&mid, 0);
    ergo_etf_buf_init(&midbody, 0);
    make_body(&midbody, 5, 'z', scratch);
    ergo_dist_tx_atoms_reset(&atoms);
    ergo_dist_tx_atoms_add(&atoms, (const uint8_t *)other, strlen(other));
    CHECK_EQ(ergo_dist_encode_message(&tx, &atoms, midbody.data, midbody.len, 0, &mid, &count), 0);
    CHECK_EQ(ergo_dist_rx_packet(&rx, out.data + off[0], len[0], &msg), ERGO_DIST_NEED_MORE);
    CHECK_EQ(ergo_dist_rx_packet(&rx, mid.data + 4, mid.len - 4, &msg), 0);
    CHECK(msg.refs[0].len == strlen(other) && memcmp(msg.refs[0].text, other, msg.refs[0].len) == 0);
    CHECK_EQ(ergo_dist_rx_packet(&rx, out.data + off[1], len[1], &msg), ERGO_DIST_NEED_MORE);
    CHECK_EQ(ergo_dist_rx_packet(&rx, out.data + off[2], len[2], &msg), 0);
    CHECK(msg.nrefs == 1 && msg.refs[0].len == 4 && memcmp(msg.refs[0].text, "beta", 4) == 0);
    CHECK(msg.len == body.len && memcmp(msg.data, body.data, body.len) == 0);

    /* 'E' with fragment id 1: a whole message at once */
    static const uint8_t e1[] = {131, 'E', 0, 0, 0, 0, 0, 0, 0, 77, 0, 0, 0, 0, 0, 0, 0, 1, 0, 106, 106};
    CHECK_EQ(ergo_dist_rx_packet(&rx, e1, sizeof e1, &msg), 0);
    CHECK_EQU(msg.len, 2);
    CHECK_EQ(msg.nrefs, 0);
    /* pass-through */
    static const uint8_t pass[] = {112, 131, 106};
    CHECK_EQ(ergo_dist_rx_packet(&rx, pass, sizeof pass, &msg), 0);
    CHECK_EQ(msg.pass_through, 1);
    CHECK_EQU(msg.len, 2);
    /* a header with no control message */
    static const uint8_t empty[] = {131, 'D', 0};
    CHECK_EQ(ergo_dist_rx_packet(&rx, empty, sizeof empty, &msg), ERGO_DIST_E_MALFORMED);

    ergo_etf_buf_free(&mid);
    ergo_etf_buf_free(&midbody);
    ergo_etf_buf_free(&body);
    ergo_etf_buf_free(&out);
    ergo_dist_rx_free(&rx);
    ergo_dist_tx_cache_free(&tx);
}

/* 131 'E'/'F', sequence, fragment, [0 refs], then `n` bytes of data. */
static size_t frag(uint8_t *p, char kind, uint64_t seq, uint64_t id, size_t n)
{
    size_t k = 0;
    p[k++] = 131;
    p[k++] = (uint8_t)kind;
    for (int i = 7; i >= 0; i--)
        p[k++] = (uint8_t)(seq >> (8 * i));
    for (int i = 7; i >= 0; i--)
        p[k++] = (uint8_t)(id >> (8 * i));
    if (kind == 'E')
        p[k++] = 0;
    memset(p + k, 106, n);
    return k + n;
}

static void test_errors_and_limits(void)
{
    ergo_dist_rx_limits lim = {0};
    lim.max_bytes = 4096;
    lim.max_sequences = 2;
    ergo_dist_rx rx;
    ergo_dist_rx_init(&rx, &lim, 0);
    ergo_dist_message msg;
    static uint8_t p[8192];
    size_t n;

    /* unknown sequence, wrong order, duplicate start, fragment id 0 */
    n = frag(p, 'F', 5, 1, 10);
    CHECK_EQ(ergo_dist_rx_packet(&rx, p, n, &msg), ERGO_DIST_E_FRAGMENT);
    n = frag(p, 'E', 5, 3, 10);
    CHECK_EQ(ergo_dist_rx_packet(&rx, p, n, &msg), ERGO_DIST_NEED_MORE);
    CHECK_EQ(ergo_dist_rx_packet(&rx, p, n, &msg), ERGO_DIST_E_FRAGMENT);
    n = frag(p, 'F', 5, 1, 10);
    CHECK_EQ(ergo_dist_rx_packet(&rx, p, n, &msg), ERGO_DIST_E_FRAGMENT);   /* 2 expected */
    n = frag(p, 'F', 5, 3, 10);
    CHECK_EQ(ergo_dist_rx_packet(&rx, p, n, &msg), ERGO_DIST_E_FRAGMENT);
    n = frag(p, 'F', 5, 0, 10);
    CHECK_EQ(ergo_dist_rx_packet(&rx, p, n, &msg), ERGO_DIST_E_FRAGMENT);
    /* the sequence is still intact */
    n = frag(p, 'F', 5, 2, 10);
    CHECK_EQ(ergo_dist_rx_packet(&rx, p, n, &msg), ERGO_DIST_NEED_MORE);
    n = frag(p, 'F', 5, 1, 10);
    CHECK_EQ(ergo_dist_rx_packet(&rx, p, n, &msg), ERGO_DIST_OK);
    CHECK_EQU(msg.len, 30);

    /* a first fragment claiming 2^64 - 1 fragments holds only its bytes */
    n = frag(p, 'E', 6, UINT64_MAX, 10);
    CHECK_EQ(ergo_dist_rx_packet(&rx, p, n, &msg), ERGO_DIST_NEED_MORE);
    CHECK(rx.bytes <= 256);
    /* two sequences at most */
    n = frag(p, 'E', 7, 2, 10);
    CHECK_EQ(ergo_dist_rx_packet(&rx, p, n, &msg), ERGO_DIST_NEED_MORE);
    n = frag(p, 'E', 8, 2, 10);
    CHECK_EQ(ergo_dist_rx_packet(&rx, p, n, &msg), ERGO_DIST_E_LIMIT);
    /* 4096 bytes in flight at most */
    uint64_t id = UINT64_MAX - 1;
    int rc;
    do {
        n = frag(p, 'F', 6, id--, 1000);
        rc = ergo_dist_rx_packet(&rx, p, n, &msg);
    } while (rc == ERGO_DIST_NEED_MORE && id > UINT64_MAX - 100);
    CHECK_EQ(rc, ERGO_DIST_E_LIMIT);
    CHECK(rx.bytes <= 4096);
    n = frag(p, 'F', 7, 1, 10);
    CHECK_EQ(ergo_dist_rx_packet(&rx, p, n, &msg), ERGO_DIST_OK);
    ergo_dist_rx_free(&rx);
    CHECK_EQU(rx.bytes, 0);

    /* encoder arguments */
    ergo_dist_tx_cache tx;
    ergo_dist_tx_cache_init(&tx);
    ergo_dist_tx_atoms atoms;
    ergo_dist_tx_atoms_reset(&atoms);
    ergo_etf_buf out;
    ergo_etf_buf_init(&out, 0);
    CHECK_EQ(ergo_dist_encode_message(&tx, &atoms, p, 0, 0, &out, NULL), ERGO_DIST_E_ARG);
    /* a duplicate slot in a table built by hand */
    atoms.count = 2;
    atoms.atoms[0].text = (const uint8_t *)"a";
    atoms.atoms[0].len = 1;
    atoms.atoms[0].slot = 5;
    atoms.atoms[1] = atoms.atoms[0];
    CHECK_EQ(ergo_dist_encode_message(&tx, &atoms, p, 1, 0, &out, NULL), ERGO_DIST_E_ARG);
    CHECK_EQU(out.len, 0);
    ergo_etf_buf_free(&out);
    ergo_dist_tx_cache_free(&tx);
}

/* The atoms of a decoded term in tape order (ATOM_CACHE_REFs resolved
 * through refs), joined with ',' into out; returns the binary's size (the
 * last binary seen; its bytes must be i * 7). */
static size_t atoms_of(const ergo_etf_tape *t, const ergo_dist_message *m, char *out, size_t cap)
{
    size_t o = 0, bin = 0;
    out[0] = 0;
    for (size_t i = 0; i < t->count; i++) {
        const ergo_etf_node *nd = &t->nodes[i];
        const uint8_t *text;
        size_t len;
        if (nd->kind == ERGO_ETF_K_ATOM) {
            text = t->data + nd->v.off;
            len = nd->size;
        } else if (nd->kind == ERGO_ETF_K_ATOM_REF) {
            text = m->refs[nd->v.u].text;
            len = m->refs[nd->v.u].len;
        } else {
            if (nd->kind == ERGO_ETF_K_BINARY) {
                bin = nd->size;
                for (size_t k = 0; k < nd->size; k++)
                    if (t->data[nd->v.off + k] != (uint8_t)(k * 7))
                        return (size_t)-1;
            }
            continue;
        }
        if (len > 20)
            len = 20;   /* the long atom: its first 10 characters */
        if (o + len + 2 >= cap)
            break;
        if (o)
            out[o++] = ',';
        memcpy(out + o, text, len);
        o += len;
        out[o] = 0;
    }
    return bin;
}

static void check_echo(const ergo_dist_message *msg, const char *words, size_t binsize)
{
    ergo_etf_limits lim = {0};
    lim.atom_cache_refs = msg->nrefs;
    ergo_etf_tape t;
    ergo_etf_tape_init(&t, &lim);
    size_t used = 0;
    char got[256];
    CHECK_EQ(ergo_etf_decode(&t, msg->data, msg->len, ERGO_ETF_DECODE_NO_VERSION | ERGO_ETF_DECODE_PREFIX, &used), 0);
    CHECK_EQ(t.nodes[1].v.i, 22);   /* SEND_SENDER */
    atoms_of(&t, msg, got, sizeof got);
    CHECK(strcmp(got, "target@vm,ergo@vm") == 0);
    CHECK_EQ(ergo_etf_decode(&t, msg->data + used, msg->len - used, ERGO_ETF_DECODE_NO_VERSION, NULL), 0);
    CHECK_EQU(atoms_of(&t, msg, got, sizeof got), binsize);
    if (strcmp(got, words) != 0) {
        fprintf(stderr, "atoms: %s\n", got);
        check_failures++;
    }
    ergo_etf_tape_free(&t);
}

static void test_erts_packets(void)
{
    ergo_dist_rx rx;
    ergo_dist_rx_init(&rx, NULL, 0);
    ergo_dist_message msg;
    static uint8_t p[4096];
    static const char W10[] = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";
    char five[128];
    snprintf(five, sizeof five, "echo,hello,world,foo,bar,baz,%s", W10);

    size_t n = unhex(V_ERTS_D_NEW_REFS, p, sizeof p);
    CHECK_EQ(ergo_dist_rx_packet(&rx, p, n, &msg), 0);
    CHECK_EQ(rx.hdr.kind, 'D');
    CHECK_EQ(msg.nrefs, 9);
    for (uint32_t i = 0; i < msg.nrefs; i++)
        CHECK(rx.cache.used[msg.refs[i].slot]);
    CHECK_EQU(msg.refs[8].len, 400);
    check_echo(&msg, five, 16);

    n = unhex(V_ERTS_D_CACHED_REFS, p, sizeof p);
    CHECK_EQ(ergo_dist_rx_packet(&rx, p, n, &msg), 0);
    CHECK_EQ(msg.nrefs, 9);
    check_echo(&msg, five, 16);

    size_t ne, nf;
    uint8_t *e = check_read_file(ERGO_DIST_VECTORS "/erts_frag_e.bin", &ne);
    uint8_t *f = check_read_file(ERGO_DIST_VECTORS "/erts_frag_f.bin", &nf);
    CHECK(e && f);
    if (e && f) {
        CHECK_EQ(e[1], 'E');
        CHECK_EQ(f[1], 'F');
        CHECK_EQ(ergo_dist_rx_packet(&rx, e, ne, &msg), ERGO_DIST_NEED_MORE);
        CHECK_EQ(ergo_dist_rx_packet(&rx, f, nf, &msg), 0);
        CHECK_EQ(msg.nrefs, 8);
        check_echo(&msg, "echo,hello,world,foo,bar,baz", 100000);
        /* the continuation alone, or the start twice, is refused */
        ergo_dist_rx rx2;
        ergo_dist_rx_init(&rx2, NULL, 0);
        CHECK_EQ(ergo_dist_rx_packet(&rx2, f, nf, &msg), ERGO_DIST_E_FRAGMENT);
        /* the start refers to cached atoms rx2 never saw */
        CHECK_EQ(ergo_dist_rx_packet(&rx2, e, ne, &msg), ERGO_DIST_E_ATOM_CACHE);
        ergo_dist_rx_free(&rx2);
    }
    free(e);
    free(f);
    ergo_dist_rx_free(&rx);
}

/* encode_message_ref lends body runs instead of copying them: flattened,
 * its packets are byte for byte those of encode_message (the same cache
 * state on both sides), whole and fragmented, with runs below the
 * threshold copied. */
static void test_by_reference(void)
{
    enum { BIG = 200000 };
    uint8_t *body = malloc(BIG);
    CHECK(body != NULL);
    for (size_t i = 0; i < BIG; i++)
        body[i] = (uint8_t)(i * 7 + 3);
    const size_t frags[] = {0, 65536, 300, 150000};
    for (size_t f = 0; f < sizeof frags / sizeof frags[0]; f++) {
        ergo_dist_tx_cache a, b;
        ergo_dist_tx_cache_init(&a);
        ergo_dist_tx_cache_init(&b);
        ergo_dist_tx_atoms atoms;
        ergo_dist_tx_atoms_reset(&atoms);
        CHECK_EQ(ergo_dist_tx_atoms_add(&atoms, (const uint8_t *)"gamma", 5), 0);
        ergo_etf_buf copy, lent;
        ergo_etf_buf_init(&copy, 0);
        ergo_etf_buf_init(&lent, 0);
        lent.ref_threshold = 1024;
        size_t n1 = 0, n2 = 0;
        CHECK_EQ(ergo_dist_encode_message(&a, &atoms, body, BIG, frags[f], &copy, &n1), 0);
        CHECK_EQ(ergo_dist_encode_message_ref(&b, &atoms, body, BIG, frags[f], &lent, &n2), 0);
        CHECK_EQU(n1, n2);
        CHECK(copy.nrefs == 0);
        CHECK(frags[f] == 300 ? lent.nrefs == 0 : lent.nrefs > 0);
        size_t total = ergo_etf_buf_size(&lent);
        CHECK_EQU(total, copy.len);
        uint8_t *flat = malloc(total);
        CHECK(flat != NULL);
        ergo_etf_buf_flatten(&lent, flat);
        CHECK(memcmp(flat, copy.data, copy.len) == 0);
        free(flat);
        ergo_etf_buf_free(&copy);
        ergo_etf_buf_free(&lent);
        ergo_dist_tx_cache_free(&a);
        ergo_dist_tx_cache_free(&b);
    }
    free(body);
}

int main(void)
{
    test_by_reference();
    test_erts_packets();
    test_interleaved();
    test_single_and_cache();
    test_errors_and_limits();
    CHECK_DONE();
}
