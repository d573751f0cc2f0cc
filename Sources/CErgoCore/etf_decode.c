/*
 * etf_decode.c — the ETF decoder: one forward pass over the input, iterative
 * (an explicit stack of pending child counts, bounded by limits.max_depth),
 * writing a flat pre-order array of 16-byte nodes. Nothing is copied: nodes
 * give offsets into the input (or into the tape's inflated buffer).
 *
 * Every length is checked against the bytes that remain before it is used,
 * and a container's element count against the bytes that remain (each
 * element needs at least one), so a huge claimed count in a short input
 * fails at once with E_TRUNCATED and nothing is allocated for it. The node
 * array grows geometrically up to limits.max_nodes and is kept for the next
 * decode; as every node takes at least one input byte, it never holds more
 * than 16 bytes per byte of input (or of inflated input).
 */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>

#include "etf_internal.h"

_Static_assert(sizeof(ergo_etf_node) == 16, "a tape node is 16 bytes");
_Static_assert(sizeof(double) == 8 && sizeof(uint64_t) == 8, "IEEE doubles");

#define DEFAULT_MAX_DEPTH 1024u
#define DEFAULT_MAX_ATOM_CHARS 255u
#define DEFAULT_MAX_NODES (UINT64_C(1) << 26)
#define DEFAULT_MAX_INFLATED (UINT64_C(64) << 20)
/* Node indices and pending counts live in uint32 stack words whose top bit
 * marks a fun frame, so a tape holds at most 2^31 - 1 nodes. */
#define MAX_NODES_CAP UINT64_C(0x7FFFFFFF)
#define FUN_MARK 0x80000000u
#define MIN_NODES 64u
#define MIN_STACK 64u

/* Decoding context: limits with defaults applied, and the data base. */
typedef struct dec {
    ergo_etf_tape *t;
    const uint8_t *base;
    size_t max_nodes;
    uint32_t max_depth;
    uint32_t max_atom_chars;
    uint32_t cache_refs;
} dec;

ERGO_INLINE void put(ergo_etf_node *n, unsigned kind, unsigned flags, unsigned aux, uint32_t size,
                     uint64_t v)
{
    n->kind = (uint8_t)kind;
    n->flags = (uint8_t)flags;
    n->aux = (uint16_t)aux;
    n->size = size;
    n->v.u = v;
}

/* ---- Tape lifetime --------------------------------------------------------- */

void ergo_etf_tape_init(ergo_etf_tape *tape, const ergo_etf_limits *limits)
{
    memset(tape, 0, sizeof *tape);
    if (limits)
        tape->limits = *limits;
    if (tape->limits.max_depth == 0)
        tape->limits.max_depth = DEFAULT_MAX_DEPTH;
    if (tape->limits.max_atom_chars == 0)
        tape->limits.max_atom_chars = DEFAULT_MAX_ATOM_CHARS;
    if (tape->limits.max_nodes == 0)
        tape->limits.max_nodes = DEFAULT_MAX_NODES;
    if (tape->limits.max_inflated == 0)
        tape->limits.max_inflated = DEFAULT_MAX_INFLATED;
}

void ergo_etf_tape_free(ergo_etf_tape *tape)
{
    free(tape->nodes);
    free(tape->inflated);
    free(tape->stack);
    ergo_etf_limits keep = tape->limits;
    memset(tape, 0, sizeof *tape);
    tape->limits = keep;
}

/* ---- Slow paths -------------------------------------------------------------- */

/* Grow the node array so that `need` more nodes fit after `used`. */
static ERGO_NOINLINE int grow_nodes(dec *d, size_t used, size_t need)
{
    ergo_etf_tape *t = d->t;
    if (need > d->max_nodes || used > d->max_nodes - need)
        return ERGO_ETF_E_LIMIT;
    size_t cap = t->capacity;
    if (cap < used + need) {
        size_t ncap = cap < MIN_NODES ? MIN_NODES : cap;
        while (ncap < used + need)
            ncap = ncap > SIZE_MAX / 2 ? SIZE_MAX : ncap * 2;
        if (ncap > d->max_nodes)
            ncap = d->max_nodes;
        if (ncap > SIZE_MAX / sizeof(ergo_etf_node))
            return ERGO_ETF_E_NOMEM;
        ergo_etf_node *n = realloc(t->nodes, ncap * sizeof *n);
        if (!n)
            return ERGO_ETF_E_NOMEM;
        t->nodes = n;
        t->capacity = ncap;
    }
    return 0;
}

static ERGO_NOINLINE int grow_stack(ergo_etf_tape *t, size_t need)
{
    size_t cap = t->stack_cap < MIN_STACK ? MIN_STACK : t->stack_cap;
    while (cap < need)
        cap *= 2;
    uint32_t *s = realloc(t->stack, cap * sizeof *s);
    if (!s)
        return ERGO_ETF_E_NOMEM;
    t->stack = s;
    t->stack_cap = cap;
    return 0;
}

