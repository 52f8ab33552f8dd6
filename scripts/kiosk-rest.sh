#!/usr/bin/env bash
# kiosk-rest.sh: what a kiosk costs while it waits at Welcome, from /proc.
#
#   scripts/kiosk-rest.sh PID [SECONDS [EVERY]]
#       samples the running process PID.
#   scripts/kiosk-rest.sh --start [SECONDS [EVERY]]
#       starts its own: a tapd on a fresh SQLite file on a free loopback
#       port, a kiosk token from tapctl, and the real bin/kiosk (make build)
#       in a detached tmux session at 80x24 ($KIOSK_SIZE, e.g. 60x20), then
#       samples it and stops them all. KIOSK_BIN picks another kiosk binary.
#
# Every EVERY seconds (default 60; SECONDS defaults to 90) it prints one
# line: the time, the seconds since the start, the process's CPU time
# (utime+stime) so far, the share of one core over the last interval and
# the RSS (VmRSS). The last line sums it up: CPU over the whole run and
# RSS at the start, its lowest, highest and last sample.
set -euo pipefail
cd "$(dirname "$0")/.."
umask 077

start=0
if [ "${1:-}" = "--start" ]; then start=1; shift; else pid=${1:?usage: kiosk-rest.sh PID|--start [SECONDS [EVERY]]}; shift; fi
secs=${1:-90} every=${2:-60}
[ "$every" -gt "$secs" ] && every=$secs

if [ "$start" = 1 ]; then
  kiosk=${KIOSK_BIN:-bin/kiosk}
  size=${KIOSK_SIZE:-80x24}
  for b in bin/tapd bin/tapctl "$kiosk"; do
    [ -x "$b" ] || { echo "kiosk-rest: $b is missing (make build)" >&2; exit 1; }
  done
  dir=$(mktemp -d /tmp/kiosk-rest.XXXXXX)
  sess="kiosk-rest-$$"
  listen=""
  busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
  for port in $(seq 18443 18543); do
    if ! busy "$port"; then listen="127.0.0.1:$port"; break; fi
  done
  [ -n "$listen" ] || { echo "kiosk-rest: no free port in 18443-18543" >&2; exit 1; }
  bin/tapd init --db "sqlite://$dir/tapd.db" --json > "$dir/init.json"
  sed -E 's/.*"adminToken": *"([^"]+)".*/\1/' "$dir/init.json" | tr -d '\n' > "$dir/admin.token"
  rm -f "$dir/init.json"
  bin/tapd serve --db "sqlite://$dir/tapd.db" --listen "$listen" --rp-id tapkiosk.localhost 2> "$dir/tapd.log" &
  tapd_pid=$!
  cleanup() {
    tmux -L "$sess" kill-server 2>/dev/null || true
    kill "$tapd_pid" 2>/dev/null || true
    wait "$tapd_pid" 2>/dev/null || true
    rm -rf "$dir"
  }
  trap cleanup EXIT
  for _ in $(seq 100); do
    grep -q 'tapd listening' "$dir/tapd.log" && break
    kill -0 "$tapd_pid" 2>/dev/null || { echo "kiosk-rest: tapd did not start:" >&2; cat "$dir/tapd.log" >&2; exit 1; }
    sleep 0.1
  done
  TAPCTL_SERVER="http://$listen" TAPCTL_TOKEN_FILE="$dir/admin.token" \
    bin/tapctl kiosk add rest --json | sed -E 's/.*"token": "([^"]+)".*/\1/;t;d' | tr -d '\n' > "$dir/kiosk.token"
  tmux -L "$sess" new-session -d -s "$sess" -x "${size%x*}" -y "${size#*x}" \
    "exec $kiosk --server http://$listen --token-file $dir/kiosk.token --org 'Rest test' --kiosk-mode=false --log-file $dir/kiosk.log"
  pid=""
  for _ in $(seq 100); do
    pid=$(tmux -L "$sess" list-panes -t "$sess" -F '#{pane_pid}' 2>/dev/null || true)
    [ -n "$pid" ] && tmux -L "$sess" capture-pane -p -t "$sess" | grep -q . && break
    sleep 0.1
  done
  [ -n "$pid" ] || { echo "kiosk-rest: the kiosk did not start" >&2; exit 1; }
  sleep 3 # past its first frame and first check of tapd
  echo "# $kiosk pid $pid in tmux at $size, tapd at $listen"
  tmux -L "$sess" capture-pane -p -t "$sess" | sed 's/^/# | /'
fi

hz=$(getconf CLK_TCK)
ticks() { awk '{print $14+$15}' "/proc/$pid/stat"; }
rss() { awk '/VmRSS/{print $2}' "/proc/$pid/status"; }
t0=$(ticks) r0=$(rss) s0=$(date +%s)
tp=$t0 sp=$s0 t=$t0 s=$s0 rmin=$r0 rmax=$r0 r=$r0
echo "# time(UTC) secs cpu_s cpu%_interval rss_MiB"
printf '%s %d %.2f - %.1f\n' "$(date -u +%T)" 0 "$(echo "$t0 $hz" | awk '{print $1/$2}')" "$(echo "$r0" | awk '{print $1/1024}')"
while :; do
  now=$(date +%s)
  [ $((now - s0)) -ge "$secs" ] && break
  left=$((secs - (now - s0)))
  sleep $((left < every ? left : every))
  t=$(ticks) r=$(rss) s=$(date +%s)
  [ "$r" -lt "$rmin" ] && rmin=$r
  [ "$r" -gt "$rmax" ] && rmax=$r
  awk -v t="$t" -v tp="$tp" -v hz="$hz" -v s="$s" -v sp="$sp" -v s0="$s0" -v r="$r" -v now="$(date -u +%T)" \
    'BEGIN { d = s - sp; if (d < 1) d = 1; printf "%s %d %.2f %.2f %.1f\n", now, s - s0, t/hz, 100*(t-tp)/hz/d, r/1024 }'
  tp=$t sp=$s
done
awk -v t="$((t - t0))" -v hz="$hz" -v d="$((s - s0))" -v r0="$r0" -v rmin="$rmin" -v rmax="$rmax" -v r="$r" \
  'BEGIN { printf "CPU %.2f%% of a core over %d s (%.2f s); RSS %.1f MiB at the start, %.1f-%.1f, %.1f at the end\n", 100*t/hz/d, d, t/hz, r0/1024, rmin/1024, rmax/1024, r/1024 }'
