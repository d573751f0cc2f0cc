/*
 * test_etf_decode.c — the decoder, tag by tag and error by error.
 *
 * The byte vectors come from Erlang/OTP 25: each comment names the term and
 * the term_to_binary options that produced it (the hand-made ones were fed
 * to binary_to_term, which accepted them). Each test checks the documented
 * node fields, and that ergo_etf_encode_tape writes the vector back.
 */
#include <math.h>

#include "check.h"

/* small: {ping,1,<<"hello">>} (term_to_binary [{minor_version,2}]) */
static const uint8_t v_small[] = {131,104,3,119,4,112,105,110,103,97,1,109,0,0,0,5,104,101,108,108,111};
/* pid: the pid of node 'a@host.io' with id 42, serial 7, creation 16#5F3C0001 (term_to_binary [{minor_version,2}]) */
static const uint8_t v_pid[] = {131,88,119,9,97,64,104,111,115,116,46,105,111,0,0,0,42,0,0,0,7,95,60,0,1};
/* new_port: the port of 'a@host.io' with id 5, creation 3 (term_to_binary [{minor_version,2}]) */
static const uint8_t v_new_port[] = {131,89,119,9,97,64,104,111,115,116,46,105,111,0,0,0,5,0,0,0,3};
/* v4_port: the port of 'a@host.io' with id 4294967298 (2^32 + 2), creation 3 (term_to_binary [{minor_version,2}]) */
static const uint8_t v_v4_port[] = {131,120,119,9,97,64,104,111,115,116,46,105,111,0,0,0,1,0,0,0,2,0,0,0,3};
/* ref3: the reference of 'a@host.io' with ids 1,2,3, creation 3 (term_to_binary [{minor_version,2}]) */
static const uint8_t v_ref3[] = {131,90,0,3,119,9,97,64,104,111,115,116,46,105,111,0,0,0,3,0,0,0,1,0,0,0,2,0,0,0,3};
/* ref5: the reference of 'a@host.io' with ids 1..5, creation 3 (term_to_binary [{minor_version,2}]) */
static const uint8_t v_ref5[] = {131,90,0,5,119,9,97,64,104,111,115,116,46,105,111,0,0,0,3,0,0,0,1,0,0,0,2,0,0,0,3,0,0,0,4,0,0,0,5};
/* fun: ergo_vec:mk(300, <<"hi">>) where mk(X, Y) -> fun(A) -> A + X + byte_size(Y) end, made on nonode@nohost (term_to_binary [{minor_version,2}]) */
static const uint8_t v_fun[] = {131,112,0,0,0,86,1,216,98,214,52,223,187,114,32,33,176,107,178,240,56,22,146,0,0,0,0,0,0,0,2,119,8,101,114,103,111,95,118,101,99,97,0,98,6,195,22,177,88,119,13,110,111,110,111,100,101,64,110,111,104,111,115,116,0,0,0,9,0,0,0,0,0,0,0,0,98,0,0,1,44,109,0,0,0,2,104,105};
/* fun0: ergo_vec:mk0() where mk0() -> fun() -> ok end (term_to_binary [{minor_version,2}]) */
static const uint8_t v_fun0[] = {131,112,0,0,0,74,0,216,98,214,52,223,187,114,32,33,176,107,178,240,56,22,146,0,0,0,1,0,0,0,0,119,8,101,114,103,111,95,118,101,99,97,1,98,6,195,22,177,88,119,13,110,111,110,111,100,101,64,110,111,104,111,115,116,0,0,0,9,0,0,0,0,0,0,0,0};
/* fun_nested: ergo_vec:mk2(ergo_vec:mk(300, <<"hi">>)) where mk2(F) -> fun() -> F end (term_to_binary [{minor_version,2}]) */
static const uint8_t v_fun_nested[] = {131,112,0,0,0,161,0,216,98,214,52,223,187,114,32,33,176,107,178,240,56,22,146,0,0,0,2,0,0,0,1,119,8,101,114,103,111,95,118,101,99,97,2,98,6,195,22,177,88,119,13,110,111,110,111,100,101,64,110,111,104,111,115,116,0,0,0,9,0,0,0,0,0,0,0,0,112,0,0,0,86,1,216,98,214,52,223,187,114,32,33,176,107,178,240,56,22,146,0,0,0,0,0,0,0,2,119,8,101,114,103,111,95,118,101,99,97,0,98,6,195,22,177,88,119,13,110,111,110,111,100,101,64,110,111,104,111,115,116,0,0,0,9,0,0,0,0,0,0,0,0,98,0,0,1,44,109,0,0,0,2,104,105};
/* export: fun lists:seq/2 (term_to_binary [{minor_version,2}]) */
static const uint8_t v_export[] = {131,113,119,5,108,105,115,116,115,119,3,115,101,113,97,2};
/* big_2_64: 18446744073709551616 (term_to_binary [{minor_version,2}]) */
static const uint8_t v_big_2_64[] = {131,110,9,0,0,0,0,0,0,0,0,0,1};
/* big_neg_2_64: -18446744073709551616 (term_to_binary [{minor_version,2}]) */
static const uint8_t v_big_neg_2_64[] = {131,110,9,1,0,0,0,0,0,0,0,0,1};
/* big_2_63: 9223372036854775808 (term_to_binary [{minor_version,2}]) */
static const uint8_t v_big_2_63[] = {131,110,8,0,0,0,0,0,0,0,0,128};
/* big_2_63_m1: 9223372036854775807 (term_to_binary [{minor_version,2}]) */
static const uint8_t v_big_2_63_m1[] = {131,110,8,0,255,255,255,255,255,255,255,127};
/* big_neg_2_63: -9223372036854775808 (term_to_binary [{minor_version,2}]) */
static const uint8_t v_big_neg_2_63[] = {131,110,8,1,0,0,0,0,0,0,0,128};
/* int_neg1: -1 (term_to_binary [{minor_version,2}]) */
static const uint8_t v_int_neg1[] = {131,98,255,255,255,255};
/* int_256: 256 (term_to_binary [{minor_version,2}]) */
static const uint8_t v_int_256[] = {131,98,0,0,1,0};
/* int_min32: -2147483648 (term_to_binary [{minor_version,2}]) */
static const uint8_t v_int_min32[] = {131,98,128,0,0,0};
/* int_2_31: 2147483648 (term_to_binary [{minor_version,2}]) */
static const uint8_t v_int_2_31[] = {131,110,4,0,0,0,0,128};
/* float: 3.14 (term_to_binary [{minor_version,2}]) */
static const uint8_t v_float[] = {131,70,64,9,30,184,81,235,133,31};
/* float_neg0: -0.0 (term_to_binary [{minor_version,2}]) */
static const uint8_t v_float_neg0[] = {131,70,128,0,0,0,0,0,0,0};
/* float_old: 1.5 (term_to_binary [{minor_version,0}]) */
static const uint8_t v_float_old[] = {131,99,49,46,53,48,48,48,48,48,48,48,48,48,48,48,48,48,48,48,48,48,48,48,101,43,48,48,0,0,0,0,0};
/* float_old_neg: -2.5e-300 (term_to_binary [{minor_version,0}]) */
static const uint8_t v_float_old_neg[] = {131,99,45,50,46,52,57,57,57,57,57,57,57,57,57,57,57,57,57,57,57,55,57,55,54,101,45,51,48,48,0,0,0};
/* bits3: <<1:3>> (term_to_binary [{minor_version,2}]) */
static const uint8_t v_bits3[] = {131,77,0,0,0,1,3,32};
/* bits9: <<255,1:1>> (term_to_binary [{minor_version,2}]) */
static const uint8_t v_bits9[] = {131,77,0,0,0,2,1,255,128};
/* improper: [1,2|c] (term_to_binary [{minor_version,2}]) */
static const uint8_t v_improper[] = {131,108,0,0,0,2,97,1,97,2,119,1,99};
/* improper_pair: [1|2] (term_to_binary [{minor_version,2}]) */
static const uint8_t v_improper_pair[] = {131,108,0,0,0,1,97,1,97,2};
/* string: "abc" (term_to_binary [{minor_version,2}]) */
static const uint8_t v_string[] = {131,107,0,3,97,98,99};
/* list_mixed: [a,"bc",[]] (term_to_binary [{minor_version,2}]) */
static const uint8_t v_list_mixed[] = {131,108,0,0,0,3,119,1,97,107,0,2,98,99,106,106};
/* map: #{a => 1, <<"b">> => [2]} (term_to_binary [{minor_version,2}]) */
static const uint8_t v_map[] = {131,116,0,0,0,2,119,1,97,97,1,109,0,0,0,1,98,107,0,1,2};
/* empty_map: #{} (term_to_binary [{minor_version,2}]) */
static const uint8_t v_empty_map[] = {131,116,0,0,0,0};
/* empty_tuple: {} (term_to_binary [{minor_version,2}]) */
static const uint8_t v_empty_tuple[] = {131,104,0};
/* nil: [] (term_to_binary [{minor_version,2}]) */
static const uint8_t v_nil[] = {131,106};
/* latin1_atom: the atom 'h\xe9' (e acute in Latin-1) (term_to_binary [{minor_version,1}]: ATOM_EXT) */
static const uint8_t v_latin1_atom[] = {131,100,0,2,104,233};
/* latin1_atom_v0: abc (term_to_binary [{minor_version,0}]) */
static const uint8_t v_latin1_atom_v0[] = {131,100,0,3,97,98,99};
/* utf8_atom: 'h\x{e9}llo' (term_to_binary [{minor_version,2}]) */
static const uint8_t v_utf8_atom[] = {131,119,6,104,195,169,108,108,111};
/* utf8_atom_4byte: the atom of U+1F600 (term_to_binary [{minor_version,2}]) */
static const uint8_t v_utf8_atom_4byte[] = {131,119,4,240,159,152,128};
/* empty_binary: <<>> (term_to_binary [{minor_version,2}]) */
static const uint8_t v_empty_binary[] = {131,109,0,0,0,0};
/* compressed: lists:duplicate(100, a) (term_to_binary [{compressed,6},{minor_version,2}]) */
static const uint8_t v_compressed[] = {131,80,0,0,1,50,120,156,203,97,96,96,72,41,103,76,28,69,68,162,44,0,46,63,85,255};
/* compressed_tuple: {lists:duplicate(40, <<"abc">>), 1.5, "text"} (term_to_binary [{compressed,9},{minor_version,2}]) */
static const uint8_t v_compressed_tuple[] = {131,80,0,0,1,88,120,218,203,96,206,97,96,96,208,200,5,18,204,137,73,201,163,52,121,116,150,155,253,15,6,48,200,102,96,41,73,173,40,1,0,65,71,68,139};
/* old_pid: a PID/PORT/REFERENCE_EXT of node a (hand-made; binary_to_term accepts it, term_to_binary re-encodes it as <<131,88,119,1,97,0,0,0,1,0,0,0,2,0,0,0,3>>) */
static const uint8_t v_old_pid[] = {131,103,100,0,1,97,0,0,0,1,0,0,0,2,3};
/* old_port: a PID/PORT/REFERENCE_EXT of node a (hand-made; binary_to_term accepts it, term_to_binary re-encodes it as <<131,89,119,1,97,0,0,0,1,0,0,0,3>>) */
static const uint8_t v_old_port[] = {131,102,100,0,1,97,0,0,0,1,3};
/* old_ref: a PID/PORT/REFERENCE_EXT of node a (hand-made; binary_to_term accepts it, term_to_binary re-encodes it as <<131,90,0,1,119,1,97,0,0,0,3,0,0,0,1>>) */
static const uint8_t v_old_ref[] = {131,101,100,0,1,97,0,0,0,1,3};
/* new_ref: a NEW_REFERENCE_EXT of node a, ids 1,2, creation 3 (hand-made; binary_to_term accepts it, term_to_binary re-encodes it as <<131,90,0,2,119,1,97,0,0,0,3,0,0,0,1,0,0,0,2>>) */
static const uint8_t v_new_ref[] = {131,114,0,2,100,0,1,97,3,0,0,0,1,0,0,0,2};

