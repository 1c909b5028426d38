#!/usr/bin/env bash
# Several programs of several users behind one ltran, as Gazelle users run them:
#  - ltran as root with Gazelle's documented forward_kit_args (hugepage files);
#  - nginx started as Debian starts it: master as root, `user www-data;`,
#    `worker_processes 2;` (each worker its own lstack process behind ltran, both on port 80);
#  - redis-server as user redis, unprivileged (--no-huge);
#  - gz-echo as root with Gazelle's documented lstack dpdk_args (hugepages).
# From the kernel peer: a 10 MiB file from nginx (sha256), wrk 64 connections for 10 s
# served by both workers, `nginx -s reload` during wrk with no failed request, redis
# SET/GET, an echo stream. Then: SIGKILL of gz-echo in the middle of a transfer while
# nginx sends the 10 MiB file again (intact); ltran forgets it at once and its hugepages
# come back. A uid ltran does not allow is refused with a clear message; a listen on a
# port a process of another uid holds gets EADDRINUSE. Stops: nginx -s quit, redis SIGTERM,
# gazellectl ltran quit (each exit 0, no crash report).
#   ltran_apps.sh LIBLSTACK LTRAN GAZELLECTL GZ_ECHO INDEX
set -u
. "$(dirname "$0")/lib.sh"
lib=$(realpath "$1") ltran=$2 ctl=$3 echo_bin=$4 idx=$5
gz_require
gz_need nginx curl wrk redis-server redis-cli setpriv
id -u www-data >/dev/null 2>&1 && id -u redis >/dev/null 2>&1 || gz_skip "needs the users www-data and redis (Debian's nginx and redis packages make them)"
gz_setup ltran-apps "$idx"
gz_tmpdir dir
gz_tmpdir GZ_RUN_DIR
rmdir "$GZ_RUN_DIR"  # ltran makes it (sticky, writable by its processes' users)
net=${GZ_HOST%.*}
nginx_ip=$GZ_HOST redis_ip=$net.3 echo_ip=$net.4
gz_leftovers_mark
gz_ltran_conf "$dir/ltran.conf" '0, "www-data", "redis"'
gz_ltran_start "$ltran" "$dir/ltran.conf" "$dir/ltran.log"
logs=("$dir/ltran.log")
run_env=(LD_PRELOAD="$lib" GAZELLE_RUN_DIR="$GZ_RUN_DIR")

# --- nginx, as Debian starts it ---------------------------------------------------
gz_ltran_lstack_conf "$dir/nginx-lstack.conf" "$nginx_ip"
gz_nginx_site "$dir" 80
sed -i 's/^user root;/user www-data;/; s/^worker_processes 1;/worker_processes 2;/' "$dir/nginx.conf"
# LSTACK_DEBUG_STATS (nginx passes it to its workers only when told): each worker's
# counters (tcp_handed_off, tcp_handoff_reset) and connections at its exit, in error.log,
# for a failed reload's log.
sed -i '1i env LSTACK_DEBUG_STATS;' "$dir/nginx.conf"
sed -i "s#access_log $dir/access.log;#log_format w '\$pid \$status';\n  access_log $dir/access.log w;#" "$dir/nginx.conf"
chmod -R a+rX "$dir/www"
gz_bg ip netns exec "$GZ_NS_L" env "${run_env[@]}" LSTACK_DEBUG_STATS=1 LSTACK_CONF_PATH="$dir/nginx-lstack.conf" \
  nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/nginx.out" 2>&1
