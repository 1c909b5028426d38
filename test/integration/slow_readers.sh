#!/usr/bin/env bash
# Slow readers cannot wedge the stack (issue 8, item 5): with the smallest pool
# (4096 mbufs), 24 connections whose reader never reads fill their 512 KiB
# windows (more mbufs than the pool has); an echo connection beside them must
# still answer every round trip, and gazellectl must show that data was copied
# out of the mbufs under pressure.
#   slow_readers.sh LIBLSTACK GAZELLECTL INDEX RTC
set -u
. "$(dirname "$0")/lib.sh"
lib=$1 ctl=$2 idx=$3 rtc=$4
gz_require
gz_need /usr/bin/python3
gz_setup "slow-$rtc" "$idx"
gz_tmpdir dir
conf=$dir/lstack.conf
gz_conf "$conf" af_xdp "$rtc"
sed -i 's/^tcp_conn_count = .*/tcp_conn_count = 64;/' "$conf"  # 64 x 16 mbufs: the pool's floor, 4096
prog=$(dirname "$0")/slow_readers.py
gz_lstack_env "$lib" "$conf" python3
gz_bg ip netns exec "$GZ_NS_L" env "${GZ_ENV[@]}" /usr/bin/python3 "$prog" server >"$dir/server.log" 2>&1
server=${GZ_PIDS[-1]}
gz_wait_server "$server" "$dir/server.log" ready 60 || { gz_fail "the server did not come up"; gz_finish "$dir/server.log"; }
timeout 60 ip netns exec "$GZ_NS_P" python3 "$prog" client "$GZ_HOST" 24 || gz_fail "the echo connection did not get through beside the unread ones"
GAZELLE_RUN_DIR="$GZ_RUN_DIR" timeout 20 "$ctl" lstack show --json >"$dir/ctl.out" 2>&1 || gz_fail "gazellectl lstack show failed: $(head -3 "$dir/ctl.out")"
copied=$(gz_ctl_total "$dir/ctl.out" rx_copied)
echo "  gazellectl: $copied segments copied out of mbufs under pool pressure"
[ "$copied" -gt 0 ] || gz_fail "no segment was copied out under pressure: the test did not press the pool"
gz_stop_app "$server" 0 "the python server" "$dir/server.log"
[ "$GZ_STATUS" = 0 ] && echo "slow-readers (stack_mode_rtc=$rtc): all checks passed"
gz_finish "$dir/server.log" "$dir/ctl.out"
