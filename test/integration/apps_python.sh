#!/usr/bin/env bash
# Debian's python3 `-m http.server` (a thread per request) with
# LD_PRELOAD=liblstack.so; from the kernel peer 200 sequential curl GETs, each
# a new connection, must all answer 200 with the file's exact bytes; a client
# connected as SIGTERM ends the server hears its connection end.
#   apps_python.sh LIBLSTACK VDEV INDEX RTC
set -u
. "$(dirname "$0")/lib.sh"
lib=$1 vdev=$2 idx=$3 rtc=$4 count=200
gz_require
gz_need /usr/bin/python3 curl
gz_setup "python-$vdev-$rtc" "$idx"
gz_tmpdir dir
conf=$dir/lstack.conf log=$dir/http-server.log
mkdir "$dir/www"
head -c 100000 /dev/urandom >"$dir/www/file.bin"
want=$(sha256sum <"$dir/www/file.bin" | cut -d' ' -f1)
gz_conf "$conf" "$vdev" "$rtc"
gz_lstack_env "$lib" "$conf" python3
gz_leftovers_mark
gz_bg ip netns exec "$GZ_NS_L" env "${GZ_ENV[@]}" /usr/bin/python3 -u -m http.server 8000 --bind "$GZ_HOST" \
  --directory "$dir/www" >"$log" 2>&1
server=${GZ_PIDS[-1]}
gz_wait_server "$server" "$log" "Serving HTTP" 60 || { gz_fail "python3 -m http.server did not come up (exited, or not ready in 60 s)"; gz_finish "$log"; }

# One shell in the peer namespace runs the loop; it prints one line per bad answer.
timeout 90 ip netns exec "$GZ_NS_P" bash -c '
  ok=0 bad=0
  for i in $(seq "$1"); do
    [ "$bad" -lt 10 ] || { echo "stopped after 10 bad answers"; break; }
    code=$(curl -sS --max-time 5 -o "$4/got" -w "%{http_code}" "$2" 2>"$4/curl.err")
    rc=$?
    got=$(sha256sum 2>/dev/null <"$4/got" | cut -d" " -f1)
    if [ "$rc" = 0 ] && [ "$code" = 200 ] && [ "$got" = "$3" ]; then
      ok=$((ok + 1))
    else
      bad=$((bad + 1))
      echo "GET $i: curl exit $rc, HTTP $code, $(stat -c %s "$4/got" 2>/dev/null || echo 0) bytes, $(head -c 200 "$4/curl.err")"
    fi
    rm -f "$4/got"
  done
  echo "ok=$ok"
' gets "$count" "http://$GZ_HOST:8000/file.bin" "$want" "$dir" >"$dir/gets.out" 2>&1
rc=$?
ok=$(sed -n 's/^ok=//p' "$dir/gets.out")
[ "$rc" = 0 ] || gz_fail "the GET loop: exit status $rc$([ "$rc" = 124 ] && echo ' (timed out after 90 s)')"
[ "${ok:-0}" = "$count" ] || { gz_fail "${ok:-0} of $count GETs answered 200 with the right bytes; first bad: $(grep -m1 -v '^ok=' "$dir/gets.out")"; grep -v '^ok=' "$dir/gets.out" | head -10; }
echo "  $ok/$count GETs of a 100000-byte file correct"

# A burst: 64 clients connect at once to http.server's listen(5) and all send
# their GET; every one is answered (Linux queues them; lstack must not reset one).
burst=$(timeout 60 ip netns exec "$GZ_NS_P" /usr/bin/python3 - "$GZ_HOST" <<'PY' 2>&1
import socket, sys, threading
host, ok, bad, lock = sys.argv[1], 0, [], threading.Lock()
socks = []
for i in range(64):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex((host, 8000))
    socks.append(s)
def get(s):
    global ok
    try:
        s.setblocking(True)
        s.settimeout(20)
        s.sendall(b"GET /file.bin HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
        good = data.startswith(b"HTTP/1.0 200")
    except OSError as e:
        good = False
        with lock:
            bad.append(repr(e))
    with lock:
        ok += good
threads = [threading.Thread(target=get, args=(s,)) for s in socks]
for t in threads: t.start()
for t in threads: t.join()
print(ok, bad[:2])
PY
)
echo "  burst of 64 connects on listen(5): $burst answered"
[ "${burst%% *}" = 64 ] || gz_fail "a burst of 64 connects: $burst"

kill -0 "$server" 2>/dev/null || gz_fail "http.server exited during the test"
# A client connected, its request not yet sent: a handler thread waits for it.
# In both modes (run to completion: the main thread, which drives the stack,
# closes it at its next rest in select(), if the signal found it busy).
gz_hold 8000 "$dir/held.log"
sleep 0.5  # accepted by then: a queued one the kernel would reset, not end
# Python's default SIGTERM action ends it by the signal: status 143, as on the
# kernel, which also ends the held connection (lstack's handler closes it first).
gz_stop_app "$server" 143 "python3 -m http.server" "$log"
gz_held_ended "python3 -m http.server"
gz_leftovers_check "${GZ_RUN_DIR:-}"
[ "$GZ_STATUS" = 0 ] && echo "apps-python ($vdev, stack_mode_rtc=$rtc): all checks passed"
gz_finish "$log"
