#!/usr/bin/env bash
# CTest driver for the editor tests. Exit 77 (CTest: skipped) with a clear message when the
# editor, Node.js (or one recent enough for the pinned packages) or `perturb lsp` is missing.
# usage: run_editor_test.sh npm|textmate|vsix|extension|locks|vim|neovim|emacs|eglot|generated PERTURB   (from the repo root)
set -u
what=$1
perturb=${2:-}
here=tests/editors
skip() { echo "skipped: $1"; exit 77; }
# The oldest Node.js the pinned packages accept (cheerio 1.0.0 and undici 6: >=18.17; every
# package in both lock files accepts Debian 12's 18.19, which check_lock_engines.py enforces).
min_node=18.17.0
node_is_recent_enough() {
  command -v node >/dev/null || return 1
  node -e 'const parse = (v) => v.split(".").map(Number);
           const [have, need] = [parse(process.versions.node), parse(process.argv[1])];
           const order = have.map((x, i) => x - need[i]).find((d) => d !== 0) || 0;
           process.exit(order < 0 ? 1 : 0)' "$min_node"
}
require_node() {
  command -v node >/dev/null || skip "Node.js is not installed (apt-get install nodejs npm); $1"
  node_is_recent_enough ||
    skip "Node.js $(node --version) is older than $min_node, which the pinned vsce, cheerio and undici need; $1"
}
case "$what" in
  npm)
    # Installs, from their lock files, vscode-textmate, vscode-oniguruma and @vscode/vsce here, and
    # the extension's own dependencies (vscode-languageclient) in editors/vscode, whose node_modules
    # the .vsix packs; once per lock file: a stamp records the lock file each was installed from.
    # --ignore-scripts: nothing here needs an install script (keytar's, an optional dependency of
    # vsce for publishing, would try to download a prebuilt binary).
    command -v npm >/dev/null ||
      skip "Node.js/npm is not installed (apt-get install nodejs npm), so the VS Code tests do not run"
    require_node "the VS Code tests do not run"
    for dir in "$here" editors/vscode; do
      stamp=$dir/node_modules/.perturb-lock-stamp
      if [ -f "$stamp" ] && cmp -s "$stamp" "$dir/package-lock.json"; then
        echo "$dir/node_modules up to date"; continue
      fi
      # Without the npm registry (offline) the VS Code tests cannot run: skipped, with npm's error.
      (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) ||
        skip "npm ci could not install $dir/package-lock.json (is the npm registry reachable?)"
      cp "$dir/package-lock.json" "$stamp"
      echo "installed $dir/node_modules from package-lock.json"
    done
    ;;
  textmate)
    require_node "VS Code highlighting not tested"
    [ -d "$here/node_modules/vscode-textmate" ] || skip "node_modules missing (editors_npm_ci did not install them)"
    node "$here/test_highlight.js" "$PWD"
    ;;
  vsix)
    require_node "the .vsix is not packed"
    [ -x "$here/node_modules/.bin/vsce" ] && [ -d editors/vscode/node_modules/vscode-languageclient ] ||
      skip "node_modules missing (editors_npm_ci did not install them)"
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
    (cd editors/vscode && "$OLDPWD/$here/node_modules/.bin/vsce" package --skip-license \
       --allow-missing-repository -o "$out/perturb.vsix") || { echo "FAIL: vsce package"; exit 1; }
    listing=$(python3 -c "import zipfile,sys; print('\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))" "$out/perturb.vsix")
    # The extension, its highlighting and the language client it starts the server with (vsce packs
    # the production dependencies from node_modules).
    for f in extension/package.json extension/extension.js extension/language-configuration.json \
             extension/syntaxes/perturb.tmLanguage.json \
             extension/node_modules/vscode-languageclient/package.json \
             extension/node_modules/vscode-languageclient/lib/node/main.js \
             extension/node_modules/vscode-jsonrpc/package.json; do
      grep -qx "$f" <<<"$listing" || { echo "FAIL: $f missing from the .vsix"; echo "$listing"; exit 1; }
    done
    echo "ok packed perturb.vsix ($(wc -l <<<"$listing") files)"
    ;;
  extension)
    require_node "the VS Code extension is not tested"
    [ -d editors/vscode/node_modules/vscode-languageclient ] ||
      skip "editors/vscode/node_modules missing (editors_npm_ci did not install them)"
    node "$here/test_extension.js" "$PWD" "$perturb"
    ;;
  locks)
    python3 "$here/check_lock_engines.py" "$here/package-lock.json" editors/vscode/package-lock.json
    ;;
  vim)
    command -v vim >/dev/null || skip "vim is not installed (apt-get install vim); Vim syntax not tested"
    log=$(mktemp)
    trap 'rm -f "$log"' EXIT
    PERTURB_VIM_LOG=$log vim -es -N -u NONE -i NONE -S "$here/test_vim.vim" </dev/null
    status=$?
    cat "$log"
    [ $status -eq 0 ] || { echo "FAIL: vim exited $status"; exit 1; }
    ;;
  neovim)
    command -v nvim >/dev/null ||
      skip "Neovim is not installed (apt-get install neovim); its LSP setup (editors/vim/lua/perturb/lsp.lua) not tested"
    # The script ends Neovim itself (:cquit 0, 1 or 77); the second -c only runs when it stopped
    # on a Lua error, which would otherwise leave the headless Neovim waiting (so would a prompt
    # nobody answers: timeout).
    PERTURB_BIN=$perturb timeout 90 nvim --headless -u NONE -i NONE --cmd 'set noswapfile' \
      -c "luafile $here/test_nvim_lsp.lua" -c 'cquit 1' </dev/null 2>&1
    status=$?
    case $status in
      0|77) exit $status ;;
      *) echo "FAIL: nvim exited $status"; exit 1 ;;
    esac
    ;;
  emacs)
    command -v emacs >/dev/null ||
      skip "emacs is not installed (apt-get install emacs-nox, about 45 MB, not in scripts/setup.sh); perturb-mode.el not tested"
    emacs --batch -Q -l "$here/test_emacs.el" 2>&1
    ;;
  eglot)
    command -v emacs >/dev/null ||
      skip "emacs is not installed (apt-get install emacs-nox elpa-eglot); perturb-mode's Eglot entry not tested"
    PERTURB_BIN=$perturb timeout 90 emacs --batch -Q -l "$here/test_eglot.el" 2>&1
    ;;
  generated)
    python3 editors/generate.py --perturb "$perturb" --check
    ;;
  *)
    echo "unknown editor test $what"; exit 2 ;;
esac
