/*
 * test_etf_encode.c — the encoder: every call, the forms Erlang/OTP 25
 * writes (expected bytes from term_to_binary(T, [{minor_version, 2}])),
 * size-only mode, the size limit and sticky errors, binaries by reference,
 * funs, re-encoding tapes, compression.
 */
#include <math.h>

#include "check.h"

/* The buffer holds exactly `want` (own bytes; no references). */
static void holds(const ergo_etf_buf *b, const uint8_t *want, size_t len, int line)
{
    if (b->error || b->len != len || b->nrefs != 0 || memcmp(b->data, want, len) != 0) {
        fprintf(stderr, "line %d: buffer (error %d) holds %zu bytes:", line, b->error, b->len);
        for (size_t i = 0; i < b->len && i < 48; i++)
            fprintf(stderr, " %u", b->data[i]);
        fprintf(stderr, "; want %zu\n", len);
        check_failures++;
    }
}
#define HOLDS(b, ...)                                                          \
    do {                                                                       \
        static const uint8_t want_[] = {__VA_ARGS__};                          \
        holds((b), want_, sizeof want_, __LINE__);                             \
    } while (0)

/* One call on a fresh buffer and on a size-only buffer: same size. */
#define ONE(call, ...)                                                         \
    do {                                                                       \
        ergo_etf_buf b_, s_;                                                   \
        ergo_etf_buf_init(&b_, 0);                                             \
        ergo_etf_buf_init_sizing(&s_);                                         \
        {                                                                      \
            ergo_etf_buf *b = &b_;                                             \
            CHECK_EQ(call, 0);                                                 \
            b = &s_;                                                           \
            CHECK_EQ(call, 0);                                                 \
        }                                                                      \
        HOLDS(&b_, __VA_ARGS__);                                               \
        CHECK_EQU(ergo_etf_buf_size(&s_), b_.len);                             \
        ergo_etf_buf_free(&b_);                                                \
        ergo_etf_buf_free(&s_);                                                \
    } while (0)

