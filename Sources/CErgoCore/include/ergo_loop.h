/*
 * ergo_loop.h — the event loop of Ergo's C core: TCP listeners and
 * connections, packet framing (Erlang's {packet, 2} and {packet, 4}), ticks,
 * timers and cross-thread wake-ups, over io_uring with an epoll fallback
 * behind one interface.
 *
 * Conventions (stated once, true for every function below):
 *  - Functions that can fail return an int: 0 (ERGO_LOOP_OK) or a negative
 *    code, either an ERGO_LOOP_E_* code or a negated errno from a system
 *    call (-ECONNREFUSED, ...). ergo_loop_strerror() names both. Nothing
 *    prints, sets errno for the caller or aborts on bad input.
 *  - One thread runs the loop: ergo_loop_run() blocks until ergo_loop_stop().
 *    Every callback runs on that thread, with the ctx given at creation.
 *  - Every other entry point is thread-safe: from another thread it queues a
 *    command and wakes the loop; from the loop thread (inside a callback) it
 *    takes effect at once.
 *  - Connections and listeners are named by a 64-bit id: a slot and a
 *    generation, so an id of a closed connection is refused
 *    (ERGO_LOOP_E_STALE) even after its slot was reused. 0 is never an id.
 *  - Every allocation is bounded by a limit in ergo_loop_config. There is no
 *    global state; loops are independent.
 */
#ifndef ERGO_LOOP_H
#define ERGO_LOOP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Errors ---------------------------------------------------------------- */

enum {
    ERGO_LOOP_OK = 0,
    /* Negated errno values (-1 .. -4095) come from system calls. */
    ERGO_LOOP_E_ARG = -5001,          /* bad argument */
    ERGO_LOOP_E_NOMEM = -5002,        /* out of memory */
    ERGO_LOOP_E_BUSY = -5003,         /* send queue over its byte limit: back off */
    ERGO_LOOP_E_LIMIT = -5004,        /* a table is full (connections, timers, commands) */
    ERGO_LOOP_E_STALE = -5005,        /* no such connection or listener of the kind the
                                         call needs (closed, never existed, or a
                                         listener given to a connection call) */
    ERGO_LOOP_E_TOO_BIG = -5006,      /* a packet header claimed more than the limit */
    ERGO_LOOP_E_TICK_TIMEOUT = -5007, /* nothing read for 4 tick intervals */
    ERGO_LOOP_E_TIMEOUT = -5008,      /* connect did not complete in time */
    ERGO_LOOP_E_CLOSED = -5009,       /* closed by ergo_loop_close */
    ERGO_LOOP_E_UNSUPPORTED = -5010,  /* backend not available (io_uring refused) */
    ERGO_LOOP_E_ADDR = -5011,         /* host is not an address that resolves */
    ERGO_LOOP_E_STATE = -5012,        /* wrong state (ergo_loop_run while it runs) */
};

/* Name of a code: ERGO_LOOP_E_* or a negated errno. Never NULL. */
const char *ergo_loop_strerror(int code);

/* ---- Configuration ----------------------------------------------------------- */

typedef enum ergo_loop_backend {
    ERGO_LOOP_BACKEND_AUTO = 0,  /* io_uring if the kernel allows it, else epoll */
    ERGO_LOOP_BACKEND_EPOLL = 1,
    ERGO_LOOP_BACKEND_URING = 2, /* fails with ERGO_LOOP_E_UNSUPPORTED if refused */
    ERGO_LOOP_BACKEND_ENV = 3,   /* ERGO_EVENT_LOOP=epoll|uring|auto (unset: auto) */
} ergo_loop_backend;

typedef struct ergo_loop_config {
    ergo_loop_backend backend; /* default ERGO_LOOP_BACKEND_ENV */
    uint32_t max_conns;        /* connections + listeners at once (default 1024) */
    uint32_t max_timers;       /* pending ergo_loop_timer timers (default 4096) */
    uint32_t max_commands;     /* queued cross-thread commands (default 4096) */
    uint32_t max_iov;          /* iovecs gathered into one sendmsg (default 64, <= 1024) */
    uint32_t send_chunk;       /* bytes per outgoing-queue chunk (default 64 KiB) */
    uint32_t pool_chunks;      /* free chunks kept for reuse by the loop (default 64) */
    size_t max_send_queue;     /* queued outgoing bytes per connection (default 64 MiB) */
    size_t max_packet;         /* default packet length limit (default 64 MiB) */
    uint32_t carry_size;       /* per-connection buffer for packets that straddle
                                  receive buffers, at most this long (default 4 KiB) */
    uint32_t recv_buf_size;    /* receive buffer size (default 64 KiB) */
    uint32_t recv_buf_count;   /* io_uring provided buffers, power of 2 (default 64) */
    uint32_t uring_entries;    /* submission queue entries (default 256) */
    uint32_t direct_send;      /* 1 (default): a send to an open connection with
                                  nothing queued and no send in flight is written
                                  by the calling thread (a nonblocking sendmsg),
                                  only the unwritten rest is queued; 0: always
                                  queue and let the loop thread write */
    uint32_t direct_burst;     /* sends less than 50 us apart in a row that may be
                                  direct (default 4); past it they queue and the
                                  loop writes them in batches. 0: no limit */
} ergo_loop_config;

