#!/usr/bin/env bash
# Randomized-smoothing sampling speed: noisy samples per second of Perturb's certify() against
# Cohen et al.'s CERTIFY in plain PyTorch (tests/conformance/smoothing/reference.py, Debian's
# /usr/bin/python3 with python3-torch), same TorchScript model, same images, same settings.
#
# Usage (from anywhere, after `make build`):  bash bench/certify/run.sh
# Environment:
#   LIMIT=10 N=10000 N0=100 BATCH=1000 SIGMA=0.25   images and CERTIFY's settings
#   RUNS=3                                          runs of each side, interleaved
#   THREADS=2                                       torch threads of the reference
#   MODEL=tests/conformance/smoothing/fmnist_cnn_noise0.25.ts
#   BUILD_DIR=build  PERTURB=$BUILD_DIR/perturb (a private copy keeps rebuilds out)
#
# Samples per second = (n0 + n) * images / seconds, the seconds summed over the per-image times
# both sides record around CERTIFY (model loading and data reading are outside).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
LIMIT="${LIMIT:-10}"
N="${N:-10000}"
N0="${N0:-100}"
BATCH="${BATCH:-1000}"
SIGMA="${SIGMA:-0.25}"
RUNS="${RUNS:-3}"
THREADS="${THREADS:-2}"
MODEL="${MODEL:-tests/conformance/smoothing/fmnist_cnn_noise0.25.ts}"
BUILD_DIR="${BUILD_DIR:-build}"
PERTURB="${PERTURB:-$BUILD_DIR/perturb}"

[[ -x "$PERTURB" ]] || { echo "run.sh: $PERTURB not found; run 'make build' first" >&2; exit 1; }
/usr/bin/python3 -c "import torch, scipy, statsmodels" 2>/dev/null || {
  echo "run.sh: /usr/bin/python3 needs python3-torch python3-scipy python3-statsmodels" >&2
  exit 1
}

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
cat > "$TMP/bench.ptb" <<PTB
let net = load("$MODEL")
let d = fashion_mnist(split: "test", limit: $LIMIT)
let c = certify(net, d, Smooth(sigma: $SIGMA), n0: $N0, n: $N, alpha: 0.001, batch: $BATCH)
print("perturb", sum(c.samples) / sum(c.time), c.accuracy_at([0, 0.25, 0.5]))
PTB

echo "certify bench: $LIMIT images, n0 $N0, n $N, batch $BATCH, sigma $SIGMA, $RUNS runs"
for ((r = 1; r <= RUNS; r++)); do
  "$PERTURB" run "$TMP/bench.ptb" --seed "$r" | tee -a "$TMP/perturb.txt"
  /usr/bin/python3 tests/conformance/smoothing/reference.py certify "$MODEL" --sigma "$SIGMA" \
    --n0 "$N0" --n "$N" --batch "$BATCH" --limit "$LIMIT" --seed "$r" --threads "$THREADS" \
    --out "$TMP/ref.json" > /dev/null
  /usr/bin/python3 -c "
import json, sys
r = json.load(open('$TMP/ref.json'))
t = sum(row['time'] for row in r['rows'])
print('reference', r['samples'] / t, [r['accuracy_at'][k] for k in ('0', '0.25', '0.5')])
" | tee -a "$TMP/reference.txt"
done
/usr/bin/python3 - "$TMP/perturb.txt" "$TMP/reference.txt" <<'PY'
import statistics, sys
def rates(path):
    return [float(line.split()[1]) for line in open(path)]
p, r = rates(sys.argv[1]), rates(sys.argv[2])
print(f"median noisy samples/s: perturb {statistics.median(p):.0f}, "
      f"reference {statistics.median(r):.0f}, ratio {statistics.median(p) / statistics.median(r):.2f}x")
print("perturb runs:", " ".join(f"{x:.0f}" for x in p))
print("reference runs:", " ".join(f"{x:.0f}" for x in r))
PY