static void test_integers(void)
{
    ONE(ergo_etf_encode_int(b, 0), 97, 0);
    ONE(ergo_etf_encode_int(b, 255), 97, 255);
    ONE(ergo_etf_encode_int(b, 256), 98, 0, 0, 1, 0);
    ONE(ergo_etf_encode_int(b, -1), 98, 255, 255, 255, 255);
    ONE(ergo_etf_encode_int(b, INT32_MAX), 98, 127, 255, 255, 255);
    ONE(ergo_etf_encode_int(b, INT32_MIN), 98, 128, 0, 0, 0);
    ONE(ergo_etf_encode_int(b, INT64_C(2147483648)), 110, 4, 0, 0, 0, 0, 128);
    ONE(ergo_etf_encode_int(b, INT64_C(-2147483649)), 110, 4, 1, 1, 0, 0, 128);
    ONE(ergo_etf_encode_int(b, INT64_MAX), 110, 8, 0, 255, 255, 255, 255, 255, 255, 255, 127);
    ONE(ergo_etf_encode_int(b, INT64_MIN), 110, 8, 1, 0, 0, 0, 0, 0, 0, 0, 128);
    ONE(ergo_etf_encode_uint(b, 0), 97, 0);
    ONE(ergo_etf_encode_uint(b, 256), 98, 0, 0, 1, 0);
    ONE(ergo_etf_encode_uint(b, UINT64_C(2147483648)), 110, 4, 0, 0, 0, 0, 128);
    ONE(ergo_etf_encode_uint(b, UINT64_MAX), 110, 8, 0, 255, 255, 255, 255, 255, 255, 255, 255);
    ONE(ergo_etf_encode_uint(b, (uint64_t)INT64_MAX + 1), 110, 8, 0, 0, 0, 0, 0, 0, 0, 0, 128);

    /* bignums from digits: trailing zero digits dropped, int64 values in
     * their smallest form */
    static const uint8_t d2_64[] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0};
    static const uint8_t d5[] = {5, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t dmax[] = {255, 255, 255, 255, 255, 255, 255, 255};
    static const uint8_t d2_63[] = {0, 0, 0, 0, 0, 0, 0, 128};
    ONE(ergo_etf_encode_big(b, 0, d2_64, sizeof d2_64), 110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
    ONE(ergo_etf_encode_big(b, 1, d2_64, sizeof d2_64), 110, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1);
    ONE(ergo_etf_encode_big(b, 0, d5, sizeof d5), 97, 5);
    ONE(ergo_etf_encode_big(b, 1, d5, sizeof d5), 98, 255, 255, 255, 251);
    ONE(ergo_etf_encode_big(b, 1, d5, 0), 97, 0);
    ONE(ergo_etf_encode_big(b, 0, dmax, 8), 110, 8, 0, 255, 255, 255, 255, 255, 255, 255, 255);
    ONE(ergo_etf_encode_big(b, 1, dmax, 8), 110, 8, 1, 255, 255, 255, 255, 255, 255, 255, 255);
    ONE(ergo_etf_encode_big(b, 1, d2_63, 8), 110, 8, 1, 0, 0, 0, 0, 0, 0, 0, 128);
    ONE(ergo_etf_encode_big(b, 0, d2_63, 8), 110, 8, 0, 0, 0, 0, 0, 0, 0, 0, 128);

    /* 256 and 300 digits: SMALL_BIG up to 255 digits, then LARGE_BIG */
    uint8_t digits[300];
    memset(digits, 0x11, sizeof digits);
    ergo_etf_buf b;
    ergo_etf_buf_init(&b, 0);
    CHECK_EQ(ergo_etf_encode_big(&b, 0, digits, 255), 0);
    CHECK_EQU(b.len, 3 + 255);
    CHECK(b.data[0] == 110 && b.data[1] == 255 && b.data[2] == 0);
    ergo_etf_buf_reset(&b);
    CHECK_EQ(ergo_etf_encode_big(&b, 1, digits, 300), 0);
    CHECK_EQU(b.len, 6 + 300);
    CHECK(b.data[0] == 111 && b.data[3] == 1 && b.data[4] == 44 && b.data[5] == 1);
    CHECK_MEM(b.data + 6, digits, 300);
    /* and they decode back */
    ergo_etf_tape t;
    ergo_etf_tape_init(&t, NULL);
    CHECK_EQ(ergo_etf_decode(&t, b.data, b.len, ERGO_ETF_DECODE_NO_VERSION, NULL), 0);
    CHECK(t.nodes[0].kind == ERGO_ETF_K_BIG && t.nodes[0].size == 300 &&
          t.nodes[0].flags == ERGO_ETF_F_NEGATIVE);
    ergo_etf_tape_free(&t);
    ergo_etf_buf_free(&b);

    /* every int64 boundary decodes back to itself */
    static const int64_t vals[] = {0, 1, 255, 256, -1, -255, -256, INT32_MAX, INT32_MIN,
                                   (int64_t)INT32_MAX + 1, (int64_t)INT32_MIN - 1,
                                   INT64_C(1) << 40, -(INT64_C(1) << 40), INT64_MAX, INT64_MIN,
                                   INT64_MAX - 1, INT64_MIN + 1};
    ergo_etf_tape_init(&t, NULL);
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        ergo_etf_buf_init(&b, 0);
        ergo_etf_encode_version(&b);
        CHECK_EQ(ergo_etf_encode_int(&b, vals[i]), 0);
        CHECK_EQ(ergo_etf_decode(&t, b.data, b.len, 0, NULL), 0);
        CHECK(t.nodes[0].kind == ERGO_ETF_K_INT && t.nodes[0].v.i == vals[i]);
        ergo_etf_buf_free(&b);
    }
    ergo_etf_buf_init(&b, 0);
    ergo_etf_encode_version(&b);
    CHECK_EQ(ergo_etf_encode_uint(&b, UINT64_MAX), 0);
    CHECK_EQ(ergo_etf_decode(&t, b.data, b.len, 0, NULL), 0);
    CHECK(t.nodes[0].kind == ERGO_ETF_K_BIG && t.nodes[0].size == 8);
    ergo_etf_buf_free(&b);
    ergo_etf_tape_free(&t);
}