/* Fill in the defaults above. */
void ergo_loop_config_init(ergo_loop_config *cfg);

/* ---- Callbacks (all on the loop thread) ------------------------------------------ */

typedef uint64_t ergo_loop_id;

typedef struct ergo_loop_callbacks {
    /* A listener accepted a connection; peer is "a.b.c.d:port" or
     * "[v6]:port". The connection starts in raw framing without ticks. */
    void (*on_accept)(void *ctx, ergo_loop_id listener, ergo_loop_id conn, const char *peer);
    /* An ergo_loop_connect finished: err 0 (connected) or < 0 (failed; the
     * id is dead then and no on_close follows). */
    void (*on_connect)(void *ctx, ergo_loop_id conn, uint64_t tag, int err);
    /* Bytes (raw mode) or one whole packet without its header (packet
     * modes). data is valid only during the call. */
    void (*on_packet)(void *ctx, ergo_loop_id conn, const uint8_t *data, size_t len);
    /* A connection that was reported open (accepted, or connected with err
     * 0) is gone: exactly once per connection. err 0 = the peer closed,
     * ERGO_LOOP_E_CLOSED = ergo_loop_close, otherwise the reason. Listeners
     * are closed without a callback. */
    void (*on_close)(void *ctx, ergo_loop_id conn, int err);
    /* An ergo_loop_timer expired. */
    void (*on_timer)(void *ctx, uint64_t tag);
    /* An ergo_loop_wake arrived. */
    void (*on_wake)(void *ctx, uint64_t tag);
    /* A send to conn was refused with ERGO_LOOP_E_BUSY, and its queue has
     * since drained to half of max_send_queue or less: send again. Once per
     * refusal episode. */
    void (*on_writable)(void *ctx, ergo_loop_id conn);
} ergo_loop_callbacks;

/* ---- Life cycle -------------------------------------------------------------------- */

typedef struct ergo_loop ergo_loop;

/* Create a loop (cfg NULL = defaults). Callbacks left NULL are not called. */
int ergo_loop_create(ergo_loop **out, const ergo_loop_config *cfg, const ergo_loop_callbacks *cb,
                     void *ctx);
/* Close every socket, release everything. Not while ergo_loop_run runs; no
 * callbacks are made. */
void ergo_loop_destroy(ergo_loop *loop);
/* "io_uring" or "epoll". */
const char *ergo_loop_backend_name(const ergo_loop *loop);
ergo_loop_backend ergo_loop_backend_kind(const ergo_loop *loop);

/* Run on the calling thread until ergo_loop_stop. Returns 0, or an error
 * if the backend fails. May be called again after it returned. */
int ergo_loop_run(ergo_loop *loop);
/* Make ergo_loop_run return (any thread). A stop before run makes the next
 * run return at once. */
int ergo_loop_stop(ergo_loop *loop);

/* ---- Sockets ------------------------------------------------------------------------- */

/* Bind and listen on the calling thread (host NULL = 0.0.0.0; port 0 =
 * ephemeral); accepting starts on the loop. *bound_port may be NULL. */
int ergo_loop_listen(ergo_loop *loop, const char *host, uint16_t port, int backlog,
                     ergo_loop_id *id, uint16_t *bound_port);

/* Start a connection to host (IPv4/IPv6 literal, or a name resolved on the
 * calling thread, which may block) and port; timeout_ms 0 = none. *id is
 * valid at once: sends queue until the connection is up. on_connect
 * reports the end with tag. */
int ergo_loop_connect(ergo_loop *loop, const char *host, uint16_t port, uint32_t timeout_ms,
                      uint64_t tag, ergo_loop_id *id);

/* Close a connection (on_close with ERGO_LOOP_E_CLOSED, unless it was still
 * connecting: then on_connect with ERGO_LOOP_E_CLOSED) or a listener.
 * Queued outgoing bytes that were not written are dropped. */
int ergo_loop_close(ergo_loop *loop, ergo_loop_id id);

/* Close a connection once every byte queued before this call (and any
 * queued after it) has been written: on_close with ERGO_LOOP_E_CLOSED then.
 * For a server's last answer before it hangs up (EPMD's PORT2_RESP and
 * NAMES end with the server closing). Until the queue drains, the
 * connection still delivers what it reads. */
