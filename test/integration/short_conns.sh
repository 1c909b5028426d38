#!/usr/bin/env bash
# Short connections one after the other (issue 8, item 6): COUNT connections
# from the kernel peer to gz-echo on lstack, each connects, echoes 32 bytes and
# ends, first with the client closing first, then with the server closing first
# (lstack then holds TIME_WAIT while the client may reuse its port). Every one
# must connect and echo within 3 s (an unanswered SYN costs the client 1 s).
#   short_conns.sh GZ_ECHO INDEX RTC COUNT
set -u
. "$(dirname "$0")/lib.sh"
echo_bin=$1 idx=$2 rtc=$3 count=$4
gz_require
gz_setup "short-$rtc" "$idx"
gz_tmpdir dir
peer=$(dirname "$0")/peer.py
for who in client server; do
  conf=$dir/lstack-$who.conf log=$dir/server-$who.log
  gz_conf "$conf" af_xdp "$rtc"
  mode=$([ "$who" = server ] && echo close)
  gz_bg ip netns exec "$GZ_NS_L" env LSTACK_CONF_PATH="$conf" GAZELLE_RUN_DIR="$dir" "$echo_bin" server 7 $mode >"$log" 2>&1
  server=${GZ_PIDS[-1]}
  gz_wait_server "$server" "$log" ready 60 || { gz_fail "gz-echo did not come up"; gz_finish "$log"; }
  # Server closing first: lstack keeps TIME-WAIT; 200 client ports make the
  # client come back on a port lstack still holds, many times over.
  [ "$who" = server ] && ip netns exec "$GZ_NS_P" sysctl -qw net.ipv4.ip_local_port_range="40000 40199"
  timeout 700 ip netns exec "$GZ_NS_P" python3 "$peer" sequential "$GZ_HOST" 7 "$count" "$who" || gz_fail "short connections, $who closing first"
  gz_stop_app "$server" 0 gz-echo "$log"
done
[ "$GZ_STATUS" = 0 ] && echo "short-conns (stack_mode_rtc=$rtc): all checks passed"
gz_finish "$dir"/server-*.log
