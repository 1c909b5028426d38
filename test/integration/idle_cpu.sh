#!/usr/bin/env bash
# low_power_mode=1: an idle lstack process (gz-echo server, no traffic) uses
# under 5% of a core, measured from /proc/PID/stat over 5 s; and its sleeping
# stack answers an echo after 20 ms of quiet at most 300 us (median of 40)
# slower than a polling one (low_power_mode=0, the yardstick, measured after;
# a sleep that only its timeout ends adds up to 1 ms: 1,001 us against 151
# with the rx wake taken out).
# low_power_mode=0: a stack polling with nothing coming asks net_af_xdp's
# driver (a recvfrom() each empty receive) at most about 1,000 times a second.
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

# An idle stack sleeps, but the next frame wakes it (net_af_xdp's queue socket
# polled readable; before, a timed sleep of up to 1 ms): 40 echoes, each after
# 20 ms of quiet, then the process stops as users stop it (SIGTERM).
# Prints the median and the slowest round trip in us.
echo_rtts() {
  ip netns exec "$GZ_NS_P" timeout 30 /usr/bin/python3 -c '
import socket, sys, time
s = socket.create_connection((sys.argv[1], 7), timeout=5)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
rtts = []
for i in range(40):
    time.sleep(0.02)
    t = time.perf_counter()
    s.sendall(b"x" * 64)
    got = b""
    while len(got) < 64:
        got += s.recv(64 - len(got))
    rtts.append((time.perf_counter() - t) * 1e6)
rtts.sort()
print("%d %d" % (rtts[len(rtts) // 2], rtts[-1]))' "$GZ_HOST" 2>&1
}
rtts=$(echo_rtts)
echo "echo after 20 ms of quiet, sleeping stack (stack_mode_rtc=$rtc): p50 and max round trip in us: $rtts"
gz_stop_app "$pid" 0 "gz-echo" "$log"

# low_power_mode=0 polls on. An empty rx ring is seen in shared memory (the
# driver's own look made a system call, 100,000s a second); the driver still
# gets one call a millisecond, for preferred busy polling. Counted with perf
# (tools/bootstrap installs it) over 2 s of quiet.
sed -i 's/^low_power_mode = 1;/low_power_mode = 0;/' "$conf"
log2=$(mktemp)
gz_bg ip netns exec "$GZ_NS_L" env LSTACK_CONF_PATH="$conf" GAZELLE_RUN_DIR="$(mktemp -d)" "$echo_bin" server 7 >"$log2" 2>&1
gz_wait_line "$log2" ready 60 || { cat "$log2"; echo "FAIL: lstack did not come up (low_power_mode=0)"; exit 1; }
pid=${GZ_PIDS[-1]}
sleep 1
calls=$(perf stat -x, -e syscalls:sys_enter_recvfrom -p "$pid" -- sleep 2 2>&1 >/dev/null | awk -F, '/sys_enter_recvfrom/ {print $1}')
echo "driver calls of a polling stack with nothing coming (stack_mode_rtc=$rtc): $calls recvfrom() in 2 s"
case $calls in
  ''|*[!0-9]*) gz_fail "perf could not count recvfrom() calls: '$calls'" ;;
  *) [ "$calls" -le 6000 ] || gz_fail "a polling stack made $calls recvfrom() calls in 2 s (want <= 6000: an empty rx ring needs no system call)" ;;
esac
rtts_poll=$(echo_rtts)
echo "echo after 20 ms of quiet, polling stack (stack_mode_rtc=$rtc): p50 and max round trip in us: $rtts_poll"
gz_stop_app "$pid" 0 "gz-echo" "$log2"
p50=${rtts%% *} p50_poll=${rtts_poll%% *}
if [[ $p50 =~ ^[0-9]+$ && $p50_poll =~ ^[0-9]+$ ]]; then
  [ "$p50" -lt $((p50_poll + 300)) ] \
    || gz_fail "an idle stack answered in $p50 us at the median, a polling one in $p50_poll (want < $((p50_poll + 300)): the frame should wake it)"
else
  gz_fail "the echo client failed: '$rtts' / '$rtts_poll'"
fi
gz_finish "$log" "$log2"
