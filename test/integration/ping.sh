#!/usr/bin/env bash
# ping from the kernel peer to lstack's host_addr: 64 B, and 8000 B (IP
# fragments, reassembled by lstack and answered in fragments).
#   ping.sh GZ_ECHO VDEV INDEX [RTC]
set -u
. "$(dirname "$0")/lib.sh"
echo_bin=$1 vdev=$2 idx=$3 rtc=${4:-0}
gz_require
gz_setup "ping-$vdev-$rtc" "$idx"
conf=$(mktemp) log=$(mktemp)
gz_conf "$conf" "$vdev" "$rtc"
gz_bg ip netns exec "$GZ_NS_L" env LSTACK_CONF_PATH="$conf" GAZELLE_RUN_DIR="$(mktemp -d)" "$echo_bin" server 7 >"$log" 2>&1
gz_wait_line "$log" ready 60 || { cat "$log"; echo "FAIL: lstack did not come up"; exit 1; }
status=0
for size in 56 8000; do
  if ip netns exec "$GZ_NS_P" ping -n -q -c 5 -i 0.2 -W 2 -s "$size" "$GZ_HOST"; then
    echo "ok: ping -s $size answered"
  else
    echo "FAIL: ping -s $size"; status=1
  fi
done
exit $status
