/*
 * test_etf_fixtures.c — the codec on terms Erlang/OTP wrote
 * (Tests/ErgoTests/Fixtures/NAME.etf, term_to_binary(T, [{minor_version, 2}])):
 * decode then re-encode gives the file back byte for byte, size-only
 * encoding agrees, every truncated prefix fails cleanly with E_TRUNCATED,
 * the version-less and prefix decode modes, compression, and the encoder
 * API writing small.etf and rpc.etf by hand.
 */
#include "check.h"

static const char *const FIXTURES[] = {"small", "rpc", "list1000", "map100", "nested", "bin1m"};
#define NFIXTURES (sizeof FIXTURES / sizeof FIXTURES[0])

static uint8_t *flatten(const ergo_etf_buf *b, size_t *len)
{
    *len = ergo_etf_buf_size(b);
    uint8_t *out = malloc(*len ? *len : 1);
    if (out)
        ergo_etf_buf_flatten(b, out);
    return out;
}

static void round_trip(const char *name, const uint8_t *file, size_t len)
{
    ergo_etf_tape t;
    ergo_etf_tape_init(&t, NULL);
    size_t used = 0;
    int rc = ergo_etf_decode(&t, file, len, 0, &used);
    CHECK_EQ(rc, 0);
    CHECK_EQU(used, len);
    CHECK(t.count > 0);
    CHECK_EQU(ergo_etf_tape_skip(&t, 0), t.count);

    /* decode -> encode_tape == the file (a binary large enough goes by reference) */
    ergo_etf_buf b;
    ergo_etf_buf_init(&b, 0);
    CHECK_EQ(ergo_etf_encode_version(&b), 0);
    size_t next = 0;
    CHECK_EQ(ergo_etf_encode_tape(&b, &t, 0, &next), 0);
    CHECK_EQU(next, t.count);
    size_t olen;
    uint8_t *out = flatten(&b, &olen);
    CHECK_EQU(olen, len);
    if (olen == len)
        CHECK_MEM(out, file, len);
    else
        fprintf(stderr, "%s: re-encoded %zu bytes, file has %zu\n", name, olen, len);

    /* slices cover the same bytes in order */
    size_t ns = ergo_etf_buf_slices(&b, NULL, 0);
    ergo_etf_slice *sl = calloc(ns ? ns : 1, sizeof *sl);
    CHECK_EQU(ergo_etf_buf_slices(&b, sl, ns), ns);
    size_t off = 0;
    for (size_t i = 0; i < ns; i++) {
        CHECK(off + sl[i].len <= len);
        if (off + sl[i].len <= len)
            CHECK_MEM(sl[i].base, file + off, sl[i].len);
        off += sl[i].len;
    }
    CHECK_EQU(off, len);
    free(sl);

    /* copying everything (no references) gives the same bytes */
    ergo_etf_buf c;
    ergo_etf_buf_init(&c, 0);
    c.ref_threshold = SIZE_MAX;
    ergo_etf_encode_version(&c);
    CHECK_EQ(ergo_etf_encode_tape(&c, &t, 0, NULL), 0);
    CHECK_EQU(c.nrefs, 0);
    CHECK_EQU(c.len, len);
    if (c.len == len)
        CHECK_MEM(c.data, file, len);
    ergo_etf_buf_free(&c);

    /* a limit of exactly the size is enough; one byte less is E_LIMIT */
    ergo_etf_buf x;
    ergo_etf_buf_init(&x, len);
    ergo_etf_encode_version(&x);
    CHECK_EQ(ergo_etf_encode_tape(&x, &t, 0, NULL), 0);
    CHECK_EQU(ergo_etf_buf_size(&x), len);
    ergo_etf_buf_free(&x);
    ergo_etf_buf_init(&x, len - 1);
    ergo_etf_encode_version(&x);
    CHECK_EQ(ergo_etf_encode_tape(&x, &t, 0, NULL), ERGO_ETF_E_LIMIT);
    CHECK(ergo_etf_buf_size(&x) < len);
    ergo_etf_buf_free(&x);

    /* size-only mode counts the same size */
    ergo_etf_buf s;
    ergo_etf_buf_init_sizing(&s);
    ergo_etf_encode_version(&s);
    CHECK_EQ(ergo_etf_encode_tape(&s, &t, 0, NULL), 0);
    CHECK_EQU(ergo_etf_buf_size(&s), len);
    CHECK(s.data == NULL);
    ergo_etf_buf_free(&s);

    /* every node starts a subtree; each re-encodes alone and decodes back
     * to as many nodes (the first 2000 nodes) */
    ergo_etf_tape u;
    ergo_etf_tape_init(&u, NULL);
    for (size_t i = 0; i < t.count && i < 2000; i++) {
        ergo_etf_buf_reset(&b);
        ergo_etf_encode_version(&b);
        size_t nx = 0;
        int erc = ergo_etf_encode_tape(&b, &t, i, &nx);
        CHECK_EQ(erc, 0);
        if (erc)
            break;
        CHECK_EQU(nx, ergo_etf_tape_skip(&t, i));
        size_t sl2;
        uint8_t *sub = flatten(&b, &sl2);
        CHECK_EQ(ergo_etf_decode(&u, sub, sl2, 0, NULL), 0);
        CHECK_EQU(u.count, nx - i);
        free(sub);
    }
    ergo_etf_tape_free(&u);

    /* version-less input decodes to the same tape */
    ergo_etf_tape v;
    ergo_etf_tape_init(&v, NULL);
    CHECK_EQ(ergo_etf_decode(&v, file + 1, len - 1, ERGO_ETF_DECODE_NO_VERSION, &used), 0);
    CHECK_EQU(used, len - 1);
    CHECK_EQ(check_tape_diff(&t, &v), -1);

    /* prefix mode stops after the term; without it trailing bytes fail */
    uint8_t *more = malloc(len + 3);
    memcpy(more, file, len);
    more[len] = 97, more[len + 1] = 1, more[len + 2] = 106;
    CHECK_EQ(ergo_etf_decode(&v, more, len + 3, ERGO_ETF_DECODE_PREFIX, &used), 0);
    CHECK_EQU(used, len);
    CHECK_EQ(check_tape_diff(&t, &v), -1);
    CHECK_EQ(ergo_etf_decode(&v, more, len + 3, 0, &used), ERGO_ETF_E_TRAILING);
    CHECK_EQU(v.error_offset, len);
    CHECK_EQU(v.count, 0);
    free(more);

    /* compressed, then decoded: the same tape; used counts the whole input */
    ergo_etf_buf z;
    ergo_etf_buf_init(&z, 0);
    CHECK_EQ(ergo_etf_compress(&z, file, len, 6), 0);
    CHECK(z.len > 6);
    CHECK_EQ(z.data[0], 131);
    CHECK_EQ(z.data[1], 80);
    CHECK_EQ(ergo_etf_decode(&v, z.data, z.len, 0, &used), 0);
    CHECK_EQU(used, z.len);
    CHECK_EQ(check_tape_diff(&t, &v), -1);
    CHECK(v.data == v.inflated);
    /* every truncation of the compressed form fails cleanly */
    for (size_t cut = 0; cut < z.len; cut += (z.len > 4096 ? 97 : 1)) {
        int r = ergo_etf_decode(&v, z.data, cut, 0, NULL);
        CHECK(r == ERGO_ETF_E_TRUNCATED);
        if (r != ERGO_ETF_E_TRUNCATED) {
            fprintf(stderr, "%s compressed cut at %zu: %d\n", name, cut, r);
            break;
        }
    }
    ergo_etf_buf_free(&z);
    ergo_etf_tape_free(&v);

    free(out);
    ergo_etf_buf_free(&b);
    ergo_etf_tape_free(&t);
}

