/*
 * fuzz_etf_encode — the fuzz input drives the encoder calls (a term built
 * from valid arguments, nested a few levels). The same calls go to a real
 * buffer (some binaries by reference) and a size-only one: the sizes agree,
 * the bytes decode, re-encoding the tape gives the same bytes, and the
 * compressed form decodes to the same tape.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ergo_etf.h"

#define FAIL(what)                                                             \
    do {                                                                       \
        fprintf(stderr, "fuzz_etf_encode: %s (line %d)\n", what, __LINE__);    \
        abort();                                                               \
    } while (0)

typedef struct reader {
    const uint8_t *p;
    size_t n;
} reader;

static uint8_t byte(reader *r)
{
    if (r->n == 0)
        return 0;
    r->n--;
    return *r->p++;
}

static uint64_t word(reader *r, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | byte(r);
    return v;
}

/* Up to `max` raw bytes from the input (fewer when it runs out). */
static const uint8_t *take(reader *r, size_t want, size_t *got)
{
    *got = want < r->n ? want : r->n;
    const uint8_t *p = r->p;
    r->p += *got;
    r->n -= *got;
    return p;
}

/* Valid UTF-8 atom text (<= 255 characters) from input bytes. */
static size_t atom_text(reader *r, char *out)
{
    static const char *const pieces[] = {"a", "b", "z", "_", "@", "0", ".", "\xc3\xa9",
                                         "\xe2\x82\xac", "\xf0\x9f\x98\x80", "node", "$gen_call"};
    size_t n = byte(r) % 24, len = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = pieces[byte(r) % (sizeof pieces / sizeof pieces[0])];
        size_t l = strlen(s);
        memcpy(out + len, s, l);
        len += l;
    }
    return len;
}

