/*
 * b8_codec.c — B8 etf-codec at the C level (system ergo-c), as defined in
 * BENCHMARKS.md.
 *
 * For each corpus file (external term format, starting with the 131 byte):
 *   decode  ergo_etf_decode of the whole file into one reused tape
 *   encode  the same bytes produced through the C encoder: the version byte,
 *           then ergo_etf_encode_tape of the decoded tape into one reused
 *           buffer (reset each time). Checked once to equal the file byte for
 *           byte; a difference prints FAILED.
 * and, as a comment line for comparison with ei's decode-walk (which copies
 * atoms, strings and binaries into scratch buffers):
 *   decode+walk  decode, then one pass over the tape that reads every node
 *                and copies the bytes of atoms, strings and binaries out.
 *   encode+flatten  (only when the encoding referenced large binaries instead
 *                of copying them) encode, then ergo_etf_buf_flatten into one
 *                flat buffer.
 *
 * Method: a run repeats the operation until at least MIN_SECONDS have passed
 * (the clock is read once per batch, a batch lasting a few milliseconds); the
 * figure is the median of RUNS runs, each run printed on a '#' line. MB/s
 * counts bytes of external format (the file size, version byte included),
 * MB = 10^6 bytes.
 *
 * Usage: b8_codec [--fixed N --op decode|encode|decode+walk|encode+flatten] [CORPUS_DIR [name ...]]
 *   CORPUS_DIR defaults to the project's Tests/ErgoTests/Fixtures; names
 *   default to small rpc list1000 map100 nested bin1m (NAME.etf each).
 *   --fixed N runs exactly N operations of the one --op per file and prints
 *   no figures: a repeatable load for profilers (valgrind --tool=callgrind).
 */
#define _POSIX_C_SOURCE 200809L
#include "ergo_etf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef ERGO_FIXTURES
#define ERGO_FIXTURES "Tests/ErgoTests/Fixtures"
#endif

enum { RUNS = 3 };
static const double MIN_SECONDS = 1.0;   /* per run */
static const double BATCH_SECONDS = 0.005; /* clock read once per batch */

static const char *const DEFAULT_FILES[] = {"small", "rpc", "list1000", "map100",
                                            "nested", "bin1m", NULL};

/* Results are folded in here so no operation can be optimised away. */
static volatile uint64_t g_sink;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the operations ------------------------------------------------------ */

typedef enum { OP_DECODE, OP_ENCODE, OP_DECODE_WALK, OP_ENCODE_FLAT } op_kind;

typedef struct bench {
    const char *name;
    const uint8_t *bytes; /* the file */
    size_t len;
    ergo_etf_tape tape;   /* reused by decode; holds the file's term for encode */
    ergo_etf_buf buf;     /* reused by encode */
    uint8_t *scratch;     /* decode+walk copies data here; encode+flatten writes here */
    size_t scratch_cap;
} bench;

/* One pass over the tape: reads every node, copies atom/string/binary bytes
 * into the scratch buffer. Returns something derived from all of it. */
static uint64_t walk_tape(bench *b)
{
    const ergo_etf_tape *t = &b->tape;
    uint64_t acc = 0;
    for (size_t i = 0; i < t->count; i++) {
        const ergo_etf_node *n = &t->nodes[i];
        switch (n->kind) {
        case ERGO_ETF_K_ATOM:
        case ERGO_ETF_K_STRING:
        case ERGO_ETF_K_BINARY:
        case ERGO_ETF_K_BITS:
        case ERGO_ETF_K_BIG:
            if (n->size > 0 && n->size <= b->scratch_cap) {
                memcpy(b->scratch, t->data + n->v.off, n->size);
                acc += b->scratch[n->size - 1];
            }
            acc += n->size;
            break;
        default:
            acc += n->kind + n->size + n->v.u;
            break;
        }
    }
    return acc;
}

static inline int run_once(bench *b, op_kind op, uint64_t *acc)
{
    int rc;
    switch (op) {
    case OP_DECODE:
        rc = ergo_etf_decode(&b->tape, b->bytes, b->len, 0, NULL);
        *acc += b->tape.count;
        return rc;
    case OP_ENCODE:
        ergo_etf_buf_reset(&b->buf);
        rc = ergo_etf_encode_version(&b->buf);
        if (rc == 0) rc = ergo_etf_encode_tape(&b->buf, &b->tape, 0, NULL);
        *acc += b->buf.len;
        return rc;
    case OP_DECODE_WALK:
        rc = ergo_etf_decode(&b->tape, b->bytes, b->len, 0, NULL);
        if (rc == 0) *acc += walk_tape(b);
        return rc;
    case OP_ENCODE_FLAT:
        ergo_etf_buf_reset(&b->buf);
        rc = ergo_etf_encode_version(&b->buf);
        if (rc == 0) rc = ergo_etf_encode_tape(&b->buf, &b->tape, 0, NULL);
        if (rc == 0 && ergo_etf_buf_size(&b->buf) <= b->scratch_cap) {
            ergo_etf_buf_flatten(&b->buf, b->scratch);
            *acc += b->scratch[b->len - 1];
        }
        return rc;
    }
    return -1;
}

