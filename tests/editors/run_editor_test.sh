#!/usr/bin/env bash
# CTest driver for the editor tests. Exit 77 (CTest: skipped) with a clear message when the
# editor or Node.js is not installed.
# usage: run_editor_test.sh npm|textmate|vsix|vim|emacs|generated PERTURB   (from the repo root)
set -u
what=$1
perturb=${2:-}
here=tests/editors
skip() { echo "skipped: $1"; exit 77; }
case "$what" in
  npm)
    # Installs vscode-textmate, vscode-oniguruma and @vscode/vsce from package-lock.json, once:
    # a stamp records the lock file it was installed from.
    command -v node >/dev/null && command -v npm >/dev/null ||
      skip "Node.js/npm is not installed (apt-get install nodejs npm), so the VS Code highlighting tests do not run"
    stamp=$here/node_modules/.perturb-lock-stamp
    if [ -f "$stamp" ] && cmp -s "$stamp" "$here/package-lock.json"; then
      echo "node_modules up to date"; exit 0
    fi
    # Without the npm registry (offline) the VS Code tests cannot run: skipped, with npm's error.
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) ||
      skip "npm ci could not install vscode-textmate, vscode-oniguruma and @vscode/vsce (is the npm registry reachable?)"
    cp "$here/package-lock.json" "$stamp"
    echo "installed node_modules from package-lock.json"
    ;;
  textmate)
    command -v node >/dev/null || skip "Node.js is not installed; VS Code highlighting not tested"
    [ -d "$here/node_modules/vscode-textmate" ] || skip "node_modules missing (editors_npm_ci did not install them)"
    node "$here/test_highlight.js" "$PWD"
    ;;
  vsix)
    command -v node >/dev/null || skip "Node.js is not installed; the .vsix is not packed"
    [ -x "$here/node_modules/.bin/vsce" ] || skip "node_modules missing (editors_npm_ci did not install them)"
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
    (cd editors/vscode && "$OLDPWD/$here/node_modules/.bin/vsce" package --skip-license \
       --allow-missing-repository -o "$out/perturb.vsix") || { echo "FAIL: vsce package"; exit 1; }
    listing=$(python3 -c "import zipfile,sys; print('\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))" "$out/perturb.vsix")
    for f in extension/package.json extension/language-configuration.json extension/syntaxes/perturb.tmLanguage.json; do
      grep -qx "$f" <<<"$listing" || { echo "FAIL: $f missing from the .vsix"; echo "$listing"; exit 1; }
    done
    echo "ok packed perturb.vsix"
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
  emacs)
    command -v emacs >/dev/null ||
      skip "emacs is not installed (apt-get install emacs-nox, about 45 MB, not in scripts/setup.sh); perturb-mode.el not tested"
    emacs --batch -Q -l "$here/test_emacs.el" 2>&1
    ;;
  generated)
    python3 editors/generate.py --perturb "$perturb" --check
    ;;
  *)
    echo "unknown editor test $what"; exit 2 ;;
esac
