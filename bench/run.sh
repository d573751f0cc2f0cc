#!/usr/bin/env bash
# Ergo's benchmarks (workloads of BENCHMARKS.md): builds the C benchmarks
# (CMake, Release, build/bench) and the Swift ones (bench/swift, swift build
# -c release), runs the selected workloads and prints only the benchmark lines
# ("B<k> <name> <system> <value> <unit> ...") and '#' comments. Build output
# goes to build/bench/build.log; a failed build prints
# "B<k> <name> <system> FAILED <reason>".
#
# Usage: bench/run.sh [B<k> ...]     (no workload: all implemented ones)
#        bench/run.sh --list         (print the implemented workloads)
# Environment: ERGO_BENCH_CORPUS  B8's corpus folder (default Tests/ErgoTests/Fixtures)
#              ERGO_BENCH_FILES   B8's files, space-separated (default: all six)
#              JOBS               build parallelism (default 2)
# The output is also saved to build/bench/last-run.txt (bench/compare.sh reads it).
set -u -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build/bench
SWIFT_PKG=$ROOT/bench/swift
LOG=$BUILD/build.log
OUT=$BUILD/last-run.txt
CORPUS=${ERGO_BENCH_CORPUS:-$ROOT/Tests/ErgoTests/Fixtures}
FILES=${ERGO_BENCH_FILES:-}
JOBS=${JOBS:-2}

# Workloads implemented here, and by which system(s).
IMPLEMENTED="B0 B1 B2 B3 B4 B5 B6 B7 B8 B9 B10"
C_WORKLOADS="B0 B8"
SWIFT_WORKLOADS="B1 B2 B3 B4 B5 B6 B7 B8 B9 B10"

# The line names of each workload (what a FAILED line names).
names_of() {
    case $1 in
    B0) echo "loopback-rtt loopback-bw loop-rtt/epoll loop-bw/epoll loop-rtt/io_uring loop-bw/io_uring" ;;
    B1) echo "local-call-seq" ;;
    B2) echo "local-call-par" ;;
    B3) echo "remote-call-seq" ;;
    B4) echo "remote-call-par" ;;
    B5) echo "local-send" ;;
    B6) echo "remote-send" ;;
    B7) echo "remote-1MB" ;;
    B8) echo "etf-codec" ;;
    B9) echo "spawn spawn-mem" ;;
    B10) echo "interop-call-to-erlang interop-call-from-erlang" ;;
    *) echo "unknown" ;;
    esac
}

. "$ROOT/bench/selection.sh"

# ---- selection ------------------------------------------------------------
if [ "${1:-}" = "--list" ]; then
    echo "$IMPLEMENTED"
    exit 0
fi
select_workloads "bench/run.sh [--list] [B<k> ...]" "$@"
[ -n "$SEL" ] || SEL=" $IMPLEMENTED"
RUN=""
for id in $SEL; do
    if has "$IMPLEMENTED" "$id"; then RUN="$RUN $id"; else echo "bench: $id is not implemented yet" >&2; fi
done

mkdir -p "$BUILD"
: >"$LOG"

main() {
    echo "# ergo bench $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(uname -n), $(nproc) CPUs," \
        "commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (with local changes)'), workloads:$RUN"
    [ -n "$RUN" ] || return 0

    # ---- C benchmarks (one target per workload, so one failing build does
    # not take the others down) ----
    local c_ok=1
    local need_c=""
    for id in $RUN; do has "$C_WORKLOADS" "$id" && need_c="$need_c $id"; done
    if [ -n "$need_c" ]; then
        if ! cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DERGO_BENCH=ON >>"$LOG" 2>&1; then
            c_ok=0
        fi
    fi
    for id in $need_c; do
        local target exe
        case $id in
        B0) target="b0_loopback b0_loop" ;; # plain sockets, then through the event loop
        B8) target=b8_codec ;;
        esac
        exe=$BUILD/bench/c/$target
        # shellcheck disable=SC2086
        if [ $c_ok = 0 ] || ! cmake --build "$BUILD" --target $target -j "$JOBS" >>"$LOG" 2>&1; then
            for n in $(names_of "$id"); do
                echo "$id $n ergo-c FAILED C build of $target failed (see build/bench/build.log)"
            done
            continue
        fi
        local rc=0
        case $id in
        B0) "$BUILD/bench/c/b0_loopback" 2>>"$LOG" || rc=$?
            "$BUILD/bench/c/b0_loop" 2>>"$LOG" || rc=$? ;;
        B8) # shellcheck disable=SC2086
            "$exe" "$CORPUS" $FILES 2>>"$LOG" || rc=$? ;;
        esac
        if [ $rc != 0 ]; then
            for n in $(names_of "$id"); do echo "$id $n ergo-c FAILED $target exited with status $rc"; done
        fi
    done

    # ---- Swift benchmarks ----
    local need_swift=""
    for id in $RUN; do has "$SWIFT_WORKLOADS" "$id" && need_swift="$need_swift $id"; done
    if [ -n "$need_swift" ]; then
        local bin=""
        if swift build -c release -j "$JOBS" --package-path "$SWIFT_PKG" --product ergo-bench >>"$LOG" 2>&1; then
            bin=$(swift build -c release --package-path "$SWIFT_PKG" --show-bin-path 2>>"$LOG")/ergo-bench
        fi
        if [ -z "$bin" ] || [ ! -x "$bin" ]; then
            for id in $need_swift; do
                for n in $(names_of "$id"); do
                    echo "$id $n ergo-swift FAILED swift build of bench/swift failed (see build/bench/build.log)"
                done
            done
        else
            local files_arg=()
            [ -z "$FILES" ] || files_arg=(--files "$(echo $FILES | tr ' ' ',')")
            local rc=0
            # shellcheck disable=SC2086
            "$bin" --corpus "$CORPUS" "${files_arg[@]}" $need_swift 2>>"$LOG" || rc=$?
            if [ $rc != 0 ]; then
                for id in $need_swift; do
                    for n in $(names_of "$id"); do echo "$id $n ergo-swift FAILED ergo-bench exited with status $rc"; done
                done
            fi
        fi
    fi
}

main | tee "$OUT"
