/*
 * dist_send.c — the send side of the distribution header: the per-message
 * atom table, the connection's send atom cache, the 'D' header writer and
 * the fragmenter ('E' then 'F' packets).
 *
 * How it fits together. While encoding a message (on any thread), the
 * sender collects the atoms it wants cached in an ergo_dist_tx_atoms table
 * and writes ATOM_CACHE_REF(i) for them (ergo_etf_encode_atom_cache_ref);
 * the table fixes each atom's slot (a hash of its text), refusing an atom
 * whose slot another atom of the same message has (that one is written as a
 * plain atom). Whether a reference is a new entry (text sent) or an old one
 * (index only) depends on what the peer has already seen, so it is decided
 * by ergo_dist_header_encode / ergo_dist_encode_message against the
 * connection's ergo_dist_tx_cache, at the point where the packet's place
 * on the wire is fixed; those calls update the cache.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ergo_dist.h"
#include "etf_internal.h"

void ergo_dist_tx_cache_init(ergo_dist_tx_cache *c)
{
    memset(c, 0, sizeof *c);
    c->next_sequence = 1;
}

void ergo_dist_tx_cache_free(ergo_dist_tx_cache *c)
{
    for (size_t i = 0; i < ERGO_DIST_ATOM_CACHE_SIZE; i++)
        free(c->text[i]);
    ergo_dist_tx_cache_init(c);
}

/* FNV-1a over the text, folded into 11 bits. */
uint16_t ergo_dist_atom_slot(const uint8_t *text, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= text[i];
        h *= 16777619u;
    }
    h ^= h >> 11;
    h ^= h >> 22;
    return (uint16_t)(h % ERGO_DIST_ATOM_CACHE_SIZE);
}

void ergo_dist_tx_atoms_reset(ergo_dist_tx_atoms *t)
{
    t->count = 0;
    t->reserved = 0;
}

int ergo_dist_tx_atoms_add(ergo_dist_tx_atoms *t, const uint8_t *text, size_t len)
{
    if (len > 65535)
        return -1;
    uint16_t slot = ergo_dist_atom_slot(text, len);
    for (uint32_t i = 0; i < t->count; i++) {
        if (t->atoms[i].slot == slot) {
            if (t->atoms[i].len == len && (len == 0 || memcmp(t->atoms[i].text, text, len) == 0))
                return (int)i;
            return -1;   /* another atom of this message has the slot */
        }
    }
    if (t->count >= ERGO_DIST_MAX_ATOM_REFS)
        return -1;
    ergo_dist_atom *a = &t->atoms[t->count];
    a->text = text;
    a->len = (uint32_t)len;
    a->slot = slot;
    a->utf8 = 1;
    a->reserved = 0;
    return (int)t->count++;
}

static int cached(const ergo_dist_tx_cache *c, const ergo_dist_atom *a)
{
    return c->used[a->slot] && c->len[a->slot] == a->len &&
           (a->len == 0 || memcmp(c->text[a->slot], a->text, a->len) == 0);
}

/* Check the table and make room in the cache for its new entries (changes
 * no contents). */
static int prepare(ergo_dist_tx_cache *c, const ergo_dist_tx_atoms *t)
{
    if (t->count > ERGO_DIST_MAX_ATOM_REFS)
        return ERGO_DIST_E_ARG;
    for (uint32_t i = 0; i < t->count; i++) {
        const ergo_dist_atom *a = &t->atoms[i];
        if (a->slot >= ERGO_DIST_ATOM_CACHE_SIZE || a->len > 65535)
            return ERGO_DIST_E_ARG;
        for (uint32_t j = 0; j < i; j++)
            if (t->atoms[j].slot == a->slot)
                return ERGO_DIST_E_ARG;
        if (!cached(c, a) && a->len > c->cap[a->slot]) {
            uint8_t *p = realloc(c->text[a->slot], a->len);
            if (!p)
                return ERGO_DIST_E_NOMEM;
            c->text[a->slot] = p;
            c->cap[a->slot] = (uint16_t)a->len;
        }
    }
    return ERGO_DIST_OK;
}

/* NumberOfAtomCacheRefs, Flags, AtomCacheRefs. `fresh` receives which refs
 * are new entries (applied to the cache by commit() once the bytes are
 * written). */
static void write_refs(const ergo_dist_tx_cache *c, const ergo_dist_tx_atoms *t,
                       ergo_etf_buf *b, uint8_t fresh[ERGO_DIST_MAX_ATOM_REFS])
{
    uint8_t n = (uint8_t)t->count;
    ergo_etf_encode_raw(b, &n, 1);
    if (n == 0)
        return;
    uint8_t flags[ERGO_DIST_MAX_ATOM_REFS / 2 + 1];
    memset(flags, 0, sizeof flags);
    int long_atoms = 0;
    for (unsigned i = 0; i < n; i++) {
        const ergo_dist_atom *a = &t->atoms[i];
        fresh[i] = !cached(c, a);
        if (fresh[i] && a->len > 255)
            long_atoms = 1;
        unsigned h = (fresh[i] ? 8u : 0u) | (unsigned)(a->slot >> 8);
        flags[i >> 1] |= (uint8_t)(h << ((i & 1) * 4));
    }
    if (long_atoms)
        flags[n >> 1] |= (uint8_t)(1u << ((n & 1) * 4));
    ergo_etf_encode_raw(b, flags, n / 2 + 1);
    for (unsigned i = 0; i < n; i++) {
        const ergo_dist_atom *a = &t->atoms[i];
        uint8_t r[3];
        r[0] = (uint8_t)(a->slot & 0xFF);
        size_t k = 1;
        if (fresh[i]) {
            if (long_atoms) {
                ergo_put16(r + 1, (uint16_t)a->len);
                k = 3;
            } else {
                r[1] = (uint8_t)a->len;
                k = 2;
            }
        }
        ergo_etf_encode_raw(b, r, k);
        if (fresh[i])
            ergo_etf_encode_raw(b, a->text, a->len);
    }
}

