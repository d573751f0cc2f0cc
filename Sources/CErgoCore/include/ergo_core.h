/*
 * ergo_core.h — umbrella header of Ergo's C core (libergocore).
 * Symbols are prefixed by area: ergo_etf_* (term codec), ergo_dist_*
 * (distribution codecs: EPMD, handshake, header, fragments), ergo_loop_*
 * (event loop), and later ergo_tls_*.
 */
#ifndef ERGO_CORE_H
#define ERGO_CORE_H

#include "ergo_etf.h"
#include "ergo_dist.h"
#include "ergo_loop.h"

#endif
