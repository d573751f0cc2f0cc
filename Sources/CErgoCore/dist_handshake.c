/*
 * dist_handshake.c — the handshake messages of the distribution protocol
 * (versions 5 and 6) and the challenge digest (ERTS User's Guide,
 * "Distribution Protocol", Distribution Handshake). Bodies only: the 2-byte
 * packet length is the framer's.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "ergo_dist.h"
#include "etf_internal.h"

/* ---- parsing ---------------------------------------------------------------- */

static const struct {
    const char *text;
    uint8_t status;
} STATUS_TEXT[] = {
    {"ok", ERGO_DIST_STATUS_OK},
    {"ok_simultaneous", ERGO_DIST_STATUS_OK_SIMULTANEOUS},
    {"nok", ERGO_DIST_STATUS_NOK},
    {"not_allowed", ERGO_DIST_STATUS_NOT_ALLOWED},
    {"alive", ERGO_DIST_STATUS_ALIVE},
    {"true", ERGO_DIST_STATUS_TRUE},
    {"false", ERGO_DIST_STATUS_FALSE},
};

static int parse_status(const uint8_t *p, size_t n, ergo_dist_hs *out)
{
    out->text = p;
    out->text_len = n;
    if (n >= 6 && memcmp(p, "named:", 6) == 0) {
        /* "named:" Nlen(2) Name Creation(4), then anything */
        if (n < 6 + 2)
            return ERGO_DIST_E_MALFORMED;
        size_t nlen = ergo_be16(p + 6);
        if (n < 8 + nlen + 4)
            return ERGO_DIST_E_MALFORMED;
        out->status = ERGO_DIST_STATUS_NAMED;
        out->text_len = 6;
        out->name = p + 8;
        out->name_len = nlen;
        out->creation = ergo_be32(p + 8 + nlen);
        return ERGO_DIST_OK;
    }
    out->status = ERGO_DIST_STATUS_OTHER;
    for (size_t i = 0; i < sizeof STATUS_TEXT / sizeof STATUS_TEXT[0]; i++) {
        size_t k = strlen(STATUS_TEXT[i].text);
        if (k == n && memcmp(p, STATUS_TEXT[i].text, k) == 0) {
            out->status = STATUS_TEXT[i].status;
            break;
        }
    }
    return ERGO_DIST_OK;
}

int ergo_dist_hs_parse(const uint8_t *body, size_t len, int challenge, ergo_dist_hs *out)
{
    memset(out, 0, sizeof *out);
    if (len < 1)
        return ERGO_DIST_E_MALFORMED;
    const uint8_t *p = body + 1;
    size_t n = len - 1;
    out->tag = body[0];
    switch (body[0]) {
    case ERGO_DIST_HS_NAME_OLD: {
        /* version(2) flags(4) [challenge(4)] name(rest) */
        size_t fixed = challenge ? 10 : 6;
        if (n < fixed)
            goto bad;
        out->version = ergo_be16(p);
        out->flags = ergo_be32(p + 2);
        if (challenge)
            out->challenge = ergo_be32(p + 6);
        out->name = p + fixed;
        out->name_len = n - fixed;
        return ERGO_DIST_OK;
    }
    case ERGO_DIST_HS_NAME: {
        /* flags(8) [challenge(4)] creation(4) nlen(2) name, then anything */
        size_t fixed = challenge ? 18 : 14;
        if (n < fixed)
            goto bad;
        out->version = 6;
        out->flags = ergo_be64(p);
        size_t q = 8;
        if (challenge) {
            out->challenge = ergo_be32(p + q);
            q += 4;
        }
        out->creation = ergo_be32(p + q);
        size_t nlen = ergo_be16(p + q + 4);
        if (n - fixed < nlen)
            goto bad;
        out->name = p + fixed;
        out->name_len = nlen;
        return ERGO_DIST_OK;
    }
    case ERGO_DIST_HS_STATUS:
        if (parse_status(p, n, out) != ERGO_DIST_OK)
            goto bad;
        return ERGO_DIST_OK;
    case ERGO_DIST_HS_COMPLEMENT:
        if (n < 8)
            goto bad;
        out->flags = (uint64_t)ergo_be32(p) << 32;
        out->creation = ergo_be32(p + 4);
        return ERGO_DIST_OK;
    case ERGO_DIST_HS_REPLY:
        if (n != 20)
            goto bad;
        out->challenge = ergo_be32(p);
        memcpy(out->digest, p + 4, 16);
        return ERGO_DIST_OK;
    case ERGO_DIST_HS_ACK:
        if (n != 16)
            goto bad;
        memcpy(out->digest, p, 16);
        return ERGO_DIST_OK;
    default:
        memset(out, 0, sizeof *out);
        return ERGO_DIST_E_TAG;
    }
bad:
    memset(out, 0, sizeof *out);
    return ERGO_DIST_E_MALFORMED;
}

/* ---- encoding --------------------------------------------------------------- */

int ergo_dist_hs_encode_name(ergo_etf_buf *b, uint64_t flags, uint32_t creation,
                             const uint8_t *name, size_t len)
{
    if (len > 65535)
        return ERGO_DIST_E_ARG;
    uint8_t h[15];
    h[0] = ERGO_DIST_HS_NAME;
    ergo_put64(h + 1, flags);
    ergo_put32(h + 9, creation);
    ergo_put16(h + 13, (uint16_t)len);
    ergo_etf_encode_raw(b, h, sizeof h);
    return ergo_etf_encode_raw(b, name, len);
}

