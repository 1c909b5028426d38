#!/usr/bin/env bash
# low_power_mode=1: an idle lstack process (gz-echo server, no traffic) uses
# under 5% of a core, measured from /proc/PID/stat over 5 s.
#   idle_cpu.sh GZ_ECHO VDEV INDEX RTC
set -u
. "$(dirname "$0")/lib.sh"
echo_bin=$1 vdev=$2 idx=$3 rtc=$4
gz_require
gz_setup "idle-$rtc" "$idx"
conf=$(mktemp) log=$(mktemp)
gz_conf "$conf" "$vdev" "$rtc"
gz_bg ip netns exec "$GZ_NS_L" env LSTACK_CONF_PATH="$conf" GAZELLE_RUN_DIR="$(mktemp -d)" "$echo_bin" server 7 >"$log" 2>&1
gz_wait_line "$log" ready 60 || { cat "$log"; echo "FAIL: lstack did not come up"; exit 1; }
pid=${GZ_PIDS[0]}
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
sleep 2
t0=$(ticks); s0=$(date +%s.%N)
sleep 5
t1=$(ticks); s1=$(date +%s.%N)
pct=$(awk -v a="$t0" -v b="$t1" -v s="$s0" -v e="$s1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", (b - a) / hz / (e - s) * 100 }')
echo "idle CPU of the lstack process (stack_mode_rtc=$rtc): $pct% of one core"
awk -v p="$pct" 'BEGIN { exit !(p < 5) }' || { echo "FAIL: idle process uses $pct% (limit 5%)"; exit 1; }
