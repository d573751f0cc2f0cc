/*
 * etf_internal.h — helpers shared by the ETF codec's sources. Private to the
 * core (not installed, not part of the module map).
 */
#ifndef ERGO_ETF_INTERNAL_H
#define ERGO_ETF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ergo_etf.h"

#if defined(__GNUC__) || defined(__clang__)
#  define ERGO_LIKELY(x) __builtin_expect(!!(x), 1)
#  define ERGO_UNLIKELY(x) __builtin_expect(!!(x), 0)
#  define ERGO_INLINE static inline __attribute__((always_inline))
#  define ERGO_NOINLINE __attribute__((noinline))
#else
#  define ERGO_LIKELY(x) (x)
#  define ERGO_UNLIKELY(x) (x)
#  define ERGO_INLINE static inline
#  define ERGO_NOINLINE
#endif

/* ---- Big-endian loads and stores (memcpy: any alignment) ---------------- */

ERGO_INLINE uint16_t ergo_be16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

ERGO_INLINE uint32_t ergo_be32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
#if defined(__GNUC__) || defined(__clang__)
#  if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap32(v);
#  endif
    return v;
#else
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
#endif
}

ERGO_INLINE uint64_t ergo_be64(const uint8_t *p)
{
    return (uint64_t)ergo_be32(p) << 32 | ergo_be32(p + 4);
}

ERGO_INLINE void ergo_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

ERGO_INLINE void ergo_put32(uint8_t *p, uint32_t v)
{
#if (defined(__GNUC__) || defined(__clang__)) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap32(v);
    memcpy(p, &v, 4);
#else
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
#endif
}

ERGO_INLINE void ergo_put64(uint8_t *p, uint64_t v)
{
    ergo_put32(p, (uint32_t)(v >> 32));
    ergo_put32(p + 4, (uint32_t)v);
}

/* ERTS writes a port as NEW_PORT_EXT while its id fits 28 bits
 * (ERTS_MAX_V3_PORT_NUMBER), as V4_PORT_EXT above. */
#define ERGO_ETF_MAX_V3_PORT UINT64_C(0x0FFFFFFF)

/* ---- UTF-8 (etf_utf8.c) -------------------------------------------------- */

/* True when s[0..n) is all ASCII; reads only inside the range, 8 bytes at a
 * time (short tails with overlapping loads). */
ERGO_INLINE int ergo_utf8_is_ascii(const uint8_t *s, size_t n)
{
    uint64_t acc = 0, w;
    while (n >= 8) {
        memcpy(&w, s, 8);
        acc |= w;
        s += 8;
        n -= 8;
    }
    if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        acc |= a | b;
    } else if (n > 0) {
        acc |= (uint64_t)(s[0] | s[n >> 1] | s[n - 1]);
    }
    return (acc & UINT64_C(0x8080808080808080)) == 0;
}

/* Number of characters in s[0..n) when it is well-formed UTF-8 (no
 * overlongs, no surrogates, nothing above U+10FFFF), else -1. */
long ergo_utf8_count(const uint8_t *s, size_t n);

/* ---- zlib (etf_compress.c) ----------------------------------------------- */

/* Inflate the zlib stream in[0..in_len) into out[0..out_len), which must be
 * exactly filled by the whole stream. *consumed receives the input bytes the
 * stream used. Returns 0, ERGO_ETF_E_TRUNCATED (input ends inside the
 * stream), ERGO_ETF_E_COMPRESSED (corrupt, or a size other than out_len),
 * ERGO_ETF_E_NOMEM or ERGO_ETF_E_UNSUPPORTED (built without zlib). */
int ergo_etf_inflate_exact(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                           size_t *consumed);

/* ---- Encoder internals shared with etf_compress.c (etf_encode.c) -------- */

/* Make room for k more bytes; returns where to write them, or NULL when the
 * buffer has failed (b->error set) or only counts sizes (b->sizing: the k
 * bytes are counted). Callers keep k below 2^40 (no overflow of len + k).
 * A size-only buffer has cap 0, so it always takes the slow path. */
uint8_t *ergo_etf_buf_reserve_slow(ergo_etf_buf *b, size_t k);

ERGO_INLINE uint8_t *ergo_etf_buf_reserve(ergo_etf_buf *b, size_t k)
{
    if (ERGO_LIKELY(b->len + k <= b->cap && b->error == 0)) {
        uint8_t *w = b->data + b->len;
        b->len += k;
        return w;
    }
    return ergo_etf_buf_reserve_slow(b, k);
}

/* Record a failure (sticky) and return it. */
int ergo_etf_buf_fail(ergo_etf_buf *b, int code);
/* Bytes lent by reference after own position `mark`. */
size_t ergo_etf_ref_bytes_after(const ergo_etf_buf *b, size_t mark);

#endif
