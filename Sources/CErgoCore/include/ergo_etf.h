/*
 * ergo_etf.h — the External Term Format (ETF) codec of Ergo's C core.
 *
 * Conventions (stated once, true for every function below):
 *  - Functions that can fail return an int: 0 (ERGO_ETF_OK) on success or a
 *    negative ERGO_ETF_E_* code. No function sets errno, prints, or aborts on
 *    bad input. ergo_etf_strerror() names a code.
 *  - The caller owns every struct it passes in; init/free pairs manage the
 *    memory a struct owns. Every allocation is bounded by a limit the caller
 *    sets (ergo_etf_limits for decoding, max_bytes for encoding).
 *  - Decoding never copies binaries, strings or atom text: tape nodes give
 *    offsets into the tape's data buffer (the caller's input, or the tape's
 *    own inflated buffer for a COMPRESSED term). The input must outlive every
 *    use of the tape.
 *  - Encoding appends to an ergo_etf_buf through a cursor. Containers are
 *    written as headers (tuple arity, list length, map size) followed by their
 *    elements, as in erl_interface's ei.h. Errors are sticky: after the first
 *    failure every call returns the same code and the buffer stays unchanged.
 *  - Integers on the wire are big-endian; the tape holds host values.
 *  - No global mutable state: tapes and buffers are independent, and one may
 *    be used by one thread at a time.
 */
#ifndef ERGO_ETF_H
#define ERGO_ETF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Wire tags (ERTS User's Guide, "External Term Format") ---------------- */

enum {
    ERGO_ETF_VERSION = 131,
    ERGO_ETF_TAG_NEW_FLOAT = 70,
    ERGO_ETF_TAG_BIT_BINARY = 77,
    ERGO_ETF_TAG_COMPRESSED = 80,
    ERGO_ETF_TAG_ATOM_CACHE_REF = 82,
    ERGO_ETF_TAG_NEW_PID = 88,
    ERGO_ETF_TAG_NEW_PORT = 89,
    ERGO_ETF_TAG_NEWER_REFERENCE = 90,
    ERGO_ETF_TAG_SMALL_INTEGER = 97,
    ERGO_ETF_TAG_INTEGER = 98,
    ERGO_ETF_TAG_FLOAT = 99,
    ERGO_ETF_TAG_ATOM = 100,
    ERGO_ETF_TAG_REFERENCE = 101,
    ERGO_ETF_TAG_PORT = 102,
    ERGO_ETF_TAG_PID = 103,
    ERGO_ETF_TAG_SMALL_TUPLE = 104,
    ERGO_ETF_TAG_LARGE_TUPLE = 105,
    ERGO_ETF_TAG_NIL = 106,
    ERGO_ETF_TAG_STRING = 107,
    ERGO_ETF_TAG_LIST = 108,
    ERGO_ETF_TAG_BINARY = 109,
    ERGO_ETF_TAG_SMALL_BIG = 110,
    ERGO_ETF_TAG_LARGE_BIG = 111,
    ERGO_ETF_TAG_NEW_FUN = 112,
    ERGO_ETF_TAG_EXPORT = 113,
    ERGO_ETF_TAG_NEW_REFERENCE = 114,
    ERGO_ETF_TAG_SMALL_ATOM = 115,
    ERGO_ETF_TAG_MAP = 116,
    ERGO_ETF_TAG_FUN = 117,
    ERGO_ETF_TAG_ATOM_UTF8 = 118,
    ERGO_ETF_TAG_SMALL_ATOM_UTF8 = 119,
    ERGO_ETF_TAG_V4_PORT = 120,
    ERGO_ETF_TAG_LOCAL = 121
};

/* ---- Error codes ---------------------------------------------------------- */

