#!/usr/bin/env bash
# lstack as a TCP client: gz-echo (linked with liblstack) connects out to a
# kernel echo server in the peer namespace; CONNS connections each echo BYTES.
#   tcp_client.sh GZ_ECHO VDEV INDEX RTC CONNS BYTES [CPUS]
set -u
. "$(dirname "$0")/lib.sh"
echo_bin=$1 vdev=$2 idx=$3 rtc=$4 conns=$5 bytes=$6 cpus=${7:-1}
gz_require
gz_setup "tcpc-$vdev-$rtc" "$idx"
conf=$(mktemp) plog=$(mktemp)
gz_conf "$conf" "$vdev" "$rtc" "$cpus"
gz_bg ip netns exec "$GZ_NS_P" python3 "$(dirname "$0")/peer.py" server 9000 >"$plog" 2>&1
gz_wait_line "$plog" "echo server" 30 || { cat "$plog"; echo "FAIL: peer server did not start"; exit 1; }
if timeout 300 ip netns exec "$GZ_NS_L" env LSTACK_CONF_PATH="$conf" GAZELLE_RUN_DIR="$(mktemp -d)" "$echo_bin" client "$GZ_PEER" 9000 "$conns" "$bytes"; then
  exit 0
fi
echo "FAIL: lstack client"
exit 1
