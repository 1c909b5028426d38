#!/usr/bin/env bash
# lstack as the client side of Debian's unmodified programs: kernel nginx and
# redis-server in the peer namespace; in the lstack namespace curl (10 MiB
# download, sha256 compared) and redis-benchmark (50 clients, SET and GET)
# run with LD_PRELOAD=liblstack.so, each its own lstack process.
#   apps_clients.sh LIBLSTACK VDEV INDEX RTC
set -u
. "$(dirname "$0")/lib.sh"
lib=$1 vdev=$2 idx=$3 rtc=$4
gz_require
gz_need nginx redis-server redis-benchmark curl
gz_setup "clients-$vdev-$rtc" "$idx"
gz_tmpdir dir
conf=$dir/lstack.conf
gz_conf "$conf" "$vdev" "$rtc"
gz_nginx_site "$dir" "$GZ_PEER:80"
gz_bg ip netns exec "$GZ_NS_P" nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/nginx.out" 2>&1
gz_bg ip netns exec "$GZ_NS_P" redis-server --port 6379 --bind "$GZ_PEER" --dir "$dir" --save "" --appendonly no \
  --protected-mode no --daemonize no >"$dir/redis-server.log" 2>&1
logs=("$dir/curl.err" "$dir/redis-benchmark.out" "$dir/nginx.out" "$dir/error.log" "$dir/redis-server.log")
gz_wait_server "${GZ_PIDS[-1]}" "$dir/redis-server.log" "Ready to accept connections" 30 || { gz_fail "kernel redis-server did not start"; gz_finish "${logs[@]}"; }
gz_retry 30 ip netns exec "$GZ_NS_P" curl -sf --max-time 2 -o /dev/null "http://$GZ_PEER/small.html" \
  || { gz_fail "kernel nginx did not start"; gz_finish "${logs[@]}"; }

gz_lstack_env "$lib" "$conf" curl
gz_leftovers_mark
timeout 60 ip netns exec "$GZ_NS_L" env "${GZ_ENV[@]}" curl -sS -f --max-time 50 -o "$dir/got.bin" \
  "http://$GZ_PEER/big.bin" 2>"$dir/curl.err"
rc=$?
if [ "$rc" != 0 ]; then
  gz_fail "curl (lstack) http://$GZ_PEER/big.bin (10 MiB): exit status $rc$([ "$rc" = 124 ] && echo ' (timed out after 60 s)'): $(head -c 500 "$dir/curl.err")"
else
  if gz_same_sha256 "$dir/www/big.bin" "$dir/got.bin"; then
    echo "  curl (lstack): 10 MiB downloaded, sha256 equal"
  else
    gz_fail "curl (lstack) downloaded other bytes than big.bin"
  fi
fi
gz_no_crash "curl (lstack)" "$dir/curl.err"
gz_leftovers_check "${GZ_RUN_DIR:-}"

gz_lstack_env "$lib" "$conf" redis-benchmark
timeout 60 ip netns exec "$GZ_NS_L" env "${GZ_ENV[@]}" redis-benchmark -h "$GZ_PEER" -c 50 -n 100000 -t set,get -q \
  >"$dir/redis-benchmark.out" 2>&1
rc=$?
tr '\r' '\n' <"$dir/redis-benchmark.out" | grep -E '^(SET|GET): [0-9.]+ requests per second' | sed 's/^/  redis-benchmark (lstack): /'
[ "$rc" = 0 ] || gz_fail "redis-benchmark (lstack): exit status $rc$([ "$rc" = 124 ] && echo ' (timed out after 60 s)')"
for t in SET GET; do
  rps=$(tr '\r' '\n' <"$dir/redis-benchmark.out" | sed -n "s/^$t: \([0-9.]*\) requests per second.*/\1/p" | tail -1)
  awk -v r="${rps:-0}" 'BEGIN { exit !(r > 0) }' || gz_fail "redis-benchmark (lstack): no $t result"
done
grep -qiE 'error|could not|reset|refused' "$dir/redis-benchmark.out" \
  && gz_fail "redis-benchmark (lstack) reported: $(tr '\r' '\n' <"$dir/redis-benchmark.out" | grep -iE 'error|could not|reset|refused' | sort | uniq -c | head -3)"

gz_no_crash "redis-benchmark (lstack)" "$dir/redis-benchmark.out"
gz_leftovers_check "${GZ_RUN_DIR:-}"
[ "$GZ_STATUS" = 0 ] && echo "apps-clients ($vdev, stack_mode_rtc=$rtc): all checks passed"
gz_finish "${logs[@]}"
