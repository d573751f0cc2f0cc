/*
 * dist_epmd.c — EPMD messages: the requests a node sends and the responses
 * it reads (client side), and the requests an embedded EPMD reads and the
 * responses it writes (server side). Requests carry a 2-byte length prefix;
 * responses carry none (ERTS User's Guide, "Distribution Protocol", EPMD
 * Protocol).
 */
#include <stdio.h>
#include <string.h>

#include "ergo_dist.h"
#include "etf_internal.h"

/* ---- client side: requests ------------------------------------------------ */

/* 2-byte length, then `n` body bytes the caller appends. */
static int put_req_head(ergo_etf_buf *b, size_t n, uint8_t tag)
{
    if (n > 65535)
        return ERGO_DIST_E_ARG;
    uint8_t h[3];
    ergo_put16(h, (uint16_t)n);
    h[2] = tag;
    return ergo_etf_encode_raw(b, h, 3);
}

static int put_node_fields(ergo_etf_buf *b, const ergo_dist_epmd_node *n)
{
    uint8_t f[10];
    ergo_put16(f, n->port);
    f[2] = n->node_type;
    f[3] = n->protocol;
    ergo_put16(f + 4, n->highest_version);
    ergo_put16(f + 6, n->lowest_version);
    ergo_put16(f + 8, (uint16_t)n->name_len);
    ergo_etf_encode_raw(b, f, 10);
    ergo_etf_encode_raw(b, n->name, (size_t)n->name_len);
    ergo_put16(f, (uint16_t)n->extra_len);
    ergo_etf_encode_raw(b, f, 2);
    return ergo_etf_encode_raw(b, n->extra, (size_t)n->extra_len);
}

int ergo_dist_epmd_encode_alive2_req(ergo_etf_buf *b, const ergo_dist_epmd_node *node)
{
    if (node->name_len > 65535 || node->extra_len > 65535)
        return ERGO_DIST_E_ARG;
    size_t n = 1 + 10 + (size_t)node->name_len + 2 + (size_t)node->extra_len;
    int rc = put_req_head(b, n, ERGO_DIST_EPMD_ALIVE2_REQ);
    if (rc)
        return rc;
    return put_node_fields(b, node);
}

int ergo_dist_epmd_encode_port_please2_req(ergo_etf_buf *b, const uint8_t *name, size_t len)
{
    if (len > 65534)
        return ERGO_DIST_E_ARG;
    int rc = put_req_head(b, 1 + len, ERGO_DIST_EPMD_PORT_PLEASE2_REQ);
    if (rc)
        return rc;
    return ergo_etf_encode_raw(b, name, len);
}

int ergo_dist_epmd_encode_names_req(ergo_etf_buf *b)
{
    return put_req_head(b, 1, ERGO_DIST_EPMD_NAMES_REQ);
}

int ergo_dist_epmd_encode_dump_req(ergo_etf_buf *b)
{
    return put_req_head(b, 1, ERGO_DIST_EPMD_DUMP_REQ);
}

int ergo_dist_epmd_encode_kill_req(ergo_etf_buf *b)
{
    return put_req_head(b, 1, ERGO_DIST_EPMD_KILL_REQ);
}

/* ---- client side: responses ----------------------------------------------- */

int ergo_dist_epmd_parse_alive2_resp(const uint8_t *buf, size_t len, uint8_t *result,
                                     uint32_t *creation, size_t *used)
{
    if (len < 1)
        return ERGO_DIST_NEED_MORE;
    size_t need;
    if (buf[0] == ERGO_DIST_EPMD_ALIVE2_X_RESP)
        need = 6;
    else if (buf[0] == ERGO_DIST_EPMD_ALIVE2_RESP)
        need = 4;
    else
        return ERGO_DIST_E_TAG;
    if (len < need)
        return ERGO_DIST_NEED_MORE;
    *result = buf[1];
    *creation = need == 6 ? ergo_be32(buf + 2) : ergo_be16(buf + 2);
    *used = need;
    return ERGO_DIST_OK;
}

/* The node fields after PortNo's position `p` (PORT2_RESP / ALIVE2_REQ):
 * OK with *end, NEED_MORE, or E_MALFORMED if more than `limit` bytes would
 * be needed. */
