/*
 * loop_internal.h — the event loop's private structures, shared by the
 * common part (loop_common.c), the framer (loop_framer.c) and the two
 * backends (loop_uring.c, loop_epoll.c). Not installed.
 *
 * Threads: fields marked [loop] are touched by the loop thread only;
 * fields marked [lock] are guarded by the slot's mutex (out queue, state,
 * generation); [cmd] by the loop's command mutex.
 */
#ifndef ERGO_LOOP_INTERNAL_H
#define ERGO_LOOP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ergo_features.h"
#include "ergo_loop.h"

typedef enum {
    SLOT_FREE = 0,
    SLOT_LISTENER,   /* listening; accept armed once the loop saw it */
    SLOT_CONNECTING, /* connect started (or queued) */
    SLOT_OPEN,       /* reported open */
    SLOT_CLOSING,    /* decided closed; waiting for the backend's ops to end */
} slot_state;

/* A piece of the outgoing queue. */
typedef struct out_chunk {
    struct out_chunk *next;
    uint32_t off; /* bytes already sent */
    uint32_t len; /* bytes filled */
    uint8_t data[];
} out_chunk;

/* Per-connection framer state [loop]. */
typedef struct {
    uint8_t mode;       /* ergo_loop_framing in force */
    uint8_t next_mode;  /* applied at the next packet boundary */
    uint8_t hdr_have;   /* header bytes collected */
    uint8_t hdr[4];
    size_t max_packet, next_max;
    size_t need;        /* body length once the header is complete */
    size_t have;        /* body bytes collected in carry or big */
    uint8_t *carry;     /* carry_size bytes, allocated on first use */
    uint8_t *big;       /* exactly need bytes, for a packet longer than carry */
} framer;

typedef struct slot {
    pthread_mutex_t lock;
    /* [lock] */
    uint32_t gen;
    slot_state state;
    out_chunk *out_head, *out_tail;
    size_t out_bytes;     /* queued, not yet sent */
    bool flush_queued;    /* on the loop's flush list or being flushed */
    bool refused;         /* a send got ERGO_LOOP_E_BUSY: report on_writable */
    bool wrote_direct;    /* a sending thread wrote to the socket since the
                             last tick check (counts as a write for ticks) */
    int tx_err;           /* a direct send wrote part of a packet and could not
                             queue the rest: the loop closes with this */
    bool lazy;            /* on the flush list for lazy bytes only, and the loop
                             has not begun that flush: senders may still write
                             the queue directly (loop_out_gather clears it) */
    uint64_t tx_last;     /* ns: the last send call (any path) */
    uint32_t tx_run;      /* sends less than DIRECT_GAP_NS apart, in a row */
    /* [loop] */
    int fd;
    uint32_t index;
    int close_err;        /* reason given to on_close */
    bool report_close;    /* closing: report on_close */
    bool report_connect;  /* closing: report on_connect(close_err) */
    bool live;            /* the loop has seen it (commands ran / accepted) */
    bool cancel_sent;     /* io_uring: cancellation submitted */
    bool closing_listed;
    bool send_busy;       /* a send is in flight (io_uring) or EAGAIN (epoll) */
    bool recv_armed;
    bool want_out;        /* epoll: EPOLLOUT registered */
    bool close_drained;   /* ergo_loop_close_flushed: close once the queue is empty */
    uint32_t ops;         /* io_uring operations in flight */
    uint64_t tag;         /* connect tag */
    ergo_loop_id listener;
    struct sockaddr_storage addr; /* connect target */
    socklen_t addrlen;
    uint64_t connect_deadline; /* ns, 0 = none */
    uint64_t tick_ns;          /* tick interval, 0 = off */
    uint64_t tick_next;        /* next tick check */
    uint64_t last_read, last_write;
    framer fr;
    struct iovec *iov;         /* max_iov entries, allocated on first send */
    uint32_t iov_n;
    struct msghdr msg;
    struct slot *next_flush;   /* [cmd] flush list link */
    struct slot *next_closing; /* [loop] */
    uint32_t next_free;        /* [cmd] free slot list */
} slot;

typedef enum {
    CMD_LISTEN,
    CMD_CONNECT,
    CMD_CLOSE,
    CMD_CLOSE_FLUSHED,
    CMD_FRAMING,
    CMD_TICK,
    CMD_TIMER,
    CMD_TIMER_CANCEL,
    CMD_WAKE,
} cmd_kind;

typedef struct cmd {
    struct cmd *next;
    cmd_kind kind;
    ergo_loop_id id;
    uint64_t a, b; /* per kind: tag, ms, mode, limit */
} cmd;

