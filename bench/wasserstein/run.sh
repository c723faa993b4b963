#!/usr/bin/env bash
# Wasserstein PGD, Perturb against the reference (locuslab/projected_sinkhorn's own attack):
# same TorchScript model (tests/conformance/fmnist_cnn.ts), same first N Fashion-MNIST test
# images, one thread each, both started together so that they see the same load. Prints both
# lines and the time ratio perturb/reference (target <= 0.5) and the accuracy difference
# (target <= 0.02). Settings: see pgd_wasserstein.ptb and reference.py.
#
# Usage (from anywhere, after building): bash bench/wasserstein/run.sh
# Environment:
#   PS_DIR=...        a checkout of https://github.com/locuslab/projected_sinkhorn; if unset,
#                     extracted from PS_GIT (a git directory of it) into a temporary folder
#   PS_GIT=...        default /work/.mirror/locuslab+projected_sinkhorn/repo/.git
#   BUILD_DIR=build   where perturb is
#   EXTRA_PERTURB=... another perturb binary to run alongside (e.g. the previous version)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
BUILD_DIR="${BUILD_DIR:-build}"
PERTURB="$BUILD_DIR/perturb"
[[ -x "$PERTURB" ]] || { echo "run.sh: $PERTURB not found; build first" >&2; exit 1; }
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
if [[ -z "${PS_DIR:-}" ]]; then
  PS_GIT="${PS_GIT:-/work/.mirror/locuslab+projected_sinkhorn/repo/.git}"
  PS_DIR="$TMP/projected_sinkhorn"
  mkdir -p "$PS_DIR"
  git --git-dir="$PS_GIT" archive HEAD pgd.py projected_sinkhorn | tar -x -C "$PS_DIR"
fi
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "perturb: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- runtime || echo '+dirty'); reference: $(git --git-dir="${PS_GIT:-/dev/null}" rev-parse --short HEAD 2>/dev/null || echo "$PS_DIR")"
/usr/bin/python3 bench/wasserstein/reference.py "$PS_DIR" > "$TMP/ref.txt" 2>&1 &
ref=$!
"$PERTURB" run bench/wasserstein/pgd_wasserstein.ptb > "$TMP/perturb.txt" 2>&1 &
ptb=$!
if [[ -n "${EXTRA_PERTURB:-}" ]]; then
  "$EXTRA_PERTURB" run bench/wasserstein/pgd_wasserstein.ptb > "$TMP/extra.txt" 2>&1 &
  extra=$!
fi
wait $ptb $ref
[[ -n "${EXTRA_PERTURB:-}" ]] && wait $extra && echo "extra ($EXTRA_PERTURB): $(cat "$TMP/extra.txt")"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$TMP/perturb.txt" "$TMP/ref.txt"
python3 - "$TMP/perturb.txt" "$TMP/ref.txt" <<'PY'
import sys
p = open(sys.argv[1]).read().split()
r = open(sys.argv[2]).read().split()
pa, ps = float(p[p.index("accuracy") + 1]), float(p[p.index("seconds") + 1])
ra, rs = float(r[r.index("accuracy") + 1]), float(r[r.index("seconds") + 1])
print(f"time perturb/reference = {ps:.2f}/{rs:.2f} = {ps / rs:.3f} (target <= 0.5); "
      f"accuracy {pa:.2f} vs {ra:.2f}, difference {abs(pa - ra):.2f} (target <= 0.02)")
PY
