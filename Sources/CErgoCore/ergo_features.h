/*
 * ergo_features.h — compile-time feature detection for the C core, in one
 * place. Every ERGO_HAVE_* is 0 or 1. Private to the core (not installed).
 */
#ifndef ERGO_FEATURES_H
#define ERGO_FEATURES_H

#if defined(__has_include)
#  if __has_include(<zlib.h>)
#    define ERGO_HAVE_ZLIB 1
#  endif
#  if __has_include(<liburing.h>)
#    define ERGO_HAVE_LIBURING 1
#  endif
#  if __has_include(<openssl/ssl.h>)
#    define ERGO_HAVE_OPENSSL 1
#  endif
#endif

#ifndef ERGO_HAVE_ZLIB
#  define ERGO_HAVE_ZLIB 0
#endif
#ifndef ERGO_HAVE_LIBURING
#  define ERGO_HAVE_LIBURING 0
#endif
#ifndef ERGO_HAVE_OPENSSL
#  define ERGO_HAVE_OPENSSL 0
#endif

#endif
