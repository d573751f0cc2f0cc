/*
 * fuzz_dist_header — the input is a stream of packets (2-byte length, then
 * the packet) read by ergo_dist_header_parse with one atom cache, as a
 * connection would. Every parsed atom table is read in full, and the body
 * after a 'D' header is decoded with the table's size as the limit of
 * ATOM_CACHE_REF indices (what the Swift side does).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ergo_dist.h"

#define FAIL(what)                                                            \
    do {                                                                      \
        fprintf(stderr, "fuzz_dist_header: %s (line %d)\n", what, __LINE__);  \
        abort();                                                              \
    } while (0)

static ergo_dist_header hdr;   /* 4 KB: keep it off the stack */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ergo_dist_rx_cache c;
    ergo_dist_rx_cache_init(&c, 64);
    ergo_etf_limits lim = {0};
    lim.max_depth = 32;
    lim.max_nodes = 4096;
    lim.max_inflated = 1 << 16;
    ergo_etf_tape t;
    ergo_etf_tape_init(&t, &lim);
    size_t pos = 0;
    while (size - pos >= 2) {
        size_t n = (size_t)data[pos] << 8 | data[pos + 1];
        pos += 2;
        if (n > size - pos)
            n = size - pos;
        const uint8_t *p = data + pos;
        pos += n;
        if (ergo_dist_header_parse(&c, p, n, &hdr) != ERGO_DIST_OK)
            continue;
        if (hdr.body_offset > n || hdr.nrefs > ERGO_DIST_MAX_ATOM_REFS)
            FAIL("header fields out of range");
        unsigned sum = 0;
        for (uint32_t i = 0; i < hdr.nrefs; i++) {
            if (hdr.refs[i].len > 64 || hdr.refs[i].slot >= ERGO_DIST_ATOM_CACHE_SIZE)
                FAIL("atom out of range");
            for (uint32_t k = 0; k < hdr.refs[i].len; k++)
                sum += hdr.refs[i].text[k];
        }
        (void)sum;
        if (hdr.kind == ERGO_DIST_HDR_NORMAL) {
            t.limits.atom_cache_refs = hdr.nrefs;
            size_t used;
            if (ergo_etf_decode(&t, p + hdr.body_offset, n - (size_t)hdr.body_offset,
                                ERGO_ETF_DECODE_NO_VERSION | ERGO_ETF_DECODE_PREFIX, &used) == 0) {
                for (size_t i = 0; i < t.count; i++)
                    if (t.nodes[i].kind == ERGO_ETF_K_ATOM_REF && t.nodes[i].v.u >= hdr.nrefs)
                        FAIL("atom cache ref past the table");
            }
        }
    }
    ergo_etf_tape_free(&t);
    ergo_dist_rx_cache_free(&c);
    return 0;
}
