/*
 * test_dist_epmd.c — EPMD messages: encoders against the bytes erl and epmd
 * (OTP 25) sent, parsers on those bytes, every truncated prefix, garbage.
 */
#include "check.h"
#include "dist_vectors.h"
#include "ergo_dist.h"

static uint8_t in[4096];

static int buf_is(ergo_etf_buf *b, const uint8_t *want, size_t n)
{
    return b->error == 0 && b->len == n && memcmp(b->data, want, n) == 0;
}

static void test_alive2_req(void)
{
    /* erl -sname capa registering: port, 77, 0, 6, 5, "capa", no extra. */
    size_t n = unhex(V_ERL_ALIVE2_REQ, in, sizeof in);
    ergo_dist_epmd_request req;
    size_t used = 0;
    CHECK_EQ(ergo_dist_epmd_parse_request(in, n, 0, &req, &used), ERGO_DIST_OK);
    CHECK_EQU(used, n);
    CHECK_EQ(req.kind, ERGO_DIST_EPMD_ALIVE2_REQ);
    CHECK_EQ(req.node.node_type, ERGO_DIST_EPMD_NODE_NORMAL);
    CHECK_EQ(req.node.protocol, ERGO_DIST_EPMD_PROTOCOL_TCP);
    CHECK_EQ(req.node.highest_version, 6);
    CHECK_EQ(req.node.lowest_version, 5);
    CHECK_EQU(req.node.name_len, 4);
    CHECK(memcmp(req.node.name, "capa", 4) == 0);
    CHECK_EQU(req.node.extra_len, 0);
    CHECK(ergo_dist_epmd_wants_x_resp(&req.node));

    /* our encoder writes the same bytes */
    ergo_etf_buf b;
    ergo_etf_buf_init(&b, 0);
    CHECK_EQ(ergo_dist_epmd_encode_alive2_req(&b, &req.node), 0);
    CHECK(buf_is(&b, in, n));

    /* every proper prefix needs more; nothing is consumed */
    for (size_t k = 0; k < n; k++)
        CHECK_EQ(ergo_dist_epmd_parse_request(in, k, 0, &req, &used), ERGO_DIST_NEED_MORE);

    /* two requests back to back: the first is consumed alone */
    memcpy(in + n, in, n);
    CHECK_EQ(ergo_dist_epmd_parse_request(in, 2 * n, 0, &req, &used), ERGO_DIST_OK);
    CHECK_EQU(used, n);

    /* a name length past the body, and a trailing byte inside the body */
    uint8_t bad[64];
    memcpy(bad, in, n);
    bad[12] = 0x40;                   /* Nlen low byte: 64 */
    CHECK_EQ(ergo_dist_epmd_parse_request(bad, n, 0, &req, &used), ERGO_DIST_E_MALFORMED);
    memcpy(bad, in, n);
    bad[1] = (uint8_t)(bad[1] + 1);   /* Length one more, extra byte present */
    bad[n] = 0;
    CHECK_EQ(ergo_dist_epmd_parse_request(bad, n + 1, 0, &req, &used), ERGO_DIST_E_MALFORMED);
    /* with extra data */
    ergo_dist_epmd_node node = {0};
    node.name = (const uint8_t *)"n1";
    node.name_len = 2;
    node.extra = (const uint8_t *)"xyz";
    node.extra_len = 3;
    node.port = 40000;
    node.node_type = ERGO_DIST_EPMD_NODE_HIDDEN;
    node.highest_version = 6;
    node.lowest_version = 6;
    ergo_etf_buf_reset(&b);
    CHECK_EQ(ergo_dist_epmd_encode_alive2_req(&b, &node), 0);
    CHECK_EQ(ergo_dist_epmd_parse_request(b.data, b.len, 0, &req, &used), 0);
    CHECK_EQU(used, b.len);
    CHECK_EQ(req.node.port, 40000);
    CHECK_EQ(req.node.node_type, 72);
    CHECK_EQU(req.node.extra_len, 3);
    CHECK(memcmp(req.node.extra, "xyz", 3) == 0);
    /* too long for a 2-byte field */
    node.name_len = 70000;
    CHECK_EQ(ergo_dist_epmd_encode_alive2_req(&b, &node), ERGO_DIST_E_ARG);
    ergo_etf_buf_free(&b);
}

