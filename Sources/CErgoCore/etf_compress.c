/*
 * etf_compress.c — COMPRESSED terms (tag 80): zlib deflate for
 * ergo_etf_compress, and the bounded inflate the decoder uses.
 */
#include <limits.h>
#include <stdlib.h>

#include "ergo_features.h"
#include "etf_internal.h"

#if ERGO_HAVE_ZLIB
#include <zlib.h>

/* zlib counts in uInt; feed larger buffers in chunks. */
#define ZCHUNK ((size_t)UINT_MAX)

/* Hands zlib the next chunk of input and of output space once it has used up
 * the last; *in_left and *out_left count what it has not been handed yet. */
static void refill(z_stream *zs, size_t *in_left, size_t *out_left)
{
    if (zs->avail_in == 0 && *in_left > 0) {
        zs->avail_in = (uInt)(*in_left < ZCHUNK ? *in_left : ZCHUNK);
        *in_left -= zs->avail_in;
    }
    if (zs->avail_out == 0 && *out_left > 0) {
        zs->avail_out = (uInt)(*out_left < ZCHUNK ? *out_left : ZCHUNK);
        *out_left -= zs->avail_out;
    }
}

int ergo_etf_inflate_exact(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                           size_t *consumed)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit(&zs) != Z_OK)
        return ERGO_ETF_E_NOMEM;
    size_t in_left = in_len, out_left = out_len;
    int rc = 0;
    zs.next_in = (Bytef *)(uintptr_t)in; /* zlib does not write through next_in */
    zs.next_out = out;
    for (;;) {
        refill(&zs, &in_left, &out_left);
        int z = inflate(&zs, Z_NO_FLUSH);
        if (z == Z_STREAM_END) {
            if (zs.avail_out != 0 || out_left != 0)
                rc = ERGO_ETF_E_COMPRESSED; /* shorter than declared */
            break;
        }
        if (z == Z_OK)
            continue;
        if (z == Z_BUF_ERROR) {
            /* no progress possible: out of input, or more output than declared */
            if (zs.avail_in == 0 && in_left == 0)
                rc = ERGO_ETF_E_TRUNCATED;
            else
                rc = ERGO_ETF_E_COMPRESSED;
            break;
        }
        rc = z == Z_MEM_ERROR ? ERGO_ETF_E_NOMEM : ERGO_ETF_E_COMPRESSED;
        break;
    }
    if (rc == 0)
        *consumed = (size_t)((const uint8_t *)zs.next_in - in);
    inflateEnd(&zs);
    return rc;
}

/* Deflate src[0..len) at `level` into dst (capacity cap); *out_len receives
 * the compressed size. */
static int deflate_all(const uint8_t *src, size_t len, uint8_t *dst, size_t cap, int level,
                       size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit(&zs, level) != Z_OK)
        return ERGO_ETF_E_NOMEM;
    size_t in_left = len, out_left = cap;
    int rc = 0;
    zs.next_in = (Bytef *)(uintptr_t)src;
    zs.next_out = dst;
    for (;;) {
        refill(&zs, &in_left, &out_left);
        int z = deflate(&zs, in_left == 0 ? Z_FINISH : Z_NO_FLUSH);
        if (z == Z_STREAM_END)
            break;
        if (z == Z_OK)
            continue;
        rc = z == Z_MEM_ERROR ? ERGO_ETF_E_NOMEM : ERGO_ETF_E_LIMIT;
        break;
    }
    if (rc == 0)
        *out_len = (size_t)(zs.next_out - dst);
    deflateEnd(&zs);
    return rc;
}

int ergo_etf_compress(ergo_etf_buf *out, const uint8_t *term, size_t len, int level)
{
    if (out->error)
        return out->error;
    if (len < 2 || term[0] != ERGO_ETF_VERSION || len - 1 > UINT32_MAX || level < -1 || level > 9)
        return ergo_etf_buf_fail(out, ERGO_ETF_E_ARG);
    const uint8_t *src = term + 1;
    size_t slen = len - 1;
    /* deflateBound for one call; a generous margin for chunked input. */
    size_t bound = slen + slen / 1000 + (slen >> 12) + (slen >> 14) + (slen >> 25) + 64;
    if (bound < slen)
        return ergo_etf_buf_fail(out, ERGO_ETF_E_LIMIT);
    size_t zlen = 0;
    int rc;
    if (out->sizing) {
        uint8_t *tmp = malloc(bound);
        if (!tmp)
            return ergo_etf_buf_fail(out, ERGO_ETF_E_NOMEM);
        rc = deflate_all(src, slen, tmp, bound, level, &zlen);
        free(tmp);
        if (rc)
            return ergo_etf_buf_fail(out, rc);
        ergo_etf_buf_reserve(out, 6 + zlen);
        return out->error;
    }
    size_t start = out->len;
    uint8_t *w = ergo_etf_buf_reserve(out, 6 + bound);
    if (!w)
        return out->error;
    w[0] = ERGO_ETF_VERSION;
    w[1] = ERGO_ETF_TAG_COMPRESSED;
    ergo_put32(w + 2, (uint32_t)slen);
    rc = deflate_all(src, slen, w + 6, bound, level, &zlen);
    if (rc) {
        out->len = start;
        return ergo_etf_buf_fail(out, rc);
    }
    out->len = start + 6 + zlen;
    return 0;
}

#else /* !ERGO_HAVE_ZLIB */

int ergo_etf_inflate_exact(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                           size_t *consumed)
{
    (void)in, (void)in_len, (void)out, (void)out_len, (void)consumed;
    return ERGO_ETF_E_UNSUPPORTED;
}

int ergo_etf_compress(ergo_etf_buf *out, const uint8_t *term, size_t len, int level)
{
    (void)term, (void)len, (void)level;
    return ergo_etf_buf_fail(out, ERGO_ETF_E_UNSUPPORTED);
}

#endif
