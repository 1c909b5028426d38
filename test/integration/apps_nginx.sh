#!/usr/bin/env bash
# Debian's unmodified nginx (master + one worker: the listening socket is made
# by the master, used by the forked worker) with LD_PRELOAD=liblstack.so,
# `listen 80;` on INADDR_ANY, sendfile on. From the kernel peer: a 10 MiB file
# with curl (sha256 compared), then wrk on a small page for 10 s, which must
# see no socket errors and only 2xx answers.
#   apps_nginx.sh LIBLSTACK VDEV INDEX RTC
set -u
. "$(dirname "$0")/lib.sh"
lib=$1 vdev=$2 idx=$3 rtc=$4
gz_require
gz_need nginx curl wrk
gz_setup "nginx-$vdev-$rtc" "$idx"
gz_tmpdir dir
conf=$dir/lstack.conf log=$dir/nginx.out
gz_conf "$conf" "$vdev" "$rtc"
gz_nginx_site "$dir" 80
gz_lstack_env "$lib" "$conf" nginx
gz_leftovers_mark
gz_bg ip netns exec "$GZ_NS_L" env "${GZ_ENV[@]}" nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >"$log" 2>&1
master=${GZ_PIDS[-1]}
logs=("$log" "$dir/error.log" "$dir/access.log")

page_ok() {
  [ "$(ip netns exec "$GZ_NS_P" curl -s --max-time 2 "http://$GZ_HOST/small.html")" = "$(cat "$dir/www/small.html")" ]
}
up_or_gone() { ! kill -0 "$master" 2>/dev/null || page_ok; }
gz_retry 30 up_or_gone
kill -0 "$master" 2>/dev/null || { gz_fail "nginx exited at start"; gz_finish "${logs[@]}"; }
page_ok || { gz_fail "nginx did not serve http://$GZ_HOST/small.html within 30 s"; gz_finish "${logs[@]}"; }

timeout 60 ip netns exec "$GZ_NS_P" curl -sS -f --max-time 50 -o "$dir/got.bin" "http://$GZ_HOST/big.bin" 2>"$dir/curl.err"
rc=$?
if [ "$rc" != 0 ]; then
  gz_fail "curl http://$GZ_HOST/big.bin (10 MiB): exit status $rc: $(cat "$dir/curl.err")"
else
  gz_same_sha256 "$dir/www/big.bin" "$dir/got.bin" || gz_fail "big.bin came back with other bytes"
fi

# wrk prints "N requests in 10.00s" and, only when there were any, "Socket errors: ..."
# and "Non-2xx or 3xx responses: N".
timeout 40 ip netns exec "$GZ_NS_P" wrk -t1 -c10 -d10s --timeout 5s "http://$GZ_HOST/small.html" >"$dir/wrk.out" 2>&1
rc=$?
sed 's/^/  wrk: /' "$dir/wrk.out"
requests=$(awk '/requests in/ {print $1}' "$dir/wrk.out")
[ "$rc" = 0 ] || gz_fail "wrk exit status $rc$([ "$rc" = 124 ] && echo ' (timed out after 40 s)')"
[ "${requests:-0}" -gt 0 ] 2>/dev/null || gz_fail "wrk completed no request"
grep -q 'Socket errors' "$dir/wrk.out" && gz_fail "wrk: $(grep 'Socket errors' "$dir/wrk.out" | sed 's/^ *//')"
grep -q 'Non-2xx' "$dir/wrk.out" && gz_fail "wrk: $(grep 'Non-2xx' "$dir/wrk.out" | sed 's/^ *//')"

kill -0 "$master" 2>/dev/null || gz_fail "the nginx master exited during the test"
[ -n "$(gz_descendants "$master")" ] || gz_fail "no nginx worker process left at the end"
# Stopped as its init script does: nginx -s quit (graceful; the worker, which runs lstack, exits first).
ip netns exec "$GZ_NS_L" nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" -s quit >>"$log" 2>&1 \
  || gz_fail "nginx -s quit failed"
gz_wait_exit "$master" 0 nginx "${logs[@]}"
grep -qE '\[(alert|emerg)\]|exited on signal' "$dir/error.log" && gz_fail "nginx error.log: $(grep -m2 -E '\[(alert|emerg)\]|exited on signal' "$dir/error.log")"
gz_leftovers_check "${GZ_RUN_DIR:-}"
[ "$GZ_STATUS" = 0 ] && echo "apps-nginx ($vdev, stack_mode_rtc=$rtc): all checks passed"
gz_finish "${logs[@]}"