static void test_simple_terms(void)
{
    ONE(ergo_etf_encode_version(b), 131);
    ONE(ergo_etf_encode_double(b, 3.14), 70, 64, 9, 30, 184, 81, 235, 133, 31);
    ONE(ergo_etf_encode_double(b, -0.0), 70, 128, 0, 0, 0, 0, 0, 0, 0);
    ONE(ergo_etf_encode_atom(b, "ping", 4), 119, 4, 'p', 'i', 'n', 'g');
    ONE(ergo_etf_encode_atom(b, "", 0), 119, 0);
    ONE(ergo_etf_encode_atom(b, NULL, 0), 119, 0); /* empty text may come as NULL */
    ONE(ergo_etf_encode_atom_latin1(b, NULL, 0), 100, 0, 0);
    ONE(ergo_etf_encode_atom(b, "h\xc3\xa9llo", 6), 119, 6, 104, 195, 169, 108, 108, 111);
    ONE(ergo_etf_encode_atom_latin1(b, "h\xe9", 2), 100, 0, 2, 104, 233);
    ONE(ergo_etf_encode_atom_cache_ref(b, 7), 82, 7);
    ONE(ergo_etf_encode_tuple_header(b, 0), 104, 0);
    ONE(ergo_etf_encode_tuple_header(b, 255), 104, 255);
    ONE(ergo_etf_encode_tuple_header(b, 256), 105, 0, 0, 1, 0);
    ONE(ergo_etf_encode_list_header(b, 2), 108, 0, 0, 0, 2);
    ONE(ergo_etf_encode_nil(b), 106);
    ONE(ergo_etf_encode_string(b, (const uint8_t *)"abc", 3), 107, 0, 3, 'a', 'b', 'c');
    ONE(ergo_etf_encode_string(b, (const uint8_t *)"", 0), 106); /* "" is [] */
    ONE(ergo_etf_encode_binary(b, "hi", 2), 109, 0, 0, 0, 2, 'h', 'i');
    ONE(ergo_etf_encode_binary(b, NULL, 0), 109, 0, 0, 0, 0);
    ONE(ergo_etf_encode_bits(b, "\xff", 1, 3), 77, 0, 0, 0, 1, 3, 224); /* <<7:3>> */
    ONE(ergo_etf_encode_bits(b, "\xff\x81", 2, 1), 77, 0, 0, 0, 2, 1, 255, 128);
    ONE(ergo_etf_encode_bits(b, "\x01\x02", 2, 8), 109, 0, 0, 0, 2, 1, 2); /* whole bytes */
    ONE(ergo_etf_encode_map_header(b, 2), 116, 0, 0, 0, 2);
    ONE(ergo_etf_encode_raw(b, "\x83\x44", 2), 131, 68);
    {
        ergo_etf_buf e;
        ergo_etf_buf_init(&e, 0);
        CHECK_EQ(ergo_etf_encode_raw(&e, NULL, 0), 0);
        CHECK_EQU(ergo_etf_buf_size(&e), 0);
        CHECK_EQU(ergo_etf_buf_slices(&e, NULL, 0), 0);
        ergo_etf_buf_flatten(&e, NULL);
        ergo_etf_buf_free(&e);
    }
    ONE(ergo_etf_encode_pid(b, "a@host.io", 9, 42, 7, 0x5F3C0001), 88, 119, 9, 97, 64, 104, 111,
        115, 116, 46, 105, 111, 0, 0, 0, 42, 0, 0, 0, 7, 95, 60, 0, 1);
    ONE(ergo_etf_encode_port(b, "a@host.io", 9, 5, 3), 89, 119, 9, 97, 64, 104, 111, 115, 116, 46,
        105, 111, 0, 0, 0, 5, 0, 0, 0, 3);
    ONE(ergo_etf_encode_port(b, "a@host.io", 9, UINT64_C(0x100000002), 3), 120, 119, 9, 97, 64,
        104, 111, 115, 116, 46, 105, 111, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3);
    /* ERTS writes NEW_PORT_EXT up to 28-bit ids, V4_PORT_EXT above
     * (term_to_binary of the port of 'a' with id 16#0FFFFFFF and 16#388CB8B8) */
    ONE(ergo_etf_encode_port(b, "a", 1, 0x0FFFFFFF, 3), 89, 119, 1, 97, 15, 255, 255, 255, 0, 0, 0,
        3);
    ONE(ergo_etf_encode_port(b, "a", 1, 0x388CB8B8, 3), 120, 119, 1, 97, 0, 0, 0, 0, 56, 140, 184,
        184, 0, 0, 0, 3);
    static const uint32_t ids[] = {1, 2, 3, 4, 5};
    ONE(ergo_etf_encode_ref(b, "a@host.io", 9, 3, ids, 3), 90, 0, 3, 119, 9, 97, 64, 104, 111, 115,
        116, 46, 105, 111, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3);
    ONE(ergo_etf_encode_ref(b, "a", 1, 3, ids, 5), 90, 0, 5, 119, 1, 97, 0, 0, 0, 3, 0, 0, 0, 1, 0,
        0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5);
    /* fun erlang:self/0 */
    ONE(ergo_etf_encode_export(b, "erlang", 6, "self", 4, 0), 113, 119, 6, 101, 114, 108, 97, 110,
        103, 119, 4, 115, 101, 108, 102, 97, 0);

    /* a 300-byte atom of 2-byte characters: ATOM_UTF8_EXT */
    char a300[300];
    for (int i = 0; i < 150; i++)
        a300[2 * i] = (char)0xC3, a300[2 * i + 1] = (char)0xA9;
    ergo_etf_buf b;
    ergo_etf_buf_init(&b, 0);
    CHECK_EQ(ergo_etf_encode_atom(&b, a300, 300), 0);
    CHECK(b.len == 303 && b.data[0] == 118 && b.data[1] == 1 && b.data[2] == 44);
    ergo_etf_buf_free(&b);
}

