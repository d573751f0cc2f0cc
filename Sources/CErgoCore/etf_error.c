/* etf_error.c — names of the codec's error codes. */
#include "ergo_etf.h"

const char *ergo_etf_strerror(int code)
{
    switch (code) {
    case ERGO_ETF_OK: return "ok";
    case ERGO_ETF_E_TRUNCATED: return "truncated input";
    case ERGO_ETF_E_VERSION: return "bad version byte (expected 131)";
    case ERGO_ETF_E_TAG: return "unknown tag";
    case ERGO_ETF_E_DEPTH: return "nesting too deep";
    case ERGO_ETF_E_LIMIT: return "size limit exceeded";
    case ERGO_ETF_E_ATOM_LENGTH: return "atom too long";
    case ERGO_ETF_E_UTF8: return "invalid UTF-8 in atom";
    case ERGO_ETF_E_ATOM_CACHE: return "atom cache reference not allowed";
    case ERGO_ETF_E_COMPRESSED: return "corrupt compressed term";
    case ERGO_ETF_E_BOMB: return "compressed term inflates past the limit";
    case ERGO_ETF_E_LOCAL: return "LOCAL_EXT refused (node-local term)";
    case ERGO_ETF_E_NOMEM: return "out of memory";
    case ERGO_ETF_E_TRAILING: return "trailing bytes after term";
    case ERGO_ETF_E_VALUE: return "invalid field value";
    case ERGO_ETF_E_UNSUPPORTED: return "unsupported (obsolete) form";
    case ERGO_ETF_E_ARG: return "encoder argument out of range";
    default: return "unknown error";
    }
}
