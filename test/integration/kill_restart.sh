#!/usr/bin/env bash
# Nothing left behind (issue 8, item 2): redis-server under liblstack is killed
# with SIGKILL in the middle of a benchmark, started again at once (it must
# serve), then stopped with SIGTERM; afterwards the free hugepages, the DPDK
# hugepage files and runtime directory, the control sockets and the XDP program
# on the veth are as they were before the first start.
#   kill_restart.sh LIBLSTACK INDEX STYLE(gazelle|inmem)
set -u
. "$(dirname "$0")/lib.sh"
lib=$1 idx=$2
export GZ_DPDK_STYLE=$3
gz_require
gz_need redis-server redis-cli redis-benchmark
gz_setup "killrestart-$3" "$idx"
gz_tmpdir dir
conf=$dir/lstack.conf
gz_conf "$conf" af_xdp 0
gz_lstack_env "$lib" "$conf" redis-server
gz_leftovers_mark

start() {  # LOG: starts redis-server, sets $server; fails the test if it does not answer
  gz_bg ip netns exec "$GZ_NS_L" env "${GZ_ENV[@]}" redis-server --port 6379 --bind 0.0.0.0 --dir "$dir" \
    --save "" --appendonly no --protected-mode no --daemonize no >"$1" 2>&1
  server=${GZ_PIDS[-1]}
  gz_wait_server "$server" "$1" "Ready to accept connections" 30 || { gz_fail "redis-server did not come up: $(tail -3 "$1")"; gz_finish "$1"; }
  local reply
  reply=$(timeout 10 ip netns exec "$GZ_NS_P" redis-cli -h "$GZ_HOST" ping 2>&1)
  [ "$reply" = PONG ] || { gz_fail "redis-cli ping after start answered: ${reply:-nothing}"; gz_finish "$1"; }
}

start "$dir/first.log"
timeout 30 ip netns exec "$GZ_NS_P" redis-benchmark -h "$GZ_HOST" -c 20 -n 2000000 -t set -q >/dev/null 2>&1 &
bench=$!
sleep 2
kill -KILL "$server"
wait "$server" 2>/dev/null
kill "$bench" 2>/dev/null; wait "$bench" 2>/dev/null
echo "  killed redis-server (SIGKILL) during redis-benchmark"

t0=$SECONDS
start "$dir/second.log"
echo "  restarted and answering after $((SECONDS - t0)) s"
timeout 30 ip netns exec "$GZ_NS_P" redis-benchmark -h "$GZ_HOST" -c 20 -n 20000 -t set,get -q >"$dir/bench.out" 2>&1 \
  || gz_fail "redis-benchmark against the restarted server failed: $(tr '\r' '\n' <"$dir/bench.out" | tail -2)"
gz_stop_app "$server" 0 redis-server "$dir/second.log"
gz_leftovers_check "$GZ_RUN_DIR"
[ "$GZ_STATUS" = 0 ] && echo "kill-restart ($GZ_DPDK_STYLE): all checks passed"
gz_finish "$dir/first.log" "$dir/second.log"
