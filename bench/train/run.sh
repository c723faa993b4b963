#!/usr/bin/env bash
# Training-loop benchmark: epoch time of Perturb's train() against a plain-PyTorch loop
# (Debian's /usr/bin/python3 with python3-torch) with the same model (small_cnn), data (first N
# Fashion-MNIST training images), batch 128, SGD(0.05, momentum 0.9) and method.
#
# Usage (from anywhere, after `make build`):  bash bench/train/run.sh
# Environment:
#   METHODS="standard madry fast trades"   methods to time
#   N=5000 EPOCHS=2 RUNS=3                  images, epochs per run, runs (interleaved)
#   THREADS=2                               torch threads on both sides
#   BUILD_DIR=build  PERTURB=$BUILD_DIR/perturb (a private copy keeps rebuilds out)
#   RESULTS=bench/train/results.md ("-" to skip writing)
#
# Epoch time is measured inside each process around one epoch (shuffle + all batches), from
# Perturb's CSV log (`seconds` column; no validation set, so nothing else is in it) and from the
# Python loop's own perf_counter. The table shows medians over all epochs of all runs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
METHODS="${METHODS:-standard madry fast trades}"
N="${N:-5000}"
EPOCHS="${EPOCHS:-2}"
RUNS="${RUNS:-3}"
THREADS="${THREADS:-2}"
BUILD_DIR="${BUILD_DIR:-build}"
RESULTS="${RESULTS:-bench/train/results.md}"
PERTURB="${PERTURB:-$BUILD_DIR/perturb}"
export OMP_NUM_THREADS="$THREADS" MKL_NUM_THREADS="$THREADS"

[[ -x "$PERTURB" ]] || { echo "run.sh: $PERTURB not found; run 'make build' first" >&2; exit 1; }
/usr/bin/python3 -c "import torch" 2>/dev/null || {
  echo "run.sh: /usr/bin/python3 has no torch; apt-get install -y python3-torch" >&2; exit 1; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

for ((r = 1; r <= RUNS; r++)); do
  for m in $METHODS; do
    script="$TMP/$m.$r.ptb"
    sed -e "s/@METHOD@/$m/" -e "s/@N@/$N/" -e "s/@EPOCHS@/$EPOCHS/" \
        -e "s|@LOG@|$TMP/$m.$r.csv|" bench/train/perturb_train.ptb.in >"$script"
    "$PERTURB" run "$script" --seed 0 >/dev/null
    /usr/bin/python3 bench/train/torch_train.py "$m" "$N" "$EPOCHS" "$THREADS" >"$TMP/$m.$r.py"
    printf 'run %d %-8s perturb %s | pytorch %s\n' "$r" "$m" \
      "$(tail -n +2 "$TMP/$m.$r.csv" | cut -d, -f7 | tr '\n' ' ')" \
      "$(awk '{print $4}' "$TMP/$m.$r.py" | tr '\n' ' ')" >&2
  done
done

cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
/usr/bin/python3 - "$TMP" "$RUNS" "$THREADS" "$N" "$EPOCHS" "$METHODS" "$cpu" \
  "$(cut -d' ' -f1-3 /proc/loadavg)" "$(git rev-parse --short HEAD 2>/dev/null || echo ?)" \
  "$RESULTS" <<'PY'
import datetime, glob, statistics, sys
tmp, runs, threads, n, epochs, methods, cpu, load, commit, results = sys.argv[1:]
rows = []
for m in methods.split():
    ours, theirs = [], []
    for path in glob.glob(f"{tmp}/{m}.*.csv"):
        ours += [float(l.split(",")[6]) for l in open(path).read().splitlines()[1:]]
    for path in glob.glob(f"{tmp}/{m}.*.py"):
        theirs += [float(l.split()[3]) for l in open(path)]
    a, b = statistics.median(ours), statistics.median(theirs)
    rows.append(f"| {m} | {a:.2f} | {b:.2f} | {a / b:.3f} | {min(ours):.2f}–{max(ours):.2f} | "
                f"{min(theirs):.2f}–{max(theirs):.2f} |")
table = "\n".join(
    ["| method | Perturb s/epoch | PyTorch s/epoch | ratio | Perturb range | PyTorch range |",
     "|---|---|---|---|---|---|"] + rows)
text = f"""# Training loop: Perturb vs plain PyTorch

`bash bench/train/run.sh` — {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC, commit {commit}.
zoo.small_cnn, first {n} Fashion-MNIST training images, batch 128, SGD(lr 0.05, momentum 0.9),
{epochs} epochs × {runs} interleaved runs per side, {threads} torch threads on both sides, medians
over all epochs. madry: PGD-7 (step 0.035, eps 0.1, random start); fast: FGSM-RS (step 0.125);
trades: 7 KL steps, beta 6. CPU: {cpu}; load average at the end: {load} (the machine is shared).

{table}
"""
print(text)
if results != "-":
    open(results, "w").write(text)
PY
