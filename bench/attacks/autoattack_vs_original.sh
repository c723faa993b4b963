#!/bin/bash
# Perturb's std.autoattack against the ORIGINAL AutoAttack (fra31/auto-attack), started together
# so both see the same load, one thread each, same model (tests/conformance/fmnist_at_cnn.ts),
# same first N Fashion-MNIST test images, Linf eps 0.1, version "standard".
#
# usage (repository root): bench/attacks/autoattack_vs_original.sh [N]   (default 200)
#   PERTURB=path/to/perturb (default build/perturb)
#   AUTOATTACK_DIR=folder holding the original's `autoattack` package (default /work/aa-original;
#     e.g. `git archive` of a fra31/auto-attack clone)
# Needs Debian's python3-torch and python3-numpy for the original. Prints both outputs, the load
# average before and after, and the ratios Perturb / original of wall and CPU seconds.
set -euo pipefail
N=${1:-200}
PERTURB=${PERTURB:-build/perturb}
AUTOATTACK_DIR=${AUTOATTACK_DIR:-/work/aa-original}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
sed "s/limit: 200/limit: $N/" bench/attacks/autoattack_vs_original.ptb >"$out/aa.ptb"
echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), N=$N, $(git rev-parse --short HEAD 2>/dev/null || true)"
echo "before: $(uptime)"
fmt='%e %U %S'
(OMP_NUM_THREADS=1 /usr/bin/time -f "$fmt" -o "$out/perturb.time" \
  "$PERTURB" run "$out/aa.ptb" >"$out/perturb.txt" 2>&1) &
p1=$!
(OMP_NUM_THREADS=1 /usr/bin/time -f "$fmt" -o "$out/original.time" \
  /usr/bin/python3 bench/attacks/autoattack_original.py "$N" --autoattack-dir "$AUTOATTACK_DIR" \
  >"$out/original.txt" 2>&1) &
p2=$!
wait "$p1" "$p2"
echo "after: $(uptime)"
echo "---- perturb"
cat "$out/perturb.txt"
echo "---- original"
grep -v -i "warning\|warn(" "$out/original.txt" || true
read -r pw pu ps <"$out/perturb.time"
read -r ow ou os <"$out/original.time"
python3 - "$pw" "$pu" "$ps" "$ow" "$ou" "$os" <<'PY'
import sys
pw, pu, ps, ow, ou, os_ = map(float, sys.argv[1:])
print(f"perturb:  wall {pw:.1f} s, cpu {pu + ps:.1f} s")
print(f"original: wall {ow:.1f} s, cpu {ou + os_:.1f} s")
print(f"ratio perturb/original: wall {pw / ow:.2f}, cpu {(pu + ps) / (ou + os_):.2f}")
PY