/* Character count and validity of atom text that is not plain short ASCII. */
static ERGO_NOINLINE int check_atom_text(uint32_t max_chars, const uint8_t *s, size_t len,
                                         unsigned flags)
{
    size_t chars = len;
    if (!(flags & ERGO_ETF_F_LATIN1)) {
        long c = ergo_utf8_count(s, len);
        if (c < 0)
            return ERGO_ETF_E_UTF8;
        chars = (size_t)c;
    }
    return chars > max_chars ? ERGO_ETF_E_ATOM_LENGTH : 0;
}

/* FLOAT_EXT: 31 bytes of "%.20e" text, NUL padded. Accepted as ERTS does:
 * [+-]digits.digits[e[+-]digits], then NUL bytes or anything after a NUL. */
static ERGO_NOINLINE int old_float(const uint8_t *s, double *out)
{
    char text[32];
    size_t i = 0, n;
    for (n = 0; n < 31 && s[n] != 0; n++)
        text[n] = (char)s[n];
    text[n] = 0;
    if (i < n && (text[i] == '+' || text[i] == '-'))
        i++;
    size_t d0 = i;
    while (i < n && text[i] >= '0' && text[i] <= '9')
        i++;
    if (i == d0 || i >= n || text[i] != '.')
        return ERGO_ETF_E_VALUE;
    size_t dot = i++;
    size_t f0 = i;
    while (i < n && text[i] >= '0' && text[i] <= '9')
        i++;
    if (i == f0)
        return ERGO_ETF_E_VALUE;
    if (i < n && (text[i] == 'e' || text[i] == 'E')) {
        i++;
        if (i < n && (text[i] == '+' || text[i] == '-'))
            i++;
        size_t e0 = i;
        while (i < n && text[i] >= '0' && text[i] <= '9')
            i++;
        if (i == e0)
            return ERGO_ETF_E_VALUE;
    }
    if (i != n)
        return ERGO_ETF_E_VALUE;
    /* strtod follows the C locale's decimal point, while the wire always
     * uses '.': when strtod stops there, retry with the locale's point. */
    int saved = errno;
    char *endp;
    double v = strtod(text, &endp);
    if (endp == text + dot) {
        const struct lconv *lc = localeconv();
        if (lc && lc->decimal_point && lc->decimal_point[0] && lc->decimal_point[1] == 0) {
            text[dot] = lc->decimal_point[0];
            v = strtod(text, &endp);
        }
    }
    errno = saved;
    if (endp != text + n || !isfinite(v))
        return ERGO_ETF_E_VALUE;
    *out = v;
    return 0;
}

/* ---- Field parsers shared by the main loop and the compound forms --------- */

/* An atom in any of its five forms at p, into n. Returns the byte after it,
 * or NULL with *rc set (the offending byte is p). */
ERGO_INLINE const uint8_t *atom_at(const uint8_t *base, uint32_t max_chars, uint32_t cache_refs,
                                   const uint8_t *p, const uint8_t *end, ergo_etf_node *n, int *rc)
{
    size_t len, hdr;
    unsigned flags;
    if (ERGO_UNLIKELY(p >= end))
        goto truncated;
    switch (*p) {
    case ERGO_ETF_TAG_SMALL_ATOM_UTF8:
        if (ERGO_UNLIKELY(end - p < 2))
            goto truncated;
        len = p[1];
        hdr = 2;
        flags = 0;
        break;
    case ERGO_ETF_TAG_ATOM_UTF8:
        if (ERGO_UNLIKELY(end - p < 3))
            goto truncated;
        len = ergo_be16(p + 1);
        hdr = 3;
        flags = 0;
        break;
    case ERGO_ETF_TAG_SMALL_ATOM:
        if (ERGO_UNLIKELY(end - p < 2))
            goto truncated;
        len = p[1];
        hdr = 2;
        flags = ERGO_ETF_F_LATIN1;
        break;
    case ERGO_ETF_TAG_ATOM:
        if (ERGO_UNLIKELY(end - p < 3))
            goto truncated;
        len = ergo_be16(p + 1);
        hdr = 3;
        flags = ERGO_ETF_F_LATIN1;
        break;
    case ERGO_ETF_TAG_ATOM_CACHE_REF:
        if (ERGO_UNLIKELY(end - p < 2))
            goto truncated;
        if (ERGO_UNLIKELY(p[1] >= cache_refs)) {
            *rc = ERGO_ETF_E_ATOM_CACHE;
            return NULL;
        }
        put(n, ERGO_ETF_K_ATOM_REF, 0, 0, 0, p[1]);
        return p + 2;
    default:
        *rc = ERGO_ETF_E_TAG;
        return NULL;
    }
    if (ERGO_UNLIKELY((size_t)(end - p) - hdr < len))
        goto truncated;
    const uint8_t *s = p + hdr;
    if (ERGO_UNLIKELY(len > max_chars || (!flags && !ergo_utf8_is_ascii(s, len)))) {
        int e = check_atom_text(max_chars, s, len, flags);
        if (e) {
            *rc = e;
            return NULL;
        }
    }
    put(n, ERGO_ETF_K_ATOM, flags, 0, (uint32_t)len, (uint64_t)(s - base));
    return s + len;
truncated:
    *rc = ERGO_ETF_E_TRUNCATED;
    return NULL;
}

