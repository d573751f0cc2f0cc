#!/usr/bin/env bash
# Peer figures beside Ergo's: runs the shared anchors for the same workloads
# (Erlang/OTP for B1..B9, erl_interface "ei" for B8), then prints a summary of
# ratios as '#' lines: for B8 ergo-c against ei and ergo-swift against Erlang;
# for B1..B7, B9 and B10 (against Erlang's B3) ergo-swift against Erlang
# (ergo-swift / erlang, and for
# B9 spawn-mem erlang / ergo-swift, so that > 1 always means Ergo is better).
#
# Usage: bench/compare.sh SHARED_DIR [B<k> ...]   (no workload: all implemented)
# `make bench-compare` runs bench/run.sh first, then this; Ergo's figures are
# read from build/bench/last-run.txt (this script runs bench/run.sh itself when
# that file is missing, older than an hour, or lacks a selected workload).
# SHARED_DIR is only read: the anchor scripts build into $TMPDIR.
set -u -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build/bench
OURS=$BUILD/last-run.txt
LOG=$BUILD/compare.log

if [ $# -lt 1 ] || [ ! -d "$1" ]; then
    echo "usage: bench/compare.sh SHARED_DIR [B<k> ...]" >&2
    exit 2
fi
SHARED=$(cd "$1" && pwd)
shift
mkdir -p "$BUILD"
: >"$LOG"

. "$ROOT/bench/selection.sh"

select_workloads "bench/compare.sh SHARED_DIR [B<k> ...]" "$@"
[ -n "$SEL" ] || SEL=" $("$ROOT/bench/run.sh" --list)"

PEERS=$(mktemp "${TMPDIR:-/tmp}/ergo-compare.XXXXXX")
trap 'rm -f "$PEERS"' EXIT

# ---- Ergo's figures: from the run just made, or a fresh one ----------------
fresh=1
if [ ! -f "$OURS" ] || [ -n "$(find "$OURS" -mmin +60 2>/dev/null)" ]; then
    fresh=0
else
    for id in $SEL; do
        if has "$("$ROOT/bench/run.sh" --list)" "$id" && ! grep -q "^$id " "$OURS"; then fresh=0; fi
    done
fi
if [ $fresh = 0 ]; then
    # shellcheck disable=SC2086
    "$ROOT/bench/run.sh" $SEL
else
    echo "# ergo figures: build/bench/last-run.txt, written $(date -u -r "$OURS" '+%Y-%m-%d %H:%M:%S UTC')"
fi

# ---- Erlang/OTP (B1..B9) ----------------------------------------------------
ERL_SEL=""
for id in $SEL; do
    case $id in B[1-9]) ERL_SEL="$ERL_SEL $id" ;; esac
done
# B10 (Swift and erl nodes calling each other) stands beside Erlang's B3.
if has "$SEL" B10 && ! has "$ERL_SEL" B3; then ERL_SEL="$ERL_SEL B3"; fi
if [ -n "$ERL_SEL" ]; then
    echo "# erlang anchor: $SHARED/anchors/erlang/run.sh$ERL_SEL"
    # shellcheck disable=SC2086
    if ! "$SHARED/anchors/erlang/run.sh" $ERL_SEL 2>>"$LOG" | tee -a "$PEERS"; then
        for id in $ERL_SEL; do echo "$id - erlang FAILED anchors/erlang/run.sh failed (see build/bench/compare.log)"; done
    fi
fi

# ---- erl_interface (B8) -----------------------------------------------------
if has "$SEL" B8; then
    echo "# ei anchor: $SHARED/anchors/ei/run.sh ${ERGO_BENCH_FILES:-}"
    # shellcheck disable=SC2086
    if ! "$SHARED/anchors/ei/run.sh" ${ERGO_BENCH_FILES:-} 2>>"$LOG" | tee -a "$PEERS"; then
        echo "B8 etf-codec ei FAILED anchors/ei/run.sh failed (see build/bench/compare.log)"
    fi
fi

