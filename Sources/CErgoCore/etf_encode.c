/*
 * etf_encode.c — the ETF encoder: a cursor over a growable buffer.
 *
 * Every call computes the bytes it needs, makes one capacity check (the slow
 * path grows the buffer geometrically up to max_bytes, or only counts in
 * size-only mode) and writes. Forms are chosen as Erlang/OTP writes them
 * with term_to_binary(T, [{minor_version, 2}]), so a decoded term encodes
 * back to the same bytes.
 *
 * Limit bookkeeping: b->cap is the usable capacity, never more than
 * max_bytes - ref_bytes (it shrinks when a binary is added by reference), so
 * the one check `len + k <= cap` also enforces the size limit.
 */
#include <math.h>
#include <stdlib.h>

#include "etf_internal.h"

#define DEFAULT_MAX_BYTES ((size_t)1 << 30)
#define DEFAULT_REF_THRESHOLD ((size_t)64 << 10)
#define MIN_CAP ((size_t)256)
#define MAX_ATOM_CHARS 255u

/* ---- Buffer lifetime ------------------------------------------------------ */

void ergo_etf_buf_init(ergo_etf_buf *b, size_t max_bytes)
{
    memset(b, 0, sizeof *b);
    b->max_bytes = max_bytes ? max_bytes : DEFAULT_MAX_BYTES;
}

void ergo_etf_buf_init_sizing(ergo_etf_buf *b)
{
    memset(b, 0, sizeof *b);
    b->max_bytes = SIZE_MAX;
    b->sizing = 1;
}

void ergo_etf_buf_reset(ergo_etf_buf *b)
{
    b->len = 0;
    b->nrefs = 0;
    b->ref_bytes = 0;
    b->error = 0;
}

void ergo_etf_buf_free(ergo_etf_buf *b)
{
    free(b->data);
    free(b->refs);
    size_t max = b->max_bytes, thr = b->ref_threshold;
    int sizing = b->sizing;
    memset(b, 0, sizeof *b);
    b->max_bytes = max;
    b->ref_threshold = thr;
    b->sizing = sizing;
}

size_t ergo_etf_buf_size(const ergo_etf_buf *b)
{
    return b->len + b->ref_bytes;
}

int ergo_etf_buf_fail(ergo_etf_buf *b, int code)
{
    if (b->error == 0)
        b->error = code;
    return b->error;
}

uint8_t *ergo_etf_buf_reserve_slow(ergo_etf_buf *b, size_t k)
{
    if (b->error)
        return NULL;
    size_t max = b->max_bytes ? b->max_bytes : DEFAULT_MAX_BYTES;
    if (k > max || b->len + b->ref_bytes > max - k) {
        ergo_etf_buf_fail(b, ERGO_ETF_E_LIMIT);
        return NULL;
    }
    if (b->sizing) {
        b->len += k;
        return NULL;
    }
    size_t need = b->len + k;
    size_t ncap = b->cap < MIN_CAP ? MIN_CAP : b->cap;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? SIZE_MAX : ncap * 2;
    size_t lim = max - b->ref_bytes;
    if (ncap > lim)
        ncap = lim; /* still >= need, by the check above */
    uint8_t *d = realloc(b->data, ncap);
    if (!d) {
        ergo_etf_buf_fail(b, ERGO_ETF_E_NOMEM);
        return NULL;
    }
    b->data = d;
    b->cap = ncap;
    uint8_t *w = d + b->len;
    b->len = need;
    return w;
}

#define RESERVE(w, b, k)                                                        \
    uint8_t *w = ergo_etf_buf_reserve((b), (k));                                \
    if (ERGO_UNLIKELY(!w))                                                      \
        return (b)->error

/* ---- Slices of the encoding ------------------------------------------------- */

size_t ergo_etf_buf_slices(const ergo_etf_buf *b, ergo_etf_slice *out, size_t max)
{
    size_t count = 0, pos = 0;
    if (b->sizing)
        return 0;
    for (size_t i = 0; i < b->nrefs; i++) {
        const ergo_etf_ref *r = &b->refs[i];
        if (r->at > pos) {
            if (count < max)
                out[count] = (ergo_etf_slice){b->data + pos, r->at - pos};
            count++;
        }
        if (r->len) {
            if (count < max)
                out[count] = (ergo_etf_slice){r->bytes, r->len};
            count++;
        }
        pos = r->at;
    }
    if (b->len > pos) {
        if (count < max)
            out[count] = (ergo_etf_slice){b->data + pos, b->len - pos};
        count++;
    }
    return count;
}

void ergo_etf_buf_flatten(const ergo_etf_buf *b, uint8_t *out)
{
    size_t pos = 0;
    if (b->sizing)
        return;
    for (size_t i = 0; i < b->nrefs; i++) {
        const ergo_etf_ref *r = &b->refs[i];
        if (r->at > pos) {
            memcpy(out, b->data + pos, r->at - pos);
            out += r->at - pos;
        }
        if (r->len) {
            memcpy(out, r->bytes, r->len);
            out += r->len;
        }
        pos = r->at;
    }
    if (b->len > pos)
        memcpy(out, b->data + pos, b->len - pos);
}