/* atom_at with the limits of the decoding context d. */
#define DATOM(...) atom_at(d->base, d->max_atom_chars, d->cache_refs, __VA_ARGS__)

/* A SMALL_INTEGER_EXT or INTEGER_EXT at p (fun indices, export arity);
 * returns the byte after it or NULL with *rc set (offending byte: p). */
ERGO_INLINE const uint8_t *small_int_at(const uint8_t *p, const uint8_t *end, ergo_etf_node *n,
                                        int *rc)
{
    if (ERGO_UNLIKELY(p >= end))
        goto truncated;
    if (*p == ERGO_ETF_TAG_SMALL_INTEGER) {
        if (ERGO_UNLIKELY(end - p < 2))
            goto truncated;
        put(n, ERGO_ETF_K_INT, 0, 0, 0, p[1]);
        return p + 2;
    }
    if (*p == ERGO_ETF_TAG_INTEGER) {
        if (ERGO_UNLIKELY(end - p < 5))
            goto truncated;
        put(n, ERGO_ETF_K_INT, 0, 0, 0, (uint64_t)(int64_t)(int32_t)ergo_be32(p + 1));
        return p + 5;
    }
    *rc = ERGO_ETF_E_TAG;
    return NULL;
truncated:
    *rc = ERGO_ETF_E_TRUNCATED;
    return NULL;
}

/* PID_EXT / NEW_PID_EXT at p into n[0] (the pid) and n[1] (its node).
 * Returns the byte after it, or NULL with *rc and *errp set. */
static const uint8_t *pid_at(const dec *d, const uint8_t *p, const uint8_t *end, ergo_etf_node *n,
                             int *rc, const uint8_t **errp)
{
    const uint8_t *q = DATOM(p + 1, end, n + 1, rc);
    if (!q) {
        *errp = p + 1;
        return NULL;
    }
    if (*p == ERGO_ETF_TAG_NEW_PID) {
        if (end - q < 12)
            goto truncated;
        put(n, ERGO_ETF_K_PID, 0, 0, ergo_be32(q),
            (uint64_t)ergo_be32(q + 4) << 32 | ergo_be32(q + 8));
        return q + 12;
    }
    if (end - q < 9)
        goto truncated;
    put(n, ERGO_ETF_K_PID, ERGO_ETF_F_OLD, 0, ergo_be32(q), (uint64_t)ergo_be32(q + 4) << 32 | q[8]);
    return q + 9;
truncated:
    *rc = ERGO_ETF_E_TRUNCATED;
    *errp = p;
    return NULL;
}

/* The rarer compound forms: ports, references, exports, the fixed part of a
 * fun. Each writes its nodes from n on; returns the byte after the form (for
 * a fun: before its free variables) and sets *nodes_used (and for a fun
 * *num_free), or NULL with *rc and *errp (the offending byte) set. */
