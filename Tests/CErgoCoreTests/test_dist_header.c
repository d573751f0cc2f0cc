/*
 * test_dist_header.c — the distribution header and its atom cache: OTP 25's
 * packets, headers built by hand from the spec (0, 1, 2, 3 and 255 refs,
 * long atoms, new and cached entries), every truncation, bad references,
 * limits; the send side's header writer against the same hand-built bytes,
 * and an ETF term with ATOM_CACHE_REFs resolved through the table.
 */
#include "check.h"
#include "dist_vectors.h"
#include "ergo_dist.h"

static uint8_t pkt[1 << 20];

/* A header written straight from the spec, independently of dist_send.c:
 * 131 'D' N, N/2+1 flag bytes (ref i in half-byte i, low half first; the
 * LongAtoms bit in half-byte N), then per ref: InternalSegmentIndex, and for
 * a new entry the length (1 or 2 bytes) and the text. */
typedef struct spec_ref {
    uint16_t slot;
    int is_new;
    const char *text;
    size_t len;
} spec_ref;

static size_t spec_header(uint8_t *out, const spec_ref *r, unsigned n, int long_atoms)
{
    size_t p = 0;
    out[p++] = 131;
    out[p++] = 'D';
    out[p++] = (uint8_t)n;
    if (n == 0)
        return p;
    uint8_t *flags = out + p;
    memset(flags, 0, n / 2 + 1);
    for (unsigned i = 0; i <= n; i++) {
        unsigned h = i < n ? (unsigned)((r[i].is_new ? 8 : 0) | (r[i].slot >> 8)) : (unsigned)(long_atoms ? 1 : 0);
        if (i % 2 == 0)
            flags[i / 2] |= (uint8_t)h;
        else
            flags[i / 2] |= (uint8_t)(h << 4);
    }
    p += n / 2 + 1;
    for (unsigned i = 0; i < n; i++) {
        out[p++] = (uint8_t)(r[i].slot & 0xFF);
        if (r[i].is_new) {
            if (long_atoms) {
                out[p++] = (uint8_t)(r[i].len >> 8);
            }
            out[p++] = (uint8_t)r[i].len;
            memcpy(out + p, r[i].text, r[i].len);
            p += r[i].len;
        }
    }
    return p;
}

static int ref_is(const ergo_dist_atom *a, const char *text, uint16_t slot)
{
    return a->len == strlen(text) && memcmp(a->text, text, a->len) == 0 && a->slot == slot;
}

static void test_erlang_packets(void)
{
    ergo_dist_rx_cache c;
    ergo_dist_rx_cache_init(&c, 0);
    ergo_dist_header h;
    const char *v[] = {V_ERL_DIST_PACKET_1, V_ERL_DIST_PACKET_2};
    for (int i = 0; i < 2; i++) {
        size_t n = unhex(v[i], pkt, sizeof pkt);
        CHECK_EQ(ergo_dist_header_parse(&c, pkt, n, &h), 0);
        CHECK_EQ(h.kind, 'D');
        CHECK_EQ(h.nrefs, 0);
        CHECK_EQU(h.body_offset, 3);
        /* the control message: {6, From, '', foo} (REG_SEND), then the payload */
        ergo_etf_tape t;
        ergo_etf_tape_init(&t, NULL);
        size_t used;
        CHECK_EQ(ergo_etf_decode(&t, pkt + 3, n - 3, ERGO_ETF_DECODE_NO_VERSION | ERGO_ETF_DECODE_PREFIX, &used), 0);
        CHECK_EQ(t.nodes[0].kind, ERGO_ETF_K_TUPLE);
        CHECK_EQ(t.nodes[0].size, 4);
        CHECK_EQ(t.nodes[1].v.i, 6);
        CHECK_EQ(ergo_etf_decode(&t, pkt + 3 + used, n - 3 - used, ERGO_ETF_DECODE_NO_VERSION, NULL), 0);
        CHECK_EQ(t.nodes[0].kind, ERGO_ETF_K_TUPLE);
        CHECK_EQ(t.nodes[1].kind, ERGO_ETF_K_ATOM);
        CHECK(memcmp(t.data + t.nodes[1].v.off, "hello", 5) == 0);
        ergo_etf_tape_free(&t);
    }
    ergo_dist_rx_cache_free(&c);
}