/* ---- helpers ------------------------------------------------------------ */

#define DECODE(t, v) ergo_etf_decode((t), (v), sizeof(v), 0, NULL)

static void node_is(const ergo_etf_tape *t, size_t i, int kind, int flags, int aux, uint32_t size,
                    int line)
{
    if (i >= t->count) {
        fprintf(stderr, "line %d: node %zu missing (count %zu)\n", line, i, t->count);
        check_failures++;
        return;
    }
    const ergo_etf_node *n = &t->nodes[i];
    if (n->kind != kind || n->flags != flags || n->aux != aux || n->size != size) {
        fprintf(stderr, "line %d: node %zu is kind %u flags %u aux %u size %u, want %d %d %d %u\n",
                line, i, n->kind, n->flags, n->aux, n->size, kind, flags, aux, size);
        check_failures++;
    }
}
#define NODE(t, i, kind, flags, aux, size) node_is((t), (i), (kind), (flags), (aux), (size), __LINE__)

/* The bytes a node's offset points at equal s[0..n). */
#define NODE_BYTES(t, i, s, n) CHECK((t)->nodes[i].v.off + (n) <= (t)->data_len && \
                                     memcmp((t)->data + (t)->nodes[i].v.off, (s), (n)) == 0)

/* Re-encoding the whole tape (with a version byte) gives `want` back. */
static void reencodes_to(const ergo_etf_tape *t, const uint8_t *want, size_t len, int line)
{
    ergo_etf_buf b;
    ergo_etf_buf_init(&b, 0);
    ergo_etf_encode_version(&b);
    int rc = ergo_etf_encode_tape(&b, t, 0, NULL);
    size_t size = ergo_etf_buf_size(&b);
    uint8_t *out = malloc(size ? size : 1);
    ergo_etf_buf_flatten(&b, out);
    if (rc != 0 || size != len || memcmp(out, want, len) != 0) {
        fprintf(stderr, "line %d: re-encoding gives rc %d, %zu bytes (want %zu):", line, rc, size,
                len);
        for (size_t i = 0; i < size && i < 64; i++)
            fprintf(stderr, " %u", out[i]);
        fprintf(stderr, "\n");
        check_failures++;
    }
    /* size-only agrees */
    ergo_etf_buf s;
    ergo_etf_buf_init_sizing(&s);
    ergo_etf_encode_version(&s);
    CHECK_EQ(ergo_etf_encode_tape(&s, t, 0, NULL), 0);
    CHECK_EQU(ergo_etf_buf_size(&s), size);
    free(out);
    ergo_etf_buf_free(&b);
}
#define REENCODES(t, v) reencodes_to((t), (v), sizeof(v), __LINE__)

/* Decoding fails with `code` at `offset`. */
static void fails(ergo_etf_tape *t, const uint8_t *v, size_t len, unsigned flags, int code,
                  long offset, int line)
{
    int rc = ergo_etf_decode(t, v, len, flags, NULL);
    if (rc != code || (offset >= 0 && t->error_offset != (size_t)offset) || t->count != 0) {
        fprintf(stderr, "line %d: decode gives %d (%s) at %zu count %zu, want %d at %ld\n", line,
                rc, ergo_etf_strerror(rc), t->error_offset, t->count, code, offset);
        check_failures++;
    }
}
#define FAILS(t, v, code, offset) fails((t), (v), sizeof(v), 0, (code), (offset), __LINE__)