static ERGO_NOINLINE const uint8_t *compound_at(const dec *d, const uint8_t *p, const uint8_t *end,
                                                ergo_etf_node *n, size_t *nodes_used,
                                                uint32_t *num_free, int *rc,
                                                const uint8_t **errp)
{
    const uint8_t *q = p + 1, *a;
    switch (*p) {
    case ERGO_ETF_TAG_PORT:
    case ERGO_ETF_TAG_NEW_PORT:
    case ERGO_ETF_TAG_V4_PORT:
        if (!(q = DATOM(a = q, end, n + 1, rc)))
            goto fail_at_a;
        if (*p == ERGO_ETF_TAG_NEW_PORT) {
            if (end - q < 8)
                goto truncated;
            put(n, ERGO_ETF_K_PORT, 0, 0, ergo_be32(q + 4), ergo_be32(q));
            q += 8;
        } else if (*p == ERGO_ETF_TAG_V4_PORT) {
            if (end - q < 12)
                goto truncated;
            put(n, ERGO_ETF_K_PORT, 0, 0, ergo_be32(q + 8), ergo_be64(q));
            q += 12;
        } else {
            if (end - q < 5)
                goto truncated;
            put(n, ERGO_ETF_K_PORT, ERGO_ETF_F_OLD, 0, q[4], ergo_be32(q));
            q += 5;
        }
        *nodes_used = 2;
        return q;
    case ERGO_ETF_TAG_REFERENCE:
        if (!(q = DATOM(a = q, end, n + 1, rc)))
            goto fail_at_a;
        if (end - q < 5)
            goto truncated;
        put(n, ERGO_ETF_K_REF, ERGO_ETF_F_OLD, 1, q[4], (uint64_t)(q - d->base));
        *nodes_used = 2;
        return q + 5;
    case ERGO_ETF_TAG_NEW_REFERENCE:
    case ERGO_ETF_TAG_NEWER_REFERENCE: {
        if (end - p < 3)
            goto truncated;
        unsigned words = ergo_be16(p + 1);
        if (words < 1 || words > 5) {
            *rc = ERGO_ETF_E_VALUE;
            goto fail_at_p;
        }
        if (!(q = DATOM(a = p + 3, end, n + 1, rc)))
            goto fail_at_a;
        size_t cbytes = *p == ERGO_ETF_TAG_NEWER_REFERENCE ? 4 : 1;
        if ((size_t)(end - q) < cbytes + 4 * words)
            goto truncated;
        uint32_t creation = cbytes == 4 ? ergo_be32(q) : q[0];
        q += cbytes;
        put(n, ERGO_ETF_K_REF, cbytes == 4 ? 0 : ERGO_ETF_F_OLD, words, creation,
            (uint64_t)(q - d->base));
        *nodes_used = 2;
        return q + 4 * words;
    }
    case ERGO_ETF_TAG_EXPORT:
        put(n, ERGO_ETF_K_EXPORT, 0, 0, 0, 0);
        if (!(q = DATOM(a = q, end, n + 1, rc)) || !(q = DATOM(a = q, end, n + 2, rc)) ||
            !(q = small_int_at(a = q, end, n + 3, rc)))
            goto fail_at_a;
        if (n[3].v.i < 0 || n[3].v.i > 255) {
            *rc = ERGO_ETF_E_VALUE;
            goto fail_at_a;
        }
        *nodes_used = 4;
        return q;
    case ERGO_ETF_TAG_NEW_FUN: {
        /* Size Arity Uniq[16] Index NumFree Module OldIndex OldUniq Pid FreeVars */
        if (end - p < 30)
            goto truncated;
        uint32_t size = ergo_be32(p + 1);
        if (size > (size_t)(end - p) - 1)
            goto truncated;
        if (size < 29) {
            *rc = ERGO_ETF_E_VALUE;
            goto fail_at_p;
        }
        *num_free = ergo_be32(p + 26);
        put(n, ERGO_ETF_K_FUN, 0, p[5], *num_free, (uint64_t)(p + 6 - d->base));
        if (!(q = DATOM(a = p + 30, end, n + 1, rc)) ||
            !(q = small_int_at(a = q, end, n + 2, rc)) ||
            !(q = small_int_at(a = q, end, n + 3, rc)))
            goto fail_at_a;
        a = q;
        if (q >= end) {
            *rc = ERGO_ETF_E_TRUNCATED;
            goto fail_at_a;
        }
        if (*q != ERGO_ETF_TAG_NEW_PID && *q != ERGO_ETF_TAG_PID) {
            *rc = ERGO_ETF_E_TAG;
            goto fail_at_a;
        }
        if (!(q = pid_at(d, a, end, n + 4, rc, errp)))
            return NULL;
        *nodes_used = 6;
        return q;
    }
    default:
        *rc = ERGO_ETF_E_TAG;
        goto fail_at_p;
    }
truncated:
    *rc = ERGO_ETF_E_TRUNCATED;
fail_at_p:
    *errp = p;
    return NULL;
fail_at_a:
    *errp = a;
    return NULL;
}

/* Bignum digits into K_INT when the value fits int64, else K_BIG. */
ERGO_INLINE void big_node(const dec *d, ergo_etf_node *n, const uint8_t *digits, size_t count,
                          int negative)
{
    while (count > 0 && digits[count - 1] == 0)
        count--;
    if (count <= 8) {
        uint64_t mag = 0;
        for (size_t i = count; i-- > 0;)
            mag = mag << 8 | digits[i];
        if (!negative && mag <= (uint64_t)INT64_MAX) {
            put(n, ERGO_ETF_K_INT, 0, 0, 0, mag);
            return;
        }
        if (negative && mag <= (uint64_t)INT64_MAX + 1) {
            put(n, ERGO_ETF_K_INT, 0, 0, 0, (uint64_t)0 - mag);
            return;
        }
    }
    put(n, ERGO_ETF_K_BIG, negative ? ERGO_ETF_F_NEGATIVE : 0, 0, (uint32_t)count,
        (uint64_t)(digits - d->base));
}

