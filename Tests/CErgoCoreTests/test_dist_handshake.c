/*
 * test_dist_handshake.c — handshake messages (v5 and v6) against the bytes
 * an OTP 25 node sent, round trips of every message, truncation and
 * garbage; the challenge digest against erlang:md5/1; the mandatory flags.
 */
#include "check.h"
#include "dist_vectors.h"
#include "ergo_dist.h"

static uint8_t in[4096];

static int buf_is(ergo_etf_buf *b, const uint8_t *want, size_t n)
{
    return b->error == 0 && b->len == n && memcmp(b->data, want, n) == 0;
}

/* Every proper prefix of a message fails as malformed. */
static void check_prefixes(const uint8_t *body, size_t n, int challenge)
{
    ergo_dist_hs m;
    for (size_t k = 0; k < n; k++) {
        int rc = ergo_dist_hs_parse(body, k, challenge, &m);
        if (rc != ERGO_DIST_E_MALFORMED) {
            fprintf(stderr, "prefix %zu of '%c': %d\n", k, body[0], rc);
            check_failures++;
        }
    }
}

static void test_send_name(void)
{
    /* erl -sname capa -setcookie secret, connecting to py@vm */
    size_t n = unhex(V_ERL_SEND_NAME, in, sizeof in);
    ergo_dist_hs m;
    CHECK_EQ(ergo_dist_hs_parse(in, n, 0, &m), 0);
    CHECK_EQ(m.tag, 'N');
    CHECK_EQU(m.flags, 0xd07df7fbdULL);
    CHECK_EQU(m.creation, 0x1234);
    CHECK_EQU(m.name_len, 7);
    CHECK(memcmp(m.name, "capa@vm", 7) == 0);
    CHECK_EQU(ergo_dist_missing_flags(m.flags, ERGO_DIST_MANDATORY_OTP25), 0);
    ergo_etf_buf b;
    ergo_etf_buf_init(&b, 0);
    CHECK_EQ(ergo_dist_hs_encode_name(&b, m.flags, m.creation, m.name, (size_t)m.name_len), 0);
    CHECK(buf_is(&b, in, n));
    /* 'N' with less than Nlen bytes of name */
    check_prefixes(in, n, 0);
    /* extra data after the name is accepted and ignored */
    in[n] = 0xAB;
    CHECK_EQ(ergo_dist_hs_parse(in, n + 1, 0, &m), 0);
    CHECK_EQU(m.name_len, 7);

    /* the old form: version 5, 32-bit flags, the name to the end */
    ergo_etf_buf_reset(&b);
    CHECK_EQ(ergo_dist_hs_encode_name_old(&b, 5, 0x3499c, (const uint8_t *)"a@h", 3), 0);
    static const uint8_t old[] = {'n', 0, 5, 0, 3, 0x49, 0x9c, 'a', '@', 'h'};
    CHECK(buf_is(&b, old, sizeof old));
    CHECK_EQ(ergo_dist_hs_parse(old, sizeof old, 0, &m), 0);
    CHECK_EQ(m.tag, 'n');
    CHECK_EQ(m.version, 5);
    CHECK_EQU(m.flags, 0x3499c);
    CHECK_EQU(m.name_len, 3);
    check_prefixes(old, 7, 0);   /* the name may be empty: shorter than 7 fails */
    ergo_etf_buf_free(&b);
}

