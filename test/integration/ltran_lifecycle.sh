#!/usr/bin/env bash
# ltran's lifetimes and limits, with python3 behind it (LD_PRELOAD, unprivileged form):
#  - instance_tx_pps: a process sending 4000 datagrams over 2 s (4x its budget) gets at most its
#    budget through; the rest are counted as tx_limited (gazellectl ltran show -i), and the
#    peer gets what ltran let through;
#  - IPv4 fragments reach the process of their first fragment (two processes share an address);
#  - a listener closed with connections queued hands them (and what they received) to
#    another process listening on the port: none is reset;
#  - a process killed while a child it forked lives on is forgotten at once;
#  - ltran killed with SIGKILL: the process's blocked recv() fails (ENETDOWN) within
#    2 s and a new connect() fails at once (ENETUNREACH) instead of hanging; a new ltran
#    starts over the dead one's leftovers;
#  - ltran stopped with SIGTERM: exit status 0, no socket, hugepages and DPDK files back.
#   ltran_lifecycle.sh LIBLSTACK LTRAN GAZELLECTL INDEX
set -u
. "$(dirname "$0")/lib.sh"
lib=$(realpath "$1") ltran=$2 ctl=$3 idx=$4
gz_require
gz_setup ltran-life "$idx"
gz_tmpdir dir
gz_tmpdir GZ_RUN_DIR
rmdir "$GZ_RUN_DIR"
me=${GZ_HOST%.*}.5
gz_leftovers_mark
gz_ltran_conf "$dir/ltran.conf" '0' 'instance_tx_pps = 500;'
gz_ltran_start "$ltran" "$dir/ltran.conf" "$dir/ltran.log"
gz_ltran_lstack_conf "$dir/lstack.conf" "$me"
run_py() {  # LOG SCRIPT ARGS...: python3 behind ltran
  local log=$1
  shift
  ip netns exec "$GZ_NS_L" env LD_PRELOAD="$lib" GAZELLE_RUN_DIR="$GZ_RUN_DIR" LSTACK_CONF_PATH="$dir/lstack.conf" \
    timeout 60 /usr/bin/python3 -c "$@" >"$log" 2>&1
}

# --- the per-process transmit limit -------------------------------------------------
# The counter's socket holds every datagram even when it is starved for a while
# (a default buffer holds about 200 of them).
ip netns exec "$GZ_NS_P" timeout 30 /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("", 9000)); s.settimeout(3)
s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE
n = 0
try:
    while True:
        s.recv(2048); n += 1
except socket.timeout:
    pass
print(n)' >"$dir/udp_count.txt" 2>&1 &
counter=$!
sleep 0.5
run_py "$dir/flood.log" '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t = time.time()
for i in range(4000):  # 2000 a second for 2 s, four times the budget
    s.sendto(b"x" * 100, (sys.argv[1], 9000))
    if i % 20 == 19:
        time.sleep(max(0, t + (i + 1) / 2000 - time.time()))
print("sent 4000 in %.2f s" % (time.time() - t), flush=True)
time.sleep(3)' "$GZ_PEER" &
flood=$!
# Its counters once it has sent all (it sleeps 3 s after, still registered).
gz_wait_line "$dir/flood.log" "^sent 4000" 25 || gz_fail "the flooding process did not send: $(tail -3 "$dir/flood.log")"
prev=
for i in $(seq 20); do  # until the counters stand still: what its stack still held has reached ltran
  GAZELLE_RUN_DIR="$GZ_RUN_DIR" "$ctl" ltran show -i >"$dir/show_i.txt" 2>&1
  read -r admitted limited < <(awk '$5 == "python3" {print $10, $13}' "$dir/show_i.txt")
  [ "$admitted $limited" = "$prev" ] && break
  prev="$admitted $limited"
  sleep 0.1
done
sed 's/^/  ltran: /' "$dir/show_i.txt"
secs=$(sed -n 's/^sent 4000 in \([0-9.]*\) s$/\1/p' "$dir/flood.log")
wait "$flood" || gz_fail "the flooding process failed: $(tail -3 "$dir/flood.log")"
wait "$counter"
got=$(tail -1 "$dir/udp_count.txt")
echo "  instance_tx_pps = 500: $(grep '^sent' "$dir/flood.log"); ltran let $admitted through and limited $limited; the peer got $got"
[ "${limited:-0}" -gt 0 ] 2>/dev/null || gz_fail "gazellectl ltran show -i counts no tx_limited for the flooding process"
# Not every datagram reaches ltran: the sender's stack drops what finds its ring to ltran
# full (its own counters; 893 of 4000 in one CI run), as a full qdisc drops UDP.
# At most the first burst (a tenth of a second's budget) and 500/s while it sent; at least
# a fifth of that: fewer when the sender's stack delivers in bursts further apart than
# the bucket holds (0.1 s), as on a starved CPU.
most=$(awk -v s="$secs" 'BEGIN {printf "%d", (50 + 500 * s) * 1.1 + 5}')
[ "$admitted" -le "$most" ] && [ "$admitted" -ge $((most / 5)) ] 2>/dev/null \
  || gz_fail "ltran let $admitted of 4000 datagrams sent over $secs s through a 500/s limit, want $((most / 5)) to $most"
