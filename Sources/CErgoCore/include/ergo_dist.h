/*
 * ergo_dist.h — wire codecs of the Erlang distribution protocol: EPMD
 * messages (client and server side), handshake messages and the challenge
 * digest, the distribution header with its atom cache, and fragmentation.
 * No I/O: every function works on bytes the caller read or will write.
 *
 * The references are the ERTS User's Guide chapters "Distribution Protocol"
 * (erl_dist_protocol.html) and "External Term Format" (erl_ext_dist.html),
 * and OTP's kernel sources (dist_util.erl, erl_epmd.erl, dist.hrl).
 *
 * Conventions (as in ergo_etf.h, stated once):
 *  - Functions that can fail return an int: 0 (ERGO_DIST_OK) on success, the
 *    positive ERGO_DIST_NEED_MORE where an incremental parser needs more
 *    bytes, or a negative code. Dist codes are ERGO_DIST_E_* (-100 and
 *    below); encoders that append to an ergo_etf_buf may also return the
 *    buffer's ERGO_ETF_E_* code (E_LIMIT, E_NOMEM). ergo_dist_strerror()
 *    names both ranges. Nothing prints, sets errno or aborts on bad input.
 *  - Parsers never copy: the text fields of a parsed struct point into the
 *    caller's input (or into state the caller owns, where said).
 *  - Encoders append to an ergo_etf_buf (sticky errors, max_bytes limit).
 *  - Every allocation is bounded by a limit the caller sets; no global
 *    mutable state; one struct is used by one thread at a time.
 */
#ifndef ERGO_DIST_H
#define ERGO_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "ergo_etf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Results and error codes ------------------------------------------------ */

enum {
    ERGO_DIST_OK = 0,
    ERGO_DIST_NEED_MORE = 1,        /* not an error: the input is a valid prefix; read more */
    ERGO_DIST_E_MALFORMED = -100,   /* bytes that no conforming peer sends */
    ERGO_DIST_E_TAG = -101,         /* an unknown or unexpected message tag */
    ERGO_DIST_E_LIMIT = -102,       /* a length or count past a caller-set limit */
    ERGO_DIST_E_NOMEM = -103,       /* an allocation failed */
    ERGO_DIST_E_ARG = -104,         /* an argument out of range (encoders) */
    ERGO_DIST_E_ATOM_CACHE = -105,  /* reference to an empty cache slot, or a slot twice in one header */
    ERGO_DIST_E_FRAGMENT = -106,    /* a fragment out of order, unknown sequence, or a duplicate start */
    ERGO_DIST_E_DIGEST = -107       /* the digest could not be computed (crypto library failure) */
};

/* Name of a dist or ETF code. Never NULL. */
const char *ergo_dist_strerror(int code);

/* ---- Capability flags (dist.hrl / "Distribution Flags") --------------------- */

