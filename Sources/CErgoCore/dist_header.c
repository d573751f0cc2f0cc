/*
 * dist_header.c — the receive side of the distribution header: the
 * connection's atom cache, the header parser ('D', 'E', 'F' and the
 * pass-through 112 form) and fragment reassembly (ERTS User's Guide,
 * "External Term Format", Distribution Header).
 */
#include <stdlib.h>
#include <string.h>

#include "ergo_dist.h"
#include "etf_internal.h"

#define DEFAULT_MAX_ATOM_BYTES 1020u          /* 255 characters of 4 bytes */
#define DEFAULT_RX_MAX_BYTES (UINT64_C(64) << 20)
#define DEFAULT_RX_MAX_SEQS 64u

/* ---- the atom cache ----------------------------------------------------------- */

void ergo_dist_rx_cache_init(ergo_dist_rx_cache *c, uint32_t max_atom_bytes)
{
    memset(c, 0, sizeof *c);
    if (max_atom_bytes == 0)
        max_atom_bytes = DEFAULT_MAX_ATOM_BYTES;
    c->max_atom_bytes = max_atom_bytes > 65535 ? 65535 : max_atom_bytes;
    c->utf8 = 1;
}

void ergo_dist_rx_cache_free(ergo_dist_rx_cache *c)
{
    for (size_t i = 0; i < ERGO_DIST_ATOM_CACHE_SIZE; i++)
        free(c->text[i]);
    uint32_t max = c->max_atom_bytes;
    uint8_t utf8 = c->utf8;
    memset(c, 0, sizeof *c);
    c->max_atom_bytes = max;
    c->utf8 = utf8;
}

/* Half-byte flag i of the flags field. */
static unsigned half_flag(const uint8_t *flags, unsigned i)
{
    return (flags[i >> 1] >> ((i & 1) * 4)) & 0xFu;
}

/* One parsed reference before it is applied. */
typedef struct pending_ref {
    const uint8_t *text;   /* new entries: the text in the packet */
    uint16_t len;
    uint16_t slot;
    uint8_t is_new;
} pending_ref;

/* The atom cache part of a header at pkt[p..len): NumberOfAtomCacheRefs,
 * Flags, AtomCacheRefs. Validates everything, then applies the new entries.
 * *end receives the offset after it. */