static int parse_node_fields(const uint8_t *buf, size_t len, size_t p, size_t limit,
                             ergo_dist_epmd_node *n, size_t *end)
{
    if (len < p + 10)
        return limit < p + 10 ? ERGO_DIST_E_MALFORMED : ERGO_DIST_NEED_MORE;
    n->port = ergo_be16(buf + p);
    n->node_type = buf[p + 2];
    n->protocol = buf[p + 3];
    n->highest_version = ergo_be16(buf + p + 4);
    n->lowest_version = ergo_be16(buf + p + 6);
    size_t nlen = ergo_be16(buf + p + 8);
    p += 10;
    if (limit < p + nlen + 2)
        return ERGO_DIST_E_MALFORMED;
    if (len < p + nlen + 2)
        return ERGO_DIST_NEED_MORE;
    n->name = buf + p;
    n->name_len = nlen;
    p += nlen;
    size_t elen = ergo_be16(buf + p);
    p += 2;
    if (limit < p + elen)
        return ERGO_DIST_E_MALFORMED;
    if (len < p + elen)
        return ERGO_DIST_NEED_MORE;
    n->extra = buf + p;
    n->extra_len = elen;
    *end = p + elen;
    return ERGO_DIST_OK;
}

int ergo_dist_epmd_parse_port2_resp(const uint8_t *buf, size_t len, uint8_t *result,
                                    ergo_dist_epmd_node *node, size_t *used)
{
    memset(node, 0, sizeof *node);
    if (len < 1)
        return ERGO_DIST_NEED_MORE;
    if (buf[0] != ERGO_DIST_EPMD_PORT2_RESP)
        return ERGO_DIST_E_TAG;
    if (len < 2)
        return ERGO_DIST_NEED_MORE;
    *result = buf[1];
    if (buf[1] != 0) {
        *used = 2;
        return ERGO_DIST_OK;
    }
    size_t end;
    int rc = parse_node_fields(buf, len, 2, SIZE_MAX, node, &end);
    if (rc != ERGO_DIST_OK) {
        memset(node, 0, sizeof *node);
        return rc;
    }
    *used = end;
    return ERGO_DIST_OK;
}

int ergo_dist_epmd_parse_names_head(const uint8_t *buf, size_t len, uint32_t *epmd_port)
{
    if (len < 4)
        return ERGO_DIST_NEED_MORE;
    *epmd_port = ergo_be32(buf);
    return ERGO_DIST_OK;
}

/* "name " NAME " at port " DIGITS "\n". The name runs to the last " at port "
 * of the line (epmd prints names verbatim). */
int ergo_dist_epmd_names_next(const uint8_t *buf, size_t len, size_t *pos,
                              ergo_dist_epmd_name_entry *entry)
{
    static const char head[] = "name ";
    static const char mid[] = " at port ";
    size_t p = *pos;
    if (p > len)
        return ERGO_DIST_E_ARG;
    const uint8_t *nl = memchr(buf + p, '\n', len - p);
    if (!nl)
        return ERGO_DIST_NEED_MORE;
    size_t end = (size_t)(nl - buf);          /* the newline */
    size_t line = end - p;
    if (line < 5 + 9 + 1 || memcmp(buf + p, head, 5) != 0)
        return ERGO_DIST_E_MALFORMED;
    /* digits backwards from the newline */
    size_t d = end;
    uint64_t port = 0, scale = 1;
    while (d > p && buf[d - 1] >= '0' && buf[d - 1] <= '9') {
        if (end - d >= 10)
            return ERGO_DIST_E_MALFORMED;
        port += (uint64_t)(buf[d - 1] - '0') * scale;
        scale *= 10;
        d--;
    }
    if (d == end || port > 65535 || d - p < 5 + 9 || memcmp(buf + d - 9, mid, 9) != 0)
        return ERGO_DIST_E_MALFORMED;
    entry->name = buf + p + 5;
    entry->name_len = (d - 9) - (p + 5);
    entry->port = (uint32_t)port;
    entry->reserved = 0;
    *pos = end + 1;
    return ERGO_DIST_OK;
}