[ "$got" -ge $((admitted * 95 / 100)) ] 2>/dev/null \
  || gz_fail "the peer got $got of the $admitted datagrams ltran let through"
GAZELLE_RUN_DIR="$GZ_RUN_DIR" "$ctl" ltran show --json >"$dir/show.json" 2>&1
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["instance_count"])' "$dir/show.json" >/dev/null 2>&1 \
  || gz_fail "gazellectl ltran show --json: $(head -c 300 "$dir/show.json")"

# --- fragments follow their first one, with two processes on one address -------------
udp_server() {  # PORT LOG: answers every datagram with its length, 3 times
  ip netns exec "$GZ_NS_L" env LD_PRELOAD="$lib" GAZELLE_RUN_DIR="$GZ_RUN_DIR" LSTACK_CONF_PATH="$dir/lstack.conf" \
    timeout 60 /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("", int(sys.argv[1])))
print("ready", flush=True)
for _ in range(3):
    data, peer = s.recvfrom(65535); s.sendto(b"got %d" % len(data), peer)' "$1" >"$2" 2>&1 &
}
udp_server 9101 "$dir/udp1.log"; u1=$!
udp_server 9102 "$dir/udp2.log"; u2=$!
gz_wait_line "$dir/udp1.log" ready 30 && gz_wait_line "$dir/udp2.log" ready 30 || gz_fail "the UDP servers behind ltran did not start"
sleep 1
frag=$(ip netns exec "$GZ_NS_P" timeout 20 /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
out = []
for port in (9101, 9102):
    s.sendto(b"small", (sys.argv[1], port))
    try:
        out.append(s.recv(100).decode())
    except socket.timeout:
        out.append("timeout")
    s.sendto(b"f" * 4000, (sys.argv[1], port))  # 3 fragments at MTU 1500
    try:
        out.append(s.recv(100).decode())
    except socket.timeout:
        out.append("timeout")
print(",".join(out))' "$me" 2>&1)
echo "  4000-byte datagrams (fragmented) to two processes sharing $me: $frag"
[ "$frag" = "got 5,got 4000,got 5,got 4000" ] || gz_fail "fragmented datagrams to two processes on one address: $frag"
kill "$u1" "$u2" 2>/dev/null
wait "$u1" "$u2" 2>/dev/null

# --- a listener closed with connections queued: another process listening takes them --
# Two processes listen on $me:8080 (SYNs spread between them by 4-tuple hash). A never
# accepts; 16 connections each send a line, then A closes its listener and lives on. As
# on Linux, where the workers share one listening socket, nothing is reset: A hands each
# queued connection, with the line it received, to B through ltran (tcp_handoffs). Both
# stop as users stop them, with their exit status and logs checked.
tcp_server() {  # ROLE LOG: "queue" listens and never accepts; "echo" answers each connection's line
  ip netns exec "$GZ_NS_L" env LD_PRELOAD="$lib" GAZELLE_RUN_DIR="$GZ_RUN_DIR" LSTACK_CONF_PATH="$dir/lstack.conf" \
    timeout 60 /usr/bin/python3 -c '
import os, select, socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", 8080)); s.listen(64)
select.select([s], [], [], 0.01)  # lstack starts at the first data-path call
print("ready", flush=True)
if sys.argv[1] == "queue":
    while not os.path.exists(sys.argv[2]):
        time.sleep(0.05)
    s.close(); print("closed", flush=True); time.sleep(20)
else:
    s.settimeout(15)
    for _ in range(16):
        c, _ = s.accept(); c.settimeout(5); c.sendall(c.recv(100)); c.close()' "$1" "$dir/close_a" >"$2" 2>&1 &
}
tcp_server queue "$dir/tcp_a.log"; ta=$!
tcp_server echo "$dir/tcp_b.log"; tb=$!
gz_wait_line "$dir/tcp_a.log" ready 30 && gz_wait_line "$dir/tcp_b.log" ready 30 || gz_fail "the TCP servers behind ltran did not start"
sleep 1
GZ_CTL=$ctl
handoffs0=$(gz_ltran_json 'd["tcp_handoffs"]')
answers=$(ip netns exec "$GZ_NS_P" timeout 30 /usr/bin/python3 -c '
import socket, sys, time
conns = []
for i in range(16):
    c = socket.create_connection((sys.argv[1], 8080), timeout=5); c.sendall(b"line %d" % i); conns.append(c)
time.sleep(1)
open(sys.argv[2], "w").close()  # A closes its listener now
out = []
for i, c in enumerate(conns):
    c.settimeout(10)
    try:
        out.append("ok" if c.recv(100) == b"line %d" % i else "wrong")
    except Exception as e:
        out.append(type(e).__name__)
print(" ".join(out))' "$me" "$dir/close_a" 2>&1)
handoffs=$(gz_ltran_json 'd["tcp_handoffs"] - '"${handoffs0:-0}")
echo "  16 connections to two listeners, one closed with its queue: $answers (tcp_handoffs $handoffs)"
[ "$answers" = "$(printf 'ok %.0s' $(seq 16) | sed 's/ $//')" ] || gz_fail "connections queued at a closed listener: $answers"
[ "${handoffs:-0}" -ge 1 ] 2>/dev/null || gz_fail "no connection was handed off (tcp_handoffs $handoffs): A's queue was empty?"
grep -q closed "$dir/tcp_a.log" || gz_fail "the queueing server did not close its listener: $(cat "$dir/tcp_a.log")"
# B ends by itself after its 16 answers; A is stopped as users stop python (SIGTERM,
# no handler: status 143 through timeout, as on the kernel).
gz_wait_exit "$tb" 0 "the echoing server" "$dir/tcp_b.log"
gz_stop_app "$ta" 143 "the queueing server" "$dir/tcp_a.log"

# --- a process killed while a child it forked lives on is forgotten at once -----------
run_py "$dir/fork.log" '
import os, socket, sys, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"start", (sys.argv[1], 9))  # lstack starts (it registers with ltran)
if os.fork() == 0:
    time.sleep(20)  # the child outlives its parent, holding what fork() copied
    os._exit(0)
print("pid", os.getpid(), flush=True)
time.sleep(30)' "$GZ_PEER" &
forker=$!
gz_retry 20 grep -q "^pid" "$dir/fork.log" || gz_fail "the forking process behind ltran did not start: $(tail -2 "$dir/fork.log")"
parent=$(awk '/^pid/ {print $2}' "$dir/fork.log")
child=$(pgrep -P "$parent" | head -1)
kill -KILL "$parent"
forgotten() { ! GAZELLE_RUN_DIR="$GZ_RUN_DIR" "$ctl" ltran show -i 2>/dev/null | awk '{print $2}' | grep -qx "$parent"; }
gz_retry 2 forgotten || gz_fail "ltran still lists a process killed 2 s ago whose forked child lives on"
[ -n "$child" ] && kill -KILL "$child" 2>/dev/null
wait "$forker" 2>/dev/null

# --- ltran dies under a process's feet ------------------------------------------------
ip netns exec "$GZ_NS_P" timeout 30 /usr/bin/python3 -c '
import socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(("", 7070)); l.listen(4)
c, _ = l.accept(); c.sendall(b"hello"); c.recv(100)' >/dev/null 2>&1 &
peer=$!
sleep 0.5
run_py "$dir/dies.log" '
import errno, socket, sys, time
s = socket.create_connection((sys.argv[1], 7070), timeout=10)
print("got", s.recv(5))
open(sys.argv[2], "w").write("connected\n")
s.settimeout(30)
t = time.time()
try:
    s.recv(100)
    print("recv: returned")
except OSError as e:
    print("recv: %s after %.1f s" % (errno.errorcode.get(e.errno, e.errno), time.time() - t))
t = time.time()
try:
    socket.create_connection((sys.argv[1], 7070), timeout=10)
    print("connect: connected")
except OSError as e:
    print("connect: %s after %.1f s" % (errno.errorcode.get(e.errno, e.errno), time.time() - t))
' "$GZ_PEER" "$dir/connected" &
py=$!
gz_retry 20 test -e "$dir/connected" || gz_fail "python behind ltran did not connect to the peer"
kill -KILL "$GZ_LTRAN_PID"
wait "$py"
sed 's/^/  python: /' "$dir/dies.log"
grep -qE "^recv: ENETDOWN after [01]\." "$dir/dies.log" \
  || gz_fail "a blocked recv() when ltran died: $(grep recv: "$dir/dies.log")"
grep -qE "^connect: (ENETUNREACH|ENETDOWN|EHOSTUNREACH) after 0\." "$dir/dies.log" \
  || gz_fail "a connect() after ltran died: $(grep connect: "$dir/dies.log")"
kill "$peer" 2>/dev/null
wait "$peer" 2>/dev/null

# --- a new ltran over the dead one's leftovers; then SIGTERM ---------------------------
gz_ltran_start "$ltran" "$dir/ltran.conf" "$dir/ltran2.log"
run_py "$dir/again.log" '
import socket, sys
s = socket.create_connection((sys.argv[1], 7071), timeout=5)
' "$GZ_PEER"
grep -q "ConnectionRefusedError" "$dir/again.log" \
  || gz_fail "behind the restarted ltran, a connect to a closed peer port should be refused: $(tail -2 "$dir/again.log")"
gz_stop_app "$GZ_LTRAN_PID" 0 ltran "$dir/ltran2.log"
[ ! -e "$GZ_RUN_DIR/ltran.sock" ] || gz_fail "ltran left its socket"
GZ_FILE_PREFIX=$GZ_LTRAN_PREFIX
gz_leftovers_check "$GZ_RUN_DIR"
[ "$GZ_STATUS" = 0 ] && echo "ltran-lifecycle: all checks passed"
gz_finish "$dir/ltran.log" "$dir/ltran2.log" "$dir/flood.log" "$dir/dies.log" "$dir/again.log"
