#!/usr/bin/env bash
# Opens an executed lesson notebook in Jupyter Notebook in headless Chromium and saves a
# screenshot (docs/img/notebook.png by default): the picture in docs/notebook.md. Not run in CI.
#
# Needs Debian's chromium and python3-notebook, and a built perturb (the kernelspec is installed
# into a temporary directory, so the user's Jupyter is left alone).
#
# usage: docs/lessons/notebooks/screenshot.sh [NOTEBOOK.ipynb] [OUT.png]
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
notebook="${1:-docs/lessons/notebooks/01_fgsm_by_hand.ipynb}"
out="${2:-$root/docs/img/notebook.png}"
perturb="$root/build/perturb"
port="${PORT:-18888}"
for tool in /usr/bin/chromium "$perturb"; do
  [ -x "$tool" ] || { echo "screenshot.sh: $tool is missing" >&2; exit 1; }
done
/usr/bin/python3 -c 'import notebook' 2>/dev/null ||
  { echo "screenshot.sh: python3-notebook is missing" >&2; exit 1; }

tmp="$(mktemp -d)"
server=""
# The notebook server keeps checkpoints beside the notebook: remove them unless they were there.
checkpoints="$root/$(dirname "$notebook")/.ipynb_checkpoints"
[ -e "$checkpoints" ] && checkpoints=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  [ -n "$checkpoints" ] && rm -rf "$checkpoints"
  rm -rf "$tmp"
}
trap cleanup EXIT

"$perturb" kernel install --prefix "$tmp/jupyter" >/dev/null
export JUPYTER_PATH="$tmp/jupyter/share/jupyter"
export JUPYTER_CONFIG_DIR="$tmp/config" JUPYTER_DATA_DIR="$tmp/data"
export JUPYTER_RUNTIME_DIR="$tmp/runtime" IPYTHONDIR="$tmp/ipython"
cd "$root"
/usr/bin/python3 -m notebook --no-browser --ip=127.0.0.1 --port="$port" \
  --NotebookApp.token="" --NotebookApp.password="" --NotebookApp.open_browser=False --allow-root \
  --notebook-dir="$root" >"$tmp/server.log" 2>&1 &
server=$!
for _ in $(seq 60); do
  curl -sf -o /dev/null "http://127.0.0.1:$port/api" && break
  sleep 0.5
done

# Chromium's own flags keep it off the network and quiet; the virtual time budget lets the
# notebook's scripts render every cell (and its images) before the picture is taken.
/usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --hide-scrollbars --window-size=1100,2760 --virtual-time-budget=15000 \
  --screenshot="$tmp/shot.png" "http://127.0.0.1:$port/notebooks/$notebook" \
  >"$tmp/chromium.log" 2>&1 || { cat "$tmp/chromium.log" >&2; exit 1; }
[ -f "$tmp/shot.png" ] || { cat "$tmp/chromium.log" "$tmp/server.log" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
cp "$tmp/shot.png" "$out"
echo "screenshot.sh: wrote $out"