static void test_one_ref(void)
{
    ergo_dist_rx_cache c;
    ergo_dist_rx_cache_init(&c, 0);
    ergo_dist_header h;
    /* 131 'D' 1, flags 0x0B (new, segment 3), index 5, "foo", then {A0, 1} */
    static const uint8_t p1[] = {131, 'D', 1, 0x0B, 5, 3, 'f', 'o', 'o', 104, 2, 82, 0, 97, 1};
    CHECK_EQ(ergo_dist_header_parse(&c, p1, sizeof p1, &h), 0);
    CHECK_EQ(h.nrefs, 1);
    CHECK(ref_is(&h.refs[0], "foo", 0x305));
    CHECK_EQ(h.refs[0].utf8, 1);
    CHECK_EQU(h.body_offset, 9);

    /* resolve the ATOM_CACHE_REF through the table */
    ergo_etf_limits lim = {0};
    lim.atom_cache_refs = h.nrefs;
    ergo_etf_tape t;
    ergo_etf_tape_init(&t, &lim);
    CHECK_EQ(ergo_etf_decode(&t, p1 + h.body_offset, sizeof p1 - h.body_offset, ERGO_ETF_DECODE_NO_VERSION, NULL), 0);
    CHECK_EQ(t.nodes[1].kind, ERGO_ETF_K_ATOM_REF);
    CHECK(ref_is(&h.refs[t.nodes[1].v.u], "foo", 0x305));
    ergo_etf_tape_free(&t);

    /* the cached entry: flags 0x03, index 5 */
    static const uint8_t p2[] = {131, 'D', 1, 0x03, 5, 106};
    CHECK_EQ(ergo_dist_header_parse(&c, p2, sizeof p2, &h), 0);
    CHECK(ref_is(&h.refs[0], "foo", 0x305));
    CHECK_EQU(h.body_offset, 5);
    /* another slot was never defined */
    static const uint8_t p3[] = {131, 'D', 1, 0x03, 6, 106};
    CHECK_EQ(ergo_dist_header_parse(&c, p3, sizeof p3, &h), ERGO_DIST_E_ATOM_CACHE);
    /* 0 refs: no flags at all */
    static const uint8_t p0[] = {131, 'D', 0, 106};
    CHECK_EQ(ergo_dist_header_parse(&c, p0, sizeof p0, &h), 0);
    CHECK_EQ(h.nrefs, 0);
    CHECK_EQU(h.body_offset, 3);
    ergo_dist_rx_cache_free(&c);
}

