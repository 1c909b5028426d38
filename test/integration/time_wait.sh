#!/usr/bin/env bash
# TIME-WAIT stays bounded (lwIP patch 0014): COUNT short connections to gz-echo on
# lstack, the server closing each first, every one from a 4-tuple of its own (three
# peer addresses, a port each), faster than TIME-WAIT's 60 s lets any go: past
# 32,768 (TCP_TW_MAX) the oldest end early. Every connection must be echoed and
# closed; then the stack holds exactly 32,768 in TIME-WAIT, counts the rest as
# tw_recycled, and its lwIP memory stays within what they take. Gazelle's dpdk_args
# (hugetlbfs files, --file-prefix), a stack thread; stopped by SIGTERM.
#   time_wait.sh GZ_ECHO GAZELLECTL INDEX COUNT
set -u
. "$(dirname "$0")/lib.sh"
echo_bin=$1 ctl=$2 idx=$3 count=$4
tw_max=32768
gz_require
gz_need /usr/bin/python3
gz_setup "tw" "$idx"
peers=("$GZ_PEER" "${GZ_PEER%.*}.3" "${GZ_PEER%.*}.4")
for a in "${peers[@]:1}"; do ip -n "$GZ_NS_P" addr add "$a/24" dev "$GZ_IF_P"; done
gz_tmpdir dir
GZ_DPDK_STYLE=gazelle gz_conf "$dir/lstack.conf" af_xdp 0
gz_tmpdir GZ_RUN_DIR
gz_leftovers_mark
gz_bg ip netns exec "$GZ_NS_L" env LSTACK_CONF_PATH="$dir/lstack.conf" GAZELLE_RUN_DIR="$GZ_RUN_DIR" \
  "$echo_bin" server 7 close >"$dir/server.log" 2>&1
pid=${GZ_PIDS[-1]}
gz_wait_server "$pid" "$dir/server.log" ready 60 || { gz_fail "gz-echo did not come up"; gz_finish "$dir/server.log"; }
show() {  # EXPR over the JSON of gazellectl lstack show (its first stack: s)
  GAZELLE_RUN_DIR="$GZ_RUN_DIR" timeout 30 "$ctl" lstack show "$pid" --json |
    /usr/bin/python3 -c 'import json, sys; d = json.load(sys.stdin); s = d["stacks"][0]; print(eval(sys.argv[1]))' "$1"
}
mem0=$(show 's["lwip_memory_in_use"]')

timeout 400 ip netns exec "$GZ_NS_P" /usr/bin/python3 "$(dirname "$0")/peer.py" churn "$GZ_HOST" 7 "$count" 20000 \
  "${peers[@]}" >"$dir/client.log" 2>&1 || gz_fail "the short connections: $(tail -n 4 "$dir/client.log")"
sed 's/^/  /' "$dir/client.log"
tw=$(show 's["tcp"]["TIME-WAIT"]') recycled=$(show 's["counters"]["tw_recycled"]') mem1=$(show 's["lwip_memory_in_use"]')
echo "  server: TIME-WAIT $tw, tw_recycled $recycled, lwIP memory in use $mem0 -> $mem1 bytes"
took=$(sed -n 's/^churn: .* in \([0-9]*\)\.[0-9] s,.*/\1/p' "$dir/client.log")
if [ "${took:-99}" -lt 55 ]; then
  # All within 60 s: none has left TIME-WAIT by its timer yet.
  [ "$tw" = "$tw_max" ] || gz_fail "$tw connections in TIME-WAIT after $count, want the bound $tw_max"
  [ "$recycled" = $((count - tw_max)) ] || gz_fail "tw_recycled $recycled, want $((count - tw_max)) (the connections past the bound)"
else  # a slow machine: some left by the timer
  [ "$tw" -le "$tw_max" ] && [ "$recycled" -le $((count - tw_max)) ] ||
    gz_fail "TIME-WAIT $tw (bound $tw_max), tw_recycled $recycled after $count connections in ${took:-?} s"
fi
# 512 bytes of lwIP memory each (a pcb, 312 bytes, in the arena's 512-byte class), the 4-tuple hash besides.
[ "$mem1" -le $((mem0 + tw_max * 512 + (1 << 20))) ] ||
  gz_fail "lwIP memory grew by $((mem1 - mem0)) bytes for $tw_max TIME-WAIT connections, want at most $((tw_max * 512 + (1 << 20)))"

# A client port that comes round again while its connection is in TIME-WAIT is served (RFC 6191).
reply=$(timeout 10 ip netns exec "$GZ_NS_P" /usr/bin/python3 -c '
import socket, sys
s = socket.socket(); s.settimeout(5); s.bind((sys.argv[3], int(sys.argv[4])))
s.connect((sys.argv[1], int(sys.argv[2]))); s.sendall(b"again"); print(s.recv(16).decode())' \
  "$GZ_HOST" 7 "${peers[2]}" $((20000 + count / 3 - 1)) 2>&1)
[ "$reply" = again ] || gz_fail "a reused 4-tuple in TIME-WAIT: $reply"

gz_stop_app "$pid" 0 "the echo server" "$dir/server.log"
gz_leftovers_check "$GZ_RUN_DIR"
[ "$GZ_STATUS" = 0 ] && echo "time-wait: all checks passed"
gz_finish "$dir/server.log"