#define ERGO_DIST_DFLAG_PUBLISHED            0x1ULL
#define ERGO_DIST_DFLAG_ATOM_CACHE           0x2ULL
#define ERGO_DIST_DFLAG_EXTENDED_REFERENCES  0x4ULL
#define ERGO_DIST_DFLAG_DIST_MONITOR         0x8ULL
#define ERGO_DIST_DFLAG_FUN_TAGS             0x10ULL
#define ERGO_DIST_DFLAG_DIST_MONITOR_NAME    0x20ULL
#define ERGO_DIST_DFLAG_HIDDEN_ATOM_CACHE    0x40ULL
#define ERGO_DIST_DFLAG_NEW_FUN_TAGS         0x80ULL
#define ERGO_DIST_DFLAG_EXTENDED_PIDS_PORTS  0x100ULL
#define ERGO_DIST_DFLAG_EXPORT_PTR_TAG       0x200ULL
#define ERGO_DIST_DFLAG_BIT_BINARIES         0x400ULL
#define ERGO_DIST_DFLAG_NEW_FLOATS           0x800ULL
#define ERGO_DIST_DFLAG_UNICODE_IO           0x1000ULL
#define ERGO_DIST_DFLAG_DIST_HDR_ATOM_CACHE  0x2000ULL
#define ERGO_DIST_DFLAG_SMALL_ATOM_TAGS      0x4000ULL
#define ERGO_DIST_DFLAG_ETS_COMPRESSED       0x8000ULL   /* internal to ERTS; never on the wire */
#define ERGO_DIST_DFLAG_UTF8_ATOMS           0x10000ULL
#define ERGO_DIST_DFLAG_MAP_TAG              0x20000ULL
#define ERGO_DIST_DFLAG_BIG_CREATION         0x40000ULL
#define ERGO_DIST_DFLAG_SEND_SENDER          0x80000ULL
#define ERGO_DIST_DFLAG_BIG_SEQTRACE_LABELS  0x100000ULL
#define ERGO_DIST_DFLAG_NO_MAGIC             0x200000ULL /* internal to ERTS; never on the wire */
#define ERGO_DIST_DFLAG_EXIT_PAYLOAD         0x400000ULL
#define ERGO_DIST_DFLAG_FRAGMENTS            0x800000ULL
#define ERGO_DIST_DFLAG_HANDSHAKE_23         0x1000000ULL
#define ERGO_DIST_DFLAG_UNLINK_ID            0x2000000ULL
/* 0x4000000, as kernel-8.5.3/include/dist.hrl defines it and as OTP 25
 * sends it; the OTP 25 protocol document prints "1 bsl 36", which is wrong. */
#define ERGO_DIST_DFLAG_MANDATORY_25_DIGEST  0x4000000ULL
#define ERGO_DIST_DFLAG_RESERVED             0xf8000000ULL
#define ERGO_DIST_DFLAG_SPAWN                0x100000000ULL
#define ERGO_DIST_DFLAG_NAME_ME              0x200000000ULL
#define ERGO_DIST_DFLAG_V4_NC                0x400000000ULL
#define ERGO_DIST_DFLAG_ALIAS                0x800000000ULL

/*
 * The flags a peer must have for a release to accept it. Sources:
 *  - OTP 23 and 24: their ERTS refuses a peer without EXTENDED_REFERENCES,
 *    EXTENDED_PIDS_PORTS, UTF8_ATOMS, NEW_FUN_TAGS and BIG_CREATION (the
 *    flags their protocol document marks "mandatory").
 *  - OTP 25: MANDATORY_DFLAGS_25 in kernel-8.5.3 dist.hrl, which is also what
 *    erts_internal:get_dflags() reports as mandatory on OTP 25 (0x1070f94);
 *    a peer may send MANDATORY_25_DIGEST instead of all of them.
 *  - OTP 26: the OTP 25 set plus V4_NC and UNLINK_ID (the OTP 25 document:
 *    "will become mandatory in OTP 26").
 *  - OTP 27: the OTP 26 set plus MANDATORY_25_DIGEST (dist.hrl: "OTP 27 will
 *    make DFLAG_MANDATORY_25_DIGEST mandatory").
 *  - OTP 28: our best reading is no change from OTP 27.
 * The 26..28 sets could not be checked against those releases on this
 * machine (it runs OTP 25); they follow the OTP 25 sources' announcements.
 */
/* Literal values so that Swift imports them; dist_util.c checks each
 * against the OR of its flags. */
#define ERGO_DIST_MANDATORY_OTP23 0x50184ULL       /* EXTENDED_REFERENCES | EXTENDED_PIDS_PORTS | UTF8_ATOMS | NEW_FUN_TAGS | BIG_CREATION */
#define ERGO_DIST_MANDATORY_OTP24 0x50184ULL       /* as OTP 23 */
#define ERGO_DIST_MANDATORY_OTP25 0x1070f94ULL     /* EXTENDED_REFERENCES | FUN_TAGS | EXTENDED_PIDS_PORTS | NEW_FUN_TAGS | EXPORT_PTR_TAG |
                                                    * BIT_BINARIES | NEW_FLOATS | UTF8_ATOMS | MAP_TAG | BIG_CREATION | HANDSHAKE_23 */
