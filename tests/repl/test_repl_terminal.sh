#!/usr/bin/env bash
# The REPL driven from a real terminal (tmux): line editing on, `1 + 2` prints 3, a function
# typed over three lines works, :help PGD shows its parameters, and history survives a restart.
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
type_line ':quit'
sleep 0.5
grep -q "triple(5)" "$work/history" || fail "history was not saved"
start
tmux -L "$socket" send-keys -t repl Up Up
sleep 0.3
screen | grep -q "ptb> :help PGD\|ptb> triple(5)" || fail "history was not read back in a new session"
echo "ok repl in a terminal"