enum {
    ERGO_ETF_OK = 0,
    ERGO_ETF_E_TRUNCATED = -1,     /* input ends inside a term */
    ERGO_ETF_E_VERSION = -2,       /* first byte is not 131 */
    ERGO_ETF_E_TAG = -3,           /* unknown tag byte */
    ERGO_ETF_E_DEPTH = -4,         /* nesting deeper than limits.max_depth */
    ERGO_ETF_E_LIMIT = -5,         /* more nodes / bytes than the caller allows */
    ERGO_ETF_E_ATOM_LENGTH = -6,   /* atom longer than limits.max_atom_chars */
    ERGO_ETF_E_UTF8 = -7,          /* atom text is not valid UTF-8 */
    ERGO_ETF_E_ATOM_CACHE = -8,    /* ATOM_CACHE_REF index not allowed */
    ERGO_ETF_E_COMPRESSED = -9,    /* corrupt zlib stream or size mismatch */
    ERGO_ETF_E_BOMB = -10,         /* compressed term inflates past the limit */
    ERGO_ETF_E_LOCAL = -11,        /* LOCAL_EXT: node-local form, refused */
    ERGO_ETF_E_NOMEM = -12,        /* allocation failed */
    ERGO_ETF_E_TRAILING = -13,     /* bytes left after the term */
    ERGO_ETF_E_VALUE = -14,        /* a field holds an impossible value */
    ERGO_ETF_E_UNSUPPORTED = -15,  /* a form no OTP 23+ peer sends (FUN_EXT) */
    ERGO_ETF_E_ARG = -16           /* an encoder argument is out of range */
};

/* Name of an error code, e.g. "truncated input". Never NULL. */
const char *ergo_etf_strerror(int code);

/* ---- Decoding: one pass into a tape --------------------------------------- */

/* Limits for decoding; a zero field takes the default named beside it. */
typedef struct ergo_etf_limits {
    uint32_t max_depth;      /* container nesting (default 1024) */
    uint32_t max_atom_chars; /* characters per atom (default 255, as ERTS) */
    uint64_t max_nodes;      /* tape nodes per term (default 1 << 26; at most 2^31 - 1 apply) */
    uint64_t max_inflated;   /* bytes a COMPRESSED term may inflate to (default 64 MiB) */
    uint32_t atom_cache_refs;/* ATOM_CACHE_REF indices 0..n-1 are valid (0: refused) */
    uint32_t reserved;
} ergo_etf_limits;

/* The kind of a tape node. Containers are followed by their children in
 * pre-order, so a walk is a single forward pass. */
typedef enum ergo_etf_kind {
    ERGO_ETF_K_INT = 1,      /* v.i: any integer that fits int64 (small, 32-bit or bignum) */
    ERGO_ETF_K_BIG = 2,      /* bignum outside int64: size = digit bytes, v.off = little-endian digits, flags & ERGO_ETF_F_NEGATIVE */
    ERGO_ETF_K_FLOAT = 3,    /* v.f (NEW_FLOAT or the old FLOAT_EXT) */
    ERGO_ETF_K_ATOM = 4,     /* size = bytes, v.off = text; flags & ERGO_ETF_F_LATIN1 when Latin-1 encoded */
    ERGO_ETF_K_ATOM_REF = 5, /* ATOM_CACHE_REF: v.u = cache index */
    ERGO_ETF_K_TUPLE = 6,    /* size = arity; size children follow */
    ERGO_ETF_K_NIL = 7,      /* [] */
    ERGO_ETF_K_STRING = 8,   /* STRING_EXT byte list: size = length, v.off = bytes */
    ERGO_ETF_K_LIST = 9,     /* size = elements (>= 1); size children, then the tail (a NIL node when proper).
                              * A LIST_EXT of 0 elements is just its tail, as binary_to_term reads it. */
    ERGO_ETF_K_BINARY = 10,  /* size = bytes, v.off = bytes */
    ERGO_ETF_K_BITS = 11,    /* bit binary: size = bytes, aux = bits used in the last byte (1..7), v.off;
                              * the unused low bits are as received. A BIT_BINARY_EXT with 8 bits used,
                              * or with no bytes and 0 bits (<<>>), decodes as K_BINARY, as in ERTS. */
    ERGO_ETF_K_MAP = 12,     /* size = pairs; 2*size children: key, value, key, value ... in wire order */
    ERGO_ETF_K_PID = 13,     /* size = id, v.u = serial << 32 | creation; one child: the node atom */
    ERGO_ETF_K_PORT = 14,    /* v.u = id, size = creation; one child: the node atom */
    ERGO_ETF_K_REF = 15,     /* aux = id words (1..5), size = creation, v.off = big-endian u32 ids; one child: the node atom */
    ERGO_ETF_K_EXPORT = 16,  /* three children: module atom, function atom, arity integer */
    ERGO_ETF_K_FUN = 17      /* NEW_FUN_EXT: aux = arity, size = free variables, v.off = 16-byte uniq then u32 index;
                              * children: module atom, old_index int, old_uniq int, pid, then the free variables */
} ergo_etf_kind;