static int gen(ergo_etf_buf *b, reader *r, int depth)
{
    char text[1100];
    size_t len, n;
    const uint8_t *raw;
    uint8_t op = byte(r) % (depth >= 6 ? 12 : 21);
    switch (op) {
    case 0: return ergo_etf_encode_int(b, (int64_t)word(r, 1 + byte(r) % 8));
    case 1: return ergo_etf_encode_uint(b, word(r, 8));
    case 2: {
        int neg = byte(r) & 1;
        raw = take(r, byte(r) % 40, &n);
        return ergo_etf_encode_big(b, neg, raw, n);
    }
    case 3: {
        uint64_t bits = word(r, 8);
        double v;
        memcpy(&v, &bits, 8);
        if (!isfinite(v))
            v = (double)(int64_t)bits;
        return ergo_etf_encode_double(b, v);
    }
    case 4: len = atom_text(r, text); return ergo_etf_encode_atom(b, text, len);
    case 5:
        raw = take(r, byte(r), &n);
        return ergo_etf_encode_atom_latin1(b, (const char *)raw, n);
    case 6: return ergo_etf_encode_atom_cache_ref(b, byte(r));
    case 7: return ergo_etf_encode_nil(b);
    case 8: raw = take(r, byte(r) * 2u, &n); return ergo_etf_encode_string(b, raw, n);
    case 9: raw = take(r, byte(r), &n); return ergo_etf_encode_binary(b, raw, n);
    case 10: raw = take(r, byte(r), &n); return ergo_etf_encode_binary_ref(b, raw, n);
    case 11: {
        raw = take(r, 1 + byte(r) % 16, &n);
        unsigned bits = 1 + byte(r) % 8;
        if (n == 0)
            return ergo_etf_encode_nil(b);
        return ergo_etf_encode_bits(b, raw, n, bits);
    }
    case 12: {
        uint32_t arity = byte(r) % 5;
        if (byte(r) == 255)
            arity = 256 + byte(r) % 4; /* LARGE_TUPLE */
        int rc = ergo_etf_encode_tuple_header(b, arity);
        for (uint32_t i = 0; i < arity && rc == 0; i++)
            rc = gen(b, r, depth + 1);
        return rc;
    }
    case 13: {
        uint32_t count = 1 + byte(r) % 4;
        int rc = ergo_etf_encode_list_header(b, count);
        for (uint32_t i = 0; i <= count && rc == 0; i++) /* elements, then the tail */
            rc = gen(b, r, depth + 1);
        return rc;
    }
    case 14: {
        uint32_t pairs = byte(r) % 4;
        int rc = ergo_etf_encode_map_header(b, pairs);
        for (uint32_t i = 0; i < 2 * pairs && rc == 0; i++)
            rc = gen(b, r, depth + 1);
        return rc;
    }
    case 15: {
        len = atom_text(r, text);
        uint32_t id = (uint32_t)word(r, 4);
        uint32_t serial = (uint32_t)word(r, 4);
        uint32_t creation = (uint32_t)word(r, 4);
        return ergo_etf_encode_pid(b, text, len, id, serial, creation);
    }
    case 16: {
        len = atom_text(r, text);
        uint64_t id = word(r, 8);
        id >>= byte(r) % 64;
        uint32_t creation = (uint32_t)word(r, 4);
        return ergo_etf_encode_port(b, text, len, id, creation);
    }
    case 17: {
        uint32_t ids[5];
        size_t nids = 1 + byte(r) % 5;
        for (size_t i = 0; i < nids; i++)
            ids[i] = (uint32_t)word(r, 4);
        len = atom_text(r, text);
        uint32_t creation = (uint32_t)word(r, 4);
        return ergo_etf_encode_ref(b, text, len, creation, ids, nids);
    }
    case 18: {
        char f[1100];
        len = atom_text(r, text);
        size_t flen = atom_text(r, f);
        uint8_t arity = byte(r);
        return ergo_etf_encode_export(b, text, len, f, flen, arity);
    }
    case 19: {
        uint8_t uniq[16];
        for (int i = 0; i < 16; i++)
            uniq[i] = byte(r);
        uint32_t nfree = byte(r) % 3;
        len = atom_text(r, text);
        size_t mark = 0;
        uint8_t arity = byte(r);
        uint32_t index = (uint32_t)word(r, 4);
        int32_t old_index = (int32_t)word(r, 4);
        int32_t old_uniq = (int32_t)word(r, 4);
        uint8_t pid_id = byte(r), creation = byte(r);
        int rc = ergo_etf_encode_fun_begin(b, arity, uniq, index, nfree, text, len, old_index,
                                           old_uniq, &mark);
        if (rc == 0)
            rc = ergo_etf_encode_pid(b, "n@h", 3, pid_id, 0, creation);
        for (uint32_t i = 0; i < nfree && rc == 0; i++)
            rc = gen(b, r, depth + 1);
        if (rc == 0)
            rc = ergo_etf_encode_fun_end(b, mark);
        return rc;
    }
    default: {
        /* a long binary, most likely by reference */
        size_t want = 256 + byte(r) * 4u;
        raw = take(r, want, &n);
        return ergo_etf_encode_binary_ref(b, raw, n);
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ergo_etf_buf b, s;
    ergo_etf_buf_init(&b, 0);
    ergo_etf_buf_init_sizing(&s);
    b.ref_threshold = 64;
    reader r1 = {data, size}, r2 = {data, size};
    if (ergo_etf_encode_version(&b) || gen(&b, &r1, 0))
        FAIL("encoding valid arguments failed");
    if (ergo_etf_encode_version(&s) || gen(&s, &r2, 0))
        FAIL("size-only encoding failed");
    size_t len = ergo_etf_buf_size(&b);
    if (ergo_etf_buf_size(&s) != len)
        FAIL("size-only size differs");
    uint8_t *flat = malloc(len);
    if (!flat)
        abort();
    ergo_etf_buf_flatten(&b, flat);

    ergo_etf_limits lim = {0};
    lim.atom_cache_refs = 256;
    ergo_etf_tape t, u;
    ergo_etf_tape_init(&t, &lim);
    ergo_etf_tape_init(&u, &lim);
    int rc = ergo_etf_decode(&t, flat, len, 0, NULL);
    if (rc != 0) {
        fprintf(stderr, "decode: %s at %zu\n", ergo_etf_strerror(rc), t.error_offset);
        FAIL("encoder output does not decode");
    }
    ergo_etf_buf e;
    ergo_etf_buf_init(&e, 0);
    e.ref_threshold = SIZE_MAX;
    ergo_etf_encode_version(&e);
    if (ergo_etf_encode_tape(&e, &t, 0, NULL) != 0)
        FAIL("encode_tape");
    if (e.len != len || memcmp(e.data, flat, len) != 0)
        FAIL("encode_tape differs from the encoder calls");

    if (len < 65536) {
        ergo_etf_buf z;
        ergo_etf_buf_init(&z, 0);
        if (ergo_etf_compress(&z, flat, len, (int)(size % 11) - 1) != 0)
            FAIL("compress");
        if (ergo_etf_decode(&u, z.data, z.len, 0, NULL) != 0 || check_tape_diff(&t, &u) != -1)
            FAIL("compressed term decodes differently");
        ergo_etf_buf_free(&z);
    }
    ergo_etf_buf_free(&e);
    ergo_etf_tape_free(&t);
    ergo_etf_tape_free(&u);
    free(flat);
    ergo_etf_buf_free(&b);
    ergo_etf_buf_free(&s);
    (void)check_failed;
    return 0;
}
