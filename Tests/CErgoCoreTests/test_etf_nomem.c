/*
 * test_etf_nomem.c — E_NOMEM: allocations that fail are reported, leave
 * the tape or buffer usable, and never crash. The address-space limit
 * (RLIMIT_AS) makes large allocations fail; sanitizers reserve address
 * space of their own, so this test skips (77) under them.
 */
#define _POSIX_C_SOURCE 200809L
#include <sys/resource.h>

#include "check.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif
#ifndef UNDER_SANITIZER
#define UNDER_SANITIZER 0
#endif

/* Virtual memory in use now, from /proc/self/statm (pages). */
static size_t vm_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%lu", &pages) != 1)
        pages = 0;
    fclose(f);
    return (size_t)pages * 4096;
}

int main(void)
{
    if (UNDER_SANITIZER) {
        fprintf(stderr, "skipped: sanitizers reserve address space\n");
        return 77;
    }
    /* Inputs, made before the limit. */
    size_t zlen = 300000; /* claims 256 MiB: plausible for 300 kB of deflate */
    uint8_t *z = calloc(1, zlen);
    size_t nlist = 8u << 20; /* [[], [], ...]: 8 Mi nodes, 128 MiB of tape */
    uint8_t *list = malloc(6 + nlist + 1);
    size_t big = 200u << 20;
    uint8_t *src = calloc(1, big); /* pages stay untouched */
    if (!z || !list || !src) {
        fprintf(stderr, "skipped: cannot allocate the inputs\n");
        return 77;
    }
    z[0] = 131, z[1] = 80, z[2] = 0x10, z[3] = 0, z[4] = 0, z[5] = 0;
    z[6] = 0x78, z[7] = 0x9c;
    list[0] = 131, list[1] = 108;
    list[2] = (uint8_t)(nlist >> 24), list[3] = (uint8_t)(nlist >> 16);
    list[4] = (uint8_t)(nlist >> 8), list[5] = (uint8_t)nlist;
    memset(list + 6, 106, nlist + 1);

    ergo_etf_limits lim = {0};
    lim.max_inflated = UINT64_C(1) << 30;
    lim.max_nodes = UINT64_C(1) << 30;
    ergo_etf_tape t;
    ergo_etf_tape_init(&t, &lim);
    ergo_etf_buf b;
    ergo_etf_buf_init(&b, 0);
    static const uint8_t small[] = {131, 104, 2, 97, 1, 106};
    CHECK_EQ(ergo_etf_decode(&t, small, sizeof small, 0, NULL), 0); /* warm up */
    CHECK_EQ(ergo_etf_encode_raw(&b, small, sizeof small), 0);

    struct rlimit old, lowered;
    if (getrlimit(RLIMIT_AS, &old) != 0) {
        fprintf(stderr, "skipped: no RLIMIT_AS\n");
        return 77;
    }
    lowered = old;
    lowered.rlim_cur = (rlim_t)(vm_bytes() + (64u << 20));
    if (old.rlim_cur != RLIM_INFINITY && lowered.rlim_cur > old.rlim_cur)
        lowered.rlim_cur = old.rlim_cur;
    if (vm_bytes() == 0 || setrlimit(RLIMIT_AS, &lowered) != 0) {
        fprintf(stderr, "skipped: cannot lower RLIMIT_AS\n");
        return 77;
    }

    /* the inflate buffer */
    CHECK_EQ(ergo_etf_decode(&t, z, zlen, 0, NULL), ERGO_ETF_E_NOMEM);
    CHECK_EQU(t.count, 0);
    /* the node array */
    CHECK_EQ(ergo_etf_decode(&t, list, 6 + nlist + 1, 0, NULL), ERGO_ETF_E_NOMEM);
    CHECK_EQU(t.count, 0);
    /* the tape still works */
    CHECK_EQ(ergo_etf_decode(&t, small, sizeof small, 0, NULL), 0);
    CHECK_EQU(t.count, 3);

    /* the encoder's buffer: E_NOMEM, sticky, nothing written */
    CHECK_EQ(ergo_etf_encode_raw(&b, src, big), ERGO_ETF_E_NOMEM);
    CHECK_EQ(b.error, ERGO_ETF_E_NOMEM);
    CHECK_EQU(b.len, sizeof small);
    CHECK_EQ(ergo_etf_encode_nil(&b), ERGO_ETF_E_NOMEM);
    ergo_etf_buf_reset(&b);
    CHECK_EQ(ergo_etf_encode_nil(&b), 0);
    ergo_etf_buf_reset(&b);
    CHECK_EQ(ergo_etf_encode_binary(&b, src, big), ERGO_ETF_E_NOMEM);

    setrlimit(RLIMIT_AS, &old);
    ergo_etf_buf_free(&b);
    ergo_etf_tape_free(&t);
    free(z);
    free(list);
    free(src);
    CHECK_DONE();
}
