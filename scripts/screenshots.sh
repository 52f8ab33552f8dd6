#!/usr/bin/env bash
# Walks `make demo` in a tmux pane of 80x24 and saves each screen as an SVG
# in docs/screens, for the README. Run it again after changing the screens.
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/screens
mkdir -p "$out"
s=tapkiosk-shots
tmux kill-session -t $s 2>/dev/null || true
tmux new-session -d -s $s -x 80 -y 24 "make demo; sleep 600"
trap 'tmux kill-session -t $s 2>/dev/null || true' EXIT
wait_for() {
  for _ in $(seq 300); do
    if tmux capture-pane -p -t $s | grep -qF -- "$1"; then return 0; fi
    sleep 0.1
  done
  echo "screenshots: never saw '$1'" >&2; tmux capture-pane -p -t $s >&2; exit 1
}
shot() { tmux capture-pane -p -t $s | go run ./internal/tools/screensvg -title "$2" > "$out/$1.svg"; }
keys() { for k in "$@"; do tmux send-keys -t $s "$k"; sleep 0.15; done; }
text() { tmux send-keys -t $s -l "$1"; sleep 0.2; }

wait_for "Press Enter to open the kiosk"
pass=$(sed -n 's/^pass //p' demo/credentials.txt)
keys Enter
wait_for "Press Enter to start";       shot 01-welcome "Welcome"
keys Enter; text ada@example.com;      wait_for "Looks right"; shot 02-upn "Sign-in name"
keys Enter; text "$pass";              shot 03-pass "Temporary Access Pass (masked)"
keys Enter; wait_for "Create a PIN";   text 123456; shot 04-pin "Create a PIN: the key's rules, a weak-PIN warning"
keys Tab; text 123456; keys Enter;     wait_for "Name your key"; shot 05-name "Name the key"
echo hold > demo/key.control; sleep 0.3; keys Enter; wait_for "Touch your key now"; shot 06-touch "Touch your key"
echo touch > demo/key.control;         wait_for "Your key is registered"; echo auto > demo/key.control; sleep 0.3; shot 07-registered "Registered; the key check"
keys Enter;                            wait_for "Add a backup key?"
keys Enter;                            wait_for "Remove what you lost"; shot 08-cleanup "Clean up"
keys Enter;                            wait_for "Delete your Temporary"; shot 09-delete-pass "Delete the pass"
keys Enter;                            wait_for "All done"; shot 10-done "Done"
echo "screenshots: wrote $(ls $out | wc -l) screens to $out"
