#!/usr/bin/env bash
# Installs the Debian packages Perturb needs, only those that are missing, so a second run is quick.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config python3 zlib1g-dev libreadline-dev
  libtorch-dev antlr4 libantlr4-runtime-dev libopencv-dev libspdlog-dev catch2
  dataset-fashion-mnist tmux
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "setup: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