/* Every proper prefix of a valid term is E_TRUNCATED (never a crash, never
 * another code); error_offset lies inside the prefix. Each prefix is decoded
 * from a copy of exactly its length, so ASan sees any over-read (for the
 * 1 MiB file, prefixes in the middle of the binary are decoded in place). */
static void truncations(const char *name, const uint8_t *file, size_t len)
{
    ergo_etf_tape t;
    ergo_etf_tape_init(&t, NULL);
    int bad = 0;
    for (size_t cut = 0; cut < len; cut++) {
        int copy = len <= 65536 || cut < 4096 || cut > len - 4096;
        uint8_t *p = NULL;
        if (copy) {
            p = malloc(cut ? cut : 1);
            memcpy(p, file, cut);
        }
        int rc = ergo_etf_decode(&t, copy ? p : file, cut, 0, NULL);
        if (rc != ERGO_ETF_E_TRUNCATED || t.error_offset > cut || t.count != 0) {
            if (bad++ < 5)
                fprintf(stderr, "%s: prefix %zu gives %d (offset %zu)\n", name, cut, rc,
                        t.error_offset);
        }
        free(p);
    }
    CHECK_EQ(bad, 0);
    ergo_etf_tape_free(&t);
}

/* small.etf, {ping,1,<<"hello">>}, written with the encoder calls. */
static void encode_small_by_hand(const uint8_t *file, size_t len)
{
    ergo_etf_buf b;
    ergo_etf_buf_init(&b, 0);
    ergo_etf_encode_version(&b);
    ergo_etf_encode_tuple_header(&b, 3);
    ergo_etf_encode_atom(&b, "ping", 4);
    ergo_etf_encode_int(&b, 1);
    CHECK_EQ(ergo_etf_encode_binary(&b, "hello", 5), 0);
    CHECK_EQU(b.len, len);
    if (b.len == len)
        CHECK_MEM(b.data, file, len);
    ergo_etf_buf_free(&b);
}

