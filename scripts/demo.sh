#!/usr/bin/env bash
# make demo: a fresh tapd on SQLite, a policy, a demo user,
# a kiosk and a pass, all through the real binaries; then the kiosk itself
# in this terminal with a virtual security key (the demo build), so you can
# walk the whole journey without hardware. DEMO_EXIT=1 stops before the
# kiosk (for scripts).
set -euo pipefail
cd "$(dirname "$0")/.."

# A port that answers already is another program, perhaps another demo's
# tapd: talking to it would fail later with "The admin token is not known
# to this tapd". DEMO_LISTEN names the address; without it the demo takes
# the first free port from 8443.
busy() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }
if [ -n "${DEMO_LISTEN:-}" ]; then
  listen="$DEMO_LISTEN"
  if busy "$listen"; then
    echo "demo: $listen is already in use (another tapd, or another program)." >&2
    echo "      Stop it, or choose another address: DEMO_LISTEN=127.0.0.1:8444 make demo" >&2
    exit 1
  fi
else
  listen=""
  for port in $(seq 8443 8499); do
    if ! busy "127.0.0.1:$port"; then listen="127.0.0.1:$port"; break; fi
  done
  if [ -z "$listen" ]; then
    echo "demo: ports 8443-8499 are all in use; set DEMO_LISTEN=host:port" >&2
    exit 1
  fi
  if [ "$listen" != "127.0.0.1:8443" ]; then
    echo "(127.0.0.1:8443 is in use, so the demo's tapd listens on $listen)"
  fi
fi
url="http://$listen"
dir="$PWD/demo"
rm -rf "$dir"
mkdir -p "$dir"
db="sqlite://$dir/tapd.db"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "1. tapd init: a fresh database at $dir/tapd.db"
bin/tapd init --db "$db" --json > "$dir/init.json"
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["adminToken"])' "$dir/init.json" > "$dir/admin.token" 2>/dev/null \
  || sed -E 's/.*"adminToken":"([^"]+)".*/\1/' "$dir/init.json" > "$dir/admin.token"
rm -f "$dir/init.json"
chmod 600 "$dir/admin.token"
echo "The first admin token is in $dir/admin.token (shown once by tapd init; kept here for the demo)."

say "2. tapd serve on $url (log: $dir/tapd.log)"
bin/tapd serve --db "$db" --listen "$listen" --rp-id tapkiosk.localhost 2> "$dir/tapd.log" &
tapd_pid=$!
trap 'kill $tapd_pid 2>/dev/null; wait $tapd_pid 2>/dev/null || true' EXIT
# Ready means our tapd says it listens and answers; a port taken since the
# check above makes it exit instead, and that is reported, not talked to.
for _ in $(seq 100); do
  if ! kill -0 $tapd_pid 2>/dev/null; then echo "tapd did not start:"; cat "$dir/tapd.log"; exit 1; fi
  if grep -q 'tapd listening' "$dir/tapd.log" && curl -fsS "$url/readyz" >/dev/null 2>&1; then break; fi
  sleep 0.1
done
if ! grep -q 'tapd listening' "$dir/tapd.log"; then echo "tapd did not start in 10 s:"; cat "$dir/tapd.log"; exit 1; fi

export TAPCTL_SERVER="$url" TAPCTL_TOKEN_FILE="$dir/admin.token"
run() { printf '\n$ %s\n' "$*"; "$@"; }

say "3. A policy, a user, a kiosk and a pass, with tapctl"
run bin/tapctl policy set --state enabled --default-lifetime 60 --max-lifetime 8h
run bin/tapctl user add ada@example.com --name "Ada Lovelace" --groups Engineering
run bin/tapctl kiosk add lobby-demo --json > "$dir/kiosk.json"
sed -E 's/.*"token": "([^"]+)".*/\1/;t;d' "$dir/kiosk.json" > "$dir/kiosk.token"
chmod 600 "$dir/kiosk.token"
rm -f "$dir/kiosk.json"
echo "(kiosk token saved to $dir/kiosk.token)"
run bin/tapctl tap create ada@example.com --lifetime 2h | tee "$dir/pass.txt"
pass=$(grep -oE '│  [A-Za-z0-9]+  │' "$dir/pass.txt" | tr -d '│ ')
rm -f "$dir/pass.txt"

say "4. The audit trail so far"
run bin/tapctl audit --top 10

cat <<MSG

Now the kiosk. Sign in as:

    user:  ada@example.com
    pass:  $pass

The virtual key touches itself 1.5 s after it starts blinking. In another
terminal you can pull it out or make it wait:
    echo unplug > $dir/key.control     (then: echo plug > $dir/key.control)
    echo hold   > $dir/key.control     (then: echo touch, or auto to touch by itself again)
Ctrl+C leaves the kiosk (kiosk mode is off in the demo). tapd keeps running
at $url for tapctl until you press Ctrl+C again.
MSG
(umask 077; printf 'user ada@example.com\npass %s\n' "$pass" > "$dir/credentials.txt") # a pass is a secret, like the tokens
if [ -n "${DEMO_EXIT:-}" ] || [ ! -t 0 ]; then
  exit 0
fi
printf '\nPress Enter to open the kiosk… '
read -r _
bin/kiosk-demo --server "$url" --token-file "$dir/kiosk.token" --org "tapkiosk demo" \
  --virtual-key "$dir/key.json" --virtual-key-control "$dir/key.control" \
  --log-file "$dir/kiosk.log" --kiosk-mode=false || true
echo
say "After the journey"
# The person who signed in at the kiosk last (the demo's user unless
# someone added another and used the kiosk as them), from the audit trail.
who=$(bin/tapctl --json audit --actor lobby-demo --action signIn --result success --top 1 |
  sed -nE 's/.*"target": "([^"]+)".*/\1/p' | head -n 1)
who=${who:-ada@example.com}
run bin/tapctl methods list "$who"
run bin/tapctl audit --user "$who" --top 12
echo "tapd is still running at $url. Press Ctrl+C to stop it."
wait $tapd_pid || true