static void test_challenge(void)
{
    ergo_etf_buf b;
    ergo_etf_buf_init(&b, 0);
    /* the challenge capture.py sent (and erl accepted) */
    static const char me[] = "py@vm";
    CHECK_EQ(ergo_dist_hs_encode_challenge(&b, 0xd07df7fbcULL, 0xdeadbeef, 0x12345678,
                                           (const uint8_t *)me, 5), 0);
    static const uint8_t want[] = {'N', 0, 0, 0, 0x0d, 0x07, 0xdf, 0x7f, 0xbc, 0xde, 0xad, 0xbe, 0xef,
                                   0x12, 0x34, 0x56, 0x78, 0, 5, 'p', 'y', '@', 'v', 'm'};
    CHECK(buf_is(&b, want, sizeof want));
    ergo_dist_hs m;
    CHECK_EQ(ergo_dist_hs_parse(want, sizeof want, 1, &m), 0);
    CHECK_EQU(m.flags, 0xd07df7fbcULL);
    CHECK_EQU(m.challenge, 0xdeadbeef);
    CHECK_EQU(m.creation, 0x12345678);
    CHECK_EQU(m.name_len, 5);
    check_prefixes(want, sizeof want, 1);

    ergo_etf_buf_reset(&b);
    CHECK_EQ(ergo_dist_hs_encode_challenge_old(&b, 5, 0x7fbc, 42, (const uint8_t *)me, 5), 0);
    CHECK_EQ(ergo_dist_hs_parse(b.data, b.len, 1, &m), 0);
    CHECK_EQ(m.tag, 'n');
    CHECK_EQ(m.version, 5);
    CHECK_EQU(m.flags, 0x7fbc);
    CHECK_EQU(m.challenge, 42);
    CHECK_EQU(m.name_len, 5);
    CHECK(memcmp(m.name, me, 5) == 0);
    check_prefixes(b.data, 11, 1);

    /* erl's challenge_reply for challenge 0xdeadbeef, cookie "secret" */
    size_t n = unhex(V_ERL_CHALLENGE_REPLY, in, sizeof in);
    CHECK_EQ(ergo_dist_hs_parse(in, n, 0, &m), 0);
    CHECK_EQ(m.tag, 'r');
    uint8_t d[16];
    CHECK_EQ(ergo_dist_digest((const uint8_t *)"secret", 6, 0xdeadbeef, d), 0);
    CHECK(ergo_dist_digest_equal(d, m.digest));
    d[15] ^= 1;
    CHECK(!ergo_dist_digest_equal(d, m.digest));
    ergo_etf_buf_reset(&b);
    CHECK_EQ(ergo_dist_hs_encode_reply(&b, m.challenge, m.digest), 0);
    CHECK(buf_is(&b, in, n));
    check_prefixes(in, n, 0);
    in[n] = 0;
    CHECK_EQ(ergo_dist_hs_parse(in, n + 1, 0, &m), ERGO_DIST_E_MALFORMED);  /* fixed size */

    ergo_etf_buf_reset(&b);
    CHECK_EQ(ergo_dist_hs_encode_ack(&b, d), 0);
    CHECK_EQ(ergo_dist_hs_parse(b.data, b.len, 0, &m), 0);
    CHECK_EQ(m.tag, 'a');
    CHECK(memcmp(m.digest, d, 16) == 0);
    check_prefixes(b.data, b.len, 0);

    ergo_etf_buf_reset(&b);
    CHECK_EQ(ergo_dist_hs_encode_complement(&b, 0xd07df7fbcULL, 0xCAFE), 0);
    static const uint8_t comp[] = {'c', 0, 0, 0, 0x0d, 0, 0, 0xCA, 0xFE};
    CHECK(buf_is(&b, comp, sizeof comp));
    CHECK_EQ(ergo_dist_hs_parse(comp, sizeof comp, 0, &m), 0);
    CHECK_EQU(m.flags, 0xd00000000ULL);
    CHECK_EQU(m.creation, 0xCAFE);
    check_prefixes(comp, sizeof comp, 0);
    ergo_etf_buf_free(&b);
}

static void test_status(void)
{
    static const struct {
        ergo_dist_status s;
        const char *text;
    } all[] = {
        {ERGO_DIST_STATUS_OK, "ok"},         {ERGO_DIST_STATUS_OK_SIMULTANEOUS, "ok_simultaneous"},
        {ERGO_DIST_STATUS_NOK, "nok"},       {ERGO_DIST_STATUS_NOT_ALLOWED, "not_allowed"},
        {ERGO_DIST_STATUS_ALIVE, "alive"},   {ERGO_DIST_STATUS_TRUE, "true"},
        {ERGO_DIST_STATUS_FALSE, "false"},
    };
    ergo_etf_buf b;
    ergo_etf_buf_init(&b, 0);
    ergo_dist_hs m;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        ergo_etf_buf_reset(&b);
        CHECK_EQ(ergo_dist_hs_encode_status(&b, all[i].s, NULL, 0, 0), 0);
        CHECK_EQU(b.len, 1 + strlen(all[i].text));
        CHECK(b.data[0] == 's' && memcmp(b.data + 1, all[i].text, b.len - 1) == 0);
        CHECK_EQ(ergo_dist_hs_parse(b.data, b.len, 0, &m), 0);
        CHECK_EQ(m.status, all[i].s);
        CHECK_EQU(m.text_len, strlen(all[i].text));
    }
    /* the "ok" erl received in the capture */
    static const uint8_t ok[] = {'s', 'o', 'k'};
    CHECK_EQ(ergo_dist_hs_parse(ok, 3, 0, &m), 0);
    CHECK_EQ(m.status, ERGO_DIST_STATUS_OK);
    /* an unknown status keeps its text */
    static const uint8_t other[] = {'s', 'o', 'k', '!'};
    CHECK_EQ(ergo_dist_hs_parse(other, 4, 0, &m), 0);
    CHECK_EQ(m.status, ERGO_DIST_STATUS_OTHER);
    CHECK_EQU(m.text_len, 3);
    /* named: with the dynamic name and creation, then ignored extra bytes */
    ergo_etf_buf_reset(&b);
    CHECK_EQ(ergo_dist_hs_encode_status(&b, ERGO_DIST_STATUS_NAMED, (const uint8_t *)"dyn@h", 5, 77), 0);
    static const uint8_t named[] = {'s', 'n', 'a', 'm', 'e', 'd', ':', 0, 5, 'd', 'y', 'n', '@', 'h', 0, 0, 0, 77};
    CHECK(buf_is(&b, named, sizeof named));
    CHECK_EQ(ergo_dist_hs_parse(named, sizeof named, 0, &m), 0);
    CHECK_EQ(m.status, ERGO_DIST_STATUS_NAMED);
    CHECK_EQU(m.name_len, 5);
    CHECK_EQU(m.creation, 77);
    ergo_etf_encode_raw(&b, "zz", 2);
    CHECK_EQ(ergo_dist_hs_parse(b.data, b.len, 0, &m), 0);
    CHECK_EQU(m.creation, 77);
    for (size_t k = 7; k < sizeof named; k++)
        CHECK_EQ(ergo_dist_hs_parse(named, k, 0, &m), ERGO_DIST_E_MALFORMED);
    CHECK_EQ(ergo_dist_hs_encode_status(&b, ERGO_DIST_STATUS_OTHER, NULL, 0, 0), ERGO_DIST_E_ARG);
    ergo_etf_buf_free(&b);
}

