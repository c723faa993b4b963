#!/usr/bin/env bash
# Peak memory of evaluate against the number of images: the same evaluate (clean, FGSM,
# PGD-20) on N = 1000 and 10000 Fashion-MNIST test images (more come from the training split),
# batch 256 and 1000, with Perturb's malloc settings and with glibc's (PERTURB_MALLOC=system);
# peak resident set size from /usr/bin/time -v. The attacks' working set is one batch, so the
# peak should grow with the batch and with N only by the data itself (N x 784 floats, 31 MB at
# 10000) and what malloc keeps for reuse (at most 256 MiB free with Perturb's settings).
#
# Usage: bash bench/memory/run.sh     Environment: BUILD_DIR=build, NS="1000 10000",
#        BATCHES="256 1000", MALLOCS="perturb system", THREADS (default every usable core)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
PERTURB="${BUILD_DIR:-build}/perturb"
[[ -x "$PERTURB" ]] || { echo "run.sh: $PERTURB not found; run 'make build' first" >&2; exit 1; }
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
threads=()
[[ -n "${THREADS:-}" ]] && threads=(--threads "$THREADS")
echo "| malloc | images | batch | robust | seconds | peak RSS MiB |"
echo "| --- | --- | --- | --- | --- | --- |"
for malloc in ${MALLOCS:-perturb system}; do
for batch in ${BATCHES:-256 1000}; do
  for n in ${NS:-1000 10000}; do
    script="$TMP/evaluate_${n}_${batch}.ptb"
    split=test
    ((n > 10000)) && split=train  # the test split has 10000 images
    sed -e "s/@N@/$n/g" -e "s/@BATCH@/$batch/g" -e "s/@SPLIT@/$split/g" \
      bench/memory/evaluate.ptb.in >"$script"
    PERTURB_MALLOC="$malloc" /usr/bin/time -v -o "$TMP/time" "$PERTURB" run "$script" \
      "${threads[@]}" >"$TMP/out"
    robust="$(sed -n 's/^robust: //p' "$TMP/out")"
    seconds="$(sed -n 's/^elapsed: //p' "$TMP/out")"
    kb="$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$TMP/time")"
    echo "| $malloc | $n | $batch | $robust | $seconds | $((kb / 1024)) |"
  done
done
done
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); commit $(git rev-parse --short HEAD)"
