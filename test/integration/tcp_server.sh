#!/usr/bin/env bash
# lstack as a TCP server (gz-echo, plain POSIX code linked with liblstack):
# CONNS concurrent connections from the kernel peer each echo BYTES, every byte
# checked; then one stream of STREAM bytes each way with sha256 compared.
#   tcp_server.sh GZ_ECHO VDEV INDEX RTC CONNS BYTES STREAM [CPUS]
set -u
. "$(dirname "$0")/lib.sh"
echo_bin=$1 vdev=$2 idx=$3 rtc=$4 conns=$5 bytes=$6 stream=$7 cpus=${8:-1}
gz_require
gz_setup "tcps-$vdev-$rtc" "$idx"
conf=$(mktemp) log=$(mktemp)
gz_conf "$conf" "$vdev" "$rtc" "$cpus"
gz_bg ip netns exec "$GZ_NS_L" env LSTACK_CONF_PATH="$conf" GAZELLE_RUN_DIR="$(mktemp -d)" "$echo_bin" server 7 >"$log" 2>&1
gz_wait_line "$log" ready 60 || { cat "$log"; echo "FAIL: lstack did not come up"; exit 1; }
peer=$(dirname "$0")/peer.py
status=0
timeout 300 ip netns exec "$GZ_NS_P" python3 "$peer" clients "$GZ_HOST" 7 "$conns" "$bytes" || { echo "FAIL: concurrent echo"; status=1; }
timeout 900 ip netns exec "$GZ_NS_P" python3 "$peer" stream "$GZ_HOST" 7 "$stream" || { echo "FAIL: stream"; status=1; }
[ $status = 0 ] || cat "$log"
exit $status
