/*
 * fuzz_dist_handshake — arbitrary bytes as a handshake message body, read
 * both as send_name and as challenge. A message that parses re-encodes to
 * the bytes it was read from (up to the extra bytes the protocol tells
 * readers to ignore). The input also drives the digest.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ergo_dist.h"

#define FAIL(what)                                                               \
    do {                                                                         \
        fprintf(stderr, "fuzz_dist_handshake: %s (line %d)\n", what, __LINE__);  \
        abort();                                                                 \
    } while (0)

static void check(const uint8_t *data, size_t size, int challenge)
{
    ergo_dist_hs m;
    if (ergo_dist_hs_parse(data, size, challenge, &m) != ERGO_DIST_OK)
        return;
    ergo_etf_buf b;
    ergo_etf_buf_init(&b, 1 << 20);
    int prefix = 0;   /* extra bytes after the fields are allowed */
    switch (m.tag) {
    case 'N':
        if (challenge)
            ergo_dist_hs_encode_challenge(&b, m.flags, m.challenge, m.creation, m.name, (size_t)m.name_len);
        else
            ergo_dist_hs_encode_name(&b, m.flags, m.creation, m.name, (size_t)m.name_len);
        prefix = 1;
        break;
    case 'n':
        if (challenge)
            ergo_dist_hs_encode_challenge_old(&b, m.version, (uint32_t)m.flags, m.challenge, m.name,
                                              (size_t)m.name_len);
        else
            ergo_dist_hs_encode_name_old(&b, m.version, (uint32_t)m.flags, m.name, (size_t)m.name_len);
        break;
    case 's':
        if (m.status == ERGO_DIST_STATUS_OTHER) {
            if (m.text != data + 1 || m.text_len != size - 1)
                FAIL("status text");
            ergo_etf_encode_raw(&b, data, size);
        } else {
            ergo_dist_hs_encode_status(&b, (ergo_dist_status)m.status, m.name, (size_t)m.name_len, m.creation);
        }
        prefix = m.status == ERGO_DIST_STATUS_NAMED;
        break;
    case 'c':
        ergo_dist_hs_encode_complement(&b, m.flags, m.creation);
        prefix = 1;
        break;
    case 'r': ergo_dist_hs_encode_reply(&b, m.challenge, m.digest); break;
    case 'a': ergo_dist_hs_encode_ack(&b, m.digest); break;
    default: FAIL("unknown tag parsed");
    }
    if (b.error || b.len > size || (!prefix && b.len != size) || memcmp(b.data, data, b.len) != 0)
        FAIL("re-encoding differs");
    ergo_etf_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check(data, size, 0);
    check(data, size, 1);
    uint8_t d1[16], d2[16];
    uint32_t ch = size >= 4 ? (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3] : 0;
    if (ergo_dist_digest(data, size, ch, d1) != 0 || ergo_dist_digest(data, size, ch, d2) != 0)
        FAIL("digest");
    if (!ergo_dist_digest_equal(d1, d2))
        FAIL("digest not deterministic");
    return 0;
}
