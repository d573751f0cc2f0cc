/*
 * ergo_core.h — umbrella header of Ergo's C core (libergocore).
 * Symbols are prefixed by area: ergo_etf_* (term codec), ergo_loop_*
 * (event loop), and later ergo_dist_* (distribution framing), ergo_tls_*.
 */
#ifndef ERGO_CORE_H
#define ERGO_CORE_H

#include "ergo_etf.h"
#include "ergo_loop.h"

#endif