/* ---- Writers shared by the API and encode_tape ------------------------------ */

ERGO_INLINE size_t uint_bytes(uint64_t v)
{
    size_t n = 0;
    while (v) {
        n++;
        v >>= 8;
    }
    return n;
}

/* SMALL_BIG_EXT with 1..8 little-endian digits. */
ERGO_INLINE uint8_t *put_small_big(uint8_t *w, int negative, uint64_t mag, size_t n)
{
    w[0] = ERGO_ETF_TAG_SMALL_BIG;
    w[1] = (uint8_t)n;
    w[2] = negative ? 1 : 0;
    for (size_t i = 0; i < n; i++) {
        w[3 + i] = (uint8_t)mag;
        mag >>= 8;
    }
    return w + 3 + n;
}

static ERGO_NOINLINE int enc_big64(ergo_etf_buf *b, int negative, uint64_t mag)
{
    size_t n = uint_bytes(mag);
    RESERVE(w, b, 3 + n);
    put_small_big(w, negative, mag, n);
    return 0;
}

ERGO_INLINE int enc_int(ergo_etf_buf *b, int64_t v)
{
    if ((uint64_t)v <= 255) {
        RESERVE(w, b, 2);
        w[0] = ERGO_ETF_TAG_SMALL_INTEGER;
        w[1] = (uint8_t)v;
        return 0;
    }
    if (v >= INT32_MIN && v <= INT32_MAX) {
        RESERVE(w, b, 5);
        w[0] = ERGO_ETF_TAG_INTEGER;
        ergo_put32(w + 1, (uint32_t)v);
        return 0;
    }
    return v < 0 ? enc_big64(b, 1, (uint64_t)0 - (uint64_t)v) : enc_big64(b, 0, (uint64_t)v);
}

/* Size of a UTF-8 atom's encoding, or E_ARG when the text is not valid
 * UTF-8 or longer than 255 characters. */
ERGO_INLINE long atom_utf8_size(const uint8_t *s, size_t len)
{
    if (ERGO_UNLIKELY(len > 255 || !ergo_utf8_is_ascii(s, len))) {
        if (len > 4 * MAX_ATOM_CHARS)
            return ERGO_ETF_E_ARG;
        long chars = ergo_utf8_count(s, len);
        if (chars < 0 || chars > (long)MAX_ATOM_CHARS)
            return ERGO_ETF_E_ARG;
    }
    return (long)(len < 256 ? 2 + len : 3 + len);
}

/* memcpy that accepts (NULL, 0), as callers may pass for empty text. */
ERGO_INLINE void copy_bytes(uint8_t *w, const void *s, size_t len)
{
    if (len)
        memcpy(w, s, len);
}

ERGO_INLINE uint8_t *put_atom_utf8(uint8_t *w, const uint8_t *s, size_t len)
{
    if (len < 256) {
        w[0] = ERGO_ETF_TAG_SMALL_ATOM_UTF8;
        w[1] = (uint8_t)len;
        copy_bytes(w + 2, s, len);
        return w + 2 + len;
    }
    w[0] = ERGO_ETF_TAG_ATOM_UTF8;
    ergo_put16(w + 1, (uint16_t)len);
    copy_bytes(w + 3, s, len);
    return w + 3 + len;
}

ERGO_INLINE uint8_t *put_atom_latin1(uint8_t *w, const uint8_t *s, size_t len)
{
    w[0] = ERGO_ETF_TAG_ATOM;
    ergo_put16(w + 1, (uint16_t)len);
    copy_bytes(w + 3, s, len);
    return w + 3 + len;
}

/* BIT_BINARY_EXT with the unused low bits of the last byte cleared, as ERTS
 * writes it (bits 1..7, n >= 1). */
ERGO_INLINE int enc_bits(ergo_etf_buf *b, const uint8_t *bytes, size_t n, unsigned bits)
{
    RESERVE(w, b, 6 + n);
    w[0] = ERGO_ETF_TAG_BIT_BINARY;
    ergo_put32(w + 1, (uint32_t)n);
    w[5] = (uint8_t)bits;
    memcpy(w + 6, bytes, n);
    w[5 + n] &= (uint8_t)(0xFFu << (8 - bits));
    return 0;
}

static int enc_binary(ergo_etf_buf *b, const void *bytes, size_t n)
{
    RESERVE(w, b, 5 + n);
    w[0] = ERGO_ETF_TAG_BINARY;
    ergo_put32(w + 1, (uint32_t)n);
    copy_bytes(w + 5, bytes, n);
    return 0;
}

/* BINARY_EXT header here, the bytes by reference. */
/* Lend n bytes at the current position, after `tag` own bytes: the
 * 5-byte BINARY_EXT header (tag 5) or nothing (tag 0, raw bytes). */
