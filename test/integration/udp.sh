#!/usr/bin/env bash
# lstack UDP: gz-echo udp-server echoes COUNT datagrams from the kernel peer
# (at most 32 in flight); every echo checked, loss counted and reported, and
# a run with more than 1% loss fails.
#   udp.sh GZ_ECHO VDEV INDEX RTC COUNT [CPUS]   (CPUS "0,1": two stacks; 16 source ports then,
#   so that datagrams land on both queues and must reach the stack holding the socket)
set -u
. "$(dirname "$0")/lib.sh"
echo_bin=$1 vdev=$2 idx=$3 rtc=$4 count=$5 cpus=${6:-1}
flows=1
[ "$cpus" = 1 ] || flows=16
gz_require
gz_setup "udp-$vdev-$rtc" "$idx" "$(gz_queues "$cpus")"
conf=$(mktemp) log=$(mktemp) out=$(mktemp)
gz_conf "$conf" "$vdev" "$rtc" "$cpus"
gz_bg ip netns exec "$GZ_NS_L" env LSTACK_CONF_PATH="$conf" GAZELLE_RUN_DIR="$(mktemp -d)" "$echo_bin" udp-server 5000 >"$log" 2>&1
gz_wait_line "$log" ready 60 || { cat "$log"; echo "FAIL: lstack did not come up"; exit 1; }
timeout 300 ip netns exec "$GZ_NS_P" python3 "$(dirname "$0")/peer.py" udp "$GZ_HOST" 5000 "$count" 512 "$flows" | tee "$out"
lost=$(sed -n 's/.* \([0-9]*\) lost.*/\1/p' "$out")
[ -n "$lost" ] || { echo "FAIL: no result"; exit 1; }
[ $((lost * 100)) -le "$count" ] || { echo "FAIL: $lost of $count datagrams lost"; exit 1; }
grep -q " 0 corrupt" "$out" || { echo "FAIL: corrupt datagrams"; exit 1; }
