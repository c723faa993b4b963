#!/usr/bin/env bash
# Installs the Debian packages Perturb needs, only those that are missing, so a second run is quick.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config python3 zlib1g-dev libreadline-dev
  libtorch-dev antlr4 libantlr4-runtime-dev libopencv-dev libspdlog-dev catch2
  dataset-fashion-mnist tmux libboost-math-dev wordnet-base
  libopenblas0-openmp libgloo-dev nlohmann-json3-dev xeus-dev
)
# `make sanitize` and `make fuzz` (setup.sh --hardening): clang with its sanitizer and libFuzzer
# runtimes.
if [ "${1:-}" = "--hardening" ]; then
  packages+=(clang libclang-rt-14-dev)
fi
# nlohmann-json3-dev: the JSON reader and writer (captions files, save(..., "x.json"), reports).
# libopenblas0-openmp: OpenBLAS in place of Debian's reference BLAS (through the alternatives
# system), built on OpenMP so it shares LibTorch's threads; 1.5-3x faster training, attacks and
# certification here (README, "Threads, BLAS and memory"; bench/results/blas.md).
# xeus-dev: the Jupyter kernel protocol (with ZeroMQ) behind `perturb kernel` (docs/notebook.md).
# libgloo-dev: the headers of Gloo, which Debian's LibTorch has inside for c10d's
# ProcessGroupGloo (runtime/distributed); the library itself comes with libtorch.
# Optional: the editor tests (tests/editors) use Node.js (VS Code's highlighting engine and
# language client), Vim and Neovim (its LSP client), the data tests Debian's python3-numpy,
# python3-torch and python3-pandas, the kernel test (tests/kernel) python3-jupyter-client and
# python3-ipykernel; installed where apt can, else those tests are skipped with a message.
# Emacs (emacs-nox) is tested when present but not installed here (large).
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done
missing_optional=()
command -v node >/dev/null && command -v npm >/dev/null || missing_optional+=(nodejs npm)
command -v vim >/dev/null || missing_optional+=(vim)
command -v nvim >/dev/null || missing_optional+=(neovim)
# The oracles of the data tests (tests/data: NumPy, PyTorch and pandas read what Perturb writes,
# and write what it reads); each test skips where its module is missing.
for p in python3-numpy python3-torch python3-pandas python3-jupyter-client python3-ipykernel; do
  installed "$p" || missing_optional+=("$p")
done
if [ ${#missing[@]} -eq 0 ] && [ ${#missing_optional[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if [ ${#missing_optional[@]} -gt 0 ]; then
  echo "setup: installing ${missing_optional[*]} for the editor, data and kernel tests (optional)"
  { $SUDO apt-get update -q && $SUDO apt-get install -y -q --no-install-recommends "${missing_optional[@]}"; } ||
    echo "setup: could not install ${missing_optional[*]}; the tests that need them are skipped"
fi