enum {
    ERGO_ETF_F_NEGATIVE = 1, /* K_BIG: negative */
    ERGO_ETF_F_LATIN1 = 2,   /* K_ATOM: ATOM_EXT / SMALL_ATOM_EXT text (Latin-1) */
    ERGO_ETF_F_OLD = 4       /* K_PID/PORT/REF: decoded from a pre-OTP-23 form */
};

/* One tape node: 16 bytes. */
typedef struct ergo_etf_node {
    uint8_t kind;   /* ergo_etf_kind */
    uint8_t flags;  /* ERGO_ETF_F_* */
    uint16_t aux;
    uint32_t size;
    union {
        int64_t i;
        uint64_t u;
        uint64_t off; /* byte offset into tape->data */
        double f;
    } v;
} ergo_etf_node;

typedef struct ergo_etf_tape {
    ergo_etf_node *nodes;    /* nodes[0 .. count-1], pre-order */
    size_t count;
    size_t capacity;
    const uint8_t *data;     /* buffer v.off refers to: the input, or `inflated` */
    size_t data_len;
    uint8_t *inflated;       /* owned; non-NULL after decoding a COMPRESSED term */
    size_t inflated_cap;
    uint32_t *stack;         /* owned; pending children per open container */
    size_t stack_cap;
    size_t error_offset;     /* input offset of the first bad byte after a failure (for an error inside
                              * a COMPRESSED term: offset into the inflated bytes, tape->data) */
    ergo_etf_limits limits;
} ergo_etf_tape;

/* Decode flags. */
enum {
    ERGO_ETF_DECODE_NO_VERSION = 1, /* input has no leading 131 byte */
    ERGO_ETF_DECODE_PREFIX = 2      /* the term may be followed by more bytes; *used tells where it ends */
};

/* Prepare a tape; limits may be NULL (all defaults). Allocates nothing. */
void ergo_etf_tape_init(ergo_etf_tape *tape, const ergo_etf_limits *limits);
/* Release what the tape owns; the tape may be initialised again. */
void ergo_etf_tape_free(ergo_etf_tape *tape);
/* Decode one term from buf[0..len) into the tape, replacing its contents and
 * reusing its memory. *used (may be NULL) receives the bytes consumed. On
 * failure tape->error_offset tells where. */
int ergo_etf_decode(ergo_etf_tape *tape, const uint8_t *buf, size_t len,
                    unsigned flags, size_t *used);
/* Index of the node after the subtree rooted at `index` (O(subtree)). */
size_t ergo_etf_tape_skip(const ergo_etf_tape *tape, size_t index);

/* ---- Encoding: a cursor over a growable buffer ---------------------------- */

/* A run of bytes: either inside the buffer's own storage or a binary the
 * caller lent by reference. Same layout as struct iovec. */
typedef struct ergo_etf_slice {
    const void *base;
    size_t len;
} ergo_etf_slice;

typedef struct ergo_etf_ref {
    size_t at;               /* position in `data` where the bytes belong */
    const uint8_t *bytes;    /* caller-owned; must live until the buffer is written or reset */
    size_t len;
} ergo_etf_ref;

