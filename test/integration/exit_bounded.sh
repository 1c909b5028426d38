#!/usr/bin/env bash
# Exit is bounded (issue 8, item 1): a run-to-completion program (python3 under
# liblstack) connects, then stops calling lstack (it sleeps, so nobody drives
# its stack) while gazellectl asks for its counters; gazellectl must answer and
# the program, returning from main, must exit 0 at once.
#   exit_bounded.sh LIBLSTACK GAZELLECTL INDEX
set -u
. "$(dirname "$0")/lib.sh"
lib=$1 ctl=$2 idx=$3
gz_require
gz_need /usr/bin/python3
gz_setup "exitb" "$idx"
gz_tmpdir dir
gz_conf "$dir/lstack.conf" af_xdp 1
gz_bg ip netns exec "$GZ_NS_P" python3 "$(dirname "$0")/peer.py" server 9000 >"$dir/peer.log" 2>&1
gz_wait_line "$dir/peer.log" "echo server" 30 || { gz_fail "peer did not start"; gz_finish "$dir/peer.log"; }
gz_lstack_env "$lib" "$dir/lstack.conf" python3
cat >"$dir/prog.py" <<PY
import socket, sys, time
s = socket.create_connection(("$GZ_PEER", 9000), timeout=5)
s.sendall(b"ping")
assert s.recv(4) == b"ping"
print("connected", flush=True)
time.sleep(4)   # not driving the stack: gazellectl asks meanwhile
print("leaving main", flush=True)
PY
gz_bg ip netns exec "$GZ_NS_L" env "${GZ_ENV[@]}" /usr/bin/python3 "$dir/prog.py" >"$dir/prog.log" 2>&1
prog=${GZ_PIDS[-1]}
gz_wait_server "$prog" "$dir/prog.log" connected 30 || { gz_fail "the program did not connect"; gz_finish "$dir/prog.log"; }
t0=$SECONDS
GAZELLE_RUN_DIR="$GZ_RUN_DIR" timeout 20 "$ctl" lstack show >"$dir/ctl.out" 2>&1
rc=$?
[ "$rc" = 0 ] || gz_fail "gazellectl lstack show: exit status $rc$([ "$rc" = 124 ] && echo ' (hung 20 s)') $(head -3 "$dir/ctl.out")"
echo "  gazellectl answered in $((SECONDS - t0)) s while the stack's owner slept"
gz_wait_exit "$prog" 0 "python3 returning from main" "$dir/prog.log"
grep -q "leaving main" "$dir/prog.log" || gz_fail "the program did not reach the end of main"
[ "$GZ_STATUS" = 0 ] && echo "exit-bounded: all checks passed"
gz_finish "$dir/prog.log" "$dir/ctl.out"
