/*
 * fuzz_dist_rx — two properties of the receive side.
 *  1. Robustness: the input as a stream of packets (2-byte length, then the
 *     packet) into one ergo_dist_rx with small limits, carrying on after
 *     errors; every message handed out is read in full, and the bytes held
 *     never pass the limit.
 *  2. Round trip: the input as a message body (with a few cached atoms),
 *     split by ergo_dist_encode_message into fragments of a size the input
 *     picks, comes back whole and equal from a fresh receiver.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ergo_dist.h"

#define FAIL(what)                                                        \
    do {                                                                  \
        fprintf(stderr, "fuzz_dist_rx: %s (line %d)\n", what, __LINE__); \
        abort();                                                          \
    } while (0)

static ergo_dist_rx rx;          /* large: static, initialised per run */
static ergo_dist_tx_cache tx;
static ergo_dist_tx_atoms atoms;

static unsigned touch(const ergo_dist_message *m)
{
    unsigned sum = 0;
    for (uint64_t i = 0; i < m->len; i++)
        sum += m->data[i];
    for (uint32_t i = 0; i < m->nrefs; i++)
        for (uint32_t k = 0; k < m->refs[i].len; k++)
            sum += m->refs[i].text[k];
    return sum;
}

static void robustness(const uint8_t *data, size_t size)
{
    ergo_dist_rx_limits lim = {0};
    lim.max_bytes = 1 << 14;
    lim.max_sequences = 4;
    ergo_dist_rx_init(&rx, &lim, 32);
    size_t pos = 0;
    ergo_dist_message msg;
    while (size - pos >= 2) {
        size_t n = (size_t)data[pos] << 8 | data[pos + 1];
        pos += 2;
        if (n > size - pos)
            n = size - pos;
        int rc = ergo_dist_rx_packet(&rx, data + pos, n, &msg);
        pos += n;
        if (rc == ERGO_DIST_OK)
            (void)touch(&msg);
        if (rx.bytes > lim.max_bytes || rx.nseqs > lim.max_sequences)
            FAIL("limit passed");
    }
    ergo_dist_rx_free(&rx);
}

static void round_trip(const uint8_t *data, size_t size)
{
    if (size < 2)
        return;
    size_t max_fragment = 1 + data[0] % 97;
    static const char *words[] = {"ok", "error", "$gen_call", "net_kernel", "x"};
    ergo_dist_tx_cache_init(&tx);
    ergo_dist_rx_init(&rx, NULL, 0);
    ergo_etf_buf out;
    ergo_etf_buf_init(&out, 1 << 22);
    for (int round = 0; round < 2; round++) {
        ergo_dist_tx_atoms_reset(&atoms);
        for (unsigned i = 0; i < 5; i++)
            if (data[1] & (1u << i))
                ergo_dist_tx_atoms_add(&atoms, (const uint8_t *)words[i], strlen(words[i]));
        ergo_etf_buf_reset(&out);
        size_t count = 0;
        if (ergo_dist_encode_message(&tx, &atoms, data + 1, size - 1, max_fragment, &out, &count) != 0)
            FAIL("encode");
        size_t p = 0, k = 0;
        ergo_dist_message msg;
        int rc = -1;
        while (p < out.len) {
            uint32_t l = (uint32_t)out.data[p] << 24 | (uint32_t)out.data[p + 1] << 16 |
                         (uint32_t)out.data[p + 2] << 8 | out.data[p + 3];
            rc = ergo_dist_rx_packet(&rx, out.data + p + 4, l, &msg);
            p += 4 + l;
            k++;
            if (p < out.len && rc != ERGO_DIST_NEED_MORE)
                FAIL("fragment not accepted");
        }
        if (k != count || rc != ERGO_DIST_OK)
            FAIL("message not complete");
        if (msg.len != size - 1 || memcmp(msg.data, data + 1, size - 1) != 0)
            FAIL("message differs");
        if (msg.nrefs != atoms.count)
            FAIL("atom table size");
        for (uint32_t i = 0; i < msg.nrefs; i++)
            if (msg.refs[i].len != atoms.atoms[i].len ||
                memcmp(msg.refs[i].text, atoms.atoms[i].text, msg.refs[i].len) != 0)
                FAIL("atom table differs");
    }
    ergo_etf_buf_free(&out);
    ergo_dist_rx_free(&rx);
    ergo_dist_tx_cache_free(&tx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    robustness(data, size);
    round_trip(data, size);
    return 0;
}
