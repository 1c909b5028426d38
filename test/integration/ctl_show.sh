#!/usr/bin/env bash
# gazellectl lstack show against a live lstack process whose traffic this test
# made (issue 11, items 1 and 3): the counters agree with what the peer sent, -c
# lists the listener and the three connections with their ports, -r sees the
# rate of a transfer running meanwhile, -l records the round trips the peer
# made, {ip} finds the process, --json parses, DPDK's telemetry answers
# (dpdk-telemetry.py), and the errors name what is wrong.
#   ctl_show.sh GZ_ECHO GAZELLECTL INDEX
set -u
. "$(dirname "$0")/lib.sh"
echo_bin=$1 ctl=$2 idx=$3
gz_require
gz_need /usr/bin/python3 dpdk-telemetry.py
gz_setup "ctl" "$idx"
gz_tmpdir dir
gz_conf "$dir/lstack.conf" af_xdp 0
gz_tmpdir GZ_RUN_DIR
gz_leftovers_mark
gz_start_echo "$echo_bin" "$dir/lstack.conf" "$dir/server.log"
pid=$GZ_ECHO_PID
ctl() { GAZELLE_RUN_DIR="$GZ_RUN_DIR" timeout 30 "$ctl" lstack show "$@"; }
ctl_set() { GAZELLE_RUN_DIR="$GZ_RUN_DIR" timeout 30 "$ctl" lstack set "$@"; }

# Three connections that stay open, 1000 bytes echoed on each; then a 4 s
# transfer on a fourth (both directions: the echo comes back).
cat > "$dir/peer.py" <<'PY'
import socket, sys, threading, time
host, mode = sys.argv[1], sys.argv[2]
if mode == "hold":
    conns = []
    for i in range(3):
        s = socket.create_connection((host, 7), timeout=10)
        s.sendall(b"x" * 1000)
        got = 0
        while got < 1000:
            got += len(s.recv(4096))
        conns.append(s)
    print("holding", " ".join(str(s.getsockname()[1]) for s in conns), flush=True)
    time.sleep(60)
else:
    s = socket.create_connection((host, 7), timeout=10)
    end = time.monotonic() + 4
    def drain():
        while True:
            if not s.recv(65536):
                return
    threading.Thread(target=drain, daemon=True).start()
    while time.monotonic() < end:
        s.sendall(b"y" * 65536)
    s.shutdown(socket.SHUT_WR)
    time.sleep(0.5)
PY
gz_bg ip netns exec "$GZ_NS_P" /usr/bin/python3 "$dir/peer.py" "$GZ_HOST" hold >"$dir/hold.log" 2>&1
gz_wait_line "$dir/hold.log" holding 30 || { gz_fail "the peer could not connect: $(cat "$dir/hold.log")"; gz_finish "$dir/server.log"; }
ports=$(sed -n 's/^holding //p' "$dir/hold.log")

# Counters (text and JSON): at least the 3000 bytes each way the peer sent.
ctl "$pid" >"$dir/show.txt" 2>&1 || gz_fail "show $pid: $(head -2 "$dir/show.txt")"
grep -q "lstack pid $pid" "$dir/show.txt" || gz_fail "show $pid names another process: $(head -1 "$dir/show.txt")"
ctl "$pid" --json >"$dir/show.json" 2>&1 || gz_fail "show --json failed"
rxb=$(gz_ctl_total "$dir/show.json" rx_bytes) txb=$(gz_ctl_total "$dir/show.json" tx_bytes)
echo "  counters: rx_bytes $rxb, tx_bytes $txb"
[ "$rxb" -ge 3000 ] && [ "$txb" -ge 3000 ] || gz_fail "the counters do not show the 3000 bytes each way"

# The process by its address.
ctl "$GZ_HOST" >"$dir/byip.txt" 2>&1 && grep -q "lstack pid $pid" "$dir/byip.txt" \
  || gz_fail "show $GZ_HOST did not find pid $pid: $(head -2 "$dir/byip.txt")"

# The socket table: the listener and the three connections, ports and all.
ctl "$pid" -c >"$dir/conns.txt" 2>&1 || gz_fail "show -c failed: $(head -2 "$dir/conns.txt")"
sed 's/^/  /' "$dir/conns.txt"
grep -Eq "^tcp +LISTEN .* 0\.0\.0\.0:7 " "$dir/conns.txt" || gz_fail "-c: no listener on port 7"
for p in $ports; do
  grep -Eq "^tcp +ESTAB .* $GZ_HOST:7 +$GZ_PEER:$p .*pid=$pid" "$dir/conns.txt" || gz_fail "-c: the connection from port $p is missing"
