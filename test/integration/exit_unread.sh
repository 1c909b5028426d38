#!/usr/bin/env bash
# A program that exits with data it never read on a connection: the kernel
# closes the socket with a reset (RFC 2525 2.17), and so must lstack, which
# closes at exit what the program left open. python3 under liblstack accepts a
# connection, leaves the peer's 100 bytes unread and calls the C library's
# exit() (as a C program would: python's own shutdown would close the socket
# first); the kernel peer must see ECONNRESET. Run to completion also checks
# that frames that came in while the program did not drive its stack are
# taken in before the close (else it would be a FIN).
#   exit_unread.sh LIBLSTACK RTC INDEX
set -u
. "$(dirname "$0")/lib.sh"
lib=$1 rtc=$2 idx=$3
gz_require
gz_need /usr/bin/python3
gz_setup "exitu$rtc" "$idx"
gz_tmpdir dir
gz_conf "$dir/lstack.conf" af_xdp "$rtc"
gz_lstack_env "$lib" "$dir/lstack.conf" python3
cat >"$dir/prog.py" <<'PY'
import ctypes, socket, time
srv = socket.create_server(("0.0.0.0", 9300))
print("listening", flush=True)
conn, _ = srv.accept()
time.sleep(0.5)  # the peer's bytes arrive meanwhile, unread
print("exiting with 1 connection open", flush=True)
ctypes.CDLL(None).exit(0)
PY
gz_bg ip netns exec "$GZ_NS_L" env "${GZ_ENV[@]}" /usr/bin/python3 "$dir/prog.py" >"$dir/prog.log" 2>&1
prog=${GZ_PIDS[-1]}
gz_wait_server "$prog" "$dir/prog.log" listening 60 || { gz_fail "the program did not listen"; gz_finish "$dir/prog.log"; }
got=$(timeout 20 ip netns exec "$GZ_NS_P" python3 -c "
import socket
s = socket.create_connection(('$GZ_HOST', 9300), timeout=10)
s.sendall(b'x' * 100)
try:
    print('EOF' if s.recv(10) == b'' else 'data')
except OSError as e:
    print(type(e).__name__)
" 2>&1)
echo "  the peer saw: $got"
[ "$got" = ConnectionResetError ] || gz_fail "the peer saw ${got:-nothing} as the program exited with its data unread; want ConnectionResetError (as on the kernel)"
gz_wait_exit "$prog" 0 "python3 calling exit() with a connection open" "$dir/prog.log"
[ "$GZ_STATUS" = 0 ] && echo "exit-unread: all checks passed"
gz_finish "$dir/prog.log"