#define ERGO_DIST_MANDATORY_OTP26 0x403070f94ULL   /* OTP 25 | V4_NC | UNLINK_ID */
#define ERGO_DIST_MANDATORY_OTP27 0x407070f94ULL   /* OTP 26 | MANDATORY_25_DIGEST */
#define ERGO_DIST_MANDATORY_OTP28 0x407070f94ULL   /* as OTP 27 */

/* The flags `release` (23..28) requires of a peer; 0 for other releases. */
uint64_t ergo_dist_mandatory_flags(unsigned otp_release);
/* The bits of `required` missing from `peer_flags` (0: none). As OTP 25+
 * does, a peer's MANDATORY_25_DIGEST stands for all of MANDATORY_OTP25. */
uint64_t ergo_dist_missing_flags(uint64_t peer_flags, uint64_t required);

/* ---- EPMD ------------------------------------------------------------------ */

enum {
    ERGO_DIST_EPMD_ALIVE2_REQ = 120,
    ERGO_DIST_EPMD_ALIVE2_RESP = 121,
    ERGO_DIST_EPMD_ALIVE2_X_RESP = 118,
    ERGO_DIST_EPMD_PORT_PLEASE2_REQ = 122,
    ERGO_DIST_EPMD_PORT2_RESP = 119,
    ERGO_DIST_EPMD_NAMES_REQ = 110,
    ERGO_DIST_EPMD_DUMP_REQ = 100,
    ERGO_DIST_EPMD_KILL_REQ = 107,
    ERGO_DIST_EPMD_STOP_REQ = 115,

    ERGO_DIST_EPMD_NODE_NORMAL = 77,     /* NodeType 'M' */
    ERGO_DIST_EPMD_NODE_HIDDEN = 72,     /* NodeType 'H' */
    ERGO_DIST_EPMD_PROTOCOL_TCP = 0,
    ERGO_DIST_EPMD_DEFAULT_PORT = 4369
};

/* A node as ALIVE2_REQ registers it and PORT2_RESP describes it. Text
 * fields point into the parsed input (or the caller's bytes, to encode). */
typedef struct ergo_dist_epmd_node {
    const uint8_t *name;
    const uint8_t *extra;
    uint64_t name_len;          /* <= 65535 */
    uint64_t extra_len;         /* <= 65535 */
    uint16_t port;
    uint8_t node_type;          /* ERGO_DIST_EPMD_NODE_* */
    uint8_t protocol;           /* ERGO_DIST_EPMD_PROTOCOL_TCP */
    uint16_t highest_version;   /* 6 for OTP 23+ */
    uint16_t lowest_version;    /* 5 to talk to pre-23 nodes, else 6 */
} ergo_dist_epmd_node;

/* -- client side: requests (each written with its 2-byte length prefix) -- */
int ergo_dist_epmd_encode_alive2_req(ergo_etf_buf *b, const ergo_dist_epmd_node *node);
int ergo_dist_epmd_encode_port_please2_req(ergo_etf_buf *b, const uint8_t *name, size_t len);
int ergo_dist_epmd_encode_names_req(ergo_etf_buf *b);
int ergo_dist_epmd_encode_dump_req(ergo_etf_buf *b);
int ergo_dist_epmd_encode_kill_req(ergo_etf_buf *b);

/* -- client side: responses (no length prefix on EPMD responses) --
 * Incremental: OK with *used = bytes consumed, NEED_MORE for a valid prefix,
 * a negative code otherwise. */

/* ALIVE2_X_RESP (4-byte creation) or ALIVE2_RESP (2-byte creation). */
int ergo_dist_epmd_parse_alive2_resp(const uint8_t *buf, size_t len, uint8_t *result,
                                     uint32_t *creation, size_t *used);
/* PORT2_RESP: *result != 0 means "not registered" (the 2-byte form, and
 * *node is zeroed). EPMD closes the connection after it. */