/* E_ARG for every bad argument; errors are sticky until reset. */
static void test_bad_arguments(void)
{
    char a256[256];
    memset(a256, 'a', sizeof a256);
    char e256[512];
    for (int i = 0; i < 256; i++)
        e256[2 * i] = (char)0xC3, e256[2 * i + 1] = (char)0xA9;
    static const uint32_t ids[6] = {1, 2, 3, 4, 5, 6};
    uint8_t uniq[16] = {0};
    size_t mark;
    static uint8_t big[70000];

#define BAD(call)                                                              \
    do {                                                                       \
        ergo_etf_buf b_;                                                       \
        ergo_etf_buf_init(&b_, 0);                                             \
        ergo_etf_buf *b = &b_;                                                 \
        ergo_etf_encode_nil(b);                                                \
        CHECK_EQ(call, ERGO_ETF_E_ARG);                                        \
        CHECK_EQ(b_.error, ERGO_ETF_E_ARG);                                    \
        CHECK_EQU(b_.len, 1);                                                  \
        CHECK_EQ(ergo_etf_encode_nil(b), ERGO_ETF_E_ARG);                      \
        CHECK_EQU(b_.len, 1);                                                  \
        ergo_etf_buf_reset(b);                                                 \
        CHECK_EQ(ergo_etf_encode_nil(b), 0);                                   \
        ergo_etf_buf_free(b);                                                  \
    } while (0)

    BAD(ergo_etf_encode_atom(b, a256, 256));
    BAD(ergo_etf_encode_atom(b, e256, 512));
    BAD(ergo_etf_encode_atom(b, "\xc3\x28", 2));
    BAD(ergo_etf_encode_atom(b, "\xed\xa0\x80", 3));
    BAD(ergo_etf_encode_atom_latin1(b, a256, 256));
    BAD(ergo_etf_encode_list_header(b, 0));
    BAD(ergo_etf_encode_string(b, big, 65536));
    BAD(ergo_etf_encode_bits(b, "x", 1, 0));
    BAD(ergo_etf_encode_bits(b, "x", 1, 9));
    BAD(ergo_etf_encode_bits(b, "x", 0, 3));
    BAD(ergo_etf_encode_double(b, INFINITY));
    BAD(ergo_etf_encode_double(b, NAN));
    BAD(ergo_etf_encode_ref(b, "a", 1, 1, ids, 0));
    BAD(ergo_etf_encode_ref(b, "a", 1, 1, ids, 6));
    BAD(ergo_etf_encode_pid(b, "\xff", 1, 1, 2, 3));
    BAD(ergo_etf_encode_port(b, a256, 256, 1, 3));
    BAD(ergo_etf_encode_export(b, "m", 1, "\x80", 1, 0));
    BAD(ergo_etf_encode_fun_begin(b, 0, uniq, 0, 0, "m", 1, INT64_C(1) << 31, 0, &mark));
    BAD(ergo_etf_encode_fun_begin(b, 0, uniq, 0, 0, "m", 1, 0, INT64_MIN, &mark));
    BAD(ergo_etf_encode_fun_end(b, 0)); /* not a fun there */
    BAD(ergo_etf_compress(b, (const uint8_t *)"\x83", 1, 6));
    BAD(ergo_etf_compress(b, (const uint8_t *)"\x82\x6a", 2, 6));
    BAD(ergo_etf_compress(b, (const uint8_t *)"\x83\x6a", 2, 10));
#undef BAD
}

static void test_limit(void)
{
    ergo_etf_buf b;
    ergo_etf_buf_init(&b, 10);
    CHECK_EQU(b.max_bytes, 10);
    CHECK_EQ(ergo_etf_encode_binary(&b, "12345", 5), 0); /* 10 bytes: exactly the limit */
    CHECK_EQU(b.len, 10);
    CHECK(b.cap <= 10);
    CHECK_EQ(ergo_etf_encode_nil(&b), ERGO_ETF_E_LIMIT);
    CHECK_EQ(b.error, ERGO_ETF_E_LIMIT);
    CHECK_EQU(b.len, 10); /* unchanged */
    /* sticky: every later call fails the same way and writes nothing */
    CHECK_EQ(ergo_etf_encode_int(&b, 1), ERGO_ETF_E_LIMIT);
    CHECK_EQ(ergo_etf_encode_atom(&b, "\xff", 1), ERGO_ETF_E_LIMIT);
    CHECK_EQ(ergo_etf_encode_raw(&b, "", 0), ERGO_ETF_E_LIMIT);
    CHECK_EQ(ergo_etf_encode_binary_ref(&b, "x", 1), ERGO_ETF_E_LIMIT);
    size_t mark = 0;
    uint8_t uniq[16] = {0};
    CHECK_EQ(ergo_etf_encode_fun_begin(&b, 0, uniq, 0, 0, "m", 1, 0, 0, &mark), ERGO_ETF_E_LIMIT);
    CHECK_EQ(ergo_etf_encode_fun_end(&b, 0), ERGO_ETF_E_LIMIT);
    CHECK_EQ(ergo_etf_compress(&b, (const uint8_t *)"\x83\x6a", 2, 6), ERGO_ETF_E_LIMIT);
    CHECK_EQU(b.len, 10);
    CHECK(memcmp(b.data, "\x6d\0\0\0\x05" "12345", 10) == 0);
    /* reset clears the error and keeps the limit */
    ergo_etf_buf_reset(&b);
    CHECK_EQ(b.error, 0);
    CHECK_EQ(ergo_etf_encode_nil(&b), 0);
    CHECK_EQ(ergo_etf_encode_raw(&b, "123456789", 9), 0);
    CHECK_EQ(ergo_etf_encode_nil(&b), ERGO_ETF_E_LIMIT);
    ergo_etf_buf_free(&b);

    /* a tape re-encoded past the limit */
    ergo_etf_tape t;
    ergo_etf_tape_init(&t, NULL);
    static const uint8_t v[] = {131, 104, 3, 119, 4, 112, 105, 110, 103, 97, 1, 109, 0, 0, 0, 5,
                                104, 101, 108, 108, 111};
    CHECK_EQ(ergo_etf_decode(&t, v, sizeof v, 0, NULL), 0);
    ergo_etf_buf_init(&b, 12);
    CHECK_EQ(ergo_etf_encode_tape(&b, &t, 0, NULL), ERGO_ETF_E_LIMIT);
    CHECK_EQU(b.len, 10); /* tuple, atom, int; not the binary */
    CHECK_EQ(ergo_etf_encode_tape(&b, &t, 0, NULL), ERGO_ETF_E_LIMIT);
    ergo_etf_buf_free(&b);
    ergo_etf_tape_free(&t);

    /* the default limit is 1 GiB */
    ergo_etf_buf_init(&b, 0);
    CHECK_EQU(b.max_bytes, (size_t)1 << 30);
    CHECK_EQ(ergo_etf_encode_raw(&b, "", ((size_t)1 << 30) + 1), ERGO_ETF_E_LIMIT);
    ergo_etf_buf_free(&b);
}