/* rpc.etf:
 * {'$gen_call', {<8774.9.0>, #Ref<8774.4133516895.2709258242.104221>},
 *  {call, lists, seq, [1,100], <8774.9.0>}}
 * with the pid and ref fields read from the file's own tape. */
static void encode_rpc_by_hand(const uint8_t *file, size_t len)
{
    ergo_etf_tape t;
    ergo_etf_tape_init(&t, NULL);
    CHECK_EQ(ergo_etf_decode(&t, file, len, 0, NULL), 0);
    if (t.count < 8)
        return;
    /* nodes: 0 tuple, 1 atom, 2 tuple, 3 pid, 4 atom, 5 ref, 6 atom, ... */
    const ergo_etf_node *pid = &t.nodes[3], *pnode = &t.nodes[4];
    const ergo_etf_node *ref = &t.nodes[5], *rnode = &t.nodes[6];
    CHECK_EQ(pid->kind, ERGO_ETF_K_PID);
    CHECK_EQ(pnode->kind, ERGO_ETF_K_ATOM);
    CHECK_EQ(ref->kind, ERGO_ETF_K_REF);
    CHECK_EQ(rnode->kind, ERGO_ETF_K_ATOM);
    if (pid->kind != ERGO_ETF_K_PID || ref->kind != ERGO_ETF_K_REF)
        return;
    const char *node = (const char *)t.data + pnode->v.off;
    CHECK_EQU(pnode->size, 11);
    CHECK(memcmp(node, "a@127.0.0.1", 11) == 0);
    uint32_t id = pid->size, serial = (uint32_t)(pid->v.u >> 32), creation = (uint32_t)pid->v.u;
    CHECK_EQU(id, 9);
    CHECK_EQU(serial, 0);
    uint32_t ids[5];
    for (unsigned i = 0; i < ref->aux; i++) {
        const uint8_t *w = t.data + ref->v.off + 4 * i;
        ids[i] = (uint32_t)w[0] << 24 | (uint32_t)w[1] << 16 | (uint32_t)w[2] << 8 | w[3];
    }
    CHECK_EQU(ref->aux, 3);
    CHECK_EQU(ref->size, creation);

    ergo_etf_buf b;
    ergo_etf_buf_init(&b, 0);
    ergo_etf_encode_version(&b);
    ergo_etf_encode_tuple_header(&b, 3);
    ergo_etf_encode_atom(&b, "$gen_call", 9);
    ergo_etf_encode_tuple_header(&b, 2);
    ergo_etf_encode_pid(&b, node, 11, id, serial, creation);
    ergo_etf_encode_ref(&b, node, 11, ref->size, ids, ref->aux);
    ergo_etf_encode_tuple_header(&b, 5);
    ergo_etf_encode_atom(&b, "call", 4);
    ergo_etf_encode_atom(&b, "lists", 5);
    ergo_etf_encode_atom(&b, "seq", 3);
    ergo_etf_encode_string(&b, (const uint8_t *)"\x01\x64", 2);
    CHECK_EQ(ergo_etf_encode_pid(&b, node, 11, id, serial, creation), 0);
    CHECK_EQU(b.len, len);
    if (b.len == len)
        CHECK_MEM(b.data, file, len);
    ergo_etf_buf_free(&b);
    ergo_etf_tape_free(&t);
}

int main(void)
{
    for (size_t i = 0; i < NFIXTURES; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.etf", ERGO_FIXTURES, FIXTURES[i]);
        size_t len = 0;
        uint8_t *file = check_read_file(path, &len);
        CHECK(file != NULL);
        if (!file) {
            fprintf(stderr, "cannot read %s\n", path);
            continue;
        }
        round_trip(FIXTURES[i], file, len);
        truncations(FIXTURES[i], file, len);
        if (strcmp(FIXTURES[i], "small") == 0)
            encode_small_by_hand(file, len);
        if (strcmp(FIXTURES[i], "rpc") == 0)
            encode_rpc_by_hand(file, len);
        free(file);
    }
    CHECK_DONE();
}