typedef struct {
    uint64_t deadline;
    uint64_t seq;
    uint64_t tag;
} timer_ent;

struct loop_backend_ops;

struct ergo_loop {
    ergo_loop_config cfg;
    ergo_loop_callbacks cb;
    void *ctx;
    const struct loop_backend_ops *ops;
    void *be; /* backend state */

    slot *slots;
    uint32_t nslots;

    pthread_mutex_t cmd_lock;
    /* [cmd] */
    cmd *cmd_head, *cmd_tail;
    uint32_t cmd_count;
    slot *flush_head, *flush_tail;
    uint32_t free_head; /* index + 1, 0 = none */
    uint32_t used_slots;
    out_chunk *pool;    /* free chunks */
    uint32_t pool_n;

    atomic_uint timers_reserved; /* timers queued or in the heap */
    atomic_uint_fast64_t direct_sends; /* sendmsg calls by sending threads */
    atomic_uint_fast64_t direct_bytes; /* and the bytes they wrote */
    atomic_uint_fast64_t lazy_sends;
    atomic_bool lazy_timer;            /* lazy_fd armed and not yet seen by the loop */
    int lazy_fd;                       /* timerfd: the bound on a lazy packet's wait */
    atomic_bool wake_pending;
    atomic_bool stop;
    atomic_bool running; /* set once thread is valid */
    atomic_bool in_run;  /* ergo_loop_run entered (exclusive) */
    pthread_t thread;  /* valid while running */
    int wake_fd;       /* eventfd */

    /* [loop] */
    timer_ent *timers;
    uint32_t ntimers;
    uint64_t timer_seq;
    uint64_t sweep_due; /* ns: next connect-deadline / tick check, 0 = none */
    slot *closing_head;
    uint8_t *recv_buf;  /* epoll's receive buffer */
    ergo_loop_stats stats;
};

/* What a backend implements. Every function runs on the loop thread except
 * init/fini (creating/destroying thread). */
typedef struct loop_backend_ops {
    const char *name;
    ergo_loop_backend kind;
    int (*init)(ergo_loop *loop);
    void (*fini)(ergo_loop *loop);
    int (*listen)(ergo_loop *loop, slot *s);  /* start accepting */
    int (*connect)(ergo_loop *loop, slot *s); /* start connecting to s->addr */
    int (*start)(ergo_loop *loop, slot *s);   /* start receiving on an open conn */
    void (*flush)(ergo_loop *loop, slot *s);  /* write what is queued if idle */
    void (*close)(ergo_loop *loop, slot *s);  /* cancel ops; loop_slot_release once idle */
    int (*poll)(ergo_loop *loop, int timeout_ms); /* wait and dispatch */
} loop_backend_ops;

extern const loop_backend_ops ergo_loop_epoll_ops;
#if ERGO_HAVE_LIBURING
extern const loop_backend_ops ergo_loop_uring_ops;
#endif

/* ---- loop_common.c, for the backends ---- */
uint64_t loop_now_ns(void);
ergo_loop_id loop_slot_id(const slot *s);
/* Decide a slot is closed (once): the reason is reported after the current
 * dispatch; the backend's close() runs then. */
void loop_conn_fail(ergo_loop *loop, slot *s, int err);
/* The backend is done with the slot: close the fd, free the buffers, put
 * the slot back on the free list. */
void loop_slot_release(ergo_loop *loop, slot *s);
/* Wake-up arrived: run queued commands. */
void loop_wake_drain(ergo_loop *loop);
/* A connect finished (err 0 = connected). */
void loop_connect_done(ergo_loop *loop, slot *s, int err);
/* A listener accepted fd. */
void loop_accepted(ergo_loop *loop, slot *ls, int fd);
/* Gather up to max_iov iovecs of queued bytes into s->iov / s->msg;
 * returns the count (0 = nothing queued: flush is over). */
uint32_t loop_out_gather(ergo_loop *loop, slot *s);
/* n bytes of the gathered send were written. */
void loop_out_sent(ergo_loop *loop, slot *s, size_t n);
/* The lazy timer (lazy_fd) fired and was read: flushes follow. */
void loop_lazy_fired(ergo_loop *loop);

/* ---- loop_framer.c ---- */
/* Received bytes: cut and deliver packets. Returns false when the slot was
 * closed meanwhile (by a callback or a framing error). */
bool loop_framer_feed(ergo_loop *loop, slot *s, const uint8_t *data, size_t n);
void loop_framer_reset(framer *f);
void loop_framer_free(framer *f);

#endif