static void test_odd_even_long(void)
{
    ergo_dist_rx_cache c;
    ergo_dist_rx_cache_init(&c, 0);
    ergo_dist_header h;
    char longtext[300], wide[300];
    memset(longtext, 'x', sizeof longtext);
    for (int i = 0; i < 150; i++) {   /* 150 characters of 2 bytes */
        wide[2 * i] = (char)0xC3;
        wide[2 * i + 1] = (char)0xA9;
    }
    for (int long_atoms = 0; long_atoms <= 1; long_atoms++) {
        for (unsigned n = 1; n <= 4; n++) {
            spec_ref r[4] = {
                {0x000, 1, "a", 1}, {0x1FF, 1, "bb", 2}, {0x7FE, 1, "ccc", 3}, {0x400, 1, long_atoms ? wide : longtext, long_atoms ? 300 : 255},
            };
            size_t len = spec_header(pkt, r, n, long_atoms);
            pkt[len] = 106;
            CHECK_EQ(ergo_dist_header_parse(&c, pkt, len + 1, &h), 0);
            CHECK_EQ(h.nrefs, n);
            CHECK_EQU(h.body_offset, len);
            for (unsigned i = 0; i < n; i++) {
                CHECK_EQ(h.refs[i].slot, r[i].slot);
                CHECK_EQU(h.refs[i].len, r[i].len);
                CHECK(memcmp(h.refs[i].text, r[i].text, r[i].len) == 0);
            }
            /* every truncation inside the header is malformed */
            for (size_t k = 0; k < len; k++) {
                int rc = ergo_dist_header_parse(&c, pkt, k, &h);
                if (rc != ERGO_DIST_E_MALFORMED) {
                    fprintf(stderr, "n=%u long=%d prefix %zu: %d\n", n, long_atoms, k, rc);
                    check_failures++;
                }
            }
            /* the same refs as cached entries */
            for (unsigned i = 0; i < n; i++)
                r[i].is_new = 0;
            len = spec_header(pkt, r, n, 0);
            CHECK_EQ(ergo_dist_header_parse(&c, pkt, len, &h), 0);
            CHECK_EQ(h.nrefs, n);
            for (unsigned i = 0; i < n; i++)
                CHECK_EQU(h.refs[i].len, r[i].len);
        }
    }
    /* 300 bytes without the LongAtoms flag cannot be said: 255 is the most,
     * and a 300-byte atom (300 characters) is past the 255-character limit */
    spec_ref r300 = {0x10, 1, longtext, 300};
    size_t len = spec_header(pkt, &r300, 1, 1);
    CHECK_EQ(ergo_dist_header_parse(&c, pkt, len, &h), ERGO_DIST_E_LIMIT);
    ergo_dist_rx_cache_free(&c);
}

static void test_255_refs(void)
{
    ergo_dist_rx_cache c;
    ergo_dist_rx_cache_init(&c, 0);
    ergo_dist_header h;
    spec_ref r[255];
    char names[255][8];
    for (unsigned i = 0; i < 255; i++) {
        snprintf(names[i], sizeof names[i], "a%u", i);
        r[i].slot = (uint16_t)(i * 8 + 3);
        r[i].is_new = 1;
        r[i].text = names[i];
        r[i].len = strlen(names[i]);
    }
    size_t len = spec_header(pkt, r, 255, 0);
    CHECK_EQ(ergo_dist_header_parse(&c, pkt, len, &h), 0);
    CHECK_EQ(h.nrefs, 255);
    CHECK(ref_is(&h.refs[254], "a254", 254 * 8 + 3));
    for (unsigned i = 0; i < 255; i++)
        r[i].is_new = i % 2;   /* mixed new and cached */
    len = spec_header(pkt, r, 255, 1);
    CHECK_EQ(ergo_dist_header_parse(&c, pkt, len, &h), 0);
    CHECK(ref_is(&h.refs[100], "a100", 803));
    CHECK(ref_is(&h.refs[101], "a101", 811));
    ergo_dist_rx_cache_free(&c);
}