static void test_growth(void)
{
    /* many small calls: geometric growth, the same bytes as one big call */
    ergo_etf_buf b, s;
    ergo_etf_buf_init(&b, 0);
    ergo_etf_buf_init_sizing(&s);
    ergo_etf_encode_version(&b);
    ergo_etf_encode_version(&s);
    ergo_etf_encode_list_header(&b, 100000);
    ergo_etf_encode_list_header(&s, 100000);
    size_t reallocs = 0;
    uint8_t *last = b.data;
    for (int i = 0; i < 100000; i++) {
        CHECK_EQ(ergo_etf_encode_int(&b, i), 0);
        ergo_etf_encode_int(&s, i);
        if (b.data != last)
            reallocs++, last = b.data;
    }
    ergo_etf_encode_nil(&b);
    ergo_etf_encode_nil(&s);
    CHECK(reallocs < 40);
    CHECK_EQU(ergo_etf_buf_size(&s), b.len);
    CHECK(s.data == NULL && s.cap == 0);
    ergo_etf_tape t;
    ergo_etf_tape_init(&t, NULL);
    CHECK_EQ(ergo_etf_decode(&t, b.data, b.len, 0, NULL), 0);
    CHECK_EQU(t.count, 100002);
    CHECK_EQ(t.nodes[100000].v.i, 99999);
    ergo_etf_tape_free(&t);
    /* reset keeps the memory */
    uint8_t *mem = b.data;
    ergo_etf_buf_reset(&b);
    ergo_etf_encode_nil(&b);
    CHECK(b.data == mem && b.len == 1);
    ergo_etf_buf_free(&b);
    CHECK(b.data == NULL && b.len == 0);
    ergo_etf_buf_free(&s);
}

