/*
 * check.h — tiny assertions for the C unit tests (one executable per test
 * file; exit 0 = pass, 1 = fail, 77 = skip), plus helpers the ETF tests and
 * the fuzz targets share: reading a fixture, comparing two tapes.
 */
#ifndef ERGO_TEST_CHECK_H
#define ERGO_TEST_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ergo_etf.h"

static int check_failures;

/* (Keeps check_failures used in files that only want the helpers below.) */
static inline int check_failed(void)
{
    return check_failures;
}

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
            check_failures++;                                                        \
        }                                                                            \
    } while (0)

#define CHECK_EQ(a, b)                                                                     \
    do {                                                                                   \
        long long chk_a_ = (long long)(a), chk_b_ = (long long)(b);                                \
        if (chk_a_ != chk_b_) {                                                                    \
            fprintf(stderr, "%s:%d: CHECK_EQ(%s, %s) failed: %lld != %lld\n", __FILE__,    \
                    __LINE__, #a, #b, chk_a_, chk_b_);                                             \
            check_failures++;                                                              \
        }                                                                                  \
    } while (0)

#define CHECK_EQU(a, b)                                                                    \
    do {                                                                                   \
        unsigned long long chk_a_ = (unsigned long long)(a), chk_b_ = (unsigned long long)(b);     \
        if (chk_a_ != chk_b_) {                                                                    \
            fprintf(stderr, "%s:%d: CHECK_EQU(%s, %s) failed: %llu != %llu\n", __FILE__,   \
                    __LINE__, #a, #b, chk_a_, chk_b_);                                             \
            check_failures++;                                                              \
        }                                                                                  \
    } while (0)

/* Compare n bytes; prints the first difference. */
#define CHECK_MEM(a, b, n)                                                                 \
    do {                                                                                   \
        const uint8_t *chk_a_ = (const uint8_t *)(a), *chk_b_ = (const uint8_t *)(b);              \
        size_t chk_n_ = (n);                                                                   \
        for (size_t chk_i_ = 0; chk_i_ < chk_n_; chk_i_++) {                                               \
            if (chk_a_[chk_i_] != chk_b_[chk_i_]) {                                                        \
                fprintf(stderr, "%s:%d: CHECK_MEM(%s, %s) differs at %zu: %u != %u\n",     \
                        __FILE__, __LINE__, #a, #b, chk_i_, chk_a_[chk_i_], chk_b_[chk_i_]);                   \
                check_failures++;                                                          \
                break;                                                                     \
            }                                                                              \
        }                                                                                  \
    } while (0)

#define CHECK_DONE()                                                                       \
    do {                                                                                   \
        if (check_failures) {                                                              \
            fprintf(stderr, "%d check(s) failed\n", check_failures);                       \
            return 1;                                                                      \
        }                                                                                  \
        return 0;                                                                          \
    } while (0)

/* Whole file into a malloc'ed buffer (NULL if it cannot be read). */
static inline uint8_t *check_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *b = realloc(buf, cap);
            if (!b) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = b;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Bytes a node's v.off refers to (0 for kinds that hold a value). */
static inline size_t check_node_bytes(const ergo_etf_node *n)
{
    switch (n->kind) {
    case ERGO_ETF_K_BIG:
    case ERGO_ETF_K_ATOM:
    case ERGO_ETF_K_STRING:
    case ERGO_ETF_K_BINARY:
    case ERGO_ETF_K_BITS: return n->size;
    case ERGO_ETF_K_REF: return 4 * (size_t)n->aux;
    case ERGO_ETF_K_FUN: return 20;
    default: return 0;
    }
}

/* Two tapes hold the same terms: same kinds, sizes and values, and the
 * same bytes behind offsets. ERGO_ETF_F_OLD is ignored (old pid, port and
 * reference forms re-encode in the new form) and so are the unused bits of
 * a bit binary's last byte. Returns the index of the first difference, or
 * -1 when equal. */
static inline long check_tape_diff(const ergo_etf_tape *a, const ergo_etf_tape *b)
{
    size_t n = a->count < b->count ? a->count : b->count;
    for (size_t i = 0; i < n; i++) {
        const ergo_etf_node *x = &a->nodes[i], *y = &b->nodes[i];
        if (x->kind != y->kind || (x->flags & ~ERGO_ETF_F_OLD) != (y->flags & ~ERGO_ETF_F_OLD) ||
            x->aux != y->aux || x->size != y->size)
            return (long)i;
        size_t nb = check_node_bytes(x);
        int by_offset = x->kind == ERGO_ETF_K_BIG || x->kind == ERGO_ETF_K_ATOM ||
                        x->kind == ERGO_ETF_K_STRING || x->kind == ERGO_ETF_K_BINARY ||
                        x->kind == ERGO_ETF_K_BITS || x->kind == ERGO_ETF_K_REF ||
                        x->kind == ERGO_ETF_K_FUN;
        if (x->kind == ERGO_ETF_K_EXPORT || x->kind == ERGO_ETF_K_TUPLE ||
            x->kind == ERGO_ETF_K_LIST || x->kind == ERGO_ETF_K_MAP || x->kind == ERGO_ETF_K_NIL) {
            /* no value */
        } else if (!by_offset) {
            if (x->v.u != y->v.u) /* INT, FLOAT (bits), ATOM_REF, PID, PORT */
                return (long)i;
        } else if (nb > 0) {
            if (x->v.off + nb > a->data_len || y->v.off + nb > b->data_len)
                return (long)i;
            const uint8_t *p = a->data + x->v.off, *q = b->data + y->v.off;
            if (x->kind == ERGO_ETF_K_BITS) {
                uint8_t mask = (uint8_t)(0xFFu << (8 - x->aux));
                if (memcmp(p, q, nb - 1) != 0 || ((p[nb - 1] ^ q[nb - 1]) & mask) != 0)
                    return (long)i;
            } else if (memcmp(p, q, nb) != 0) {
                return (long)i;
            }
        }
    }
    return a->count == b->count ? -1 : (long)n;
}

#endif
