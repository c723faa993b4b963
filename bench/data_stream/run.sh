#!/usr/bin/env bash
# Streaming an image folder through evaluate against PyTorch's DataLoader: a 50,000-image folder
# of 64×64 JPEGs (make_folder.py, from Fashion-MNIST), decoded, resized to 32 and centre-cropped
# by WORKERS workers on both sides, one intra-op thread each, the same TorchScript CNN
# (model.py), clean accuracy then FGSM (eps 8/255) on the samples still correct. The two
# alternate within each round so they see the same load. Reports median seconds of the loop
# (the scripts' own clocks) and of the whole run, Perturb's over PyTorch's ratio, each side's peak
# RSS (GNU time's maximum resident set size of the main process), and both printed accuracies.
#
# Usage: bash bench/data_stream/run.sh     Environment: RUNS=3, COUNT=50000, WORKERS=2,
#        FOLDER=/tmp/perturb-bench-folder, BUILD_DIR=build, RESULTS=bench/results/data_stream.md
#        ("-" to skip writing). Needs python3-torchvision and python3-pil for the baseline.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
RUNS="${RUNS:-3}"
COUNT="${COUNT:-50000}"
WORKERS="${WORKERS:-2}"
FOLDER="${FOLDER:-/tmp/perturb-bench-folder}"
BUILD_DIR="${BUILD_DIR:-build}"
RESULTS="${RESULTS:-bench/results/data_stream.md}"
PERTURB="$BUILD_DIR/perturb"
PYTHON=/usr/bin/python3
[[ -x "$PERTURB" ]] || { echo "run.sh: $PERTURB not found; run 'make build' first" >&2; exit 1; }
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

"$PYTHON" bench/data_stream/make_folder.py "$FOLDER" "$COUNT"
"$PYTHON" bench/data_stream/model.py "$OUT/model.ts"
cat >"$OUT/evaluate.ptb" <<PTB
let net = load("$OUT/model.ts")
let d = image_folder("$FOLDER", size: 32, workers: $WORKERS, prefetch: 2)
threat linf = Linf(eps: 8 / 255)
let t0 = clock()
let r = evaluate(net, d, attacks: [FGSM(linf)], batch: 256)
let elapsed = clock() - t0
print("clean " + str(r.clean) + " robust " + str(r.robust) + " samples " + str(r.samples))
print("elapsed: " + str(elapsed))
PTB

for ((run = 1; run <= RUNS; run++)); do
  for side in perturb pytorch; do
    if [[ $side == perturb ]]; then
      command=(env PERTURB_THREADS=1 "$PERTURB" run "$OUT/evaluate.ptb")
    else
      command=("$PYTHON" bench/data_stream/baseline.py "$FOLDER" "$OUT/model.ts" "$WORKERS" 1)
    fi
    /usr/bin/time -f "%M %e" -o "$OUT/time" "${command[@]}" >"$OUT/run.out"
    read -r rss whole <"$OUT/time"
    echo "$rss" >>"$OUT/$side.rss"
    echo "$whole" >>"$OUT/$side.whole"
    grep '^elapsed: ' "$OUT/run.out" | cut -d' ' -f2 >>"$OUT/$side.elapsed"
    grep -v '^elapsed: ' "$OUT/run.out" >"$OUT/$side.out"
  done
done

{
  echo "| side | loop (s) | whole run (s) | images/s (loop) | peak RSS (MB) | printed |"
  echo "| --- | --- | --- | --- | --- | --- |"
  for side in perturb pytorch; do
    e=$(median <"$OUT/$side.elapsed")
    w=$(median <"$OUT/$side.whole")
    rss=$(sort -g "$OUT/$side.rss" | tail -1)
    printf "| %s | %.2f | %.2f | %.0f | %.0f | %s |\n" "$side" "$e" "$w" \
      "$(echo "$COUNT / $e" | bc -l)" "$(echo "$rss / 1024" | bc -l)" "$(tr '\n' ' ' <"$OUT/$side.out")"
  done
  pe=$(median <"$OUT/perturb.elapsed")
  te=$(median <"$OUT/pytorch.elapsed")
  echo
  printf "Perturb / PyTorch, loop: %.2fx the time (medians of %d runs, %d images, %d workers).\n" \
    "$(echo "$pe / $te" | bc -l)" "$RUNS" "$COUNT" "$WORKERS"
  echo "Peak RSS is the largest of the runs, of the main process (PyTorch's DataLoader workers are"
  echo "processes of their own, not counted). Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
} | tee "$OUT/table.md"

if [[ "$RESULTS" != "-" ]]; then
  {
    echo "# Streaming an image folder: evaluate against a PyTorch DataLoader ($(date -u +%Y-%m-%d), $(nproc) cores)"
    echo
    echo "\`bash bench/data_stream/run.sh\` at commit $(git rev-parse --short HEAD)."
    echo
    cat "$OUT/table.md"
  } >"$RESULTS"
fi