int ergo_dist_hs_encode_name_old(ergo_etf_buf *b, uint16_t version, uint32_t flags,
                                 const uint8_t *name, size_t len)
{
    if (len > 65535 - 7)
        return ERGO_DIST_E_ARG;
    uint8_t h[7];
    h[0] = ERGO_DIST_HS_NAME_OLD;
    ergo_put16(h + 1, version);
    ergo_put32(h + 3, flags);
    ergo_etf_encode_raw(b, h, sizeof h);
    return ergo_etf_encode_raw(b, name, len);
}

int ergo_dist_hs_encode_challenge(ergo_etf_buf *b, uint64_t flags, uint32_t challenge,
                                  uint32_t creation, const uint8_t *name, size_t len)
{
    if (len > 65535 - 19)
        return ERGO_DIST_E_ARG;
    uint8_t h[19];
    h[0] = ERGO_DIST_HS_NAME;
    ergo_put64(h + 1, flags);
    ergo_put32(h + 9, challenge);
    ergo_put32(h + 13, creation);
    ergo_put16(h + 17, (uint16_t)len);
    ergo_etf_encode_raw(b, h, sizeof h);
    return ergo_etf_encode_raw(b, name, len);
}

int ergo_dist_hs_encode_challenge_old(ergo_etf_buf *b, uint16_t version, uint32_t flags,
                                      uint32_t challenge, const uint8_t *name, size_t len)
{
    if (len > 65535 - 11)
        return ERGO_DIST_E_ARG;
    uint8_t h[11];
    h[0] = ERGO_DIST_HS_NAME_OLD;
    ergo_put16(h + 1, version);
    ergo_put32(h + 3, flags);
    ergo_put32(h + 7, challenge);
    ergo_etf_encode_raw(b, h, sizeof h);
    return ergo_etf_encode_raw(b, name, len);
}

int ergo_dist_hs_encode_status(ergo_etf_buf *b, ergo_dist_status status,
                               const uint8_t *name, size_t len, uint32_t creation)
{
    uint8_t s = ERGO_DIST_HS_STATUS;
    if (status == ERGO_DIST_STATUS_NAMED) {
        if (len > 65535 - 13)
            return ERGO_DIST_E_ARG;
        uint8_t h[9] = {'s', 'n', 'a', 'm', 'e', 'd', ':', 0, 0};
        ergo_put16(h + 7, (uint16_t)len);
        ergo_etf_encode_raw(b, h, sizeof h);
        ergo_etf_encode_raw(b, name, len);
        uint8_t c[4];
        ergo_put32(c, creation);
        return ergo_etf_encode_raw(b, c, 4);
    }
    for (size_t i = 0; i < sizeof STATUS_TEXT / sizeof STATUS_TEXT[0]; i++) {
        if (STATUS_TEXT[i].status == status) {
            ergo_etf_encode_raw(b, &s, 1);
            return ergo_etf_encode_raw(b, STATUS_TEXT[i].text, strlen(STATUS_TEXT[i].text));
        }
    }
    return ERGO_DIST_E_ARG;
}

int ergo_dist_hs_encode_complement(ergo_etf_buf *b, uint64_t flags, uint32_t creation)
{
    uint8_t h[9];
    h[0] = ERGO_DIST_HS_COMPLEMENT;
    ergo_put32(h + 1, (uint32_t)(flags >> 32));
    ergo_put32(h + 5, creation);
    return ergo_etf_encode_raw(b, h, sizeof h);
}

int ergo_dist_hs_encode_reply(ergo_etf_buf *b, uint32_t challenge, const uint8_t digest[16])
{
    uint8_t h[21];
    h[0] = ERGO_DIST_HS_REPLY;
    ergo_put32(h + 1, challenge);
    memcpy(h + 5, digest, 16);
    return ergo_etf_encode_raw(b, h, sizeof h);
}

int ergo_dist_hs_encode_ack(ergo_etf_buf *b, const uint8_t digest[16])
{
    uint8_t h[17];
    h[0] = ERGO_DIST_HS_ACK;
    memcpy(h + 1, digest, 16);
    return ergo_etf_encode_raw(b, h, sizeof h);
}

/* ---- digest ----------------------------------------------------------------- */

int ergo_dist_digest(const uint8_t *cookie, size_t cookie_len, uint32_t challenge,
                     uint8_t out[16])
{
    char text[11];
    int tn = snprintf(text, sizeof text, "%lu", (unsigned long)challenge);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return ERGO_DIST_E_NOMEM;
    unsigned int n = 0;
    int ok = EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 &&
             (cookie_len == 0 || EVP_DigestUpdate(ctx, cookie, cookie_len) == 1) &&
             EVP_DigestUpdate(ctx, text, (size_t)tn) == 1 &&
             EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == 16;
    EVP_MD_CTX_free(ctx);
    return ok ? ERGO_DIST_OK : ERGO_DIST_E_DIGEST;
}

int ergo_dist_digest_equal(const uint8_t a[16], const uint8_t b[16])
{
    volatile uint8_t d = 0;
    for (int i = 0; i < 16; i++)
        d |= (uint8_t)(a[i] ^ b[i]);
    return d == 0;
}
