#!/usr/bin/env bash
# make demo: a fresh tapd on SQLite, a policy, a demo user, a kiosk and a
# pass, then a kiosk sign-in with that pass, all through the real binaries.
# tapd keeps running until Ctrl+C so you can try tapctl yourself.
set -euo pipefail
cd "$(dirname "$0")/.."

listen="${DEMO_LISTEN:-127.0.0.1:8443}"
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
bin/tapd serve --db "$db" --listen "$listen" 2> "$dir/tapd.log" &
tapd_pid=$!
trap 'kill $tapd_pid 2>/dev/null; wait $tapd_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  if curl -fsS "$url/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 $tapd_pid 2>/dev/null; then echo "tapd did not start:"; cat "$dir/tapd.log"; exit 1; fi
  sleep 0.1
done

export TAPCTL_SERVER="$url" TAPCTL_TOKEN_FILE="$dir/admin.token"
run() { printf '\n$ %s\n' "$*"; "$@"; }

say "3. A policy, a user, a kiosk and a pass, with tapctl"
run bin/tapctl policy set --state enabled --default-lifetime 60 --max-lifetime 8h
run bin/tapctl user add ada@example.com --name "Ada Lovelace" --groups Engineering
run bin/tapctl kiosk add lobby-demo --json > "$dir/kiosk.json"
sed -E 's/.*"token": "([^"]+)".*/\1/;t;d' "$dir/kiosk.json" > "$dir/kiosk.token"
rm -f "$dir/kiosk.json"
echo "(kiosk token saved to $dir/kiosk.token)"
run bin/tapctl tap create ada@example.com --lifetime 2h | tee "$dir/pass.txt"
pass=$(grep -oE '│  [A-Za-z0-9]+  │' "$dir/pass.txt" | tr -d '│ ')
rm -f "$dir/pass.txt"

say "4. A kiosk signs Ada in with the pass (what the kiosk app will do)"
printf '$ curl -X POST %s/v1/sessions -H "Authorization: Bearer <kiosk token>" -d {"userPrincipalName":"ada@example.com","temporaryAccessPass":"<pass>"}\n' "$url"
curl -sS -X POST "$url/v1/sessions" -H "Authorization: Bearer $(cat "$dir/kiosk.token")" \
  -H 'Content-Type: application/json' \
  -d "{\"userPrincipalName\":\"ada@example.com\",\"temporaryAccessPass\":\"$pass\"}" \
  | sed -E 's/"sessionToken":"[^"]+"/"sessionToken":"taps_…(hidden)"/'
echo

say "5. The audit trail"
run bin/tapctl audit --top 10

cat <<MSG

Done. tapd is still running at $url with the demo data.
Try, in another terminal:
  export TAPCTL_SERVER=$url TAPCTL_TOKEN_FILE=$dir/admin.token
  bin/tapctl tap show ada@example.com
  bin/tapctl user add grace@example.com --name "Grace Hopper"
  bin/tapctl tap create grace@example.com --once
MSG
if [ -t 0 ] && [ -z "${DEMO_EXIT:-}" ]; then
  echo "Press Ctrl+C to stop tapd."
  wait $tapd_pid || true
fi
