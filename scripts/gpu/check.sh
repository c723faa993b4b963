#!/usr/bin/env bash
# The GPU kit, part 2, run THERE (the device machine: CUDA, CMake, ninja, a compiler, a Python
# torch 2.x with CUDA; no Debian packages, no Java, no network), from the repository root with
# .gpukit/ carried (scripts/gpu/pack.sh made it here). In one go:
#   1. unpacks the kit's Debian packages into a prefix under /tmp (never into /),
#   2. builds perturb against the Python torch's LibTorch (CUDA), without OpenCV and xeus,
#   3. runs the conformance scripts and a golden subset on cpu and cuda and compares them
#      (scripts/gpu/compare_devices.py),
#   4. times the issue's speed table: scripts/gpu/speed.ptb on cuda beside scripts/gpu/speed.py
#      (plain PyTorch, same torch, same GPU), and prints the ratios.
# Everything it prints also goes to $OUT/gpu_check.log when OUT is set (the device tool's folder).
# Usage: bash scripts/gpu/check.sh [build|compare|speed]...   (default: all three)
set -uo pipefail
cd "$(dirname "$0")/../.."
KIT="$PWD/.gpukit"
PREFIX=/tmp/perturb-kit
BUILD=build-gpu
LOG="${OUT:-/tmp}/gpu_check.log"
steps=("$@")
[[ ${#steps[@]} -eq 0 ]] && steps=(build compare speed)
exec > >(tee -a "$LOG") 2>&1
[[ -d "$KIT/debs" ]] || { echo "check: no .gpukit here; run scripts/gpu/pack.sh first and carry .gpukit"; exit 1; }

export LD_LIBRARY_PATH="$PREFIX/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
PYTHON="${PYTHON:-python3}"

build() {
  echo "== build ($(date -u +%T))"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  "$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cxx11 abi', torch._C._GLIBCXX_USE_CXX11_ABI)"
  mkdir -p "$PREFIX"
  for deb in "$KIT"/debs/*.deb; do dpkg-deb -x "$deb" "$PREFIX"; done
  # The Debian dataset's path, which Perturb reads; a bare machine has nothing there.
  mkdir -p /usr/share/datasets/fashion-mnist
  cp -n "$KIT"/fashion-mnist/*.gz /usr/share/datasets/fashion-mnist/
  local torch_prefix
  torch_prefix=$("$PYTHON" -c "import torch; print(torch.utils.cmake_prefix_path)")
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$torch_prefix;$PREFIX/usr;$PREFIX/usr/lib/x86_64-linux-gnu/cmake" \
    -DZLIB_ROOT="$PREFIX/usr" -DCMAKE_CXX_FLAGS="-isystem $KIT/boost/include" \
    -DPERTURB_CUDA=ON -DPERTURB_OPENCV=OFF -DPERTURB_KERNEL=OFF \
    -DPERTURB_ANTLR_GENERATED="$KIT/antlr" -DPERTURB_BUILD_TESTS=OFF -DPERTURB_BUILD_BENCH=OFF ||
    return 1
  cmake --build "$BUILD" -j "$(nproc)" --target perturb || return 1
  "$BUILD/perturb" version 2>/dev/null || true
}

compare() {
  echo "== compare cpu and cuda ($(date -u +%T))"
  "$PYTHON" scripts/gpu/compare_devices.py "$BUILD/perturb" tests/conformance/conformance.ptb \
    tests/golden/attacks/*.ptb tests/golden/certify/*.ptb tests/golden/eval/*.ptb \
    tests/golden/train/*.ptb tests/golden/runtime/*.ptb
}

speed() {
  echo "== speed ($(date -u +%T))"
  local ours=/tmp/speed_perturb.txt theirs=/tmp/speed_torch.txt
  "$BUILD/perturb" run scripts/gpu/speed.ptb --device cuda --seed 0 | tee "$ours"
  "$PYTHON" scripts/gpu/speed.py | tee "$theirs"
  echo "| work | Perturb s | PyTorch s | PyTorch/Perturb |"
  echo "| --- | ---: | ---: | ---: |"
  join <(grep '^speed' "$ours" | awk '{print $2, $3}' | sort) \
       <(grep '^speed' "$theirs" | awk '{print $2, $3}' | sort) |
    awk '{printf "| %s | %.3f | %.3f | %.2fx |\n", $1, $2, $3, $3 / $2}'
}

status=0
for step in "${steps[@]}"; do
  "$step" || { echo "check: step '$step' failed"; status=1; [[ $step == build ]] && break; }
done
echo "== done ($(date -u +%T)), status $status"
exit $status