/* `iters` operations; returns the first error (0 if none). Separate loops per
 * operation so the compiler can specialise each. */
static int run_batch(bench *b, op_kind op, uint64_t iters)
{
    uint64_t acc = 0;
    int err = 0;
    switch (op) {
    case OP_DECODE:
        for (uint64_t i = 0; i < iters; i++) err |= run_once(b, OP_DECODE, &acc);
        break;
    case OP_ENCODE:
        for (uint64_t i = 0; i < iters; i++) err |= run_once(b, OP_ENCODE, &acc);
        break;
    case OP_DECODE_WALK:
        for (uint64_t i = 0; i < iters; i++) err |= run_once(b, OP_DECODE_WALK, &acc);
        break;
    case OP_ENCODE_FLAT:
        for (uint64_t i = 0; i < iters; i++) err |= run_once(b, OP_ENCODE_FLAT, &acc);
        break;
    }
    g_sink += acc;
    return err;
}

/* Batch size so that one batch lasts about BATCH_SECONDS (also warms up). */
static int calibrate(bench *b, op_kind op, uint64_t *batch)
{
    uint64_t n = 1;
    for (;;) {
        double t0 = now_s();
        int err = run_batch(b, op, n);
        double dt = now_s() - t0;
        if (err) return err;
        if (dt >= BATCH_SECONDS || n >= (UINT64_C(1) << 40)) {
            double per_op = dt / (double)n;
            uint64_t k = per_op > 0 ? (uint64_t)(BATCH_SECONDS / per_op) : n;
            *batch = k > 0 ? k : 1;
            return 0;
        }
        n *= 2;
    }
}

/* One run: batches until MIN_SECONDS have passed; *rate in operations/s. */
static int timed_run(bench *b, op_kind op, uint64_t batch, double *rate)
{
    uint64_t done = 0;
    double t0 = now_s(), dt;
    do {
        int err = run_batch(b, op, batch);
        if (err) return err;
        done += batch;
        dt = now_s() - t0;
    } while (dt < MIN_SECONDS);
    *rate = (double)done / dt;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void fmt_value(char *out, size_t cap, double v)
{
    if (v >= 1000) snprintf(out, cap, "%.0f", v);
    else snprintf(out, cap, "%.1f", v);
}

/* Measures and prints one figure; `label` is e.g. "decode". A comment-only
 * figure (decode+walk) prints its result line with a leading '#'. */
static void measure(bench *b, op_kind op, const char *label, int comment_only)
{
    const char *lead = comment_only ? "# " : "";
    uint64_t batch = 1;
    double rates[RUNS];
    int err = calibrate(b, op, &batch);
    for (int r = 0; r < RUNS && err == 0; r++) err = timed_run(b, op, batch, &rates[r]);
    if (err) {
        printf("%sB8 etf-codec/%s/%s ergo-c FAILED %s (code %d)\n", lead, b->name, label,
               ergo_etf_strerror(err), err);
        fflush(stdout);
        return;
    }
    double mb = (double)b->len / 1e6;
    char v[64];
    printf("# B8 etf-codec/%s/%s ergo-c runs (MB/s):", b->name, label);
    for (int r = 0; r < RUNS; r++) {
        fmt_value(v, sizeof v, rates[r] * mb);
        printf(" %s", v);
    }
    printf("\n");
    qsort(rates, RUNS, sizeof rates[0], cmp_double);
    double median = rates[RUNS / 2];
    fmt_value(v, sizeof v, median * mb);
    printf("%sB8 etf-codec/%s/%s ergo-c %s MB/s %.0f terms/s (%zu bytes)\n", lead, b->name, label,
           v, median, b->len);
    fflush(stdout);
}

/* ---- per file ------------------------------------------------------------ */

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *data = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            uint8_t *p = realloc(data, ncap);
            if (!p) {
                free(data);
                fclose(f);
                return NULL;
            }
            data = p;
            cap = ncap;
        }
        size_t got = fread(data + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(data);
        return NULL;
    }
    *len = n;
    return data;
}

/* Encodes the decoded tape once and compares with the file. Returns 1 when
 * identical; otherwise writes the reason. */
static int check_encode(bench *b, char *why, size_t cap)
{
    ergo_etf_buf_reset(&b->buf);
    int rc = ergo_etf_encode_version(&b->buf);
    size_t next = 0;
    if (rc == 0) rc = ergo_etf_encode_tape(&b->buf, &b->tape, 0, &next);
    if (rc != 0) {
        snprintf(why, cap, "encode: %s (code %d)", ergo_etf_strerror(rc), rc);
        return 0;
    }
    if (next != b->tape.count) {
        snprintf(why, cap, "encode_tape stopped at node %zu of %zu", next, b->tape.count);
        return 0;
    }
    size_t n = ergo_etf_buf_size(&b->buf);
    uint8_t *out = malloc(n ? n : 1);
    if (!out) {
        snprintf(why, cap, "out of memory");
        return 0;
    }
    ergo_etf_buf_flatten(&b->buf, out);
    size_t common = n < b->len ? n : b->len, at = 0;
    while (at < common && out[at] == b->bytes[at]) at++;
    free(out);
    if (n == b->len && at == n) return 1;
    snprintf(why, cap, "output differs from the file (%zu vs %zu bytes, first difference at byte %zu)",
             n, b->len, at);
    return 0;
}

