#!/usr/bin/env bash
# nginx as Debian runs it by default: `daemon on` (the started process forks
# the master and exits; the master forks the worker) with LD_PRELOAD. lstack
# must start in the worker only: the peer downloads 10 MiB three times
# (sha256 checked), a loopback client on the server's side is served through
# the kernel half of the INADDR_ANY listener, and SIGQUIT stops it cleanly.
#   apps_nginx_daemon.sh LIBLSTACK INDEX
set -u
. "$(dirname "$0")/lib.sh"
lib=$1 idx=$2
gz_require
gz_need nginx curl
gz_setup "nginxd" "$idx"
gz_tmpdir dir
gz_conf "$dir/lstack.conf" af_xdp 0
gz_nginx_site "$dir" 80
sed -i 's/^daemon off;/daemon on;/' "$dir/nginx.conf"
gz_lstack_env "$lib" "$dir/lstack.conf" nginx
timeout 30 ip netns exec "$GZ_NS_L" env "${GZ_ENV[@]}" nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" \
  >"$dir/start.out" 2>&1
rc=$?
[ "$rc" = 0 ] || { gz_fail "nginx (daemon on) exited with $rc at start"; gz_finish "$dir/start.out" "$dir/error.log"; }
gz_retry 10 test -s "$dir/nginx.pid" || { gz_fail "no nginx.pid"; gz_finish "$dir/error.log"; }
master=$(cat "$dir/nginx.pid")
GZ_PIDS+=("$master")  # teardown stops it (and its worker) should a check fail
page_ok() { [ "$(ip netns exec "$GZ_NS_P" curl -s --max-time 2 "http://$GZ_HOST/small.html")" = "$(cat "$dir/www/small.html")" ]; }
gz_retry 30 page_ok || { gz_fail "the daemonized nginx did not serve the peer within 30 s"; gz_finish "$dir/error.log"; }
for i in 1 2 3; do
  rm -f "$dir/got.bin"
  timeout 60 ip netns exec "$GZ_NS_P" curl -sS -f --max-time 50 -o "$dir/got.bin" "http://$GZ_HOST/big.bin" \
    || gz_fail "download $i of big.bin failed"
  gz_same_sha256 "$dir/www/big.bin" "$dir/got.bin" || gz_fail "download $i of big.bin: other bytes"
done
got=$(timeout 10 ip netns exec "$GZ_NS_L" curl -s --max-time 5 "http://127.0.0.1/small.html")
[ "$got" = "$(cat "$dir/www/small.html")" ] || gz_fail "loopback GET on the server's side: '${got:-nothing}'"
[ -n "$(gz_descendants "$master")" ] || gz_fail "the master has no worker"
kill -QUIT "$master"
gz_retry 10 bash -c "! kill -0 $master 2>/dev/null" || gz_fail "nginx did not stop on SIGQUIT within 10 s"
grep -q "exited with fatal code" "$dir/error.log" && gz_fail "a worker exited with a fatal code"
[ "$GZ_STATUS" = 0 ] && echo "apps-nginx-daemon: all checks passed"
gz_finish "$dir/error.log"