typedef struct ergo_etf_buf {
    uint8_t *data;           /* owned bytes, excluding referenced binaries */
    size_t len;
    size_t cap;              /* usable capacity: at most max_bytes - ref_bytes (0 when size-only) */
    size_t max_bytes;        /* limit on the encoded size including references (0: 1 GiB) */
    ergo_etf_ref *refs;      /* binaries encoded by reference, in order */
    size_t nrefs;
    size_t refs_cap;
    size_t ref_bytes;        /* sum of refs[i].len */
    size_t ref_threshold;    /* ergo_etf_encode_binary_ref references binaries at least this long (0: 64 KiB) */
    int sizing;              /* size-only mode: count bytes, write nothing */
    int error;               /* sticky first error, 0 if none */
} ergo_etf_buf;

/* Prepare an empty buffer with a size limit (0: 1 GiB). Allocates nothing. */
void ergo_etf_buf_init(ergo_etf_buf *b, size_t max_bytes);
/* Prepare a size-only buffer: encoding calls add up the size in b->len. */
void ergo_etf_buf_init_sizing(ergo_etf_buf *b);
/* Forget the contents (keeps memory and limits; clears the error). */
void ergo_etf_buf_reset(ergo_etf_buf *b);
/* Release what the buffer owns. */
void ergo_etf_buf_free(ergo_etf_buf *b);
/* Total encoded size: own bytes plus referenced binaries. */
size_t ergo_etf_buf_size(const ergo_etf_buf *b);
/* Fill up to `max` slices describing the encoded bytes in order (own runs and
 * referenced binaries interleaved); returns how many are needed. */
size_t ergo_etf_buf_slices(const ergo_etf_buf *b, ergo_etf_slice *out, size_t max);
/* Copy the whole encoding to `out` (ergo_etf_buf_size bytes). */
void ergo_etf_buf_flatten(const ergo_etf_buf *b, uint8_t *out);
/* Append raw bytes (e.g. a dist header) */
int ergo_etf_encode_raw(ergo_etf_buf *b, const void *bytes, size_t len);
/* As encode_raw, but bytes of at least b->ref_threshold are not copied: the
 * buffer refers to them (see encode_binary_ref). */
int ergo_etf_encode_raw_ref(ergo_etf_buf *b, const void *bytes, size_t len);

/* Each call appends one term or one container header. */
int ergo_etf_encode_version(ergo_etf_buf *b);                         /* the 131 byte */
int ergo_etf_encode_int(ergo_etf_buf *b, int64_t v);                   /* smallest form */
int ergo_etf_encode_uint(ergo_etf_buf *b, uint64_t v);                 /* smallest form */
/* Bignum from little-endian magnitude digits (trailing zero digits are dropped;
 * a value that fits int64 is written in the smallest integer form). */
int ergo_etf_encode_big(ergo_etf_buf *b, int negative, const uint8_t *digits, size_t n);
int ergo_etf_encode_double(ergo_etf_buf *b, double v);                /* NEW_FLOAT_EXT */
/* Atom from UTF-8 text: SMALL_ATOM_UTF8 when < 256 bytes, else ATOM_UTF8;
 * refused (E_ARG) past 255 characters or when not valid UTF-8. */
int ergo_etf_encode_atom(ergo_etf_buf *b, const char *utf8, size_t len);
/* Atom from Latin-1 text (<= 255 bytes): ATOM_EXT, the pre-UTF-8 form term_to_binary
 * writes for Latin-1 atoms with minor_version 0 and 1 (it never writes SMALL_ATOM_EXT). */
int ergo_etf_encode_atom_latin1(ergo_etf_buf *b, const char *latin1, size_t len);
int ergo_etf_encode_atom_cache_ref(ergo_etf_buf *b, uint8_t index);
int ergo_etf_encode_tuple_header(ergo_etf_buf *b, uint32_t arity);
/* List header for n >= 1 elements; write n elements then the tail (nil for a proper list). */
int ergo_etf_encode_list_header(ergo_etf_buf *b, uint32_t n);
int ergo_etf_encode_nil(ergo_etf_buf *b);
/* STRING_EXT (n <= 65535), as Erlang writes lists of bytes; n == 0 writes NIL ("" is []). */
int ergo_etf_encode_string(ergo_etf_buf *b, const uint8_t *bytes, size_t n);
int ergo_etf_encode_binary(ergo_etf_buf *b, const void *bytes, size_t n);
/* As encode_binary, but a binary of at least b->ref_threshold bytes is not
 * copied: the buffer refers to `bytes`, which must outlive the buffer's use. */