int ergo_loop_close_flushed(ergo_loop *loop, ergo_loop_id conn);

/* ---- Sending ------------------------------------------------------------------------- */

/* Send the bytes, all or nothing: ERGO_LOOP_E_BUSY if the queue would pass
 * max_send_queue (on_writable follows once it has drained to half). With
 * direct_send (the default), when the connection is open, nothing is queued
 * and no send is in flight, the calling thread writes them itself with a
 * nonblocking sendmsg and queues only what the socket did not take;
 * otherwise they are copied into the connection's outgoing queue, which the
 * loop gathers into one sendmsg, one in flight per socket. Either way bytes
 * leave in the order the sends were made: the iovec may be reused as soon
 * as the call returns. */
int ergo_loop_send(ergo_loop *loop, ergo_loop_id conn, const struct iovec *iov, int iovcnt);
/* As ergo_loop_send, with a 4-byte big-endian length header in front of
 * the iovec's bytes (a {packet, 4} packet). */
int ergo_loop_send_packet(ergo_loop *loop, ergo_loop_id conn, const struct iovec *iov, int iovcnt);
/* As ergo_loop_send_packet, for a packet that is not urgent (a demonitor,
 * a monitor right before the message it guards): it is queued in order
 * without waking the loop, and leaves with the next send to the connection
 * (in one sendmsg with it), when the loop next runs, or within about
 * ERGO_LOOP_LAZY_MS milliseconds, whichever comes first. */
int ergo_loop_send_packet_lazy(ergo_loop *loop, ergo_loop_id conn, const struct iovec *iov,
                               int iovcnt);
#define ERGO_LOOP_LAZY_MS 1

/* ---- Framing and ticks ----------------------------------------------------------------- */

typedef enum ergo_loop_framing {
    ERGO_LOOP_RAW = 0,     /* bytes as they arrive */
    ERGO_LOOP_PACKET2 = 2, /* 2-byte big-endian length header (handshake) */
    ERGO_LOOP_PACKET4 = 4, /* 4-byte big-endian length header (distribution);
                              a zero-length packet is a tick, not delivered */
} ergo_loop_framing;

/* Set the framing and the packet length limit (0 = the config's
 * max_packet). From a callback on the loop thread it applies to the very
 * next byte after the packet being delivered; from another thread, at the
 * next packet boundary after the loop sees the command. A claimed length
 * over the limit closes the connection with ERGO_LOOP_E_TOO_BIG. */
int ergo_loop_set_framing(ergo_loop *loop, ergo_loop_id conn, ergo_loop_framing mode,
                          size_t max_packet);

/* Ticks (net_ticktime): every interval_ms the loop sends a tick (4 zero
 * bytes) if nothing was written during the interval, and closes the
 * connection with ERGO_LOOP_E_TICK_TIMEOUT once nothing was read for 4
 * intervals. 0 turns ticks off. Meant for PACKET4 mode. */
int ergo_loop_set_tick(ergo_loop *loop, ergo_loop_id conn, uint32_t interval_ms);

/* ---- Timers and wake-ups --------------------------------------------------------------- */

/* on_timer(tag) after ms milliseconds; timers with equal deadlines fire in
 * the order they were added. ERGO_LOOP_E_LIMIT past max_timers. */
int ergo_loop_timer(ergo_loop *loop, uint32_t ms, uint64_t tag);
/* Drop the pending timers with this tag. On the loop thread none of them
 * fires after the call; from another thread the cancel is queued like any
 * command, so one that is already due may still fire. Returns 0 (also when
 * there was nothing to cancel). */
int ergo_loop_timer_cancel(ergo_loop *loop, uint64_t tag);
/* on_wake(tag) on the loop thread, soon: hand work to the loop. */
int ergo_loop_wake(ergo_loop *loop, uint64_t tag);

/* ---- Statistics (read on the loop thread, or after run returned) ----------------------- */

typedef struct ergo_loop_stats {
    uint64_t send_calls;      /* sendmsg system calls / operations */
    uint64_t bytes_sent;
    uint64_t recv_calls;      /* recv completions / calls that returned data */
    uint64_t bytes_received;
    uint64_t packets;         /* packets delivered to on_packet (not ticks) */
    uint64_t ticks_sent;
    uint64_t ticks_received;
    uint64_t large_packets;   /* packets assembled in a buffer of their own */
    uint64_t carried_packets; /* packets assembled in the carry buffer */
    uint64_t direct_sends;    /* sendmsg calls made by sending threads (direct_send);
                                 included in send_calls, their bytes in bytes_sent */
    uint64_t lazy_sends;      /* ergo_loop_send_packet_lazy calls */
} ergo_loop_stats;

void ergo_loop_get_stats(const ergo_loop *loop, ergo_loop_stats *out);

#ifdef __cplusplus
}
#endif

#endif
