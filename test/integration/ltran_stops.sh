#!/usr/bin/env bash
# Processes behind ltran stopping under load, again and again: ltran lives on.
# A peer floods UDP at a python echo server behind ltran (LD_PRELOAD, unprivileged
# form); the server is stopped after a random 0.1-0.9 s, by SIGTERM and by SIGKILL in
# turn, ROUNDS times (40: about 30 s). Each stop unmaps the process's memif regions on
# EAL's interrupt thread while ltran's dispatch thread moves the flood through that
# port: before ltran/memif_guard.hpp, ltran died of SIGSEGV in about 1 round of 40.
# Then a TCP echo is SIGKILLed under two connections, whose peers ltran resets
# (orphans_told), a new process still gets its datagram answered, gazellectl lists no process,
# and ltran stops with SIGTERM: status 0, no crash, hugepages and files back.
#   ltran_stops.sh LIBLSTACK LTRAN GAZELLECTL INDEX [ROUNDS]
set -u
. "$(dirname "$0")/lib.sh"
lib=$(realpath "$1") ltran=$2 ctl=$3 idx=$4 rounds=${5:-40}
gz_require
gz_setup ltran-stops "$idx"
gz_tmpdir dir
gz_tmpdir GZ_RUN_DIR
rmdir "$GZ_RUN_DIR"
me=${GZ_HOST%.*}.5
gz_leftovers_mark
gz_ltran_conf "$dir/ltran.conf" '0' ''
gz_ltran_start "$ltran" "$dir/ltran.conf" "$dir/ltran.log"
gz_ltran_lstack_conf "$dir/lstack.conf" "$me"

echo_server() {  # LOG: python's UDP echo on 9000 behind ltran, in the background (PID: $!)
  ip netns exec "$GZ_NS_L" env LD_PRELOAD="$lib" GAZELLE_RUN_DIR="$GZ_RUN_DIR" LSTACK_CONF_PATH="$dir/lstack.conf" \
    /usr/bin/python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("", 9000))
print("ready", flush=True)
for _ in range(10000000):
    d, p = s.recvfrom(2048); s.sendto(d, p)' >"$1" 2>&1 &
}

# A TCP echo behind ltran killed (SIGKILL) under three connections of the peer:
# ltran tells each peer with a reset (the kernel closes a dead process's
# sockets; before, an idle one waited for ever and a sending one retransmitted
# into nothing for minutes): by a probe whose ACK draws it, also the one that
# had shut down its side (its FIN seen, waiting for the server's answer).
orphans_told() {
  rm -f "$dir/killed"
  ip netns exec "$GZ_NS_L" env LD_PRELOAD="$lib" GAZELLE_RUN_DIR="$GZ_RUN_DIR" LSTACK_CONF_PATH="$dir/lstack.conf" \
    /usr/bin/python3 -c '
import selectors, socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(("", 9001)); l.listen()
print("ready", flush=True)
sel = selectors.DefaultSelector(); sel.register(l, selectors.EVENT_READ)
for _ in range(100000):
    for k, _ in sel.select(1):
        if k.fileobj is l:
            sel.register(l.accept()[0], selectors.EVENT_READ)
        elif not (d := k.fileobj.recv(100)):
            sel.unregister(k.fileobj)
        else:
            k.fileobj.sendall(d)' >"$dir/tcp.log" 2>&1 &
  local e=$!
  gz_wait_line "$dir/tcp.log" ready 30 || gz_fail "the TCP echo behind ltran did not start: $(tail -3 "$dir/tcp.log")"
  ip netns exec "$GZ_NS_P" timeout 60 /usr/bin/python3 -c '
import os, socket, sys, time
idle, sender, half = (socket.create_connection((sys.argv[1], 9001), timeout=10) for _ in range(3))
for s in (idle, sender, half):
    s.sendall(b"ping"); assert s.recv(10) == b"ping"
half.shutdown(socket.SHUT_WR)  # the server sees EOF and leaves it open
time.sleep(0.3)
print("connected", flush=True)
for _ in range(400):
    if os.path.exists(sys.argv[2]): break
    time.sleep(0.05)
t0 = time.time()
def outcome(s, send):
    try:
        if send: s.sendall(b"after")
        return "eof" if s.recv(10) == b"" else "data"
    except (ConnectionResetError, BrokenPipeError): return "reset"
    except socket.timeout: return "nothing"
print("idle: %s after %.1f s" % (outcome(idle, False), time.time() - t0))
print("sending: %s after %.1f s" % (outcome(sender, True), time.time() - t0))
print("half-closed: %s after %.1f s" % (outcome(half, False), time.time() - t0), flush=True)
' "$me" "$dir/killed" >"$dir/peer.log" 2>&1 &
  local p=$!
  gz_wait_line "$dir/peer.log" connected 30 || gz_fail "the peer could not reach the TCP echo: $(cat "$dir/peer.log")"
  kill -KILL "$e"
  wait "$e" 2>/dev/null
  touch "$dir/killed"
  wait "$p"
  sed 's/^/  SIGKILLed under three connections: /' "$dir/peer.log" | grep -v connected
  grep -q "^idle: reset after [0-2]\." "$dir/peer.log" || gz_fail "the idle peer of a killed process heard no reset within 3 s"
  grep -q "^sending: reset after [0-2]\." "$dir/peer.log" || gz_fail "the sending peer of a killed process heard no reset within 3 s"
  grep -q "^half-closed: reset after [0-2]\." "$dir/peer.log" || gz_fail "the half-closed peer of a killed process heard no reset within 3 s"
  local shown probes resets
  shown=$(GAZELLE_RUN_DIR="$GZ_RUN_DIR" "$ctl" ltran show 2>&1)
  probes=$(echo "$shown" | grep -o 'tcp_orphan_probes *[0-9]*' | awk '{print $2}')
  resets=$(echo "$shown" | grep -o 'tcp_orphan_resets *[0-9]*' | awk '{print $2}')
  echo "  ltran: tcp_orphan_probes $probes, tcp_orphan_resets $resets"
  [ "${probes:-0}" -ge 6 ] && [ "${resets:-0}" -ge 3 ] || gz_fail "ltran counted ${probes:-no} probes and ${resets:-no} resets, want at least 6 and 3"
}

