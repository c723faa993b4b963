#!/usr/bin/env bash
# The REPL driven from a real terminal (tmux): line editing on, `1 + 2` prints 3, a function
# typed over three lines works, :help PGD shows its parameters, Tab completes builtins, module
# members, named arguments, session names and commands, :doc shows an entry, the prompt is
# coloured, :load runs a file and names the image it saved, and history survives a restart.
# usage: test_repl_terminal.sh PERTURB
set -u
perturb=$(readlink -f "$1")
if ! command -v tmux >/dev/null; then
  echo "skipped: tmux is not installed (apt-get install tmux)"
  exit 0
fi
work=$(mktemp -d)
socket="perturb-test-$$"
trap 'tmux -L "$socket" kill-server 2>/dev/null; rm -rf "$work"' EXIT
start() {
  tmux -L "$socket" new-session -d -s repl -x 160 -y 50 "PERTURB_HISTORY=$work/history $perturb repl"
  for _ in $(seq 50); do
    tmux -L "$socket" capture-pane -t repl -p | grep -q "ptb>" && return 0
    sleep 0.1
  done
  echo "FAIL: no prompt"; exit 1
}
type_line() { tmux -L "$socket" send-keys -t repl -l "$1"; tmux -L "$socket" send-keys -t repl Enter; sleep 0.3; }
screen() { tmux -L "$socket" capture-pane -t repl -p -S -100; }
fail() { echo "FAIL: $1"; screen; exit 1; }

start
type_line '1 + 2'
type_line 'fn triple(x) {'
type_line '  x * 3'
type_line '}'
type_line 'triple(5)'
type_line ':help PGD'
sleep 0.5
out=$(screen)
grep -qx "3" <<<"$out" || fail "1 + 2 did not print 3"
grep -q "^\.\.\.> " <<<"$out" || fail "no continuation prompt for the multi-line function"
grep -qx "15" <<<"$out" || fail "the three-line function did not work"
grep -q "PGD(threat: threat, steps: number = 10" <<<"$out" || fail ":help PGD did not show parameters"

# Tab completion. `last` is the last line of the screen that has a prompt.
last() { screen | grep '^\(ptb\|\.\.\.\)>' | tail -1 | sed 's/ *$//'; }
tab() {  # tab TEXT KEYS... : types TEXT, presses the keys, waits
  tmux -L "$socket" send-keys -t repl -l "$1"; shift
  tmux -L "$socket" send-keys -t repl "$@"; sleep 0.4
}
clear_line() { tmux -L "$socket" send-keys -t repl C-e C-u; sleep 0.2; }
tab 'PG' Tab
[ "$(last)" = "ptb> PGD" ] || fail "Tab after PG did not complete PGD (got '$(last)')"
clear_line
tab 'zoo.sm' Tab
[ "$(last)" = "ptb> zoo.small_cnn" ] || fail "Tab after zoo.sm did not complete zoo.small_cnn (got '$(last)')"
clear_line
tab 'PGD(Linf(eps: 0.1), resta' Tab
[ "$(last)" = "ptb> PGD(Linf(eps: 0.1), restarts:" ] ||
  fail "Tab did not complete the named argument restarts: (got '$(last)')"
clear_line
tab 'PGD(Linf(eps: 0.1), step' Tab Tab
screen | grep -q "step: *steps:" || fail "Tab Tab did not list the named arguments step: and steps:"
clear_line
type_line 'let my_budget = 0.25'
tab 'my_b' Tab
[ "$(last)" = "ptb> my_budget" ] || fail "Tab did not complete a name bound in the session (got '$(last)')"
clear_line
tab ':lo' Tab
[ "$(last)" = "ptb> :load" ] || fail "Tab did not complete the command :load (got '$(last)')"
clear_line
tab ':doc Lin' Tab
[ "$(last)" = "ptb> :doc Linf" ] || fail "Tab did not complete a builtin after :doc (got '$(last)')"
tmux -L "$socket" send-keys -t repl Enter
sleep 0.4
screen | grep -q "parameters:" || fail ":doc Linf did not show the parameters"
# Colour: the prompt is painted (bold cyan) in a terminal.
tmux -L "$socket" capture-pane -t repl -p -e | grep -q $'\033\[[0-9;]*mptb>' ||
  fail "the prompt is not coloured in a terminal"
# :load runs a file and names the image it saved.
{
  echo 'let d = fashion_mnist(split: "test", limit: 4)'
  echo "show(Linf(eps: 0.1), d.x, \"$work/grid.png\", rows: 1)"
  echo 'print("grid done")'
} >"$work/grid.ptb"
type_line ":load $work/grid.ptb"
sleep 1.5
screen | grep -q "^grid done" || fail ":load did not run the file"
screen | grep -q "saved $work/grid.png" || fail ":load did not name the saved image"
screen | grep -q "loaded $work/grid.ptb" || fail ":load did not say that the file was loaded"

type_line ':quit'
sleep 0.5
grep -q "triple(5)" "$work/history" || fail "history was not saved"
start
tmux -L "$socket" send-keys -t repl Up Up
sleep 0.3
screen | grep -q "ptb> :load $work/grid.ptb" || fail "history was not read back in a new session"
echo "ok repl in a terminal"