static int add_ref(ergo_etf_buf *b, const void *bytes, size_t n, size_t tag)
{
    if (b->error)
        return b->error;
    size_t max = b->max_bytes ? b->max_bytes : DEFAULT_MAX_BYTES;
    if (n > max || b->len + b->ref_bytes + tag > max - n)
        return ergo_etf_buf_fail(b, ERGO_ETF_E_LIMIT);
    if (b->nrefs == b->refs_cap) {
        size_t ncap = b->refs_cap ? b->refs_cap * 2 : 8;
        ergo_etf_ref *r = realloc(b->refs, ncap * sizeof *r);
        if (!r)
            return ergo_etf_buf_fail(b, ERGO_ETF_E_NOMEM);
        b->refs = r;
        b->refs_cap = ncap;
    }
    if (tag) {
        RESERVE(w, b, 5);
        w[0] = ERGO_ETF_TAG_BINARY;
        ergo_put32(w + 1, (uint32_t)n);
    }
    b->refs[b->nrefs++] = (ergo_etf_ref){b->len, (const uint8_t *)bytes, n};
    b->ref_bytes += n;
    if (b->cap > max - b->ref_bytes)
        b->cap = max - b->ref_bytes; /* keeps len + ref_bytes <= max */
    return 0;
}

static int enc_binary_by_ref(ergo_etf_buf *b, const void *bytes, size_t n)
{
    return add_ref(b, bytes, n, 5);
}

ERGO_INLINE size_t ref_threshold(const ergo_etf_buf *b)
{
    return b->ref_threshold ? b->ref_threshold : DEFAULT_REF_THRESHOLD;
}

/* Bytes lent by reference since own position `mark`. */
size_t ergo_etf_ref_bytes_after(const ergo_etf_buf *b, size_t mark)
{
    size_t sum = 0;
    for (size_t i = b->nrefs; i-- > 0 && b->refs[i].at > mark;)
        sum += b->refs[i].len;
    return sum;
}

/* ---- The public encoding calls ------------------------------------------------ */

int ergo_etf_encode_raw(ergo_etf_buf *b, const void *bytes, size_t len)
{
    if (len > (b->max_bytes ? b->max_bytes : DEFAULT_MAX_BYTES))
        return ergo_etf_buf_fail(b, ERGO_ETF_E_LIMIT);
    if (len == 0)
        return b->error;
    RESERVE(w, b, len);
    memcpy(w, bytes, len);
    return 0;
}

int ergo_etf_encode_raw_ref(ergo_etf_buf *b, const void *bytes, size_t len)
{
    if (len < ref_threshold(b) || b->sizing)
        return ergo_etf_encode_raw(b, bytes, len);
    return add_ref(b, bytes, len, 0);
}

int ergo_etf_encode_version(ergo_etf_buf *b)
{
    RESERVE(w, b, 1);
    w[0] = ERGO_ETF_VERSION;
    return 0;
}

int ergo_etf_encode_int(ergo_etf_buf *b, int64_t v)
{
    return enc_int(b, v);
}

int ergo_etf_encode_uint(ergo_etf_buf *b, uint64_t v)
{
    if (v <= (uint64_t)INT64_MAX)
        return enc_int(b, (int64_t)v);
    return enc_big64(b, 0, v);
}

int ergo_etf_encode_big(ergo_etf_buf *b, int negative, const uint8_t *digits, size_t n)
{
    if (b->error)
        return b->error;
    while (n > 0 && digits[n - 1] == 0)
        n--;
    if (n <= 8) {
        uint64_t mag = 0;
        for (size_t i = n; i-- > 0;)
            mag = mag << 8 | digits[i];
        if (!negative)
            return ergo_etf_encode_uint(b, mag);
        if (mag <= (uint64_t)INT64_MAX + 1)
            return enc_int(b, (int64_t)((uint64_t)0 - mag));
        return enc_big64(b, 1, mag);
    }
    if (n > UINT32_MAX)
        return ergo_etf_buf_fail(b, ERGO_ETF_E_ARG);
    size_t hdr = n <= 255 ? 3 : 6;
    RESERVE(w, b, hdr + n);
    if (hdr == 3) {
        w[0] = ERGO_ETF_TAG_SMALL_BIG;
        w[1] = (uint8_t)n;
        w[2] = negative ? 1 : 0;
    } else {
        w[0] = ERGO_ETF_TAG_LARGE_BIG;
        ergo_put32(w + 1, (uint32_t)n);
        w[5] = negative ? 1 : 0;
    }
    memcpy(w + hdr, digits, n);
    return 0;
}

int ergo_etf_encode_double(ergo_etf_buf *b, double v)
{
    if (!isfinite(v))
        return ergo_etf_buf_fail(b, ERGO_ETF_E_ARG);
    RESERVE(w, b, 9);
    uint64_t bits;
    memcpy(&bits, &v, 8);
    w[0] = ERGO_ETF_TAG_NEW_FLOAT;
    ergo_put64(w + 1, bits);
    return 0;
}

int ergo_etf_encode_atom(ergo_etf_buf *b, const char *utf8, size_t len)
{
    long size = atom_utf8_size((const uint8_t *)utf8, len);
    if (size < 0)
        return ergo_etf_buf_fail(b, (int)size);
    RESERVE(w, b, (size_t)size);
    put_atom_utf8(w, (const uint8_t *)utf8, len);
    return 0;
}

