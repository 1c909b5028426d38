#!/usr/bin/env bash
# What a program sent goes out after it exits, as on the kernel: python3 under
# liblstack writes 4 MiB to a peer that reads nothing for 300 ms, then 64 KiB
# every 10 ms, closes the socket and returns from main at once, so that a send
# buffer's worth is still in lstack when the process exits. The peer must get
# every byte, then EOF (before, the stack went with the process and the peer
# saw a truncated stream). Run in
# the stack-thread layout with Gazelle's dpdk_args and run to completion with
# --in-memory (tools/test swaps the two under the sanitizers). With CPUS "0,1"
# (two stacks on net_af_packet, whose fanout hands a connection's frames to
# either queue: a stack sees its ACKs only through the other), CONNS
# connections, 4 MiB each, to as many slow peers, one stack's connections
# each way or more. SENDER "threads": each connection written by a thread of
# its own, which ends before the program does (run to completion: the thread
# that drives the stack ends first); "main" (default): the main thread writes;
# "term": the main thread writes, leaves the socket open and ends by SIGTERM's
# default action (status 143), as a script killed by its user, which the
# kernel would also flush and end with FIN; "wait": as "term", but the
# program then waits in recv() on the connection and the SIGTERM comes from
# outside (this script), as from a user's kill; "wait-epoll": the same, the
# wait in epoll_wait() (python's select.epoll); "sleep": as "wait", but
# asleep in the kernel (time.sleep): a run-to-completion owner never comes to
# rest then, and the end may wait 200 ms at most; the peer's stream is
# checked only in the stack-thread layout, which flushes anyway. Every
# SIGTERM from outside must end the program within 3 s (with "sleep", 1 s).
# LPM: low_power_mode (default 1; 0: a run-to-completion owner busy-polls, so
# the signal finds it inside a round, not asleep, and the end waits for its
# next rest).
#   exit_flush.sh LIBLSTACK RTC INDEX [VDEV CPUS CONNS SENDER LPM]
set -u
. "$(dirname "$0")/lib.sh"
lib=$1 rtc=$2 idx=$3 vdev=${4:-af_xdp} cpus=${5:-1} conns=${6:-1} sender=${7:-main} lpm=${8:-1}
gz_require
gz_need /usr/bin/python3
gz_setup "exitf$rtc$conns${sender:0:1}" "$idx" "$(gz_queues "$cpus")"
gz_tmpdir dir
gz_conf "$dir/lstack.conf" "$vdev" "$rtc" "$cpus"
sed -i "s/^low_power_mode = 1;/low_power_mode = $lpm;/" "$dir/lstack.conf"
grep -q "^low_power_mode = $lpm;" "$dir/lstack.conf" || gz_fail "the config has no low_power_mode = $lpm"
peers=()
for i in $(seq 0 $((conns - 1))); do
  gz_bg ip netns exec "$GZ_NS_P" python3 "$(dirname "$0")/peer.py" sink $((9100 + i)) 300 10 >"$dir/peer$i.log" 2>&1
  peers+=("${GZ_PIDS[-1]}")
  gz_wait_line "$dir/peer$i.log" "sink on" 30 || { gz_fail "peer $i did not start"; gz_finish "$dir/peer$i.log"; }
done
gz_lstack_env "$lib" "$dir/lstack.conf" python3
data='bytes(range(256)) * 16384'  # 4 MiB, as python builds it here and in the program
cat >"$dir/prog.py" <<PY
import os, signal, socket, threading
held = []
def send(port):
    s = socket.create_connection(("$GZ_PEER", port), timeout=10)
    s.sendall($data)
    if "$sender" in ("term", "wait", "wait-epoll", "sleep"):
        held.append(s)
    else:
        s.close()
if "$sender" == "threads":
    ts = [threading.Thread(target=send, args=(9100 + i,)) for i in range($conns)]
    for t in ts: t.start()
    for t in ts: t.join()
else:
    for i in range($conns): send(9100 + i)
print("sent and closed" if not held else "sent, left open", flush=True)
if "$sender" == "wait":
    print("waiting in recv", flush=True)
    held[0].settimeout(None)
    held[0].recv(1)  # the peer sends nothing: SIGTERM's default action ends us here
    print("recv returned", flush=True)
elif "$sender" == "wait-epoll":
    import select
    ep = select.epoll()
    ep.register(held[0].fileno(), select.EPOLLIN)
    print("waiting in epoll", flush=True)
    print("epoll returned", ep.poll(), flush=True)
elif "$sender" == "sleep":
    import time
    print("sleeping", flush=True)
    time.sleep(60)
elif held:
    os.kill(os.getpid(), signal.SIGTERM)
PY
want=$(python3 -c "import hashlib; print(hashlib.sha256($data).hexdigest())")
gz_bg ip netns exec "$GZ_NS_L" env "${GZ_ENV[@]}" /usr/bin/python3 "$dir/prog.py" >"$dir/prog.log" 2>&1
prog=${GZ_PIDS[-1]}
case $sender in  # what the program prints once it waits, and how soon SIGTERM must end it
  wait) line="waiting in recv" bound_ms=3000 ;;
  wait-epoll) line="waiting in epoll" bound_ms=3000 ;;
  sleep) line="sleeping" bound_ms=1000 ;;
  *) line= ;;
esac
if [ -n "$line" ]; then
  gz_wait_line "$dir/prog.log" "$line" 60 || gz_fail "the program did not get to: $line"
  sleep 0.2  # into its wait
  t0=$(date +%s%N)
  kill -TERM "$prog"
  gz_wait_exit "$prog" 143 "python3 ended by a SIGTERM from outside ($line)" "$dir/prog.log"
  took_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  echo "  SIGTERM to exit: $took_ms ms"
  [ "$took_ms" -le "$bound_ms" ] || gz_fail "SIGTERM took $took_ms ms to end the program; want at most $bound_ms"
elif [ "$sender" = term ]; then
  gz_wait_exit "$prog" 143 "python3 ended by SIGTERM with its connections open" "$dir/prog.log"
else
  gz_wait_exit "$prog" 0 "python3 returning from main after its close()" "$dir/prog.log"
fi
grep -q "sent and closed\|sent, left open" "$dir/prog.log" || gz_fail "the program did not send it all: $(tail -3 "$dir/prog.log")"
if [ "$sender" = sleep ] && [ "$rtc" = 1 ]; then
  echo "  peers not checked: the owner slept in the kernel, where its stack cannot be driven (README, signals)"
  conns=0
  for p in "${peers[@]}"; do kill "$p" 2>/dev/null; done
fi
for i in $(seq 0 $((conns - 1))); do
  gz_wait_exit "${peers[$i]}" 0 "peer $i reading to EOF" "$dir/peer$i.log"
  got=$(sed -n 's/^peer: sink got \([0-9]*\) bytes sha256 \([0-9a-f]*\)$/\1 \2/p' "$dir/peer$i.log")
  echo "  peer $i got: ${got:-nothing} ($(grep -v 'sink on' "$dir/peer$i.log" | head -2 | tr '\n' ' '))"
  [ "$got" = "4194304 $want" ] || gz_fail "peer $i got ${got:-no EOF} after the program exited; want 4194304 bytes, sha256 $want"
done
[ "$GZ_STATUS" = 0 ] && echo "exit-flush: all checks passed"
gz_finish "$dir/prog.log" "$dir/peer"*.log
