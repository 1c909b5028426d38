#!/usr/bin/env bash
# Data lost on a closing connection is told to the peer with a reset, as the
# kernel does, never acknowledged and dropped:
#  - after close(): the peer, having read the FIN, sends more; nobody will
#    read it (RFC 1122 4.2.2.13: the TCP SHOULD send a RST, Linux does);
#  - at exit() with the peer's bytes unread (RFC 2525 2.17), which lstack
#    closes itself since the program left the socket open. python3 under
#    liblstack calls the C library's exit() as a C program would (python's
#    own shutdown would close the socket first). Run to completion also checks
#    that frames that came in while the program did not drive its stack are
#    taken in before that close (else it would be a FIN);
#  - at exit() for a connection still in the listener's queue, never accepted
#    (Linux resets those as the listener goes: inet_csk_listen_stop).
# The kernel peer must see the reset each time: after close() its next send fails
# (EPIPE: it is in CLOSE-WAIT), at exit its reads fail with ECONNRESET (LIB "kernel":
# the same). The first already held before lstack closed what a program left open.
#   close_resets.sh LIBLSTACK RTC INDEX
set -u
. "$(dirname "$0")/lib.sh"
lib=$1 rtc=$2 idx=$3
gz_require
gz_need /usr/bin/python3
gz_setup "resets$rtc" "$idx"
gz_tmpdir dir
gz_conf "$dir/lstack.conf" af_xdp "$rtc"
gz_lstack_env "$lib" "$dir/lstack.conf" python3
cat >"$dir/prog.py" <<'PY'
import ctypes, socket, time
srv = socket.create_server(("0.0.0.0", 9300))
print("listening", flush=True)
first, _ = srv.accept()
first.close()
second, _ = srv.accept()
time.sleep(0.5)  # the peer's bytes arrive meanwhile, unread
print("exiting with 1 connection open", flush=True)
ctypes.CDLL(None).exit(0)
PY
gz_bg ip netns exec "$GZ_NS_L" env "${GZ_ENV[@]}" /usr/bin/python3 "$dir/prog.py" >"$dir/prog.log" 2>&1
prog=${GZ_PIDS[-1]}
gz_wait_server "$prog" "$dir/prog.log" listening 60 || { gz_fail "the program did not listen"; gz_finish "$dir/prog.log"; }
timeout 30 ip netns exec "$GZ_NS_P" python3 - "$GZ_HOST" >"$dir/peer.log" 2>&1 <<'PY'
import socket, sys, time
def outcome(s):
    try:
        return "EOF" if s.recv(10) == b"" else "data"
    except OSError as e:
        return type(e).__name__
s = socket.create_connection((sys.argv[1], 9300), timeout=10)
print("after close: the FIN read as", outcome(s), flush=True)
s.sendall(b"y" * 100)  # to a socket closed on the other side
time.sleep(0.5)  # its answer comes back
try:  # after a reset, Linux fails the next send (EPIPE in CLOSE-WAIT)
    s.send(b"z")
    print("after close, then data: accepted", flush=True)
except OSError as e:
    print("after close, then data:", type(e).__name__, flush=True)
t = socket.create_connection((sys.argv[1], 9300), timeout=10)
t.sendall(b"x" * 100)
try:  # queued, never accepted (run to completion: its SYN is taken in only at exit)
    u, u_connect = socket.create_connection((sys.argv[1], 9300), timeout=10), None
except OSError as e:  # SYN-ACK and reset in one go: Linux's connect() reports the reset
    u, u_connect = None, type(e).__name__
print("at exit, data unread:", outcome(t), flush=True)
print("at exit, never accepted:", outcome(u) if u else u_connect, flush=True)
PY
cat "$dir/peer.log" | sed 's/^/  /'
grep -q "^after close: the FIN read as EOF$" "$dir/peer.log" || gz_fail "the peer did not read the close as EOF"
grep -qE "^after close, then data: (BrokenPipeError|ConnectionResetError)$" "$dir/peer.log" ||
  gz_fail "data sent to a closed socket was not answered by a reset (the peer's next send did not fail, as on the kernel)"
grep -q "^at exit, data unread: ConnectionResetError$" "$dir/peer.log" ||
  gz_fail "the program exited with the peer's data unread and the peer saw no reset (want ConnectionResetError, as on the kernel)"
grep -q "^at exit, never accepted: ConnectionResetError$" "$dir/peer.log" ||
  gz_fail "the program exited with a connection in its listener's queue and its peer saw no reset (want ConnectionResetError, as on the kernel)"
gz_wait_exit "$prog" 0 "python3 calling exit() with a connection open" "$dir/prog.log"
[ "$GZ_STATUS" = 0 ] && echo "close-resets: all checks passed"
gz_finish "$dir/prog.log" "$dir/peer.log"