int ergo_etf_encode_atom_latin1(ergo_etf_buf *b, const char *latin1, size_t len)
{
    if (len > MAX_ATOM_CHARS)
        return ergo_etf_buf_fail(b, ERGO_ETF_E_ARG);
    RESERVE(w, b, 3 + len);
    put_atom_latin1(w, (const uint8_t *)latin1, len);
    return 0;
}

int ergo_etf_encode_atom_cache_ref(ergo_etf_buf *b, uint8_t index)
{
    RESERVE(w, b, 2);
    w[0] = ERGO_ETF_TAG_ATOM_CACHE_REF;
    w[1] = index;
    return 0;
}

int ergo_etf_encode_tuple_header(ergo_etf_buf *b, uint32_t arity)
{
    if (arity <= 255) {
        RESERVE(w, b, 2);
        w[0] = ERGO_ETF_TAG_SMALL_TUPLE;
        w[1] = (uint8_t)arity;
        return 0;
    }
    RESERVE(w, b, 5);
    w[0] = ERGO_ETF_TAG_LARGE_TUPLE;
    ergo_put32(w + 1, arity);
    return 0;
}

int ergo_etf_encode_list_header(ergo_etf_buf *b, uint32_t n)
{
    if (n == 0)
        return ergo_etf_buf_fail(b, ERGO_ETF_E_ARG);
    RESERVE(w, b, 5);
    w[0] = ERGO_ETF_TAG_LIST;
    ergo_put32(w + 1, n);
    return 0;
}

int ergo_etf_encode_nil(ergo_etf_buf *b)
{
    RESERVE(w, b, 1);
    w[0] = ERGO_ETF_TAG_NIL;
    return 0;
}

int ergo_etf_encode_string(ergo_etf_buf *b, const uint8_t *bytes, size_t n)
{
    if (n > 65535)
        return ergo_etf_buf_fail(b, ERGO_ETF_E_ARG);
    if (n == 0)
        return ergo_etf_encode_nil(b); /* "" is [] */
    RESERVE(w, b, 3 + n);
    w[0] = ERGO_ETF_TAG_STRING;
    ergo_put16(w + 1, (uint16_t)n);
    memcpy(w + 3, bytes, n);
    return 0;
}

int ergo_etf_encode_binary(ergo_etf_buf *b, const void *bytes, size_t n)
{
    if (n > UINT32_MAX)
        return ergo_etf_buf_fail(b, ERGO_ETF_E_ARG);
    return enc_binary(b, bytes, n);
}

int ergo_etf_encode_binary_ref(ergo_etf_buf *b, const void *bytes, size_t n)
{
    if (n > UINT32_MAX)
        return ergo_etf_buf_fail(b, ERGO_ETF_E_ARG);
    if (n < ref_threshold(b) || b->sizing)
        return enc_binary(b, bytes, n);
    return enc_binary_by_ref(b, bytes, n);
}

int ergo_etf_encode_bits(ergo_etf_buf *b, const void *bytes, size_t n, unsigned bits)
{
    if (n == 0 || n > UINT32_MAX || bits < 1 || bits > 8)
        return ergo_etf_buf_fail(b, ERGO_ETF_E_ARG);
    if (bits == 8)
        return enc_binary(b, bytes, n); /* whole bytes: a binary */
    return enc_bits(b, bytes, n, bits);
}

int ergo_etf_encode_map_header(ergo_etf_buf *b, uint32_t pairs)
{
    RESERVE(w, b, 5);
    w[0] = ERGO_ETF_TAG_MAP;
    ergo_put32(w + 1, pairs);
    return 0;
}

int ergo_etf_encode_pid(ergo_etf_buf *b, const char *node, size_t node_len, uint32_t id,
                        uint32_t serial, uint32_t creation)
{
    long asz = atom_utf8_size((const uint8_t *)node, node_len);
    if (asz < 0)
        return ergo_etf_buf_fail(b, (int)asz);
    RESERVE(w, b, 1 + (size_t)asz + 12);
    w[0] = ERGO_ETF_TAG_NEW_PID;
    w = put_atom_utf8(w + 1, (const uint8_t *)node, node_len);
    ergo_put32(w, id);
    ergo_put32(w + 4, serial);
    ergo_put32(w + 8, creation);
    return 0;
}

int ergo_etf_encode_port(ergo_etf_buf *b, const char *node, size_t node_len, uint64_t id,
                         uint32_t creation)
{
    long asz = atom_utf8_size((const uint8_t *)node, node_len);
    if (asz < 0)
        return ergo_etf_buf_fail(b, (int)asz);
    int v4 = id > ERGO_ETF_MAX_V3_PORT; /* as ERTS: NEW_PORT_EXT up to 28 bits */
    RESERVE(w, b, 1 + (size_t)asz + (v4 ? 12 : 8));
    w[0] = v4 ? ERGO_ETF_TAG_V4_PORT : ERGO_ETF_TAG_NEW_PORT;
    w = put_atom_utf8(w + 1, (const uint8_t *)node, node_len);
    if (v4) {
        ergo_put64(w, id);
        ergo_put32(w + 8, creation);
    } else {
        ergo_put32(w, (uint32_t)id);
        ergo_put32(w + 4, creation);
    }
    return 0;
}