static void test_garbage(void)
{
    ergo_dist_hs m;
    static const uint8_t unknown[] = {'x', 1, 2, 3};
    CHECK_EQ(ergo_dist_hs_parse(unknown, 4, 0, &m), ERGO_DIST_E_TAG);
    CHECK_EQ(ergo_dist_hs_parse(unknown, 0, 0, &m), ERGO_DIST_E_MALFORMED);
    /* a name length of 65535 in a short body */
    static const uint8_t big[] = {'N', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 'a'};
    CHECK_EQ(ergo_dist_hs_parse(big, sizeof big, 0, &m), ERGO_DIST_E_MALFORMED);
    CHECK_EQU(m.name_len, 0);
    ergo_etf_buf b;
    ergo_etf_buf_init(&b, 0);
    CHECK_EQ(ergo_dist_hs_encode_name(&b, 0, 0, in, 70000), ERGO_DIST_E_ARG);
    ergo_etf_buf_free(&b);
}

static void test_digest(void)
{
    /* erlang:md5([Cookie, integer_to_list(Challenge)]) on OTP 25 */
    static const struct {
        const char *cookie;
        uint32_t challenge;
        const char *md5;
    } v[] = {
        {"", 0, "CFCD208495D565EF66E7DFF9F98764DA"},
        {"secret", 0, "175EC77A7F63082590987D0D8B051AFF"},
        {"secret", 4294967295u, "5DFD181E69AA587CC812EB333E6536B6"},
        {"secret", 3735928559u, "C3939B31D7A913D82E2ACE09247C7B41"},
        {"ABCDEFGHIJKLMNOPQRST", 123456789, "FF9061447B7D16C8E64BCB1D5C675EC6"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t want[16], got[16];
        unhex(v[i].md5, want, 16);
        CHECK_EQ(ergo_dist_digest((const uint8_t *)v[i].cookie, strlen(v[i].cookie), v[i].challenge, got), 0);
        CHECK(memcmp(got, want, 16) == 0);
        CHECK(ergo_dist_digest_equal(got, want));
    }
}

static void test_flags(void)
{
    const uint64_t otp25 = 0xd07df7fbdULL;   /* erl's send_name flags */
    for (unsigned r = 23; r <= 28; r++) {
        CHECK(ergo_dist_mandatory_flags(r) != 0);
        CHECK_EQU(ergo_dist_missing_flags(otp25, ergo_dist_mandatory_flags(r)), 0);
        CHECK_EQU(ergo_dist_missing_flags(0, ergo_dist_mandatory_flags(r)), ergo_dist_mandatory_flags(r));
    }
    CHECK_EQU(ergo_dist_mandatory_flags(22), 0);
    CHECK_EQU(ergo_dist_mandatory_flags(29), 0);
    /* the digest flag stands for the OTP 25 set */
    uint64_t digest_only = ERGO_DIST_DFLAG_MANDATORY_25_DIGEST | ERGO_DIST_DFLAG_V4_NC | ERGO_DIST_DFLAG_UNLINK_ID;
    CHECK_EQU(ergo_dist_missing_flags(digest_only, ERGO_DIST_MANDATORY_OTP27), 0);
    CHECK_EQU(ergo_dist_missing_flags(ERGO_DIST_MANDATORY_OTP25, ERGO_DIST_MANDATORY_OTP26),
              ERGO_DIST_DFLAG_V4_NC | ERGO_DIST_DFLAG_UNLINK_ID);
    CHECK_EQU(ergo_dist_missing_flags(ERGO_DIST_MANDATORY_OTP26, ERGO_DIST_MANDATORY_OTP27),
              ERGO_DIST_DFLAG_MANDATORY_25_DIGEST);
    /* an OTP 23/24-style peer lacks HANDSHAKE_23 and more for OTP 25 */
    uint64_t m = ergo_dist_missing_flags(ERGO_DIST_MANDATORY_OTP23, ERGO_DIST_MANDATORY_OTP25);
    CHECK(m & ERGO_DIST_DFLAG_HANDSHAKE_23);
    CHECK(m & ERGO_DIST_DFLAG_MAP_TAG);
    /* OTP 25's own mandatory word, as erts_internal:get_dflags() reports it */
    CHECK_EQU(ERGO_DIST_MANDATORY_OTP25, 17239956u);
}

int main(void)
{
    test_send_name();
    test_challenge();
    test_status();
    test_garbage();
    test_digest();
    test_flags();
    CHECK_DONE();
}
