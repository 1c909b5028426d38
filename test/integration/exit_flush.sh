#!/usr/bin/env bash
# What a program sent goes out after it exits, as on the kernel: python3 under
# liblstack writes 4 MiB to a peer that reads nothing for 300 ms, then 64 KiB
# every 10 ms, closes the socket and returns from main at once, so that a send
# buffer's worth is still in lstack when the process exits. The peer must get
# every byte, then EOF (before, the stack went with the process and the peer
# saw a truncated stream). Run in
# the stack-thread layout with Gazelle's dpdk_args and run to completion with
# --in-memory (tools/test swaps the two under the sanitizers).
#   exit_flush.sh LIBLSTACK RTC INDEX
set -u
. "$(dirname "$0")/lib.sh"
lib=$1 rtc=$2 idx=$3
gz_require
gz_need /usr/bin/python3
gz_setup "exitf$rtc" "$idx"
gz_tmpdir dir
gz_conf "$dir/lstack.conf" af_xdp "$rtc"
gz_bg ip netns exec "$GZ_NS_P" python3 "$(dirname "$0")/peer.py" sink 9100 300 10 >"$dir/peer.log" 2>&1
peer=${GZ_PIDS[-1]}
gz_wait_line "$dir/peer.log" "sink on" 30 || { gz_fail "peer did not start"; gz_finish "$dir/peer.log"; }
gz_lstack_env "$lib" "$dir/lstack.conf" python3
data='bytes(range(256)) * 16384'  # 4 MiB, as python builds it here and in the program
cat >"$dir/prog.py" <<PY
import socket
s = socket.create_connection(("$GZ_PEER", 9100), timeout=10)
s.sendall($data)
s.close()
print("sent and closed", flush=True)
PY
want=$(python3 -c "import hashlib; print(hashlib.sha256($data).hexdigest())")
gz_bg ip netns exec "$GZ_NS_L" env "${GZ_ENV[@]}" /usr/bin/python3 "$dir/prog.py" >"$dir/prog.log" 2>&1
prog=${GZ_PIDS[-1]}
gz_wait_exit "$prog" 0 "python3 returning from main after its close()" "$dir/prog.log"
grep -q "sent and closed" "$dir/prog.log" || gz_fail "the program did not send it all: $(tail -3 "$dir/prog.log")"
gz_wait_exit "$peer" 0 "the peer reading to EOF" "$dir/peer.log"
got=$(sed -n 's/^peer: sink got \([0-9]*\) bytes sha256 \([0-9a-f]*\)$/\1 \2/p' "$dir/peer.log")
echo "  the peer got: ${got:-nothing} ($(grep -v 'sink on' "$dir/peer.log" | head -2 | tr '\n' ' '))"
[ "$got" = "4194304 $want" ] || gz_fail "the peer got ${got:-no EOF} after the program exited; want 4194304 bytes, sha256 $want"
[ "$GZ_STATUS" = 0 ] && echo "exit-flush: all checks passed"
gz_finish "$dir/prog.log" "$dir/peer.log"
