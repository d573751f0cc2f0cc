/*
 * loop_framer.c — cuts received bytes into packets ({packet, 2} and
 * {packet, 4}) or passes them through (raw), for both backends.
 *
 * A packet that lies inside one received buffer is delivered straight from
 * that buffer. One that straddles buffers is assembled in the connection's
 * carry buffer (carry_size bytes, allocated on first use) if it fits, else
 * in a buffer of its own allocated once at the exact length, which the
 * header has already checked against the connection's limit. The framer is
 * reset to the next packet boundary *before* on_packet runs, so a mode
 * change made inside the callback applies to the very next byte.
 */
#include <stdlib.h>
#include <string.h>

#include "loop_internal.h"

void loop_framer_reset(framer *f)
{
    f->hdr_have = 0;
    f->need = 0;
    f->have = 0;
    f->mode = f->next_mode;
    f->max_packet = f->next_max;
}

void loop_framer_free(framer *f)
{
    free(f->carry);
    free(f->big);
    f->carry = NULL;
    f->big = NULL;
}

/* Deliver one packet; false if the slot was closed by the callback. */
static bool deliver(ergo_loop *loop, slot *s, const uint8_t *p, size_t n)
{
    loop->stats.packets++;
    if (loop->cb.on_packet)
        loop->cb.on_packet(loop->ctx, loop_slot_id(s), p, n);
    return s->state == SLOT_OPEN;
}

bool loop_framer_feed(ergo_loop *loop, slot *s, const uint8_t *data, size_t n)
{
    framer *f = &s->fr;
    while (n > 0) {
        if (s->state != SLOT_OPEN)
            return false;
        if (f->mode == ERGO_LOOP_RAW) {
            loop_framer_reset(f);
            if (f->mode == ERGO_LOOP_RAW)
                return deliver(loop, s, data, n);
            continue;
        }
        size_t hl = f->mode;
        if (f->hdr_have < hl) {
            size_t take = hl - f->hdr_have < n ? hl - f->hdr_have : n;
            memcpy(f->hdr + f->hdr_have, data, take);
            f->hdr_have = (uint8_t)(f->hdr_have + take);
            data += take;
            n -= take;
            if (f->hdr_have < hl)
                return true;
            size_t len = hl == 2 ? ((size_t)f->hdr[0] << 8 | f->hdr[1])
                                 : ((size_t)f->hdr[0] << 24 | (size_t)f->hdr[1] << 16 |
                                    (size_t)f->hdr[2] << 8 | f->hdr[3]);
            if (len > f->max_packet) {
                loop_conn_fail(loop, s, ERGO_LOOP_E_TOO_BIG);
                return false;
            }
            f->need = len;
            f->have = 0;
            if (len == 0) {
                bool tick = hl == 4;
                loop_framer_reset(f);
                if (tick)
                    loop->stats.ticks_received++;
                else if (!deliver(loop, s, data, 0))
                    return false;
                continue;
            }
        }
        if (f->have == 0 && n >= f->need) { /* whole packet in this buffer */
            size_t len = f->need;
            const uint8_t *p = data;
            data += len;
            n -= len;
            loop_framer_reset(f);
            if (!deliver(loop, s, p, len))
                return false;
            continue;
        }
        bool carried = f->need <= loop->cfg.carry_size;
        if (f->have == 0) {
            if (carried && !f->carry) {
                f->carry = malloc(loop->cfg.carry_size);
                if (!f->carry) {
                    loop_conn_fail(loop, s, ERGO_LOOP_E_NOMEM);
                    return false;
                }
            } else if (!carried) {
                f->big = malloc(f->need);
                if (!f->big) {
                    loop_conn_fail(loop, s, ERGO_LOOP_E_NOMEM);
                    return false;
                }
            }
        }
        uint8_t *buf = carried ? f->carry : f->big;
        size_t take = f->need - f->have < n ? f->need - f->have : n;
        memcpy(buf + f->have, data, take);
        f->have += take;
        data += take;
        n -= take;
        if (f->have < f->need)
            return true;
        size_t len = f->need;
        f->big = NULL; /* owned here until the callback returns */
        loop_framer_reset(f);
        if (carried) {
            loop->stats.carried_packets++;
            if (!deliver(loop, s, buf, len))
                return false;
        } else {
            loop->stats.large_packets++;
            bool open = deliver(loop, s, buf, len);
            free(buf);
            if (!open)
                return false;
        }
    }
    return s->state == SLOT_OPEN;
}