static void test_bad(void)
{
    ergo_dist_rx_cache c;
    ergo_dist_rx_cache_init(&c, 8);
    ergo_dist_header h;
    /* the same slot twice in one header */
    spec_ref dup[2] = {{7, 1, "a", 1}, {7, 1, "b", 1}};
    size_t len = spec_header(pkt, dup, 2, 0);
    CHECK_EQ(ergo_dist_header_parse(&c, pkt, len, &h), ERGO_DIST_E_ATOM_CACHE);
    /* a failing header defines nothing, even the refs before the fault */
    spec_ref part[2] = {{9, 1, "ok", 2}, {10, 1, "toolongtext", 11}};
    len = spec_header(pkt, part, 2, 0);
    CHECK_EQ(ergo_dist_header_parse(&c, pkt, len, &h), ERGO_DIST_E_LIMIT);   /* max_atom_bytes 8 */
    spec_ref old9 = {9, 0, "", 0};
    len = spec_header(pkt, &old9, 1, 0);
    CHECK_EQ(ergo_dist_header_parse(&c, pkt, len, &h), ERGO_DIST_E_ATOM_CACHE);
    /* invalid UTF-8, then the same bytes as Latin-1 */
    spec_ref latin = {11, 1, "caf\xe9", 4};
    len = spec_header(pkt, &latin, 1, 0);
    CHECK_EQ(ergo_dist_header_parse(&c, pkt, len, &h), ERGO_ETF_E_UTF8);
    c.utf8 = 0;
    CHECK_EQ(ergo_dist_header_parse(&c, pkt, len, &h), 0);
    CHECK_EQ(h.refs[0].utf8, 0);
    c.utf8 = 1;
    /* other kinds */
    static const uint8_t pass[] = {112, 131, 106, 131, 106};
    CHECK_EQ(ergo_dist_header_parse(&c, pass, sizeof pass, &h), 0);
    CHECK_EQ(h.kind, ERGO_DIST_HDR_PASS_THROUGH);
    CHECK_EQU(h.body_offset, 1);
    static const uint8_t frag[] = {131, 'F', 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 2, 1, 2};
    CHECK_EQ(ergo_dist_header_parse(&c, frag, sizeof frag, &h), 0);
    CHECK_EQ(h.kind, 'F');
    CHECK_EQU(h.sequence_id, 9);
    CHECK_EQU(h.fragment_id, 2);
    CHECK_EQU(h.body_offset, 18);
    for (size_t k = 0; k < 18; k++)
        CHECK_EQ(ergo_dist_header_parse(&c, frag, k, &h), k == 0 ? ERGO_DIST_E_MALFORMED : ERGO_DIST_E_MALFORMED);
    static const uint8_t frag0[] = {131, 'F', 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0};
    CHECK_EQ(ergo_dist_header_parse(&c, frag0, sizeof frag0, &h), ERGO_DIST_E_FRAGMENT);
    static const uint8_t start[] = {131, 'E', 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 3, 1, 0x08, 4, 1, 'z', 106};
    CHECK_EQ(ergo_dist_header_parse(&c, start, sizeof start, &h), 0);
    CHECK_EQ(h.kind, 'E');
    CHECK_EQU(h.fragment_id, 3);
    CHECK(ref_is(&h.refs[0], "z", 4));
    CHECK_EQU(h.body_offset, sizeof start - 1);
    static const uint8_t badkind[] = {131, 'X', 0};
    CHECK_EQ(ergo_dist_header_parse(&c, badkind, 3, &h), ERGO_DIST_E_TAG);
    static const uint8_t notdist[] = {130, 'D', 0};
    CHECK_EQ(ergo_dist_header_parse(&c, notdist, 3, &h), ERGO_DIST_E_TAG);
    CHECK_EQ(ergo_dist_header_parse(&c, notdist, 0, &h), ERGO_DIST_E_MALFORMED);
    /* a 2-byte atom length claiming 65535 in a short packet */
    static const uint8_t claim[] = {131, 'D', 1, 0x18, 0, 0xFF, 0xFF, 'a'};
    CHECK_EQ(ergo_dist_header_parse(&c, claim, sizeof claim, &h), ERGO_DIST_E_MALFORMED);
    ergo_dist_rx_cache_free(&c);
}

/* The send side writes exactly what the spec says, and the receive side
 * reads it back: new entries first, cached ones after. */