static void test_binary_ref(void)
{
    static uint8_t payload[3][100];
    for (int k = 0; k < 3; k++)
        memset(payload[k], 'A' + k, sizeof payload[k]);
    ergo_etf_buf b;
    ergo_etf_buf_init(&b, 0);
    b.ref_threshold = 100;
    ergo_etf_encode_version(&b);
    ergo_etf_encode_list_header(&b, 4);
    CHECK_EQ(ergo_etf_encode_binary_ref(&b, payload[0], 100), 0);
    CHECK_EQ(ergo_etf_encode_binary_ref(&b, payload[1], 99), 0); /* below: copied */
    CHECK_EQ(ergo_etf_encode_binary_ref(&b, payload[1], 100), 0);
    CHECK_EQ(ergo_etf_encode_binary_ref(&b, payload[2], 100), 0);
    ergo_etf_encode_nil(&b);
    CHECK_EQU(b.nrefs, 3);
    CHECK_EQU(b.ref_bytes, 300);
    CHECK_EQU(b.len, 1 + 5 + 5 + (5 + 99) + 5 + 5 + 1);
    CHECK_EQU(ergo_etf_buf_size(&b), b.len + 300);
    CHECK(b.refs[0].bytes == payload[0] && b.refs[0].len == 100 && b.refs[0].at == 11);
    CHECK(b.refs[2].at == b.len - 1);

    /* the same term, all copied */
    ergo_etf_buf c;
    ergo_etf_buf_init(&c, 0);
    ergo_etf_encode_version(&c);
    ergo_etf_encode_list_header(&c, 4);
    ergo_etf_encode_binary(&c, payload[0], 100);
    ergo_etf_encode_binary(&c, payload[1], 99);
    ergo_etf_encode_binary(&c, payload[1], 100);
    ergo_etf_encode_binary(&c, payload[2], 100);
    ergo_etf_encode_nil(&c);
    CHECK_EQU(c.len, ergo_etf_buf_size(&b));

    uint8_t *flat = malloc(ergo_etf_buf_size(&b));
    ergo_etf_buf_flatten(&b, flat);
    CHECK_MEM(flat, c.data, c.len);

    /* slices: own, ref, own, ref, own, ref, own */
    ergo_etf_slice sl[16];
    size_t n = ergo_etf_buf_slices(&b, sl, 16);
    CHECK_EQU(n, 7);
    CHECK_EQU(ergo_etf_buf_slices(&b, sl, 2), 7); /* asks for more room */
    CHECK(sl[0].base == b.data);
    size_t off = 0;
    ergo_etf_buf_slices(&b, sl, 16);
    for (size_t i = 0; i < n; i++) {
        CHECK_MEM(sl[i].base, c.data + off, sl[i].len);
        off += sl[i].len;
    }
    CHECK_EQU(off, c.len);
    CHECK(sl[1].base == payload[0] && sl[1].len == 100);

    /* size-only mode counts referenced binaries as bytes */
    ergo_etf_buf s;
    ergo_etf_buf_init_sizing(&s);
    s.ref_threshold = 100;
    ergo_etf_encode_binary_ref(&s, payload[0], 100);
    CHECK_EQU(ergo_etf_buf_size(&s), 105);
    CHECK_EQU(s.nrefs, 0);
    CHECK_EQU(ergo_etf_buf_slices(&s, sl, 16), 0);
    ergo_etf_buf_free(&s);

    /* the limit counts referenced bytes */
    ergo_etf_buf l;
    ergo_etf_buf_init(&l, 210);
    l.ref_threshold = 100;
    CHECK_EQ(ergo_etf_encode_binary_ref(&l, payload[0], 100), 0);
    CHECK_EQ(ergo_etf_encode_binary_ref(&l, payload[1], 100), 0);
    CHECK_EQU(ergo_etf_buf_size(&l), 210);
    CHECK_EQ(ergo_etf_encode_nil(&l), ERGO_ETF_E_LIMIT);
    CHECK_EQU(ergo_etf_buf_size(&l), 210);
    ergo_etf_buf_reset(&l);
    CHECK_EQ(ergo_etf_encode_binary(&l, payload[0], 100), 0);
    CHECK_EQ(ergo_etf_encode_binary_ref(&l, payload[1], 100), 0);
    CHECK_EQ(ergo_etf_encode_binary_ref(&l, payload[2], 100), ERGO_ETF_E_LIMIT);
    CHECK_EQU(l.nrefs, 1);
    CHECK_EQU(ergo_etf_buf_size(&l), 210);
    ergo_etf_buf_free(&l);

    /* the default threshold is 64 KiB */
    ergo_etf_buf d;
    ergo_etf_buf_init(&d, 0);
    static uint8_t big[65536];
    ergo_etf_encode_binary_ref(&d, big, 65535);
    CHECK_EQU(d.nrefs, 0);
    ergo_etf_encode_binary_ref(&d, big, 65536);
    CHECK_EQU(d.nrefs, 1);
    ergo_etf_buf_free(&d);

    free(flat);
    ergo_etf_buf_free(&c);
    ergo_etf_buf_free(&b);
}

/* ergo_vec:mk(300, <<"hi">>), made on nonode@nohost, where
 * mk(X, Y) -> fun(A) -> A + X + byte_size(Y) end
 * (term_to_binary(F, [{minor_version,2}])) */
static const uint8_t v_fun[] = {
    131, 112, 0,   0,   0,   86,  1,   216, 98,  214, 52,  223, 187, 114, 32,  33,  176, 107,
    178, 240, 56,  22,  146, 0,   0,   0,   0,   0,   0,   0,   2,   119, 8,   101, 114, 103,
    111, 95,  118, 101, 99,  97,  0,   98,  6,   195, 22,  177, 88,  119, 13,  110, 111, 110,
    111, 100, 101, 64,  110, 111, 104, 111, 115, 116, 0,   0,   0,   9,   0,   0,   0,   0,
    0,   0,   0,   0,   98,  0,   0,   1,   44,  109, 0,   0,   0,   2,   104, 105};