int ergo_dist_epmd_parse_port2_resp(const uint8_t *buf, size_t len, uint8_t *result,
                                    ergo_dist_epmd_node *node, size_t *used);

/* NAMES response: EPMD's port (4 bytes), then lines "name N at port P\n"
 * until EPMD closes the connection. Parse the head, then call names_next
 * with *pos = 4 for each line: OK (one entry, *pos advanced), NEED_MORE (a
 * partial line: read more, or at end of stream the response is complete
 * if *pos == len), or E_MALFORMED for a line not in that form. */
typedef struct ergo_dist_epmd_name_entry {
    const uint8_t *name;
    uint64_t name_len;
    uint32_t port;
    uint32_t reserved;
} ergo_dist_epmd_name_entry;

int ergo_dist_epmd_parse_names_head(const uint8_t *buf, size_t len, uint32_t *epmd_port);
int ergo_dist_epmd_names_next(const uint8_t *buf, size_t len, size_t *pos,
                              ergo_dist_epmd_name_entry *entry);

/* -- server side: requests -- */
typedef struct ergo_dist_epmd_request {
    uint8_t kind;               /* ERGO_DIST_EPMD_*_REQ */
    uint8_t reserved[7];
    ergo_dist_epmd_node node;   /* ALIVE2_REQ */
    const uint8_t *name;        /* PORT_PLEASE2_REQ: the name asked for; STOP_REQ: the node to stop */
    uint64_t name_len;
} ergo_dist_epmd_request;

/* One request: 2-byte length, then the request. OK with *used, NEED_MORE,
 * E_TAG for an unknown request, E_MALFORMED for a bad body, E_LIMIT for a
 * request longer than max_len (0: 65535, the largest a prefix can say). */
int ergo_dist_epmd_parse_request(const uint8_t *buf, size_t len, size_t max_len,
                                 ergo_dist_epmd_request *req, size_t *used);

/* -- server side: responses -- */
/* Whether the client that sent this ALIVE2_REQ expects ALIVE2_X_RESP: it
 * does when it handles version 6 (OTP 23+), as epmd answers. */
int ergo_dist_epmd_wants_x_resp(const ergo_dist_epmd_node *node);
/* ALIVE2_X_RESP when x != 0, else ALIVE2_RESP (creation must fit 16 bits). */
int ergo_dist_epmd_encode_alive2_resp(ergo_etf_buf *b, int x, uint8_t result, uint32_t creation);
/* PORT2_RESP: node may be NULL when result != 0 (then only 119, result). */
int ergo_dist_epmd_encode_port2_resp(ergo_etf_buf *b, uint8_t result, const ergo_dist_epmd_node *node);
int ergo_dist_epmd_encode_names_head(ergo_etf_buf *b, uint32_t epmd_port);
/* One "name N at port P\n" line. */
int ergo_dist_epmd_encode_names_line(ergo_etf_buf *b, const uint8_t *name, size_t len, uint32_t port);

/* ---- Handshake ------------------------------------------------------------- */
/* Bodies of the 2-byte-framed handshake packets (the framing is the event
 * loop's). Parsers take one complete body; a short body is E_MALFORMED.
 * "Any extra data after the name must be accepted and ignored": parsers do. */

enum {
    ERGO_DIST_HS_NAME_OLD = 'n',     /* send_name v5 / challenge v5 (same tag) */
    ERGO_DIST_HS_NAME = 'N',         /* send_name v6 / challenge v6 (same tag) */
    ERGO_DIST_HS_STATUS = 's',
    ERGO_DIST_HS_COMPLEMENT = 'c',
    ERGO_DIST_HS_REPLY = 'r',
    ERGO_DIST_HS_ACK = 'a'
};

typedef enum ergo_dist_status {
    ERGO_DIST_STATUS_OTHER = 0,      /* unknown text (see `text`) */
    ERGO_DIST_STATUS_OK = 1,
    ERGO_DIST_STATUS_OK_SIMULTANEOUS = 2,
    ERGO_DIST_STATUS_NOK = 3,
    ERGO_DIST_STATUS_NOT_ALLOWED = 4,
    ERGO_DIST_STATUS_ALIVE = 5,
    ERGO_DIST_STATUS_NAMED = 6,      /* "named:" + Nlen + Name + Creation */
    ERGO_DIST_STATUS_TRUE = 7,       /* A's answer to "alive" */
    ERGO_DIST_STATUS_FALSE = 8
} ergo_dist_status;