static void test_writer(void)
{
    ergo_dist_tx_cache tx;
    ergo_dist_tx_cache_init(&tx);
    ergo_dist_rx_cache rx;
    ergo_dist_rx_cache_init(&rx, 0);
    ergo_dist_tx_atoms atoms;
    ergo_dist_tx_atoms_reset(&atoms);
    static const char *words[] = {"net_kernel", "is_auth", "$gen_call", "ok"};
    for (int i = 0; i < 4; i++)
        CHECK_EQ(ergo_dist_tx_atoms_add(&atoms, (const uint8_t *)words[i], strlen(words[i])), i);
    CHECK_EQ(ergo_dist_tx_atoms_add(&atoms, (const uint8_t *)"ok", 2), 3);   /* already there */

    /* {'$gen_call', ok, "net_kernel"} with cache refs */
    ergo_etf_buf body;
    ergo_etf_buf_init(&body, 0);
    ergo_etf_encode_tuple_header(&body, 3);
    ergo_etf_encode_atom_cache_ref(&body, 2);
    ergo_etf_encode_atom_cache_ref(&body, 3);
    ergo_etf_encode_atom_cache_ref(&body, 0);

    for (int round = 0; round < 2; round++) {
        ergo_etf_buf out;
        ergo_etf_buf_init(&out, 0);
        CHECK_EQ(ergo_dist_header_encode(&tx, &atoms, &out), 0);
        spec_ref r[4];
        for (int i = 0; i < 4; i++) {
            r[i].slot = ergo_dist_atom_slot((const uint8_t *)words[i], strlen(words[i]));
            r[i].is_new = round == 0;
            r[i].text = words[i];
            r[i].len = strlen(words[i]);
        }
        size_t len = spec_header(pkt, r, 4, 0);
        CHECK_EQU(out.len, len);
        CHECK_MEM(out.data, pkt, len);
        ergo_etf_encode_raw(&out, body.data, body.len);

        ergo_dist_header h;
        CHECK_EQ(ergo_dist_header_parse(&rx, out.data, out.len, &h), 0);
        CHECK_EQ(h.nrefs, 4);
        ergo_etf_limits lim = {0};
        lim.atom_cache_refs = h.nrefs;
        ergo_etf_tape t;
        ergo_etf_tape_init(&t, &lim);
        CHECK_EQ(ergo_etf_decode(&t, out.data + h.body_offset, out.len - h.body_offset, ERGO_ETF_DECODE_NO_VERSION, NULL), 0);
        CHECK(ref_is(&h.refs[t.nodes[1].v.u], "$gen_call", r[2].slot));
        CHECK(ref_is(&h.refs[t.nodes[2].v.u], "ok", r[3].slot));
        CHECK(ref_is(&h.refs[t.nodes[3].v.u], "net_kernel", r[0].slot));
        ergo_etf_tape_free(&t);
        ergo_etf_buf_free(&out);
    }

    /* A long atom switches the whole header to 2-byte lengths. */
    char big[600];
    for (int i = 0; i < 300; i++) {
        big[2 * i] = (char)0xC3;   /* é, 2 bytes: 300 characters, 600 bytes */
        big[2 * i + 1] = (char)0xA9;
    }
    ergo_dist_tx_atoms_reset(&atoms);
    CHECK_EQ(ergo_dist_tx_atoms_add(&atoms, (const uint8_t *)"ok", 2), 0);
    CHECK_EQ(ergo_dist_tx_atoms_add(&atoms, (const uint8_t *)big, 500), 1);   /* 250 characters */
    ergo_etf_buf out;
    ergo_etf_buf_init(&out, 0);
    CHECK_EQ(ergo_dist_header_encode(&tx, &atoms, &out), 0);
    spec_ref r2[2] = {
        {ergo_dist_atom_slot((const uint8_t *)"ok", 2), 0, "ok", 2},
        {ergo_dist_atom_slot((const uint8_t *)big, 500), 1, big, 500},
    };
    size_t len = spec_header(pkt, r2, 2, 1);
    CHECK_EQU(out.len, len);
    CHECK_MEM(out.data, pkt, len);
    ergo_dist_header h;
    CHECK_EQ(ergo_dist_header_parse(&rx, out.data, out.len, &h), 0);
    CHECK_EQU(h.refs[1].len, 500);

    /* A slot taken by another atom of the same message: encode it plainly. */
    ergo_dist_tx_atoms_reset(&atoms);
    char a[16], b[16];
    uint16_t want = ergo_dist_atom_slot((const uint8_t *)"x0", 2);
    snprintf(a, sizeof a, "x0");
    int found = 0;
    for (unsigned i = 1; i < 100000 && !found; i++) {
        snprintf(b, sizeof b, "x%u", i);
        found = ergo_dist_atom_slot((const uint8_t *)b, strlen(b)) == want;
    }
    CHECK(found);
    CHECK_EQ(ergo_dist_tx_atoms_add(&atoms, (const uint8_t *)a, strlen(a)), 0);
    CHECK_EQ(ergo_dist_tx_atoms_add(&atoms, (const uint8_t *)b, strlen(b)), -1);
    /* ... but in the next message it replaces the cached one */
    ergo_etf_buf_reset(&out);
    CHECK_EQ(ergo_dist_header_encode(&tx, &atoms, &out), 0);
    CHECK(out.data[3] & 8);          /* a0: new */
    ergo_dist_tx_atoms_reset(&atoms);
    ergo_dist_tx_atoms_add(&atoms, (const uint8_t *)b, strlen(b));
    ergo_etf_buf_reset(&out);
    CHECK_EQ(ergo_dist_header_encode(&tx, &atoms, &out), 0);
    CHECK(out.data[3] & 8);          /* b: new, replacing a */
    CHECK_EQ(ergo_dist_header_parse(&rx, out.data, out.len, &h), 0);
    CHECK(ref_is(&h.refs[0], b, want));
    ergo_dist_tx_atoms_reset(&atoms);
    ergo_dist_tx_atoms_add(&atoms, (const uint8_t *)a, strlen(a));
    ergo_etf_buf_reset(&out);
    CHECK_EQ(ergo_dist_header_encode(&tx, &atoms, &out), 0);
    CHECK(out.data[3] & 8);          /* a again: new again */

    /* 255 atoms fill the table; the 256th is refused */
    ergo_dist_tx_atoms_reset(&atoms);
    static char names[400][8];
    unsigned added = 0;
    for (unsigned i = 0; i < 400 && atoms.count < 255; i++) {
        snprintf(names[i], sizeof names[i], "n%u", i);
        if (ergo_dist_tx_atoms_add(&atoms, (const uint8_t *)names[i], strlen(names[i])) >= 0)
            added++;
    }
    CHECK_EQ(atoms.count, 255);
    CHECK_EQ(added, 255);
    CHECK_EQ(ergo_dist_tx_atoms_add(&atoms, (const uint8_t *)"another", 7), -1);
    ergo_etf_buf_reset(&out);
    CHECK_EQ(ergo_dist_header_encode(&tx, &atoms, &out), 0);
    CHECK_EQ(ergo_dist_header_parse(&rx, out.data, out.len, &h), 0);
    CHECK_EQ(h.nrefs, 255);
    /* a buffer too small: nothing is committed to the send cache */
    ergo_dist_tx_atoms_reset(&atoms);
    ergo_dist_tx_atoms_add(&atoms, (const uint8_t *)"fresh_atom", 10);
    ergo_etf_buf tiny;
    ergo_etf_buf_init(&tiny, 4);
    CHECK_EQ(ergo_dist_header_encode(&tx, &atoms, &tiny), ERGO_ETF_E_LIMIT);
    ergo_etf_buf_reset(&out);
    CHECK_EQ(ergo_dist_header_encode(&tx, &atoms, &out), 0);
    CHECK(out.data[3] & 8);          /* still new */
    ergo_etf_buf_free(&tiny);
    ergo_etf_buf_free(&out);
    ergo_etf_buf_free(&body);
    ergo_dist_tx_cache_free(&tx);
    ergo_dist_rx_cache_free(&rx);
}

int main(void)
{
    test_erlang_packets();
    test_one_ref();
    test_odd_even_long();
    test_255_refs();
    test_bad();
    test_writer();
    CHECK_DONE();
}
