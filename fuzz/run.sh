#!/usr/bin/env bash
# Runs the libFuzzer targets (docs/hardening.md).
#   fuzz/run.sh BUILD_DIR SECONDS [TARGET...]
# BUILD_DIR was configured with -DPERTURB_FUZZ=ON (clang). Each target starts from a corpus of
# every script in tests/ and examples/ (kept in BUILD_DIR/fuzz/corpus/TARGET, growing between
# runs) with the grammar's token dictionary; inputs slower than 5 s count as hangs, above 2 GB as
# memory blow-ups; with FUZZ_RUNS=N, a target stops after N inputs drawn from a fixed seed (CI).
# Findings land in BUILD_DIR/fuzz/findings/TARGET; each becomes a file in
# tests/fuzz_regressions/ (replayed by `make test`). Exit status: non-zero when one target found
# something.
set -euo pipefail
build=${1:?usage: fuzz/run.sh BUILD_DIR SECONDS [TARGET...]}
seconds=${2:?usage: fuzz/run.sh BUILD_DIR SECONDS [TARGET...]}
shift 2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_parse fuzz_check fuzz_eval)
root=$(cd "$(dirname "$0")/.." && pwd)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
for target in "${targets[@]}"; do
  corpus=$build/fuzz/corpus/$target
  findings=$build/fuzz/findings/$target
  mkdir -p "$corpus" "$findings"
  if [ -z "$(ls -A "$corpus")" ]; then
    find "$root/tests" "$root/examples" "$root/stdlib" -name '*.ptb' -size -64k |
      while read -r script; do cp "$script" "$corpus/$(echo "$script" | md5sum | cut -c1-16).ptb"; done
  fi
  echo "== $target: ${seconds} s, corpus $(ls "$corpus" | wc -l) inputs"
  runs=()
  [ -z "${FUZZ_RUNS:-}" ] || runs=(-runs="$FUZZ_RUNS" -seed=1)
  log=$build/fuzz/$target.log
  : >"$log"
  # libFuzzer stops at its first finding: start it again on the grown corpus until the time is up.
  deadline=$((SECONDS + seconds))
  while [ $((deadline - SECONDS)) -gt 0 ]; do
    started=$SECONDS
    if ! "$build/fuzz/$target" "$corpus" -dict="$build/fuzz/perturb.dict" "${runs[@]}" \
        -max_total_time=$((deadline - SECONDS)) -timeout=5 -rss_limit_mb=2048 \
        -artifact_prefix="$findings/" -print_final_stats=1 2>>"$log"; then
      status=1
    fi
    [ -z "${FUZZ_RUNS:-}" ] || break
    [ $((SECONDS - started)) -ge 2 ] || break  # it stops at once: a finding in the corpus itself
  done
  [ -z "$(ls -A "$findings")" ] || echo "$target found: $(ls "$findings" | tr '\n' ' ')"
  awk '/^stat::number_of_executed_units/ {n += $NF} /^stat::peak_rss_mb/ {if ($NF > r) r = $NF}
           END {printf "executions: %d, peak RSS: %d MB\n", n, r}' "$log"
  grep -E "cov: [0-9]+" -o "$log" | tail -1 || true
done
exit $status
