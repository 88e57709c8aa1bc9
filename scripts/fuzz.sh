#!/usr/bin/env bash
# Random fuzzing, for longer than the test command does: every target (or
# those named) for FUZZ_SECONDS each with a random seed, JOBS at a time.
# The corpus grows in fuzz/corpus/<target> (not committed). A crash is
# copied to fuzz/regressions/<target>/, where the test suite replays it
# from then on; fix it, then commit the input with the fix.
#
#   ./scripts/fuzz.sh                      all targets, 600 s each
#   FUZZ_SECONDS=3600 ./scripts/fuzz.sh listing command
#   JOBS=2 ./scripts/fuzz.sh               two targets at once
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-600}
JOBS=${JOBS:-1}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz list)
# Build once, before the runs share the machine.
(cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz build)

fuzz_one() {
  local target=$1 log="target/fuzz-long-$1.log" artifacts="target/fuzz-artifacts/$1/"
  mkdir -p "fuzz/corpus/$target" "$artifacts"
  if RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "fuzz/corpus/$target" "fuzz/regressions/$target" \
      -- -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$artifacts" > "$log" 2>&1; then
    echo "fuzz $target: ok, $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs in ${FUZZ_SECONDS}s"
  else
    echo "fuzz $target: FAILED (log: $log)"
    for crash in "$artifacts"*; do
      [ -f "$crash" ] || continue
      cp "$crash" "fuzz/regressions/$target/$(basename "$crash")"
      echo "  new regression input: fuzz/regressions/$target/$(basename "$crash")"
    done
    return 1
  fi
}

failed=0
running=0
for target in "${targets[@]}"; do
  fuzz_one "$target" &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then
    wait -n || failed=$((failed + 1))
    running=$((running - 1))
  fi
done
while [ "$running" -gt 0 ]; do
  wait -n || failed=$((failed + 1))
  running=$((running - 1))
done
echo "fuzz: ${#targets[@]} targets, $failed failed"
[ "$failed" -eq 0 ]