int ergo_etf_encode_ref(ergo_etf_buf *b, const char *node, size_t node_len, uint32_t creation,
                        const uint32_t *ids, size_t nids)
{
    if (nids < 1 || nids > 5)
        return ergo_etf_buf_fail(b, ERGO_ETF_E_ARG);
    long asz = atom_utf8_size((const uint8_t *)node, node_len);
    if (asz < 0)
        return ergo_etf_buf_fail(b, (int)asz);
    RESERVE(w, b, 3 + (size_t)asz + 4 + 4 * nids);
    w[0] = ERGO_ETF_TAG_NEWER_REFERENCE;
    ergo_put16(w + 1, (uint16_t)nids);
    w = put_atom_utf8(w + 3, (const uint8_t *)node, node_len);
    ergo_put32(w, creation);
    for (size_t i = 0; i < nids; i++)
        ergo_put32(w + 4 + 4 * i, ids[i]);
    return 0;
}

int ergo_etf_encode_export(ergo_etf_buf *b, const char *module, size_t module_len,
                           const char *function, size_t function_len, uint8_t arity)
{
    long msz = atom_utf8_size((const uint8_t *)module, module_len);
    long fsz = atom_utf8_size((const uint8_t *)function, function_len);
    if (msz < 0 || fsz < 0)
        return ergo_etf_buf_fail(b, ERGO_ETF_E_ARG);
    RESERVE(w, b, 1 + (size_t)msz + (size_t)fsz + 2);
    w[0] = ERGO_ETF_TAG_EXPORT;
    w = put_atom_utf8(w + 1, (const uint8_t *)module, module_len);
    w = put_atom_utf8(w, (const uint8_t *)function, function_len);
    w[0] = ERGO_ETF_TAG_SMALL_INTEGER;
    w[1] = arity;
    return 0;
}

int ergo_etf_encode_fun_begin(ergo_etf_buf *b, uint8_t arity, const uint8_t uniq[16],
                              uint32_t index, uint32_t num_free, const char *module,
                              size_t module_len, int64_t old_index, int64_t old_uniq,
                              size_t *mark)
{
    long msz = atom_utf8_size((const uint8_t *)module, module_len);
    if (msz < 0 || old_index < INT32_MIN || old_index > INT32_MAX || old_uniq < INT32_MIN ||
        old_uniq > INT32_MAX)
        return ergo_etf_buf_fail(b, ERGO_ETF_E_ARG);
    size_t at = b->len;
    uint8_t *w = ergo_etf_buf_reserve(b, 30 + (size_t)msz);
    if (w) {
        w[0] = ERGO_ETF_TAG_NEW_FUN;
        ergo_put32(w + 1, 0); /* Size: patched by fun_end */
        w[5] = arity;
        memcpy(w + 6, uniq, 16);
        ergo_put32(w + 22, index);
        ergo_put32(w + 26, num_free);
        put_atom_utf8(w + 30, (const uint8_t *)module, module_len);
    } else if (b->error) {
        return b->error;
    }
    int rc = enc_int(b, old_index);
    if (rc == 0)
        rc = enc_int(b, old_uniq);
    if (rc == 0 && mark)
        *mark = at;
    return rc;
}

int ergo_etf_encode_fun_end(ergo_etf_buf *b, size_t mark)
{
    if (b->error)
        return b->error;
    if (b->sizing)
        return 0;
    if (mark >= b->len || b->data[mark] != ERGO_ETF_TAG_NEW_FUN)
        return ergo_etf_buf_fail(b, ERGO_ETF_E_ARG);
    size_t size = b->len - mark - 1 + ergo_etf_ref_bytes_after(b, mark);
    if (size > UINT32_MAX)
        return ergo_etf_buf_fail(b, ERGO_ETF_E_LIMIT);
    ergo_put32(b->data + mark + 1, (uint32_t)size);
    return 0;
}

/* ---- Re-encoding a tape ---------------------------------------------------------- */

/* Bytes of the atom node n (ATOM or ATOM_REF). */
ERGO_INLINE size_t atom_node_size(const ergo_etf_node *n)
{
    if (n->kind == ERGO_ETF_K_ATOM_REF)
        return 2;
    return (n->flags & ERGO_ETF_F_LATIN1) || n->size >= 256 ? 3 + (size_t)n->size
                                                           : 2 + (size_t)n->size;
}

ERGO_INLINE uint8_t *put_atom_node(uint8_t *w, const ergo_etf_node *n, const uint8_t *data)
{
    if (n->kind == ERGO_ETF_K_ATOM_REF) {
        w[0] = ERGO_ETF_TAG_ATOM_CACHE_REF;
        w[1] = (uint8_t)n->v.u;
        return w + 2;
    }
    if (n->flags & ERGO_ETF_F_LATIN1)
        return put_atom_latin1(w, data + n->v.off, n->size);
    return put_atom_utf8(w, data + n->v.off, n->size);
}

ERGO_INLINE size_t big_digits(const ergo_etf_node *n, const uint8_t *data)
{
    size_t d = n->size;
    while (d > 0 && data[n->v.off + d - 1] == 0)
        d--;
    return d;
}

/* Encoded size of one node, not counting its children (a pid, port or
 * reference includes its node atom, the next node). 0 for a bad node. */