static int parse_cache_refs(ergo_dist_rx_cache *c, const uint8_t *pkt, size_t len, size_t p,
                            ergo_dist_header *out, size_t *end)
{
    if (p >= len)
        return ERGO_DIST_E_MALFORMED;
    unsigned n = pkt[p++];
    out->nrefs = 0;
    if (n == 0) {
        *end = p;
        return ERGO_DIST_OK;
    }
    size_t flen = n / 2 + 1;
    if (len - p < flen)
        return ERGO_DIST_E_MALFORMED;
    const uint8_t *flags = pkt + p;
    p += flen;
    int long_atoms = half_flag(flags, n) & 1;

    pending_ref refs[ERGO_DIST_MAX_ATOM_REFS];
    uint8_t seen[ERGO_DIST_ATOM_CACHE_SIZE / 8];
    memset(seen, 0, sizeof seen);
    for (unsigned i = 0; i < n; i++) {
        unsigned h = half_flag(flags, i);
        if (p >= len)
            return ERGO_DIST_E_MALFORMED;
        unsigned slot = (h & 7u) << 8 | pkt[p++];
        if (seen[slot >> 3] & (1u << (slot & 7)))
            return ERGO_DIST_E_ATOM_CACHE;
        seen[slot >> 3] |= (uint8_t)(1u << (slot & 7));
        refs[i].slot = (uint16_t)slot;
        refs[i].is_new = (h & 8u) != 0;
        refs[i].text = NULL;
        refs[i].len = 0;
        if (refs[i].is_new) {
            size_t alen;
            if (long_atoms) {
                if (len - p < 2)
                    return ERGO_DIST_E_MALFORMED;
                alen = ergo_be16(pkt + p);
                p += 2;
            } else {
                if (len - p < 1)
                    return ERGO_DIST_E_MALFORMED;
                alen = pkt[p++];
            }
            if (len - p < alen)
                return ERGO_DIST_E_MALFORMED;
            if (alen > c->max_atom_bytes)
                return ERGO_DIST_E_LIMIT;
            if (c->utf8) {
                long chars = ergo_utf8_count(pkt + p, alen);
                if (chars < 0)
                    return ERGO_ETF_E_UTF8;
                if (chars > 255)
                    return ERGO_DIST_E_LIMIT;
            } else if (alen > 255) {
                return ERGO_DIST_E_LIMIT;
            }
            refs[i].text = pkt + p;
            refs[i].len = (uint16_t)alen;
            p += alen;
        } else if (!c->used[slot]) {
            return ERGO_DIST_E_ATOM_CACHE;
        }
    }
    /* Grow the slots first, so that a failed allocation changes nothing. */
    for (unsigned i = 0; i < n; i++) {
        unsigned s = refs[i].slot;
        if (refs[i].is_new && refs[i].len > c->cap[s]) {
            size_t cap = refs[i].len < 16 ? 16 : refs[i].len;
            if (cap > c->max_atom_bytes)
                cap = refs[i].len;
            uint8_t *t = realloc(c->text[s], cap);
            if (!t)
                return ERGO_DIST_E_NOMEM;
            c->text[s] = t;
            c->cap[s] = (uint16_t)cap;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        unsigned s = refs[i].slot;
        if (refs[i].is_new) {
            if (refs[i].len)
                memcpy(c->text[s], refs[i].text, refs[i].len);
            c->len[s] = refs[i].len;
            c->used[s] = 1;
        }
        out->refs[i].text = c->text[s];
        out->refs[i].len = c->len[s];
        out->refs[i].slot = (uint16_t)s;
        out->refs[i].utf8 = c->utf8;
        out->refs[i].reserved = 0;
    }
    out->nrefs = n;
    *end = p;
    return ERGO_DIST_OK;
}

int ergo_dist_header_parse(ergo_dist_rx_cache *c, const uint8_t *pkt, size_t len,
                           ergo_dist_header *out)
{
    out->sequence_id = 0;
    out->fragment_id = 0;
    out->body_offset = 0;
    out->nrefs = 0;
    out->kind = 0;
    memset(out->reserved, 0, sizeof out->reserved);
    if (len < 1)
        return ERGO_DIST_E_MALFORMED;
    if (pkt[0] == ERGO_DIST_HDR_PASS_THROUGH) {
        out->kind = ERGO_DIST_HDR_PASS_THROUGH;
        out->body_offset = 1;
        return ERGO_DIST_OK;
    }
    if (pkt[0] != ERGO_ETF_VERSION)
        return ERGO_DIST_E_TAG;
    if (len < 2)
        return ERGO_DIST_E_MALFORMED;
    size_t p = 2, end;
    int rc;
    switch (pkt[1]) {
    case ERGO_DIST_HDR_NORMAL:
        rc = parse_cache_refs(c, pkt, len, p, out, &end);
        break;
    case ERGO_DIST_HDR_FRAGMENT_START:
    case ERGO_DIST_HDR_FRAGMENT_CONT:
        if (len < 18)
            return ERGO_DIST_E_MALFORMED;
        out->sequence_id = ergo_be64(pkt + 2);
        out->fragment_id = ergo_be64(pkt + 10);
        if (out->fragment_id == 0)
            return ERGO_DIST_E_FRAGMENT;
        if (pkt[1] == ERGO_DIST_HDR_FRAGMENT_CONT) {
            end = 18;
            rc = ERGO_DIST_OK;
        } else {
            rc = parse_cache_refs(c, pkt, len, 18, out, &end);
        }
        break;
    default:
        return ERGO_DIST_E_TAG;
    }
    if (rc != ERGO_DIST_OK) {
        out->nrefs = 0;
        return rc;
    }
    out->kind = pkt[1];
    out->body_offset = end;
    return ERGO_DIST_OK;
}

/* ---- reassembly ------------------------------------------------------------------ */

struct ergo_dist_rx_seq {
    uint64_t id;
    uint64_t next_fragment;  /* the fragment id expected next */
    uint8_t *data;           /* control message and payload so far */
    size_t len, cap;
    ergo_dist_atom *refs;    /* one block: nrefs entries, then their text */
    size_t refs_bytes;
    uint32_t nrefs;
    uint8_t active;
};

void ergo_dist_rx_init(ergo_dist_rx *rx, const ergo_dist_rx_limits *limits, uint32_t max_atom_bytes)
{
    memset(rx, 0, sizeof *rx);
    ergo_dist_rx_cache_init(&rx->cache, max_atom_bytes);
    if (limits)
        rx->limits = *limits;
    if (rx->limits.max_bytes == 0)
        rx->limits.max_bytes = DEFAULT_RX_MAX_BYTES;
    if (rx->limits.max_sequences == 0)
        rx->limits.max_sequences = DEFAULT_RX_MAX_SEQS;
}

static void seq_release(ergo_dist_rx *rx, ergo_dist_rx_seq *s)
{
    rx->bytes -= s->cap + s->refs_bytes;
    free(s->data);
    free(s->refs);
    memset(s, 0, sizeof *s);
    rx->nseqs--;
}

void ergo_dist_rx_free(ergo_dist_rx *rx)
{
    if (rx->seqs) {
        for (uint32_t i = 0; i < rx->limits.max_sequences; i++) {
            free(rx->seqs[i].data);
            free(rx->seqs[i].refs);
        }
        free(rx->seqs);
    }
    ergo_dist_rx_cache_free(&rx->cache);
    rx->seqs = NULL;
    rx->nseqs = 0;
    rx->done = 0;
    rx->bytes = 0;
}

/* Append to a sequence's data within the in-flight limit. */
static int seq_append(ergo_dist_rx *rx, ergo_dist_rx_seq *s, const uint8_t *p, size_t n)
{
    if (n > s->cap - s->len) {
        uint64_t room = rx->limits.max_bytes - rx->bytes;   /* bytes <= max_bytes always */
        size_t need = s->len + n;
        if (need < s->len || (uint64_t)(need - s->cap) > room)
            return ERGO_DIST_E_LIMIT;
        size_t cap = s->cap ? s->cap : 256;
        while (cap < need)
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        if ((uint64_t)(cap - s->cap) > room)
            cap = need;
        uint8_t *d = realloc(s->data, cap);
        if (!d)
            return ERGO_DIST_E_NOMEM;
        rx->bytes += cap - s->cap;
        s->data = d;
        s->cap = cap;
    }
    if (n)
        memcpy(s->data + s->len, p, n);
    s->len += n;
    return ERGO_DIST_OK;
}

static ergo_dist_rx_seq *seq_find(ergo_dist_rx *rx, uint64_t id)
{
    if (!rx->seqs)
        return NULL;
    for (uint32_t i = 0; i < rx->limits.max_sequences; i++)
        if (rx->seqs[i].active && rx->seqs[i].id == id)
            return &rx->seqs[i];
    return NULL;
}

/* A new sequence from an 'E' packet whose header is in rx->hdr: copies the
 * atom table (the cache may change before the last fragment). */
static int seq_start(ergo_dist_rx *rx, const uint8_t *pkt, size_t len)
{
    const ergo_dist_header *h = &rx->hdr;
    if (seq_find(rx, h->sequence_id))
        return ERGO_DIST_E_FRAGMENT;
    if (rx->nseqs >= rx->limits.max_sequences)
        return ERGO_DIST_E_LIMIT;
    if (!rx->seqs) {
        rx->seqs = calloc(rx->limits.max_sequences, sizeof *rx->seqs);
        if (!rx->seqs)
            return ERGO_DIST_E_NOMEM;
    }
    ergo_dist_rx_seq *s = NULL;
    for (uint32_t i = 0; i < rx->limits.max_sequences; i++) {
        if (!rx->seqs[i].active) {
            s = &rx->seqs[i];
            break;
        }
    }
    if (!s)
        return ERGO_DIST_E_LIMIT;
    size_t text = 0;
    for (uint32_t i = 0; i < h->nrefs; i++)
        text += h->refs[i].len;
    size_t block = (size_t)h->nrefs * sizeof(ergo_dist_atom) + text;
    if (block > rx->limits.max_bytes - rx->bytes)
        return ERGO_DIST_E_LIMIT;
    memset(s, 0, sizeof *s);
    if (block) {
        s->refs = malloc(block);
        if (!s->refs)
            return ERGO_DIST_E_NOMEM;
        uint8_t *t = (uint8_t *)(s->refs + h->nrefs);
        for (uint32_t i = 0; i < h->nrefs; i++) {
            s->refs[i] = h->refs[i];
            if (h->refs[i].len)
                memcpy(t, h->refs[i].text, h->refs[i].len);
            s->refs[i].text = t;
            t += h->refs[i].len;
        }
    }
    s->refs_bytes = block;
    s->nrefs = h->nrefs;
    s->id = h->sequence_id;
    s->next_fragment = h->fragment_id - 1;
    s->active = 1;
    rx->bytes += block;
    rx->nseqs++;
    int rc = seq_append(rx, s, pkt + h->body_offset, len - (size_t)h->body_offset);
    if (rc != ERGO_DIST_OK)
        seq_release(rx, s);
    return rc;
}

int ergo_dist_rx_packet(ergo_dist_rx *rx, const uint8_t *pkt, size_t len, ergo_dist_message *msg)
{
    memset(msg, 0, sizeof *msg);
    if (rx->done) {
        seq_release(rx, &rx->seqs[rx->done - 1]);
        rx->done = 0;
    }
    ergo_dist_header *h = &rx->hdr;
    int rc = ergo_dist_header_parse(&rx->cache, pkt, len, h);
    if (rc != ERGO_DIST_OK)
        return rc;
    const uint8_t *body = pkt + h->body_offset;
    size_t blen = len - (size_t)h->body_offset;
    switch (h->kind) {
    case ERGO_DIST_HDR_PASS_THROUGH:
    case ERGO_DIST_HDR_NORMAL:
        if (blen == 0)
            return ERGO_DIST_E_MALFORMED;
        msg->data = body;
        msg->len = blen;
        msg->refs = h->refs;
        msg->nrefs = h->nrefs;
        msg->pass_through = h->kind == ERGO_DIST_HDR_PASS_THROUGH;
        return ERGO_DIST_OK;
    case ERGO_DIST_HDR_FRAGMENT_START:
        if (h->fragment_id == 1) {   /* a message in one fragment */
            if (seq_find(rx, h->sequence_id))
                return ERGO_DIST_E_FRAGMENT;
            if (blen == 0)
                return ERGO_DIST_E_MALFORMED;
            msg->data = body;
            msg->len = blen;
            msg->refs = h->refs;
            msg->nrefs = h->nrefs;
            return ERGO_DIST_OK;
        }
        rc = seq_start(rx, pkt, len);
        return rc == ERGO_DIST_OK ? ERGO_DIST_NEED_MORE : rc;
    default: { /* ERGO_DIST_HDR_FRAGMENT_CONT */
        ergo_dist_rx_seq *s = seq_find(rx, h->sequence_id);
        if (!s || h->fragment_id != s->next_fragment)
            return ERGO_DIST_E_FRAGMENT;
        rc = seq_append(rx, s, body, blen);
        if (rc != ERGO_DIST_OK)
            return rc;
        s->next_fragment--;
        if (h->fragment_id != 1)
            return ERGO_DIST_NEED_MORE;
        if (s->len == 0) {
            seq_release(rx, s);
            return ERGO_DIST_E_MALFORMED;
        }
        msg->data = s->data;
        msg->len = s->len;
        msg->refs = s->refs;
        msg->nrefs = s->nrefs;
        rx->done = (uint32_t)(s - rx->seqs) + 1;
        return ERGO_DIST_OK;
    }
    }
}
