/* dist_util.c — names of the distribution codes; the mandatory-flag sets. */
#include <stddef.h>

#include "ergo_dist.h"

#define F(x) ERGO_DIST_DFLAG_##x
_Static_assert(ERGO_DIST_MANDATORY_OTP23 == (F(EXTENDED_REFERENCES) | F(EXTENDED_PIDS_PORTS) |
                                             F(UTF8_ATOMS) | F(NEW_FUN_TAGS) | F(BIG_CREATION)),
               "OTP 23 mandatory flags");
_Static_assert(ERGO_DIST_MANDATORY_OTP24 == ERGO_DIST_MANDATORY_OTP23, "OTP 24 mandatory flags");
_Static_assert(ERGO_DIST_MANDATORY_OTP25 ==
                   (F(EXTENDED_REFERENCES) | F(FUN_TAGS) | F(EXTENDED_PIDS_PORTS) | F(NEW_FUN_TAGS) |
                    F(EXPORT_PTR_TAG) | F(BIT_BINARIES) | F(NEW_FLOATS) | F(UTF8_ATOMS) |
                    F(MAP_TAG) | F(BIG_CREATION) | F(HANDSHAKE_23)),
               "OTP 25 mandatory flags (MANDATORY_DFLAGS_25)");
_Static_assert(ERGO_DIST_MANDATORY_OTP26 == (ERGO_DIST_MANDATORY_OTP25 | F(V4_NC) | F(UNLINK_ID)),
               "OTP 26 mandatory flags");
_Static_assert(ERGO_DIST_MANDATORY_OTP27 == (ERGO_DIST_MANDATORY_OTP26 | F(MANDATORY_25_DIGEST)),
               "OTP 27 mandatory flags");
_Static_assert(ERGO_DIST_MANDATORY_OTP28 == ERGO_DIST_MANDATORY_OTP27, "OTP 28 mandatory flags");
#undef F

/* Layouts Swift reads. */
_Static_assert(sizeof(ergo_dist_atom) == sizeof(void *) + 8, "ergo_dist_atom layout");
_Static_assert(sizeof(ergo_dist_epmd_node) == 2 * sizeof(void *) + 24, "ergo_dist_epmd_node layout");
_Static_assert(offsetof(ergo_dist_header, refs) == 32, "ergo_dist_header layout");
_Static_assert(offsetof(ergo_dist_hs, creation) == 24 + 2 * sizeof(void *) && sizeof(ergo_dist_hs) % 8 == 0,
               "ergo_dist_hs layout");

const char *ergo_dist_strerror(int code)
{
    switch (code) {
    case ERGO_DIST_OK: return "ok";
    case ERGO_DIST_NEED_MORE: return "need more bytes";
    case ERGO_DIST_E_MALFORMED: return "malformed distribution message";
    case ERGO_DIST_E_TAG: return "unknown or unexpected message tag";
    case ERGO_DIST_E_LIMIT: return "distribution limit exceeded";
    case ERGO_DIST_E_NOMEM: return "out of memory";
    case ERGO_DIST_E_ARG: return "argument out of range";
    case ERGO_DIST_E_ATOM_CACHE: return "bad atom cache reference";
    case ERGO_DIST_E_FRAGMENT: return "fragment out of order or unknown sequence";
    case ERGO_DIST_E_DIGEST: return "digest computation failed";
    default: return ergo_etf_strerror(code);
    }
}

uint64_t ergo_dist_mandatory_flags(unsigned otp_release)
{
    switch (otp_release) {
    case 23: return ERGO_DIST_MANDATORY_OTP23;
    case 24: return ERGO_DIST_MANDATORY_OTP24;
    case 25: return ERGO_DIST_MANDATORY_OTP25;
    case 26: return ERGO_DIST_MANDATORY_OTP26;
    case 27: return ERGO_DIST_MANDATORY_OTP27;
    case 28: return ERGO_DIST_MANDATORY_OTP28;
    default: return 0;
    }
}

uint64_t ergo_dist_missing_flags(uint64_t peer_flags, uint64_t required)
{
    if (peer_flags & ERGO_DIST_DFLAG_MANDATORY_25_DIGEST)
        peer_flags |= ERGO_DIST_MANDATORY_OTP25;
    return required & ~peer_flags;
}