static void test_funs(void)
{
    const uint8_t *uniq = v_fun + 7;
    ergo_etf_buf b;
    ergo_etf_buf_init(&b, 0);
    ergo_etf_encode_version(&b);
    size_t mark = 99;
    CHECK_EQ(ergo_etf_encode_fun_begin(&b, 1, uniq, 0, 2, "ergo_vec", 8, 0, 0x06C316B1, &mark), 0);
    CHECK_EQU(mark, 1);
    ergo_etf_encode_pid(&b, "nonode@nohost", 13, 9, 0, 0);
    ergo_etf_encode_int(&b, 300);
    ergo_etf_encode_binary(&b, "hi", 2);
    CHECK_EQ(ergo_etf_encode_fun_end(&b, mark), 0);
    holds(&b, v_fun, sizeof v_fun, __LINE__);

    /* size-only: the same size; end is a no-op */
    ergo_etf_buf s;
    ergo_etf_buf_init_sizing(&s);
    ergo_etf_encode_version(&s);
    CHECK_EQ(ergo_etf_encode_fun_begin(&s, 1, uniq, 0, 2, "ergo_vec", 8, 0, 0x06C316B1, &mark), 0);
    ergo_etf_encode_pid(&s, "nonode@nohost", 13, 9, 0, 0);
    ergo_etf_encode_int(&s, 300);
    ergo_etf_encode_binary(&s, "hi", 2);
    CHECK_EQ(ergo_etf_encode_fun_end(&s, mark), 0);
    CHECK_EQU(ergo_etf_buf_size(&s), sizeof v_fun);
    ergo_etf_buf_free(&s);
    ergo_etf_buf_free(&b);

    /* a free variable lent by reference counts in Size */
    static uint8_t blob[1000];
    memset(blob, 7, sizeof blob);
    ergo_etf_buf r, c;
    ergo_etf_buf_init(&r, 0);
    ergo_etf_buf_init(&c, 0);
    r.ref_threshold = 500;
    ergo_etf_buf *both[2] = {&r, &c};
    for (int k = 0; k < 2; k++) {
        ergo_etf_buf *x = both[k];
        ergo_etf_encode_version(x);
        ergo_etf_encode_tuple_header(x, 2);
        ergo_etf_encode_binary_ref(x, blob, 600); /* outside the fun */
        CHECK_EQ(ergo_etf_encode_fun_begin(x, 0, uniq, 1, 2, "m", 1, 1, 2, &mark), 0);
        ergo_etf_encode_pid(x, "n@h", 3, 1, 0, 1);
        ergo_etf_encode_binary_ref(x, blob, 1000);
        ergo_etf_encode_binary_ref(x, blob, 10);
        CHECK_EQ(ergo_etf_encode_fun_end(x, mark), 0);
    }
    CHECK_EQU(r.nrefs, 2);
    CHECK_EQU(ergo_etf_buf_size(&r), c.len);
    uint8_t *flat = malloc(c.len);
    ergo_etf_buf_flatten(&r, flat);
    CHECK_MEM(flat, c.data, c.len);
    ergo_etf_tape t;
    ergo_etf_tape_init(&t, NULL);
    CHECK_EQ(ergo_etf_decode(&t, flat, c.len, 0, NULL), 0);
    CHECK_EQ(t.nodes[2].kind, ERGO_ETF_K_FUN);
    free(flat);
    ergo_etf_buf_free(&r);
    ergo_etf_buf_free(&c);

    /* funs nested 40 deep through the encoder, then re-encoded from a tape
     * (more nested funs than encode_tape keeps on its own stack) */
    ergo_etf_buf_init(&b, 0);
    ergo_etf_encode_version(&b);
    size_t marks[40];
    for (int i = 0; i < 40; i++) {
        CHECK_EQ(ergo_etf_encode_fun_begin(&b, 0, uniq, (uint32_t)i, 1, "m", 1, i, 5, &marks[i]), 0);
        ergo_etf_encode_pid(&b, "n@h", 3, 1, 0, 1);
    }
    ergo_etf_encode_atom(&b, "leaf", 4);
    for (int i = 39; i >= 0; i--)
        CHECK_EQ(ergo_etf_encode_fun_end(&b, marks[i]), 0);
    CHECK_EQ(ergo_etf_decode(&t, b.data, b.len, 0, NULL), 0);
    CHECK_EQU(t.count, 40 * 6 + 1);
    ergo_etf_buf e;
    ergo_etf_buf_init(&e, 0);
    ergo_etf_encode_version(&e);
    CHECK_EQ(ergo_etf_encode_tape(&e, &t, 0, NULL), 0);
    holds(&e, b.data, b.len, __LINE__);
    /* a subtree: the 20th fun alone */
    ergo_etf_buf_reset(&e);
    size_t next = 0;
    CHECK_EQ(ergo_etf_encode_tape(&e, &t, 20 * 6, &next), 0);
    CHECK_EQU(next, t.count);
    CHECK_EQU(e.len, b.len - marks[20]);
    CHECK_MEM(e.data, b.data + marks[20], e.len);
    ergo_etf_buf_free(&e);
    ergo_etf_tape_free(&t);
    ergo_etf_buf_free(&b);
}