done
n=$(ctl "$pid" -c --json | /usr/bin/python3 -c 'import json, sys
print(sum(1 for c in json.load(sys.stdin)["connections"] if c["state"] == "ESTAB" and c["local"].endswith(":7")))')
[ "$n" = 3 ] || gz_fail "-c --json: $n established connections on port 7, want 3"

# -s: MIB-II with nstat's names: three passive opens, three established.
ctl "$pid" -s >"$dir/snmp.txt" 2>&1 || gz_fail "-s failed: $(head -2 "$dir/snmp.txt")"
opens=$(awk '$1 == "TcpPassiveOpens" {print $2}' "$dir/snmp.txt")
estab=$(awk '$1 == "TcpCurrEstab" {print $2}' "$dir/snmp.txt")
insegs=$(ctl "$pid" -s --json | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["snmp"]["TcpInSegs"])')
echo "  -s: TcpPassiveOpens $opens, TcpCurrEstab $estab, TcpInSegs $insegs"
[ "$opens" = 3 ] && [ "$estab" = 3 ] && [ "${insegs:-0}" -ge 9 ] || gz_fail "-s disagrees with the three connections made"

# -k: the device (af_xdp: every checksum in software) and its MAC; -x: its DPDK
# xstats; -a: the sum
# over every process equals this one process's total.
ctl "$pid" -k >"$dir/k.txt" 2>&1 || gz_fail "-k failed: $(head -2 "$dir/k.txt")"
grep -q "mac $GZ_MAC, mtu 1500" "$dir/k.txt" && grep -q "rx-checksum-tcp-udp: off" "$dir/k.txt" \
  || gz_fail "-k: $(head -3 "$dir/k.txt")"
good=$(ctl "$pid" -x --json | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["xstats"].get("rx_good_packets", 0))')
echo "  -x: rx_good_packets $good"
[ "${good:-0}" -gt 0 ] || gz_fail "-x: no rx_good_packets among the device's xstats"
all=$(ctl -a --json | /usr/bin/python3 -c 'import json, sys; d = json.load(sys.stdin); print(d["processes"], d["total"]["rx_packets"] > 0)')
[ "$all" = "1 True" ] || gz_fail "-a: $all (want one process, packets counted)"

# -r over 2 s while a transfer runs: a rate, and one that matches its size.
gz_bg ip netns exec "$GZ_NS_P" /usr/bin/python3 "$dir/peer.py" "$GZ_HOST" stream >"$dir/stream.log" 2>&1
sleep 1
ctl "$pid" -r 2 --json >"$dir/rate.json" 2>&1 || gz_fail "-r 2 failed: $(head -2 "$dir/rate.json")"
rate=$(/usr/bin/python3 -c 'import json, sys
print(int(sum(s["rx_bytes"] for s in json.load(open(sys.argv[1]))["stacks"])))' "$dir/rate.json" 2>/dev/null || echo 0)
echo "  -r 2 during the transfer: $rate rx bytes/s"
[ "$rate" -gt 1000000 ] || gz_fail "-r saw no transfer ($rate bytes/s)"
ctl "$pid" -r 1 >"$dir/rate.txt" 2>&1 && grep -q "per second over 1.0 s" "$dir/rate.txt" || gz_fail "-r 1 (text) failed"

# -l 3 while the peer makes 300 round trips of 100 bytes: the server read at
# least 300 frames, wrote 300 times and made at least 300 tx bursts; the
# percentiles are ordered and sane.
cat > "$dir/pingpong.py" <<'PY'
import socket, sys, time
s = socket.create_connection((sys.argv[1], 7), timeout=10)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
time.sleep(0.5)  # -l starts meanwhile
for i in range(300):
    s.sendall(b"p" * 100)
    got = 0
    while got < 100:
        got += len(s.recv(4096))
    time.sleep(0.002)
print("done", flush=True)
PY
gz_bg ip netns exec "$GZ_NS_P" /usr/bin/python3 "$dir/pingpong.py" "$GZ_HOST" >"$dir/pingpong.log" 2>&1
ctl "$pid" -l 3 --json >"$dir/lat.json" 2>&1 || gz_fail "-l 3 failed: $(head -2 "$dir/lat.json")"
gz_wait_line "$dir/pingpong.log" done 20 || gz_fail "the ping-pong peer did not finish"
lat=$(/usr/bin/python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
r, s, v = d["receive"], d["send"], d["device"]
ok = all(x["samples"] > 0 and 0 < x["p50_us"] <= x["p99_us"] <= x["p99.9_us"] <= x["max_us"] * 1.25 + 1 and x["p50_us"] < 10000
         for x in (r, s, v))
print(r["samples"], s["samples"], v["samples"], r["p50_us"], r["p99_us"], s["p50_us"], s["p99_us"], v["p50_us"], v["p99_us"],
      "ok" if ok else "bad")' "$dir/lat.json" 2>&1)
echo "  -l 3: samples receive, send, device; p50/p99 us receive, send, device: $lat"
read -r lrx ltx ldev _ _ _ _ _ _ lok <<<"$lat"
[ "${lrx:-0}" -ge 300 ] && [ "${ltx:-0}" -ge 300 ] && [ "${ldev:-0}" -ge 300 ] && [ "$lok" = ok ] \
  || gz_fail "-l: $lat (want >= 300 samples each, ordered percentiles)"
ctl "$pid" -l 1 >"$dir/lat.txt" 2>&1 && grep -q "receive (the stack's rx burst" "$dir/lat.txt" \
  && grep -q "device (each tx burst's call into the driver)" "$dir/lat.txt" || gz_fail "-l 1 (text): $(head -5 "$dir/lat.txt")"

# DPDK telemetry (Debian's dpdk-telemetry.py): the device's stats, the pools and lstack's own counters
# (--in-memory: DPDK's default prefix, rte).
printf '/ethdev/stats,0\n/mempool/list\n/lstack/stats\n' | timeout 20 dpdk-telemetry.py -f "${GZ_FILE_PREFIX:-rte}" >"$dir/tel.txt" 2>&1
tel=$(/usr/bin/python3 -c 'import json, sys
docs, dec, text, i = [], json.JSONDecoder(), open(sys.argv[1]).read(), 0
while True:
  j = text.find("{", i)
  if j < 0: break
  d, i = dec.raw_decode(text, j)
  docs.append(d)
got = {k: v for d in docs for k, v in d.items()}
print(got["/ethdev/stats"]["ipackets"] > 0, got["/mempool/list"][0], got["/lstack/stats"]["rx_packets"] > 0, got["/lstack/stats"]["stacks"])' \
  "$dir/tel.txt" 2>&1 | tail -1)
read -r tel_eth pool tel_lstack tel_stacks <<<"$tel"
# The first pool's own page: its size and what is in use.
echo "/mempool/info,$pool" | timeout 20 dpdk-telemetry.py -f "${GZ_FILE_PREFIX:-rte}" >"$dir/tel2.txt" 2>&1
pool_size=$(/usr/bin/python3 -c 'import json, sys
t = open(sys.argv[1]).read()
print(json.JSONDecoder().raw_decode(t, t.find("{"))[0]["/mempool/info"]["size"])' "$dir/tel2.txt" 2>&1 | tail -1)
echo "  telemetry: ethdev ipackets > 0: $tel_eth; pool $pool of $pool_size mbufs; lstack rx_packets > 0: $tel_lstack, stacks $tel_stacks"
[ "$tel_eth $tel_lstack $tel_stacks" = "True True 1" ] && [ "${pool_size:-0}" -gt 0 ] 2>/dev/null \
  || gz_fail "dpdk-telemetry.py: $tel, pool size ${pool_size:-?}; $(head -c 300 "$dir/tel.txt")"

# set lowpower, seen in the idle CPU of the process (over 2 s each): sleeping,
# then polling, then sleeping again; set loglevel answers.
sleep 1  # the transfer is over
cpu() {  # percent of one core over 2 s
  local t0 t1
  t0=$(awk '{print $14 + $15}' "/proc/$pid/stat"); sleep 2; t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  awk -v a="$t0" -v b="$t1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%d", (b - a) / hz / 2 * 100 }'
}
idle1=$(cpu)
ctl_set "$pid" lowpower 0 >/dev/null || gz_fail "set lowpower 0 failed"
busy=$(cpu)
ctl_set "$GZ_HOST" lowpower 1 >/dev/null || gz_fail "set (by ip) lowpower 1 failed"
idle2=$(cpu)
echo "  idle CPU: lowpower 1 $idle1%, set lowpower 0 $busy%, set lowpower 1 $idle2%"
[ "$idle1" -lt 20 ] && [ "$busy" -gt 50 ] && [ "$idle2" -lt 20 ] || gz_fail "set lowpower did not show in the idle CPU"
for level in debug info error; do
  ctl_set "$pid" loglevel "$level" >/dev/null || gz_fail "set loglevel $level failed"
done
ctl_set "$pid" lowpower 7 >/dev/null 2>&1; [ $? = 2 ] || gz_fail "set lowpower 7: not a usage error"

# Errors say what is wrong, with exit status 1 (2 for usage).
ctl 999999 >"$dir/err1" 2>&1; [ $? = 1 ] && grep -q "no such process 999999" "$dir/err1" || gz_fail "pid 999999: $(cat "$dir/err1")"
ctl $$ >"$dir/err2" 2>&1; [ $? = 1 ] && grep -q "is not an lstack process" "$dir/err2" || gz_fail "pid $$: $(cat "$dir/err2")"
ctl 10.255.255.254 >"$dir/err3" 2>&1; [ $? = 1 ] && grep -q "no lstack process serves" "$dir/err3" || gz_fail "unknown ip: $(cat "$dir/err3")"
ctl "$pid" --bogus >"$dir/err4" 2>&1; [ $? = 2 ] || gz_fail "--bogus: not a usage error"

gz_stop_app "$pid" 0 "the echo server" "$dir/server.log"
gz_leftovers_check
[ "$GZ_STATUS" = 0 ] && echo "ctl-show: all checks passed"
gz_finish "$dir/server.log"
