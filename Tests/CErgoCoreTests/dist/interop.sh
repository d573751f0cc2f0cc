#!/bin/sh
# Run interop.c against a real Erlang node (see its header). Needs erl,
# epmd, cc and a CMake build of the core (default build/c).
#   Tests/CErgoCoreTests/dist/interop.sh [BUILD_DIR [CAPTURE_DIR]]
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
BUILD=${1:-$ROOT/build/c}
PORT=14380
HOST=$(hostname -s)
TMP=$(mktemp -d)
cc -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -I"$ROOT/Sources/CErgoCore/include" \
   "$HERE/interop.c" "$BUILD/libergocore.a" $(pkg-config --libs zlib liburing openssl) -o "$TMP/interop"
epmd -port $PORT & EPMD=$!
sleep 0.5
ERL_EPMD_PORT=$PORT erl -noshell -sname target -setcookie interop -eval '
    register(echo, self()),
    Loop = fun L() -> receive {From, Msg} -> From ! {echo, Msg}, L() end end,
    Loop().' & ERL=$!
sleep 2
status=0
"$TMP/interop" $PORT "$HOST" interop ${2:-} || status=$?
kill $ERL 2>/dev/null || true
kill $EPMD 2>/dev/null || true
wait 2>/dev/null || true
rm -rf "$TMP"
exit $status