int ergo_etf_encode_binary_ref(ergo_etf_buf *b, const void *bytes, size_t n);
/* Bit binary: n bytes, `bits` (1..8) used in the last byte (n >= 1); the unused bits are
 * written as 0, and bits == 8 writes a BINARY_EXT (whole bytes are a binary), as ERTS does. */
int ergo_etf_encode_bits(ergo_etf_buf *b, const void *bytes, size_t n, unsigned bits);
int ergo_etf_encode_map_header(ergo_etf_buf *b, uint32_t pairs);
/* NEW_PID_EXT. */
int ergo_etf_encode_pid(ergo_etf_buf *b, const char *node, size_t node_len,
                        uint32_t id, uint32_t serial, uint32_t creation);
/* NEW_PORT_EXT, or V4_PORT_EXT when id needs more than 28 bits (as ERTS does). */
int ergo_etf_encode_port(ergo_etf_buf *b, const char *node, size_t node_len,
                         uint64_t id, uint32_t creation);
/* NEWER_REFERENCE_EXT with 1..5 id words. */
int ergo_etf_encode_ref(ergo_etf_buf *b, const char *node, size_t node_len,
                        uint32_t creation, const uint32_t *ids, size_t nids);
int ergo_etf_encode_export(ergo_etf_buf *b, const char *module, size_t module_len,
                           const char *function, size_t function_len, uint8_t arity);
/* NEW_FUN_EXT, in two steps: begin writes the fixed part (module, old_index,
 * old_uniq); the caller then encodes the pid and `num_free` free variables,
 * and end patches the size field. *mark receives what end needs. */
int ergo_etf_encode_fun_begin(ergo_etf_buf *b, uint8_t arity, const uint8_t uniq[16],
                              uint32_t index, uint32_t num_free,
                              const char *module, size_t module_len,
                              int64_t old_index, int64_t old_uniq, size_t *mark);
int ergo_etf_encode_fun_end(ergo_etf_buf *b, size_t mark);

/* Re-encode the subtree at tape node `index` (without a version byte);
 * *next (may be NULL) receives the index after it. An ATOM_REF node is
 * written as ATOM_CACHE_REF. Atoms keep their Latin-1 or UTF-8 form.
 * Binaries of at least b->ref_threshold bytes go by reference, as with
 * encode_binary_ref: tape->data must then outlive the buffer's use (set
 * ref_threshold to SIZE_MAX to copy everything). A term Erlang wrote with
 * minor_version 1 or 2 comes back byte for byte; the older forms come back
 * as OTP 23+ writes them: PID/PORT/REFERENCE/NEW_REFERENCE_EXT as
 * NEW_PID/NEW_PORT/NEWER_REFERENCE_EXT, FLOAT_EXT as NEW_FLOAT_EXT,
 * SMALL_ATOM_EXT as ATOM_EXT, non-minimal integers in their smallest form,
 * port ids past 28 bits as V4_PORT_EXT (as ERTS re-encodes them all). */
int ergo_etf_encode_tape(ergo_etf_buf *b, const ergo_etf_tape *tape, size_t index, size_t *next);

/* Compress an encoded term (`term` starts with the 131 byte) into `out` as
 * 131, COMPRESSED, size, zlib stream, at zlib `level` (0..9, -1 default).
 * Always compresses (term_to_binary keeps the plain form when that is not
 * smaller; callers decide). E_UNSUPPORTED when built without zlib. */
int ergo_etf_compress(ergo_etf_buf *out, const uint8_t *term, size_t len, int level);

#ifdef __cplusplus
}
#endif

#endif /* ERGO_ETF_H */