/* --fixed: N operations of one kind per file, untimed (for profilers). */
static uint64_t g_fixed_iters;
static op_kind g_fixed_op;

static void bench_file(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.etf", dir, name);
    bench b;
    memset(&b, 0, sizeof b);
    b.name = name;
    uint8_t *data = read_file(path, &b.len);
    if (!data) {
        printf("B8 etf-codec/%s/decode ergo-c FAILED cannot read %s\n", name, path);
        printf("B8 etf-codec/%s/encode ergo-c FAILED cannot read %s\n", name, path);
        fflush(stdout);
        return;
    }
    b.bytes = data;
    ergo_etf_tape_init(&b.tape, NULL);
    ergo_etf_buf_init(&b.buf, 0);

    int rc = ergo_etf_decode(&b.tape, b.bytes, b.len, 0, NULL);
    if (rc != 0) {
        printf("B8 etf-codec/%s/decode ergo-c FAILED %s (code %d at byte %zu)\n", name,
               ergo_etf_strerror(rc), rc, b.tape.error_offset);
        printf("B8 etf-codec/%s/encode ergo-c FAILED the file does not decode\n", name);
        fflush(stdout);
        goto done;
    }
    printf("# B8 %s: %zu bytes, %zu tape nodes\n", name, b.len, b.tape.count);
    b.scratch_cap = b.len;
    b.scratch = malloc(b.scratch_cap);
    if (!b.scratch) b.scratch_cap = 0;

    if (g_fixed_iters) {
        rc = run_batch(&b, g_fixed_op, g_fixed_iters);
        printf("# B8 %s: %llu fixed operations%s%s\n", name, (unsigned long long)g_fixed_iters,
               rc ? ", failed: " : "", rc ? ergo_etf_strerror(rc) : "");
        goto done;
    }

    measure(&b, OP_DECODE, "decode", 0);
    measure(&b, OP_DECODE_WALK, "decode+walk", 1);

    /* The tape now holds the file's term again (the last decode). */
    char why[256];
    rc = ergo_etf_decode(&b.tape, b.bytes, b.len, 0, NULL);
    if (rc != 0) {
        printf("B8 etf-codec/%s/encode ergo-c FAILED the file does not decode\n", name);
    } else if (!check_encode(&b, why, sizeof why)) {
        printf("B8 etf-codec/%s/encode ergo-c FAILED %s\n", name, why);
    } else {
        measure(&b, OP_ENCODE, "encode", 0);
        if (b.buf.nrefs > 0) {
            /* Large binaries were referenced, not copied: the output is a list
             * of slices. This adds copying them into one flat buffer. */
            printf("# note: %s encode refers to %zu binary(ies) of %zu bytes instead of copying;"
                   " encode+flatten copies everything into one buffer\n",
                   name, b.buf.nrefs, b.buf.ref_bytes);
            measure(&b, OP_ENCODE_FLAT, "encode+flatten", 1);
        }
    }
    fflush(stdout);
done:
    ergo_etf_buf_free(&b.buf);
    ergo_etf_tape_free(&b.tape);
    free(b.scratch);
    free(data);
}

int main(int argc, char **argv)
{
    int a = 1;
    while (a < argc && strncmp(argv[a], "--", 2) == 0) {
        if (strcmp(argv[a], "--fixed") == 0 && a + 1 < argc) {
            g_fixed_iters = strtoull(argv[a + 1], NULL, 10);
            a += 2;
        } else if (strcmp(argv[a], "--op") == 0 && a + 1 < argc) {
            const char *op = argv[a + 1];
            if (strcmp(op, "decode") == 0) g_fixed_op = OP_DECODE;
            else if (strcmp(op, "encode") == 0) g_fixed_op = OP_ENCODE;
            else if (strcmp(op, "decode+walk") == 0) g_fixed_op = OP_DECODE_WALK;
            else if (strcmp(op, "encode+flatten") == 0) g_fixed_op = OP_ENCODE_FLAT;
            else a = argc + 1; /* usage */
            a += 2;
        } else {
            a = argc + 1;
        }
    }
    if (a > argc) {
        fprintf(stderr, "usage: %s [--fixed N --op decode|encode|decode+walk|encode+flatten] [CORPUS_DIR [name ...]]\n",
                argv[0]);
        return 2;
    }
    const char *dir = a < argc ? argv[a] : ERGO_FIXTURES;
    if (argc > a + 1) {
        for (int i = a + 1; i < argc; i++) bench_file(dir, argv[i]);
    } else {
        for (int i = 0; DEFAULT_FILES[i]; i++) bench_file(dir, DEFAULT_FILES[i]);
    }
    fprintf(stderr, "(sink %llu)\n", (unsigned long long)g_sink);
    return 0;
}
