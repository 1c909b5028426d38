#!/usr/bin/env bash
# Debian's unmodified redis-server with LD_PRELOAD=liblstack.so, listening on
# INADDR_ANY: redis-benchmark from the kernel peer (plain and pipelined), a
# 1 MiB value set and read back with redis-cli (sha256 compared), a PING
# over the lstack namespace's loopback, which only the kernel can carry (the
# INADDR_ANY listener must also listen on the kernel), and a client connected
# as redis stops hears its connection end.
#   apps_redis.sh LIBLSTACK VDEV INDEX RTC
set -u
. "$(dirname "$0")/lib.sh"
lib=$1 vdev=$2 idx=$3 rtc=$4
gz_require
gz_need redis-server redis-cli redis-benchmark
gz_setup "redis-$vdev-$rtc" "$idx"
gz_tmpdir dir
conf=$dir/lstack.conf log=$dir/redis-server.log out=$dir/out
gz_conf "$conf" "$vdev" "$rtc"
gz_lstack_env "$lib" "$conf" redis-server
gz_leftovers_mark
gz_bg ip netns exec "$GZ_NS_L" env "${GZ_ENV[@]}" redis-server --port 6379 --bind 0.0.0.0 --dir "$dir" \
  --save "3600 1" --appendonly no --protected-mode no --daemonize no >"$log" 2>&1
server=${GZ_PIDS[-1]}
gz_wait_server "$server" "$log" "Ready to accept connections" 60 || { gz_fail "redis-server did not come up (exited, or not ready in 60 s)"; gz_finish "$log"; }
# The first connection after "Ready" must work (no retry); without it nothing else can.
reply=$(timeout 10 ip netns exec "$GZ_NS_P" redis-cli -h "$GZ_HOST" ping 2>&1)
[ "$reply" = PONG ] || { gz_fail "redis-cli -h $GZ_HOST ping from the peer answered: ${reply:-nothing}"; gz_finish "$log"; }

# redis-benchmark --csv: a "TEST","rps","avg","min","p50","p95","p99","max" line
# per test (latencies in ms); it exits non-zero when a connection fails. No
# request may wait 2 s: a frame lost on the way out waits for lwIP's first
# retransmission timeout (3 s), as when net_af_xdp dropped what was sent from
# the mbufs outside its umem (dpdk_compat.hpp).
benchmark() {  # LABEL ARGS...
  local label=$1 rc t line
  shift
  timeout 45 ip netns exec "$GZ_NS_P" redis-benchmark -h "$GZ_HOST" -c 50 -n 100000 -t set,get --csv "$@" >"$out" 2>&1
  rc=$?
  [ "$rc" = 0 ] || { gz_fail "redis-benchmark $label: exit status $rc$([ "$rc" = 124 ] && echo ' (timed out after 45 s)')"; tr '\r' '\n' <"$out" | grep -v '^ *$' | tail -5; }
  for t in SET GET; do
    line=$(tr -d '"' <"$out" | grep "^$t," | tail -1)
    echo "  $label $t: ${line:-nothing}"
    awk -F, -v l="$line" 'BEGIN { split(l, f, ","); exit !(f[2] > 0) }' || { gz_fail "redis-benchmark $label: no $t result"; continue; }
    awk -F, -v l="$line" 'BEGIN { split(l, f, ","); exit !(f[8] < 2000) }' ||
      gz_fail "redis-benchmark $label $t: a request waited $(echo "$line" | cut -d, -f8) ms (a frame lost and sent again after 3 s?)"
  done
  if grep -qiE 'error|could not|reset|refused' "$out"; then
    gz_fail "redis-benchmark $label reported errors:"
    tr '\r' '\n' <"$out" | grep -iE 'error|could not|reset|refused' | sort | uniq -c | head -5
  fi
}
benchmark "-c 50"
benchmark "-c 50 -P 16" -P 16

# A 1 MiB binary value through redis-cli, then read back: redis-cli --raw ends it with "\n".
size=$((1 << 20))
head -c "$size" /dev/urandom >"$dir/big"
reply=$(timeout 20 ip netns exec "$GZ_NS_P" redis-cli -h "$GZ_HOST" -x set big <"$dir/big" 2>&1)
[ "$reply" = OK ] || gz_fail "redis-cli -x set big (1 MiB) answered: ${reply:-nothing}"
timeout 20 ip netns exec "$GZ_NS_P" redis-cli -h "$GZ_HOST" --raw get big >"$dir/got" 2>"$dir/got.err"
rc=$?
got=$(stat -c %s "$dir/got")
if [ "$rc" != 0 ] || [ "$got" != $((size + 1)) ]; then
  gz_fail "redis-cli --raw get big: exit status $rc, $got bytes instead of $((size + 1)); $(head -c 300 "$dir/got.err")"
else
  head -c "$size" "$dir/got" >"$dir/got.value"
  gz_same_sha256 "$dir/big" "$dir/got.value" || gz_fail "GET big returned other bytes than SET big"
fi

# From inside the lstack namespace, over the kernel's loopback.
reply=$(timeout 10 ip netns exec "$GZ_NS_L" redis-cli -h 127.0.0.1 -p 6379 ping 2>&1)
[ "$reply" = PONG ] || gz_fail "redis-cli -h 127.0.0.1 ping inside the lstack namespace (INADDR_ANY listener on the kernel too) answered: ${reply:-nothing}"

kill -0 "$server" 2>/dev/null || gz_fail "redis-server exited during the test"
# A client still connected when redis exits (it closes no client's connection:
# exit() ends them) hears it end, as from the kernel.
gz_hold 6379 "$dir/held.log" PING
# Stopped as systemd stops it: SIGTERM; with `save` set, redis writes its RDB and exits 0.
gz_stop_app "$server" 0 redis-server "$log"
gz_held_ended redis-server
grep -q 'DB saved on disk' "$log" && [ -s "$dir/dump.rdb" ] || gz_fail "redis-server did not save its RDB on SIGTERM"
gz_leftovers_check "${GZ_RUN_DIR:-}"
[ "$GZ_STATUS" = 0 ] && echo "apps-redis ($vdev, stack_mode_rtc=$rtc): all checks passed"
gz_finish "$log"
