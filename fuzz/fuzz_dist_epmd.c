/*
 * fuzz_dist_epmd — arbitrary bytes into every EPMD parser: as a stream of
 * requests (the embedded server), as an ALIVE2 or PORT2 response, and as a
 * NAMES response. Whatever parses must re-encode to the bytes consumed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ergo_dist.h"

#define FAIL(what)                                                          \
    do {                                                                    \
        fprintf(stderr, "fuzz_dist_epmd: %s (line %d)\n", what, __LINE__);  \
        abort();                                                            \
    } while (0)

static void same(ergo_etf_buf *b, const uint8_t *want, size_t n)
{
    if (b->error || b->len != n || memcmp(b->data, want, n) != 0)
        FAIL("re-encoding differs");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ergo_etf_buf b;
    ergo_etf_buf_init(&b, 1 << 20);

    /* server side: a stream of requests */
    size_t pos = 0, used = 0;
    ergo_dist_epmd_request req;
    for (;;) {
        int rc = ergo_dist_epmd_parse_request(data + pos, size - pos, 0, &req, &used);
        if (rc != ERGO_DIST_OK)
            break;
        if (used < 3 || used > size - pos)
            FAIL("used out of range");
        ergo_etf_buf_reset(&b);
        switch (req.kind) {
        case ERGO_DIST_EPMD_ALIVE2_REQ: ergo_dist_epmd_encode_alive2_req(&b, &req.node); break;
        case ERGO_DIST_EPMD_PORT_PLEASE2_REQ:
            ergo_dist_epmd_encode_port_please2_req(&b, req.name, (size_t)req.name_len);
            break;
        case ERGO_DIST_EPMD_NAMES_REQ: ergo_dist_epmd_encode_names_req(&b); break;
        case ERGO_DIST_EPMD_DUMP_REQ: ergo_dist_epmd_encode_dump_req(&b); break;
        case ERGO_DIST_EPMD_KILL_REQ: ergo_dist_epmd_encode_kill_req(&b); break;
        default: ergo_etf_encode_raw(&b, data + pos, used); break;  /* STOP_REQ: no encoder */
        }
        same(&b, data + pos, used);
        pos += used;
    }

    /* client side: responses */
    uint8_t result;
    uint32_t creation;
    if (ergo_dist_epmd_parse_alive2_resp(data, size, &result, &creation, &used) == ERGO_DIST_OK) {
        ergo_etf_buf_reset(&b);
        ergo_dist_epmd_encode_alive2_resp(&b, data[0] == ERGO_DIST_EPMD_ALIVE2_X_RESP, result, creation);
        same(&b, data, used);
    }
    ergo_dist_epmd_node node;
    if (ergo_dist_epmd_parse_port2_resp(data, size, &result, &node, &used) == ERGO_DIST_OK) {
        ergo_etf_buf_reset(&b);
        ergo_dist_epmd_encode_port2_resp(&b, result, result ? NULL : &node);
        same(&b, data, used);
    }
    uint32_t port;
    if (ergo_dist_epmd_parse_names_head(data, size, &port) == ERGO_DIST_OK) {
        pos = 4;
        ergo_dist_epmd_name_entry e;
        for (;;) {
            size_t before = pos;
            if (ergo_dist_epmd_names_next(data, size, &pos, &e) != ERGO_DIST_OK)
                break;
            if (pos <= before || pos > size || e.port > 65535 ||
                e.name < data + before || e.name + e.name_len > data + pos)
                FAIL("names entry out of range");
        }
    }
    ergo_etf_buf_free(&b);
    return 0;
}