/* ---- The main loop ------------------------------------------------------------ */

/* Decode one term at p into the tape (nodes from index 0). *endp receives
 * the end of the term; on failure *endp is the offending byte. */
ERGO_INLINE int decode_term(dec *d, const uint8_t *p, const uint8_t *end, const uint8_t **endp)
{
    ergo_etf_tape *t = d->t;
    const uint8_t *const base = d->base;
    int rc = 0;
    if (ERGO_UNLIKELY(t->nodes == NULL) && (rc = grow_nodes(d, 0, 1)) != 0) {
        t->count = 0;
        *endp = p;
        return rc;
    }
    const size_t max_nodes = d->max_nodes;
    const uint32_t max_depth = d->max_depth;
    const uint32_t max_atom_chars = d->max_atom_chars;
    const uint32_t cache_refs = d->cache_refs;
    ergo_etf_node *nodes = t->nodes;
    ergo_etf_node *nd = nodes;
    ergo_etf_node *nlim = nodes + (t->capacity < max_nodes ? t->capacity : max_nodes);
    uint32_t *stack = t->stack;
    size_t sp = 0, scap = t->stack_cap;
    uint32_t depth = 0;
    uint32_t pending = 1; /* terms left in the innermost open container */
    uint64_t k;           /* children of the container being opened */
    size_t hdr;           /* and the size of its header */

    /* While a term is being read p stays at its tag, so on failure p is the
     * offending byte (helpers that fail deeper report through errp). */
#define NEED(n)                                                                 \
    do {                                                                        \
        if (ERGO_UNLIKELY((size_t)(end - p) < (size_t)(n)))                     \
            goto truncated;                                                     \
    } while (0)
#define NEED_NODES(n)                                                           \
    do {                                                                        \
        if (ERGO_UNLIKELY((size_t)(nlim - nd) < (size_t)(n))) {                 \
            size_t used_ = (size_t)(nd - nodes);                                \
            if ((rc = grow_nodes(d, used_, (n))) != 0)                          \
                goto fail;                                                      \
            nodes = t->nodes;                                                   \
            nd = nodes + used_;                                                 \
            nlim = nodes + (t->capacity < max_nodes ? t->capacity : max_nodes); \
        }                                                                       \
    } while (0)

    for (;;) {
        if (ERGO_UNLIKELY(p >= end))
            goto truncated;
        NEED_NODES(1);
        switch (*p) {
        case ERGO_ETF_TAG_SMALL_INTEGER:
            NEED(2);
            put(nd++, ERGO_ETF_K_INT, 0, 0, 0, p[1]);
            p += 2;
            break;
        case ERGO_ETF_TAG_INTEGER:
            NEED(5);
            put(nd++, ERGO_ETF_K_INT, 0, 0, 0, (uint64_t)(int64_t)(int32_t)ergo_be32(p + 1));
            p += 5;
            break;
        case ERGO_ETF_TAG_SMALL_ATOM_UTF8: {
            /* the common atom form, inline */
            NEED(2);
            size_t len = p[1];
            NEED(2 + len);
            const uint8_t *s = p + 2;
            if (ERGO_UNLIKELY(len > max_atom_chars || !ergo_utf8_is_ascii(s, len))) {
                if ((rc = check_atom_text(max_atom_chars, s, len, 0)) != 0)
                    goto fail;
            }
            put(nd++, ERGO_ETF_K_ATOM, 0, 0, (uint32_t)len, (uint64_t)(s - base));
            p = s + len;
            break;
        }
        case ERGO_ETF_TAG_ATOM_UTF8:
        case ERGO_ETF_TAG_SMALL_ATOM:
        case ERGO_ETF_TAG_ATOM:
        case ERGO_ETF_TAG_ATOM_CACHE_REF: {
            const uint8_t *q = atom_at(base, max_atom_chars, cache_refs, p, end, nd, &rc);
            if (ERGO_UNLIKELY(!q))
                goto fail;
            p = q;
            nd++;
            break;
        }
        case ERGO_ETF_TAG_BINARY: {
            NEED(5);
            uint32_t len = ergo_be32(p + 1);
            if (ERGO_UNLIKELY((size_t)(end - p) - 5 < len))
                goto truncated;
            put(nd++, ERGO_ETF_K_BINARY, 0, 0, len, (uint64_t)(p + 5 - base));
            p += 5 + (size_t)len;
            break;
        }
        case ERGO_ETF_TAG_SMALL_TUPLE:
            NEED(2);
            k = p[1];
            put(nd++, ERGO_ETF_K_TUPLE, 0, 0, (uint32_t)k, 0);
            hdr = 2;
            if (k)
                goto open;
            p += 2;
            break;
        case ERGO_ETF_TAG_NIL:
            put(nd++, ERGO_ETF_K_NIL, 0, 0, 0, 0);
            p += 1;
            break;
        case ERGO_ETF_TAG_STRING: {
            NEED(3);
            size_t len = ergo_be16(p + 1);
            NEED(3 + len);
            put(nd++, ERGO_ETF_K_STRING, 0, 0, (uint32_t)len, (uint64_t)(p + 3 - base));
            p += 3 + len;
            break;
        }
        case ERGO_ETF_TAG_LIST: {
            NEED(5);
            uint32_t n = ergo_be32(p + 1);
            if (ERGO_UNLIKELY(n == 0)) {
                p += 5;
                continue; /* as ERTS: [ | Tail] with no elements is Tail */
            }
            put(nd++, ERGO_ETF_K_LIST, 0, 0, n, 0);
            k = (uint64_t)n + 1; /* the elements, then the tail */
            hdr = 5;
            goto open;
        }
        case ERGO_ETF_TAG_MAP: {
            NEED(5);
            uint32_t n = ergo_be32(p + 1);
            put(nd++, ERGO_ETF_K_MAP, 0, 0, n, 0);
            k = (uint64_t)n * 2;
            hdr = 5;
            if (k)
                goto open;
            p += 5;
            break;
        }
        case ERGO_ETF_TAG_LARGE_TUPLE:
            NEED(5);
            k = ergo_be32(p + 1);
            put(nd++, ERGO_ETF_K_TUPLE, 0, 0, (uint32_t)k, 0);
            hdr = 5;
            if (k)
                goto open;
            p += 5;
            break;
        case ERGO_ETF_TAG_NEW_FLOAT: {
            NEED(9);
            uint64_t bits = ergo_be64(p + 1);
            if (ERGO_UNLIKELY((bits & UINT64_C(0x7FF0000000000000)) == UINT64_C(0x7FF0000000000000))) {
                rc = ERGO_ETF_E_VALUE; /* inf and NaN are not Erlang floats */
                goto fail;
            }
            put(nd++, ERGO_ETF_K_FLOAT, 0, 0, 0, bits);
            p += 9;
            break;
        }
        case ERGO_ETF_TAG_SMALL_BIG: {
            NEED(3);
            size_t n = p[1];
            NEED(3 + n);
            big_node(d, nd++, p + 3, n, p[2] != 0);
            p += 3 + n;
            break;
        }
        case ERGO_ETF_TAG_LARGE_BIG: {
            NEED(6);
            uint32_t n = ergo_be32(p + 1);
            if (ERGO_UNLIKELY((size_t)(end - p) - 6 < n))
                goto truncated;
            big_node(d, nd++, p + 6, n, p[5] != 0);
            p += 6 + (size_t)n;
            break;
        }
        case ERGO_ETF_TAG_NEW_PID:
        case ERGO_ETF_TAG_PID: {
            NEED_NODES(2);
            const uint8_t *errp = p;
            const uint8_t *q = pid_at(d, p, end, nd, &rc, &errp);
            if (ERGO_UNLIKELY(!q)) {
                p = errp;
                goto fail;
            }
            p = q;
            nd += 2;
            break;
        }
        case ERGO_ETF_TAG_BIT_BINARY: {
            NEED(6);
            uint32_t len = ergo_be32(p + 1);
            unsigned bits = p[5];
            if (ERGO_UNLIKELY((size_t)(end - p) - 6 < len))
                goto truncated;
            if (len == 0 && bits == 0) {
                /* ERTS reads <<>> this way: an empty binary */
                put(nd++, ERGO_ETF_K_BINARY, 0, 0, 0, (uint64_t)(p + 6 - base));
            } else if (ERGO_UNLIKELY(len == 0 || bits == 0 || bits > 8)) {
                rc = ERGO_ETF_E_VALUE;
                goto fail;
            } else if (bits == 8) {
                /* whole bytes: a binary, as ERTS reads it */
                put(nd++, ERGO_ETF_K_BINARY, 0, 0, len, (uint64_t)(p + 6 - base));
            } else {
                put(nd++, ERGO_ETF_K_BITS, 0, bits, len, (uint64_t)(p + 6 - base));
            }
            p += 6 + (size_t)len;
            break;
        }
        case ERGO_ETF_TAG_FLOAT: {
            NEED(32);
            double v;
            if ((rc = old_float(p + 1, &v)) != 0)
                goto fail;
            nd->kind = ERGO_ETF_K_FLOAT;
            nd->flags = 0;
            nd->aux = 0;
            nd->size = 0;
            nd->v.f = v;
            nd++;
            p += 32;
            break;
        }
        case ERGO_ETF_TAG_PORT:
        case ERGO_ETF_TAG_NEW_PORT:
        case ERGO_ETF_TAG_V4_PORT:
        case ERGO_ETF_TAG_REFERENCE:
        case ERGO_ETF_TAG_NEW_REFERENCE:
        case ERGO_ETF_TAG_NEWER_REFERENCE:
        case ERGO_ETF_TAG_EXPORT: {
            NEED_NODES(4);
            const uint8_t *errp = p;
            size_t used = 0;
            const uint8_t *q = compound_at(d, p, end, nd, &used, NULL, &rc, &errp);
            if (!q) {
                p = errp;
                goto fail;
            }
            p = q;
            nd += used;
            break;
        }
        case ERGO_ETF_TAG_NEW_FUN: {
            NEED_NODES(6);
            const uint8_t *errp = p;
            size_t used = 0;
            uint32_t nfree = 0;
            const uint8_t *q = compound_at(d, p, end, nd, &used, &nfree, &rc, &errp);
            if (!q) {
                p = errp;
                goto fail;
            }
            if (nfree == 0) {
                if (q != p + 1 + ergo_be32(p + 1)) {
                    rc = ERGO_ETF_E_VALUE; /* Size does not match the fields */
                    goto fail;
                }
                p = q;
                nd += used;
                break;
            }
            /* Free variables follow; the fun's Size is checked when they end. */
            if (ERGO_UNLIKELY(nfree > (size_t)(end - q)))
                goto truncated;
            if (ERGO_UNLIKELY(nfree > MAX_NODES_CAP)) {
                rc = ERGO_ETF_E_LIMIT;
                goto fail;
            }
            if (ERGO_UNLIKELY(depth >= max_depth)) {
                rc = ERGO_ETF_E_DEPTH;
                goto fail;
            }
            if (ERGO_UNLIKELY(sp + 2 > scap)) {
                if ((rc = grow_stack(t, sp + 2)) != 0)
                    goto fail;
                stack = t->stack;
                scap = t->stack_cap;
            }
            stack[sp++] = (uint32_t)(nd - nodes);
            stack[sp++] = (pending - 1) | FUN_MARK;
            depth++;
            pending = nfree;
            p = q;
            nd += used;
            continue;
        }
        case ERGO_ETF_TAG_FUN:
            rc = ERGO_ETF_E_UNSUPPORTED;
            goto fail;
        case ERGO_ETF_TAG_LOCAL:
            rc = ERGO_ETF_E_LOCAL;
            goto fail;
        default:
            rc = ERGO_ETF_E_TAG;
            goto fail;
        }

        /* A whole term is done: close every container it completes. */
        if (ERGO_LIKELY(--pending != 0))
            continue;
        for (;;) {
            if (sp == 0)
                goto done;
            uint32_t x = stack[--sp];
            depth--;
            if (ERGO_UNLIKELY(x & FUN_MARK)) {
                const ergo_etf_node *fun = nodes + stack[--sp];
                const uint8_t *ftag = base + fun->v.off - 6;
                if (p != ftag + 1 + ergo_be32(ftag + 1)) {
                    p = ftag;
                    rc = ERGO_ETF_E_VALUE;
                    goto fail;
                }
                x &= ~FUN_MARK;
            }
            if (x) {
                pending = x;
                break;
            }
        }
        continue;

    open:
        /* A container with k children: every child takes at least a byte. */
        if (ERGO_UNLIKELY(k > (size_t)(end - p) - hdr))
            goto truncated;
        if (ERGO_UNLIKELY(k > MAX_NODES_CAP)) {
            rc = ERGO_ETF_E_LIMIT;
            goto fail;
        }
        if (ERGO_UNLIKELY(depth >= max_depth)) {
            rc = ERGO_ETF_E_DEPTH;
            goto fail;
        }
        if (ERGO_UNLIKELY(sp >= scap)) {
            if ((rc = grow_stack(t, sp + 1)) != 0)
                goto fail;
            stack = t->stack;
            scap = t->stack_cap;
        }
        stack[sp++] = pending - 1;
        depth++;
        pending = (uint32_t)k;
        p += hdr;
    }

done:
    t->count = (size_t)(nd - nodes);
    *endp = p;
    return 0;
truncated:
    rc = ERGO_ETF_E_TRUNCATED;
fail:
    t->count = 0;
    *endp = p;
    return rc;
#undef NEED
#undef NEED_NODES
}
/* ---- Entry points --------------------------------------------------------------- */