/* One parsed handshake message; which fields are set depends on `tag`. */
typedef struct ergo_dist_hs {
    uint64_t flags;          /* n, N: the sender's flags (old 'n': 32 bits); c: high word << 32 */
    const uint8_t *name;     /* n, N: node name; s named: the dynamic name */
    uint64_t name_len;
    const uint8_t *text;     /* s: the status text (without "named:" fields) */
    uint64_t text_len;
    uint32_t creation;       /* N, c, s named */
    uint32_t challenge;      /* challenge n/N, r */
    uint16_t version;        /* old 'n': 5 */
    uint8_t tag;             /* ERGO_DIST_HS_* */
    uint8_t status;          /* s: ergo_dist_status */
    uint8_t digest[16];      /* r, a */
} ergo_dist_hs;

/* Parse one body. `challenge` says whether an 'n'/'N' message is the
 * challenge (B to A, with a challenge field) or send_name (A to B): the
 * tags are the same and the peer's role tells them apart. */
int ergo_dist_hs_parse(const uint8_t *body, size_t len, int challenge, ergo_dist_hs *out);

/* Encoders write the body only (the caller adds the 2-byte length). */
int ergo_dist_hs_encode_name(ergo_etf_buf *b, uint64_t flags, uint32_t creation,
                             const uint8_t *name, size_t len);                  /* 'N' */
int ergo_dist_hs_encode_name_old(ergo_etf_buf *b, uint16_t version, uint32_t flags,
                                 const uint8_t *name, size_t len);              /* 'n' */
int ergo_dist_hs_encode_challenge(ergo_etf_buf *b, uint64_t flags, uint32_t challenge,
                                  uint32_t creation, const uint8_t *name, size_t len); /* 'N' */
int ergo_dist_hs_encode_challenge_old(ergo_etf_buf *b, uint16_t version, uint32_t flags,
                                      uint32_t challenge, const uint8_t *name, size_t len); /* 'n' */
/* 's' + the status text; for ERGO_DIST_STATUS_NAMED also Nlen, name, creation. */
int ergo_dist_hs_encode_status(ergo_etf_buf *b, ergo_dist_status status,
                               const uint8_t *name, size_t len, uint32_t creation);
int ergo_dist_hs_encode_complement(ergo_etf_buf *b, uint64_t flags, uint32_t creation); /* 'c' */
int ergo_dist_hs_encode_reply(ergo_etf_buf *b, uint32_t challenge, const uint8_t digest[16]);
int ergo_dist_hs_encode_ack(ergo_etf_buf *b, const uint8_t digest[16]);

/* MD5(cookie bytes ++ the challenge as unsigned decimal text), as
 * erlang:md5([Cookie, integer_to_list(Challenge)]). */
int ergo_dist_digest(const uint8_t *cookie, size_t cookie_len, uint32_t challenge,
                     uint8_t out[16]);
/* 1 when equal, in time independent of the bytes. */
int ergo_dist_digest_equal(const uint8_t a[16], const uint8_t b[16]);

/* ---- Distribution header and atom cache ------------------------------------ */

enum {
    ERGO_DIST_HDR_NORMAL = 'D',          /* 131 'D' */
    ERGO_DIST_HDR_FRAGMENT_START = 'E',  /* 131 'E' */
    ERGO_DIST_HDR_FRAGMENT_CONT = 'F',   /* 131 'F' */
    ERGO_DIST_HDR_PASS_THROUGH = 112,    /* 'p': no header, the control message follows (ETF with 131) */
    ERGO_DIST_ATOM_CACHE_SIZE = 2048,    /* 8 segments of 256 */
    ERGO_DIST_MAX_ATOM_REFS = 255        /* NumberOfAtomCacheRefs is one byte */
};