static void commit(ergo_dist_tx_cache *c, const ergo_dist_tx_atoms *t,
                   const uint8_t fresh[ERGO_DIST_MAX_ATOM_REFS])
{
    for (uint32_t i = 0; i < t->count; i++) {
        const ergo_dist_atom *a = &t->atoms[i];
        if (!fresh[i])
            continue;
        if (a->len)
            memcpy(c->text[a->slot], a->text, a->len);
        c->len[a->slot] = (uint16_t)a->len;
        c->used[a->slot] = 1;
    }
}

int ergo_dist_header_encode(ergo_dist_tx_cache *c, const ergo_dist_tx_atoms *atoms,
                            ergo_etf_buf *out)
{
    int rc = prepare(c, atoms);
    if (rc)
        return rc;
    uint8_t fresh[ERGO_DIST_MAX_ATOM_REFS];
    uint8_t h[2] = {ERGO_ETF_VERSION, ERGO_DIST_HDR_NORMAL};
    ergo_etf_encode_raw(out, h, 2);
    write_refs(c, atoms, out, fresh);
    if (out->error)
        return out->error;
    commit(c, atoms, fresh);
    return ERGO_DIST_OK;
}

/* Reserve a 4-byte length; returns its position. */
static size_t open_packet(ergo_etf_buf *b)
{
    static const uint8_t zero[4];
    size_t at = b->len;
    ergo_etf_encode_raw(b, zero, 4);
    return at;
}

/* The packet's length: own bytes after its header plus bytes lent. */
static void close_packet(ergo_etf_buf *b, size_t at)
{
    if (!b->error && !b->sizing)
        ergo_put32(b->data + at, (uint32_t)(b->len - at - 4 + ergo_etf_ref_bytes_after(b, at)));
}

static int encode_message(ergo_dist_tx_cache *c, const ergo_dist_tx_atoms *atoms,
                          const uint8_t *body, size_t body_len, size_t max_fragment,
                          ergo_etf_buf *out, size_t *npackets, bool by_ref);

int ergo_dist_encode_message(ergo_dist_tx_cache *c, const ergo_dist_tx_atoms *atoms,
                             const uint8_t *body, size_t body_len, size_t max_fragment,
                             ergo_etf_buf *out, size_t *npackets)
{
    return encode_message(c, atoms, body, body_len, max_fragment, out, npackets, false);
}

int ergo_dist_encode_message_ref(ergo_dist_tx_cache *c, const ergo_dist_tx_atoms *atoms,
                                 const uint8_t *body, size_t body_len, size_t max_fragment,
                                 ergo_etf_buf *out, size_t *npackets)
{
    return encode_message(c, atoms, body, body_len, max_fragment, out, npackets, true);
}

static int encode_message(ergo_dist_tx_cache *c, const ergo_dist_tx_atoms *atoms,
                          const uint8_t *body, size_t body_len, size_t max_fragment,
                          ergo_etf_buf *out, size_t *npackets, bool by_ref)
{
    int (*put)(ergo_etf_buf *, const void *, size_t) =
        by_ref ? ergo_etf_encode_raw_ref : ergo_etf_encode_raw;
    if (body_len == 0 || max_fragment > UINT32_MAX / 2)
        return ERGO_DIST_E_ARG;
    int rc = prepare(c, atoms);
    if (rc)
        return rc;
    uint8_t fresh[ERGO_DIST_MAX_ATOM_REFS];
    size_t packets, start = out->len;
    if (max_fragment == 0 || body_len <= max_fragment) {
        size_t at = open_packet(out);
        uint8_t h[2] = {ERGO_ETF_VERSION, ERGO_DIST_HDR_NORMAL};
        ergo_etf_encode_raw(out, h, 2);
        write_refs(c, atoms, out, fresh);
        if (!out->error && body_len > UINT32_MAX - (out->len - at - 4)) { /* before lending */
            out->len = start; /* only raw bytes were appended: no references to undo */
            return ERGO_DIST_E_ARG;
        }
        put(out, body, body_len);
        if (!out->error && out->len - at - 4 > UINT32_MAX) {
            out->len = start;   /* only raw bytes were appended: no references to undo */
            return ERGO_DIST_E_ARG;
        }
        close_packet(out, at);
        packets = 1;
    } else {
        packets = body_len / max_fragment + (body_len % max_fragment != 0);
        uint64_t seq = c->next_sequence++;
        size_t off = 0;
        for (size_t k = packets; k >= 1; k--) {
            size_t chunk = body_len - off < max_fragment ? body_len - off : max_fragment;
            size_t at = open_packet(out);
            uint8_t h[18];
            h[0] = ERGO_ETF_VERSION;
            h[1] = k == packets ? ERGO_DIST_HDR_FRAGMENT_START : ERGO_DIST_HDR_FRAGMENT_CONT;
            ergo_put64(h + 2, seq);
            ergo_put64(h + 10, (uint64_t)k);
            ergo_etf_encode_raw(out, h, 18);
            if (k == packets)
                write_refs(c, atoms, out, fresh);
            put(out, body + off, chunk);
            close_packet(out, at);
            off += chunk;
            if (out->error)
                break;
        }
    }
    if (out->error)
        return out->error;
    commit(c, atoms, fresh);
    if (npackets)
        *npackets = packets;
    return ERGO_DIST_OK;
}