/* A COMPRESSED term at buf[pos] (tag 80): inflate it into tape->inflated.
 * *total receives the input bytes used up to the end of the zlib stream. */
static ERGO_NOINLINE int inflate_term(ergo_etf_tape *tape, const uint8_t *buf, size_t len,
                                      size_t pos, size_t *size_out, size_t *total)
{
    /* 80, UncompressedSize, zlib stream of the term (without 131) */
    tape->error_offset = pos;
    if (len - pos < 5)
        return ERGO_ETF_E_TRUNCATED;
    uint32_t size = ergo_be32(buf + pos + 1);
    uint64_t max_inflated = tape->limits.max_inflated ? tape->limits.max_inflated
                                                      : DEFAULT_MAX_INFLATED;
    size_t in_len = len - pos - 5;
    if (size > max_inflated)
        return ERGO_ETF_E_BOMB;
    if (size == 0)
        return ERGO_ETF_E_COMPRESSED;
    /* Deflate expands at most 1032:1; a bigger claim cannot be met by the
     * bytes at hand, so nothing is allocated for it. */
    if ((size - 1) / 1032 > in_len)
        return ERGO_ETF_E_TRUNCATED;
    if (tape->inflated_cap < size) {
        uint8_t *b = realloc(tape->inflated, size);
        if (!b)
            return ERGO_ETF_E_NOMEM;
        tape->inflated = b;
        tape->inflated_cap = size;
    }
    size_t consumed = 0;
    int rc = ergo_etf_inflate_exact(buf + pos + 5, in_len, tape->inflated, size, &consumed);
    if (rc)
        return rc;
    *size_out = size;
    *total = pos + 5 + consumed;
    return 0;
}

