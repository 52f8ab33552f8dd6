#!/usr/bin/env bash
# kiosk-rest.sh PID [SECONDS]: the CPU (% of one core) and RSS of the
# process PID (a kiosk at Welcome, say) over SECONDS (default 90), from
# /proc: utime+stime before and after, VmRSS before and after.
set -euo pipefail
pid=$1 secs=${2:-90}
hz=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' "/proc/$pid/stat"; }
rss() { awk '/VmRSS/{print $2}' "/proc/$pid/status"; }
t0=$(cpu) r0=$(rss)
sleep "$secs"
t1=$(cpu) r1=$(rss)
awk -v t="$((t1 - t0))" -v hz="$hz" -v s="$secs" -v r0="$r0" -v r1="$r1" \
  'BEGIN { printf "CPU %.2f%% of a core over %d s; RSS %.1f -> %.1f MiB\n", 100*t/hz/s, s, r0/1024, r1/1024 }'
