#!/usr/bin/env bash
# Scale (issue 9, item 5): one lstack process holds CONNS connections from four
# peer addresses for HOLD seconds, each exchanging a little now and then; all
# are held and answered (none reset, none refused), the stack counts them
# established, one connection's round trip is not slowed by the idle others
# (epoll's cost follows what is ready), and the memory each takes is measured
# and printed (server RSS and lwIP arena, per connection).
#   scale.sh GZ_ECHO GAZELLECTL INDEX CONNS HOLD
set -u
. "$(dirname "$0")/lib.sh"
echo_bin=$1 ctl=$2 idx=$3 conns=$4 hold=$5
gz_require
gz_need /usr/bin/python3
[ "$(ulimit -Hn)" -gt $((conns + 200)) ] || gz_skip "the hard fd limit ($(ulimit -Hn)) is below $conns connections"
gz_setup "scale" "$idx"
for a in 3 4 5; do ip -n "$GZ_NS_P" addr add "${GZ_PEER%.*}.$a/24" dev "$GZ_IF_P"; done
gz_tmpdir dir
gz_conf "$dir/lstack.conf" af_xdp 0
# A connection slot and 4 mbufs each (the pool: CONNS x 4, about 40 MiB for 10,000).
sed -i "s/^tcp_conn_count = .*/tcp_conn_count = $((conns + 100));/; s/^mbuf_count_per_conn = .*/mbuf_count_per_conn = 4;/" "$dir/lstack.conf"
gz_tmpdir GZ_RUN_DIR
gz_leftovers_mark
ulimit -n $((conns + 200))  # every stack socket holds a kernel fd number too
# Without meson's MALLOC_PERTURB_: it fills every allocation and so touches
# pages a program would not (each connection's queues as they grow, for one).
gz_start_echo "$echo_bin" "$dir/lstack.conf" "$dir/server.log" -u MALLOC_PERTURB_
pid=$GZ_ECHO_PID
ctl() { GAZELLE_RUN_DIR="$GZ_RUN_DIR" timeout 30 "$ctl" lstack show "$pid" "$@"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }
arena_bytes() { ctl --json | /usr/bin/python3 -c 'import json, sys; print(sum(s["lwip_memory_in_use"] for s in json.load(sys.stdin)["stacks"]))'; }
rss0=$(rss_kib) arena0=$(arena_bytes)

gz_bg ip netns exec "$GZ_NS_P" /usr/bin/python3 "$(dirname "$0")/scale.py" "$GZ_HOST" 7 "$conns" "$hold" \
  "$GZ_PEER" "${GZ_PEER%.*}.3" "${GZ_PEER%.*}.4" "${GZ_PEER%.*}.5" >"$dir/client.log" 2>&1
client=${GZ_PIDS[-1]}
if ! gz_wait_server "$client" "$dir/client.log" holding 240; then
  gz_fail "the client did not get its connections: $(tail -3 "$dir/client.log")"
  ctl --json >"$dir/c.json" && for c in syn_evicted tcp_refused accept_fd_limit rx_dropped tx_dropped_full rx_copied; do
    echo "  server: $c $(gz_ctl_total "$dir/c.json" "$c")"
  done
  ctl -s | grep -E "TcpAttemptFails|TcpEstabResets|TcpOutRsts|TcpPassiveOpens|TcpCurrEstab" | sed 's/^/  server: /'
  gz_finish "$dir/server.log"
fi
rss1=$(rss_kib) arena1=$(arena_bytes)
estab=$(ctl -s --json | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["snmp"]["TcpCurrEstab"])')
refused=$(ctl --json >"$dir/c.json" && gz_ctl_total "$dir/c.json" tcp_refused)
echo "  server: TcpCurrEstab $estab, tcp_refused $refused; RSS $rss0 -> $rss1 KiB" \
  "($(( (rss1 - rss0) * 1024 / conns )) bytes per connection), lwIP arena $arena0 -> $arena1 bytes" \
  "($(( (arena1 - arena0) / conns )) per connection)"
[ "$estab" = "$conns" ] || gz_fail "the stack counts $estab established connections, want $conns"
[ "${refused:-1}" = 0 ] || gz_fail "tcp_refused $refused"

# The hold: every exchange answered, none closed; then one connection's round trip.
for _ in $(seq $((hold + 60))); do kill -0 "$client" 2>/dev/null || break; sleep 1; done
kill -0 "$client" 2>/dev/null && gz_fail "the client did not finish its hold"
wait "$client" 2>/dev/null
sed 's/^/  client: /' "$dir/client.log"
grep -q "^first exchange: 0 failed" "$dir/client.log" || gz_fail "not every connection answered: $(grep first "$dir/client.log")"
grep -Eq "^exchanges [1-9][0-9]* failed 0 dead 0$" "$dir/client.log" || gz_fail "during the hold: $(grep -E '^exchanges|Error|error' "$dir/client.log" | tail -2)"
before=$(sed -n 's/^rtt_before_us //p' "$dir/client.log") loaded=$(sed -n 's/^rtt_loaded_us //p' "$dir/client.log")
# Idle connections must not cost a ready one: within 3x and 300 us of the round trip with none.
[ -n "$before" ] && [ -n "$loaded" ] && [ "$loaded" -le $((before * 3 + 300)) ] \
  || gz_fail "one connection's round trip went from ${before:-?} us to ${loaded:-?} us with $conns idle ones open"

gz_stop_app "$pid" 0 "the echo server" "$dir/server.log"
gz_leftovers_check
[ "$GZ_STATUS" = 0 ] && echo "scale: all checks passed"
gz_finish "$dir/server.log"
