#!/usr/bin/env bash
# The `ergo term` tool at work: a term encoded to ETF, its bytes, and printed
# back; Erlang reading our bytes (when `erl` is installed); terms Erlang wrote;
# compression; corrupt input reported as an error.
#
# Usage: scripts/demo.sh PATH_TO_ergo      (`make demo` builds it and runs this)
set -euo pipefail

ergo_bin=$(realpath "${1:?usage: scripts/demo.sh PATH_TO_ergo}")
root=$(cd "$(dirname "$0")/.." && pwd)
fixtures=$root/Tests/ErgoTests/Fixtures
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

ergo() { "$ergo_bin" "$@"; }
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
section() { printf '\n%s== %s%s\n' "$bold" "$1" "$plain"; }
# Shows a command line as a user would type it; the caller then runs it.
show() { printf '$ %s\n' "$1"; }
cut_line() { cut -c "1-${1:-110}" | sed -e "s/^\(.\{109\}\).\+/\1…/"; }

term='{order, 1234567890123456789012345678901234567890, [{item, <<"ergo">>, 2, 9.99}, {item, "héllo", -1, -0.0}], #{'"'"'Tags'"'"' => [swift, erlang, '"'"'🚀'"'"'], paid => true}, <<1,2,3:4>>, [a|b]}'

section "1. A term in Erlang syntax, encoded to ETF and printed back"
show "ergo term encode '$term' -o order.etf"
ergo term encode "$term" -o order.etf
echo "(order.etf: $(wc -c < order.etf) bytes)"
show "ergo term bytes --file order.etf"
ergo term bytes --file order.etf
show "ergo term print order.etf"
ergo term print order.etf

section "2. Erlang reads our bytes (erl, OTP $(erl -noshell -eval 'io:put_chars(erlang:system_info(otp_release)), halt().' 2>/dev/null || echo "not installed"))"
if command -v erl > /dev/null; then
    printf '%s.\n' "$term" > order.term
    erl +pc unicode -noshell -eval '
        ok = io:setopts([{encoding, unicode}]),
        {ok, Bytes} = file:read_file("order.etf"),
        {ok, [T]} = file:consult("order.term"),
        io:format("~-55s ~p~n", ["binary_to_term: order.etf decodes to the term (=:=)",
                                 binary_to_term(Bytes) =:= T]),
        io:format("~-55s ~p~n", ["term_to_binary: the term encodes to the same bytes",
                                 term_to_binary(T, [{minor_version, 2}]) =:= Bytes]),
        io:format("Erlang prints order.etf: ~0tp~n", [binary_to_term(Bytes)]),
        halt().'
else
    echo "(erl is not installed: skipped; apt-get install erlang-nox)"
fi

section "3. Terms Erlang wrote (Tests/ErgoTests/Fixtures)"
show "ergo term print rpc.etf        # a gen_server call from node a@127.0.0.1"
ergo term print "$fixtures/rpc.etf"
show "ergo term print nested.etf     # $(wc -c < "$fixtures/nested.etf") bytes; first 110 characters"
ergo term print "$fixtures/nested.etf" | cut_line

section "4. Compression (zlib, as term_to_binary(T, [{compressed, 6}]))"
lines="[$(for i in $(seq 1 200); do printf '{line,%d,<<"ergo for swift">>},' "$i"; done)"
lines="${lines%,}]"
ergo term encode "$lines" -o plain.etf
ergo term encode "$lines" --compressed 6 -o packed.etf
show "ergo term encode '[{line,1,<<\"ergo for swift\">>}, … {line,200,…}]' --compressed 6 -o packed.etf"
echo "(plain: $(wc -c < plain.etf) bytes, compressed: $(wc -c < packed.etf) bytes)"
show "ergo term print packed.etf"
ergo term print packed.etf | cut_line

section "5. Bad input is reported, not crashed on"
head -c 40 order.etf > cut.etf
show "ergo term print cut.etf        # the first 40 bytes of order.etf"
status=0; ergo term print cut.etf 2>&1 || status=$?
echo "(exit status $status)"
show "ergo term encode '{ok, [1,2}'"
status=0; ergo term encode '{ok, [1,2}' 2>&1 || status=$?
echo "(exit status $status)"