gz_bg ip netns exec "$GZ_NS_P" timeout $((rounds * 3 + 30)) /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setblocking(False)
end = time.time() + float(sys.argv[2])
while time.time() < end:
    for _ in range(64):
        try: s.sendto(b"x" * 200, (sys.argv[1], 9000))
        except OSError: pass
    try:
        while True: s.recv(2048)
    except OSError: pass
' "$me" $((rounds * 3 + 20))
flood=${GZ_PIDS[-1]}
done_rounds=0
for i in $(seq "$rounds"); do
  echo_server "$dir/echo.log"
  e=$!
  if ! gz_wait_line "$dir/echo.log" ready 30; then
    kill -KILL "$e" 2>/dev/null
    gz_fail "round $i: the echo server behind ltran did not start: $(tail -3 "$dir/echo.log")"
    break
  fi
  sleep "0.$((RANDOM % 9 + 1))"
  if [ $((i % 2)) = 0 ]; then
    kill -KILL "$e"
    wait "$e" 2>/dev/null
  else
    gz_stop_app "$e" 143 "round $i: the echo server (SIGTERM)" "$dir/echo.log"
  fi
  if ! kill -0 "$GZ_LTRAN_PID" 2>/dev/null; then
    gz_fail "round $i: ltran died while a process behind it stopped"
    break
  fi
  done_rounds=$i
done
kill "$flood" 2>/dev/null
wait "$flood" 2>/dev/null
echo "  $done_rounds of $rounds processes stopped under a UDP flood (SIGTERM and SIGKILL in turn)"

if kill -0 "$GZ_LTRAN_PID" 2>/dev/null; then
  orphans_told  # (the next process's start clears what SIGKILL left, as in the rounds)
  echo_server "$dir/last.log"
  e=$!
  gz_wait_line "$dir/last.log" ready 30 || gz_fail "the last echo server did not start: $(tail -3 "$dir/last.log")"
  answer=$(ip netns exec "$GZ_NS_P" timeout 20 /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
for _ in range(10):
    s.sendto(b"after the stops", (sys.argv[1], 9000))
    try:
        print(s.recv(100).decode()); break
    except socket.timeout:
        pass
else:
    print("no answer")' "$me" 2>&1)
  echo "  a new process behind ltran: $answer"
  [ "$answer" = "after the stops" ] || gz_fail "a process started after the stops does not answer: $answer"
  gz_stop_app "$e" 143 "the last echo server" "$dir/last.log"
  listed=$(GAZELLE_RUN_DIR="$GZ_RUN_DIR" "$ctl" ltran show -i 2>&1 | awk '$5 == "python3"' | wc -l)
  [ "$listed" = 0 ] || gz_fail "gazellectl ltran show -i still lists $listed stopped process(es)"
  gz_stop_app "$GZ_LTRAN_PID" 0 ltran "$dir/ltran.log"
  grep "waited for a dispatch pass" "$dir/ltran.log" | sed 's/^/  /'
  GZ_FILE_PREFIX=$GZ_LTRAN_PREFIX
  gz_leftovers_check "$GZ_RUN_DIR"
fi
[ "$GZ_STATUS" = 0 ] && echo "ltran-stops: all checks passed"
gz_finish "$dir/ltran.log" "$dir/echo.log"