static size_t node_size(const ergo_etf_node *n, const ergo_etf_node *next, const uint8_t *data)
{
    switch (n->kind) {
    case ERGO_ETF_K_INT: {
        int64_t v = n->v.i;
        if ((uint64_t)v <= 255)
            return 2;
        if (v >= INT32_MIN && v <= INT32_MAX)
            return 5;
        return 3 + uint_bytes(v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
    }
    case ERGO_ETF_K_BIG: {
        size_t d = big_digits(n, data);
        if (d <= 8) {
            /* a K_BIG that fits int64 (not from the decoder) is written small */
            uint64_t mag = 0;
            for (size_t i = d; i-- > 0;)
                mag = mag << 8 | data[n->v.off + i];
            ergo_etf_node t = *n;
            if (!(n->flags & ERGO_ETF_F_NEGATIVE) && mag <= (uint64_t)INT64_MAX) {
                t.kind = ERGO_ETF_K_INT;
                t.v.i = (int64_t)mag;
                return node_size(&t, next, data);
            }
            if ((n->flags & ERGO_ETF_F_NEGATIVE) && mag <= (uint64_t)INT64_MAX + 1) {
                t.kind = ERGO_ETF_K_INT;
                t.v.u = (uint64_t)0 - mag;
                return node_size(&t, next, data);
            }
        }
        return (d <= 255 ? 3 : 6) + d;
    }
    case ERGO_ETF_K_FLOAT: return 9;
    case ERGO_ETF_K_ATOM:
    case ERGO_ETF_K_ATOM_REF: return atom_node_size(n);
    case ERGO_ETF_K_TUPLE: return n->size <= 255 ? 2 : 5;
    case ERGO_ETF_K_NIL: return 1;
    case ERGO_ETF_K_STRING: return 3 + (size_t)n->size;
    case ERGO_ETF_K_LIST:
    case ERGO_ETF_K_MAP: return 5;
    case ERGO_ETF_K_BINARY: return 5 + (size_t)n->size;
    case ERGO_ETF_K_BITS:
        if (n->aux < 1 || n->aux > 8 || n->size < 1)
            return 0;
        return (n->aux == 8 ? 5 : 6) + (size_t)n->size;
    case ERGO_ETF_K_PID:
    case ERGO_ETF_K_PORT:
    case ERGO_ETF_K_REF: {
        if (!next || (next->kind != ERGO_ETF_K_ATOM && next->kind != ERGO_ETF_K_ATOM_REF))
            return 0;
        size_t a = atom_node_size(next);
        if (n->kind == ERGO_ETF_K_PID)
            return 1 + a + 12;
        if (n->kind == ERGO_ETF_K_PORT)
            return 1 + a + (n->v.u > ERGO_ETF_MAX_V3_PORT ? 12 : 8);
        if (n->aux < 1 || n->aux > 5)
            return 0;
        return 3 + a + 4 + 4 * (size_t)n->aux;
    }
    case ERGO_ETF_K_EXPORT: return 1;
    case ERGO_ETF_K_FUN: return 30;
    default: return 0;
    }
}

/* Children that follow node n in the tape (the node atom of a pid, port or
 * reference is counted as part of the node itself). */
ERGO_INLINE uint64_t node_children(const ergo_etf_node *n)
{
    switch (n->kind) {
    case ERGO_ETF_K_TUPLE: return n->size;
    case ERGO_ETF_K_LIST: return (uint64_t)n->size + 1;
    case ERGO_ETF_K_MAP: return (uint64_t)n->size * 2;
    case ERGO_ETF_K_EXPORT: return 3;
    case ERGO_ETF_K_FUN: return (uint64_t)n->size + 4;
    default: return 0;
    }
}

/* Size-only mode: add up the sizes (nothing goes by reference). */
static int encode_tape_sizing(ergo_etf_buf *b, const ergo_etf_tape *tape, size_t index,
                              size_t *next)
{
    const ergo_etf_node *nodes = tape->nodes;
    size_t i = index, total = 0;
    uint64_t pending = 1;
    while (pending) {
        if (i >= tape->count)
            return ergo_etf_buf_fail(b, ERGO_ETF_E_ARG);
        const ergo_etf_node *n = &nodes[i++];
        int pair = n->kind == ERGO_ETF_K_PID || n->kind == ERGO_ETF_K_PORT ||
                   n->kind == ERGO_ETF_K_REF;
        size_t s = node_size(n, pair && i < tape->count ? &nodes[i] : NULL, tape->data);
        if (s == 0)
            return ergo_etf_buf_fail(b, ERGO_ETF_E_ARG);
        i += pair;
        total += s;
        pending += node_children(n) - 1;
    }
    ergo_etf_buf_reserve_slow(b, total);
    if (b->error)
        return b->error;
    if (next)
        *next = i;
    return 0;
}

typedef struct fun_frame {
    uint64_t close_at; /* `pending` once the fun's subtree is written */
    size_t mark;       /* own-buffer position of the fun's tag */
} fun_frame;

#define FUN_INLINE_FRAMES 16

int ergo_etf_encode_tape(ergo_etf_buf *b, const ergo_etf_tape *tape, size_t index, size_t *next)
{
    if (b->error)
        return b->error;
    if (b->sizing)
        return encode_tape_sizing(b, tape, index, next);
    if (ERGO_UNLIKELY(b->data == NULL)) {
        /* first use: allocate, so that the cursor below is a real pointer */
        if (ergo_etf_buf_reserve_slow(b, 1) == NULL)
            return b->error;
        b->len--;
    }

    if (index >= tape->count)
        return ergo_etf_buf_fail(b, ERGO_ETF_E_ARG);
    const ergo_etf_node *n = tape->nodes + index;
    const ergo_etf_node *const nend = tape->nodes + tape->count;
    const uint8_t *const data = tape->data;
    const size_t threshold = ref_threshold(b);
    /* The cursor lives in locals the compiler keeps in registers (the byte
     * stores cannot alias them); b is synced around the slow paths. */
    uint8_t *w = b->data + b->len, *wend = b->data + b->cap;
    uint64_t pending = 1;
    uint64_t close_at = UINT64_MAX; /* `pending` when the innermost fun ends */
    fun_frame inline_funs[FUN_INLINE_FRAMES];
    fun_frame *funs = inline_funs;
    size_t nfuns = 0, funs_cap = FUN_INLINE_FRAMES;
    int rc = 0;

#define SYNC() (b->len = (size_t)(w - b->data))
#define RELOAD() (w = b->data + b->len, wend = b->data + b->cap)
#define ROOM(k)                                                                 \
    do {                                                                        \
        if (ERGO_UNLIKELY((size_t)(wend - w) < (size_t)(k))) {                  \
            SYNC();                                                             \
            if (ergo_etf_buf_reserve_slow(b, (k)) == NULL)                      \
                goto failed;                                                    \
            b->len -= (k); /* room made, nothing written yet */                 \
            RELOAD();                                                           \
        }                                                                       \
    } while (0)

    while (pending) {
        if (ERGO_UNLIKELY(n >= nend))
            goto bad;
        pending--;
        switch (n->kind) {
        case ERGO_ETF_K_INT: {
            int64_t v = n->v.i;
            if ((uint64_t)v <= 255) {
                ROOM(2);
                w[0] = ERGO_ETF_TAG_SMALL_INTEGER;
                w[1] = (uint8_t)v;
                w += 2;
            } else if (v >= INT32_MIN && v <= INT32_MAX) {
                ROOM(5);
                w[0] = ERGO_ETF_TAG_INTEGER;
                ergo_put32(w + 1, (uint32_t)v);
                w += 5;
            } else {
                uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
                size_t nd = uint_bytes(mag);
                ROOM(3 + nd);
                w = put_small_big(w, v < 0, mag, nd);
            }
            break;
        }
        case ERGO_ETF_K_ATOM: {
            size_t len = n->size;
            const uint8_t *s = data + n->v.off;
            ROOM(atom_node_size(n));
            if (n->flags & ERGO_ETF_F_LATIN1) {
                w = put_atom_latin1(w, s, len);
            } else if (len < 256) {
                w[0] = ERGO_ETF_TAG_SMALL_ATOM_UTF8;
                w[1] = (uint8_t)len;
                memcpy(w + 2, s, len);
                w += 2 + len;
            } else {
                w = put_atom_utf8(w, s, len);
            }
            break;
        }
        case ERGO_ETF_K_TUPLE:
            ROOM(n->size <= 255 ? 2 : 5);
            if (n->size <= 255) {
                w[0] = ERGO_ETF_TAG_SMALL_TUPLE;
                w[1] = (uint8_t)n->size;
                w += 2;
            } else {
                w[0] = ERGO_ETF_TAG_LARGE_TUPLE;
                ergo_put32(w + 1, n->size);
                w += 5;
            }
            pending += n->size;
            break;
        case ERGO_ETF_K_NIL:
            ROOM(1);
            *w++ = ERGO_ETF_TAG_NIL;
            break;
        case ERGO_ETF_K_LIST:
            ROOM(5);
            w[0] = ERGO_ETF_TAG_LIST;
            ergo_put32(w + 1, n->size);
            w += 5;
            pending += (uint64_t)n->size + 1;
            break;
        case ERGO_ETF_K_MAP:
            ROOM(5);
            w[0] = ERGO_ETF_TAG_MAP;
            ergo_put32(w + 1, n->size);
            w += 5;
            pending += (uint64_t)n->size * 2;
            break;
        case ERGO_ETF_K_BINARY: {
            size_t len = n->size;
            if (ERGO_UNLIKELY(len >= threshold)) {
                SYNC();
                if (enc_binary_by_ref(b, data + n->v.off, len) != 0)
                    goto failed;
                RELOAD();
                break;
            }
            ROOM(5 + len);
            w[0] = ERGO_ETF_TAG_BINARY;
            ergo_put32(w + 1, (uint32_t)len);
            memcpy(w + 5, data + n->v.off, len);
            w += 5 + len;
            break;
        }
        case ERGO_ETF_K_STRING: {
            size_t len = n->size;
            ROOM(3 + len);
            w[0] = ERGO_ETF_TAG_STRING;
            ergo_put16(w + 1, (uint16_t)len);
            memcpy(w + 3, data + n->v.off, len);
            w += 3 + len;
            break;
        }
        case ERGO_ETF_K_FLOAT:
            ROOM(9);
            w[0] = ERGO_ETF_TAG_NEW_FLOAT;
            ergo_put64(w + 1, n->v.u);
            w += 9;
            break;
        case ERGO_ETF_K_ATOM_REF:
            ROOM(2);
            w[0] = ERGO_ETF_TAG_ATOM_CACHE_REF;
            w[1] = (uint8_t)n->v.u;
            w += 2;
            break;
        case ERGO_ETF_K_BIG:
        case ERGO_ETF_K_BITS:
            /* rare: through the public calls, with b synced */
            SYNC();
            if (n->kind == ERGO_ETF_K_BIG)
                rc = ergo_etf_encode_big(b, n->flags & ERGO_ETF_F_NEGATIVE, data + n->v.off,
                                         n->size);
            else if (n->aux >= 1 && n->aux <= 8 && n->size >= 1)
                rc = ergo_etf_encode_bits(b, data + n->v.off, n->size, n->aux);
            else
                rc = ergo_etf_buf_fail(b, ERGO_ETF_E_ARG);
            if (rc)
                goto failed;
            RELOAD();
            break;
        case ERGO_ETF_K_PID:
        case ERGO_ETF_K_PORT:
        case ERGO_ETF_K_REF: {
            /* The node atom is the next node but comes first on the wire. */
            const ergo_etf_node *a = n + 1;
            size_t size = node_size(n, a < nend ? a : NULL, data);
            if (ERGO_UNLIKELY(size == 0))
                goto bad;
            ROOM(size);
            uint8_t *q = w;
            if (n->kind == ERGO_ETF_K_PID) {
                q[0] = ERGO_ETF_TAG_NEW_PID;
                q = put_atom_node(q + 1, a, data);
                ergo_put32(q, n->size);
                ergo_put64(q + 4, n->v.u);
            } else if (n->kind == ERGO_ETF_K_PORT) {
                int v4 = n->v.u > ERGO_ETF_MAX_V3_PORT; /* as ERTS, see ergo_etf_encode_port */
                q[0] = v4 ? ERGO_ETF_TAG_V4_PORT : ERGO_ETF_TAG_NEW_PORT;
                q = put_atom_node(q + 1, a, data);
                if (v4) {
                    ergo_put64(q, n->v.u);
                    ergo_put32(q + 8, n->size);
                } else {
                    ergo_put32(q, (uint32_t)n->v.u);
                    ergo_put32(q + 4, n->size);
                }
            } else {
                q[0] = ERGO_ETF_TAG_NEWER_REFERENCE;
                ergo_put16(q + 1, n->aux);
                q = put_atom_node(q + 3, a, data);
                ergo_put32(q, n->size);
                memcpy(q + 4, data + n->v.off, 4 * (size_t)n->aux);
            }
            w += size;
            n++; /* the atom */
            break;
        }
        case ERGO_ETF_K_EXPORT:
            ROOM(1);
            *w++ = ERGO_ETF_TAG_EXPORT;
            pending += 3;
            break;
        case ERGO_ETF_K_FUN:
            ROOM(30);
            w[0] = ERGO_ETF_TAG_NEW_FUN;
            ergo_put32(w + 1, 0); /* Size, patched when the fun's subtree ends */
            w[5] = (uint8_t)n->aux;
            memcpy(w + 6, data + n->v.off, 20); /* uniq, index */
            ergo_put32(w + 26, n->size);
            if (nfuns == funs_cap) {
                fun_frame *f = malloc(2 * funs_cap * sizeof *f);
                if (!f) {
                    SYNC();
                    ergo_etf_buf_fail(b, ERGO_ETF_E_NOMEM);
                    goto failed;
                }
                memcpy(f, funs, nfuns * sizeof *f);
                if (funs != inline_funs)
                    free(funs);
                funs = f;
                funs_cap *= 2;
            }
            funs[nfuns++] = (fun_frame){pending, (size_t)(w - b->data)};
            close_at = pending;
            w += 30;
            pending += (uint64_t)n->size + 4;
            break;
        default:
            goto bad;
        }
        n++;
        while (ERGO_UNLIKELY(pending == close_at)) {
            size_t mark = funs[--nfuns].mark;
            size_t size = (size_t)(w - b->data) - mark - 1 + ergo_etf_ref_bytes_after(b, mark);
            if (size > UINT32_MAX) {
                SYNC();
                ergo_etf_buf_fail(b, ERGO_ETF_E_LIMIT);
                goto failed;
            }
            ergo_put32(b->data + mark + 1, (uint32_t)size);
            close_at = nfuns ? funs[nfuns - 1].close_at : UINT64_MAX;
        }
    }
    SYNC();
    if (next)
        *next = (size_t)(n - tape->nodes);
    goto out;

bad:
    SYNC();
    ergo_etf_buf_fail(b, ERGO_ETF_E_ARG);
failed:
    rc = b->error;
out:
    if (funs != inline_funs)
        free(funs);
    return rc;
#undef ROOM
#undef SYNC
#undef RELOAD
}