static void test_tape_errors(void)
{
    /* a tape whose children run past its count, or an unknown kind */
    ergo_etf_node nodes[2] = {{ERGO_ETF_K_TUPLE, 0, 0, 2, {0}}, {ERGO_ETF_K_NIL, 0, 0, 0, {0}}};
    ergo_etf_tape t;
    ergo_etf_tape_init(&t, NULL);
    t.nodes = nodes;
    t.count = 2;
    ergo_etf_buf b;
    ergo_etf_buf_init(&b, 0);
    CHECK_EQ(ergo_etf_encode_tape(&b, &t, 0, NULL), ERGO_ETF_E_ARG);
    ergo_etf_buf_reset(&b);
    nodes[0].kind = 99;
    CHECK_EQ(ergo_etf_encode_tape(&b, &t, 0, NULL), ERGO_ETF_E_ARG);
    ergo_etf_buf_reset(&b);
    CHECK_EQ(ergo_etf_encode_tape(&b, &t, 2, NULL), ERGO_ETF_E_ARG); /* past the end */
    ergo_etf_buf_reset(&b);
    size_t next = 0;
    CHECK_EQ(ergo_etf_encode_tape(&b, &t, 1, &next), 0);
    CHECK_EQU(next, 2);
    ergo_etf_buf_free(&b);
}

static void test_compress(void)
{
    /* {lists:duplicate(40, <<"abc">>), 1.5, "text"} */
    ergo_etf_buf b;
    ergo_etf_buf_init(&b, 0);
    ergo_etf_encode_version(&b);
    ergo_etf_encode_tuple_header(&b, 3);
    ergo_etf_encode_list_header(&b, 40);
    for (int i = 0; i < 40; i++)
        ergo_etf_encode_binary(&b, "abc", 3);
    ergo_etf_encode_nil(&b);
    ergo_etf_encode_double(&b, 1.5);
    ergo_etf_encode_string(&b, (const uint8_t *)"text", 4);
    CHECK_EQ(b.error, 0);

    ergo_etf_tape plain, back;
    ergo_etf_tape_init(&plain, NULL);
    ergo_etf_tape_init(&back, NULL);
    CHECK_EQ(ergo_etf_decode(&plain, b.data, b.len, 0, NULL), 0);
    for (int level = -1; level <= 9; level++) {
        ergo_etf_buf z, s;
        ergo_etf_buf_init(&z, 0);
        ergo_etf_buf_init_sizing(&s);
        ergo_etf_encode_raw(&z, "\x70", 1); /* appends after what is there */
        CHECK_EQ(ergo_etf_compress(&z, b.data, b.len, level), 0);
        CHECK_EQ(ergo_etf_compress(&s, b.data, b.len, level), 0);
        CHECK_EQU(ergo_etf_buf_size(&s), z.len - 1);
        CHECK(z.data[1] == 131 && z.data[2] == 80);
        CHECK(z.data[3] == 0 && z.data[4] == 0 && z.data[5] == 1 && z.data[6] == b.len - 1 - 256);
        CHECK_EQ(ergo_etf_decode(&back, z.data + 1, z.len - 1, 0, NULL), 0);
        CHECK_EQ(check_tape_diff(&plain, &back), -1);
        if (level >= 1)
            CHECK(z.len < b.len);
        ergo_etf_buf_free(&z);
        ergo_etf_buf_free(&s);
    }
    /* ERTS at level 9 wrote these bytes for the same term */
    static const uint8_t erl9[] = {131, 80,  0,   0,   1,   88,  120, 218, 203, 96,  206, 97,
                                   96,  96,  208, 200, 5,   18,  204, 137, 73,  201, 163, 52,
                                   121, 116, 150, 155, 253, 15,  6,   48,  200, 102, 96,  41,
                                   73,  173, 40,  1,   0,   65,  71,  68,  139};
    CHECK_EQ(ergo_etf_decode(&back, erl9, sizeof erl9, 0, NULL), 0);
    CHECK_EQ(check_tape_diff(&plain, &back), -1);
    ergo_etf_buf z;
    ergo_etf_buf_init(&z, 0);
    CHECK_EQ(ergo_etf_compress(&z, b.data, b.len, 9), 0);
    if (z.len != sizeof erl9 || memcmp(z.data, erl9, z.len) != 0)
        fprintf(stderr, "note: this zlib deflates differently from ERTS's (fine)\n");
    /* the compressed size counts against the limit */
    ergo_etf_buf small;
    ergo_etf_buf_init(&small, 8);
    CHECK_EQ(ergo_etf_compress(&small, b.data, b.len, 6), ERGO_ETF_E_LIMIT);
    CHECK_EQU(small.len, 0);
    ergo_etf_buf_free(&small);
    ergo_etf_buf_free(&z);
    ergo_etf_tape_free(&plain);
    ergo_etf_tape_free(&back);
    ergo_etf_buf_free(&b);
}

int main(void)
{
    test_integers();
    test_simple_terms();
    test_bad_arguments();
    test_limit();
    test_growth();
    test_binary_ref();
    test_funs();
    test_tape_errors();
    test_compress();
    CHECK_DONE();
}