int ergo_etf_decode(ergo_etf_tape *tape, const uint8_t *buf, size_t len, unsigned flags,
                    size_t *used)
{
    dec d;
    const ergo_etf_limits *lim = &tape->limits;
    d.t = tape;
    d.max_depth = lim->max_depth ? lim->max_depth : DEFAULT_MAX_DEPTH;
    d.max_atom_chars = lim->max_atom_chars ? lim->max_atom_chars : DEFAULT_MAX_ATOM_CHARS;
    uint64_t mn = lim->max_nodes ? lim->max_nodes : DEFAULT_MAX_NODES;
    d.max_nodes = (size_t)(mn < MAX_NODES_CAP ? mn : MAX_NODES_CAP);
    d.cache_refs = lim->atom_cache_refs;

    tape->count = 0;
    tape->error_offset = 0;
    tape->data = buf;
    tape->data_len = len;

    if (ERGO_UNLIKELY(len == 0))
        return ERGO_ETF_E_TRUNCATED; /* (buf may then be NULL) */
    size_t pos = 0;
    if (!(flags & ERGO_ETF_DECODE_NO_VERSION)) {
        if (ERGO_UNLIKELY(buf[0] != ERGO_ETF_VERSION))
            return ERGO_ETF_E_VERSION;
        pos = 1;
    }

    /* The term: the input, or for COMPRESSED the inflated bytes, which must
     * then hold exactly one term. */
    const uint8_t *start = buf + pos, *stop = buf + len;
    size_t total = 0; /* compressed: input used */
    if (ERGO_UNLIKELY(pos < len && buf[pos] == ERGO_ETF_TAG_COMPRESSED)) {
        size_t size = 0;
        int rc = inflate_term(tape, buf, len, pos, &size, &total);
        if (rc)
            return rc;
        if (total != len && !(flags & ERGO_ETF_DECODE_PREFIX)) {
            tape->error_offset = total;
            return ERGO_ETF_E_TRAILING;
        }
        tape->error_offset = 0;
        tape->data = start = tape->inflated;
        tape->data_len = size;
        stop = start + size;
    }
    d.base = tape->data;

    const uint8_t *endp;
    int rc = decode_term(&d, start, stop, &endp);
    if (ERGO_UNLIKELY(rc != 0)) {
        tape->error_offset = (size_t)(endp - d.base);
        return rc;
    }
    if (ERGO_UNLIKELY(endp != stop) && (total || !(flags & ERGO_ETF_DECODE_PREFIX))) {
        tape->count = 0;
        tape->error_offset = (size_t)(endp - d.base);
        return ERGO_ETF_E_TRAILING;
    }
    if (used)
        *used = total ? total : (size_t)(endp - buf);
    return 0;
}

/* Children that follow a node directly in pre-order. */
static uint64_t child_count(const ergo_etf_node *n)
{
    switch (n->kind) {
    case ERGO_ETF_K_TUPLE: return n->size;
    case ERGO_ETF_K_LIST: return (uint64_t)n->size + 1;
    case ERGO_ETF_K_MAP: return (uint64_t)n->size * 2;
    case ERGO_ETF_K_PID:
    case ERGO_ETF_K_PORT:
    case ERGO_ETF_K_REF: return 1;
    case ERGO_ETF_K_EXPORT: return 3;
    case ERGO_ETF_K_FUN: return (uint64_t)n->size + 4;
    default: return 0;
    }
}

size_t ergo_etf_tape_skip(const ergo_etf_tape *tape, size_t index)
{
    uint64_t pending = 1;
    size_t i = index;
    while (pending && i < tape->count) {
        pending += child_count(&tape->nodes[i]);
        pending--;
        i++;
    }
    return i;
}