static uint32_t be32_at(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- every tag ------------------------------------------------------------ */

static void test_small(void)
{
    ergo_etf_tape t;
    ergo_etf_tape_init(&t, NULL);
    CHECK_EQ(DECODE(&t, v_small), 0);
    CHECK_EQU(t.count, 4);
    NODE(&t, 0, ERGO_ETF_K_TUPLE, 0, 0, 3);
    NODE(&t, 1, ERGO_ETF_K_ATOM, 0, 0, 4);
    NODE_BYTES(&t, 1, "ping", 4);
    CHECK_EQU(t.nodes[1].v.off, 5);
    NODE(&t, 2, ERGO_ETF_K_INT, 0, 0, 0);
    CHECK_EQ(t.nodes[2].v.i, 1);
    NODE(&t, 3, ERGO_ETF_K_BINARY, 0, 0, 5);
    CHECK_EQU(t.nodes[3].v.off, 16);
    NODE_BYTES(&t, 3, "hello", 5);
    CHECK(t.data == v_small);
    CHECK_EQU(t.data_len, sizeof v_small);
    CHECK_EQU(ergo_etf_tape_skip(&t, 0), 4);
    CHECK_EQU(ergo_etf_tape_skip(&t, 1), 2);
    CHECK_EQU(ergo_etf_tape_skip(&t, 3), 4);
    REENCODES(&t, v_small);
    ergo_etf_tape_free(&t);
}

static void test_integers(void)
{
    ergo_etf_tape t;
    ergo_etf_tape_init(&t, NULL);
    static const struct {
        const uint8_t *v;
        size_t len;
        int64_t want;
    } ints[] = {
        {v_int_neg1, sizeof v_int_neg1, -1},
        {v_int_256, sizeof v_int_256, 256},
        {v_int_min32, sizeof v_int_min32, INT32_MIN},
        {v_int_2_31, sizeof v_int_2_31, INT64_C(2147483648)},
        {v_big_2_63_m1, sizeof v_big_2_63_m1, INT64_MAX},
        {v_big_neg_2_63, sizeof v_big_neg_2_63, INT64_MIN},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        CHECK_EQ(ergo_etf_decode(&t, ints[i].v, ints[i].len, 0, NULL), 0);
        CHECK_EQU(t.count, 1);
        NODE(&t, 0, ERGO_ETF_K_INT, 0, 0, 0);
        CHECK(t.nodes[0].v.i == ints[i].want);
        reencodes_to(&t, ints[i].v, ints[i].len, __LINE__);
    }
    /* SMALL_INTEGER 255 */
    static const uint8_t v255[] = {131, 97, 255};
    CHECK_EQ(DECODE(&t, v255), 0);
    CHECK_EQ(t.nodes[0].v.i, 255);
    REENCODES(&t, v255);

    /* bignums outside int64: K_BIG with the little-endian digits */
    CHECK_EQ(DECODE(&t, v_big_2_64), 0);
    NODE(&t, 0, ERGO_ETF_K_BIG, 0, 0, 9);
    CHECK_EQU(t.nodes[0].v.off, 4);
    REENCODES(&t, v_big_2_64);
    CHECK_EQ(DECODE(&t, v_big_neg_2_64), 0);
    NODE(&t, 0, ERGO_ETF_K_BIG, ERGO_ETF_F_NEGATIVE, 0, 9);
    NODE_BYTES(&t, 0, "\0\0\0\0\0\0\0\0\1", 9);
    REENCODES(&t, v_big_neg_2_64);
    CHECK_EQ(DECODE(&t, v_big_2_63), 0);
    NODE(&t, 0, ERGO_ETF_K_BIG, 0, 0, 8);
    REENCODES(&t, v_big_2_63);

    /* 1 bsl 2100 and its negation: LARGE_BIG_EXT with 263 digits, the last
     * one 16 (term_to_binary(1 bsl 2100, [{minor_version,2}]) is exactly
     * these bytes) */
    uint8_t big[7 + 263];
    memset(big, 0, sizeof big);
    big[0] = 131, big[1] = 111, big[4] = 1, big[5] = 7, big[6] = 0;
    big[7 + 262] = 16;
    CHECK_EQ(DECODE(&t, big), 0);
    NODE(&t, 0, ERGO_ETF_K_BIG, 0, 0, 263);
    CHECK_EQU(t.nodes[0].v.off, 7);
    REENCODES(&t, big);
    big[6] = 1;
    CHECK_EQ(DECODE(&t, big), 0);
    NODE(&t, 0, ERGO_ETF_K_BIG, ERGO_ETF_F_NEGATIVE, 0, 263);
    REENCODES(&t, big);

    /* ERTS also reads non-minimal bignums: digits are trimmed, small
     * values become K_INT, any non-zero sign byte is negative */
    static const uint8_t nonmin[] = {131, 110, 3, 0, 5, 0, 0};      /* 5 */
    static const uint8_t zero[] = {131, 110, 0, 0};                 /* 0 */
    static const uint8_t sign2[] = {131, 110, 1, 2, 5};             /* -5 */
    static const uint8_t negzero[] = {131, 110, 1, 1, 0};           /* 0 */
    static const uint8_t big_pad[] = {131, 110, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}; /* 2^64 */
    CHECK_EQ(DECODE(&t, nonmin), 0);
    CHECK(t.nodes[0].kind == ERGO_ETF_K_INT && t.nodes[0].v.i == 5);
    CHECK_EQ(DECODE(&t, zero), 0);
    CHECK(t.nodes[0].kind == ERGO_ETF_K_INT && t.nodes[0].v.i == 0);
    CHECK_EQ(DECODE(&t, sign2), 0);
    CHECK(t.nodes[0].kind == ERGO_ETF_K_INT && t.nodes[0].v.i == -5);
    CHECK_EQ(DECODE(&t, negzero), 0);
    CHECK(t.nodes[0].kind == ERGO_ETF_K_INT && t.nodes[0].v.i == 0);
    CHECK_EQ(DECODE(&t, big_pad), 0);
    NODE(&t, 0, ERGO_ETF_K_BIG, 0, 0, 9);
    REENCODES(&t, v_big_2_64);
    ergo_etf_tape_free(&t);
}

static void test_floats(void)
{
    ergo_etf_tape t;
    ergo_etf_tape_init(&t, NULL);
    CHECK_EQ(DECODE(&t, v_float), 0);
    NODE(&t, 0, ERGO_ETF_K_FLOAT, 0, 0, 0);
    CHECK(t.nodes[0].v.f == 3.14);
    REENCODES(&t, v_float);
    CHECK_EQ(DECODE(&t, v_float_neg0), 0);
    CHECK(t.nodes[0].v.f == 0.0 && signbit(t.nodes[0].v.f));
    REENCODES(&t, v_float_neg0);
    /* FLOAT_EXT (minor_version 0): decoded, re-encoded as NEW_FLOAT_EXT */
    CHECK_EQ(DECODE(&t, v_float_old), 0);
    NODE(&t, 0, ERGO_ETF_K_FLOAT, 0, 0, 0);
    CHECK(t.nodes[0].v.f == 1.5);
    static const uint8_t new15[] = {131, 70, 63, 248, 0, 0, 0, 0, 0, 0};
    REENCODES(&t, new15);
    CHECK_EQ(DECODE(&t, v_float_old_neg), 0);
    CHECK(t.nodes[0].v.f == -2.5e-300);
    /* FLOAT_EXT text as ERTS takes it: anything after a NUL is ignored */
    uint8_t f[33] = {131, 99, '1', '.', '5', 0, 'x'};
    CHECK_EQ(DECODE(&t, f), 0);
    CHECK(t.nodes[0].v.f == 1.5);
    ergo_etf_tape_free(&t);
}

static void test_atoms(void)
{
    ergo_etf_tape t;
    ergo_etf_limits lim = {0};
    lim.atom_cache_refs = 5;
    ergo_etf_tape_init(&t, &lim);

    CHECK_EQ(DECODE(&t, v_latin1_atom), 0);
    NODE(&t, 0, ERGO_ETF_K_ATOM, ERGO_ETF_F_LATIN1, 0, 2);
    NODE_BYTES(&t, 0, "h\xe9", 2);
    REENCODES(&t, v_latin1_atom);
    CHECK_EQ(DECODE(&t, v_latin1_atom_v0), 0);
    NODE(&t, 0, ERGO_ETF_K_ATOM, ERGO_ETF_F_LATIN1, 0, 3);
    REENCODES(&t, v_latin1_atom_v0);
    /* SMALL_ATOM_EXT: Latin-1 as well; written back as ATOM_EXT, the form
     * term_to_binary uses */
    static const uint8_t small_latin1[] = {131, 115, 2, 104, 233};
    CHECK_EQ(DECODE(&t, small_latin1), 0);
    NODE(&t, 0, ERGO_ETF_K_ATOM, ERGO_ETF_F_LATIN1, 0, 2);
    REENCODES(&t, v_latin1_atom);

    CHECK_EQ(DECODE(&t, v_utf8_atom), 0);
    NODE(&t, 0, ERGO_ETF_K_ATOM, 0, 0, 6);
    NODE_BYTES(&t, 0, "h\xc3\xa9llo", 6);
    REENCODES(&t, v_utf8_atom);
    CHECK_EQ(DECODE(&t, v_utf8_atom_4byte), 0);
    NODE(&t, 0, ERGO_ETF_K_ATOM, 0, 0, 4);
    REENCODES(&t, v_utf8_atom_4byte);

    /* 255 characters of 2 bytes: ATOM_UTF8_EXT, within the default limit */
    uint8_t a510[4 + 510] = {131, 118, 510 >> 8, 510 & 255};
    for (int i = 0; i < 255; i++)
        a510[4 + 2 * i] = 0xC3, a510[5 + 2 * i] = 0xA9;
    CHECK_EQ(DECODE(&t, a510), 0);
    NODE(&t, 0, ERGO_ETF_K_ATOM, 0, 0, 510);
    REENCODES(&t, a510);
    /* 255 characters of 4 bytes (1020 bytes) */
    uint8_t a1020[4 + 1020] = {131, 118, 1020 >> 8, 1020 & 255};
    for (int i = 0; i < 255; i++)
        memcpy(a1020 + 4 + 4 * i, "\xF0\x9F\x98\x80", 4);
    CHECK_EQ(DECODE(&t, a1020), 0);
    NODE(&t, 0, ERGO_ETF_K_ATOM, 0, 0, 1020);
    /* the empty atom '' */
    static const uint8_t empty[] = {131, 119, 0};
    CHECK_EQ(DECODE(&t, empty), 0);
    NODE(&t, 0, ERGO_ETF_K_ATOM, 0, 0, 0);
    REENCODES(&t, empty);

    /* ATOM_CACHE_REF: index < atom_cache_refs */
    static const uint8_t cref[] = {131, 104, 2, 82, 0, 82, 4};
    CHECK_EQ(DECODE(&t, cref), 0);
    NODE(&t, 1, ERGO_ETF_K_ATOM_REF, 0, 0, 0);
    CHECK_EQU(t.nodes[1].v.u, 0);
    CHECK_EQU(t.nodes[2].v.u, 4);
    REENCODES(&t, cref);
    ergo_etf_tape_free(&t);
}

static void test_containers(void)
{
    ergo_etf_tape t;
    ergo_etf_tape_init(&t, NULL);

    CHECK_EQ(DECODE(&t, v_improper), 0);
    CHECK_EQU(t.count, 4);
    NODE(&t, 0, ERGO_ETF_K_LIST, 0, 0, 2);
    NODE(&t, 3, ERGO_ETF_K_ATOM, 0, 0, 1); /* the tail c */
    REENCODES(&t, v_improper);
    CHECK_EQ(DECODE(&t, v_improper_pair), 0);
    CHECK_EQU(t.count, 3);
    NODE(&t, 0, ERGO_ETF_K_LIST, 0, 0, 1);
    CHECK(t.nodes[2].kind == ERGO_ETF_K_INT && t.nodes[2].v.i == 2);
    REENCODES(&t, v_improper_pair);

    CHECK_EQ(DECODE(&t, v_string), 0);
    NODE(&t, 0, ERGO_ETF_K_STRING, 0, 0, 3);
    NODE_BYTES(&t, 0, "abc", 3);
    REENCODES(&t, v_string);

    CHECK_EQ(DECODE(&t, v_list_mixed), 0);
    CHECK_EQU(t.count, 5);
    NODE(&t, 0, ERGO_ETF_K_LIST, 0, 0, 3);
    NODE(&t, 1, ERGO_ETF_K_ATOM, 0, 0, 1);
    NODE(&t, 2, ERGO_ETF_K_STRING, 0, 0, 2);
    NODE(&t, 3, ERGO_ETF_K_NIL, 0, 0, 0);
    NODE(&t, 4, ERGO_ETF_K_NIL, 0, 0, 0); /* the tail of a proper list */
    CHECK_EQU(ergo_etf_tape_skip(&t, 0), 5);
    REENCODES(&t, v_list_mixed);

    CHECK_EQ(DECODE(&t, v_map), 0);
    CHECK_EQU(t.count, 5);
    NODE(&t, 0, ERGO_ETF_K_MAP, 0, 0, 2);
    NODE(&t, 1, ERGO_ETF_K_ATOM, 0, 0, 1);
    CHECK_EQ(t.nodes[2].v.i, 1);
    NODE(&t, 3, ERGO_ETF_K_BINARY, 0, 0, 1);
    NODE(&t, 4, ERGO_ETF_K_STRING, 0, 0, 1);
    REENCODES(&t, v_map);

    CHECK_EQ(DECODE(&t, v_empty_map), 0);
    CHECK_EQU(t.count, 1);
    NODE(&t, 0, ERGO_ETF_K_MAP, 0, 0, 0);
    REENCODES(&t, v_empty_map);
    CHECK_EQ(DECODE(&t, v_empty_tuple), 0);
    NODE(&t, 0, ERGO_ETF_K_TUPLE, 0, 0, 0);
    REENCODES(&t, v_empty_tuple);
    CHECK_EQ(DECODE(&t, v_nil), 0);
    NODE(&t, 0, ERGO_ETF_K_NIL, 0, 0, 0);
    REENCODES(&t, v_nil);

    /* LARGE_TUPLE_EXT: 300 small integers (as term_to_binary writes
     * list_to_tuple(lists:seq(0, 299)) would, mod 256) */
    uint8_t big[6 + 600] = {131, 105, 0, 0, 300 >> 8, 300 & 255};
    for (int i = 0; i < 300; i++)
        big[6 + 2 * i] = 97, big[7 + 2 * i] = (uint8_t)i;
    CHECK_EQ(DECODE(&t, big), 0);
    CHECK_EQU(t.count, 301);
    NODE(&t, 0, ERGO_ETF_K_TUPLE, 0, 0, 300);
    REENCODES(&t, big);
    /* a LARGE_TUPLE_EXT of arity 1 ({1}; ERTS accepts it) */
    static const uint8_t large1[] = {131, 105, 0, 0, 0, 1, 97, 1};
    static const uint8_t small1[] = {131, 104, 1, 97, 1};
    CHECK_EQ(DECODE(&t, large1), 0);
    NODE(&t, 0, ERGO_ETF_K_TUPLE, 0, 0, 1);
    REENCODES(&t, small1);
    /* LIST_EXT with no elements is its tail, as binary_to_term reads it */
    static const uint8_t list0[] = {131, 108, 0, 0, 0, 0, 106};
    static const uint8_t list0_tail[] = {131, 108, 0, 0, 0, 0, 97, 5};
    CHECK_EQ(DECODE(&t, list0), 0);
    CHECK_EQU(t.count, 1);
    NODE(&t, 0, ERGO_ETF_K_NIL, 0, 0, 0);
    CHECK_EQ(DECODE(&t, list0_tail), 0);
    CHECK_EQU(t.count, 1);
    CHECK(t.nodes[0].kind == ERGO_ETF_K_INT && t.nodes[0].v.i == 5);
    /* deep, but within the limit: [[[...]]] 1000 levels */
    size_t n = 1000;
    uint8_t *deep = malloc(1 + 6 * n + 1);
    deep[0] = 131;
    for (size_t i = 0; i < n; i++)
        memcpy(deep + 1 + 5 * i, "\x6c\0\0\0\x01", 5);
    deep[1 + 5 * n] = 106;
    for (size_t i = 0; i < n; i++)
        deep[2 + 5 * n + i] = 106;
    CHECK_EQ(ergo_etf_decode(&t, deep, 2 + 6 * n, 0, NULL), 0);
    CHECK_EQU(t.count, 2 * n + 1);
    free(deep);
    ergo_etf_tape_free(&t);
}

static void test_binaries(void)
{
    ergo_etf_tape t;
    ergo_etf_tape_init(&t, NULL);
    CHECK_EQ(DECODE(&t, v_empty_binary), 0);
    NODE(&t, 0, ERGO_ETF_K_BINARY, 0, 0, 0);
    REENCODES(&t, v_empty_binary);
    CHECK_EQ(DECODE(&t, v_bits3), 0);
    NODE(&t, 0, ERGO_ETF_K_BITS, 0, 3, 1);
    CHECK_EQU(t.nodes[0].v.off, 7);
    REENCODES(&t, v_bits3);
    CHECK_EQ(DECODE(&t, v_bits9), 0);
    NODE(&t, 0, ERGO_ETF_K_BITS, 0, 1, 2);
    NODE_BYTES(&t, 0, "\xff\x80", 2);
    REENCODES(&t, v_bits9);
    /* unused bits are kept on decode and cleared on encode, as ERTS does:
     * binary_to_term(<<131,77,0,0,0,1,3,255>>) is <<7:3>> */
    static const uint8_t dirty[] = {131, 77, 0, 0, 0, 1, 3, 255};
    static const uint8_t clean[] = {131, 77, 0, 0, 0, 1, 3, 224};
    CHECK_EQ(DECODE(&t, dirty), 0);
    NODE(&t, 0, ERGO_ETF_K_BITS, 0, 3, 1);
    REENCODES(&t, clean);
    /* 8 bits used: a binary; no bytes and 0 bits: <<>> (both as ERTS) */
    static const uint8_t bits8[] = {131, 77, 0, 0, 0, 2, 8, 1, 2};
    static const uint8_t bin12[] = {131, 109, 0, 0, 0, 2, 1, 2};
    static const uint8_t bits00[] = {131, 77, 0, 0, 0, 0, 0};
    CHECK_EQ(DECODE(&t, bits8), 0);
    NODE(&t, 0, ERGO_ETF_K_BINARY, 0, 0, 2);
    REENCODES(&t, bin12);
    CHECK_EQ(DECODE(&t, bits00), 0);
    NODE(&t, 0, ERGO_ETF_K_BINARY, 0, 0, 0);
    REENCODES(&t, v_empty_binary);
    ergo_etf_tape_free(&t);
}

static void test_identifiers(void)
{
    ergo_etf_tape t;
    ergo_etf_tape_init(&t, NULL);

    CHECK_EQ(DECODE(&t, v_pid), 0);
    CHECK_EQU(t.count, 2);
    NODE(&t, 0, ERGO_ETF_K_PID, 0, 0, 42);
    CHECK_EQU(t.nodes[0].v.u, (UINT64_C(7) << 32) | 0x5F3C0001u);
    NODE(&t, 1, ERGO_ETF_K_ATOM, 0, 0, 9);
    NODE_BYTES(&t, 1, "a@host.io", 9);
    CHECK_EQU(ergo_etf_tape_skip(&t, 0), 2);
    REENCODES(&t, v_pid);

    CHECK_EQ(DECODE(&t, v_new_port), 0);
    NODE(&t, 0, ERGO_ETF_K_PORT, 0, 0, 3);
    CHECK_EQU(t.nodes[0].v.u, 5);
    NODE(&t, 1, ERGO_ETF_K_ATOM, 0, 0, 9);
    REENCODES(&t, v_new_port);
    CHECK_EQ(DECODE(&t, v_v4_port), 0);
    NODE(&t, 0, ERGO_ETF_K_PORT, 0, 0, 3);
    CHECK_EQU(t.nodes[0].v.u, UINT64_C(0x100000002));
    REENCODES(&t, v_v4_port);

    /* a NEW_PORT_EXT with an id past 28 bits comes back as V4_PORT_EXT, as
     * term_to_binary(binary_to_term(<<131,89,119,1,97,16#38,16#8C,16#B8,16#B8,
     * 0,0,0,3>>), [{minor_version,2}]) does */
    static const uint8_t port30[] = {131, 89, 119, 1, 97, 0x38, 0x8C, 0xB8, 0xB8, 0, 0, 0, 3};
    static const uint8_t port30_v4[] = {131, 120, 119, 1, 97, 0, 0, 0, 0, 0x38, 0x8C, 0xB8, 0xB8,
                                        0,   0,   0,   3};
    CHECK_EQ(DECODE(&t, port30), 0);
    NODE(&t, 0, ERGO_ETF_K_PORT, 0, 0, 3);
    CHECK_EQU(t.nodes[0].v.u, 0x388CB8B8);
    REENCODES(&t, port30_v4);

    CHECK_EQ(DECODE(&t, v_ref3), 0);
    NODE(&t, 0, ERGO_ETF_K_REF, 0, 3, 3);
    NODE(&t, 1, ERGO_ETF_K_ATOM, 0, 0, 9);
    NODE_BYTES(&t, 0, "\0\0\0\1\0\0\0\2\0\0\0\3", 12);
    REENCODES(&t, v_ref3);
    CHECK_EQ(DECODE(&t, v_ref5), 0);
    NODE(&t, 0, ERGO_ETF_K_REF, 0, 5, 3);
    CHECK_EQU(be32_at(t.data + t.nodes[0].v.off + 16), 5);
    REENCODES(&t, v_ref5);

    /* the pre-OTP-23 forms: flagged old, written back in the new forms */
    CHECK_EQ(DECODE(&t, v_old_pid), 0);
    NODE(&t, 0, ERGO_ETF_K_PID, ERGO_ETF_F_OLD, 0, 1);
    CHECK_EQU(t.nodes[0].v.u, (UINT64_C(2) << 32) | 3);
    NODE(&t, 1, ERGO_ETF_K_ATOM, ERGO_ETF_F_LATIN1, 0, 1);
    static const uint8_t pid_new[] = {131, 88, 100, 0, 1, 97, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3};
    REENCODES(&t, pid_new);
    CHECK_EQ(DECODE(&t, v_old_port), 0);
    NODE(&t, 0, ERGO_ETF_K_PORT, ERGO_ETF_F_OLD, 0, 3);
    CHECK_EQU(t.nodes[0].v.u, 1);
    static const uint8_t port_new[] = {131, 89, 100, 0, 1, 97, 0, 0, 0, 1, 0, 0, 0, 3};
    REENCODES(&t, port_new);
    CHECK_EQ(DECODE(&t, v_old_ref), 0);
    NODE(&t, 0, ERGO_ETF_K_REF, ERGO_ETF_F_OLD, 1, 3);
    NODE_BYTES(&t, 0, "\0\0\0\1", 4);
    static const uint8_t ref_new1[] = {131, 90, 0, 1, 100, 0, 1, 97, 0, 0, 0, 3, 0, 0, 0, 1};
    REENCODES(&t, ref_new1);
    CHECK_EQ(DECODE(&t, v_new_ref), 0);
    NODE(&t, 0, ERGO_ETF_K_REF, ERGO_ETF_F_OLD, 2, 3);
    NODE_BYTES(&t, 0, "\0\0\0\1\0\0\0\2", 8);
    static const uint8_t ref_new2[] = {131, 90, 0, 2, 100, 0, 1, 97, 0, 0, 0, 3,
                                       0,   0,  0, 1, 0,   0, 0, 2};
    REENCODES(&t, ref_new2);

    /* a pid whose node is an atom cache reference */
    ergo_etf_limits lim = {0};
    lim.atom_cache_refs = 1;
    ergo_etf_tape c;
    ergo_etf_tape_init(&c, &lim);
    static const uint8_t pid_cref[] = {131, 88, 82, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3};
    CHECK_EQ(DECODE(&c, pid_cref), 0);
    NODE(&c, 1, ERGO_ETF_K_ATOM_REF, 0, 0, 0);
    REENCODES(&c, pid_cref);
    ergo_etf_tape_free(&c);
    ergo_etf_tape_free(&t);
}

static void test_funs(void)
{
    ergo_etf_tape t;
    ergo_etf_tape_init(&t, NULL);

    CHECK_EQ(DECODE(&t, v_export), 0);
    CHECK_EQU(t.count, 4);
    NODE(&t, 0, ERGO_ETF_K_EXPORT, 0, 0, 0);
    NODE(&t, 1, ERGO_ETF_K_ATOM, 0, 0, 5);
    NODE_BYTES(&t, 1, "lists", 5);
    NODE(&t, 2, ERGO_ETF_K_ATOM, 0, 0, 3);
    NODE(&t, 3, ERGO_ETF_K_INT, 0, 0, 0);
    CHECK_EQ(t.nodes[3].v.i, 2);
    CHECK_EQU(ergo_etf_tape_skip(&t, 0), 4);
    REENCODES(&t, v_export);
    /* export arity as INTEGER_EXT, which ERTS accepts too */
    static const uint8_t exp_int[] = {131, 113, 119, 1, 97, 119, 1, 98, 98, 0, 0, 0, 2};
    static const uint8_t exp_small[] = {131, 113, 119, 1, 97, 119, 1, 98, 97, 2};
    CHECK_EQ(DECODE(&t, exp_int), 0);
    REENCODES(&t, exp_small);

    CHECK_EQ(DECODE(&t, v_fun), 0);
    CHECK_EQU(t.count, 8);
    NODE(&t, 0, ERGO_ETF_K_FUN, 0, 1, 2); /* arity 1, two free variables */
    CHECK_EQU(t.nodes[0].v.off, 7); /* the tag is at 1; uniq at tag + 6 */
    NODE_BYTES(&t, 0, v_fun + 7, 20); /* uniq, then the index (0) */
    NODE(&t, 1, ERGO_ETF_K_ATOM, 0, 0, 8);
    NODE_BYTES(&t, 1, "ergo_vec", 8);
    NODE(&t, 2, ERGO_ETF_K_INT, 0, 0, 0); /* old index */
    CHECK_EQ(t.nodes[2].v.i, 0);
    NODE(&t, 3, ERGO_ETF_K_INT, 0, 0, 0); /* old uniq */
    CHECK_EQ(t.nodes[3].v.i, (int64_t)be32_at(v_fun + 44));
    NODE(&t, 4, ERGO_ETF_K_PID, 0, 0, 9);
    NODE(&t, 5, ERGO_ETF_K_ATOM, 0, 0, 13);
    CHECK(t.nodes[6].kind == ERGO_ETF_K_INT && t.nodes[6].v.i == 300);
    NODE(&t, 7, ERGO_ETF_K_BINARY, 0, 0, 2);
    CHECK_EQU(ergo_etf_tape_skip(&t, 0), 8);
    CHECK_EQU(ergo_etf_tape_skip(&t, 4), 6);
    REENCODES(&t, v_fun);

    CHECK_EQ(DECODE(&t, v_fun0), 0);
    CHECK_EQU(t.count, 6);
    NODE(&t, 0, ERGO_ETF_K_FUN, 0, 0, 0);
    CHECK_EQU(be32_at(t.data + t.nodes[0].v.off + 16), 1); /* index */
    REENCODES(&t, v_fun0);

    CHECK_EQ(DECODE(&t, v_fun_nested), 0);
    CHECK_EQU(t.count, 14);
    NODE(&t, 0, ERGO_ETF_K_FUN, 0, 0, 1);
    NODE(&t, 6, ERGO_ETF_K_FUN, 0, 1, 2);
    CHECK_EQU(ergo_etf_tape_skip(&t, 6), 14);
    REENCODES(&t, v_fun_nested);

    /* a fun inside a tuple, followed by more elements: Size checked at the
     * right moment */
    uint8_t tup[3 + sizeof v_fun - 1 + 2];
    tup[0] = 131, tup[1] = 104, tup[2] = 2;
    memcpy(tup + 3, v_fun + 1, sizeof v_fun - 1);
    tup[sizeof tup - 2] = 97, tup[sizeof tup - 1] = 7;
    CHECK_EQ(DECODE(&t, tup), 0);
    CHECK_EQU(t.count, 10);
    REENCODES(&t, tup);
    ergo_etf_tape_free(&t);
}

static void test_compressed(void)
{
    ergo_etf_tape t;
    ergo_etf_tape_init(&t, NULL);
    size_t used = 0;
    CHECK_EQ(ergo_etf_decode(&t, v_compressed, sizeof v_compressed, 0, &used), 0);
    CHECK_EQU(used, sizeof v_compressed);
    CHECK_EQU(t.count, 102);
    NODE(&t, 0, ERGO_ETF_K_LIST, 0, 0, 100);
    NODE(&t, 1, ERGO_ETF_K_ATOM, 0, 0, 1);
    NODE(&t, 101, ERGO_ETF_K_NIL, 0, 0, 0);
    CHECK(t.data == t.inflated);
    CHECK_EQU(t.data_len, 306);
    NODE_BYTES(&t, 100, "a", 1);

    /* our compressor at the same level: decodes to the same tape */
    ergo_etf_buf plain, z;
    ergo_etf_buf_init(&plain, 0);
    ergo_etf_encode_version(&plain);
    CHECK_EQ(ergo_etf_encode_tape(&plain, &t, 0, NULL), 0);
    CHECK_EQU(plain.len, 307);
    ergo_etf_buf_init(&z, 0);
    CHECK_EQ(ergo_etf_compress(&z, plain.data, plain.len, 6), 0);
    if (z.len != sizeof v_compressed || memcmp(z.data, v_compressed, z.len) != 0)
        fprintf(stderr, "note: zlib here compresses differently from ERTS's (fine)\n");
    ergo_etf_tape u;
    ergo_etf_tape_init(&u, NULL);
    CHECK_EQ(ergo_etf_decode(&u, z.data, z.len, 0, NULL), 0);
    CHECK_EQ(check_tape_diff(&t, &u), -1);

    CHECK_EQ(DECODE(&t, v_compressed_tuple), 0);
    NODE(&t, 0, ERGO_ETF_K_TUPLE, 0, 0, 3);
    NODE(&t, 1, ERGO_ETF_K_LIST, 0, 0, 40);
    NODE(&t, 43, ERGO_ETF_K_FLOAT, 0, 0, 0);
    CHECK(t.nodes[43].v.f == 1.5);
    NODE(&t, 44, ERGO_ETF_K_STRING, 0, 0, 4);
    NODE_BYTES(&t, 44, "text", 4);

    /* prefix mode: the zlib stream ends the term */
    uint8_t more[sizeof v_compressed + 2];
    memcpy(more, v_compressed, sizeof v_compressed);
    more[sizeof v_compressed] = 97, more[sizeof v_compressed + 1] = 1;
    CHECK_EQ(ergo_etf_decode(&t, more, sizeof more, ERGO_ETF_DECODE_PREFIX, &used), 0);
    CHECK_EQU(used, sizeof v_compressed);
    CHECK_EQU(t.count, 102);
    fails(&t, more, sizeof more, 0, ERGO_ETF_E_TRAILING, sizeof v_compressed, __LINE__);
    /* without the version byte */
    CHECK_EQ(ergo_etf_decode(&t, v_compressed + 1, sizeof v_compressed - 1,
                             ERGO_ETF_DECODE_NO_VERSION, &used), 0);
    CHECK_EQU(used, sizeof v_compressed - 1);
    CHECK_EQU(t.count, 102);
    /* a plain decode after a compressed one points at the input again */
    CHECK_EQ(DECODE(&t, v_small), 0);
    CHECK(t.data == v_small);

    ergo_etf_tape_free(&u);
    ergo_etf_buf_free(&z);
    ergo_etf_buf_free(&plain);
    ergo_etf_tape_free(&t);
}

/* ---- every error ---------------------------------------------------------- */

static void test_errors(void)
{
    ergo_etf_tape t;
    ergo_etf_tape_init(&t, NULL);

    /* E_VERSION, E_TRUNCATED on empty input */
    static const uint8_t v130[] = {130, 97, 1};
    FAILS(&t, v130, ERGO_ETF_E_VERSION, 0);
    fails(&t, v130, 0, 0, ERGO_ETF_E_TRUNCATED, 0, __LINE__);
    fails(&t, v130, 0, ERGO_ETF_DECODE_NO_VERSION, ERGO_ETF_E_TRUNCATED, 0, __LINE__);
    /* an empty input may come as NULL (Swift's empty arrays do) */
    CHECK_EQ(ergo_etf_decode(&t, NULL, 0, 0, NULL), ERGO_ETF_E_TRUNCATED);
    CHECK_EQ(ergo_etf_decode(&t, NULL, 0, ERGO_ETF_DECODE_NO_VERSION | ERGO_ETF_DECODE_PREFIX,
                             NULL), ERGO_ETF_E_TRUNCATED);
    static const uint8_t only_version[] = {131};
    FAILS(&t, only_version, ERGO_ETF_E_TRUNCATED, 1);

    /* huge claimed counts and lengths in a short input fail at once */
    static const uint8_t tuple_huge[] = {131, 105, 255, 255, 255, 255, 97, 1, 97, 2};
    static const uint8_t list_huge[] = {131, 108, 255, 255, 255, 255, 97, 1, 97, 2};
    static const uint8_t map_huge[] = {131, 116, 255, 255, 255, 255, 97, 1, 97, 2};
    static const uint8_t bin_huge[] = {131, 109, 255, 255, 255, 255, 97, 1, 97, 2};
    static const uint8_t bits_huge[] = {131, 77, 255, 255, 255, 255, 3, 1, 97, 2};
    static const uint8_t big_huge[] = {131, 111, 255, 255, 255, 255, 0, 1, 97, 2};
    static const uint8_t str_huge[] = {131, 107, 255, 255, 97, 1, 97, 2};
    static const uint8_t atom_huge[] = {131, 118, 255, 255, 97, 1, 97, 2};
    static const uint8_t nested_huge[] = {131, 104, 2, 97, 1, 108, 0, 0, 1, 0, 106};
    FAILS(&t, tuple_huge, ERGO_ETF_E_TRUNCATED, 1);
    FAILS(&t, list_huge, ERGO_ETF_E_TRUNCATED, 1);
    FAILS(&t, map_huge, ERGO_ETF_E_TRUNCATED, 1);
    FAILS(&t, bin_huge, ERGO_ETF_E_TRUNCATED, 1);
    FAILS(&t, bits_huge, ERGO_ETF_E_TRUNCATED, 1);
    FAILS(&t, big_huge, ERGO_ETF_E_TRUNCATED, 1);
    FAILS(&t, str_huge, ERGO_ETF_E_TRUNCATED, 1);
    FAILS(&t, atom_huge, ERGO_ETF_E_TRUNCATED, 1);
    FAILS(&t, nested_huge, ERGO_ETF_E_TRUNCATED, 5);
    CHECK(t.capacity < 1000); /* nothing was sized by the claims */
    /* a tuple short of one element: the missing byte's offset */
    static const uint8_t short_tuple[] = {131, 104, 3, 97, 1, 97, 2};
    FAILS(&t, short_tuple, ERGO_ETF_E_TRUNCATED, 7);

    /* E_TAG: unknown tags, a version byte inside, COMPRESSED not at the top,
     * a pid whose node is not an atom */
    static const uint8_t tag1[] = {131, 1};
    static const uint8_t tag131[] = {131, 104, 1, 131};
    static const uint8_t tag_nested_z[] = {131, 104, 1, 80, 0, 0, 0, 1, 120, 156};
    static const uint8_t pid_int_node[] = {131, 88, 97, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
    static const uint8_t fun_bad_pid[] = {131, 112, 0, 0, 0, 35, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                          0,   0,   0, 0, 0,  0,  0, 0, 0, 0, 0, 0, 0, 0, 0,
                                          0,   119, 1, 109, 97, 0, 97, 0, 97, 1};
    FAILS(&t, tag1, ERGO_ETF_E_TAG, 1);
    FAILS(&t, tag131, ERGO_ETF_E_TAG, 3);
    FAILS(&t, tag_nested_z, ERGO_ETF_E_TAG, 3);
    FAILS(&t, pid_int_node, ERGO_ETF_E_TAG, 2);
    FAILS(&t, fun_bad_pid, ERGO_ETF_E_TAG, 38);

    /* E_LOCAL, E_UNSUPPORTED */
    static const uint8_t local[] = {131, 121, 0, 0, 0, 0, 0, 0, 0, 0, 106};
    static const uint8_t old_fun[] = {131, 117, 0, 0, 0, 0, 88};
    FAILS(&t, local, ERGO_ETF_E_LOCAL, 1);
    FAILS(&t, old_fun, ERGO_ETF_E_UNSUPPORTED, 1);

    /* E_TRAILING (and prefix mode) */
    static const uint8_t trailing[] = {131, 106, 106};
    FAILS(&t, trailing, ERGO_ETF_E_TRAILING, 2);
    size_t used = 0;
    CHECK_EQ(ergo_etf_decode(&t, trailing, sizeof trailing, ERGO_ETF_DECODE_PREFIX, &used), 0);
    CHECK_EQU(used, 2);
    CHECK_EQ(ergo_etf_decode(&t, trailing + 1, 2, ERGO_ETF_DECODE_NO_VERSION |
                             ERGO_ETF_DECODE_PREFIX, &used), 0);
    CHECK_EQU(used, 1);

    /* E_VALUE: bit binaries ERTS refuses, inf/NaN, bad FLOAT_EXT text,
     * reference word counts, fun Size, export arity */
    static const uint8_t bits0[] = {131, 77, 0, 0, 0, 1, 0, 255};
    static const uint8_t bits9[] = {131, 77, 0, 0, 0, 1, 9, 255};
    static const uint8_t bits_len0[] = {131, 77, 0, 0, 0, 0, 1};
    static const uint8_t inf[] = {131, 70, 127, 240, 0, 0, 0, 0, 0, 0};
    static const uint8_t nan[] = {131, 70, 255, 248, 0, 0, 0, 0, 0, 1};
    uint8_t flt[5][33] = {{131, 99, 'i', 'n', 'f'},
                          {131, 99, '1', '5'},
                          {131, 99, ' ', '1', '.', '5'},
                          {131, 99, '1', '.', '5', 'x'},
                          {131, 99, '1', '.', '0', 'e', '4', '0', '0'}};
    static const uint8_t ref6[] = {131, 90, 0, 6, 119, 1, 97, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
                                   0,   0,  0, 0, 0,   0, 0,  0, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t ref0[] = {131, 90, 0, 0, 119, 1, 97, 0, 0, 0, 1};
    static const uint8_t arity256[] = {131, 113, 119, 1, 97, 119, 1, 98, 98, 0, 0, 1, 0};
    FAILS(&t, bits0, ERGO_ETF_E_VALUE, 1);
    FAILS(&t, bits9, ERGO_ETF_E_VALUE, 1);
    FAILS(&t, bits_len0, ERGO_ETF_E_VALUE, 1);
    FAILS(&t, inf, ERGO_ETF_E_VALUE, 1);
    FAILS(&t, nan, ERGO_ETF_E_VALUE, 1);
    for (int i = 0; i < 5; i++)
        fails(&t, flt[i], 33, 0, ERGO_ETF_E_VALUE, 1, __LINE__);
    FAILS(&t, ref6, ERGO_ETF_E_VALUE, 1);
    FAILS(&t, ref0, ERGO_ETF_E_VALUE, 1);
    FAILS(&t, arity256, ERGO_ETF_E_VALUE, 8);
    /* a fun whose Size is one too small, or one too large */
    uint8_t fun[sizeof v_fun + 1];
    memcpy(fun, v_fun, sizeof v_fun);
    fun[sizeof v_fun] = 106;
    fun[5]--;
    fails(&t, fun, sizeof v_fun, 0, ERGO_ETF_E_VALUE, 1, __LINE__);
    fun[5] += 2;
    fails(&t, fun, sizeof fun, ERGO_ETF_DECODE_PREFIX, ERGO_ETF_E_VALUE, 1, __LINE__);
    fails(&t, fun, sizeof v_fun, 0, ERGO_ETF_E_TRUNCATED, 1, __LINE__);
    uint8_t fun0[sizeof v_fun0];
    memcpy(fun0, v_fun0, sizeof fun0);
    fun0[5]--;
    fails(&t, fun0, sizeof fun0, 0, ERGO_ETF_E_VALUE, 1, __LINE__);
    /* the nested fun's Size wrong: reported at the inner fun's tag */
    uint8_t nest[sizeof v_fun_nested];
    memcpy(nest, v_fun_nested, sizeof nest);
    CHECK_EQ(nest[76], 112);
    nest[80]--;
    fails(&t, nest, sizeof nest, 0, ERGO_ETF_E_VALUE, 76, __LINE__);
    ergo_etf_tape_free(&t);
}

static void test_limits(void)
{
    /* E_DEPTH: {{{{1}}}} is 4 levels */
    static const uint8_t d4[] = {131, 104, 1, 104, 1, 104, 1, 104, 1, 97, 1};
    ergo_etf_limits lim = {0};
    lim.max_depth = 4;
    ergo_etf_tape t;
    ergo_etf_tape_init(&t, &lim);
    CHECK_EQ(DECODE(&t, d4), 0);
    t.limits.max_depth = 3;
    FAILS(&t, d4, ERGO_ETF_E_DEPTH, 7);
    /* a fun's free variables count as one level */
    t.limits.max_depth = 1;
    FAILS(&t, v_fun_nested, ERGO_ETF_E_DEPTH, 76);
    t.limits.max_depth = 2;
    CHECK_EQ(DECODE(&t, v_fun_nested), 0);
    /* the default (1024) stops a million-deep list without using the C stack */
    t.limits.max_depth = 0;
    size_t n = 1000000;
    uint8_t *deep = malloc(1 + 5 * n + 1);
    deep[0] = 131;
    for (size_t i = 0; i < n; i++)
        memcpy(deep + 1 + 5 * i, "\x6c\0\0\0\x01", 5);
    deep[1 + 5 * n] = 106;
    fails(&t, deep, 1 + 5 * n + 1, 0, ERGO_ETF_E_DEPTH, 1 + 5 * 1024, __LINE__);
    free(deep);
    ergo_etf_tape_free(&t);

    /* E_LIMIT: nodes */
    memset(&lim, 0, sizeof lim);
    lim.max_nodes = 4;
    ergo_etf_tape_init(&t, &lim);
    CHECK_EQ(DECODE(&t, v_small), 0); /* exactly 4 */
    t.limits.max_nodes = 3;
    FAILS(&t, v_small, ERGO_ETF_E_LIMIT, 11); /* the binary */
    t.limits.max_nodes = 1;
    FAILS(&t, v_pid, ERGO_ETF_E_LIMIT, 1);
    ergo_etf_tape_free(&t);
    /* the node array grows geometrically and is kept */
    ergo_etf_tape_init(&t, NULL);
    uint8_t list[6 + 2 * 5000 + 1] = {131, 108, 0, 0, 5000 >> 8, 5000 & 255};
    for (int i = 0; i < 5000; i++)
        list[6 + 2 * i] = 97, list[7 + 2 * i] = (uint8_t)i;
    list[sizeof list - 1] = 106;
    CHECK_EQ(DECODE(&t, list), 0);
    CHECK_EQU(t.count, 5002);
    ergo_etf_node *kept = t.nodes;
    size_t cap = t.capacity;
    CHECK(cap >= 5002 && cap < 4 * 5002);
    CHECK_EQ(DECODE(&t, v_small), 0);
    CHECK_EQ(DECODE(&t, list), 0);
    CHECK(t.nodes == kept && t.capacity == cap);
    ergo_etf_tape_free(&t);

    /* E_ATOM_LENGTH: characters, not bytes */
    memset(&lim, 0, sizeof lim);
    lim.max_atom_chars = 3;
    ergo_etf_tape_init(&t, &lim);
    static const uint8_t abc[] = {131, 119, 3, 'a', 'b', 'c'};
    static const uint8_t abcd[] = {131, 119, 4, 'a', 'b', 'c', 'd'};
    static const uint8_t eee[] = {131, 119, 6, 0xC3, 0xA9, 0xC3, 0xA9, 0xC3, 0xA9};
    static const uint8_t eeee[] = {131, 119, 8, 0xC3, 0xA9, 0xC3, 0xA9, 0xC3, 0xA9, 0xC3, 0xA9};
    static const uint8_t latin4[] = {131, 100, 0, 4, 'a', 'b', 'c', 'd'};
    CHECK_EQ(DECODE(&t, abc), 0);
    CHECK_EQ(DECODE(&t, eee), 0);
    FAILS(&t, abcd, ERGO_ETF_E_ATOM_LENGTH, 1);
    FAILS(&t, eeee, ERGO_ETF_E_ATOM_LENGTH, 1);
    FAILS(&t, latin4, ERGO_ETF_E_ATOM_LENGTH, 1);
    ergo_etf_tape_free(&t);
    ergo_etf_tape_init(&t, NULL);
    uint8_t a256[4 + 256] = {131, 100, 1, 0};
    memset(a256 + 4, 'a', 256);
    FAILS(&t, a256, ERGO_ETF_E_ATOM_LENGTH, 1);
    a256[1] = 118;
    FAILS(&t, a256, ERGO_ETF_E_ATOM_LENGTH, 1);
    ergo_etf_tape_free(&t);

    /* E_ATOM_CACHE: refused by default, and past atom_cache_refs */
    static const uint8_t cref3[] = {131, 104, 2, 97, 1, 82, 3};
    ergo_etf_tape_init(&t, NULL);
    FAILS(&t, cref3, ERGO_ETF_E_ATOM_CACHE, 5);
    t.limits.atom_cache_refs = 3;
    FAILS(&t, cref3, ERGO_ETF_E_ATOM_CACHE, 5);
    t.limits.atom_cache_refs = 4;
    CHECK_EQ(DECODE(&t, cref3), 0);
    ergo_etf_tape_free(&t);
}

static void test_utf8(void)
{
    ergo_etf_tape t;
    ergo_etf_tape_init(&t, NULL);
    static const struct {
        const char *text;
        int ok;
    } cases[] = {
        {"\xc3\x28", 0},             /* bad continuation */
        {"\xc0\x80", 0},             /* overlong NUL */
        {"\xc1\xbf", 0},             /* overlong */
        {"\xe0\x80\x80", 0},         /* overlong 3 bytes */
        {"\xed\xa0\x80", 0},         /* surrogate U+D800 (ERTS refuses it) */
        {"\xed\xbf\xbf", 0},         /* surrogate U+DFFF */
        {"\xf0\x8f\xbf\xbf", 0},     /* overlong 4 bytes */
        {"\xf4\x90\x80\x80", 0},     /* U+110000 */
        {"\xf5\x80\x80\x80", 0},     /* lead byte past U+10FFFF */
        {"\xff", 0},
        {"\x80", 0},                 /* lone continuation */
        {"\xe2\x82", 0},             /* cut short */
        {"\xf0\x9f\x98", 0},
        {"\xed\x9f\xbf", 1},         /* U+D7FF */
        {"\xee\x80\x80", 1},         /* U+E000 */
        {"\xf4\x8f\xbf\xbf", 1},     /* U+10FFFF */
        {"\xc2\x80", 1},             /* U+0080 */
        {"\xe2\x82\xac", 1},         /* euro */
        {"\x7f", 1},
    };
    uint8_t v[3 + 32];
    v[0] = 131, v[1] = 119;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = strlen(cases[i].text);
        v[2] = (uint8_t)len;
        memcpy(v + 3, cases[i].text, len);
        int rc = ergo_etf_decode(&t, v, 3 + len, 0, NULL);
        if (cases[i].ok)
            CHECK_EQ(rc, 0);
        else
            fails(&t, v, 3 + len, 0, ERGO_ETF_E_UTF8, 1, __LINE__);
        /* ATOM_UTF8_EXT too */
        uint8_t w[4 + 32] = {131, 118, 0, (uint8_t)len};
        memcpy(w + 4, cases[i].text, len);
        CHECK_EQ(ergo_etf_decode(&t, w, 4 + len, 0, NULL), cases[i].ok ? 0 : ERGO_ETF_E_UTF8);
    }
    /* one non-ASCII byte at every position of atoms of 1..40 bytes: the
     * 8-bytes-at-a-time ASCII check must see it */
    for (size_t len = 1; len <= 40; len++) {
        for (size_t pos = 0; pos < len; pos++) {
            uint8_t a[3 + 40];
            a[0] = 131, a[1] = 119, a[2] = (uint8_t)len;
            memset(a + 3, 'x', len);
            a[3 + pos] = 0x80;
            int rc = ergo_etf_decode(&t, a, 3 + len, 0, NULL);
            if (rc != ERGO_ETF_E_UTF8) {
                fprintf(stderr, "len %zu pos %zu: %d\n", len, pos, rc);
                check_failures++;
            }
            a[3 + pos] = 0x7f;
            CHECK_EQ(ergo_etf_decode(&t, a, 3 + len, 0, NULL), 0);
        }
    }
    ergo_etf_tape_free(&t);
}

static void test_compressed_errors(void)
{
    ergo_etf_tape t;
    ergo_etf_tape_init(&t, NULL);
    uint8_t z[sizeof v_compressed];

    /* E_BOMB: the declared size is over the limit */
    ergo_etf_tape_free(&t);
    ergo_etf_limits lim = {0};
    lim.max_inflated = 100;
    ergo_etf_tape_init(&t, &lim);
    FAILS(&t, v_compressed, ERGO_ETF_E_BOMB, 1);
    CHECK(t.inflated == NULL); /* nothing allocated */
    t.limits.max_inflated = 306;
    CHECK_EQ(DECODE(&t, v_compressed), 0);
    ergo_etf_tape_free(&t);

    /* a 1 MiB binary of zeros deflates to about 1 KiB; with a 64 KiB limit
     * it is a bomb, with the default it decodes */
    size_t n = 1 << 20;
    uint8_t *big = calloc(1, 6 + n);
    big[0] = 131, big[1] = 109, big[2] = 0, big[3] = 16, big[4] = 0, big[5] = 0;
    ergo_etf_buf b;
    ergo_etf_buf_init(&b, 0);
    CHECK_EQ(ergo_etf_compress(&b, big, 6 + n, 9), 0);
    CHECK(b.len < 4096);
    lim.max_inflated = 65536;
    ergo_etf_tape_init(&t, &lim);
    fails(&t, b.data, b.len, 0, ERGO_ETF_E_BOMB, 1, __LINE__);
    t.limits.max_inflated = 0;
    CHECK_EQ(ergo_etf_decode(&t, b.data, b.len, 0, NULL), 0);
    NODE(&t, 0, ERGO_ETF_K_BINARY, 0, 0, (uint32_t)n);
    /* the same stream declaring less than it inflates to: never written
     * past the declared size, E_COMPRESSED */
    b.data[2] = 0, b.data[3] = 0, b.data[4] = 16, b.data[5] = 0;
    fails(&t, b.data, b.len, 0, ERGO_ETF_E_COMPRESSED, -1, __LINE__);
    /* declaring a size the input cannot produce (1032:1 at most) */
    b.data[2] = 0x7f, b.data[3] = 0xff;
    t.limits.max_inflated = UINT64_C(1) << 32;
    fails(&t, b.data, b.len, 0, ERGO_ETF_E_TRUNCATED, 1, __LINE__);
    ergo_etf_buf_free(&b);
    free(big);
    ergo_etf_tape_free(&t);

    ergo_etf_tape_init(&t, NULL);
    /* declared size one short and one long: E_COMPRESSED */
    memcpy(z, v_compressed, sizeof z);
    z[5]--;
    FAILS(&t, z, ERGO_ETF_E_COMPRESSED, -1);
    z[5] += 2;
    FAILS(&t, z, ERGO_ETF_E_COMPRESSED, -1);
    /* size 0 */
    memcpy(z, v_compressed, sizeof z);
    z[4] = 0, z[5] = 0;
    FAILS(&t, z, ERGO_ETF_E_COMPRESSED, 1);
    /* corrupt stream: bad header, bad data, bad checksum */
    memcpy(z, v_compressed, sizeof z);
    z[6] = 0x12;
    FAILS(&t, z, ERGO_ETF_E_COMPRESSED, -1);
    memcpy(z, v_compressed, sizeof z);
    z[sizeof z - 1] ^= 0x55;
    FAILS(&t, z, ERGO_ETF_E_COMPRESSED, -1);
    memcpy(z, v_compressed, sizeof z);
    z[10] ^= 0xff;
    {
        int rc = DECODE(&t, z);
        CHECK(rc == ERGO_ETF_E_COMPRESSED || rc == ERGO_ETF_E_TRUNCATED);
    }
    /* the inflated bytes hold more than one term: E_TRAILING */
    static const uint8_t two[] = {131, 106, 106};
    ergo_etf_buf c;
    ergo_etf_buf_init(&c, 0);
    CHECK_EQ(ergo_etf_compress(&c, two, sizeof two, 6), 0);
    fails(&t, c.data, c.len, 0, ERGO_ETF_E_TRAILING, 1, __LINE__);
    fails(&t, c.data, c.len, ERGO_ETF_DECODE_PREFIX, ERGO_ETF_E_TRAILING, 1, __LINE__);
    /* an error inside the inflated term: offsets refer to the inflated bytes */
    static const uint8_t bad[] = {131, 104, 2, 97, 1, 1};
    ergo_etf_buf_reset(&c);
    CHECK_EQ(ergo_etf_compress(&c, bad, sizeof bad, 6), 0);
    fails(&t, c.data, c.len, 0, ERGO_ETF_E_TAG, 4, __LINE__);
    ergo_etf_buf_free(&c);
    /* every truncation of an Erlang-made compressed term */
    for (size_t cut = 0; cut < sizeof v_compressed; cut++) {
        uint8_t *p = malloc(cut + 1);
        memcpy(p, v_compressed, cut);
        int rc = ergo_etf_decode(&t, p, cut, 0, NULL);
        if (rc != ERGO_ETF_E_TRUNCATED) {
            fprintf(stderr, "compressed cut %zu: %d\n", cut, rc);
            check_failures++;
        }
        free(p);
    }
    ergo_etf_tape_free(&t);
}

/* Every vector: every prefix is E_TRUNCATED, and each byte changed to every
 * value never crashes (ASan run). */
static void test_mutations(void)
{
    static const struct {
        const uint8_t *v;
        size_t len;
    } vs[] = {
        {v_small, sizeof v_small},     {v_pid, sizeof v_pid},
        {v_new_port, sizeof v_new_port}, {v_v4_port, sizeof v_v4_port},
        {v_ref3, sizeof v_ref3},       {v_fun, sizeof v_fun},
        {v_fun_nested, sizeof v_fun_nested}, {v_export, sizeof v_export},
        {v_big_neg_2_64, sizeof v_big_neg_2_64}, {v_float_old, sizeof v_float_old},
        {v_bits9, sizeof v_bits9},     {v_improper, sizeof v_improper},
        {v_map, sizeof v_map},         {v_list_mixed, sizeof v_list_mixed},
        {v_old_pid, sizeof v_old_pid}, {v_old_port, sizeof v_old_port},
        {v_old_ref, sizeof v_old_ref}, {v_new_ref, sizeof v_new_ref},
        {v_compressed, sizeof v_compressed}, {v_compressed_tuple, sizeof v_compressed_tuple},
    };
    ergo_etf_limits lim = {0};
    lim.atom_cache_refs = 255;
    ergo_etf_tape t;
    ergo_etf_tape_init(&t, &lim);
    for (size_t k = 0; k < sizeof vs / sizeof vs[0]; k++) {
        const uint8_t *v = vs[k].v;
        size_t len = vs[k].len;
        for (size_t cut = 0; cut < len; cut++) {
            uint8_t *p = malloc(cut + 1);
            memcpy(p, v, cut);
            int rc = ergo_etf_decode(&t, p, cut, 0, NULL);
            if (rc != ERGO_ETF_E_TRUNCATED) {
                fprintf(stderr, "vector %zu cut %zu: %d\n", k, cut, rc);
                check_failures++;
            }
            free(p);
        }
        uint8_t *m = malloc(len);
        for (size_t i = 0; i < len; i++) {
            for (int x = 0; x < 256; x++) {
                memcpy(m, v, len);
                m[i] = (uint8_t)x;
                int rc = ergo_etf_decode(&t, m, len, 0, NULL);
                CHECK(rc <= 0 && rc >= ERGO_ETF_E_ARG);
                if (rc == 0) {
                    /* whatever decodes re-encodes and decodes the same */
                    ergo_etf_buf b;
                    ergo_etf_buf_init(&b, 0);
                    ergo_etf_encode_version(&b);
                    CHECK_EQ(ergo_etf_encode_tape(&b, &t, 0, NULL), 0);
                    ergo_etf_tape u;
                    ergo_etf_tape_init(&u, &lim);
                    CHECK_EQ(ergo_etf_decode(&u, b.data, b.len, 0, NULL), 0);
                    CHECK_EQ(check_tape_diff(&t, &u), -1);
                    ergo_etf_tape_free(&u);
                    ergo_etf_buf_free(&b);
                }
            }
        }
        free(m);
    }
    ergo_etf_tape_free(&t);
}

int main(void)
{
    test_small();
    test_integers();
    test_floats();
    test_atoms();
    test_containers();
    test_binaries();
    test_identifiers();
    test_funs();
    test_compressed();
    test_errors();
    test_limits();
    test_utf8();
    test_compressed_errors();
    test_mutations();
    CHECK_EQ(strcmp(ergo_etf_strerror(ERGO_ETF_E_TRUNCATED), "truncated input"), 0);
    CHECK_DONE();
}