# ---- summary ------------------------------------------------------------------
if has "$SEL" B8; then
    cat "$OURS" "$PEERS" | awk '
        $1 == "B8" && $2 ~ /^etf-codec\// {
            split($2, p, "/"); f = p[2]; op = p[3]; sys = $3
            v[f "/" op "/" sys] = ($4 == "FAILED") ? "FAILED" : $4
            if (!(f in seen)) { seen[f] = 1; order[++n] = f }
            if (sys ~ /^ergo-/) { ours[f] = 1; anyours = 1 }
        }
        function cell(key) { return (key in v) ? v[key] : "-" }
        function ratio(a, b) {
            if (!(a in v) || !(b in v) || v[a] == "FAILED" || v[b] == "FAILED" || v[b] + 0 == 0) return "-"
            return sprintf("%.2fx", v[a] / v[b])
        }
        END {
            if (n == 0) exit
            print "# B8 summary (MB/s, medians; ratio > 1: Ergo is faster; the goal is >= 2x Erlang)"
            printf "# %-9s | %10s %9s %8s | %10s %9s %8s | %10s %9s %8s %9s %8s | %9s %9s %7s\n", \
                "file", "ergo-c", "ei walk", "ratio", "ergo-c", "ei", "ratio", \
                "swift", "erlang", "ratio", "ei tree", "ratio", "swift", "erlang", "ratio"
            printf "# %-9s | %-29s | %-29s | %-48s | %s\n", "", "C decode vs ei decode-walk", \
                "C encode vs ei encode", "Swift decode vs erlang (and ei decode-tree)", "Swift encode vs erlang"
            for (i = 1; i <= n; i++) {
                f = order[i]
                if (anyours && !(f in ours)) continue
                printf "# %-9s | %10s %9s %8s | %10s %9s %8s | %10s %9s %8s %9s %8s | %9s %9s %7s\n", f, \
                    cell(f "/decode/ergo-c"), cell(f "/decode-walk/ei"), ratio(f "/decode/ergo-c", f "/decode-walk/ei"), \
                    cell(f "/encode/ergo-c"), cell(f "/encode/ei"), ratio(f "/encode/ergo-c", f "/encode/ei"), \
                    cell(f "/decode/ergo-swift"), cell(f "/decode/erlang"), ratio(f "/decode/ergo-swift", f "/decode/erlang"), \
                    cell(f "/decode-tree/ei"), ratio(f "/decode/ergo-swift", f "/decode-tree/ei"), \
                    cell(f "/encode/ergo-swift"), cell(f "/encode/erlang"), ratio(f "/encode/ergo-swift", f "/encode/erlang")
            }
        }'
fi

# B1..B7, B9, B10: ergo-swift against Erlang, one line per figure (B10
# against Erlang's B3).
SUMMARY_IDS=""
for id in B1 B2 B3 B4 B5 B6 B7 B9 B10; do has "$SEL" "$id" && SUMMARY_IDS="$SUMMARY_IDS $id"; done
if [ -n "$SUMMARY_IDS" ]; then
    cat "$OURS" "$PEERS" | awk -v ids="$SUMMARY_IDS" '
        BEGIN {
            n = split(ids, want, " ")
            for (i = 1; i <= n; i++) wanted[want[i]] = 1
            # the figures, in order, and whether less is better
            split("B1 local-call-seq;B2 local-call-par;B3 remote-call-seq;B4 remote-call-par;B5 local-send;" \
                  "B6 remote-send;B7 remote-1MB MB/s;B7 remote-1MB calls/s;B9 spawn;B9 spawn-mem;" \
                  "B10 interop-call-to-erlang;B10 interop-call-from-erlang", rows, ";")
            lower["B9 spawn-mem"] = 1
            ref["B10 interop-call-to-erlang"] = "B3 remote-call-seq"
            ref["B10 interop-call-from-erlang"] = "B3 remote-call-seq"
        }
        (($1 in wanted) || $1 == "B3") && ($3 == "ergo-swift" || $3 == "erlang") {
            key = ($1 == "B7") ? $1 " " $2 " " $5 : $1 " " $2
            v[key "/" $3] = ($4 == "FAILED") ? "FAILED" : $4
            if ($4 != "FAILED") unit[key] = $5
        }
        function cell(k) { return (k in v) ? v[k] : "-" }
        END {
            header = 0
            for (i = 1; i in rows; i++) {
                key = rows[i]
                split(key, p, " ")
                if (!(p[1] in wanted)) continue
                if (!header) {
                    print "# summary (medians; ratio > 1: Ergo is better; the goal is >= 2x Erlang; B10 against Erlang'"'"'s B3)"
                    header = 1
                }
                ours = cell(key "/ergo-swift"); theirs = cell(((key in ref) ? ref[key] : key) "/erlang")
                if (ours == "-" || theirs == "-" || ours == "FAILED" || theirs == "FAILED" || ours + 0 == 0 || theirs + 0 == 0) {
                    r = "-"
                } else if (key in lower) {
                    r = sprintf("%.2fx", theirs / ours)
                } else {
                    r = sprintf("%.2fx", ours / theirs)
                }
                how = (key in lower) ? "erlang / ergo-swift, less memory is better" : "ergo-swift / erlang, faster is better"
                if (!(key in unit) && (key in ref) && (ref[key] in unit)) unit[key] = unit[ref[key]]
                printf "# %-28s ergo-swift %10s  erlang %10s  %-14s ratio %6s (%s)\n", \
                    key, ours, theirs, (key in unit) ? unit[key] : "", r, how
            }
        }'
fi