/* One entry of a message's atom table: ATOM_CACHE_REF index i means refs[i]. */
typedef struct ergo_dist_atom {
    const uint8_t *text;
    uint32_t len;
    uint16_t slot;           /* cache slot 0..2047 */
    uint8_t utf8;            /* 1: UTF-8 text (UTF8_ATOMS negotiated), 0: Latin-1 */
    uint8_t reserved;
} ergo_dist_atom;

/* Receive side: the atom cache of one connection. */
typedef struct ergo_dist_rx_cache {
    uint8_t *text[ERGO_DIST_ATOM_CACHE_SIZE];   /* owned, per slot, grown on demand */
    uint16_t len[ERGO_DIST_ATOM_CACHE_SIZE];
    uint16_t cap[ERGO_DIST_ATOM_CACHE_SIZE];
    uint8_t used[ERGO_DIST_ATOM_CACHE_SIZE];
    uint32_t max_atom_bytes; /* longest atom text accepted (0: 1020 = 255 four-byte characters) */
    uint8_t utf8;            /* atom text encoding (init: 1; UTF8_ATOMS is mandatory since OTP 23) */
    uint8_t reserved[3];
} ergo_dist_rx_cache;

void ergo_dist_rx_cache_init(ergo_dist_rx_cache *c, uint32_t max_atom_bytes);
void ergo_dist_rx_cache_free(ergo_dist_rx_cache *c);

/* A parsed header. For NORMAL and FRAGMENT_START, refs[0..nrefs) is the
 * message's atom table; its text points into the cache and stays valid
 * until the next header parsed with that cache. */
typedef struct ergo_dist_header {
    uint64_t sequence_id;    /* E, F */
    uint64_t fragment_id;    /* E, F: counts down to 1 */
    uint64_t body_offset;    /* where the control message starts in the packet */
    uint32_t nrefs;
    uint8_t kind;            /* ERGO_DIST_HDR_* */
    uint8_t reserved[3];
    ergo_dist_atom refs[ERGO_DIST_MAX_ATOM_REFS];
} ergo_dist_header;

/* Parse the header at the start of one packet body (after the 4-byte
 * length) and apply its new cache entries. A slot named twice in one
 * header is refused (E_ATOM_CACHE); ERTS never sends that. A header that
 * fails changes no slot. An empty packet (a tick) is E_MALFORMED here: the
 * framer answers ticks. */
int ergo_dist_header_parse(ergo_dist_rx_cache *c, const uint8_t *pkt, size_t len,
                           ergo_dist_header *out);

/* ---- Receiving: headers plus fragment reassembly --------------------------- */

typedef struct ergo_dist_rx_limits {
    uint64_t max_bytes;      /* message bytes (and copied atom text) held in flight (0: 64 MiB) */
    uint32_t max_sequences;  /* fragmented messages in flight at once (0: 64) */
    uint32_t reserved;
} ergo_dist_rx_limits;

typedef struct ergo_dist_rx_seq ergo_dist_rx_seq;  /* private */

typedef struct ergo_dist_rx {
    ergo_dist_rx_cache cache;
    ergo_dist_rx_limits limits;
    ergo_dist_rx_seq *seqs;  /* owned: limits.max_sequences entries, allocated on first fragment */
    uint32_t nseqs;          /* in flight */
    uint32_t done;           /* index + 1 of the sequence last completed (freed on the next call), 0: none */
    uint64_t bytes;          /* bytes held in flight */
    ergo_dist_header hdr;    /* scratch for the last packet */
} ergo_dist_rx;

/* A complete message: the control message ETF (no version byte), then the
 * payload, if any, in data[0..len). ATOM_CACHE_REF i resolves to refs[i]. */
typedef struct ergo_dist_message {
    const uint8_t *data;
    uint64_t len;
    const ergo_dist_atom *refs;
    uint32_t nrefs;
    uint8_t pass_through;    /* 1: a 112 packet; data starts with 131 before each term */
    uint8_t reserved[3];
} ergo_dist_message;