/* ---- server side ------------------------------------------------------------ */

int ergo_dist_epmd_parse_request(const uint8_t *buf, size_t len, size_t max_len,
                                 ergo_dist_epmd_request *req, size_t *used)
{
    memset(req, 0, sizeof *req);
    if (len < 2)
        return ERGO_DIST_NEED_MORE;
    size_t n = ergo_be16(buf);
    if (max_len && n > max_len)
        return ERGO_DIST_E_LIMIT;
    if (n == 0)
        return ERGO_DIST_E_MALFORMED;
    if (len < 2 + n)
        return ERGO_DIST_NEED_MORE;
    const uint8_t *body = buf + 2;
    req->kind = body[0];
    switch (body[0]) {
    case ERGO_DIST_EPMD_ALIVE2_REQ: {
        size_t end;
        int rc = parse_node_fields(body, n, 1, n, &req->node, &end);
        if (rc != ERGO_DIST_OK || end != n) {
            memset(req, 0, sizeof *req);
            return ERGO_DIST_E_MALFORMED;
        }
        break;
    }
    case ERGO_DIST_EPMD_PORT_PLEASE2_REQ:
        req->name = body + 1;
        req->name_len = n - 1;
        break;
    case ERGO_DIST_EPMD_NAMES_REQ:
    case ERGO_DIST_EPMD_DUMP_REQ:
    case ERGO_DIST_EPMD_KILL_REQ:
    case ERGO_DIST_EPMD_STOP_REQ:
        if (body[0] == ERGO_DIST_EPMD_STOP_REQ) {  /* STOP_REQ carries a node name */
            req->name = body + 1;
            req->name_len = n - 1;
        } else if (n != 1) {
            memset(req, 0, sizeof *req);
            return ERGO_DIST_E_MALFORMED;
        }
        break;
    default:
        memset(req, 0, sizeof *req);
        return ERGO_DIST_E_TAG;
    }
    *used = 2 + n;
    return ERGO_DIST_OK;
}

int ergo_dist_epmd_wants_x_resp(const ergo_dist_epmd_node *node)
{
    return node->highest_version >= 6;
}

int ergo_dist_epmd_encode_alive2_resp(ergo_etf_buf *b, int x, uint8_t result, uint32_t creation)
{
    uint8_t r[6];
    r[1] = result;
    if (x) {
        r[0] = ERGO_DIST_EPMD_ALIVE2_X_RESP;
        ergo_put32(r + 2, creation);
        return ergo_etf_encode_raw(b, r, 6);
    }
    if (creation > 65535)
        return ERGO_DIST_E_ARG;
    r[0] = ERGO_DIST_EPMD_ALIVE2_RESP;
    ergo_put16(r + 2, (uint16_t)creation);
    return ergo_etf_encode_raw(b, r, 4);
}

int ergo_dist_epmd_encode_port2_resp(ergo_etf_buf *b, uint8_t result, const ergo_dist_epmd_node *node)
{
    uint8_t r[2] = {ERGO_DIST_EPMD_PORT2_RESP, result};
    if (result != 0)
        return ergo_etf_encode_raw(b, r, 2);
    if (!node || node->name_len > 65535 || node->extra_len > 65535)
        return ERGO_DIST_E_ARG;
    ergo_etf_encode_raw(b, r, 2);
    return put_node_fields(b, node);
}

int ergo_dist_epmd_encode_names_head(ergo_etf_buf *b, uint32_t epmd_port)
{
    uint8_t r[4];
    ergo_put32(r, epmd_port);
    return ergo_etf_encode_raw(b, r, 4);
}

int ergo_dist_epmd_encode_names_line(ergo_etf_buf *b, const uint8_t *name, size_t len, uint32_t port)
{
    if ((len && memchr(name, '\n', len)) || port > 65535)
        return ERGO_DIST_E_ARG;
    char tail[24];
    int t = snprintf(tail, sizeof tail, " at port %u\n", (unsigned)port);
    ergo_etf_encode_raw(b, "name ", 5);
    ergo_etf_encode_raw(b, name, len);
    return ergo_etf_encode_raw(b, tail, (size_t)t);
}