static void test_port_please(void)
{
    size_t n = unhex(V_ERL_PORT_PLEASE2_REQ, in, sizeof in);
    ergo_dist_epmd_request req;
    size_t used;
    CHECK_EQ(ergo_dist_epmd_parse_request(in, n, 0, &req, &used), 0);
    CHECK_EQ(req.kind, ERGO_DIST_EPMD_PORT_PLEASE2_REQ);
    CHECK_EQU(req.name_len, 2);
    CHECK(memcmp(req.name, "py", 2) == 0);
    ergo_etf_buf b;
    ergo_etf_buf_init(&b, 0);
    CHECK_EQ(ergo_dist_epmd_encode_port_please2_req(&b, (const uint8_t *)"py", 2), 0);
    CHECK(buf_is(&b, in, n));

    /* epmd's PORT2_RESP for a node registered as capt, port 5555 */
    n = unhex(V_EPMD_PORT2_RESP, in, sizeof in);
    uint8_t result = 9;
    ergo_dist_epmd_node node;
    CHECK_EQ(ergo_dist_epmd_parse_port2_resp(in, n, &result, &node, &used), 0);
    CHECK_EQU(used, n);
    CHECK_EQ(result, 0);
    CHECK_EQ(node.port, 5555);
    CHECK_EQ(node.node_type, 77);
    CHECK_EQ(node.highest_version, 6);
    CHECK_EQ(node.lowest_version, 5);
    CHECK_EQU(node.name_len, 4);
    CHECK(memcmp(node.name, "capt", 4) == 0);
    for (size_t k = 0; k < n; k++)
        CHECK_EQ(ergo_dist_epmd_parse_port2_resp(in, k, &result, &node, &used), ERGO_DIST_NEED_MORE);
    ergo_etf_buf_reset(&b);
    CHECK_EQ(ergo_dist_epmd_parse_port2_resp(in, n, &result, &node, &used), 0);
    CHECK_EQ(ergo_dist_epmd_encode_port2_resp(&b, 0, &node), 0);
    CHECK(buf_is(&b, in, n));

    /* not registered: 119, 1 */
    n = unhex(V_EPMD_PORT2_RESP_ERR, in, sizeof in);
    CHECK_EQ(ergo_dist_epmd_parse_port2_resp(in, n, &result, &node, &used), 0);
    CHECK_EQ(result, 1);
    CHECK_EQU(used, 2);
    CHECK_EQ(node.port, 0);
    ergo_etf_buf_reset(&b);
    CHECK_EQ(ergo_dist_epmd_encode_port2_resp(&b, 1, NULL), 0);
    CHECK(buf_is(&b, in, n));
    CHECK_EQ(ergo_dist_epmd_encode_port2_resp(&b, 0, NULL), ERGO_DIST_E_ARG);

    in[0] = 118;
    CHECK_EQ(ergo_dist_epmd_parse_port2_resp(in, n, &result, &node, &used), ERGO_DIST_E_TAG);
    ergo_etf_buf_free(&b);
}

static void test_alive2_resp(void)
{
    ergo_etf_buf b;
    ergo_etf_buf_init(&b, 0);
    uint8_t result;
    uint32_t creation;
    size_t used;

    /* epmd answers a version-6 registration with ALIVE2_X_RESP */
    size_t n = unhex(V_EPMD_ALIVE2_X_RESP, in, sizeof in);
    CHECK_EQU(n, 6);
    CHECK_EQ(in[0], ERGO_DIST_EPMD_ALIVE2_X_RESP);
    CHECK_EQ(ergo_dist_epmd_parse_alive2_resp(in, n, &result, &creation, &used), 0);
    CHECK_EQ(result, 0);
    CHECK_EQU(creation, (uint32_t)in[2] << 24 | (uint32_t)in[3] << 16 | (uint32_t)in[4] << 8 | in[5]);
    CHECK_EQU(used, 6);
    for (size_t k = 0; k < n; k++)
        CHECK_EQ(ergo_dist_epmd_parse_alive2_resp(in, k, &result, &creation, &used), ERGO_DIST_NEED_MORE);
    CHECK_EQ(ergo_dist_epmd_encode_alive2_resp(&b, 1, 0, creation), 0);
    CHECK(buf_is(&b, in, n));

    /* ... and a version-5-only one with ALIVE2_RESP (2-byte creation) */
    n = unhex(V_EPMD_ALIVE2_RESP_V5, in, sizeof in);
    CHECK_EQU(n, 4);
    CHECK_EQ(ergo_dist_epmd_parse_alive2_resp(in, n, &result, &creation, &used), 0);
    CHECK_EQU(used, 4);
    CHECK_EQU(creation, (uint32_t)in[2] << 8 | in[3]);
    ergo_etf_buf_reset(&b);
    CHECK_EQ(ergo_dist_epmd_encode_alive2_resp(&b, 0, 0, creation), 0);
    CHECK(buf_is(&b, in, n));
    CHECK_EQ(ergo_dist_epmd_encode_alive2_resp(&b, 0, 0, 70000), ERGO_DIST_E_ARG);
    ergo_dist_epmd_node v5 = {0};
    v5.highest_version = 5;
    CHECK(!ergo_dist_epmd_wants_x_resp(&v5));

    in[0] = 0;
    CHECK_EQ(ergo_dist_epmd_parse_alive2_resp(in, n, &result, &creation, &used), ERGO_DIST_E_TAG);
    ergo_etf_buf_free(&b);
}

