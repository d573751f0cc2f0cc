/*
 * fuzz_etf_decode — arbitrary bytes into the ETF decoder, with small limits,
 * as a whole term (with and without the version byte, and in prefix mode).
 * Whatever decodes must re-encode (ergo_etf_encode_tape), in the size the
 * size-only mode predicts, and decode again to the same tape; re-encoding
 * that tape gives the same bytes again. Every subtree re-encodes on its own.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ergo_etf.h"

#define FAIL(what)                                                             \
    do {                                                                       \
        fprintf(stderr, "fuzz_etf_decode: %s (line %d)\n", what, __LINE__);    \
        abort();                                                               \
    } while (0)

static const ergo_etf_limits LIMITS = {
    .max_depth = 64,
    .max_atom_chars = 0, /* default: 255 */
    .max_nodes = 1 << 16,
    .max_inflated = 1 << 20,
    .atom_cache_refs = 32,
};

/* Encode tape node `index` (with a version byte) into a flat buffer. */
static uint8_t *encode(const ergo_etf_tape *t, size_t index, size_t *len, size_t *next,
                       size_t threshold)
{
    ergo_etf_buf b, s;
    ergo_etf_buf_init(&b, 0);
    ergo_etf_buf_init_sizing(&s);
    b.ref_threshold = threshold;
    if (ergo_etf_encode_version(&b) != 0 || ergo_etf_encode_version(&s) != 0)
        FAIL("version");
    int rc = ergo_etf_encode_tape(&b, t, index, next);
    if (rc != 0) {
        fprintf(stderr, "encode_tape: %s\n", ergo_etf_strerror(rc));
        FAIL("a decoded tape does not re-encode");
    }
    size_t n2 = 0;
    if (ergo_etf_encode_tape(&s, t, index, &n2) != 0 || n2 != *next)
        FAIL("size-only encode_tape");
    *len = ergo_etf_buf_size(&b);
    if (ergo_etf_buf_size(&s) != *len)
        FAIL("size-only size differs");
    uint8_t *out = malloc(*len);
    if (!out)
        abort();
    ergo_etf_buf_flatten(&b, out);
    /* the slices describe the same bytes */
    ergo_etf_slice sl[64];
    size_t ns = ergo_etf_buf_slices(&b, sl, 64), off = 0;
    if (ns <= 64) {
        for (size_t i = 0; i < ns; i++) {
            if (off + sl[i].len > *len || memcmp(out + off, sl[i].base, sl[i].len) != 0)
                FAIL("slices");
            off += sl[i].len;
        }
        if (off != *len)
            FAIL("slices length");
    }
    ergo_etf_buf_free(&b);
    ergo_etf_buf_free(&s);
    return out;
}

static void check_decoded(const ergo_etf_tape *t, size_t threshold)
{
    if (t->count == 0 || ergo_etf_tape_skip(t, 0) != t->count)
        FAIL("tape_skip of the root");

    size_t len = 0, next = 0;
    uint8_t *bytes = encode(t, 0, &len, &next, threshold);
    if (next != t->count)
        FAIL("encode_tape next");

    ergo_etf_tape u;
    ergo_etf_tape_init(&u, &LIMITS);
    u.limits.max_depth = 0; /* re-encoding never adds depth, but COMPRESSED */
    u.limits.max_nodes = 0; /* inputs may have inflated past the small limits */
    u.limits.max_inflated = 0;
    int rc = ergo_etf_decode(&u, bytes, len, 0, NULL);
    if (rc != 0) {
        fprintf(stderr, "re-decode: %s at %zu\n", ergo_etf_strerror(rc), u.error_offset);
        FAIL("re-encoded bytes do not decode");
    }
    long d = check_tape_diff(t, &u);
    if (d >= 0) {
        fprintf(stderr, "tapes differ at node %ld\n", d);
        FAIL("round trip changed the tape");
    }
    size_t len2 = 0, next2 = 0;
    uint8_t *again = encode(&u, 0, &len2, &next2, threshold);
    if (len2 != len || memcmp(again, bytes, len) != 0)
        FAIL("re-encoding is not stable");
    free(again);
    free(bytes);

    /* every node starts a subtree that encodes on its own */
    for (size_t i = 1; i < t->count && i < 256; i++) {
        size_t sl = 0, sn = 0;
        uint8_t *sub = encode(t, i, &sl, &sn, threshold);
        if (sn != ergo_etf_tape_skip(t, i))
            FAIL("subtree next");
        if (ergo_etf_decode(&u, sub, sl, 0, NULL) != 0 || u.count != sn - i)
            FAIL("subtree does not decode");
        free(sub);
    }
    ergo_etf_tape_free(&u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ergo_etf_tape t;
    ergo_etf_tape_init(&t, &LIMITS);
    static const unsigned modes[] = {0, ERGO_ETF_DECODE_NO_VERSION, ERGO_ETF_DECODE_PREFIX,
                                     ERGO_ETF_DECODE_NO_VERSION | ERGO_ETF_DECODE_PREFIX};
    for (size_t m = 0; m < 4; m++) {
        size_t used = SIZE_MAX;
        int rc = ergo_etf_decode(&t, data, size, modes[m], &used);
        if (rc > 0 || rc < ERGO_ETF_E_ARG)
            FAIL("unknown result code");
        if (rc != 0) {
            if (t.count != 0 || used != SIZE_MAX)
                FAIL("a failed decode left nodes or set used");
            if (t.data == data && t.error_offset > size)
                FAIL("error_offset past the input");
            if (t.data != data && t.error_offset > t.data_len)
                FAIL("error_offset past the inflated term");
            continue;
        }
        if (used > size || (!(modes[m] & ERGO_ETF_DECODE_PREFIX) && used != size))
            FAIL("used");
        check_decoded(&t, (size & 1) ? 4 : SIZE_MAX);
    }
    ergo_etf_tape_free(&t);
    (void)check_failed;
    return 0;
}