nginx=${GZ_PIDS[-1]}
logs+=("$dir/nginx.out" "$dir/error.log")
page_ok() { [ "$(ip netns exec "$GZ_NS_P" curl -s --max-time 2 "http://$nginx_ip/small.html")" = "$(cat "$dir/www/small.html")" ]; }
gz_retry 30 page_ok || { gz_fail "nginx (www-data workers behind ltran) did not serve within 30 s"; gz_finish "${logs[@]}"; }

# --- redis-server as user redis ---------------------------------------------------
gz_ltran_lstack_conf "$dir/redis-lstack.conf" "$redis_ip"
mkdir -p "$dir/redis" && chown redis: "$dir/redis"
gz_bg ip netns exec "$GZ_NS_L" setpriv --reuid=redis --regid=redis --init-groups env "${run_env[@]}" \
  LSTACK_CONF_PATH="$dir/redis-lstack.conf" redis-server --port 6379 --protected-mode no --dir "$dir/redis" --save '' --appendonly no \
  >"$dir/redis.log" 2>&1
redis=${GZ_PIDS[-1]}
logs+=("$dir/redis.log")
rcli() { ip netns exec "$GZ_NS_P" timeout 10 redis-cli -h "$redis_ip" "$@" 2>&1; }
redis_up() { [ "$(rcli PING)" = PONG ]; }
gz_retry 30 redis_up || { gz_fail "redis-server (user redis behind ltran) did not answer PING"; gz_finish "${logs[@]}"; }
[ "$(rcli SET k ltran-value)" = OK ] && [ "$(rcli GET k)" = ltran-value ] || gz_fail "redis SET/GET through ltran: $(rcli GET k)"

# --- gz-echo as root, Gazelle's hugepage dpdk_args --------------------------------
huge_before_echo=$(gz_huge_free)
gz_ltran_lstack_conf "$dir/echo-lstack.conf" "$echo_ip" hugepages
gz_bg ip netns exec "$GZ_NS_L" env GAZELLE_RUN_DIR="$GZ_RUN_DIR" LSTACK_CONF_PATH="$dir/echo-lstack.conf" \
  "$echo_bin" server 7 >"$dir/echo.log" 2>&1
echo_pid=${GZ_PIDS[-1]}
logs+=("$dir/echo.log")
gz_wait_server "$echo_pid" "$dir/echo.log" ready 60 || { gz_fail "gz-echo behind ltran did not come up"; gz_finish "${logs[@]}"; }

GAZELLE_RUN_DIR="$GZ_RUN_DIR" "$ctl" ltran show -i >"$dir/show.txt" 2>&1
sed 's/^/  ltran: /' "$dir/show.txt"
[ "$(grep -c ' nginx ' "$dir/show.txt")" = 2 ] || gz_fail "gazellectl ltran show -i: want 2 nginx workers registered"
grep -q " redis-server .* tcp:6379" "$dir/show.txt" || gz_fail "gazellectl ltran show -i: redis-server with tcp:6379 missing"
awk '$5 == "nginx" {print $3}' "$dir/show.txt" | grep -qvx 33 && gz_fail "an nginx worker registered with a uid other than www-data (33)"
# One copy each way: every process is a zero-copy memif client, so ltran maps
# the processes' own DPDK memory (memfd "nohuge" under --no-huge, the unlinked
# hugepage file otherwise) besides each one's ring region (memfd "memif_region_0").
maps=$(awk '$6 != "" {print $1, $6, $7}' "/proc/$GZ_LTRAN_PID/maps")
nohuge=$(echo "$maps" | grep -c ' /memfd:nohuge')
[ "$nohuge" -ge 3 ] || gz_fail "ltran maps $nohuge --no-huge process memories, want 3 (2 nginx workers, redis): zero-copy memif not in use"
echo_prefix=gzlt${echo_ip##*.}$GZ_IF_L  # gz_ltran_lstack_conf's
echo "$maps" | grep -q " /dev/hugepages/${echo_prefix}map_0 (deleted)" || gz_fail "ltran does not map gz-echo's hugepages (unlinked): zero-copy memif not in use"
ls /dev/hugepages | grep -q "^${echo_prefix}map_" && gz_fail "gz-echo's hugepage files are still linked: SIGKILL would leak them"

# --- nginx: a big file, two workers serving, a reload under load -------------------
timeout 60 ip netns exec "$GZ_NS_P" curl -sS -f --max-time 50 -o "$dir/got.bin" "http://$nginx_ip/big.bin" 2>"$dir/curl.err" \
  || gz_fail "curl big.bin through ltran: $(cat "$dir/curl.err")"
gz_same_sha256 "$dir/www/big.bin" "$dir/got.bin" || gz_fail "big.bin came back with other bytes"
: >"$dir/access.log"
wrk_check() {  # OUT: wrk's errors and non-2xx answers fail the test
  sed 's/^/  wrk: /' "$1"
  [ "$(awk '/requests in/ {print $1}' "$1")" -gt 0 ] 2>/dev/null || gz_fail "wrk completed no request ($1)"
  grep -q 'Socket errors' "$1" && gz_fail "wrk: $(grep 'Socket errors' "$1" | sed 's/^ *//')"
  grep -q 'Non-2xx' "$1" && gz_fail "wrk: $(grep 'Non-2xx' "$1" | sed 's/^ *//')"
}
timeout 40 ip netns exec "$GZ_NS_P" wrk -t2 -c64 -d10s --timeout 5s "http://$nginx_ip/small.html" >"$dir/wrk1.out" 2>&1 \
  || gz_fail "wrk exit status $?"
wrk_check "$dir/wrk1.out"
pids=$(awk '{print $1}' "$dir/access.log" | sort -u | wc -l)
echo "  nginx workers that served: $pids ($(awk '{print $1}' "$dir/access.log" | sort | uniq -c | tr '\n' ' '))"
[ "$pids" -ge 2 ] || gz_fail "wrk's 64 connections were served by $pids nginx worker(s), want both"
# gazellectl ltran show -b and -l during a short second load: bursts each way, and the time
# frames spend inside ltran each way. Text for the log, --json for the checks.
ip netns exec "$GZ_NS_P" wrk -t1 -c16 -d3s "http://$nginx_ip/small.html" >/dev/null 2>&1 &
wrk_pid=$!
sleep 0.3  # wrk's connections up: both snapshots inside the load
show_pids=()
for opt in b l; do
  GAZELLE_RUN_DIR="$GZ_RUN_DIR" "$ctl" ltran show -$opt 2 >"$dir/show_$opt.txt" 2>&1 &
  show_pids+=($!)
  GAZELLE_RUN_DIR="$GZ_RUN_DIR" "$ctl" ltran show -$opt 2 --json >"$dir/show_$opt.json" 2>&1 &
  show_pids+=($!)
done
for p in "${show_pids[@]}"; do wait "$p" || gz_fail "gazellectl ltran show -b/-l: exit status $? (see below)"; done
wait "$wrk_pid"
sed 's/^/  ltran -b: /' "$dir/show_b.txt"
sed 's/^/  ltran -l: /' "$dir/show_l.txt"
why=$(/usr/bin/python3 -c '
import json, sys
b, l = (json.load(open(f)) for f in sys.argv[1:3])
bad = ["-b: %s %s/s" % (k, b[k]["per_s"]) for k in ("rx_bursts", "tx_bursts") if not b[k]["per_s"] > 0]
bad += ["-l: %s no p50 (%d samples)" % (k, l[k]["samples"]) for k in ("wire_to_process", "process_to_wire")
        if l[k]["p50_us"] is None]
print("; ".join(bad))
sys.exit(1 if bad else 0)
' "$dir/show_b.json" "$dir/show_l.json" 2>&1) || gz_fail "gazellectl ltran show -b/-l under wrk: $why"
# One connection a request: with keep-alive the kernel too shows read errors at a reload
# (the old workers close their idle connections under wrk's next request).
ip netns exec "$GZ_NS_P" wrk -t2 -c64 -d10s --timeout 5s -H 'Connection: close' "http://$nginx_ip/small.html" >"$dir/wrk2.out" 2>&1 &
wrk_pid=$!
sleep 4
ip netns exec "$GZ_NS_L" nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" -s reload >>"$dir/nginx.out" 2>&1 || gz_fail "nginx -s reload failed"
wait "$wrk_pid" || gz_fail "wrk during the reload: exit status $?"
# As on the kernel, where the new workers inherit the old ones' listening socket:
# behind ltran each worker has a listener of its own, so an old worker hands what it
# had queued (and its half-open connections) to another listener through ltran, and
# ltran holds the port's SYNs while no worker is up on it (tcp_handoffs, tcp_syn_held).
sed 's/^/  wrk: /' "$dir/wrk2.out"
reqs=$(awk '/requests in/ {print $1}' "$dir/wrk2.out")
errs=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$dir/wrk2.out")
echo "  reload under wrk (Connection: close): ${errs:-0} socket errors in ${reqs:-0} requests"
GAZELLE_RUN_DIR="$GZ_RUN_DIR" "$ctl" ltran show 2>&1 | sed 's/^/  after the reload: /'
grep -a '^lstack stack .*(pid' "$dir/error.log" | sed 's/^/  old worker at its exit: /'
[ "${reqs:-0}" -gt 0 ] 2>/dev/null || gz_fail "wrk completed no request during the reload"
[ "${errs:-0}" -eq 0 ] || gz_fail "wrk during the reload: $(grep 'Socket errors' "$dir/wrk2.out" | sed 's/^ *//') in ${reqs} requests"
grep -q 'Non-2xx' "$dir/wrk2.out" && gz_fail "wrk during the reload: $(grep 'Non-2xx' "$dir/wrk2.out" | sed 's/^ *//')"
page_ok || gz_fail "nginx does not serve after the reload"

# --- SIGKILL of one process in the middle of a transfer ----------------------------
ip netns exec "$GZ_NS_P" timeout 60 curl -sS -f --limit-rate 2M -o "$dir/got2.bin" "http://$nginx_ip/big.bin" 2>"$dir/curl2.err" &
curl_pid=$!
ip netns exec "$GZ_NS_P" timeout 30 /usr/bin/python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 7), timeout=5)
for _ in range(100000):
    s.sendall(b"x" * 1024); s.recv(65536)
' "$echo_ip" >/dev/null 2>&1 &
stream_pid=$!
sleep 2
kill -KILL "$echo_pid"
wait "$echo_pid" 2>/dev/null
gone() { ! GAZELLE_RUN_DIR="$GZ_RUN_DIR" "$ctl" ltran show -i 2>/dev/null | awk '{print $2}' | grep -qx "$echo_pid"; }
gz_retry 2 gone || gz_fail "ltran still lists gz-echo (pid $echo_pid) 2 s after its SIGKILL"
wait "$curl_pid" || gz_fail "the nginx transfer during the SIGKILL of another process failed: $(cat "$dir/curl2.err")"
gz_same_sha256 "$dir/www/big.bin" "$dir/got2.bin" || gz_fail "the nginx transfer during the SIGKILL came back with other bytes"
wait "$stream_pid" 2>/dev/null
# Its slot's memif socket is ltran's again (root, 0600) until the next process takes the slot.
ls -ln "$GZ_RUN_DIR" | awk '/\.memif$/ && $3 != 0 {n++} END {exit n > 3}' \
  || gz_fail "more memif sockets handed out than processes alive: $(ls -ln "$GZ_RUN_DIR" | grep memif)"
for _ in $(seq 20); do [ "$(gz_huge_free)" -ge "$huge_before_echo" ] && break; sleep 0.1; done
[ "$(gz_huge_free)" -ge "$huge_before_echo" ] || gz_fail "hugepages of the killed gz-echo: $(gz_huge_free) free, $huge_before_echo before it"
[ "$(rcli GET k)" = ltran-value ] || gz_fail "redis after the SIGKILL of another process: $(rcli GET k)"

# --- refusals ---------------------------------------------------------------------
timeout 30 ip netns exec "$GZ_NS_L" setpriv --reuid=nobody --regid=nogroup --clear-groups env GAZELLE_RUN_DIR="$GZ_RUN_DIR" \
  LSTACK_CONF_PATH="$dir/echo-lstack.conf" "$echo_bin" server 7 >"$dir/refused.log" 2>&1
rc=$?
[ "$rc" = 2 ] || gz_fail "a process of uid nobody (not in allow_uids): exit status $rc, want 2"
grep -q "may not attach: not in allow_uids or allow_gids" "$dir/refused.log" \
  || gz_fail "no clear refusal for uid nobody: $(head -3 "$dir/refused.log")"
gz_ltran_lstack_conf "$dir/root-lstack.conf" "$nginx_ip"
timeout 60 ip netns exec "$GZ_NS_L" env "${run_env[@]}" LSTACK_CONF_PATH="$dir/root-lstack.conf" /usr/bin/python3 -c '
import errno, socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"start", (sys.argv[1], 9))  # starts lstack (the data path)
t = socket.socket()
t.bind(("", 80))
try:
    t.listen(8)
    print("listen: accepted")
except OSError as e:
    print("listen:", errno.errorcode.get(e.errno))
t8 = socket.socket()
t8.bind(("", 8080))
t8.listen(8)
print("listen 8080: ok")
' "$GZ_PEER" >"$dir/inuse.log" 2>&1
grep -qx "listen: EADDRINUSE" "$dir/inuse.log" || gz_fail "root's listen on port 80 (held by www-data's nginx): $(tr '\n' ' ' <"$dir/inuse.log")"
grep -qx "listen 8080: ok" "$dir/inuse.log" || gz_fail "root's listen on a free port: $(tr '\n' ' ' <"$dir/inuse.log")"

# --- stops, as users stop them -------------------------------------------------------
ip netns exec "$GZ_NS_L" nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" -s quit >>"$dir/nginx.out" 2>&1 || gz_fail "nginx -s quit failed"
gz_wait_exit "$nginx" 0 nginx "$dir/nginx.out" "$dir/error.log"
grep -qE '\[(alert|emerg)\]|exited on signal' "$dir/error.log" && gz_fail "nginx error.log: $(grep -m2 -E '\[(alert|emerg)\]|exited on signal' "$dir/error.log")"
gz_stop_app "$redis" 0 redis-server "$dir/redis.log"
GAZELLE_RUN_DIR="$GZ_RUN_DIR" "$ctl" ltran quit >"$dir/quit.out" 2>&1 || gz_fail "gazellectl ltran quit: $(cat "$dir/quit.out")"
gz_wait_exit "$GZ_LTRAN_PID" 0 ltran "$dir/ltran.log"
[ ! -e "$GZ_RUN_DIR/ltran.sock" ] || gz_fail "ltran left its socket"
ls "$GZ_RUN_DIR" | grep -q '\.memif$' && gz_fail "memif sockets left after ltran stopped: $(ls "$GZ_RUN_DIR")"
GZ_FILE_PREFIX=$GZ_LTRAN_PREFIX
gz_leftovers_check "$GZ_RUN_DIR"
[ "$GZ_STATUS" = 0 ] && echo "ltran-apps: all checks passed"
gz_finish "${logs[@]}"