static void test_names(void)
{
    size_t n = unhex(V_EPMD_NAMES_RESP, in, sizeof in);
    uint32_t port = 0;
    CHECK_EQ(ergo_dist_epmd_parse_names_head(in, 3, &port), ERGO_DIST_NEED_MORE);
    CHECK_EQ(ergo_dist_epmd_parse_names_head(in, n, &port), 0);
    CHECK_EQU(port, 14369);
    size_t pos = 4;
    ergo_dist_epmd_name_entry e;
    CHECK_EQ(ergo_dist_epmd_names_next(in, n, &pos, &e), 0);
    CHECK_EQU(e.name_len, 4);
    CHECK(memcmp(e.name, "oldv", 4) == 0);
    CHECK_EQU(e.port, 5556);
    CHECK_EQ(ergo_dist_epmd_names_next(in, n, &pos, &e), 0);
    CHECK(memcmp(e.name, "capt", 4) == 0);
    CHECK_EQU(e.port, 5555);
    CHECK_EQU(pos, n);
    CHECK_EQ(ergo_dist_epmd_names_next(in, n, &pos, &e), ERGO_DIST_NEED_MORE);
    /* a partial line */
    pos = 4;
    CHECK_EQ(ergo_dist_epmd_names_next(in, 20, &pos, &e), ERGO_DIST_NEED_MORE);
    CHECK_EQU(pos, 4);

    /* the encoder writes what epmd wrote */
    ergo_etf_buf b;
    ergo_etf_buf_init(&b, 0);
    ergo_dist_epmd_encode_names_head(&b, 14369);
    ergo_dist_epmd_encode_names_line(&b, (const uint8_t *)"oldv", 4, 5556);
    CHECK_EQ(ergo_dist_epmd_encode_names_line(&b, (const uint8_t *)"capt", 4, 5555), 0);
    CHECK(buf_is(&b, in, n));
    CHECK_EQ(ergo_dist_epmd_encode_names_line(&b, (const uint8_t *)"a\nb", 3, 1), ERGO_DIST_E_ARG);

    /* a name with spaces and " at port " inside it: the last one counts */
    static const char odd[] = "name a at port 1 at port 22\n";
    pos = 0;
    CHECK_EQ(ergo_dist_epmd_names_next((const uint8_t *)odd, sizeof odd - 1, &pos, &e), 0);
    CHECK_EQU(e.name_len, 11);
    CHECK_EQU(e.port, 22);

    static const char *bad[] = {
        "nom x at port 1\n", "name x at port\n", "name x at port 99999\n",
        "name x at port 12345678901\n", "name x port 1\n", "\n", "name  at port x1\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pos = 0;
        CHECK_EQ(ergo_dist_epmd_names_next((const uint8_t *)bad[i], strlen(bad[i]), &pos, &e),
                 ERGO_DIST_E_MALFORMED);
    }
    ergo_etf_buf_free(&b);
}

static void test_requests(void)
{
    ergo_etf_buf b;
    ergo_etf_buf_init(&b, 0);
    ergo_dist_epmd_encode_names_req(&b);
    ergo_dist_epmd_encode_dump_req(&b);
    ergo_dist_epmd_encode_kill_req(&b);
    static const uint8_t want[] = {0, 1, 110, 0, 1, 100, 0, 1, 107};
    CHECK(buf_is(&b, want, sizeof want));
    ergo_dist_epmd_request req;
    size_t used, pos = 0;
    static const uint8_t kinds[] = {110, 100, 107};
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(ergo_dist_epmd_parse_request(b.data + pos, b.len - pos, 0, &req, &used), 0);
        CHECK_EQ(req.kind, kinds[i]);
        pos += used;
    }
    /* garbage */
    static const uint8_t unknown[] = {0, 1, 42};
    CHECK_EQ(ergo_dist_epmd_parse_request(unknown, 3, 0, &req, &used), ERGO_DIST_E_TAG);
    static const uint8_t empty[] = {0, 0};
    CHECK_EQ(ergo_dist_epmd_parse_request(empty, 2, 0, &req, &used), ERGO_DIST_E_MALFORMED);
    static const uint8_t names_extra[] = {0, 2, 110, 0};
    CHECK_EQ(ergo_dist_epmd_parse_request(names_extra, 4, 0, &req, &used), ERGO_DIST_E_MALFORMED);
    /* a length past the caller's limit fails before the bytes arrive */
    static const uint8_t huge[] = {0xFF, 0xFF, 120};
    CHECK_EQ(ergo_dist_epmd_parse_request(huge, 3, 1024, &req, &used), ERGO_DIST_E_LIMIT);
    CHECK_EQ(ergo_dist_epmd_parse_request(huge, 3, 0, &req, &used), ERGO_DIST_NEED_MORE);
    /* a full buffer: sticky ETF error */
    ergo_etf_buf small;
    ergo_etf_buf_init(&small, 4);
    CHECK_EQ(ergo_dist_epmd_encode_port_please2_req(&small, (const uint8_t *)"longname", 8), ERGO_ETF_E_LIMIT);
    CHECK(strcmp(ergo_dist_strerror(ERGO_ETF_E_LIMIT), "size limit exceeded") == 0);
    CHECK(strcmp(ergo_dist_strerror(ERGO_DIST_NEED_MORE), "need more bytes") == 0);
    ergo_etf_buf_free(&small);
    ergo_etf_buf_free(&b);
}

int main(void)
{
    test_alive2_req();
    test_port_please();
    test_alive2_resp();
    test_names();
    test_requests();
    CHECK_DONE();
}
