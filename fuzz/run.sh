#!/bin/sh
# Run every libFuzzer target built in BUILD_DIR for SECONDS each.
#   fuzz/run.sh BUILD_DIR SECONDS
# Seeds come from fuzz/corpus/<target>/ (committed, read only); what the
# fuzzer finds goes to BUILD_DIR/fuzz-corpus/<target>/, crashes to
# BUILD_DIR/fuzz-artifacts/. Exits non-zero if any target fails.
set -u
if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
BUILD=$(cd "$1" && pwd) || exit 2
SECONDS_EACH=$2
HERE=$(cd "$(dirname "$0")" && pwd)
ARTIFACTS="$BUILD/fuzz-artifacts"
mkdir -p "$ARTIFACTS"

targets=$(find "$BUILD/fuzz" -maxdepth 1 -type f -perm -u+x -name 'fuzz_*' 2>/dev/null | sort)
if [ -z "$targets" ]; then
  echo "fuzz: no fuzz_* targets under $BUILD (configure with -DERGO_FUZZ=ON)" >&2
  exit 1
fi

status=0
for exe in $targets; do
  name=$(basename "$exe")
  seeds="$HERE/corpus/$name"
  scratch="$BUILD/fuzz-corpus/$name"
  mkdir -p "$scratch"
  dirs="$scratch"
  [ -d "$seeds" ] && dirs="$scratch $seeds"
  echo "fuzz: $name for ${SECONDS_EACH}s"
  # shellcheck disable=SC2086
  if ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
     "$exe" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
            -print_final_stats=1 -artifact_prefix="$ARTIFACTS/$name-" $dirs \
            > "$BUILD/fuzz-$name.log" 2>&1; then
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)|Done [0-9]+ runs' "$BUILD/fuzz-$name.log" | sed "s/^/fuzz: $name: /"
  else
    status=1
    echo "fuzz: $name FAILED; last lines of $BUILD/fuzz-$name.log:" >&2
    tail -n 40 "$BUILD/fuzz-$name.log" >&2
    ls "$ARTIFACTS" | grep "^$name-" | sed "s|^|fuzz: artifact $ARTIFACTS/|" >&2
  fi
done
exit $status
