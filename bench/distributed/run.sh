#!/usr/bin/env bash
# perturb run --nproc 2 against one process, 1 thread each (PERTURB_THREADS=1), on evaluate,
# certify and one training epoch; the two alternate within each round so they see the same load.
# Two figures per program: `elapsed`, which the script measures around the builtin with clock(),
# and the whole run (start-up, data loading and joining the group included). Reports medians,
# the speed-ups, training samples per second, and whether the printed results agree.
#
# Usage: bash bench/distributed/run.sh     Environment: RUNS=5, BUILD_DIR=build,
#        RESULTS=bench/results/distributed.md ("-" to skip writing)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
RUNS="${RUNS:-5}"
BUILD_DIR="${BUILD_DIR:-build}"
RESULTS="${RESULTS:-bench/results/distributed.md}"
PERTURB="$BUILD_DIR/perturb"
[[ -x "$PERTURB" ]] || { echo "run.sh: $PERTURB not found; run 'make build' first" >&2; exit 1; }
export PERTURB_THREADS=1
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

for program in evaluate certify train; do
  for ((run = 1; run <= RUNS; run++)); do
    for procs in 1 2; do
      start=$(date +%s.%N)
      "$PERTURB" run --nproc "$procs" "bench/distributed/$program.ptb" >"$OUT/run.out"
      end=$(date +%s.%N)
      echo "$end - $start" | bc >>"$OUT/$program.$procs.whole"
      grep '^elapsed: ' "$OUT/run.out" | cut -d' ' -f2 >>"$OUT/$program.$procs.elapsed"
      grep -v '^elapsed: ' "$OUT/run.out" >"$OUT/$program.$procs.out"
    done
  done
done

{
  echo "| program | elapsed, 1 process (s) | elapsed, 2 processes (s) | speed-up | whole run, 1 (s) | whole run, 2 (s) | speed-up | results agree |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
  for program in evaluate certify train; do
    e1=$(median <"$OUT/$program.1.elapsed")
    e2=$(median <"$OUT/$program.2.elapsed")
    w1=$(median <"$OUT/$program.1.whole")
    w2=$(median <"$OUT/$program.2.whole")
    agree=$(cmp -s "$OUT/$program.1.out" "$OUT/$program.2.out" && echo yes ||
      echo "no: $(tr '\n' ' ' <"$OUT/$program.1.out")against $(tr '\n' ' ' <"$OUT/$program.2.out")")
    printf "| %s | %.2f | %.2f | %.2fx | %.2f | %.2f | %.2fx | %s |\n" "$program" "$e1" "$e2" \
      "$(echo "$e1 / $e2" | bc -l)" "$w1" "$w2" "$(echo "$w1 / $w2" | bc -l)" "$agree"
    [[ $program == train ]] && train_rates=$(printf "%.0f samples/s on 1 process, %.0f on 2" \
      "$(echo "4096 / $e1" | bc -l)" "$(echo "4096 / $e2" | bc -l)")
  done
  echo
  echo "Training (elapsed): $train_rates."
  echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
} | tee "$OUT/table.md"

if [[ "$RESULTS" != "-" ]]; then
  {
    echo "# perturb run --nproc 2 against one process ($(date -u +%Y-%m-%d), $(nproc) cores, 1 thread each)"
    echo
    echo "Medians of $RUNS runs of \`bash bench/distributed/run.sh\` at commit $(git rev-parse --short HEAD)."
    echo "\"elapsed\" is measured by the script around the builtin (clock()); \"whole run\" adds"
    echo "start-up (each worker loads LibTorch after the launcher), data loading and the rendezvous."
    echo "Training's weights agree within rounding (tests/distributed checks 1e-5 on the outputs), so"
    echo "its printed accuracy may differ by a sample; evaluate and certify agree bit for bit."
    echo
    cat "$OUT/table.md"
  } >"$RESULTS"
fi
