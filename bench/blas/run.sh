#!/usr/bin/env bash
# Debian's reference BLAS against OpenBLAS (pthread and OpenMP builds) under LibTorch, on three
# workloads: PGD-20 on 1000 images (bench/pgd_builtin.ptb), one training epoch
# (bench/blas/train_epoch.ptb) and randomized-smoothing certification (bench/blas/certify.ptb).
# Every configuration runs in the same loop, interleaved, so all see the same load; each row
# reports medians and the ratio to the reference BLAS at the same thread count.
#
# The OpenBLAS builds are not installed for this: `apt-get download` fetches the Debian
# packages into $BLAS_DIR and dpkg -x unpacks them there; LD_LIBRARY_PATH puts their
# libblas.so.3 first, which is what Debian's alternatives do system-wide once installed.
#
# Usage: bash bench/blas/run.sh     Environment: RUNS=3, THREADS="1 2", BUILD_DIR=build,
#        BLAS_DIR=/tmp/perturb-blas, RESULTS=bench/results/blas.md ("-" to skip writing)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
RUNS="${RUNS:-3}"
THREADS="${THREADS:-1 2}"
BUILD_DIR="${BUILD_DIR:-build}"
BLAS_DIR="${BLAS_DIR:-/tmp/perturb-blas}"
RESULTS="${RESULTS:-bench/results/blas.md}"
PERTURB="$BUILD_DIR/perturb"
[[ -x "$PERTURB" ]] || { echo "run.sh: $PERTURB not found; run 'make build' first" >&2; exit 1; }

lib="usr/lib/x86_64-linux-gnu"
mkdir -p "$BLAS_DIR"
for flavour in pthread openmp; do
  if [[ ! -e "$BLAS_DIR/$flavour/$lib/openblas-$flavour/libblas.so.3" ]]; then
    (cd "$BLAS_DIR" && apt-get download "libopenblas0-$flavour" >/dev/null 2>&1)
    dpkg -x "$BLAS_DIR"/libopenblas0-"$flavour"_*.deb "$BLAS_DIR/$flavour"
  fi
done

# name → environment prefix
configs=(reference openblas-pthread openblas-pthread-own openblas-openmp)
declare -A env_of=(
  [reference]=""
  [openblas-pthread]="LD_LIBRARY_PATH=$BLAS_DIR/pthread/$lib/openblas-pthread"
  [openblas-pthread-own]="LD_LIBRARY_PATH=$BLAS_DIR/pthread/$lib/openblas-pthread OPENBLAS_NUM_THREADS=THREADS"
  [openblas-openmp]="LD_LIBRARY_PATH=$BLAS_DIR/openmp/$lib/openblas-openmp"
)
workloads=(bench/pgd_builtin.ptb bench/blas/train_epoch.ptb bench/blas/certify.ptb)

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
for ((r = 1; r <= RUNS; r++)); do
  for t in $THREADS; do
    for w in "${workloads[@]}"; do
      for c in "${configs[@]}"; do
        out="$TMP/$(basename "$w" .ptb).$c.$t.$r"
        # shellcheck disable=SC2086
        env ${env_of[$c]//THREADS/$t} PERTURB_THREADS="$t" "$PERTURB" run "$w" --seed 0 >"$out"
        printf '%s threads %s %-20s %s\n' "$(basename "$w")" "$t" "$c" "$(tr '\n' ' ' <"$out")" >&2
      done
    done
  done
done

/usr/bin/python3 - "$TMP" "$RUNS" "$THREADS" "$RESULTS" "$(nproc)" \
  "$(cut -d' ' -f1-3 /proc/loadavg)" "$(git rev-parse --short HEAD 2>/dev/null || echo ?)" <<'PY'
import datetime, glob, os, re, statistics, sys
tmp, runs, threads, results, nproc, load, commit = sys.argv[1:]
configs = ["reference", "openblas-pthread", "openblas-pthread-own", "openblas-openmp"]
workloads = ["pgd_builtin", "train_epoch", "certify"]
def read(path):
    text = open(path).read()
    return (re.search(r"^accuracy: (.*)$", text, re.M).group(1),
            float(re.search(r"^elapsed: (\S+)", text, re.M).group(1)))
lines = [
    "# BLAS under LibTorch: Debian's reference BLAS against OpenBLAS",
    "",
    "Produced by `bash bench/blas/run.sh`; every configuration interleaved in one loop.",
    f"- date: {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC; machine: {nproc} CPUs; commit {commit}",
    f"- runs per cell: {runs}; load average at the end: {load}",
    "- torch threads set by PERTURB_THREADS; openblas-pthread is the pthread build as Perturb sets it",
    "  (one BLAS thread), openblas-pthread-own the same build with OPENBLAS_NUM_THREADS = torch threads",
    "  (its own threads on top of LibTorch's), openblas-openmp the OpenMP build (LibTorch's pool)",
    "- seconds are medians of `elapsed` (measured inside the script around the workload)",
    "",
    "| workload | torch threads | BLAS | accuracy | seconds (median) | all runs | ratio to reference |",
    "| --- | --- | --- | --- | --- | --- | --- |",
]
for w in workloads:
    for t in threads.split():
        base = None
        for c in configs:
            got = [read(p) for p in sorted(glob.glob(f"{tmp}/{w}.{c}.{t}.*"))]
            secs = [s for _, s in got]
            med = statistics.median(secs)
            base = base or med
            lines.append(f"| {w} | {t} | {c} | {got[0][0]} | {med:.2f} | "
                         f"{' '.join(f'{s:.2f}' for s in secs)} | {med / base:.3f} |")
text = "\n".join(lines) + "\n"
print(text)
if results != "-":
    open(results, "w").write(text)
PY
