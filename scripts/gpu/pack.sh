#!/usr/bin/env bash
# The GPU kit, part 1, run HERE (Debian 12 with scripts/setup.sh's packages): fills .gpukit/ with
# what a GPU machine that has CUDA, CMake, ninja, a compiler and a Python torch 2.x (but no
# Debian packages, no Java and no network) lacks to build and check Perturb:
#   debs/           Debian packages, unpacked THERE into a prefix (never into /) by check.sh:
#                   the ANTLR runtime, spdlog + fmt, nlohmann-json, zlib and readline headers
#   antlr/          the parser generated from grammar/Perturb.g4 (the ANTLR tool needs Java)
#   boost/include/  the Boost.Math headers the build includes (the -dev package is 100+ MiB)
#   fashion-mnist/  the test split and the first 10,000 training images (the files as Debian's
#                   dataset-fashion-mnist has them, the training file cut to fit the 64 MiB)
# OpenCV (its dependency chain is too large to carry) and xeus stay behind: the build there
# has no image files, plots, grids or Jupyter kernel, and says so when a script asks for them.
# Usage: bash scripts/gpu/pack.sh; then the device run carries .gpukit (see docs/gpu.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
KIT=.gpukit
LIMIT_MIB=40  # the kit's share of the 64 MiB that travels (the repository is ~15 MiB)
rm -rf "$KIT"
mkdir -p "$KIT/debs" "$KIT/antlr" "$KIT/boost/include" "$KIT/fashion-mnist"

packages=(libantlr4-runtime-dev libantlr4-runtime4.9 libspdlog-dev libspdlog1.10 libfmt-dev libfmt9
  nlohmann-json3-dev zlib1g-dev libreadline-dev libreadline8)
(cd "$KIT/debs" && apt-get download "${packages[@]}" >/dev/null)
echo "pack: ${#packages[@]} Debian packages"

antlr4 -Dlanguage=Cpp -no-listener -no-visitor -o "$KIT/antlr" grammar/Perturb.g4
# The tool writes into a sub-folder named after the grammar's path; flatten it.
find "$KIT/antlr" -mindepth 2 -type f -exec mv {} "$KIT/antlr/" \;
find "$KIT/antlr" -mindepth 1 -type d -empty -delete
ls "$KIT/antlr/PerturbParser.cpp" >/dev/null
echo "pack: the ANTLR parser generated"

# Every header the Boost.Math includes of runtime/ pull in, found by the compiler itself.
includes=$(grep -rhoE '#include <boost/[^>]+>' runtime interpreter | sort -u)
echo "$includes" | g++ -std=c++17 -x c++ -M -MT x - | tr ' \\' '\n\n' | grep '^/usr/include/boost/' |
  sort -u | while read -r header; do
    mkdir -p "$KIT/boost/include/$(dirname "${header#/usr/include/}")"
    cp "$header" "$KIT/boost/include/${header#/usr/include/}"
  done
echo "pack: $(find "$KIT/boost" -type f | wc -l) Boost headers"

/usr/bin/python3 - "$KIT/fashion-mnist" <<'PY'
import gzip, shutil, struct, sys
src, dst, keep = "/usr/share/datasets/fashion-mnist", sys.argv[1], 10000
for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
    shutil.copy(f"{src}/{name}", f"{dst}/{name}")
for name, item in (("train-images-idx3-ubyte.gz", 28 * 28), ("train-labels-idx1-ubyte.gz", 1)):
    data = gzip.open(f"{src}/{name}").read()
    dims = data[3]
    header = bytearray(data[:4 + 4 * dims])
    header[4:8] = struct.pack(">I", keep)  # the count, first of the big-endian dimensions
    body = data[len(header):len(header) + keep * item]
    with gzip.open(f"{dst}/{name}", "wb") as out:
        out.write(bytes(header) + body)
PY
echo "pack: Fashion-MNIST (10,000 training images, all 10,000 test images)"

size_mib=$(du -sm "$KIT" | cut -f1)
echo "pack: .gpukit is ${size_mib} MiB"
if ((size_mib > LIMIT_MIB)); then
  echo "pack: over ${LIMIT_MIB} MiB; the device run would not carry it" >&2
  exit 1
fi