void ergo_dist_rx_init(ergo_dist_rx *rx, const ergo_dist_rx_limits *limits, uint32_t max_atom_bytes);
void ergo_dist_rx_free(ergo_dist_rx *rx);
/* Take one packet body. OK: *msg is a complete message, valid until the
 * next call on rx (for a 'D' packet data points into pkt). NEED_MORE: a
 * fragment was stored. A negative code: the connection must be dropped. */
int ergo_dist_rx_packet(ergo_dist_rx *rx, const uint8_t *pkt, size_t len, ergo_dist_message *msg);

/* ---- Sending: per-message atom table, header writer, fragmenter ------------ */

/* Send side: the atom cache of one connection (slot = hash of the text). */
typedef struct ergo_dist_tx_cache {
    uint8_t *text[ERGO_DIST_ATOM_CACHE_SIZE];   /* owned copies */
    uint16_t len[ERGO_DIST_ATOM_CACHE_SIZE];
    uint16_t cap[ERGO_DIST_ATOM_CACHE_SIZE];
    uint8_t used[ERGO_DIST_ATOM_CACHE_SIZE];
    uint64_t next_sequence;  /* fragment sequence ids come from here (starts at 1) */
} ergo_dist_tx_cache;

void ergo_dist_tx_cache_init(ergo_dist_tx_cache *c);
void ergo_dist_tx_cache_free(ergo_dist_tx_cache *c);
/* The slot an atom's text hashes to. */
uint16_t ergo_dist_atom_slot(const uint8_t *text, size_t len);

/* The atoms one outgoing message refers to by ATOM_CACHE_REF, in index
 * order. Text is referenced, not copied: it must live until the header is
 * written. */
typedef struct ergo_dist_tx_atoms {
    uint32_t count;
    uint32_t reserved;
    ergo_dist_atom atoms[ERGO_DIST_MAX_ATOM_REFS];
} ergo_dist_tx_atoms;

void ergo_dist_tx_atoms_reset(ergo_dist_tx_atoms *t);
/* The ATOM_CACHE_REF index for this atom (0..254), adding it if new; -1
 * when it cannot be cached in this message (the table is full, the text is
 * longer than 65535 bytes, or another atom of this message hashes to its
 * slot): encode it as a plain atom instead. */
int ergo_dist_tx_atoms_add(ergo_dist_tx_atoms *t, const uint8_t *text, size_t len);

/* Write 131 'D' and the atom cache header for `atoms`, deciding new versus
 * cached entries against `c` and updating it. Call it where the packet's
 * place on the wire is fixed. */
int ergo_dist_header_encode(ergo_dist_tx_cache *c, const ergo_dist_tx_atoms *atoms,
                            ergo_etf_buf *out);

/* A whole message as ready-to-send packets, each with its 4-byte length:
 * one 'D' packet when the body fits in max_fragment bytes (or max_fragment
 * is 0), else 'E' then 'F'... packets of at most max_fragment body bytes,
 * with the next sequence id of `c`. `body` is the control message and
 * payload, ETF without version bytes. *npackets (may be NULL) gets the
 * count. */
int ergo_dist_encode_message(ergo_dist_tx_cache *c, const ergo_dist_tx_atoms *atoms,
                             const uint8_t *body, size_t body_len, size_t max_fragment,
                             ergo_etf_buf *out, size_t *npackets);
/* As encode_message, but body runs of at least out->ref_threshold bytes are
 * lent to `out`, not copied (ergo_etf_encode_raw_ref): `body` must outlive
 * the use of `out`; send it with ergo_etf_buf_slices. */
int ergo_dist_encode_message_ref(ergo_dist_tx_cache *c, const ergo_dist_tx_atoms *atoms,
                                 const uint8_t *body, size_t body_len, size_t max_fragment,
                                 ergo_etf_buf *out, size_t *npackets);

#ifdef __cplusplus
}
#endif

#endif /* ERGO_DIST_H */
